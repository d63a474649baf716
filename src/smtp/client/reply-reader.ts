// Reads replies off a socket for the client session: socket data goes through
// the ReplyParser, complete replies wait in a queue, and read() hands out the
// next one within a deadline (RFC 5321 §4.5.3.2: the client waits a bounded
// time for each reply). A timeout, a protocol error or the connection closing
// fails the reader for good: the session is out of step with the server and
// the socket is destroyed. Replies that arrived before a close can still be
// read. detach() stops listening (before the socket is handed to TLS).

import type { Duplex } from 'node:stream';
import type { Reply } from '../protocol/reply.ts';
import { ReplyParser } from './reply-parser.ts';
import type { ReplyParserLimits } from './reply-parser.ts';
import { SmtpClientError } from './errors.ts';
import type { SmtpClientPhase } from './errors.ts';

interface Waiter {
  resolve: (r: Reply) => void;
  reject: (e: SmtpClientError) => void;
  timer: NodeJS.Timeout;
}

export class ReplyReader {
  readonly #socket: Duplex;
  readonly #parser: ReplyParser;
  readonly #queue: Reply[] = [];
  #waiter: Waiter | null = null;
  #failure: SmtpClientError | null = null;
  #phase: SmtpClientPhase = 'greeting';
  readonly #onTrace: ((line: string) => void) | undefined;
  readonly #listeners: [string, (...args: any[]) => void][];

  constructor(socket: Duplex, limits: ReplyParserLimits = {}, onTrace?: (line: string) => void) {
    this.#socket = socket;
    this.#parser = new ReplyParser(limits);
    this.#onTrace = onTrace;
    this.#listeners = [
      ['data', (chunk: Buffer) => this.#data(chunk)],
      ['end', () => this.#fail(new SmtpClientError('closed', this.#phase, 'the server closed the connection'))],
      ['close', () => this.#fail(new SmtpClientError('closed', this.#phase, 'the connection was closed'))],
      [
        'error',
        (err: NodeJS.ErrnoException) =>
          this.#fail(new SmtpClientError('closed', this.#phase, `connection error: ${err.message}`, { code: err.code, cause: err })),
      ],
    ];
    for (const [event, fn] of this.#listeners) socket.on(event, fn);
  }

  /** Something was received that has not been read: a queued reply or a partial one. */
  get pending(): boolean {
    return this.#parser.buffered > 0 || this.#queue.length > 0;
  }

  /** Why the reader can no longer be used, or null. */
  get failure(): SmtpClientError | null {
    return this.#failure;
  }

  /** The next reply, within `timeoutMs`. */
  read(timeoutMs: number, phase: SmtpClientPhase): Promise<Reply> {
    this.#phase = phase;
    const next = this.#queue.shift();
    if (next) return Promise.resolve(next);
    if (this.#failure) return Promise.reject(this.#failure);
    if (this.#waiter) return Promise.reject(new Error('ReplyReader.read: a read is already waiting'));
    return new Promise<Reply>((resolve, reject) => {
      const timer = setTimeout(() => {
        const secs = Math.round(timeoutMs / 100) / 10;
        this.#fail(new SmtpClientError('timeout', phase, `no reply to ${phase} within ${secs} s`));
        this.#socket.destroy();
      }, Math.max(0, timeoutMs));
      this.#waiter = { resolve, reject, timer };
    });
  }

  /** Stops reading this socket (it is about to be wrapped by TLS). */
  detach(): void {
    for (const [event, fn] of this.#listeners) this.#socket.off(event, fn);
    // Keep an error listener so a late socket error is not an uncaught exception.
    this.#socket.on('error', () => {});
  }

  #data(chunk: Buffer): void {
    const { replies, error } = this.#parser.push(chunk);
    for (const r of replies) {
      if (this.#onTrace) this.#onTrace(`${r.code}${r.enhanced ? ' ' + r.enhanced : ''} ${r.lines.join(' | ')}`);
      const w = this.#waiter;
      if (w) {
        this.#waiter = null;
        clearTimeout(w.timer);
        w.resolve(r);
      } else this.#queue.push(r);
    }
    if (error) {
      this.#fail(new SmtpClientError('protocol', this.#phase, `malformed reply: ${error.message}`));
      this.#socket.destroy();
    }
  }

  #fail(err: SmtpClientError): void {
    if (!this.#failure) this.#failure = err;
    const w = this.#waiter;
    if (w) {
      this.#waiter = null;
      clearTimeout(w.timer);
      w.reject(this.#failure);
    }
  }
}
