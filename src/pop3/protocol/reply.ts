/**
 * POP3 replies and multi-line bodies (pure).
 *
 * Status lines are "+OK text" / "-ERR text" (RFC 1939 §3), optionally with an
 * extended response code in brackets (RFC 2449 §8: IN-USE, LOGIN-DELAY;
 * RFC 3206: SYS/TEMP, SYS/PERM, AUTH). Text never carries CR or LF: any line
 * break in the input is folded to a space. Multi-line responses are
 * byte-stuffed (a line beginning with "." gets another ".") and terminated by
 * CRLF "." CRLF (RFC 1939 §3). `topLines` implements TOP's selection of the
 * header, the blank line and the first n body lines (RFC 1939 §7).
 */

export type ResponseCode = 'IN-USE' | 'AUTH' | 'SYS/TEMP' | 'SYS/PERM' | 'LOGIN-DELAY';

const CRLF = Buffer.from('\r\n');
const TERMINATOR = Buffer.from('.\r\n');
const CRLF_TERMINATOR = Buffer.from('\r\n.\r\n');
const DOT = 0x2e;

/** Remove CR/LF/NUL from reply text so a reply is always exactly one line. */
export function sanitize(text: string): string {
  return text.replace(/[\r\n\0]+/g, ' ');
}

export function ok(text = ''): string {
  const t = sanitize(text);
  return t.length > 0 ? `+OK ${t}\r\n` : '+OK\r\n';
}

export function err(text = '', code?: ResponseCode): string {
  const t = sanitize(text);
  const parts = ['-ERR'];
  if (code !== undefined) parts.push(`[${code}]`);
  if (t.length > 0) parts.push(t);
  return parts.join(' ') + '\r\n';
}

/** A SASL server challenge (RFC 5034 §4): "+ base64". */
export function challenge(base64: string): string {
  return `+ ${sanitize(base64)}\r\n`;
}

/**
 * A small multi-line listing (LIST, UIDL, CAPA): each line sanitised and
 * byte-stuffed, then the terminator. The status line is sent separately.
 */
export function multiline(lines: readonly string[]): string {
  let out = '';
  for (const raw of lines) {
    const line = sanitize(raw);
    out += (line.startsWith('.') ? '.' : '') + line + '\r\n';
  }
  return out + '.\r\n';
}

/**
 * Byte-stuff a CRLF message and append the terminator (RFC 1939 §3). Returns
 * slices of `content` interleaved with small constant buffers, so the message
 * is not copied; write the pieces in order. A message not ending in CRLF gets
 * one before the terminator.
 */
export function byteStuff(content: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let start = 0; // start of the not-yet-emitted region
  if (content.length > 0 && content[0] === DOT) {
    out.push(Buffer.from('.'));
  }
  // Find each CRLF followed by '.', emit up to and including the CRLF, then an extra '.'.
  let i = content.indexOf('\r\n.', 0);
  while (i !== -1) {
    const cut = i + 2;
    out.push(content.subarray(start, cut));
    out.push(Buffer.from('.'));
    start = cut;
    i = content.indexOf('\r\n.', cut);
  }
  if (start < content.length) out.push(content.subarray(start));
  const endsCrlf = content.length >= 2 && content[content.length - 2] === 0x0d && content[content.length - 1] === 0x0a;
  if (content.length === 0 || endsCrlf) out.push(TERMINATOR);
  else out.push(CRLF_TERMINATOR);
  return out;
}

/**
 * Reverse of `byteStuff` (used by tests and a future client): takes the full
 * multi-line body including the terminator and returns the content.
 */
export function unstuff(data: Buffer): Buffer {
  let body: Buffer;
  if (data.equals(TERMINATOR)) return Buffer.alloc(0);
  if (data.length >= 5 && data.subarray(data.length - 5).equals(CRLF_TERMINATOR)) {
    body = data.subarray(0, data.length - 3); // keep the final CRLF
  } else {
    throw new Error('missing terminator');
  }
  const parts: Buffer[] = [];
  let start = 0;
  if (body.length > 0 && body[0] === DOT) start = 1;
  let i = body.indexOf('\r\n.', start);
  while (i !== -1) {
    parts.push(body.subarray(start, i + 2));
    start = i + 3; // skip the stuffed dot
    i = body.indexOf('\r\n.', start);
  }
  parts.push(body.subarray(start));
  return Buffer.concat(parts);
}

/**
 * TOP (RFC 1939 §7): the header, the blank line after it, and the first `n`
 * lines of the body. Content is CRLF; a message with no blank line is all
 * header and is returned whole. Returns a view into `content` (no copy).
 */
export function topLines(content: Buffer, n: number): Buffer {
  let bodyStart: number;
  if (content.length >= 2 && content[0] === 0x0d && content[1] === 0x0a) {
    bodyStart = 2; // empty header
  } else {
    const sep = content.indexOf('\r\n\r\n');
    if (sep === -1) return content;
    bodyStart = sep + 4;
  }
  let end = bodyStart;
  const count = Math.max(0, Math.floor(n));
  for (let k = 0; k < count; k++) {
    if (end >= content.length) break;
    const eol = content.indexOf(CRLF, end);
    if (eol === -1) {
      end = content.length;
      break;
    }
    end = eol + 2;
  }
  return content.subarray(0, end);
}
