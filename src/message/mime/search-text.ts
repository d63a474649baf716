// Text for IMAP SEARCH (RFC 9051 §6.4.4): the header decoded (RFC 2047) and
// the body's text decoded (transfer encoding, then charset → Unicode), so
// SUBJECT/FROM/TEXT/BODY can match case-insensitively on what the user sees.
// Text parts are text/*; HTML loses its tags, scripts and styles, and common
// entities are decoded (roughly: good enough for substring search). Parts of
// encapsulated messages count as body text, their headers too. The output is
// bounded by `maxChars`. `searchHeaderValues` gives one field's values for
// FROM/TO/CC/BCC/SUBJECT/HEADER, addresses parsed so comments and quoting do
// not hide them. Pure; never throws.

import type { MessageSummary, PartSummary } from './types.ts';
import { readHeader, unfold } from './header.ts';
import { bytesToText, decodeCharset } from './charset.ts';
import { decodeEncodedWords, decodeUnstructured } from './encoded-word.ts';
import { decodeTransfer } from './transfer-encoding.ts';
import { parseAddressList, addressListText } from './address.ts';

export interface SearchText {
  /** Every header field of the message, "Name: decoded value\n". */
  header: string;
  /** The decoded text of the body's text parts, separated by newlines. */
  body: string;
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ' };

const BLOCK_TAG = /^\/?(br|p|div|tr|li|h[1-6])\b/;

/**
 * Rough HTML → text for searching: comments, scripts, styles and tags
 * dropped, block tags made line breaks, entities decoded. One linear scan
 * (no backtracking regex: an unclosed "<!--" or "<" just ends the text).
 */
export function htmlToText(html: string): string {
  const lower = html.toLowerCase();
  const n = html.length;
  let out = '';
  let i = 0;
  while (i < n) {
    const lt = html.indexOf('<', i);
    if (lt < 0) {
      out += html.slice(i);
      break;
    }
    out += html.slice(i, lt);
    if (html.startsWith('<!--', lt)) {
      const e = html.indexOf('-->', lt + 4);
      if (e < 0) break;
      out += ' ';
      i = e + 3;
      continue;
    }
    const gt = html.indexOf('>', lt + 1);
    if (gt < 0) break;
    const tag = lower.slice(lt + 1, Math.min(gt, lt + 12));
    const raw = /^(script|style)\b/.exec(tag);
    if (raw !== null) {
      const close = lower.indexOf('</' + raw[1], gt);
      const closeEnd = close < 0 ? -1 : html.indexOf('>', close);
      if (closeEnd < 0) break;
      out += ' ';
      i = closeEnd + 1;
      continue;
    }
    if (BLOCK_TAG.test(tag)) out += '\n';
    i = gt + 1;
  }
  return out.replace(/&(#x[0-9a-f]{1,6}|#[0-9]{1,7}|[a-z]{2,6});/gi, (m, e: string) => {
    if (e[0] === '#') {
      const cp = e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
      return cp > 0 && cp <= 0x10ffff ? String.fromCodePoint(cp) : m;
    }
    return ENTITIES[e.toLowerCase()] ?? m;
  });
}

/** Header fields in buf[start, end), decoded, one per line. */
export function decodedHeaderText(buf: Buffer, start: number, end: number, maxChars = 256 * 1024): string {
  const hb = readHeader(buf, start, end);
  let out = '';
  for (const f of hb.fields) {
    if (f.name === '') continue;
    out += `${f.name}: ${decodeEncodedWords(unfold(bytesToText(buf.subarray(f.valueStart, f.end))).trim())}\n`;
    if (out.length >= maxChars) return out.slice(0, maxChars);
  }
  return out;
}

/** The decoded text of one text/* leaf part. */
export function partText(buf: Buffer, part: PartSummary): string {
  const decoded = decodeTransfer(buf.subarray(part.bodyStart, part.end), part.encoding) ?? buf.subarray(part.bodyStart, part.end);
  let charset: string | null = null;
  for (const [n, v] of part.params) if (n === 'charset') charset = v;
  // us-ascii (often the default, not a choice) with 8-bit bytes: most likely UTF-8.
  if (charset !== null && /^(us-)?ascii$/i.test(charset.trim())) charset = null;
  const text = (charset !== null ? decodeCharset(decoded, charset) : null) ?? bytesToText(decoded);
  return part.subtype === 'html' ? htmlToText(text) : text;
}

/** Header and body text of a message for SEARCH, each at most `maxChars` characters. */
export function searchableText(bytes: Uint8Array, summary: MessageSummary, maxChars = 1024 * 1024): SearchText {
  const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const header = decodedHeaderText(buf, summary.body.headerStart, summary.body.bodyStart, maxChars);
  let body = '';
  const walk = (p: PartSummary, depth: number): void => {
    if (body.length >= maxChars || depth > 64) return;
    if (p.parts !== undefined) {
      for (const c of p.parts) walk(c, depth + 1);
    } else if (p.message !== undefined) {
      body += decodedHeaderText(buf, p.message.body.headerStart, p.message.body.bodyStart, maxChars - body.length);
      walk(p.message.body, depth + 1);
    } else if (p.type === 'text') {
      // Decode a bounded slice at most (a huge text part is cut, not decoded whole).
      const capped = p.end - p.bodyStart > maxChars * 4 ? { ...p, end: p.bodyStart + maxChars * 4 } : p;
      body += partText(buf, capped) + '\n';
    }
  };
  walk(summary.body, 0);
  return { header, body: body.length > maxChars ? body.slice(0, maxChars) : body };
}

const ADDRESS_FIELDS = new Set(['from', 'to', 'cc', 'bcc', 'sender', 'reply-to', 'resent-from', 'resent-to', 'resent-cc', 'resent-bcc', 'resent-sender']);

/**
 * The values of one header field of the message, for SEARCH FROM/TO/CC/BCC/
 * SUBJECT/HEADER (RFC 9051 §6.4.4): one string per occurrence, in order.
 * Address fields come as their parsed addresses, "Name <local@domain>, ..."
 * (comments and routes dropped, a comment-only name kept, encoded words
 * decoded, group names kept), so "user@domain" matches however the address
 * was written; other fields are decoded unstructured text. [] when absent.
 */
export function searchHeaderValues(bytes: Uint8Array, summary: MessageSummary, name: string): string[] {
  const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = name.toLowerCase();
  const hb = readHeader(buf, summary.body.headerStart, summary.body.bodyStart);
  const out: string[] = [];
  for (const f of hb.fields) {
    if (f.name.toLowerCase() !== n) continue;
    const raw = unfold(bytesToText(buf.subarray(f.valueStart, f.end))).trim();
    out.push(ADDRESS_FIELDS.has(n) ? addressListText(parseAddressList(raw)) : decodeUnstructured(raw));
    if (out.length >= 1000) break;
  }
  return out;
}
