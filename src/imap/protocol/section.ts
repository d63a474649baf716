// FETCH body sections (RFC 9051 §6.4.5, RFC 3501 §6.4.5) and BINARY
// (RFC 3516 / RFC 9051 §6.4.5) as exact byte slices of the stored message,
// using the part offsets in its MessageSummary:
//   - part numbers: a multipart's children count from 1; the body of a
//     message/rfc822 part is numbered like a message of its own; a
//     non-multipart message (or encapsulated message) has just part 1, its body;
//   - HEADER / TEXT / HEADER.FIELDS[.NOT] apply to the message itself or, after
//     a part number, to the message encapsulated in that message/rfc822 part;
//   - MIME is the header of the numbered part (a part number is required);
//   - HEADER.FIELDS keeps the matching field lines in their original order
//     (folding and line endings untouched) and ends with the blank line.
// BINARY decodes base64/quoted-printable; another encoding is reported as
// `unknown-cte` so the server answers NO [UNKNOWN-CTE]. Pure; never throws.
//
// API (stable):
//   parseSection(text, fields?)  "1.2.HEADER.FIELDS" + ["Subject"] → SectionSpec | null
//   sectionString(spec)          the section text for the response, "1.2.HEADER.FIELDS (Subject)"
//   resolvePart(summary, path)   → PartSummary | null
//   fetchSection(bytes, summary, spec, partial?) → Buffer | null (null: no such part)
//   fetchBinary(bytes, summary, path, partial?)  → { ok: true, bytes } | { ok: false, reason }
//   binarySize(bytes, summary, path)             → { ok: true, size } | { ok: false, reason }
//   applyPartial(bytes, partial)                 <offset.length> slice (RFC 9051 §6.4.5)

import type { MessageSummary, PartSummary } from '../../message/mime/types.ts';
import { readHeader } from '../../message/mime/header.ts';
import { decodeTransfer } from '../../message/mime/transfer-encoding.ts';
import { serializeAstring } from './quote.ts';

export type SectionText = 'HEADER' | 'HEADER.FIELDS' | 'HEADER.FIELDS.NOT' | 'TEXT' | 'MIME';

export interface SectionSpec {
  /** Part path, e.g. [1, 2] for "1.2"; [] for the whole message. */
  part: number[];
  /** The section-text, or null for the whole part (or whole message). */
  text: SectionText | null;
  /** Field names for HEADER.FIELDS and HEADER.FIELDS.NOT, as the client sent them. */
  fields?: string[];
}

export interface PartialRange {
  offset: number;
  length?: number;
}

export type BinaryResult = { ok: true; bytes: Buffer } | { ok: false; reason: 'no-part' | 'unknown-cte' };
export type BinarySizeResult = { ok: true; size: number } | { ok: false; reason: 'no-part' | 'unknown-cte' };

const TEXTS: SectionText[] = ['HEADER', 'HEADER.FIELDS', 'HEADER.FIELDS.NOT', 'TEXT', 'MIME'];

/**
 * Parse a section spec ("", "1.2", "HEADER", "1.2.MIME", "3.HEADER.FIELDS"),
 * with the field list for HEADER.FIELDS[.NOT]. Null when malformed (RFC 9051
 * §9: part numbers are nz-number; MIME needs a part; the field list needs at
 * least one name and only goes with HEADER.FIELDS[.NOT]).
 */
export function parseSection(text: string, fields?: string[]): SectionSpec | null {
  const part: number[] = [];
  let rest = text;
  for (;;) {
    const m = /^([1-9][0-9]{0,9})(\.|$)/.exec(rest);
    if (m === null) break;
    const n = Number(m[1]);
    if (n > 0xffffffff || part.length >= 64) return null;
    part.push(n);
    rest = rest.slice(m[0].length);
    if (m[2] === '') break;
    if (rest === '') return null; // "1." has nothing after the dot
  }
  if (rest === '') {
    if (fields !== undefined) return null;
    return { part, text: null };
  }
  const t = rest.toUpperCase() as SectionText;
  if (!TEXTS.includes(t)) return null;
  if (t === 'MIME' && part.length === 0) return null;
  const wantsFields = t === 'HEADER.FIELDS' || t === 'HEADER.FIELDS.NOT';
  if (wantsFields !== (fields !== undefined)) return null;
  if (wantsFields) {
    if (fields!.length === 0 || fields!.some((f) => f === '' || /[\x00-\x20\x7f:]/.test(f))) return null;
    return { part, text: t, fields: [...fields!] };
  }
  return { part, text: t };
}

/** The section as it goes back in the FETCH response, e.g. `1.HEADER.FIELDS (Subject From)`. */
export function sectionString(spec: SectionSpec): string {
  const parts = spec.part.join('.');
  if (spec.text === null) return parts;
  let s = parts === '' ? spec.text : `${parts}.${spec.text}`;
  if (spec.fields !== undefined) s += ` (${spec.fields.map((f) => serializeAstring(f)).join(' ')})`;
  return s;
}

