// A minimal raw POP3 client for end-to-end tests that need to misbehave:
// send exact bytes, read status lines and multi-line bodies, drop the
// connection. (Well-behaved clients are the real ones: Python's poplib and
// fetchmail.)
import net from 'node:net';
import tls from 'node:tls';

export class RawPop3 {
  socket: net.Socket;
  #buf = Buffer.alloc(0);
  #waiters: Array<() => void> = [];
  closed = false;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    this.#listen(socket);
  }

  #listen(socket: net.Socket): void {
    socket.on('data', (d: Buffer) => {
      this.#buf = Buffer.concat([this.#buf, d]);
      this.#wake();
    });
    const end = () => {
      this.closed = true;
      this.#wake();
    };
    socket.on('close', end);
    socket.on('end', end);
    socket.on('error', end);
  }

  #wake(): void {
    for (const w of this.#waiters.splice(0)) w();
  }

  static async connect(port: number, opts: { tls?: boolean } = {}): Promise<RawPop3> {
    const socket = opts.tls
      ? tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false })
      : net.connect({ host: '127.0.0.1', port });
    await new Promise<void>((resolve, reject) => {
      socket.once(opts.tls ? 'secureConnect' : 'connect', () => resolve());
      socket.once('error', reject);
    });
    return new RawPop3(socket);
  }

  /** Upgrade after "+OK" to STLS. */
  async startTls(): Promise<void> {
    this.socket.removeAllListeners('data');
    const secure = tls.connect({ socket: this.socket, rejectUnauthorized: false });
    await new Promise<void>((resolve, reject) => {
      secure.once('secureConnect', () => resolve());
      secure.once('error', reject);
    });
    this.socket = secure;
    this.#listen(secure);
  }

  async #waitFor(pred: () => number, timeoutMs: number): Promise<Buffer> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const n = pred();
      if (n >= 0) {
        const out = this.#buf.subarray(0, n);
        this.#buf = this.#buf.subarray(n);
        return out;
      }
      if (this.closed) throw new Error(`connection closed; unread: ${JSON.stringify(this.#buf.toString('latin1'))}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timeout; unread: ${JSON.stringify(this.#buf.toString('latin1'))}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** One status line, without CRLF. */
  async line(timeoutMs = 5000): Promise<string> {
    const b = await this.#waitFor(() => {
      const i = this.#buf.indexOf('\r\n');
      return i < 0 ? -1 : i + 2;
    }, timeoutMs);
    return b.subarray(0, b.length - 2).toString('utf8');
  }

  /** A multi-line body up to and including CRLF.CRLF (still stuffed). */
  async body(timeoutMs = 5000): Promise<Buffer> {
    return this.#waitFor(() => {
      if (this.#buf.subarray(0, 3).equals(Buffer.from('.\r\n'))) return 3;
      const i = this.#buf.indexOf('\r\n.\r\n');
      return i < 0 ? -1 : i + 5;
    }, timeoutMs);
  }

  send(text: string | Buffer): void {
    this.socket.write(text);
  }

  async cmd(text: string): Promise<string> {
    this.send(text + '\r\n');
    return this.line();
  }

  /** Resolves when the server has closed the connection. */
  async waitClosed(timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed) {
      if (Date.now() > deadline) throw new Error('connection still open');
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 50);
        this.#waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  destroy(): void {
    this.socket.destroy();
  }
}
