// Small response-formatting helpers the commands share (RFC 9051 §9 formal
// syntax): flag lists, compressed UID sets, date-time, mailbox names in
// UTF-8 or modified UTF-7 depending on what the client enabled, and strings.
import { encodeMailboxName } from '../protocol/mailbox-name.ts';
import { serializeAstring, serializeNstring, serializeString } from '../protocol/quote.ts';
import type { ImapSession } from './session.ts';

/** RFC 9051 §9 flag-list: `(\Seen $Label)`. */
export function flagList(flags: readonly string[]): string {
  return `(${flags.join(' ')})`;
}

/** A message's flags for this session: \Recent added for rev1 clients (RFC 3501 §2.3.2). */
export function sessionFlags(s: ImapSession, uid: number, flags: readonly string[]): readonly string[] {
  const sel = s.selected;
  if (!sel || s.enabled.has('IMAP4rev2') || !sel.isRecent(uid)) return flags;
  return [...flags, '\\Recent'];
}

/** RFC 9051 §9 sequence-set from ascending numbers: `1:3,7,9:10`. */
export function compressUids(sorted: readonly number[]): string {
  const out: string[] = [];
  let i = 0;
  while (i < sorted.length) {
    const start = sorted[i]!;
    let end = start;
    while (i + 1 < sorted.length && sorted[i + 1] === end + 1) end = sorted[++i]!;
    out.push(start === end ? String(start) : `${start}:${end}`);
    i++;
  }
  return out.join(',');
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** RFC 9051 §9 date-time: `"17-Jul-1996 02:44:25 +0000"` (always UTC here). */
export function dateTime(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `"${p(d.getUTCDate())}-${MONTHS[d.getUTCMonth()]}-${d.getUTCFullYear()} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000"`;
}

/** RFC 9051 §9 date-time / date as sent by clients (APPEND, SEARCH). */
export function parseDateTime(s: string): Date | null {
  const m = /^ ?(\d{1,2})-([A-Za-z]{3})-(\d{4}) (\d{2}):(\d{2}):(\d{2}) ([+-])(\d{2})(\d{2})$/.exec(s);
  if (!m) return null;
  const mon = MONTHS.findIndex((x) => x.toLowerCase() === m[2]!.toLowerCase());
  if (mon < 0) return null;
  const utc = Date.UTC(Number(m[3]), mon, Number(m[1]), Number(m[4]), Number(m[5]), Number(m[6]));
  const off = (Number(m[8]) * 60 + Number(m[9])) * 60_000 * (m[7] === '-' ? -1 : 1);
  const d = new Date(utc - off);
  return Number.isNaN(d.getTime()) ? null : d;
}

/** RFC 9051 §9 date (SEARCH BEFORE/ON/SINCE): `1-Feb-1994`, as the UTC day start. */
export function parseDate(s: string): Date | null {
  const m = /^(\d{1,2})-([A-Za-z]{3})-(\d{4})$/.exec(s);
  if (!m) return null;
  const mon = MONTHS.findIndex((x) => x.toLowerCase() === m[2]!.toLowerCase());
  if (mon < 0) return null;
  const day = Number(m[1]);
  if (day < 1 || day > 31) return null;
  return new Date(Date.UTC(Number(m[3]), mon, day));
}

/** Does the client take UTF-8 in strings and mailbox names (RFC 9051 §4.3, RFC 6855)? */
export function utf8Ok(s: ImapSession): boolean {
  return s.enabled.has('UTF8=ACCEPT') || s.enabled.has('IMAP4rev2');
}

/** A mailbox name in a response: UTF-8 for rev2/UTF8=ACCEPT clients, modified UTF-7 otherwise (RFC 3501 §5.1.3). */
export function mailboxName(s: ImapSession, name: string): string {
  const utf8 = utf8Ok(s);
  return serializeAstring(utf8 ? name : encodeMailboxName(name), { utf8 });
}

export function str(s: ImapSession, v: string): string {
  return serializeString(v, { utf8: utf8Ok(s) });
}

export function nstr(s: ImapSession, v: string | null | undefined): string {
  return serializeNstring(v, { utf8: utf8Ok(s) });
}
