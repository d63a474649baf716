// Incremental parser of SMTP server replies (RFC 5321 §4.2), the client's
// side of reply.ts. Bytes go in as they arrive; complete replies come out, a
// multi-line reply ("250-…" lines then "250 …") as one Reply. The RFC 3463
// enhanced status code is taken off the front of the text when the first line
// starts with one of the reply's class (RFC 2034 §3 puts it on every line;
// servers that do not advertise ENHANCEDSTATUSCODES sometimes send them too).
// Limits on line length, lines per reply and bytes per reply keep a hostile
// server from making us buffer without bound. Anything malformed is a typed
// protocol error, after which the parser stays failed (the connection is out
// of step and must be closed). Pure: no I/O, never throws on input.

import type { Reply } from '../protocol/reply.ts';

export interface ReplyProtocolError {
  kind: 'protocol';
  message: string;
}

export interface ReplyParserLimits {
  /** Longest reply line, CRLF included. RFC 5321 §4.5.3.1.5 says 512; we allow slack. */
  maxLineLength?: number;
  /** Most lines in one reply (an EHLO reply has one per extension). */
  maxLines?: number;
  /** Most bytes in one reply. */
  maxReplyLength?: number;
}

export interface ParseResult {
  replies: Reply[];
  /** Set once the input was malformed; later pushes return it again. */
  error: ReplyProtocolError | null;
}

const DEFAULTS = { maxLineLength: 2048, maxLines: 200, maxReplyLength: 64 * 1024 };
// RFC 3463 §2: class.subject.detail, subject and detail 1–3 digits; followed by a space or the end.
const ENHANCED = /^([245])\.(\d{1,3})\.(\d{1,3})(?: |$)/;
const LF = 0x0a;

interface Line {
  code: number;
  last: boolean;
  text: string;
}

export class ReplyParser {
  readonly #limits: Required<ReplyParserLimits>;
  #partial: Buffer = Buffer.alloc(0);
  #lines: Line[] = [];
  #replyBytes = 0;
  #error: ReplyProtocolError | null = null;

  constructor(limits: ReplyParserLimits = {}) {
    this.#limits = { ...DEFAULTS, ...limits };
  }

  /** Bytes received that are not part of a reply returned so far. */
  get buffered(): number {
    return this.#partial.length + this.#replyBytes;
  }

  get failed(): boolean {
    return this.#error !== null;
  }

  push(chunk: Uint8Array): ParseResult {
    const replies: Reply[] = [];
    if (this.#error) return { replies, error: this.#error };
    let data = this.#partial.length ? Buffer.concat([this.#partial, chunk]) : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    let start = 0;
    for (;;) {
      const nl = data.indexOf(LF, start);
      if (nl < 0) break;
      // RFC 5321 §2.3.8: lines end with CRLF; a bare LF is tolerated from a server.
      const lineLength = nl + 1 - start;
      if (lineLength > this.#limits.maxLineLength) return this.#fail(`reply line longer than ${this.#limits.maxLineLength} octets`, replies);
      const end = nl > start && data[nl - 1] === 0x0d ? nl - 1 : nl;
      const line = parseLine(data.subarray(start, end));
      start = nl + 1;
      if (typeof line === 'string') return this.#fail(line, replies);
      this.#replyBytes += lineLength;
      if (this.#lines.length > 0 && this.#lines[0].code !== line.code) {
        // RFC 5321 §4.2.1: every line of a multi-line reply has the same code.
        return this.#fail(`multi-line reply changed code from ${this.#lines[0].code} to ${line.code}`, replies);
      }
      this.#lines.push(line);
      if (this.#lines.length > this.#limits.maxLines) return this.#fail(`reply has more than ${this.#limits.maxLines} lines`, replies);
      if (this.#replyBytes > this.#limits.maxReplyLength) return this.#fail(`reply longer than ${this.#limits.maxReplyLength} octets`, replies);
      if (line.last) {
        replies.push(assemble(this.#lines));
        this.#lines = [];
        this.#replyBytes = 0;
      }
    }
    data = data.subarray(start);
    if (data.length >= this.#limits.maxLineLength) return this.#fail(`reply line longer than ${this.#limits.maxLineLength} octets`, replies);
    if (this.#replyBytes + data.length > this.#limits.maxReplyLength) return this.#fail(`reply longer than ${this.#limits.maxReplyLength} octets`, replies);
    // Copy, so the caller's buffer is not kept alive (or changed under us).
    this.#partial = Buffer.from(data);
    return { replies, error: null };
  }

  #fail(message: string, replies: Reply[]): ParseResult {
    this.#error = { kind: 'protocol', message };
    this.#partial = Buffer.alloc(0);
    this.#lines = [];
    return { replies, error: this.#error };
  }
}

// RFC 5321 §4.2: Reply-line = *( Reply-code "-" [ textstring ] CRLF ) Reply-code [ SP textstring ] CRLF,
// Reply-code = %x32-35 %x30-35 %x30-39.
function parseLine(bytes: Buffer): Line | string {
  if (bytes.length < 3) return 'reply line too short';
  for (let i = 0; i < 3; i++) {
    if (bytes[i] < 0x30 || bytes[i] > 0x39) return 'reply line does not start with a three-digit code';
  }
  const code = (bytes[0] - 0x30) * 100 + (bytes[1] - 0x30) * 10 + (bytes[2] - 0x30);
  if (code < 200 || code > 599) return `reply code ${code} out of range`;
  if (bytes.length === 3) return { code, last: true, text: '' };
  const sep = bytes[3];
  // A few servers send "250\tok"; anything else after the code is not SMTP.
  if (sep !== 0x20 && sep !== 0x2d && sep !== 0x09) return 'reply code not followed by space or "-"';
  const text = bytes.subarray(4).toString('utf8');
  return { code, last: sep !== 0x2d, text };
}

function assemble(lines: Line[]): Reply {
  const code = lines[0].code;
  const cls = String(code)[0];
  const m = ENHANCED.exec(lines[0].text);
  // RFC 3463 §2: the class digit equals the reply's first digit, else it is just text.
  const enhanced = m && m[1] === cls ? `${m[1]}.${m[2]}.${m[3]}` : null;
  const texts = lines.map((l) => {
    if (enhanced === null) return l.text;
    // RFC 2034 §3: the code repeats on each line; take it off where it is there.
    const lm = ENHANCED.exec(l.text);
    return lm && lm[1] === cls ? l.text.slice(lm[0].length) : l.text;
  });
  return { code, enhanced, lines: texts };
}
