// Incremental IMAP command reader (RFC 9051 §9 formal syntax, also valid for
// RFC 3501): bytes are fed in as they arrive, and out come complete commands
// as token lists (atoms, numbers, NIL, quoted strings, literals, literal8,
// nested lists, and BODY[...]<...> section tokens), continuation requests for
// synchronizing literals (RFC 9051 §4.3, §7.5), and typed errors. Limits on
// line length, literal size, total command size and nesting depth are kept
// here; after a limit or syntax error the reader resynchronizes at the next
// line end and never interprets a refused literal's bytes as commands.
// Pure: no I/O, never throws.

export type Token =
  | { type: 'atom'; value: string }
  | { type: 'number'; value: number }
  | { type: 'nil' }
  | { type: 'quoted'; value: string }
  | { type: 'literal'; value: Uint8Array; binary: boolean }
  | { type: 'list'; items: Token[] }
  // RFC 9051 §6.4.5: BODY[section]<partial>, BODY.PEEK[...], BINARY[...], BINARY.SIZE[...]
  | { type: 'section'; name: string; section: Token[]; partial?: { offset: number; length?: number } };

export type ImapLexError = {
  kind: 'too_long' | 'literal_too_large' | 'syntax';
  tag?: string;
  message: string;
};

export type ReaderEvent =
  | { type: 'command'; tag: string; tokens: Token[] }
  // A synchronizing literal was accepted: the server sends "+ Ready" now.
  | { type: 'continue'; tag?: string }
  | { type: 'error'; error: ImapLexError };

export type ReaderOptions = {
  /** Longest text line (a segment between literals), without CRLF. */
  maxLineLength?: number;
  /** Largest literal or literal8 accepted. */
  maxLiteralSize?: number;
  /** Largest command: all lines plus all literals. */
  maxCommandSize?: number;
  /** Deepest nesting of parenthesized lists and sections. */
  maxDepth?: number;
  /** Non-synchronizing literals: RFC 7888 LITERAL+ (any size), LITERAL- (≤ 4096), or none. */
  nonSyncLiterals?: 'plus' | 'minus' | 'none';
};

export const DEFAULT_READER_OPTIONS: Required<ReaderOptions> = {
  maxLineLength: 8192,
  maxLiteralSize: 64 * 1024 * 1024,
  maxCommandSize: 65 * 1024 * 1024,
  maxDepth: 16,
  nonSyncLiterals: 'plus',
};

// RFC 7888 §4: LITERAL- allows non-synchronizing literals of at most 4096 octets.
const LITERAL_MINUS_MAX = 4096;

type Part = { kind: 'text'; bytes: Buffer } | { kind: 'literal'; bytes: Buffer; binary: boolean };

const LF = 0x0a;
const CR = 0x0d;

export class CommandReader {
  private readonly opts: Required<ReaderOptions>;
  private parts: Part[] = [];
  private line: Buffer[] = [];
  private lineLength = 0;
  private commandSize = 0;
  /** Dropping the rest of a refused command (still skipping its non-sync literals). */
  private discarding = false;
  /** The current line exceeded the limit: drop bytes up to the next LF. */
  private overflow = false;
  private literalRemaining = 0;
  private literalChunks: Buffer[] = [];
  private literalBinary = false;
  private inLiteral = false;
  private tag: string | undefined;
  /** The tag has been looked for (found or invalid): don't rescan the line. */
  private tagChecked = false;

  constructor(options: ReaderOptions = {}) {
    this.opts = { ...DEFAULT_READER_OPTIONS, ...options };
  }

  /** True when no partial command is buffered (e.g. safe to start TLS). */
  get idle(): boolean {
    return !this.inLiteral && this.parts.length === 0 && this.lineLength === 0 && !this.discarding && !this.overflow;
  }

