// IMAP response serialization (RFC 9051 §7, §9 `response`; RFC 3501 for
// rev1 clients): tagged and untagged status responses with response codes
// (RFC 9051 §7.1, RFC 5530, RFC 4315 UIDPLUS, RFC 7162 CONDSTORE/QRESYNC),
// CAPABILITY, LIST/LSUB (with CHILDINFO and OLDNAME extended data), STATUS,
// SEARCH and ESEARCH (RFC 4731), FETCH (items in the order given; byte data
// as quoted strings or literals, literal8 `~{n}` for BINARY, RFC 3516),
// EXISTS/EXPUNGE/VANISHED (RFC 7162 §3.2.10), ENABLED, ID (RFC 2971),
// NAMESPACE, QUOTA/QUOTAROOT (RFC 9208), and UID sets as compact sequence
// sets. Pure: strings or Buffers out, every line ending in CRLF; no I/O.
//
// API (each returns one complete response line, CRLF included):
//   tagged(tag, 'OK'|'NO'|'BAD', text, code?)       untagged('OK'|…|'BYE'|'PREAUTH', text, code?)
//   continuation(text)                               capabilityLine(caps)
//   listLine(entry, opts)    statusLine(name, items, opts)    searchLine(nums, modseq?)
//   esearchLine(r)           fetchLine(seq, items) → Buffer   existsLine(n) expungeLine(seq) recentLine(n)
//   flagsLine(flags)         vanishedLine(uids, earlier)      enabledLine(caps) idLine(params)
//   namespaceLine(ns)        quotaLine(root, resources)       quotaRootLine(mailbox, roots)
//   compactSet(numbers) → "1:5,7"                            formatInternalDate(date, offsetMinutes)
//   mailboxNameOut(name, opts)  — the wire form of a mailbox name (mUTF-7 unless utf8)
import { encodeMailboxName } from './mailbox-name.ts';
import { serializeAstring, serializeNstring, serializeString, isAtom, quoted, type QuoteOptions } from './quote.ts';

export type Status = 'OK' | 'NO' | 'BAD';
export type UntaggedStatus = Status | 'BYE' | 'PREAUTH';

/** Response codes (RFC 9051 §7.1, RFC 5530, RFC 4315, RFC 7162, RFC 9208, RFC 6855, RFC 3516). */
export type ResponseCode =
  | { name: 'ALERT' | 'NOMODSEQ' | 'READ-WRITE' | 'READ-ONLY' | 'TRYCREATE' | 'CLOSED' | 'OVERQUOTA' | 'LIMIT' | 'ALREADYEXISTS' | 'NONEXISTENT' | 'INUSE' | 'CANNOT' | 'NOPERM' | 'SERVERBUG' | 'UNAVAILABLE' | 'AUTHENTICATIONFAILED' | 'AUTHORIZATIONFAILED' | 'EXPIRED' | 'PRIVACYREQUIRED' | 'CONTACTADMIN' | 'UNKNOWN-CTE' | 'TOOBIG' | 'EXPUNGEISSUED' | 'CORRUPTION' | 'CLIENTBUG' | 'HASCHILDREN' | 'UIDNOTSTICKY' | 'PARSE' | 'NOTSAVED' }
  | { name: 'CAPABILITY'; capabilities: readonly string[] }
  | { name: 'PERMANENTFLAGS'; flags: readonly string[] }
  | { name: 'UIDNEXT' | 'UIDVALIDITY' | 'UNSEEN' | 'HIGHESTMODSEQ' | 'APPENDLIMIT'; value: number }
  | { name: 'APPENDUID'; uidValidity: number; uids: readonly number[] }
  | { name: 'COPYUID'; uidValidity: number; sourceUids: readonly number[]; destUids: readonly number[] }
  | { name: 'MODIFIED'; set: readonly number[] }
  | { name: 'BADCHARSET'; charsets?: readonly string[] };

/** How names and strings go out to this client. */
export type OutOptions = {
  /** IMAP4rev2 or UTF8=ACCEPT enabled: UTF-8 names and quoted strings; otherwise modified UTF-7 names. */
  utf8?: boolean;
};

const CRLF = '\r\n';

