// Applies the PROXY protocol (net/proxy-protocol.ts) to accepted
// connections, for any listener (SMTP, IMAP, POP3): a connection from a
// trusted load balancer ([proxy_protocol] trusted) must start with a header
// within the deadline, or it is closed; its real client address is then what
// peerAddress() reports, so logs, connection limits, throttles and
// greylisting see the client, not the balancer. Connections from anyone else
// pass through untouched (a header from them is not believed: it would let
// anyone claim any address; their first bytes simply reach the protocol).
// Bytes after the header are put back on the socket (unshift) for the
// session, or for the TLS server with implicit TLS: the header comes before
// the TLS handshake (the balancer forwards TLS unopened).

import { createServer, type Socket } from 'node:net';
import { NetworkSet } from './networks.ts';
import { parseProxyHeader, V1_MAX, V2_MAX, type ProxyHeader } from './proxy-protocol.ts';

export interface PeerAddress {
  address: string;
  port: number;
  /** Set when the address came from a PROXY header; the balancer's address. */
  via?: string;
}

const peers = new WeakMap<object, PeerAddress>();

/** The client as the listener should see it: from the PROXY header when
 * there was one, else the socket's peer. Works on a TLSSocket wrapping an
 * accepted socket too (implicit TLS). */
export function peerAddress(socket: Socket): PeerAddress {
  const known = peers.get(socket) ?? peers.get((socket as unknown as { _parent?: object })._parent ?? {});
  return known ?? { address: socket.remoteAddress ?? 'unknown', port: socket.remotePort ?? 0 };
}

/** Makes `socket.remoteAddress`/`remotePort` report the client named by the
 * PROXY header (if there was one), for sessions that read them directly.
 * Returns the peer as peerAddress() does. */
export function exposePeer(socket: Socket): PeerAddress {
  const p = peerAddress(socket);
  if (p.via !== undefined && socket.remoteAddress !== p.address) {
    Object.defineProperty(socket, 'remoteAddress', { value: p.address, configurable: true });
    Object.defineProperty(socket, 'remotePort', { value: p.port, configurable: true });
  }
  return p;
}

/** The gate options from `[proxy_protocol]`, or null when no balancer is trusted. */
export function proxyGateFromConfig(
  pp: { trusted: string[]; timeout: number } | undefined,
  onReject: (peer: string, reason: string) => void,
): ProxyGateOptions | null {
  if (!pp || pp.trusted.length === 0) return null;
  return { trusted: new NetworkSet(pp.trusted), timeoutMs: pp.timeout, onReject };
}

export interface ProxyGateOptions {
  trusted: NetworkSet;
  timeoutMs: number;
  /** Resume the socket before handing it on (default true). False when it
   * goes to a tls.Server, which reads what is buffered itself. */
  resume?: boolean;
  /** A trusted peer sent no valid header in time, or sent a bad one. */
  onReject?: (peer: string, reason: string) => void;
}

/** Reads and removes the header from a trusted peer's socket. Resolves with
 * the header (null for a peer that is not trusted), rejects with the reason
 * after destroying the socket. */
export function readProxyHeader(socket: Socket, opts: ProxyGateOptions): Promise<ProxyHeader | null> {
  const peer = socket.remoteAddress ?? '';
  if (!opts.trusted.has(peer)) return Promise.resolve(null);
  return new Promise((resolve, reject) => {
    let buf: Buffer = Buffer.alloc(0);
    const done = (err: string | null, header?: ProxyHeader, rest?: Buffer) => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.off('error', onError);
      socket.off('close', onEnd);
      if (err !== null) {
        opts.onReject?.(peer, err);
        socket.destroy();
        reject(new Error(err));
        return;
      }
      socket.pause();
      if (rest && rest.length > 0) socket.unshift(rest);
      resolve(header!);
    };
    const onData = (chunk: Buffer) => {
      buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
      const r = parseProxyHeader(buf);
      if (r.kind === 'incomplete') {
        if (buf.length > Math.max(V1_MAX, V2_MAX)) done('PROXY header too long');
        return;
      }
      if (r.kind === 'error') return done(r.reason);
      const h = r.header;
      if (h.command === 'proxy' && h.source) {
        peers.set(socket, { address: h.source.address, port: h.source.port, via: peer });
      }
      done(null, h, buf.subarray(r.length));
    };
    const onEnd = () => done('connection closed before the PROXY header');
    const onError = (e: Error) => done(`connection error before the PROXY header: ${e.message}`);
    const timer = setTimeout(() => done(`no PROXY header within ${opts.timeoutMs} ms`), opts.timeoutMs);
    timer.unref?.();
    socket.on('data', onData);
    socket.once('end', onEnd);
    socket.once('close', onEnd);
    socket.once('error', onError);
  });
}

/** Wraps a connection handler: trusted peers' headers are read first (or the
 * connection closed), then `next` runs with the socket as a session expects it. */
export function proxyGate(opts: ProxyGateOptions, next: (socket: Socket) => void): (socket: Socket) => void {
  return (socket) => {
    if (!opts.trusted.has(socket.remoteAddress ?? '')) {
      next(socket);
      return;
    }
    readProxyHeader(socket, opts).then(
      () => {
        next(socket);
        if (opts.resume !== false) socket.resume();
      },
      () => {},
    );
  };
}

/** The server a listener binds when [proxy_protocol] trusted is set: a plain
 * net.Server whose connections pass the gate, then go to `onConnection`, or,
 * for implicit TLS, to `tlsServer` (which does the handshake as if it had
 * accepted them itself). */
export function gatedServer(
  opts: ProxyGateOptions,
  target: { onConnection: (socket: Socket) => void } | { tlsServer: import('node:net').Server },
): import('node:net').Server {
  const next =
    'tlsServer' in target ? (socket: Socket) => void target.tlsServer.emit('connection', socket) : target.onConnection;
  return createServer({ noDelay: true }, proxyGate({ ...opts, resume: !('tlsServer' in target) }, next));
}