  push(chunk: Uint8Array): ReaderEvent[] {
    const events: ReaderEvent[] = [];
    let buf = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    while (buf.length > 0) {
      if (this.inLiteral) {
        const take = Math.min(this.literalRemaining, buf.length);
        if (!this.discarding) this.literalChunks.push(Buffer.from(buf.subarray(0, take)));
        this.literalRemaining -= take;
        buf = buf.subarray(take);
        if (this.literalRemaining === 0) this.endLiteral();
        continue;
      }
      const lf = buf.indexOf(LF);
      const piece = lf < 0 ? buf : buf.subarray(0, lf);
      buf = lf < 0 ? buf.subarray(buf.length) : buf.subarray(lf + 1);
      if (!this.overflow) {
        // RFC 9051 §4: the line limit counts the text without CRLF; a trailing CR is allowed for.
        if (this.lineLength + piece.length > this.opts.maxLineLength + 1) {
          this.noteTag(piece);
          this.overflow = true;
          this.line = [];
          this.lineLength = 0;
          if (!this.discarding) this.fail(events, 'too_long', `line longer than ${this.opts.maxLineLength} octets`);
        } else {
          this.line.push(Buffer.from(piece));
          this.lineLength += piece.length;
          if (piece.includes(0x20)) this.noteTag(null);
        }
      }
      if (lf >= 0) this.endLine(events);
    }
    return events;
  }

  private noteTag(extra: Buffer | null): void {
    if (this.tagChecked || this.parts.length > 0) return;
    const head = Buffer.concat(extra ? [...this.line, extra] : this.line);
    const sp = head.indexOf(0x20);
    if (sp < 0 && !extra) return;
    const cand = head.subarray(0, sp < 0 ? head.length : sp).toString('latin1');
    this.tagChecked = true;
    if (isTag(cand)) this.tag = cand;
  }

  private endLiteral(): void {
    this.inLiteral = false;
    if (!this.discarding) {
      this.parts.push({ kind: 'literal', bytes: Buffer.concat(this.literalChunks), binary: this.literalBinary });
    }
    this.literalChunks = [];
  }

  private fail(events: ReaderEvent[], kind: ImapLexError['kind'], message: string): void {
    const error: ImapLexError = { kind, message };
    if (this.tag !== undefined) error.tag = this.tag;
    events.push({ type: 'error', error });
    this.discarding = true;
    this.parts = [];
  }

  private reset(): void {
    this.parts = [];
    this.line = [];
    this.lineLength = 0;
    this.commandSize = 0;
    this.discarding = false;
    this.overflow = false;
    this.tag = undefined;
    this.tagChecked = false;
  }

  private endLine(events: ReaderEvent[]): void {
    if (this.overflow) {
      // The tail of an over-long line is not inspected: the command ends here.
      this.reset();
      return;
    }
    let text = Buffer.concat(this.line);
    this.line = [];
    this.lineLength = 0;
    if (text.length > 0 && text[text.length - 1] === CR) text = text.subarray(0, text.length - 1);
    if (text.length > this.opts.maxLineLength) {
      if (!this.discarding) this.fail(events, 'too_long', `line longer than ${this.opts.maxLineLength} octets`);
      this.reset();
      return;
    }
    this.commandSize += text.length + 2;
    const marker = trailingLiteral(text);
    if (this.discarding) {
      // Keep skipping non-synchronizing literals so their bytes are never read as commands.
      if (marker && !marker.sync) this.startLiteral(marker.size ?? Number.POSITIVE_INFINITY, marker.binary);
      else this.reset();
      return;
    }
    if (this.commandSize > this.opts.maxCommandSize) {
      this.fail(events, 'too_long', `command longer than ${this.opts.maxCommandSize} octets`);
      if (marker && !marker.sync) this.startLiteral(marker.size ?? Number.POSITIVE_INFINITY, marker.binary);
      else this.reset();
      return;
    }
    this.parts.push({ kind: 'text', bytes: text });
    if (!marker) {
      this.finishCommand(events);
      return;
    }
    const size = marker.size ?? Number.POSITIVE_INFINITY;
    let refusal: [ImapLexError['kind'], string] | null = null;
    if (size > this.opts.maxLiteralSize) {
      refusal = ['literal_too_large', `literal larger than ${this.opts.maxLiteralSize} octets`];
    } else if (!marker.sync && this.opts.nonSyncLiterals === 'none') {
      refusal = ['syntax', 'non-synchronizing literals are not supported'];
    } else if (!marker.sync && this.opts.nonSyncLiterals === 'minus' && size > LITERAL_MINUS_MAX) {
      // RFC 7888 §4: a LITERAL- server rejects larger non-synchronizing literals with BAD.
      refusal = ['literal_too_large', `non-synchronizing literal larger than ${LITERAL_MINUS_MAX} octets`];
    } else if (this.commandSize + size > this.opts.maxCommandSize) {
      refusal = ['too_long', `command longer than ${this.opts.maxCommandSize} octets`];
    }
    if (refusal) {
      this.fail(events, refusal[0], refusal[1]);
      // A refused synchronizing literal: the client waits for "+", which never comes, so
      // no literal bytes follow. A non-synchronizing one is on its way and is skipped.
      if (!marker.sync) this.startLiteral(size, marker.binary);
      else this.reset();
      return;
    }
    this.commandSize += size;
    if (marker.sync) {
      const ev: ReaderEvent = { type: 'continue' };
      if (this.tag !== undefined) ev.tag = this.tag;
      events.push(ev);
    }
    this.startLiteral(size, marker.binary);
  }

