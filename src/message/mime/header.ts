// The header section of a message or body part (RFC 5322 §2.2, §3.5; RFC 2045
// §3 for body parts): fields with their byte offsets, found by scanning lines
// up to the first empty line. CRLF and bare LF both end a line. A line that
// starts with SP or HTAB continues the previous field (folding, §2.2.3). A
// line without a colon is kept as a field with an empty name, so the header
// still ends at the blank line and BODY[HEADER] stays byte-exact. Fields past
// `maxFields` or `maxBytes` are not recorded (the header's extent is still
// found). Pure; never throws.

import { bytesToText } from './charset.ts';

export interface HeaderField {
  /** Field name as written (trimmed); '' for a line without a colon. */
  name: string;
  /** Byte offset of the field's first character. */
  start: number;
  /** Byte offset just after the colon. */
  valueStart: number;
  /** Byte offset just after the field's last line ending. */
  end: number;
}

export interface HeaderBlock {
  fields: HeaderField[];
  /** Where the body starts: after the empty line, or `end` when there is none. */
  bodyStart: number;
  /** The empty line was found. */
  complete: boolean;
}

const LF = 0x0a;
const CR = 0x0d;

/** Scan the header section in buf[start, end). */
export function readHeader(buf: Uint8Array, start: number, end: number, maxFields = 1000, maxBytes = 256 * 1024): HeaderBlock {
  const fields: HeaderField[] = [];
  let pos = start;
  let cur: HeaderField | null = null;
  while (pos < end) {
    let lf = buf.indexOf(LF, pos);
    if (lf < 0 || lf >= end) lf = end;
    const next = lf < end ? lf + 1 : end;
    let contentEnd = lf;
    if (contentEnd > pos && buf[contentEnd - 1] === CR) contentEnd--;
    if (contentEnd === pos && lf < end) return { fields, bodyStart: next, complete: true }; // the empty line
    const c = buf[pos];
    if ((c === 0x20 || c === 0x09) && cur !== null) {
      cur.end = next;
    } else if (fields.length < maxFields && pos - start < maxBytes) {
      let colon = -1;
      for (let i = pos; i < contentEnd; i++) {
        if (buf[i] === 0x3a) {
          colon = i;
          break;
        }
      }
      const name = colon < 0 ? '' : bytesToText(buf.subarray(pos, colon)).trim();
      cur = { name, start: pos, valueStart: colon < 0 ? contentEnd : colon + 1, end: next };
      fields.push(cur);
    } else {
      cur = null;
    }
    pos = next;
  }
  return { fields, bodyStart: end, complete: false };
}

/** RFC 5322 §2.2.3: unfolding removes each CRLF (or bare LF) that precedes WSP. */
export function unfold(s: string): string {
  return s.replace(/\r?\n(?=[ \t])/g, '').replace(/[\r\n]+$/, '');
}

/** The raw value of a field as text (after the colon, unfolded, trimmed). */
export function fieldValue(buf: Uint8Array, f: HeaderField, maxLength = 64 * 1024): string {
  const end = Math.min(f.end, f.valueStart + maxLength);
  return unfold(bytesToText(buf.subarray(f.valueStart, end))).replace(/\r?\n/g, '').trim();
}

/** The first field with this name (case-insensitive), or undefined. */
export function findField(fields: HeaderField[], name: string): HeaderField | undefined {
  const n = name.toLowerCase();
  for (const f of fields) if (f.name.length === n.length && f.name.toLowerCase() === n) return f;
  return undefined;
}

/** The first value of a field (unfolded, trimmed), or null when absent. */
export function headerValue(buf: Uint8Array, fields: HeaderField[], name: string): string | null {
  const f = findField(fields, name);
  return f === undefined ? null : fieldValue(buf, f);
}
