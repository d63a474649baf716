// An SMTP listener: accepts connections, enforces the connection limits
// (`421 4.7.0` beyond them), runs one SmtpSession per connection and shuts
// down gracefully (idle sessions get `421 4.3.2`, DATA may finish within a bound).
import net from 'node:net';
import { randomBytes } from 'node:crypto';
import type { Config, ListenAddress } from '../../config/types.ts';
import type { Logger } from '../../log/logger.ts';
import { ConnectionLimits } from '../../net/connection-limits.ts';
import { listenOn } from '../../net/listen.ts';
import { R, serializeReply } from '../protocol/reply.ts';
import type { SmtpBackend } from './ports.ts';
import { SmtpSession, normalizeIp } from './session.ts';

export interface SmtpServerOptions {
  role: string;
  address: ListenAddress;
  config: Config;
  backend: SmtpBackend;
  logger: Logger;
  limits: ConnectionLimits;
  now?: () => Date;
}

export class SmtpServer {
  readonly #o: SmtpServerOptions;
  readonly #server: net.Server;
  readonly #sessions = new Set<SmtpSession>();
  port = 0;

  constructor(o: SmtpServerOptions) {
    this.#o = o;
    this.#server = net.createServer({ noDelay: true }, (socket) => this.#onConnection(socket));
  }

  async listen(): Promise<number> {
    this.port = await listenOn(this.#server, this.#o.role, this.#o.address);
    this.#o.logger.info('listening', { role: this.#o.role, host: this.#o.address.host, port: this.port });
    return this.port;
  }

  get sessionCount(): number {
    return this.#sessions.size;
  }

  #onConnection(socket: net.Socket): void {
    const ip = normalizeIp(socket.remoteAddress ?? 'unknown');
    socket.on('error', () => {}); // errors before the session exists: nothing to do
    if (!this.#o.limits.tryAcquire(ip)) {
      this.#o.logger.warn('connection refused: too many connections', { role: this.#o.role, client: ip });
      socket.end(serializeReply(R.tooManyConnections));
      setTimeout(() => socket.destroy(), 2000).unref();
      return;
    }
    const session = new SmtpSession({
      socket,
      sessionId: randomBytes(6).toString('hex'),
      config: this.#o.config,
      backend: this.#o.backend,
      logger: this.#o.logger,
      now: this.#o.now,
    });
    this.#sessions.add(session);
    session.onClosed(() => {
      this.#sessions.delete(session);
      this.#o.limits.release(ip);
    });
    session.log.debug('connected', { role: this.#o.role, port: socket.localPort });
    session.start();
  }

  /** Stops accepting; tells idle sessions 421 4.3.2; waits up to `graceMs`
   * for sessions in DATA to finish, then cuts the rest. */
  async close(graceMs: number): Promise<void> {
    const stopped = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    for (const s of this.#sessions) s.shutdown();
    const deadline = Date.now() + graceMs;
    while (this.#sessions.size > 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 25));
    }
    for (const s of this.#sessions) s.abort();
    await stopped;
  }
}
