// A raw-socket SMTP client for end-to-end tests: sends exact bytes (so tests
// can pipeline, smuggle and misbehave) and reads whole replies.
import net from 'node:net';

export interface SmtpReply {
  code: number;
  lines: string[];
  text: string;
}

export class RawSmtp {
  readonly socket: net.Socket;
  #buf = '';
  #waiters: (() => void)[] = [];
  #ended = false;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => {
      this.#buf += d;
      this.#wake();
    });
    socket.on('end', () => {
      this.#ended = true;
      this.#wake();
    });
    socket.on('close', () => {
      this.#ended = true;
      this.#wake();
    });
    socket.on('error', () => {
      this.#ended = true;
      this.#wake();
    });
  }

  /** Reads and writes through an existing socket (e.g. a TLS socket after STARTTLS). */
  static wrap(socket: net.Socket): RawSmtp {
    return new RawSmtp(socket);
  }

  static connect(port: number, host = '127.0.0.1'): Promise<RawSmtp> {
    return new Promise((resolve, reject) => {
      const s = net.connect({ port, host }, () => resolve(new RawSmtp(s)));
      s.once('error', reject);
    });
  }

  #wake(): void {
    for (const w of this.#waiters.splice(0)) w();
  }

  get ended(): boolean {
    return this.#ended;
  }

  /** Everything received and not yet read as a reply. */
  get pending(): string {
    return this.#buf;
  }

  write(data: string | Buffer): void {
    this.socket.write(data);
  }

  /** Reads one complete (possibly multi-line) reply. */
  async reply(timeoutMs = 5000): Promise<SmtpReply> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const r = this.#parseOne();
      if (r) return r;
      if (this.#ended) throw new Error(`connection closed; unread: ${JSON.stringify(this.#buf)}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timeout waiting for reply; unread: ${JSON.stringify(this.#buf)}`);
      await new Promise<void>((res) => {
        const t = setTimeout(res, left);
        this.#waiters.push(() => {
          clearTimeout(t);
          res();
        });
      });
    }
  }

  #parseOne(): SmtpReply | null {
    const lines: string[] = [];
    let pos = 0;
    for (;;) {
      const eol = this.#buf.indexOf('\r\n', pos);
      if (eol < 0) return null;
      const line = this.#buf.slice(pos, eol);
      lines.push(line);
      pos = eol + 2;
      if (line.length < 4 || line[3] === ' ') {
        this.#buf = this.#buf.slice(pos);
        return { code: Number(line.slice(0, 3)), lines, text: lines.join('\n') };
      }
    }
  }

  /** Sends a command line and reads its reply. */
  async cmd(line: string): Promise<SmtpReply> {
    this.write(line + '\r\n');
    return this.reply();
  }

  /** Waits until the server closes the connection. */
  async closed(timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.#ended) {
      if (Date.now() > deadline) throw new Error('connection still open');
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  close(): void {
    this.socket.destroy();
  }
}
