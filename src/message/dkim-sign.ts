// DKIM signing (RFC 6376) with rsa-sha256 and ed25519-sha256 (RFC 8463),
// relaxed/relaxed canonicalization, over a message held in pieces (no copy of
// the whole message). Pure apart from node:crypto: the caller passes the keys
// and the time, and gets back the `DKIM-Signature:` fields to prepend.
//
// Why not mailauth's dkimSign: it lists in h= only the fields present, so it
// cannot oversign (RFC 6376 §5.4.2: naming a field once more than it occurs,
// so that nobody can add one later without breaking the signature, e.g. a
// second From:). mailauth verifies what this signs, in the tests.
//
// Which fields are signed (RFC 6376 §5.4.1 recommendations): every instance
// present of SIGNED_FIELDS, and OVERSIGNED_FIELDS once more than present.

import { createHash, createPrivateKey, sign, type KeyObject } from 'node:crypto';

export type DkimSignAlgorithm = 'rsa-sha256' | 'ed25519-sha256';

export interface DkimSigningKey {
  /** The `d=` domain (A-labels). */
  domain: string;
  selector: string;
  algorithm: DkimSignAlgorithm;
  /** PKCS#8 PEM, or a KeyObject already parsed (cheaper per message). */
  privateKey: string | KeyObject;
}

export interface DkimSignOptions {
  /** The `t=` time (RFC 6376 §3.5). */
  now: Date;
  /** Field names to sign when present (case-insensitive). */
  signed?: readonly string[];
  /** Field names signed once more than they occur (RFC 6376 §5.4.2). */
  oversigned?: readonly string[];
  /** Yield to the event loop after hashing this many body bytes (default 1 MiB). */
  yieldEvery?: number;
}

/** RFC 6376 §5.4.1: fields that carry the message's meaning. */
export const SIGNED_FIELDS: readonly string[] = [
  'from', 'reply-to', 'sender', 'subject', 'date', 'message-id', 'to', 'cc',
  'mime-version', 'content-type', 'content-transfer-encoding', 'content-id', 'content-description',
  'resent-date', 'resent-from', 'resent-sender', 'resent-to', 'resent-cc', 'resent-message-id',
  'in-reply-to', 'references',
  'list-id', 'list-help', 'list-unsubscribe', 'list-unsubscribe-post', 'list-subscribe', 'list-post', 'list-owner', 'list-archive',
];

/** Fields a forger would most like to add or replace (RFC 6376 §8.15). */
export const OVERSIGNED_FIELDS: readonly string[] = ['from', 'reply-to', 'subject', 'date', 'message-id', 'to', 'cc', 'mime-version', 'content-type'];

export type DkimSignResult =
  | { ok: true; /** `DKIM-Signature:` fields, each CRLF-terminated, one per key. */ header: string }
  | { ok: false; reason: string };

/** Signs `pieces` (the whole message, CRLF line ends) with each key. */
export async function dkimSign(pieces: readonly Buffer[], keys: readonly DkimSigningKey[], opts: DkimSignOptions): Promise<DkimSignResult> {
  if (keys.length === 0) return { ok: false, reason: 'no signing key' };
  const { header, body } = splitMessage(pieces);
  const fields = parseHeaderFields(header);
  // RFC 6376 §5.4: the From field MUST be signed; without exactly one From there is no author to vouch for (RFC 5322 §3.6).
  const froms = fields.filter((f) => f.name === 'from').length;
  if (froms !== 1) return { ok: false, reason: froms === 0 ? 'the message has no From field' : 'the message has more than one From field' };
  const bh = await bodyHashRelaxed(body, opts.yieldEvery ?? 1 << 20);
  const h = headerList(fields, opts.signed ?? SIGNED_FIELDS, opts.oversigned ?? OVERSIGNED_FIELDS);
  let out = '';
  for (const key of keys) {
    const tags = [
      'v=1',
      `a=${key.algorithm}`,
      'c=relaxed/relaxed',
      `d=${key.domain}`,
      `s=${key.selector}`,
      `t=${Math.floor(opts.now.getTime() / 1000)}`,
      `h=${h.join(':')}`,
      `bh=${bh}`,
    ];
    const unsigned = foldTags('DKIM-Signature:', tags) + ' b=';
    out += (await signedField(unsigned, fields, h, key)) + '\r\n';
  }
  return { ok: true, header: out };
}

/** Signs a DKIM-Signature field written up to its empty `b=` (which must come
 * last) over `fields` with the list `h`, and returns the field with b= filled
 * in (folded, no final CRLF). Exported for the RFC 8463 test vector. */
