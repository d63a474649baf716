// The MIME structure of a whole message (RFC 5322 + RFC 2045/2046): header
// fields, Content-* fields, multipart bodies split at their boundaries
// (RFC 2046 §5.1.1: a delimiter is "--boundary" at the start of a line, the
// line ending before it belongs to it, "--boundary--" closes, text before the
// first delimiter is the preamble and after the close the epilogue), and
// message/rfc822 / message/global bodies parsed as messages of their own
// (RFC 2046 §5.2.1, RFC 6532 §3.7). Broken nesting is resolved as Dovecot's
// message parser does (every enclosing boundary is watched, prefix match,
// longest wins; a header cut short by a delimiter has no body), and body line
// counts are Dovecot's, so BODYSTRUCTURE matches the reference server. Every
// part gets byte offsets so IMAP BODY[section] is an exact slice. Input may
// use CRLF or bare LF. Limits
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

/**
 * RFC 9051 body-fld-lines: the line endings in the body. A last line without
 * one (the CRLF before a boundary belongs to the boundary) is not counted,
 * as Dovecot counts, so our BODYSTRUCTURE matches the reference server's.
 */
export function countLines(buf: Uint8Array, start: number, end: number): number {
  let n = 0;
  let i = buf.indexOf(LF, start);
  while (i >= 0 && i < end) {
    n++;
    i = buf.indexOf(LF, i + 1);
  }
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

/** RFC 5322 §3.2.2 comments removed, in one pass (nested, with quoted-pairs). */
function withoutComments(s: string): string {
  let out = '';
  let depth = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (depth > 0 && c === '\\') i++;
    else if (c === '(') depth++;
    else if (c === ')' && depth > 0) {
      if (--depth === 0) out += ' ';
    } else if (depth === 0) out += c;
  }
  return out;
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

/** Where a delimiter line was found: its start, which boundary, and whether it closes. */
interface Stop {
  at: number;
  boundary: Buffer;
  close: boolean;
}

/**
 * The first line in buf[from, limit) that starts with "--" + one of the
 * boundaries in `stack` (innermost first). As in Dovecot's message parser, a
 * delimiter is recognised by prefix (what follows the boundary on the line is
 * ignored, except "--" which makes it a close delimiter), and when several
 * boundaries match, the longest wins (the innermost on a tie).
 */
function findDelimiter(buf: Buffer, from: number, limit: number, stack: Buffer[]): Stop | null {
  if (stack.length === 0) return null;
  let pos = from;
  while (pos < limit) {
    const i = buf.indexOf(DASHES, pos);
    if (i < 0 || i + 2 > limit) return null;
    if (i === from || buf[i - 1] === LF) {
      let best: Buffer | null = null;
      for (const b of stack) {
        const after = i + 2 + b.length;
        if ((best === null || b.length > best.length) && after <= limit && buf.compare(b, 0, b.length, i + 2, after) === 0) best = b;
      }
      if (best !== null) {
        const after = i + 2 + best.length;
        const close = after + 2 <= limit && buf[after] === 0x2d && buf[after + 1] === 0x2d;
        return { at: i, boundary: best, close };
      }
    }
    pos = i + 1;
  }
  return null;
}

const DASHES = Buffer.from('--');

/** The line ending before a delimiter belongs to it (RFC 2046 §5.1.1). */
function beforeDelimiter(buf: Buffer, at: number, floor: number): number {
  let e = at;
  if (e > floor && buf[e - 1] === LF) e--;
  if (e > floor && buf[e - 1] === CR) e--;
  return e;
}

/** Just after the delimiter line that starts at `at`. */
function afterLine(buf: Buffer, at: number, limit: number): number {
  const lf = buf.indexOf(LF, at);
  return lf < 0 || lf >= limit ? limit : lf + 1;
}

/** The [start, end) ranges of the parts of a multipart body with a simple boundary (no nesting). */
export function splitMultipart(buf: Buffer, start: number, end: number, boundary: string, maxParts: number): [number, number][] {
  const b = Buffer.from(boundary, 'utf8');
  const ranges: [number, number][] = [];
  let stop = findDelimiter(buf, start, end, [b]);
  while (stop !== null && !stop.close && ranges.length < maxParts) {
    const s = afterLine(buf, stop.at, end);
    const next = findDelimiter(buf, s, end, [b]);
    if (next === null) {
      if (s < end) ranges.push([s, end]);
      break;
    }
    ranges.push([s, Math.max(s, beforeDelimiter(buf, next.at, s))]);
    stop = next;
  }
  return ranges;
}

interface Entity {
  part: PartSummary;
  fields: HeaderField[];
  /** The delimiter line that ended this entity, or null when it ran to the limit. */
  stop: Stop | null;
}

/**
 * Parse the entity starting at `start`. It ends at `limit` or at the first
 * delimiter line of any enclosing multipart (`stack`, innermost first).
 */
function parseEntity(ctx: Ctx, start: number, limit: number, stack: Buffer[], depth: number, digest: boolean, known?: Stop | null): Entity {
  const { buf, limits } = ctx;
  ctx.parts++;
  // The header ends at the empty line, or where an enclosing delimiter cuts it
  // short. That first delimiter after `start` is also where a leaf ends, so it
  // is searched once (`known`: the caller already found it).
  const hStop = known !== undefined ? known : findDelimiter(buf, start, limit, stack);
  const hLimit = hStop === null ? limit : hStop.at;
  const hb = readHeader(buf, start, hLimit, limits.maxHeaderFields, limits.maxHeaderBytes);
  const fields = hb.fields;
  let bodyStart = hb.bodyStart;
  // A header cut short by an enclosing delimiter: the entity has no body
  // (and a multipart no parts, as in Dovecot).
  const cut = !hb.complete && hStop !== null;
  if (cut) bodyStart = Math.max(start, beforeDelimiter(buf, hStop.at, start));
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
      // RFC 2045 §5.2 / RFC 2046 §4.1.2: text without a charset is us-ascii;
      // BODYSTRUCTURE says so explicitly (as Dovecot does).
      if (type === 'text' && !params.some(([n]) => n === 'charset' || n === 'charset*')) params = [['charset', 'us-ascii'], ...params];
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
  const language = langField === null ? null : withoutComments(langField).split(/[\s,]+/).filter((t) => t !== '').slice(0, 32);
  const location = rawValue(buf, fields, 'content-location');
  const part: PartSummary = {
    headerStart: start,
    bodyStart,
    end: limit,
    type,
    subtype,
    params,
    id: rawValue(buf, fields, 'content-id'),
    description: rawValue(buf, fields, 'content-description'),
    encoding,
    size: 0,
    md5: rawValue(buf, fields, 'content-md5'),
    disposition,
    language: language === null || language.length === 0 ? null : language,
    location: location === null ? null : location.replace(/\s+/g, ''),
  };
  let stop: Stop | null = null;
  const endAt = (s: Stop | null): void => {
    stop = s;
    part.end = s === null ? limit : Math.max(bodyStart, beforeDelimiter(buf, s.at, bodyStart));
  };
  if (type === 'multipart') {
    part.parts = [];
    const usable = boundary !== null && boundary !== '' && boundary.length <= 200;
    if (!usable || cut || depth >= limits.maxDepth) {
      if (usable && !cut) ctx.truncated = true;
      endAt(hStop);
    } else {
      const own = Buffer.from(boundary!, 'utf8');
      const inner = [own, ...stack];
      let s = findDelimiter(buf, bodyStart, limit, inner);
      // Each delimiter of ours opens a part, until the close delimiter.
      while (s !== null && s.boundary === own && !s.close) {
        const partStart = afterLine(buf, s.at, limit);
        if (partStart >= limit) {
          s = null;
          break;
        }
        if (ctx.parts >= limits.maxParts) {
          ctx.truncated = true;
          s = findDelimiter(buf, partStart, limit, stack);
          break;
        }
        const child = parseEntity(ctx, partStart, limit, inner, depth + 1, subtype === 'digest');
        part.parts.push(child.part);
        s = child.stop;
      }
      if (s !== null && s.boundary === own && s.close) {
        // The epilogue runs to the next enclosing delimiter.
        s = findDelimiter(buf, afterLine(buf, s.at, limit), limit, stack);
      }
      endAt(s);
    }
  } else if (type === 'message' && (subtype === 'rfc822' || subtype === 'global') && isIdentityEncoding(encoding) && !cut && depth < limits.maxDepth && ctx.parts < limits.maxParts) {
    // RFC 2046 §5.2.1: the body is a message; only the identity encodings
    // may wrap one (an encoded one stays an opaque leaf).
    const inner = parseEntity(ctx, bodyStart, limit, stack, depth + 1, false, hStop);
    part.message = { envelope: envelopeOf(buf, inner.fields), body: inner.part };
    stop = inner.stop;
    part.end = inner.part.end;
  } else {
    if (type === 'message' && (subtype === 'rfc822' || subtype === 'global') && isIdentityEncoding(encoding) && !cut) ctx.truncated = true;
    endAt(hStop);
  }
  part.size = part.end - bodyStart;
  if (type === 'text' || (type === 'message' && (subtype === 'rfc822' || subtype === 'global'))) part.lines = countLines(buf, bodyStart, part.end);
  return { part, fields, stop };
}

/** Parse a whole message. Never throws; offsets are within [0, buf.length]. */
export function parseMessage(buf: Uint8Array, limits: Partial<MimeLimits> = {}): ParsedMessage {
  const b = Buffer.isBuffer(buf) ? buf : Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  const ctx: Ctx = { buf: b, limits: { ...DEFAULT_MIME_LIMITS, ...limits }, parts: 0, truncated: false };
  const { part, fields } = parseEntity(ctx, 0, b.length, [], 0, false);
  return { body: part, envelope: envelopeOf(b, fields), fields, truncated: ctx.truncated };
}
