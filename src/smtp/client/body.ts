// The message bytes as they go on the wire. prepareBody makes every line end
// in CRLF (a bare CR or LF becomes CRLF: DESIGN convention 6, we never emit
// them when relaying) and a non-empty message end with CRLF, and notes whether
// any byte is 8-bit; chunks that need no change are passed through uncopied.
// dataBody adds the DATA transparency dots (RFC 5321 §4.5.2: a line starting
// with "." gets another) and the CRLF.CRLF terminator (§4.1.1.4), yielding
// slices of the input rather than copying it. BDAT sends prepareBody's output
// as is (RFC 3030 §2: no dot-stuffing). Pure.

const CR = 0x0d;
const LF = 0x0a;
const DOT = 0x2e;
const CRLF = Buffer.from('\r\n');

export interface PreparedBody {
  chunks: Buffer[];
  /** Octets after normalization (what SIZE= declares, RFC 1870 §3). */
  size: number;
  /** Some octet is ≥ 0x80 (needs BODY=8BITMIME, RFC 6152). */
  eightBit: boolean;
  /** A bare CR or LF was turned into CRLF. */
  normalized: boolean;
}

export function prepareBody(content: Buffer | readonly Buffer[]): PreparedBody {
  const input = Buffer.isBuffer(content) ? [content] : content;
  const chunks: Buffer[] = [];
  let eightBit = false;
  let normalized = false;
  let pendingCR = false; // the previous chunk ended with a CR whose LF may start this one
  let last2 = [0, 0];
  for (const chunk of input) {
    if (chunk.length === 0) continue;
    let clean = !pendingCR || chunk[0] === LF;
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i];
      if (b >= 0x80) eightBit = true;
      else if (b === CR && i + 1 < chunk.length && chunk[i + 1] !== LF) clean = false;
      else if (b === LF && (i === 0 ? !pendingCR : chunk[i - 1] !== CR)) clean = false;
    }
    if (clean) {
      chunks.push(chunk);
      pendingCR = chunk[chunk.length - 1] === CR;
    } else {
      normalized = true;
      const out = Buffer.allocUnsafe(chunk.length * 2 + 2);
      let n = 0;
      let i = 0;
      if (pendingCR) {
        // The CR that ended the last chunk was bare: complete it here.
        if (chunk[0] === LF) i = 1;
        out[n++] = LF;
        pendingCR = false;
      }
      for (; i < chunk.length; i++) {
        const b = chunk[i];
        if (b === CR) {
          if (i + 1 === chunk.length) {
            out[n++] = CR; // decided by the next chunk
            pendingCR = true;
          } else {
            out[n++] = CR;
            out[n++] = LF;
            if (chunk[i + 1] === LF) i++;
          }
        } else if (b === LF) {
          out[n++] = CR;
          out[n++] = LF;
        } else out[n++] = b;
      }
      chunks.push(out.subarray(0, n));
    }
    const tail = chunks[chunks.length - 1];
    last2 = tail.length >= 2 ? [tail[tail.length - 2], tail[tail.length - 1]] : [last2[1], tail[0]];
  }
  let size = chunks.reduce((s, c) => s + c.length, 0);
  if (pendingCR) {
    chunks.push(Buffer.from([LF]));
    size += 1;
    normalized = true;
  } else if (size > 0 && !(last2[0] === CR && last2[1] === LF)) {
    // RFC 5322 §2.1 / RFC 5321 §4.1.1.4: the last line ends with CRLF too.
    chunks.push(CRLF);
    size += 2;
  }
  return { chunks, size, eightBit, normalized };
}

/** The DATA payload for prepared chunks: dot-stuffed, then ".\r\n" (the body already ends in CRLF). */
export function* dataBody(chunks: readonly Buffer[]): Generator<Buffer> {
  let atLineStart = true;
  for (const chunk of chunks) {
    let from = 0;
    for (let i = 0; i < chunk.length; i++) {
      if (chunk[i] === DOT && (i === 0 ? atLineStart : chunk[i - 1] === LF)) {
        // RFC 5321 §4.5.2: double a leading period.
        if (i > from) yield chunk.subarray(from, i);
        yield DOT_BUF;
        from = i;
      }
    }
    if (from < chunk.length) yield chunk.subarray(from);
    if (chunk.length > 0) atLineStart = chunk[chunk.length - 1] === LF;
  }
  yield END;
}

const DOT_BUF = Buffer.from('.');
const END = Buffer.from('.\r\n');
