// Content-Transfer-Encoding decoding (RFC 2045 §6): base64 (§6.8, ignoring
// characters outside the alphabet and stopping at padding), quoted-printable
// (§6.7, soft line breaks, lenient about malformed escapes), and the identity
// encodings 7bit/8bit/binary. `decodeTransfer` returns null for an encoding it
// does not know, so IMAP BINARY can answer NO [UNKNOWN-CTE] (RFC 3516 §4.3).
// Pure; never throws.

/** RFC 2045 §6.1: the identity encodings. A missing header means 7bit. */
export function isIdentityEncoding(cte: string): boolean {
  const c = cte.trim().toLowerCase();
  return c === '' || c === '7bit' || c === '8bit' || c === 'binary';
}

const B64 = new Int16Array(256).fill(-1);
{
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  for (let i = 0; i < alphabet.length; i++) B64[alphabet.charCodeAt(i)] = i;
  // Lenient: URL-safe alphabet too.
  B64[0x2d] = 62;
  B64[0x5f] = 63;
}

/** RFC 2045 §6.8: characters outside the alphabet are ignored; '=' ends the data on its line. */
export function decodeBase64(input: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(Math.floor((input.length * 3) / 4) + 3);
  let o = 0;
  let acc = 0;
  let bits = 0;
  for (let i = 0; i < input.length; i++) {
    const c = input[i]!;
    if (c === 0x3d) {
      // Padding ends the data (RFC 2045 §6.8); what follows on the same line
      // is ignored. Encoded blocks on later lines (concatenated base64, seen
      // in the wild) carry on.
      acc = 0;
      bits = 0;
      while (i + 1 < input.length && input[i + 1] !== 0x0a) i++;
      continue;
    }
    const v = B64[c]!;
    if (v < 0) continue;
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >> bits) & 0xff;
      acc &= (1 << bits) - 1;
    }
  }
  return out.subarray(0, o);
}

function hexVal(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  return -1;
}

/**
 * RFC 2045 §6.7: "=XX" is an octet, "=" at the end of a line is a soft line
 * break, trailing whitespace on a line is dropped (rule 3). A malformed "="
 * is kept literally (§6.7 note: be robust).
 */
export function decodeQuotedPrintable(input: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(input.length);
  let o = 0;
  let i = 0;
  const n = input.length;
  while (i < n) {
    const c = input[i]!;
    if (c === 0x3d) {
      // Soft line break: "=" followed by optional whitespace then (CR)LF or end.
      let j = i + 1;
      while (j < n && (input[j] === 0x20 || input[j] === 0x09)) j++;
      if (j >= n) {
        i = j;
        continue;
      }
      if (input[j] === 0x0a) {
        i = j + 1;
        continue;
      }
      if (input[j] === 0x0d && (j + 1 >= n || input[j + 1] === 0x0a)) {
        i = j + 2;
        continue;
      }
      if (i + 2 < n) {
        const h = hexVal(input[i + 1]!);
        const l = hexVal(input[i + 2]!);
        if (h >= 0 && l >= 0) {
          out[o++] = (h << 4) | l;
          i += 3;
          continue;
        }
      }
      out[o++] = c;
      i++;
      continue;
    }
    if (c === 0x20 || c === 0x09) {
      // Trailing whitespace before a line end is transport padding (rule 3).
      let j = i;
      while (j < n && (input[j] === 0x20 || input[j] === 0x09)) j++;
      if (j >= n || input[j] === 0x0a || (input[j] === 0x0d && input[j + 1] === 0x0a)) {
        i = j;
        continue;
      }
      while (i < j) out[o++] = input[i++]!;
      continue;
    }
    out[o++] = c;
    i++;
  }
  return out.subarray(0, o);
}

/** Decode a body by its Content-Transfer-Encoding; null when the encoding is unknown. */
export function decodeTransfer(body: Uint8Array, cte: string): Buffer | null {
  const c = cte.trim().toLowerCase();
  if (isIdentityEncoding(c)) return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  if (c === 'base64') return decodeBase64(body);
  if (c === 'quoted-printable') return decodeQuotedPrintable(body);
  return null;
}
