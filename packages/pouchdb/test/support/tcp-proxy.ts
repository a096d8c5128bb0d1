import { connect, createServer, type Socket } from "node:net";

/** A TCP proxy on a free loopback port in front of a real server. */
export interface TcpProxy {
  /** The proxy's base URL, e.g. http://127.0.0.1:40123. */
  readonly url: string;
  /** A hung server: connections are still accepted, but nothing they send is read or answered. */
  pause(): void;
  /** Forwarding again, including what waited meanwhile. */
  resume(): void;
  close(): Promise<void>;
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  let paused = false;
  const clients = new Set<Socket>();
  const waiting = new Set<Socket>();
  const forward = (client: Socket) => {
    const upstream = connect(target.port, target.host);
    client.pipe(upstream).pipe(client);
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.once("close", end).on("error", end);
    upstream.once("close", end).on("error", end);
  };
  const server = createServer((client) => {
    clients.add(client);
    client.once("close", () => clients.delete(client));
    client.on("error", () => client.destroy());
    if (paused) {
      client.pause();
      waiting.add(client);
    } else forward(client);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    pause() {
      paused = true;
      for (const client of clients) client.pause(); // requests on kept-alive connections wait too
    },
    resume() {
      paused = false;
      for (const client of clients) client.resume();
      for (const client of waiting) forward(client);
      waiting.clear();
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const client of clients) client.destroy();
        server.close(() => resolve());
      }),
  };
}
