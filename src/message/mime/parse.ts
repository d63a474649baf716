// The MIME structure of a whole message (RFC 5322 + RFC 2045/2046): header
// fields, Content-* fields, multipart bodies split at their boundaries
// (RFC 2046 §5.1.1: a delimiter is "--boundary" at the start of a line, the
// line ending before it belongs to it, "--boundary--" closes, text before the
// first delimiter is the preamble and after the close the epilogue), and
// message/rfc822 / message/global bodies parsed as messages of their own
// (RFC 2046 §5.2.1, RFC 6532 §3.7). Every part gets byte offsets so IMAP
// BODY[section] is an exact slice. Input may use CRLF or bare LF. Limits
// (depth, parts, header fields/bytes) stop the descent, never the parse:
// malformed input always yields a best-effort tree. Pure; never throws.

import { readHeader, findField, fieldValue } from './header.ts';
import type { HeaderField } from './header.ts';
import { parseParamValue } from './params.ts';
import { parseAddressList } from './address.ts';
import type { Address } from './address.ts';
import { isIdentityEncoding } from './transfer-encoding.ts';
import type { Envelope, MimeLimits, PartSummary } from './types.ts';
import { DEFAULT_MIME_LIMITS } from './types.ts';

export interface ParsedMessage {
  /** The top-level entity: its header is the message header. */
  body: PartSummary;
  envelope: Envelope;
  /** The top-level header fields with their offsets. */
  fields: HeaderField[];
  /** A limit stopped the descent somewhere. */
  truncated: boolean;
}

interface Ctx {
  buf: Buffer;
  limits: MimeLimits;
  parts: number;
  truncated: boolean;
}

const LF = 0x0a;
const CR = 0x0d;

/** RFC 3501 body-fld-lines: line endings in the body, plus an unterminated last line. */
export function countLines(buf: Uint8Array, start: number, end: number): number {
  let n = 0;
  let i = buf.indexOf(LF, start);
  while (i >= 0 && i < end) {
    n++;
    i = buf.indexOf(LF, i + 1);
  }
  if (end > start && buf[end - 1] !== LF) n++;
  return n;
}

function addresses(buf: Uint8Array, fields: HeaderField[], name: string): Address[] | null {
  const f = findField(fields, name);
  if (f === undefined) return null;
  const list = parseAddressList(fieldValue(buf, f));
  return list.length === 0 ? null : list;
}

function rawValue(buf: Uint8Array, fields: HeaderField[], name: string): string | null {
  const f = findField(fields, name);
  return f === undefined ? null : fieldValue(buf, f);
}

/** RFC 9051 §7.5.2 ENVELOPE from a header. */
export function envelopeOf(buf: Uint8Array, fields: HeaderField[]): Envelope {
  const from = addresses(buf, fields, 'from');
  return {
    date: rawValue(buf, fields, 'date'),
    subject: rawValue(buf, fields, 'subject'),
    from,
    sender: addresses(buf, fields, 'sender') ?? from,
    replyTo: addresses(buf, fields, 'reply-to') ?? from,
    to: addresses(buf, fields, 'to'),
    cc: addresses(buf, fields, 'cc'),
    bcc: addresses(buf, fields, 'bcc'),
    inReplyTo: rawValue(buf, fields, 'in-reply-to'),
    messageId: rawValue(buf, fields, 'message-id'),
  };
}

/** Is buf[i..] "--boundary" followed by "--", or only whitespace, to the line end? */
function delimiterAt(buf: Uint8Array, i: number, end: number, delim: Uint8Array): 'open' | 'close' | null {
  let j = i + delim.length;
  if (j + 2 <= end && buf[j] === 0x2d && buf[j + 1] === 0x2d) return 'close';
  while (j < end && (buf[j] === 0x20 || buf[j] === 0x09 || buf[j] === CR)) j++;
  return j >= end || buf[j] === LF ? 'open' : null;
}

/** RFC 2046 §5.1.1: the body parts' [start, end) ranges inside a multipart body. */
export function splitMultipart(buf: Buffer, start: number, end: number, boundary: string, maxParts: number): [number, number][] {
  const delim = Buffer.from('--' + boundary, 'utf8');
  const ranges: [number, number][] = [];
  let partStart = -1;
  let pos = start;
  while (pos < end) {
    const i = buf.indexOf(delim, pos);
    if (i < 0 || i + delim.length > end) break;
    if (i !== start && buf[i - 1] !== LF) {
      pos = i + 1;
      continue;
    }
    const kind = delimiterAt(buf, i, end, delim);
    if (kind === null) {
      pos = i + 1;
      continue;
    }
    if (partStart >= 0) {
      // The line ending before the delimiter belongs to the delimiter.
      let before = i;
      if (before > partStart && buf[before - 1] === LF) before--;
      if (before > partStart && buf[before - 1] === CR) before--;
      ranges.push([partStart, before]);
      if (ranges.length >= maxParts) return ranges;
    }
    if (kind === 'close') return ranges;
    let lf = buf.indexOf(LF, i + delim.length);
    if (lf < 0 || lf >= end) lf = end - 1;
    partStart = lf + 1;
    pos = partStart;
  }
  // No close delimiter: the last part runs to the end.
  if (partStart >= 0 && partStart <= end) ranges.push([partStart, end]);
  return ranges;
}

