// Token-level argument readers shared by the IMAP command grammar
// (commands.ts, fetch-items.ts, search.ts): a cursor over the tokenizer's
// token list with typed readers for atoms, astrings, mailbox names (UTF-8 or
// modified UTF-7, RFC 9051 §5.1 / RFC 3501 §5.1.3), numbers (RFC 9051 §9
// number / nz-number / number64 / mod-sequence-value), sequence sets, flags
// and flag lists, dates and date-times. Readers throw ArgError, which the
// command parser catches and turns into a tagged BAD/NO with a clear text;
// nothing escapes parseCommand.
import type { Token } from './tokenizer.ts';
import { decodeMailboxName, canonicalMailboxName } from './mailbox-name.ts';
import { parseSequenceSet, type ParsedSequenceSet } from './sequence-set.ts';
import type { ResponseCode } from './response.ts';

export class ArgError {
  readonly status: 'BAD' | 'NO';
  readonly text: string;
  readonly code: ResponseCode | undefined;
  constructor(text: string, status: 'BAD' | 'NO' = 'BAD', code?: ResponseCode) {
    this.text = text;
    this.status = status;
    this.code = code;
  }
}

export function fail(text: string): never {
  throw new ArgError(text);
}

export type ArgOptions = {
  /** Mailbox names are UTF-8 (IMAP4rev2 or UTF8=ACCEPT enabled); otherwise modified UTF-7 is decoded. */
  utf8?: boolean;
};

const utf8Lenient = new TextDecoder('utf-8');
const utf8Strict = new TextDecoder('utf-8', { fatal: true });

/** RFC 9051 §9: mod-sequence-value = 1*DIGIT (up to 2^63-1); we stay within exact doubles. */
export const MAX_MODSEQ = Number.MAX_SAFE_INTEGER;

export class Cursor {
  readonly tokens: readonly Token[];
  i = 0;
  readonly opts: ArgOptions;
  constructor(tokens: readonly Token[], opts: ArgOptions = {}) {
    this.tokens = tokens;
    this.opts = opts;
  }
  get done(): boolean {
    return this.i >= this.tokens.length;
  }
  peek(): Token | undefined {
    return this.tokens[this.i];
  }
  next(what: string): Token {
    const t = this.tokens[this.i];
    if (!t) fail(`missing ${what}`);
    this.i++;
    return t;
  }
  /** The next token is an atom equal (case-insensitively) to word: consume it. */
  accept(word: string): boolean {
    const t = this.tokens[this.i];
    if (t && t.type === 'atom' && t.value.toUpperCase() === word) {
      this.i++;
      return true;
    }
    return false;
  }
  end(command: string): void {
    if (!this.done) fail(`unexpected ${describe(this.tokens[this.i]!)} after ${command} arguments`);
  }
  atom(what: string): string {
    const t = this.next(what);
    if (t.type === 'atom') return t.value;
    if (t.type === 'number') return String(t.value);
    if (t.type === 'nil') return 'NIL';
    return fail(`${what}: expected an atom, got ${describe(t)}`);
  }
  astring(what: string): string {
    return astringOf(this.next(what), what);
  }
  astringBytes(what: string): Uint8Array {
    const t = this.next(what);
    if (t.type === 'literal') return t.value;
    return Buffer.from(astringOf(t, what), 'utf8');
  }
  number(what: string, max = 4294967295): number {
    const t = this.next(what);
    if (t.type !== 'number') fail(`${what}: expected a number, got ${describe(t)}`);
    if (t.value > max) fail(`${what}: number too large`);
    return t.value;
  }
  nzNumber(what: string): number {
    const n = this.number(what);
    if (n === 0) fail(`${what}: must not be 0`);
    return n;
  }
  list(what: string): Token[] {
    const t = this.next(what);
    if (t.type !== 'list') fail(`${what}: expected a parenthesized list, got ${describe(t)}`);
    return t.items;
  }
  mailbox(what = 'mailbox name'): string {
    return mailboxOf(this.next(what), this.opts, what);
  }
  sequenceSet(what = 'sequence set'): ParsedSequenceSet {
    return sequenceSetOf(this.next(what), what);
  }
}

export function describe(t: Token): string {
  switch (t.type) {
    case 'atom':
      return JSON.stringify(t.value.length > 30 ? t.value.slice(0, 30) + '…' : t.value);
    case 'number':
      return String(t.value);
    case 'nil':
      return 'NIL';
    case 'quoted':
      return 'a quoted string';
    case 'literal':
      return 'a literal';
    case 'list':
      return 'a list';
    case 'section':
      return JSON.stringify(t.name + '[…]');
  }
}