/** RFC 9051 §9 `resp-text-code`. */
export function responseCode(c: ResponseCode): string {
  switch (c.name) {
    case 'CAPABILITY':
      return `CAPABILITY ${c.capabilities.join(' ')}`;
    case 'PERMANENTFLAGS':
      return `PERMANENTFLAGS (${c.flags.join(' ')})`;
    case 'UIDNEXT':
    case 'UIDVALIDITY':
    case 'UNSEEN':
    case 'HIGHESTMODSEQ':
    case 'APPENDLIMIT':
      return `${c.name} ${c.value}`;
    // RFC 4315 §3: APPENDUID uidvalidity uid-set; COPYUID uidvalidity source-set dest-set.
    case 'APPENDUID':
      return `APPENDUID ${c.uidValidity} ${compactSet(c.uids, false)}`;
    case 'COPYUID':
      return `COPYUID ${c.uidValidity} ${pairedSet(c.sourceUids)} ${pairedSet(c.destUids)}`;
    // RFC 7162 §3.1.3: MODIFIED sequence-set.
    case 'MODIFIED':
      return `MODIFIED ${compactSet(c.set)}`;
    // RFC 9051 §7.1: BADCHARSET [SP "(" charset *(SP charset) ")"].
    case 'BADCHARSET':
      return c.charsets && c.charsets.length > 0 ? `BADCHARSET (${c.charsets.map((s) => serializeAstring(s)).join(' ')})` : 'BADCHARSET';
    default:
      return c.name;
  }
}

/** Human text may not contain CR, LF or "]" right after a code opener; keep it on one line. */
function cleanText(text: string): string {
  const t = text.replace(/[\r\n\0]+/g, ' ');
  // RFC 9051 §9: text = 1*TEXT-CHAR; an empty text is not allowed.
  return t.length === 0 ? 'done' : t.startsWith('[') ? ' ' + t : t;
}

function statusBody(status: string, text: string, code?: ResponseCode): string {
  return code ? `${status} [${responseCode(code)}] ${cleanText(text)}` : `${status} ${cleanText(text)}`;
}

/** RFC 9051 §7.1: tagged OK/NO/BAD with an optional response code. */
export function tagged(tag: string, status: Status, text: string, code?: ResponseCode): string {
  return `${tag} ${statusBody(status, text, code)}${CRLF}`;
}

/** RFC 9051 §7.1: untagged OK/NO/BAD/BYE/PREAUTH. */
export function untagged(status: UntaggedStatus, text: string, code?: ResponseCode): string {
  return `* ${statusBody(status, text, code)}${CRLF}`;
}

/** RFC 9051 §7.5: continuation request. */
export function continuation(text = 'Ready'): string {
  return `+ ${text.replace(/[\r\n\0]+/g, ' ')}${CRLF}`;
}

/** RFC 9051 §7.2.2. */
export function capabilityLine(capabilities: readonly string[]): string {
  return `* CAPABILITY ${capabilities.join(' ')}${CRLF}`;
}

/** The wire form of a mailbox name: UTF-8 for rev2/UTF8=ACCEPT clients, modified UTF-7 otherwise (RFC 9051 §5.1). */
export function mailboxNameOut(name: string, opts: OutOptions = {}): string {
  return opts.utf8 ? name : encodeMailboxName(name);
}

/**
 * An astring for a response: an atom when possible, but never an atom with "["
 * (legal in an atom, yet parsers, ours included, read "x[" as a section opener).
 */
function astr(s: string, opts: OutOptions): string {
  return s.includes('[') ? serializeString(s, { utf8: opts.utf8 ?? false }) : serializeAstring(s, { utf8: opts.utf8 ?? false });
}

/** A mailbox name as an astring; INBOX always as the atom INBOX. */
function mailboxOut(name: string, opts: OutOptions): string {
  return astr(mailboxNameOut(name, opts), opts);
}

export type ListEntry = {
  /** LIST or LSUB (RFC 3501 §7.2.3). */
  kind?: 'LIST' | 'LSUB';
  /** Attributes with their backslash, e.g. \HasNoChildren, \Subscribed, \Sent. */
  attributes: readonly string[];
  /** Hierarchy delimiter, or null for a flat namespace. */
  delimiter: string | null;
  /** The mailbox name (Unicode); encoded per client mode. */
  name: string;
  /** RFC 5258 §3.5: CHILDINFO extended data, e.g. ["SUBSCRIBED"]. */
  childInfo?: readonly string[];
  /** RFC 9051 §7.3.1: OLDNAME after a RENAME. */
  oldName?: string;
};

