// RFC 6409 §8.1 / §8.3: a Message Submission Agent may add a missing `Date:`
// and `Message-ID:`. Mail apps usually send both; scripts and devices often
// don't, and receivers score such mail as spam. Pure: reads only the header
// section (up to the first empty line, bounded) and returns lines to add.
import { randomBytes } from 'node:crypto';
import { formatRfc5322Date } from './date.ts';

/** Headers larger than this are not scanned (and get nothing added). */
const MAX_HEADER_SCAN = 256 * 1024;

export function missingSubmissionHeaders(content: Buffer[], opts: { hostname: string; now: Date }): string {
  const head = headerSection(content);
  if (head === null) return '';
  let out = '';
  if (!/(^|\r\n)date[ \t]*:/i.test(head)) out += `Date: ${formatRfc5322Date(opts.now)}\r\n`;
  if (!/(^|\r\n)message-id[ \t]*:/i.test(head)) {
    out += `Message-ID: <${Date.now().toString(36)}.${randomBytes(9).toString('hex')}@${opts.hostname}>\r\n`;
  }
  return out;
}

/** The header section as latin1 text (field names are ASCII), or null if it is too large. */
function headerSection(content: Buffer[]): string | null {
  const parts: Buffer[] = [];
  let size = 0;
  for (const c of content) {
    parts.push(c);
    size += c.length;
    if (size >= MAX_HEADER_SCAN) break;
  }
  const text = Buffer.concat(parts, Math.min(size, MAX_HEADER_SCAN)).toString('latin1');
  if (text.startsWith('\r\n')) return '';
  const end = text.indexOf('\r\n\r\n');
  if (end >= 0) return text.slice(0, end);
  return size >= MAX_HEADER_SCAN ? null : text;
}