/** RFC 9051 §9 astring = 1*ASTRING-CHAR / string. A literal is UTF-8 (invalid octets replaced). */
export function astringOf(t: Token, what: string): string {
  switch (t.type) {
    case 'atom':
      return t.value;
    case 'number':
      return String(t.value);
    case 'nil':
      return 'NIL';
    case 'quoted':
      return t.value;
    case 'literal':
      if (t.binary) fail(`${what}: literal8 is not allowed here`);
      return utf8Lenient.decode(t.value);
    default:
      return fail(`${what}: expected a string, got ${describe(t)}`);
  }
}

/** A strict UTF-8 astring (for names, where a replacement character would be wrong). */
function strictAstring(t: Token, what: string): string {
  if (t.type === 'literal' && !t.binary) {
    try {
      return utf8Strict.decode(t.value);
    } catch {
      fail(`${what}: invalid UTF-8`);
    }
  }
  return astringOf(t, what);
}

/**
 * RFC 9051 §9 mailbox = "INBOX" / astring: decoded from modified UTF-7 for
 * rev1 clients (RFC 3501 §5.1.3), taken as UTF-8 otherwise (RFC 6855 §3);
 * INBOX in any case becomes "INBOX".
 */
export function mailboxOf(t: Token, opts: ArgOptions, what = 'mailbox name'): string {
  return canonicalMailboxName(decodeName(strictAstring(t, what), opts, what));
}

/** A list-mailbox pattern (RFC 9051 §9 list-mailbox = 1*list-char / string), decoded like a name. */
export function patternOf(t: Token, opts: ArgOptions, what = 'mailbox pattern'): string {
  return decodeName(strictAstring(t, what), opts, what);
}

function decodeName(raw: string, opts: ArgOptions, what: string): string {
  if (opts.utf8) return raw;
  // A rev1 client sending raw 8-bit UTF-8 is accepted as such; "&" runs are modified UTF-7.
  // eslint-disable-next-line no-control-regex
  if (/[^\x00-\x7f]/.test(raw)) return raw;
  const d = decodeMailboxName(raw);
  // A well-formed astring that is no valid name: NO [CANNOT], as Dovecot answers (not BAD).
  if (!d.ok) throw new ArgError(`${what}: invalid modified UTF-7 (${d.error})`, 'NO', { name: 'CANNOT' });
  return d.value;
}

/** RFC 9051 §9 sequence-set (and "$", RFC 5182). */
export function sequenceSetOf(t: Token, what = 'sequence set'): ParsedSequenceSet {
  let s: string;
  if (t.type === 'atom') s = t.value;
  else if (t.type === 'number') s = String(t.value);
  else return fail(`${what}: expected a sequence set, got ${describe(t)}`);
  const r = parseSequenceSet(s);
  if (!r.ok) fail(`${what}: ${r.error}`);
  return r.set;
}

/** RFC 9051 §9 mod-sequence-value (number64); mod-sequence-valzer allows 0. */
// Values above 2^53 cannot be exact doubles; the store's mod-sequences stay far below, so a
// larger (valid, ≤ 2^63-1) value is clamped to MAX_MODSEQ, which compares the same way.
export function modseqOf(t: Token | undefined, what: string, allowZero = true): number {
  if (!t) fail(`missing ${what}`);
  let n: number;
  if (t.type === 'number') n = t.value;
  else if (t.type === 'atom' && /^[1-9][0-9]{15,18}$/.test(t.value)) {
    if (BigInt(t.value) > 9223372036854775807n) fail(`${what}: larger than 2^63-1`);
    n = Math.min(Number(t.value), MAX_MODSEQ);
  } else return fail(`${what}: expected a number, got ${describe(t)}`);
  if (n > MAX_MODSEQ) n = MAX_MODSEQ;
  if (!allowZero && n === 0) fail(`${what}: must not be 0`);
  return n;
}

