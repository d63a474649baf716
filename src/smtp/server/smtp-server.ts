// An SMTP listener for one role (smtp, submission, submissions): accepts
// connections, enforces the connection limits (`421 4.7.0` beyond them),
// runs one SmtpSession per connection and shuts down gracefully (idle
// sessions get `421 4.3.2`, DATA may finish within a bound). The submissions
// role speaks TLS from the first byte (RFC 8314 §3.3).
import net from 'node:net';
import tls from 'node:tls';
import { randomBytes } from 'node:crypto';
import type { Config, ListenAddress } from '../../config/types.ts';
import type { Logger } from '../../log/logger.ts';
import { ConnectionLimits } from '../../net/connection-limits.ts';
import { listenOn } from '../../net/listen.ts';
import { NetworkSet } from '../../net/networks.ts';
import { gatedServer, peerAddress } from '../../net/proxy-gate.ts';
import { R, serializeReply } from '../protocol/reply.ts';
import type { SessionServices, SmtpRole, StartTls } from './ports.ts';
import { SmtpSession, normalizeIp } from './session.ts';

export interface SmtpServerOptions {
  role: SmtpRole;
  address: ListenAddress;
  config: Config;
  services: SessionServices;
  logger: Logger;
  limits: ConnectionLimits;
  /** For implicit TLS (submissions): the server-side TLS options and how to describe a session. */
  implicitTls?: { options: () => tls.TlsOptions; describe: StartTls['describe']; attach: (server: tls.Server) => void };
  now?: () => Date;
}

export class SmtpServer {
  readonly #o: SmtpServerOptions;
  readonly #server: net.Server;
  readonly #sessions = new Set<SmtpSession>();
  port = 0;

  constructor(o: SmtpServerOptions) {
    this.#o = o;
    if (o.implicitTls) {
      const server = tls.createServer({ ...o.implicitTls.options(), handshakeTimeout: o.config.timeouts.tls_handshake }, (socket) => this.#onConnection(socket));
      // Keeps the default certificate in step with a SIGHUP reload (SNI picks per handshake anyway).
      o.implicitTls.attach(server);
      server.on('tlsClientError', (err, socket) => {
        o.logger.info('TLS handshake failed', { role: o.role, client: normalizeIp(peerAddress(socket).address), error: err });
      });
      this.#server = server;
    } else {
      this.#server = net.createServer({ noDelay: true }, (socket) => this.#onConnection(socket));
    }
    // Behind a load balancer: trusted peers send a PROXY header first (net/proxy-gate.ts).
    const pp = o.config.proxy_protocol;
    if (pp && pp.trusted.length > 0) {
      const gate = {
        trusted: new NetworkSet(pp.trusted),
        timeoutMs: pp.timeout,
        onReject: (peer: string, reason: string) => o.logger.warn('PROXY protocol: connection refused', { role: o.role, peer, reason }),
      };
      this.#server = gatedServer(
        gate,
        o.implicitTls ? { tlsServer: this.#server } : { onConnection: (socket) => this.#onConnection(socket) },
      );
    }
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
    const ip = normalizeIp(peerAddress(socket).address);
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
      role: this.#o.role,
      config: this.#o.config,
      services: this.#o.services,
      logger: this.#o.logger,
      now: this.#o.now,
    });
    this.#sessions.add(session);
    session.onClosed(() => {
      this.#sessions.delete(session);
      this.#o.limits.release(ip);
    });
    session.log.debug('connected', { role: this.#o.role, port: socket.localPort });
    const implicit = this.#o.implicitTls ? this.#o.implicitTls.describe(socket as tls.TLSSocket) : null;
    session.start(implicit);
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
