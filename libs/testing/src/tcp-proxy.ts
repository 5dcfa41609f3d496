import { Transform } from 'node:stream';
import { createServer, connect, type Server, type Socket } from 'node:net';

/**
 * A TCP relay in front of a real dependency. `cut()` drops every connection and refuses new
 * ones, as if the dependency went away; `restore()` brings it back on the same port. It lets
 * one test take Postgres or RabbitMQ away from its client without stopping the server for
 * everyone else on the machine.
 */
export class TcpProxy {
  /** Added to every answer from the dependency (a slow network or a slow database). */
  delayMs = 0;
  private server?: Server;
  private readonly sockets = new Set<Socket>();
  port = 0;

  constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {}

  static forUrl(url: string): TcpProxy {
    const u = new URL(url);
    const defaultPort = u.protocol.startsWith('amqp') ? 5672 : 5432;
    return new TcpProxy(u.hostname, Number(u.port || defaultPort));
  }

  async start(): Promise<number> {
    await this.listen(0);
    return this.port;
  }

  async cut(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    if (server) await new Promise<void>((r) => server.close(() => r()));
  }

  async restore(): Promise<void> {
    if (!this.server) await this.listen(this.port);
  }

  stop(): Promise<void> {
    return this.cut();
  }

  private listen(port: number): Promise<void> {
    const server = createServer((client) => {
      const upstream = connect({ host: this.targetHost, port: this.targetPort });
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => undefined);
      }
      client.pipe(upstream);
      // Answers pass one by one, each held back by the current delay (order is kept).
      upstream
        .pipe(
          new Transform({
            transform: (chunk: Buffer, _enc, done) => {
              if (this.delayMs <= 0) return done(null, chunk);
              setTimeout(() => done(null, chunk), this.delayMs);
            },
          }),
        )
        .pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        const addr = server.address();
        if (addr && typeof addr === 'object') this.port = addr.port;
        resolve();
      });
    });
  }
}