/** RFC 9051 §7.3.1 mailbox-list: `* LIST (attrs) "/" name [extended data]`. */
export function listLine(e: ListEntry, opts: OutOptions = {}): string {
  const delim = e.delimiter === null ? 'NIL' : quoted(e.delimiter);
  let s = `* ${e.kind ?? 'LIST'} (${e.attributes.join(' ')}) ${delim} ${mailboxOut(e.name, opts)}`;
  const ext: string[] = [];
  if (e.childInfo && e.childInfo.length > 0) ext.push(`"CHILDINFO" (${e.childInfo.map((x) => quoted(x)).join(' ')})`);
  if (e.oldName !== undefined) ext.push(`"OLDNAME" (${mailboxOut(e.oldName, opts)})`);
  if (ext.length > 0) s += ` (${ext.join(' ')})`;
  return s + CRLF;
}

/** RFC 9051 §7.3.2: `* STATUS name (MESSAGES 3 UIDNEXT 5)`; items in the order given. */
export function statusLine(name: string, items: ReadonlyArray<readonly [string, number]>, opts: OutOptions = {}): string {
  return `* STATUS ${mailboxOut(name, opts)} (${items.map(([k, v]) => `${k} ${v}`).join(' ')})${CRLF}`;
}

/** RFC 3501 §7.2.5 (rev1): `* SEARCH 2 3 6`, with RFC 7162 §3.1.5 `(MODSEQ n)` when given. */
export function searchLine(numbers: readonly number[], modseq?: number): string {
  let s = '* SEARCH';
  if (numbers.length > 0) s += ' ' + numbers.join(' ');
  if (modseq !== undefined && numbers.length > 0) s += ` (MODSEQ ${modseq})`;
  return s + CRLF;
}

export type EsearchResult = {
  /** The command's tag, for `(TAG "a1")`. */
  tag?: string;
  uid: boolean;
  min?: number;
  max?: number;
  /** The matching numbers, sent as a compact set (omitted when empty, RFC 4731 §3.1). */
  all?: readonly number[];
  count?: number;
  modseq?: number;
};

/** RFC 4731 §3.1 / RFC 9051 §7.3.4: `* ESEARCH (TAG "a") UID MIN 1 MAX 9 ALL 1:3,9 COUNT 4 MODSEQ 7`. */
export function esearchLine(r: EsearchResult): string {
  let s = '* ESEARCH';
  if (r.tag !== undefined) s += ` (TAG ${quoted(r.tag)})`;
  if (r.uid) s += ' UID';
  if (r.min !== undefined) s += ` MIN ${r.min}`;
  if (r.max !== undefined) s += ` MAX ${r.max}`;
  if (r.all !== undefined && r.all.length > 0) s += ` ALL ${compactSet(r.all)}`;
  if (r.count !== undefined) s += ` COUNT ${r.count}`;
  if (r.modseq !== undefined) s += ` MODSEQ ${r.modseq}`;
  return s + CRLF;
}

export function existsLine(n: number): string {
  return `* ${n} EXISTS${CRLF}`;
}
export function recentLine(n: number): string {
  return `* ${n} RECENT${CRLF}`;
}
export function expungeLine(seq: number): string {
  return `* ${seq} EXPUNGE${CRLF}`;
}
/** RFC 9051 §7.3.5: `* FLAGS (\Answered …)`. */
export function flagsLine(flags: readonly string[]): string {
  return `* FLAGS (${flags.join(' ')})${CRLF}`;
}

/** RFC 7162 §3.2.10: `* VANISHED (EARLIER) 1:3,7`. Empty input gives "" (nothing to send). */
export function vanishedLine(uids: readonly number[], earlier: boolean): string {
  if (uids.length === 0) return '';
  return `* VANISHED ${earlier ? '(EARLIER) ' : ''}${compactSet(uids)}${CRLF}`;
}

/** RFC 5161 §3.2: `* ENABLED CONDSTORE`. */
export function enabledLine(capabilities: readonly string[]): string {
  return `* ENABLED${capabilities.map((c) => ' ' + c).join('')}${CRLF}`;
}

/** RFC 2971 §3.2: `* ID ("name" "Mailroom")` or `* ID NIL`. */
export function idLine(params: ReadonlyArray<readonly [string, string | null]> | null): string {
  if (params === null || params.length === 0) return `* ID NIL${CRLF}`;
  return `* ID (${params.map(([k, v]) => `${serializeString(k)} ${serializeNstring(v)}`).join(' ')})${CRLF}`;
}