/** Follow a part path (RFC 9051 §6.4.5 part numbering); null when there is no such part. */
export function resolvePart(summary: MessageSummary, path: number[]): PartSummary | null {
  let cur: PartSummary | null = null;
  for (const n of path) {
    if (cur !== null && cur.parts !== undefined) {
      cur = cur.parts[n - 1] ?? null;
    } else {
      // The top level, or an encapsulated message: its body is numbered.
      const base: PartSummary | undefined = cur === null ? summary.body : cur.message?.body;
      if (base === undefined) return null;
      if (base.parts !== undefined) cur = base.parts[n - 1] ?? null;
      else cur = n === 1 ? base : null;
    }
    if (cur === null) return null;
  }
  return cur;
}

/** RFC 9051 §6.4.5 <partial>: octets from `offset`, at most `length`; empty past the end. */
export function applyPartial(bytes: Buffer, partial?: PartialRange): Buffer {
  if (partial === undefined) return bytes;
  const start = Math.min(Math.max(0, partial.offset), bytes.length);
  const end = partial.length === undefined ? bytes.length : Math.min(bytes.length, start + Math.max(0, partial.length));
  return bytes.subarray(start, end);
}

function headerFields(buf: Buffer, start: number, end: number, names: string[], not: boolean): Buffer {
  const want = new Set(names.map((n) => n.toLowerCase()));
  const hb = readHeader(buf, start, end, 100_000, Number.MAX_SAFE_INTEGER);
  const chunks: Buffer[] = [];
  for (const f of hb.fields) {
    if (f.name === '') continue;
    if (want.has(f.name.toLowerCase()) !== not) chunks.push(buf.subarray(f.start, f.end));
  }
  // A last field without a line ending still gets one before the blank line.
  const last = chunks[chunks.length - 1];
  if (last !== undefined && last.length > 0 && last[last.length - 1] !== 0x0a) chunks.push(Buffer.from('\r\n'));
  chunks.push(Buffer.from('\r\n'));
  return Buffer.concat(chunks);
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * The octets of BODY[section]<partial>. Null when the part does not exist.
 * HEADER/TEXT on a part that is not message/rfc822 give an empty result.
 */
export function fetchSection(bytes: Uint8Array, summary: MessageSummary, spec: SectionSpec, partial?: PartialRange): Buffer | null {
  const buf = asBuffer(bytes);
  let out: Buffer;
  if (spec.part.length === 0) {
    const top = summary.body;
    if (spec.text === null) out = buf;
    else if (spec.text === 'TEXT') out = buf.subarray(top.bodyStart, top.end);
    else if (spec.text === 'HEADER') out = buf.subarray(top.headerStart, top.bodyStart);
    else if (spec.text === 'MIME') return null;
    else out = headerFields(buf, top.headerStart, top.bodyStart, spec.fields ?? [], spec.text === 'HEADER.FIELDS.NOT');
    return applyPartial(out, partial);
  }
  const part = resolvePart(summary, spec.part);
  if (part === null) return null;
  if (spec.text === null) out = buf.subarray(part.bodyStart, part.end);
  else if (spec.text === 'MIME') out = buf.subarray(part.headerStart, part.bodyStart);
  else {
    const msg = part.message?.body;
    if (msg === undefined) out = Buffer.alloc(0);
    else if (spec.text === 'TEXT') out = buf.subarray(msg.bodyStart, msg.end);
    else if (spec.text === 'HEADER') out = buf.subarray(msg.headerStart, msg.bodyStart);
    else out = headerFields(buf, msg.headerStart, msg.bodyStart, spec.fields ?? [], spec.text === 'HEADER.FIELDS.NOT');
  }
  return applyPartial(out, partial);
}

function decodedPart(buf: Buffer, summary: MessageSummary, path: number[]): BinaryResult {
  if (path.length === 0) return { ok: true, bytes: buf };
  const part = resolvePart(summary, path);
  if (part === null) return { ok: false, reason: 'no-part' };
  const body = buf.subarray(part.bodyStart, part.end);
  if (part.parts !== undefined || part.message !== undefined) return { ok: true, bytes: body };
  const decoded = decodeTransfer(body, part.encoding);
  return decoded === null ? { ok: false, reason: 'unknown-cte' } : { ok: true, bytes: decoded };
}

/** RFC 3516 BINARY[part]<partial>: the part's body with its transfer encoding removed. */
export function fetchBinary(bytes: Uint8Array, summary: MessageSummary, path: number[], partial?: PartialRange): BinaryResult {
  const r = decodedPart(asBuffer(bytes), summary, path);
  return r.ok ? { ok: true, bytes: applyPartial(r.bytes, partial) } : r;
}

/** RFC 3516 BINARY.SIZE[part]: the decoded size in octets. */
export function binarySize(bytes: Uint8Array, summary: MessageSummary, path: number[]): BinarySizeResult {
  const r = decodedPart(asBuffer(bytes), summary, path);
  return r.ok ? { ok: true, size: r.bytes.length } : r;
}
