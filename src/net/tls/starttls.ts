// Turns an accepted plaintext connection into a server-side TLS session:
// after SMTP STARTTLS (RFC 3207 §4), IMAP STARTTLS or POP3 STLS (RFC 2595),
// and right after accept for implicit TLS (submissions, RFC 8314 §3.3).
// Resolves with the TLSSocket once the handshake is complete; rejects (after
// destroying the connection) on a handshake error, on close, or when the
// handshake takes longer than `handshakeTimeoutMs`.
//
// Plaintext injection (CVE-2011-0411, RFC 3207 §4 / RFC 2595 §3.1): bytes
// that arrived before the upgrade must never be taken as commands sent under
// TLS. The contract that guarantees it:
//   - The caller, as soon as it parses the STARTTLS command and before it
//     writes its "220" reply, calls `socket.pause()` and removes its 'data' /
//     'readable' listeners, then discards whatever it had read and buffered
//     beyond the STARTTLS line. upgradeToTls refuses to run while such
//     listeners are attached.
//   - upgradeToTls never `unshift`s anything into the socket and is given no
//     buffered input, so nothing the caller read reaches the TLS layer.
//   - Bytes that arrived after the pause and that nobody read (still in the
//     socket's internal buffer) are handed by node:tls to the TLS record
//     layer as handshake input, never to the application: a client's
//     ClientHello that raced in before the wrap is used as it should be, and
//     injected plaintext simply makes the handshake fail. Either way no
//     plaintext can appear as data read from the returned TLSSocket.
// The caller also moves its 'error'/'close'/'end' handling and any idle
// timeout to the returned TLSSocket (the plaintext socket object no longer
// sees reads), and clears `socket.setTimeout` on the old one.

import type net from 'node:net';
import tls from 'node:tls';
import type { TlsContexts, TlsDescription } from './contexts.ts';

export interface UpgradeOptions {
  /** Longest the handshake may take, from this call to the 'secure' event. */
  handshakeTimeoutMs: number;
}

/** Why an upgrade failed; the connection is already destroyed. */
export class TlsHandshakeError extends Error {
  /** OpenSSL's code when there is one, e.g. ERR_SSL_UNSUPPORTED_PROTOCOL; "ETIMEDOUT"; "ECONNRESET". */
  readonly code: string | undefined;
  constructor(message: string, code?: string) {
    super(message);
    this.name = 'TlsHandshakeError';
    this.code = code;
  }
}

export function upgradeToTls(socket: net.Socket, contexts: TlsContexts, opts: UpgradeOptions): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    if (socket.listenerCount('data') > 0 || socket.listenerCount('readable') > 0) {
      // A programming error in the caller: reading on would let plaintext
      // through. Refuse before touching the socket.
      reject(new Error('upgradeToTls: pause the socket and remove its "data"/"readable" listeners first (CVE-2011-0411)'));
      return;
    }
    socket.pause();
    const secure = new tls.TLSSocket(socket, { isServer: true, ...contexts.serverOptions() });
    let done = false;
    const finish = (err: TlsHandshakeError | null) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      secure.off('secure', onSecure);
      secure.off('error', onError);
      secure.off('close', onClose);
      if (err) {
        secure.on('error', () => {}); // late errors from a socket we gave up on
        secure.destroy();
        socket.destroy();
        reject(err);
      } else {
        resolve(secure);
      }
    };
    const onSecure = () => finish(null);
    const onError = (err: NodeJS.ErrnoException) => finish(new TlsHandshakeError(`TLS handshake failed: ${err.message.split('\n')[0]}`, err.code));
    const onClose = () => finish(new TlsHandshakeError('connection closed during the TLS handshake', 'ECONNRESET'));
    const timer = setTimeout(
      () => finish(new TlsHandshakeError(`TLS handshake not completed within ${opts.handshakeTimeoutMs}ms`, 'ETIMEDOUT')),
      opts.handshakeTimeoutMs,
    );
    secure.once('secure', onSecure);
    secure.on('error', onError);
    secure.once('close', onClose);
  });
}

/** The pair a protocol session is handed (SMTP's `StartTls` port, and IMAP's
 * and POP3's later): upgrade with the configured handshake deadline
 * (timeouts.tls_handshake), and describe for the Received header. */
export function tlsUpgrader(
  contexts: TlsContexts,
  opts: UpgradeOptions,
): { upgrade(socket: net.Socket): Promise<tls.TLSSocket>; describe(socket: tls.TLSSocket): TlsDescription } {
  return {
    upgrade: (socket) => upgradeToTls(socket, contexts, opts),
    describe: (socket) => contexts.describe(socket),
  };
}