  private startLiteral(size: number, binary: boolean): void {
    this.literalRemaining = size;
    this.literalBinary = binary;
    this.literalChunks = [];
    this.inLiteral = true;
    if (size === 0) this.endLiteral();
  }

  private finishCommand(events: ReaderEvent[]): void {
    const parts = this.parts;
    const tag = this.tag;
    this.reset();
    const r = parseCommand(parts, this.opts.maxDepth);
    if (r.ok) events.push({ type: 'command', tag: r.tag, tokens: r.tokens });
    else {
      const error: ImapLexError = { kind: r.kind, message: r.message };
      if (tag !== undefined) error.tag = tag;
      events.push({ type: 'error', error });
    }
  }
}

/** RFC 9051 §9: tag = 1*<any ASTRING-CHAR except "+">. */
export function isTag(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x2b || !isAstringChar(c)) return false;
  }
  return true;
}

// RFC 9051 §9: ATOM-CHAR = <any CHAR except atom-specials>;
// atom-specials = "(" / ")" / "{" / SP / CTL / list-wildcards / quoted-specials / resp-specials
function isAtomChar(c: number): boolean {
  if (c <= 0x20 || c >= 0x7f) return false;
  return c !== 0x28 && c !== 0x29 && c !== 0x7b && c !== 0x25 && c !== 0x2a && c !== 0x22 && c !== 0x5c && c !== 0x5d;
}
function isAstringChar(c: number): boolean {
  return isAtomChar(c) || c === 0x5d;
}
// Liberal command-token characters: atoms plus list-wildcards ("*" "%"), "\" for flags,
// "]" outside sections (astring); "[" opens a section.
function isTokenChar(c: number, inSection: boolean): boolean {
  if (c <= 0x20 || c >= 0x7f) return false;
  if (c === 0x28 || c === 0x29 || c === 0x7b || c === 0x22 || c === 0x5b) return false;
  if (c === 0x5d) return !inSection;
  return true;
}

/** A literal marker `{n}`, `{n+}` or `~{n}` ending a line outside a quoted string. */
function trailingLiteral(line: Buffer): { size: number | undefined; sync: boolean; binary: boolean } | null {
  if (line.length < 3 || line[line.length - 1] !== 0x7d) return null;
  // Only a marker outside any quoted string counts.
  let inQuote = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (inQuote) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inQuote = false;
    } else if (c === 0x22) inQuote = true;
  }
  if (inQuote) return null;
  let i = line.length - 2;
  let sync = true;
  if (line[i] === 0x2b) {
    sync = false;
    i--;
  }
  const end = i + 1;
  while (i >= 0 && line[i]! >= 0x30 && line[i]! <= 0x39) i--;
  if (i === end - 1 || i < 0 || line[i] !== 0x7b) return null;
  const digits = line.subarray(i + 1, end).toString('latin1');
  const binary = i > 0 && line[i - 1] === 0x7e;
  // RFC 9051 §9: number64 — anything longer than 15 digits is simply too large.
  const size = digits.length > 15 ? undefined : Number(digits);
  return { size, sync, binary };
}

