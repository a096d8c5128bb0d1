import { type AddressInfo, createConnection, createServer, type Server, type Socket } from "node:net";

/**
 * A loopback TCP forwarder in front of the real Redis, which a test can cut (listener closed,
 * every connection destroyed: Redis gone), pause (connections stay open but nothing is forwarded
 * either way: Redis hung) and bring back on the same port.
 */
export class TcpProxy {
  #server: Server | undefined;
  #pairs = new Set<[Socket, Socket]>();
  #port = 0;
  #paused = false;

  constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {}

  get port(): number {
    return this.#port;
  }

  async start(): Promise<void> {
    const server = createServer((client) => {
      const upstream = createConnection(this.targetPort, this.targetHost);
      const pair: [Socket, Socket] = [client, upstream];
      this.#pairs.add(pair);
      const cut = () => {
        client.destroy();
        upstream.destroy();
        this.#pairs.delete(pair);
      };
      for (const socket of pair) {
        socket.on("error", cut);
        socket.on("close", cut);
      }
      client.pipe(upstream);
      upstream.pipe(client);
      if (this.#paused) for (const socket of pair) socket.pause();
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.#port, "127.0.0.1", () => resolve());
    });
    this.#port = (server.address() as AddressInfo).port;
    this.#server = server;
  }

  /** Redis hangs: connections stay open, nothing goes through (new ones are accepted, and hang too). */
  pause(): void {
    this.#paused = true;
    for (const pair of this.#pairs) for (const socket of pair) socket.pause();
  }

  /** Redis answers again, what was held back included. */
  resume(): void {
    this.#paused = false;
    for (const pair of this.#pairs) for (const socket of pair) socket.resume();
  }

  /** Redis goes away: refuses new connections and cuts every open one. */
  async stop(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    for (const [client, upstream] of this.#pairs) {
      client.destroy();
      upstream.destroy();
    }
    this.#pairs.clear();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
