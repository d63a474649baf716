// Streaming check of message content as transmitted, shared by DATA and BDAT:
// flags a bare CR (a CR not followed by LF) or bare LF (an LF not preceded by
// CR) anywhere, across chunk boundaries, and any line longer than `maxLine`
// octets including its CRLF (RFC 5321 §4.5.3.1.6: 1000 by default). Those
// are the inputs of SMTP smuggling (DESIGN convention 6; RFC 5321 §2.3.8 and
// §4.1.4: CR and LF must only occur together as CRLF). The scan uses
// Buffer.indexOf, so it costs a couple of native calls per line.

const CR = 13;
const LF = 10;

export class ContentChecker {
  readonly #maxLine: number;
  /** Octets of the current line seen so far (without its line end). */
  #lineLen = 0;
  /** The previous chunk ended with a CR. */
  #pendingCR = false;
  #bare = false;
  #long = false;

  constructor(maxLine: number) {
    this.#maxLine = maxLine;
  }

  get bareNewline(): boolean {
    return this.#bare;
  }

  get lineTooLong(): boolean {
    return this.#long;
  }

  feed(chunk: Buffer): void {
    const n = chunk.length;
    if (n === 0 || (this.#bare && this.#long)) return; // nothing left to learn
    if (this.#pendingCR && chunk[0] !== LF) this.#bare = true;
    let i = 0;
    while (i < n) {
      const lf = chunk.indexOf(LF, i);
      const end = lf < 0 ? n : lf;
      if (!this.#bare) {
        // Within [i, end) a CR is allowed only as the byte just before the LF.
        const cr = chunk.indexOf(CR, i);
        // (A CR ending a chunk without LF is decided by the next chunk or finish().)
        if (cr >= 0 && cr < end - 1) this.#bare = true;
        if (lf >= 0) {
          const prev = lf > 0 ? chunk[lf - 1] : this.#pendingCR ? CR : 0;
          if (prev !== CR) this.#bare = true;
        }
      }
      if (lf < 0) {
        this.#lineLen += n - i;
        // Already past the limit even before its line end arrives.
        if (this.#lineLen > this.#maxLine) this.#long = true;
        break;
      }
      // RFC 5321 §4.5.3.1.6: the limit counts the CRLF.
      if (this.#lineLen + (lf + 1 - i) > this.#maxLine) this.#long = true;
      this.#lineLen = 0;
      i = lf + 1;
    }
    this.#pendingCR = chunk[n - 1] === CR;
  }

  /** Call at the end of the content: a trailing CR is a bare CR. */
  finish(): void {
    if (this.#pendingCR) this.#bare = true;
    this.#pendingCR = false;
    if (this.#lineLen > this.#maxLine) this.#long = true;
  }
}
