// Decodes DATA content (RFC 5321 §4.1.1.4, §4.5.2): fed the raw bytes that
// follow the 354 reply, it removes dot-stuffing, stops at the terminator
// CRLF "." CRLF and reports where it stopped, so that bytes pipelined after
// the message stay with the caller. Only CRLF.CRLF ends DATA (DESIGN
// convention 6): LF.LF, CR.CR, LF.CRLF and CRLF.LF do not, and the
// ContentChecker flags the bare CR/LF they contain so the session can refuse
// the message. The scan is done with Buffer.indexOf on "\r\n."; state carried
// between feeds handles a terminator or a stuffed dot split across chunks.
//
// Zero copy: content pieces of 1 KiB or more are subarrays of the chunks
// passed to feed(), so a caller MUST NOT reuse or modify a buffer after
// feeding it (socket 'data' buffers are fresh, so they qualify). Smaller
// pieces are copied into shared blocks so that a client trickling tiny
// chunks cannot make us hold millions of Buffer objects.
import { ContentChecker } from './content-check.ts';

export { ContentChecker } from './content-check.ts';

const CR = 13;
const LF = 10;
const DOT = 46;
const CRLF_DOT = Buffer.from('\r\n.');
const CR_ONLY = Buffer.from('\r');
const COPY_BELOW = 1024;
const BLOCK = 8192;

// Decoder states (a closed set of numbers: erasable syntax has no enum).
/** Inside a line; the previous byte was not CR. */
const MID = 0;
/** Inside a line; the previous byte (in an earlier chunk) was a CR. */
const AFTER_CR = 1;
/** At the start of a line (after CRLF, or at the very start of the message). */
const LINE_START = 2;
/** A "." at line start was seen and removed; what follows decides. */
const DOT_SEEN = 3;
/** "." CR at line start: an LF now ends the data. */
const DOT_CR = 4;
const DONE = 5;
type State = typeof MID | typeof AFTER_CR | typeof LINE_START | typeof DOT_SEEN | typeof DOT_CR | typeof DONE;

export interface DataDecoderOptions {
  /** Content beyond this many octets is counted and discarded (RFC 1870). */
  maxSize: number;
  /** Longest allowed line in octets, CRLF included (RFC 5321 §4.5.3.1.6). */
  maxLine: number;
}

export class DataDecoder {
  readonly #maxSize: number;
  readonly #checker: ContentChecker;
  // RFC 5321 §4.1.1.4: the mail data starts right after the 354, at a line start.
  #state: State = LINE_START;
  #size = 0;
  #tooLarge = false;
  #pieces: Buffer[] = [];
  #block: Buffer | null = null;
  #blockStart = 0;
  #blockEnd = 0;

  constructor(opts: DataDecoderOptions) {
    this.#maxSize = opts.maxSize;
    this.#checker = new ContentChecker(opts.maxLine);
  }

  get done(): boolean {
    return this.#state === DONE;
  }
  /** Decoded content octets seen, counting those discarded beyond maxSize. */
  get size(): number {
    return this.#size;
  }
  get tooLarge(): boolean {
    return this.#tooLarge;
  }
  get bareNewline(): boolean {
    return this.#checker.bareNewline;
  }
  get lineTooLong(): boolean {
    return this.#checker.lineTooLong;
  }

  /**
   * Feeds raw bytes; returns how many were consumed. Once `done` is true the
   * bytes of `chunk` from the returned offset on are input after the message
   * (pipelined commands); feeding more after that consumes nothing.
   */
  feed(chunk: Buffer): number {
    if (this.#state === DONE) return 0;
    const n = chunk.length;
    let st: State = this.#state;
    let i = 0;
    let run = -1; // start of the content run in `chunk`, -1 when none
    while (i < n) {
      if (st === MID) {
        if (run < 0) run = i;
        // RFC 5321 §4.5.2: a line starting with "." has had one "." added.
        const p = chunk.indexOf(CRLF_DOT, i);
        if (p < 0) {
          const last = chunk[n - 1];
          if (last === CR) st = AFTER_CR;
          else if (last === LF && n >= 2 && chunk[n - 2] === CR) st = LINE_START;
          i = n;
          break;
        }
        this.#emit(chunk.subarray(run, p + 2)); // up to and including the CRLF
        run = -1;
        i = p + 3; // the dot is dropped
        st = DOT_SEEN;
      } else if (st === AFTER_CR) {
        if (chunk[i] === LF) {
          if (run < 0) run = i;
          i++;
          st = LINE_START;
        } else {
          st = MID;
        }
      } else if (st === LINE_START) {
        if (chunk[i] === DOT) {
          if (run >= 0) this.#emit(chunk.subarray(run, i));
          run = -1;
          i++;
          st = DOT_SEEN;
        } else {
          st = MID;
        }
      } else if (st === DOT_SEEN) {
        if (chunk[i] === CR) {
          i++;
          st = DOT_CR;
        } else {
          st = MID; // a stuffed dot: the rest of the line is content
        }
      } else {
        // DOT_CR
        if (chunk[i] === LF) {
          // RFC 5321 §4.1.1.4: CRLF "." CRLF ends the mail data.
          i++;
          st = DONE;
          break;
        }
        // "." CR then something else: the CR is content (a bare CR, flagged by the checker).
        if (i > 0) run = i - 1;
        else this.#emit(CR_ONLY);
        st = MID;
      }
    }
    if (run >= 0 && i > run) this.#emit(chunk.subarray(run, i));
    this.#state = st;
    this.#checker.feed(i === n ? chunk : chunk.subarray(0, i));
    if (st === DONE) this.#checker.finish();
    return i;
  }

  /** The decoded content, in order. Only meaningful when !tooLarge. */
  chunks(): Buffer[] {
    this.#flushBlock();
    return this.#pieces;
  }

  #emit(piece: Buffer): void {
    const len = piece.length;
    if (len === 0) return;
    this.#size += len;
    if (this.#tooLarge) return;
    if (this.#size > this.#maxSize) {
      this.#tooLarge = true;
      this.#pieces = [];
      this.#block = null;
      return;
    }
    if (len >= COPY_BELOW) {
      this.#flushBlock();
      this.#pieces.push(piece);
      return;
    }
    if (this.#block === null || this.#blockEnd + len > this.#block.length) {
      this.#flushBlock();
      this.#block = Buffer.allocUnsafe(BLOCK);
      this.#blockStart = this.#blockEnd = 0;
    }
    piece.copy(this.#block, this.#blockEnd);
    this.#blockEnd += len;
  }

  #flushBlock(): void {
    if (this.#block !== null && this.#blockEnd > this.#blockStart) {
      this.#pieces.push(this.#block.subarray(this.#blockStart, this.#blockEnd));
      this.#blockStart = this.#blockEnd;
    }
  }
}
