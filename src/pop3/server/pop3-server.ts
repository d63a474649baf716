// A POP3 listener for one role: `pop3` (port 110, STLS per RFC 2595) or
// `pop3s` (port 995, TLS from the first byte, RFC 8314 §3.3). Accepts
// connections within the shared connection limits ("-ERR [SYS/TEMP]" beyond
// them), runs one Pop3Session per connection, and shuts down gracefully.
import net from 'node:net';
import tls from 'node:tls';
import { randomBytes } from 'node:crypto';
import type { Config, ListenAddress } from '../../config/types.ts';
import type { Logger } from '../../log/logger.ts';
import type { ConnectionLimits } from '../../net/connection-limits.ts';
import { listenOn } from '../../net/listen.ts';
import { exposePeer, gatedServer, proxyGateFromConfig } from '../../net/proxy-gate.ts';
import { err } from '../protocol/reply.ts';
import type { Pop3Role, Pop3Services } from './ports.ts';
import { Pop3Session, normalizeIp } from './session.ts';

export interface Pop3ServerOptions {
  role: Pop3Role;
  address: ListenAddress;
  config: Config;
  services: Pop3Services;
  logger: Logger;
  limits: ConnectionLimits;
  /** For implicit TLS (pop3s): the server-side TLS options, and SIGHUP reload. */
  implicitTls?: { options: () => tls.TlsOptions; attach: (server: tls.Server) => void };
}

export class Pop3Server {
  readonly #o: Pop3ServerOptions;
  readonly #server: net.Server;
  readonly #sessions = new Set<Pop3Session>();
  port = 0;

  constructor(o: Pop3ServerOptions) {
    this.#o = o;
    if (o.implicitTls) {
      const server = tls.createServer({ ...o.implicitTls.options(), handshakeTimeout: o.config.timeouts.tls_handshake }, (s) => this.#onConnection(s, true));
      o.implicitTls.attach(server);
      server.on('tlsClientError', (e, socket) => {
        o.logger.info('TLS handshake failed', { role: o.role, client: normalizeIp(socket.remoteAddress ?? ''), error: e });
      });
      this.#server = server;
    } else {
      this.#server = net.createServer({ noDelay: true }, (s) => this.#onConnection(s, false));
    }
    // Behind a load balancer: trusted peers send a PROXY header first (net/proxy-gate.ts).
    const gate = proxyGateFromConfig(o.config.proxy_protocol, (peer, reason) => o.logger.warn('PROXY protocol: connection refused', { role: o.role, peer, reason }));
    if (gate) this.#server = gatedServer(gate, o.implicitTls ? { tlsServer: this.#server } : { onConnection: (s) => this.#onConnection(s, false) });
  }

  async listen(): Promise<number> {
    this.port = await listenOn(this.#server, this.#o.role, this.#o.address);
    this.#o.logger.info('listening', { role: this.#o.role, host: this.#o.address.host, port: this.port });
    return this.port;
  }

  get sessionCount(): number {
    return this.#sessions.size;
  }

  #onConnection(socket: net.Socket, implicitTls: boolean): void {
    // The client named by a trusted balancer's PROXY header, also for the session.
    const ip = normalizeIp(exposePeer(socket).address);
    socket.on('error', () => {});
    if (!this.#o.limits.tryAcquire(ip)) {
      this.#o.logger.warn('connection refused: too many connections', { role: this.#o.role, client: ip });
      socket.end(err('Too many connections, try again later', 'SYS/TEMP'));
      setTimeout(() => socket.destroy(), 2000).unref();
      return;
    }
    const session = new Pop3Session({
      socket,
      sessionId: randomBytes(6).toString('hex'),
      role: this.#o.role,
      config: this.#o.config,
      services: this.#o.services,
      logger: this.#o.logger,
      implicitTls,
    });
    this.#sessions.add(session);
    session.onClosed(() => {
      this.#sessions.delete(session);
      this.#o.limits.release(ip);
    });
    session.log.debug('connected', { role: this.#o.role, port: socket.localPort });
    session.start();
  }

  /** Stops accepting; idle sessions are told now; waits up to `graceMs` for
   * commands in progress (an UPDATE's expunge), then cuts the rest. */
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