// RFC 9051 §9: flag = "\Answered" / "\Flagged" / "\Deleted" / "\Seen" / "\Draft" / flag-keyword / flag-extension
const SYSTEM_FLAGS = new Map(['\\Answered', '\\Flagged', '\\Deleted', '\\Seen', '\\Draft', '\\Recent'].map((f) => [f.toUpperCase(), f]));
// RFC 9051 §9 ATOM-CHAR (no "]" in flags): ( ) { SP CTL % * " \ ] excluded.
const FLAG_KEYWORD = /^[^(){ \x00-\x1f\x7f%*"\\\]\x80-\uffff]+$/;

/** A flag: system flags canonicalized ("\seen" → "\Seen"), keywords kept as sent. */
export function flagOf(t: Token, what = 'flag'): string {
  if (t.type !== 'atom' && t.type !== 'number' && t.type !== 'nil') fail(`${what}: expected a flag, got ${describe(t)}`);
  const v = t.type === 'atom' ? t.value : t.type === 'nil' ? 'NIL' : String(t.value);
  if (v.startsWith('\\')) {
    const sys = SYSTEM_FLAGS.get(v.toUpperCase());
    if (sys) return sys;
    if (!FLAG_KEYWORD.test(v.slice(1))) fail(`${what}: invalid flag ${JSON.stringify(v.slice(0, 40))}`);
    // RFC 9051 §9 flag-extension: "\" atom — kept, the session decides (\Recent may not be stored).
    return v;
  }
  if (!FLAG_KEYWORD.test(v)) fail(`${what}: invalid keyword ${JSON.stringify(v.slice(0, 40))}`);
  return v;
}

/** RFC 9051 §9 flag-list = "(" [flag *(SP flag)] ")". Duplicates removed. */
export function flagListOf(items: readonly Token[], what = 'flag list'): string[] {
  const out: string[] = [];
  for (const t of items) {
    const f = flagOf(t, what);
    if (!out.some((x) => x.toUpperCase() === f.toUpperCase())) out.push(f);
  }
  return out;
}

const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];

/** A calendar day, as days since 1970-01-01 (for date comparisons that disregard time and zone). */
export type Day = number;

export function dayOf(year: number, month: number, day: number): Day {
  return Math.floor(Date.UTC(year, month, day) / 86400000);
}

/** RFC 9051 §9 date = date-text / DQUOTE date-text DQUOTE; date-text = date-day "-" date-month "-" date-year. */
export function dateOf(t: Token, what = 'date'): Day {
  if (t.type !== 'atom' && t.type !== 'quoted') fail(`${what}: expected a date like 1-Feb-1994, got ${describe(t)}`);
  const m = /^([0-9]{1,2})-([A-Za-z]{3})-([0-9]{4})$/.exec(t.value);
  if (!m) fail(`${what}: expected a date like 1-Feb-1994`);
  const month = MONTHS.indexOf(m[2]!.toUpperCase());
  const day = Number(m[1]);
  const year = Number(m[3]);
  if (month < 0 || day < 1 || day > daysIn(year, month)) fail(`${what}: no such date ${JSON.stringify(t.value)}`);
  return dayOf(year, month, day);
}

function daysIn(year: number, month: number): number {
  return new Date(Date.UTC(year, month + 1, 0)).getUTCDate();
}

/**
 * RFC 9051 §9 date-time = DQUOTE date-day-fixed "-" date-month "-" date-year SP time SP zone DQUOTE,
 * e.g. "17-Jul-1996 02:44:25 -0700". Returns the instant and the zone (minutes east of UTC).
 */
export function dateTimeOf(t: Token, what = 'date-time'): { date: Date; offsetMinutes: number } {
  if (t.type !== 'quoted') fail(`${what}: expected a quoted date-time like "17-Jul-1996 02:44:25 -0700"`);
  const m = /^ ?([0-9]{1,2})-([A-Za-z]{3})-([0-9]{4}) ([0-9]{2}):([0-9]{2}):([0-9]{2}) ([+-])([0-9]{2})([0-9]{2})$/.exec(t.value);
  if (!m) fail(`${what}: expected a date-time like "17-Jul-1996 02:44:25 -0700"`);
  const month = MONTHS.indexOf(m[2]!.toUpperCase());
  const day = Number(m[1]);
  const year = Number(m[3]);
  const [hh, mi, ss, zh, zm] = [Number(m[4]), Number(m[5]), Number(m[6]), Number(m[8]), Number(m[9])];
  if (month < 0 || day < 1 || day > daysIn(year, month) || hh > 23 || mi > 59 || ss > 60 || zm > 59) {
    fail(`${what}: no such date-time ${JSON.stringify(t.value)}`);
  }
  const offsetMinutes = (m[7] === '-' ? -1 : 1) * (zh * 60 + zm);
  const date = new Date(Date.UTC(year, month, day, hh, mi, Math.min(ss, 59)) - offsetMinutes * 60000);
  return { date, offsetMinutes };
}