export async function signedField(unsignedField: string, fields: readonly HeaderFieldText[], h: readonly string[], key: DkimSigningKey): Promise<string> {
  if (!/b=$/.test(unsignedField)) throw new Error('the DKIM-Signature field must end with an empty b= tag');
  // RFC 6376 §3.7: the selected fields in h= order (canonicalized), then the
  // DKIM-Signature field itself with b= empty and no final CRLF.
  const data = canonicalHeaders(fields, h) + relaxedField(unsignedField);
  const pk = typeof key.privateKey === 'string' ? createPrivateKey(key.privateKey) : key.privateKey;
  // The private-key operation runs on libuv's thread pool (crypto.sign with a
  // callback), not on the event loop: an RSA-2048 signature takes about 0.5 ms.
  const signature = await new Promise<Buffer>((resolve, reject) => {
    const done = (err: Error | null, sig: Buffer) => (err ? reject(err) : resolve(sig));
    if (key.algorithm === 'rsa-sha256') sign('sha256', Buffer.from(data, 'latin1'), pk, done);
    // RFC 8463 §3: Ed25519 (pure) over the SHA-256 hash of the same data.
    else sign(null, createHash('sha256').update(data, 'latin1').digest(), pk, done);
  });
  return unsignedField + foldBase64(signature.toString('base64'), lastLineLength(unsignedField));
}

// ---- Message structure

/** A header field as latin1 text (bytes kept one-to-one): name lower-cased, raw field with folding, no final CRLF. */
export interface HeaderFieldText {
  name: string;
  raw: string;
}

/** Splits at the first empty line (RFC 5322 §2.1); without one, everything is
 * header. Searches the bytes, so only the header section becomes a string. */
export function splitMessage(pieces: readonly Buffer[]): { header: string; body: Buffer[] } {
  if (byteAt(pieces, 0) === 0x0d && byteAt(pieces, 1) === 0x0a) return { header: '', body: [...cut(pieces, 2)] };
  let before = 0; // bytes in the pieces before piece i
  let tail: Buffer = Buffer.alloc(0); // up to 3 bytes before piece i, for a CRLFCRLF across pieces
  for (let i = 0; i < pieces.length; i++) {
    const p = pieces[i]!;
    const window = tail.length > 0 ? Buffer.concat([tail, p]) : p;
    const at = window.indexOf('\r\n\r\n');
    if (at >= 0) {
      const end = before - tail.length + at; // offset of the empty line's CRLF CRLF
      return { header: Buffer.concat([...cutBefore(pieces, end + 2)]).toString('latin1'), body: [...cut(pieces, end + 4)] };
    }
    before += p.length;
    tail = window.subarray(Math.max(0, window.length - 3));
  }
  return { header: Buffer.concat(pieces as Buffer[]).toString('latin1'), body: [] };
}

function byteAt(pieces: readonly Buffer[], at: number): number | undefined {
  for (const p of pieces) {
    if (at < p.length) return p[at];
    at -= p.length;
  }
  return undefined;
}

/** The pieces from byte offset `from` on (sharing memory). */
function* cut(pieces: readonly Buffer[], from: number): Generator<Buffer> {
  let pos = 0;
  for (const p of pieces) {
    if (pos + p.length > from) yield from > pos ? p.subarray(from - pos) : p;
    pos += p.length;
  }
}

/** The pieces up to byte offset `to`. */
function* cutBefore(pieces: readonly Buffer[], to: number): Generator<Buffer> {
  let pos = 0;
  for (const p of pieces) {
    if (pos >= to) return;
    yield pos + p.length > to ? p.subarray(0, to - pos) : p;
    pos += p.length;
  }
}

/** The fields of a header section, in order. A line that is neither a field
 * nor a continuation is skipped (it cannot be selected by any h= name). */
export function parseHeaderFields(header: string): HeaderFieldText[] {
  const out: HeaderFieldText[] = [];
  const lines = header.split('\r\n');
  if (lines[lines.length - 1] === '') lines.pop();
  for (const line of lines) {
    if ((line.startsWith(' ') || line.startsWith('\t')) && out.length > 0) {
      out[out.length - 1]!.raw += '\r\n' + line;
      continue;
    }
    const colon = line.indexOf(':');
    const name = colon > 0 ? line.slice(0, colon).replace(/[ \t]+$/, '') : '';
    // RFC 5322 §3.6.8: field-name = 1*ftext (printable ASCII but ':').
    if (!/^[!-9;-~]+$/.test(name)) continue;
    out.push({ name: name.toLowerCase(), raw: line });
  }
  return out;
}

/** The h= list: each present instance of a signed name, plus one null
 * instance of each oversigned name (RFC 6376 §5.4.2). From first. */
function headerList(fields: readonly HeaderFieldText[], signed: readonly string[], oversigned: readonly string[]): string[] {
  const over = new Set(oversigned.map((n) => n.toLowerCase()));
  const names = [...new Set(['from', ...signed.map((n) => n.toLowerCase()), ...over])];
  const h: string[] = [];
  for (const n of names) {
    const count = fields.filter((f) => f.name === n).length;
    for (let i = 0; i < count + (over.has(n) ? 1 : 0); i++) h.push(n);
  }
  return h;
}

/** RFC 6376 §5.4.2: for each h= name the last instance not yet used, from the
 * bottom up; a name with no instance left contributes nothing. */