type ParseResult =
  | { ok: true; tag: string; tokens: Token[] }
  | { ok: false; kind: 'syntax' | 'too_long'; message: string };

class SyntaxError_ {
  readonly kind: 'syntax' | 'too_long';
  readonly message: string;
  constructor(kind: 'syntax' | 'too_long', message: string) {
    this.kind = kind;
    this.message = message;
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Parse one complete command: text parts, each literal marker followed by its literal part. */
function parseCommand(parts: Part[], maxDepth: number): ParseResult {
  const p = new Parser(parts, maxDepth);
  try {
    const first = parts[0];
    if (!first || first.kind !== 'text' || (parts.length === 1 && first.bytes.length === 0)) {
      return { ok: false, kind: 'syntax', message: 'empty command' };
    }
    const sp = first.bytes.indexOf(0x20);
    const tag = first.bytes.subarray(0, sp < 0 ? first.bytes.length : sp).toString('latin1');
    if (!isTag(tag)) return { ok: false, kind: 'syntax', message: 'invalid tag' };
    if (sp < 0) return { ok: false, kind: 'syntax', message: 'missing command' };
    p.pos = sp + 1;
    const tokens = p.sequence(0, 'end');
    return { ok: true, tag, tokens };
  } catch (e) {
    if (e instanceof SyntaxError_) return { ok: false, kind: e.kind, message: e.message };
    return { ok: false, kind: 'syntax', message: 'malformed command' };
  }
}

// RFC 9051 §6.4.5, RFC 3516: the FETCH items that take a [section].
const SECTION_NAMES = new Set(['BODY', 'BODY.PEEK', 'BINARY', 'BINARY.PEEK', 'BINARY.SIZE']);

class Parser {
  private readonly parts: Part[];
  private readonly maxDepth: number;
  private index = 0;
  pos = 0;

  constructor(parts: Part[], maxDepth: number) {
    this.parts = parts;
    this.maxDepth = maxDepth;
  }

  private get text(): Buffer {
    const part = this.parts[this.index];
    return part && part.kind === 'text' ? part.bytes : Buffer.alloc(0);
  }
  private peek(): number {
    const t = this.text;
    return this.pos < t.length ? t[this.pos]! : -1;
  }
  private atEnd(): boolean {
    return this.pos >= this.text.length && this.index >= this.parts.length - 1;
  }
  private err(message: string): never {
    throw new SyntaxError_('syntax', message);
  }

  /** Tokens separated by single spaces, up to the end, ")" or "]". */
  sequence(depth: number, close: 'end' | ')' | ']'): Token[] {
    const tokens: Token[] = [];
    const closer = close === ')' ? 0x29 : close === ']' ? 0x5d : -1;
    if (close !== 'end' && this.peek() === closer) {
      this.pos++;
      return tokens;
    }
    for (;;) {
      if (close === 'end' && this.atEnd()) {
        if (tokens.length === 0) this.err('missing command');
        this.err('trailing space');
      }
      tokens.push(this.token(depth, close === ']'));
      if (close === 'end' && this.atEnd()) return tokens;
      const c = this.peek();
      if (c === closer && closer >= 0) {
        this.pos++;
        return tokens;
      }
      if (c !== 0x20) this.err(c < 0 ? `missing "${close}"` : 'expected space');
      this.pos++;
    }
  }

  private token(depth: number, inSection: boolean): Token {
    const c = this.peek();
    if (c === 0x28) {
      if (depth + 1 > this.maxDepth) throw new SyntaxError_('syntax', `nesting deeper than ${this.maxDepth}`);
      this.pos++;
      return { type: 'list', items: this.sequence(depth + 1, ')') };
    }
    if (c === 0x22) return this.quoted();
    if (c === 0x7b) return this.literal(false);
    if (c === 0x7e && this.text[this.pos + 1] === 0x7b) {
      this.pos++;
      return this.literal(true);
    }
    return this.atom(depth, inSection);
  }

  // RFC 9051 §9: quoted = DQUOTE *QUOTED-CHAR DQUOTE; QUOTED-CHAR = TEXT-CHAR except
  // quoted-specials / "\" quoted-specials / UTF8-2..4 (utf8-quoted, 8-bit allowed).
  private quoted(): Token {
    const t = this.text;
    this.pos++;
    const out: number[] = [];
    for (;;) {
      if (this.pos >= t.length) this.err('unterminated quoted string');
      const c = t[this.pos++]!;
      if (c === 0x22) break;
      if (c === 0x5c) {
        const n = t[this.pos++];
        if (n !== 0x22 && n !== 0x5c) this.err('invalid escape in quoted string');
        out.push(n);
      } else if (c === 0x00 || c === CR || c === LF) this.err('invalid character in quoted string');
      else out.push(c);
    }
    let value: string;
    try {
      value = utf8.decode(Uint8Array.from(out));
    } catch {
      this.err('invalid UTF-8 in quoted string');
    }
    return { type: 'quoted', value };
  }

  // RFC 9051 §9: literal = "{" number64 ["+"] "}" CRLF *CHAR8; literal8 = "~{" number64 "}" CRLF *OCTET
  private literal(binary: boolean): Token {
    const t = this.text;
    if (!/^\{[0-9]{1,15}\+?\}$/.test(t.subarray(this.pos).toString('latin1'))) this.err('a literal marker must end the line');
    const next = this.parts[this.index + 1];
    if (!next || next.kind !== 'literal') this.err('missing literal data');
    if (next.binary !== binary) this.err('malformed literal marker');
    if (!binary && next.bytes.includes(0)) this.err('NUL in literal (use literal8)');
    this.index += 2;
    this.pos = 0;
    return { type: 'literal', value: new Uint8Array(next.bytes), binary };
  }

  private atom(depth: number, inSection: boolean): Token {
    const t = this.text;
    const start = this.pos;
    while (this.pos < t.length && isTokenChar(t[this.pos]!, inSection)) this.pos++;
    // RFC 9051 §9: "[" is an ATOM-CHAR; it opens a section only after BODY, BODY.PEEK,
    // BINARY, BINARY.PEEK or BINARY.SIZE (so a mailbox name like "a[b" stays one atom).
    while (this.peek() === 0x5b && !SECTION_NAMES.has(t.subarray(start, this.pos).toString('latin1').toUpperCase())) {
      this.pos++;
      while (this.pos < t.length && isTokenChar(t[this.pos]!, inSection)) this.pos++;
    }
    const value = t.subarray(start, this.pos).toString('latin1');
    if (this.peek() === 0x5b) {
      if (value.length === 0) this.err('section without a name');
      if (depth + 1 > this.maxDepth) throw new SyntaxError_('syntax', `nesting deeper than ${this.maxDepth}`);
      this.pos++;
      const section = this.sequence(depth + 1, ']');
      const tok: Token = { type: 'section', name: value, section };
      if (this.peek() === 0x3c) tok.partial = this.partial();
      return tok;
    }
    if (value.length === 0) this.err(this.pos < t.length ? 'unexpected character' : 'missing token');
    // Only canonical digit strings become numbers, so String(value) restores an astring ("007" stays an atom).
    if (/^(?:0|[1-9][0-9]{0,14})$/.test(value)) return { type: 'number', value: Number(value) };
    if (value.toUpperCase() === 'NIL') return { type: 'nil' };
    return { type: 'atom', value };
  }

  // RFC 9051 §9: "<" number "." nz-number ">" in fetch-att ("<" number ">" in responses).
  private partial(): { offset: number; length?: number } {
    const t = this.text;
    const m = /^<([0-9]{1,15})(?:\.([0-9]{1,15}))?>/.exec(t.subarray(this.pos, this.pos + 40).toString('latin1'));
    if (!m) this.err('malformed partial');
    this.pos += m[0].length;
    const r: { offset: number; length?: number } = { offset: Number(m[1]) };
    if (m[2] !== undefined) r.length = Number(m[2]);
    return r;
  }
}
