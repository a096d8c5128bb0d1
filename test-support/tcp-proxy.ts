import { type AddressInfo, createConnection, createServer, type Server, type Socket } from "node:net";

/**
 * A loopback TCP forwarder to a database that a test can hang (connections accepted, nothing
 * forwarded either way: a database that never answers), take down (listener closed, every
 * connection cut) and bring back on the same port, without touching the shared server other test
 * files use. Shared by the packages' fault tests (knex, redis), imported by relative path.
 */
export class TcpProxy {
  #server: Server | undefined;
  #sockets = new Set<Socket>();
  #port = 0;
  #paused = false;
  #held: Array<() => void> = [];
  #waiting: Array<() => void> = [];

  constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {}

  get port(): number {
    return this.#port;
  }

  async start(): Promise<void> {
    const server = createServer((client) => {
      this.#track(client);
      const connect = () => {
        const upstream = createConnection(this.targetPort, this.targetHost);
        this.#track(upstream);
        for (const [from, to] of [
          [client, upstream],
          [upstream, client],
        ] as const) {
          from.on("close", () => to.destroy());
          // While paused, bytes wait here, in order, instead of reaching the other side.
          from.on("data", (chunk) => (this.#paused ? this.#waiting.push(() => to.write(chunk)) : to.write(chunk)));
        }
      };
      if (this.#paused) this.#held.push(connect);
      else connect();
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.#port, "127.0.0.1", () => resolve());
    });
    this.#port = (server.address() as AddressInfo).port;
    this.#server = server;
  }

  /** The database hangs: bytes stop flowing on open connections, new ones are accepted and held. */
  pause(): void {
    this.#paused = true;
  }

  /** Bytes flow again; held connections go through. */
  resume(): void {
    this.#paused = false;
    for (const send of this.#waiting.splice(0)) send();
    for (const connect of this.#held.splice(0)) connect();
  }

  /** Refuses new connections and cuts every open one. */
  async stop(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    this.#paused = false;
    this.#held = [];
    this.#waiting = [];
    for (const socket of this.#sockets) socket.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  #track(socket: Socket): void {
    this.#sockets.add(socket);
    socket.on("close", () => this.#sockets.delete(socket));
    socket.on("error", () => socket.destroy());
  }
}