function canonicalHeaders(fields: readonly HeaderFieldText[], h: readonly string[]): string {
  const used = new Set<number>();
  let out = '';
  for (const name of h) {
    const n = name.trim().toLowerCase();
    for (let i = fields.length - 1; i >= 0; i--) {
      if (used.has(i) || fields[i]!.name !== n) continue;
      used.add(i);
      out += relaxedField(fields[i]!.raw) + '\r\n';
      break;
    }
  }
  return out;
}

/** RFC 6376 §3.4.2 relaxed header canonicalization of one field (no CRLF). */
export function relaxedField(raw: string): string {
  const colon = raw.indexOf(':');
  const name = raw.slice(0, colon).replace(/[ \t]+$/, '').toLowerCase();
  const value = raw
    .slice(colon + 1)
    .replace(/\r\n(?=[ \t])/g, '')
    .replace(/[ \t]+/g, ' ')
    .replace(/^ | $/g, '');
  return `${name}:${value}`;
}

/** RFC 6376 §3.4.4 relaxed body canonicalization, hashed with SHA-256 (base64):
 * runs of WSP become one SP, WSP at line ends goes, empty lines at the end go.
 * One pass over the bytes of the complete lines of each piece (the last
 * partial line is carried over), yielding to the event loop between pieces. */
export async function bodyHashRelaxed(body: readonly Buffer[], yieldEvery = 1 << 20): Promise<string> {
  const hash = createHash('sha256');
  let carry: Buffer = Buffer.alloc(0);
  // Empty lines seen but not yet written: they count only if a non-empty line follows.
  let pending = 0;
  let since = 0;
  const lines = (region: Buffer): void => {
    // Most bodies (base64, quoted-printable, plain prose) have nothing to change.
    const out = region.includes('\t') || region.includes('  ') || region.includes(' \r\n') ? relaxLines(region) : region;
    // The region ends with CRLF: count the empty lines at its end.
    let j = out.length;
    let removed = 0;
    while (j >= 2 && out[j - 2] === 0x0d && out[j - 1] === 0x0a) {
      j -= 2;
      removed++;
    }
    if (j === 0) {
      pending += removed;
      return;
    }
    if (pending > 0) hash.update('\r\n'.repeat(pending));
    hash.update(out.subarray(0, j + 2));
    pending = removed - 1;
  };
  for (const piece of body) {
    const text = carry.length > 0 ? Buffer.concat([carry, piece]) : piece;
    const end = text.lastIndexOf('\r\n');
    if (end < 0) {
      carry = text;
    } else {
      lines(text.subarray(0, end + 2));
      carry = text.subarray(end + 2);
    }
    since += piece.length;
    if (since >= yieldEvery) {
      since = 0;
      await new Promise((r) => setImmediate(r));
    }
  }
  // A last line without CRLF still counts; the CRLF is added (§3.4.4).
  if (carry.length > 0) lines(Buffer.concat([carry, Buffer.from('\r\n')]));
  return hash.digest('base64');
}

/** WSP runs → one SP, WSP before CRLF dropped, over whole lines (one pass over the bytes). */
function relaxLines(region: Buffer): Buffer {
  const out = Buffer.allocUnsafe(region.length);
  let o = 0;
  let ws = false;
  const n = region.length;
  for (let i = 0; i < n; i++) {
    const c = region[i]!;
    if (c === 0x20 || c === 0x09) {
      ws = true;
      continue;
    }
    if (c === 0x0d && region[i + 1] === 0x0a) {
      // WSP before a line end is dropped.
      ws = false;
      out[o++] = 0x0d;
      out[o++] = 0x0a;
      i++;
      continue;
    }
    if (ws) {
      out[o++] = 0x20;
      ws = false;
    }
    out[o++] = c;
  }
  return out.subarray(0, o);
}

// ---- Folding (RFC 5322 §2.2.3: lines of at most 78 characters where possible)

const WIDTH = 76;

/** `name tag; tag; …;` folded between tags (and inside h= at colons). */
function foldTags(name: string, tags: readonly string[]): string {
  let out = name;
  let col = name.length;
  const put = (word: string, sep: string): void => {
    if (col + 1 + word.length > WIDTH) {
      out += '\r\n ' + word;
      col = 1 + word.length;
    } else {
      out += sep + word;
      col += sep.length + word.length;
    }
  };
  for (const tag of tags) {
    if (tag.startsWith('h=') && tag.length > WIDTH - 10) {
      const parts = tag.split(':');
      parts.forEach((p, i) => put(p + (i < parts.length - 1 ? ':' : ';'), i === 0 ? ' ' : ''));
      continue;
    }
    put(tag + ';', ' ');
  }
  return out;
}

/** The b= value folded with CRLF SP (whitespace inside b= is ignored, RFC 6376 §3.5). */
function foldBase64(b64: string, startCol: number): string {
  let out = '';
  let i = 0;
  let room = Math.max(8, WIDTH - startCol);
  while (i < b64.length) {
    if (i > 0) out += '\r\n ';
    out += b64.slice(i, i + room);
    i += room;
    room = WIDTH - 1;
  }
  return out;
}

function lastLineLength(s: string): number {
  return s.length - (s.lastIndexOf('\n') + 1);
}