export type Namespace = { prefix: string; delimiter: string | null };
/** RFC 9051 §7.3.3 / RFC 2342: personal, other users', shared (each NIL when empty). */
export function namespaceLine(ns: { personal: readonly Namespace[]; other: readonly Namespace[]; shared: readonly Namespace[] }, opts: OutOptions = {}): string {
  const one = (list: readonly Namespace[]): string =>
    list.length === 0
      ? 'NIL'
      : `(${list.map((n) => `(${serializeString(mailboxNameOut(n.prefix, opts), { utf8: opts.utf8 ?? false })} ${n.delimiter === null ? 'NIL' : quoted(n.delimiter)})`).join('')})`;
  return `* NAMESPACE ${one(ns.personal)} ${one(ns.other)} ${one(ns.shared)}${CRLF}`;
}

export type QuotaResource = { name: string; usage: number; limit: number };
/** RFC 9208 §5.1: `* QUOTA "" (STORAGE 10 512 MESSAGE 3 1000)`; STORAGE in units of 1024 octets. */
export function quotaLine(root: string, resources: readonly QuotaResource[], opts: OutOptions = {}): string {
  return `* QUOTA ${astr(root, opts)} (${resources.map((r) => `${r.name} ${r.usage} ${r.limit}`).join(' ')})${CRLF}`;
}
/** RFC 9208 §5.2: `* QUOTAROOT INBOX ""`. */
export function quotaRootLine(mailbox: string, roots: readonly string[], opts: OutOptions = {}): string {
  return `* QUOTAROOT ${mailboxOut(mailbox, opts)}${roots.map((r) => ' ' + astr(r, opts)).join('')}${CRLF}`;
}

/**
 * Numbers as a compact sequence set (RFC 9051 §9 sequence-set): sorted, runs
 * merged, "1:5,7". With sort=false the order is kept and only adjacent
 * ascending runs merge (for COPYUID, whose two sets pair up in order).
 */
export function compactSet(numbers: readonly number[], sort = true): string {
  const ns = sort ? [...new Set(numbers)].sort((a, b) => a - b) : numbers;
  const out: string[] = [];
  let i = 0;
  while (i < ns.length) {
    let j = i;
    while (j + 1 < ns.length && ns[j + 1] === ns[j]! + 1) j++;
    out.push(j === i ? String(ns[i]) : `${ns[i]}:${ns[j]}`);
    i = j + 1;
  }
  return out.join(',');
}

