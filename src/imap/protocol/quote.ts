// Serializing strings for IMAP responses (RFC 9051 §4.3, §9): an astring as
// a bare atom when it can be one, otherwise a quoted string when every
// character may appear quoted, otherwise a literal `{n}` CRLF followed by the
// UTF-8 octets. CR, LF and NUL never go inside a quoted string (RFC 9051 §9:
// QUOTED-CHAR excludes them), and 8-bit text is quoted only for clients that
// accept UTF-8 (IMAP4rev2 or UTF8=ACCEPT, RFC 9051 §4.3; RFC 6855).

export type QuoteOptions = {
  /** The client accepts UTF-8 in quoted strings (IMAP4rev2 / UTF8=ACCEPT). Default true. */
  utf8?: boolean;
  /** Strings longer than this (in octets) go out as literals. Default 1024. */
  maxQuoted?: number;
};

// RFC 9051 §9: ATOM-CHAR = any CHAR except atom-specials ( ) { SP CTL % * " \ ]
function isAtomChar(c: number): boolean {
  if (c <= 0x20 || c >= 0x7f) return false;
  return c !== 0x28 && c !== 0x29 && c !== 0x7b && c !== 0x25 && c !== 0x2a && c !== 0x22 && c !== 0x5c && c !== 0x5d;
}

/** Could s be sent as an atom (and not be mistaken for NIL or a number)? */
export function isAtom(s: string): boolean {
  if (s.length === 0 || s.toUpperCase() === 'NIL') return false;
  for (let i = 0; i < s.length; i++) if (!isAtomChar(s.charCodeAt(i))) return false;
  return true;
}

function canQuote(s: string, utf8: boolean): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0 || c === 0x0a || c === 0x0d) return false;
    if (c >= 0x80 && !utf8) return false;
    // A lone surrogate has no UTF-8 form: send it as a literal of the replacement octets.
    if (c >= 0xd800 && c <= 0xdfff) {
      const next = s.charCodeAt(i + 1);
      if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) i++;
      else return false;
    }
  }
  return true;
}

/** RFC 9051 §9: quoted = DQUOTE *QUOTED-CHAR DQUOTE, escaping " and \. */
export function quoted(s: string): string {
  return `"${s.replace(/[\\"]/g, (m) => '\\' + m)}"`;
}

/** RFC 9051 §9: literal = "{" number64 "}" CRLF *CHAR8, counting UTF-8 octets. */
export function literal(s: string): string {
  return `{${Buffer.byteLength(s, 'utf8')}}\r\n${s}`;
}

/** RFC 9051 §9 `string`: quoted if possible, else a literal. Never an atom. */
export function serializeString(s: string, opts: QuoteOptions = {}): string {
  const maxQuoted = opts.maxQuoted ?? 1024;
  if (canQuote(s, opts.utf8 ?? true) && Buffer.byteLength(s, 'utf8') <= maxQuoted) return quoted(s);
  return literal(s);
}

/** RFC 9051 §9 `astring`: an atom when possible, else a string. */
export function serializeAstring(s: string, opts: QuoteOptions = {}): string {
  return isAtom(s) ? s : serializeString(s, opts);
}

/** RFC 9051 §9 `nstring`: NIL for null, else a string. */
export function serializeNstring(s: string | null | undefined, opts: QuoteOptions = {}): string {
  return s === null || s === undefined ? 'NIL' : serializeString(s, opts);
}
