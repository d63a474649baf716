// An IMAP listener for one role: `imap` (RFC 9051, STARTTLS) or `imaps`
// (TLS from the first byte, RFC 8314 §3.3). Accepts connections, enforces the
// shared connection limits (`* BYE` beyond them), runs one ImapSession per
// connection, and shuts down gracefully (sessions get `* BYE`, a command in
// progress finishes first within the grace period).
import net from 'node:net';
import tls from 'node:tls';
import { randomBytes } from 'node:crypto';
import type { Config, ListenAddress } from '../../config/types.ts';
import type { Logger } from '../../log/logger.ts';
import type { ConnectionLimits } from '../../net/connection-limits.ts';
import { listenOn } from '../../net/listen.ts';
import { exposePeer, gatedServer, proxyGateFromConfig } from '../../net/proxy-gate.ts';
import type { ImapServices, Summarize } from './ports.ts';
import { ImapSession, normalizeIp } from './session.ts';

export interface ImapServerOptions {
  role: 'imap' | 'imaps';
  address: ListenAddress;
  config: Config;
  services: ImapServices;
  logger: Logger;
  limits: ConnectionLimits;
  summarize: Summarize;
  /** For imaps: the server-side TLS options and the hook that keeps them current on reload. */
  implicitTls?: { options: () => tls.TlsOptions; attach: (server: tls.Server) => void };
  now?: () => Date;
}

export class ImapServer {
  readonly #o: ImapServerOptions;
  readonly #server: net.Server;
  readonly #sessions = new Set<ImapSession>();
  port = 0;

  constructor(o: ImapServerOptions) {
    this.#o = o;
    if (o.implicitTls) {
      const server = tls.createServer({ ...o.implicitTls.options(), handshakeTimeout: o.config.timeouts.tls_handshake }, (socket) => this.#onConnection(socket));
      o.implicitTls.attach(server);
      server.on('tlsClientError', (err, socket) => {
        o.logger.info('TLS handshake failed', { role: o.role, client: normalizeIp(socket.remoteAddress ?? ''), error: err });
      });
      this.#server = server;
    } else {
      this.#server = net.createServer({ noDelay: true }, (socket) => this.#onConnection(socket));
    }
    // Behind a load balancer: trusted peers send a PROXY header first (net/proxy-gate.ts).
    const gate = proxyGateFromConfig(o.config.proxy_protocol, (peer, reason) => o.logger.warn('PROXY protocol: connection refused', { role: o.role, peer, reason }));
    if (gate) this.#server = gatedServer(gate, o.implicitTls ? { tlsServer: this.#server } : { onConnection: (socket) => this.#onConnection(socket) });
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
    // The client named by a trusted balancer's PROXY header, also for the session.
    const ip = normalizeIp(exposePeer(socket).address);
    socket.on('error', () => {});
    if (!this.#o.limits.tryAcquire(ip)) {
      this.#o.logger.warn('connection refused: too many connections', { role: this.#o.role, client: ip });
      // RFC 9051 §7.1.5: BYE as the greeting refuses the connection.
      socket.end('* BYE Too many connections, try again later\r\n');
      setTimeout(() => socket.destroy(), 2000).unref();
      return;
    }
    const session = new ImapSession({
      socket,
      sessionId: randomBytes(6).toString('hex'),
      role: this.#o.role,
      config: this.#o.config,
      services: this.#o.services,
      logger: this.#o.logger,
      summarize: this.#o.summarize,
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

  /** Stops accepting; sessions get BYE (after the command they are running, within `graceMs`). */
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
