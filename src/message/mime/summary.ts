// MessageSummary: what IMAP needs from a message, computed once at delivery
// or APPEND and stored beside the blob as `meta` (JSON): the ENVELOPE data,
// the part tree with byte offsets and BODYSTRUCTURE fields, and the header
// fields SEARCH matches on, decoded. `serializeSummary`/`parseSummary` carry a
// format version; `parseSummary` returns null for anything it does not
// recognise (another version, corrupt JSON), and the caller then recomputes
// with `summarizeMessage` from the bytes.

import { parseMessage } from './parse.ts';
import { findField, fieldValue } from './header.ts';
import { decodeUnstructured } from './encoded-word.ts';
import { addressListText } from './address.ts';
import { parseDate, dateToEpochMs } from './date.ts';
import type { MessageSummary, MimeLimits, SearchFields, Envelope, PartSummary } from './types.ts';
import type { HeaderField } from './header.ts';

export const SUMMARY_VERSION = 1;

function searchFields(buf: Uint8Array, fields: HeaderField[], env: Envelope): SearchFields {
  const raw = (name: string): string | null => {
    const f = findField(fields, name);
    return f === undefined ? null : fieldValue(buf, f);
  };
  const list = (name: string): string => {
    // The envelope has sender/reply-to defaulted; SEARCH wants the fields as they are.
    const v = name === 'from' ? env.from : name === 'to' ? env.to : name === 'cc' ? env.cc : env.bcc;
    return v === null ? '' : addressListText(v);
  };
  const dateRaw = raw('date');
  const d = dateRaw === null ? null : parseDate(dateRaw);
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  return {
    from: list('from'),
    to: list('to'),
    cc: list('cc'),
    bcc: list('bcc'),
    subject: decodeUnstructured(raw('subject') ?? ''),
    date: d === null ? null : dateToEpochMs(d),
    sentDay: d === null ? null : `${pad(d.year, 4)}-${pad(d.month)}-${pad(d.day)}`,
    ...(d === null ? {} : { dateZone: d.zone }),
    messageId: raw('message-id'),
  };
}

/** Parse a message once and keep what IMAP needs. Never throws. */
export function summarizeMessage(bytes: Uint8Array, limits: Partial<MimeLimits> = {}): MessageSummary {
  const parsed = parseMessage(bytes, limits);
  const s: MessageSummary = {
    v: 1,
    size: bytes.length,
    envelope: parsed.envelope,
    body: parsed.body,
    search: searchFields(bytes, parsed.fields, parsed.envelope),
  };
  if (parsed.truncated) s.truncated = true;
  return s;
}

/** The stored form (JSON text). */
export function serializeSummary(s: MessageSummary): string {
  return JSON.stringify(s);
}

/** Back from the stored form; null when it is not a summary of this version. */
export function parseSummary(text: string | null | undefined): MessageSummary | null {
  if (typeof text !== 'string' || text === '') return null;
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof v !== 'object' || v === null) return null;
  const o = v as Partial<MessageSummary>;
  if (o.v !== SUMMARY_VERSION || typeof o.size !== 'number' || typeof o.body !== 'object' || o.body === null) return null;
  if (typeof o.envelope !== 'object' || o.envelope === null || typeof o.search !== 'object' || o.search === null) return null;
  if (!validPart(o.body, o.size, 0)) return null;
  return o as MessageSummary;
}

const isNum = (x: unknown): x is number => typeof x === 'number' && Number.isInteger(x) && x >= 0;

/** Offsets ordered and within the message, the fields FETCH reads of the right kinds. */
function validPart(p: unknown, size: number, depth: number): boolean {
  if (typeof p !== 'object' || p === null || depth > 100) return false;
  const q = p as Partial<PartSummary>;
  if (!isNum(q.headerStart) || !isNum(q.bodyStart) || !isNum(q.end) || !isNum(q.size)) return false;
  if (!(q.headerStart <= q.bodyStart && q.bodyStart <= q.end && q.end <= size)) return false;
  if (typeof q.type !== 'string' || typeof q.subtype !== 'string' || typeof q.encoding !== 'string' || !Array.isArray(q.params)) return false;
  if (q.parts !== undefined && (!Array.isArray(q.parts) || !q.parts.every((c) => validPart(c, size, depth + 1)))) return false;
  if (q.message !== undefined && (typeof q.message !== 'object' || q.message === null || typeof q.message.envelope !== 'object' || !validPart(q.message.body, size, depth + 1))) return false;
  return true;
}
