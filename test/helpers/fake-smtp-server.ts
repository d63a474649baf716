// A scripted fake SMTP server for the client tests: a net.Server on
// 127.0.0.1 that runs a script per connection. The script reads what the
// client sent (a line, the DATA content up to CRLF.CRLF, or N octets for BDAT),
// asserts on it, and writes replies; it can upgrade to TLS after STARTTLS.
// An assertion failing inside the script fails the test through `done()`.

import { createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export class FakeConn {
  socket: Socket;
  #buf = Buffer.alloc(0);
  #wake: (() => void) | null = null;
  #ended = false;
  /** Every byte the client sent, in order (after TLS: the decrypted bytes). */
  received: Buffer[] = [];

  constructor(socket: Socket) {
    this.socket = socket;
    this.#listen(socket);
  }

  #listen(s: Socket): void {
    s.on('data', (chunk: Buffer) => {
      this.received.push(chunk);
      this.#buf = Buffer.concat([this.#buf, chunk]);
      this.#wake?.();
    });
    s.on('end', () => {
      this.#ended = true;
      this.#wake?.();
    });
    s.on('close', () => {
      this.#ended = true;
      this.#wake?.();
    });
    s.on('error', () => {});
  }

  async #until(take: (buf: Buffer) => number, timeoutMs = 3000): Promise<Buffer> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const n = take(this.#buf);
      if (n >= 0) {
        const out = this.#buf.subarray(0, n);
        this.#buf = this.#buf.subarray(n);
        return out;
      }
      if (this.#ended) throw new Error(`client closed; unread: ${JSON.stringify(this.#buf.toString('latin1'))}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`fake server: nothing more from the client; unread: ${JSON.stringify(this.#buf.toString('latin1'))}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.#wake = () => {
          clearTimeout(t);
          this.#wake = null;
          resolve();
        };
      });
    }
  }

  /** The next command line, without CRLF. */
  async line(): Promise<string> {
    const b = await this.#until((buf) => {
      const i = buf.indexOf('\r\n');
      return i < 0 ? -1 : i + 2;
    });
    return b.subarray(0, -2).toString('utf8');
  }

  /** DATA content as sent (still dot-stuffed), up to and including CRLF.CRLF. */
  async data(): Promise<string> {
    const b = await this.#until((buf) => {
      if (buf.subarray(0, 3).toString() === '.\r\n') return 3;
      const i = buf.indexOf('\r\n.\r\n');
      return i < 0 ? -1 : i + 5;
    });
    return b.toString('latin1');
  }

  /** Exactly n octets (BDAT). */
  async bytes(n: number): Promise<Buffer> {
    return Buffer.from(await this.#until((buf) => (buf.length >= n ? n : -1)));
  }

  /** Bytes waiting unread, after giving the client `ms` to send more. */
  async unread(ms = 50): Promise<string> {
    await new Promise((r) => setTimeout(r, ms));
    return this.#buf.toString('latin1');
  }

  send(text: string): void {
    this.socket.write(text.replace(/\r?\n/g, '\r\n'));
  }

  /** Wraps the socket in TLS as the server (after "220" to STARTTLS). */
  async startTls(cert: { key: string; cert: string }): Promise<TLSSocket> {
    if (this.#buf.length) throw new Error('client sent data after STARTTLS before the handshake');
    const plain = this.socket;
    plain.removeAllListeners('data');
    plain.removeAllListeners('end');
    plain.removeAllListeners('close');
    const secure = new TLSSocket(plain, { isServer: true, key: cert.key, cert: cert.cert });
    this.socket = secure;
    this.#listen(secure);
    await new Promise<void>((resolve, reject) => {
      secure.once('secure', resolve);
      secure.once('error', reject);
      secure.once('close', () => reject(new Error('closed during the TLS handshake')));
    });
    return secure;
  }

  /** Waits for the client to close the connection. */
  async closed(timeoutMs = 3000): Promise<void> {
    await this.#until((buf) => (this.#ended ? buf.length : -1), timeoutMs).catch(() => {});
  }
}

export interface FakeServer {
  port: number;
  /** Resolves when every connection's script finished; rejects with the first script error. */
  done(): Promise<void>;
  close(): Promise<void>;
}

export async function fakeSmtpServer(...scripts: ((c: FakeConn) => Promise<void>)[]): Promise<FakeServer> {
  const runs: Promise<void>[] = [];
  const sockets = new Set<Socket>();
  let n = 0;
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    const script = scripts[Math.min(n++, scripts.length - 1)];
    const conn = new FakeConn(socket);
    runs.push(
      script(conn).finally(() => {
        setTimeout(() => conn.socket.destroy(), 20);
      }),
    );
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    async done() {
      await Promise.all(runs);
    },
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

/** A throwaway self-signed certificate made with the openssl program. */
export function selfSignedCert(): { key: string; cert: string } {
  const dir = mkdtempSync(join(tmpdir(), 'mailroom-client-tls-'));
  try {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', '/CN=test', '-days', '1', '-keyout', 'k.pem', '-out', 'c.pem'], {
      cwd: dir,
      stdio: 'ignore',
    });
    return { key: readFileSync(join(dir, 'k.pem'), 'utf8'), cert: readFileSync(join(dir, 'c.pem'), 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
