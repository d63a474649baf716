// Reading a command's arguments from the reader's tokens (RFC 9051 §9):
// atoms, astrings (atom, quoted or literal), numbers, lists, mailbox names
// (UTF-8 or modified UTF-7), sequence sets and flags. A malformed argument
// throws ArgError, which the dispatcher answers with a tagged BAD.
import type { Token } from '../protocol/tokenizer.ts';
import { decodeMailboxName, canonicalMailboxName } from '../protocol/mailbox-name.ts';
import { parseSequenceSet, type ParsedSequenceSet } from '../protocol/sequence-set.ts';
import { MAILBOX_SEPARATOR } from '../../store/mailbox-store.ts';
import { StoreError } from '../../store/store.ts';

export class ArgError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ArgError';
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The string value of an astring-like token, or null. */
export function tokenString(t: Token | undefined): string | null {
  if (!t) return null;
  switch (t.type) {
    case 'atom':
    case 'quoted':
      return t.value;
    case 'number':
      return String(t.value);
    case 'nil':
      return 'NIL';
    case 'literal':
      try {
        return utf8.decode(t.value);
      } catch {
        return Buffer.from(t.value).toString('latin1');
      }
    default:
      return null;
  }
}

export class Args {
  readonly tokens: Token[];
  pos: number;

  constructor(tokens: Token[], pos = 0) {
    this.tokens = tokens;
    this.pos = pos;
  }

  get done(): boolean {
    return this.pos >= this.tokens.length;
  }

  peek(): Token | undefined {
    return this.tokens[this.pos];
  }

  next(what: string): Token {
    const t = this.tokens[this.pos];
    if (!t) throw new ArgError(`Missing ${what}`);
    this.pos++;
    return t;
  }

  end(): void {
    if (!this.done) throw new ArgError('Too many arguments');
  }

  /** An atom (or number), upper-cased. */
  atom(what: string): string {
    const t = this.next(what);
    if (t.type === 'atom') return t.value.toUpperCase();
    if (t.type === 'number') return String(t.value);
    if (t.type === 'nil') return 'NIL';
    throw new ArgError(`Expected ${what}`);
  }

  /** Is the next token this atom (case-insensitive)? Consumes it if so. */
  accept(word: string): boolean {
    const t = this.peek();
    if (t && t.type === 'atom' && t.value.toUpperCase() === word) {
      this.pos++;
      return true;
    }
    return false;
  }

  astring(what: string): string {
    const t = this.next(what);
    const v = tokenString(t);
    if (v === null) throw new ArgError(`Expected ${what}`);
    return v;
  }

  /** A string (quoted or literal; atoms accepted too, as clients send them). */
  string(what: string): string {
    return this.astring(what);
  }

  literalOrString(what: string): Buffer {
    const t = this.next(what);
    if (t.type === 'literal') return Buffer.from(t.value.buffer, t.value.byteOffset, t.value.byteLength);
    const v = tokenString(t);
    if (v === null) throw new ArgError(`Expected ${what}`);
    return Buffer.from(v, 'utf8');
  }

  number(what: string): number {
    const t = this.next(what);
    if (t.type !== 'number') throw new ArgError(`Expected a number for ${what}`);
    return t.value;
  }

  list(what: string): Token[] {
    const t = this.next(what);
    if (t.type !== 'list') throw new ArgError(`Expected a parenthesized list for ${what}`);
    return t.items;
  }

  /** RFC 9051 §9 sequence-set (or "$"). */
  sequenceSet(): ParsedSequenceSet {
    const t = this.next('sequence set');
    const raw = t.type === 'atom' ? t.value : t.type === 'number' ? String(t.value) : null;
    if (raw === null) throw new ArgError('Expected a sequence set');
    const r = parseSequenceSet(raw);
    if (!r.ok) throw new ArgError(`Invalid sequence set: ${r.error}`);
    return r.set;
  }

  /** A mailbox name argument: UTF-8 as is for UTF-8 clients, else modified
   * UTF-7 decoded (RFC 3501 §5.1.3); INBOX in any case is INBOX. */
  mailbox(utf8Client: boolean): string {
    const raw = this.astring('mailbox name');
    return decodeMailboxArg(raw, utf8Client);
  }
}

export function decodeMailboxArg(raw: string, utf8Client: boolean): string {
  let name = raw;
  if (!utf8Client || /^[\x20-\x7e]*$/.test(raw)) {
    const d = decodeMailboxName(raw);
    if (d.ok) name = d.value;
    // A name that cannot exist (Dovecot: NO), not a syntax error.
    else if (!utf8Client) throw new StoreError('invalid', `mailbox name is not valid modified UTF-7 (${d.error})`);
  }
  // A trailing separator names the same mailbox (RFC 9051 §6.3.4 CREATE "foo/").
  while (name.length > 1 && name.endsWith(MAILBOX_SEPARATOR)) name = name.slice(0, -1);
  return canonicalMailboxName(name, MAILBOX_SEPARATOR);
}

/** RFC 9051 §9 flag: `\Answered` … or a keyword atom. Returns the flag in canonical case for system flags. */
const SYSTEM_FLAGS = ['\\Answered', '\\Flagged', '\\Deleted', '\\Seen', '\\Draft'];
export function parseFlags(items: Token[]): string[] {
  const out: string[] = [];
  for (const t of items) {
    // NIL is an atom too: a keyword named "NIL" (the reader gives it its own token type).
    if (t.type !== 'atom' && t.type !== 'nil') throw new ArgError('Flags must be atoms');
    let f = t.type === 'nil' ? 'NIL' : t.value;
    if (f.startsWith('\\')) {
      const sys = SYSTEM_FLAGS.find((x) => x.toLowerCase() === f.toLowerCase());
      // RFC 9051 §2.3.2: \Recent cannot be set by the client; other \-flags are not ours to invent.
      if (!sys) throw new ArgError(`Invalid flag ${f}`);
      f = sys;
    } else if (/[*%\\\]]/.test(f)) {
      throw new ArgError(`Invalid keyword ${f}`);
    }
    if (!out.includes(f)) out.push(f);
  }
  return out;
}