function parseEntity(ctx: Ctx, start: number, end: number, depth: number, digest: boolean): { part: PartSummary; fields: HeaderField[] } {
  const { buf, limits } = ctx;
  ctx.parts++;
  const hb = readHeader(buf, start, end, limits.maxHeaderFields, limits.maxHeaderBytes);
  const fields = hb.fields;
  const bodyStart = hb.bodyStart;
  let type = digest ? 'message' : 'text';
  let subtype = digest ? 'rfc822' : 'plain';
  let params: PartSummary['params'] = digest ? [] : [['charset', 'us-ascii']];
  let boundary: string | null = null;
  const ctField = findField(fields, 'content-type');
  if (ctField !== undefined) {
    const ct = parseParamValue(fieldValue(buf, ctField));
    // RFC 2045 §5.2: a syntactically invalid Content-Type means the default.
    if (ct.type !== '' && ct.subtype !== null && /^[\x21-\x7e]+$/.test(ct.type + ct.subtype)) {
      type = ct.type;
      subtype = ct.subtype;
      params = ct.params;
      for (const [n, v] of ct.params) if (n === 'boundary') boundary = v;
    }
  }
  const cte = rawValue(buf, fields, 'content-transfer-encoding');
  const encoding = cte === null || cte === '' ? '7BIT' : (cte.split(/[\s;(]/)[0] || '7BIT').toUpperCase();
  const dispField = rawValue(buf, fields, 'content-disposition');
  let disposition: PartSummary['disposition'] = null;
  if (dispField !== null) {
    const d = parseParamValue(dispField);
    if (d.type !== '') disposition = { type: d.type, params: d.params };
  }
  const langField = rawValue(buf, fields, 'content-language');
  const language = langField === null ? null : langField.replace(/\([^)]*\)/g, ' ').split(/[\s,]+/).filter((t) => t !== '').slice(0, 32);
  const location = rawValue(buf, fields, 'content-location');
  const part: PartSummary = {
    headerStart: start,
    bodyStart,
    end,
    type,
    subtype,
    params,
    id: rawValue(buf, fields, 'content-id'),
    description: rawValue(buf, fields, 'content-description'),
    encoding,
    size: end - bodyStart,
    md5: rawValue(buf, fields, 'content-md5'),
    disposition,
    language: language === null || language.length === 0 ? null : language,
    location: location === null ? null : location.replace(/\s+/g, ''),
  };
  if (type === 'multipart') {
    part.parts = [];
    if (boundary !== null && boundary !== '' && boundary.length <= 200) {
      if (depth >= limits.maxDepth || ctx.parts >= limits.maxParts) ctx.truncated = true;
      else {
        const ranges = splitMultipart(buf, bodyStart, end, boundary, limits.maxParts);
        for (const [s, e] of ranges) {
          if (ctx.parts >= limits.maxParts) {
            ctx.truncated = true;
            break;
          }
          part.parts.push(parseEntity(ctx, s, e, depth + 1, subtype === 'digest').part);
        }
      }
    }
  } else if (type === 'message' && (subtype === 'rfc822' || subtype === 'global')) {
    part.lines = countLines(buf, bodyStart, end);
    // RFC 2046 §5.2.1: only the identity encodings may wrap a message; an
    // encoded one stays an opaque leaf.
    if (isIdentityEncoding(encoding)) {
      if (depth >= limits.maxDepth || ctx.parts >= limits.maxParts) ctx.truncated = true;
      else {
        const inner = parseEntity(ctx, bodyStart, end, depth + 1, false);
        part.message = { envelope: envelopeOf(buf, inner.fields), body: inner.part };
      }
    }
  } else if (type === 'text') {
    part.lines = countLines(buf, bodyStart, end);
  }
  return { part, fields };
}

/** Parse a whole message. Never throws; offsets are within [0, buf.length]. */
export function parseMessage(buf: Uint8Array, limits: Partial<MimeLimits> = {}): ParsedMessage {
  const b = Buffer.isBuffer(buf) ? buf : Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  const ctx: Ctx = { buf: b, limits: { ...DEFAULT_MIME_LIMITS, ...limits }, parts: 0, truncated: false };
  const { part, fields } = parseEntity(ctx, 0, buf.length, 0, false);
  return { body: part, envelope: envelopeOf(b, fields), fields, truncated: ctx.truncated };
}