function pairedSet(numbers: readonly number[]): string {
  return compactSet(numbers, false);
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/**
 * RFC 9051 §9 date-time: `"dd-Mon-yyyy hh:mm:ss +zzzz"` (day space-padded),
 * shown in the zone offsetMinutes east of UTC (default UTC).
 */
export function formatInternalDate(date: Date, offsetMinutes = 0): string {
  const t = new Date(date.getTime() + offsetMinutes * 60000);
  const p2 = (n: number): string => String(n).padStart(2, '0');
  const day = String(t.getUTCDate()).padStart(2, ' ');
  const sign = offsetMinutes < 0 ? '-' : '+';
  const off = Math.abs(offsetMinutes);
  const zone = `${sign}${p2(Math.floor(off / 60))}${p2(off % 60)}`;
  return `"${day}-${MONTHS[t.getUTCMonth()]}-${t.getUTCFullYear()} ${p2(t.getUTCHours())}:${p2(t.getUTCMinutes())}:${p2(t.getUTCSeconds())} ${zone}"`;
}

/** One FETCH data item (RFC 9051 §7.5.2), serialized in the order given. */
export type FetchResponseItem =
  | { item: 'UID' | 'RFC822.SIZE' | 'MODSEQ'; value: number }
  | { item: 'FLAGS'; flags: readonly string[] }
  | { item: 'INTERNALDATE'; date: Date; offsetMinutes?: number }
  /** ENVELOPE, BODYSTRUCTURE, BODY: already serialized parenthesized data (may contain literals). */
  | { item: 'ENVELOPE' | 'BODYSTRUCTURE' | 'BODY'; raw: string | Uint8Array }
  /** RFC822, RFC822.HEADER, RFC822.TEXT: nstring data. */
  | { item: 'RFC822' | 'RFC822.HEADER' | 'RFC822.TEXT'; data: Uint8Array | null }
  /**
   * BODY[section]<origin> and BINARY[section]<origin>: `name` is the echo of
   * the request without .PEEK and without the length, e.g. `BODY[HEADER.FIELDS (From)]<0>`
   * (see fetchAttResponseName in fetch-items.ts). BINARY data containing NUL
   * goes out as literal8 `~{n}` (RFC 3516 §4.3).
   */
  | { item: 'BODY[]' | 'BINARY[]'; name: string; data: Uint8Array | null }
  /** BINARY.SIZE[section] (RFC 3516 §4.2). */
  | { item: 'BINARY.SIZE'; name: string; value: number };

/**
 * Byte data as an nstring: a literal (literal8 if `binary` and it has NUL), or
 * with `allowQuoted` a quoted string when short and plain.
 */
export function nstringBytes(data: Uint8Array | null, binary = false, allowQuoted = false): Buffer {
  if (data === null) return Buffer.from('NIL');
  const b = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (allowQuoted && b.length <= 100 && isQuotable(b)) return Buffer.from(quoted(b.toString('latin1')), 'latin1');
  const hasNul = b.includes(0);
  if (hasNul && !binary) {
    // RFC 9051 §4.3: a literal carries CHAR8, never NUL; literal8 is only for BINARY
    // (RFC 3516 §4.3). Like Dovecot, NUL becomes 0x80, so lengths and partial offsets hold.
    const copy = Buffer.from(b);
    for (let i = copy.indexOf(0); i >= 0; i = copy.indexOf(0, i + 1)) copy[i] = 0x80;
    return Buffer.concat([Buffer.from(`{${copy.length}}${CRLF}`, 'latin1'), copy]);
  }
  const head = `${binary && hasNul ? '~' : ''}{${b.length}}${CRLF}`;
  return Buffer.concat([Buffer.from(head, 'latin1'), b]);
}

function isQuotable(b: Buffer): boolean {
  for (const c of b) if (c === 0 || c === 0x0a || c === 0x0d || c >= 0x80) return false;
  return true;
}

/**
 * RFC 9051 §7.5.2: `* 12 FETCH (UID 5 FLAGS (\Seen) BODY[] {3}\r\nabc)` CRLF, as bytes.
 * Message data (BODY[], BINARY[], RFC822*) always goes out as a literal, as
 * Dovecot and Cyrus send it: some clients (imapflow) read body data only from literals.
 */
export function fetchLine(seq: number, items: readonly FetchResponseItem[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`* ${seq} FETCH (`, 'latin1')];
  items.forEach((it, i) => {
    if (i > 0) parts.push(Buffer.from(' '));
    switch (it.item) {
      case 'UID':
      case 'RFC822.SIZE':
      case 'MODSEQ':
        // RFC 7162 §3.1.4.1: MODSEQ (n) is parenthesized.
        parts.push(Buffer.from(it.item === 'MODSEQ' ? `MODSEQ (${it.value})` : `${it.item} ${it.value}`));
        break;
      case 'FLAGS':
        parts.push(Buffer.from(`FLAGS (${it.flags.join(' ')})`));
        break;
      case 'INTERNALDATE':
        parts.push(Buffer.from(`INTERNALDATE ${formatInternalDate(it.date, it.offsetMinutes ?? 0)}`));
        break;
      case 'ENVELOPE':
      case 'BODYSTRUCTURE':
      case 'BODY':
        parts.push(Buffer.from(`${it.item} `), typeof it.raw === 'string' ? Buffer.from(it.raw, 'utf8') : Buffer.from(it.raw));
        break;
      case 'RFC822':
      case 'RFC822.HEADER':
      case 'RFC822.TEXT':
        parts.push(Buffer.from(`${it.item} `), nstringBytes(it.data));
        break;
      case 'BODY[]':
      case 'BINARY[]':
        parts.push(Buffer.from(`${it.name} `, 'latin1'), nstringBytes(it.data, it.item === 'BINARY[]'));
        break;
      case 'BINARY.SIZE':
        parts.push(Buffer.from(`${it.name} ${it.value}`, 'latin1'));
        break;
    }
  });
  parts.push(Buffer.from(`)${CRLF}`));
  return Buffer.concat(parts);
}

export { isAtom, serializeAstring, serializeString, serializeNstring, type QuoteOptions };
