// Envelope addresses: parses an SMTP path (`<local@domain>`) per RFC 5321
// §4.1.2 with the RFC 6531 §3.3 UTF-8 extensions, formats an address back
// (quoting the local part only when needed), and derives the canonical form
// used as a store key. The local part is kept as its semantic value (quotes
// removed, quoted-pairs unescaped); the domain is kept as written.
import { domainToASCII } from 'node:url';
import { isAddressLiteral, isDomain, MAX_DOMAIN } from './domain.ts';

export { isAddressLiteral, isDomain } from './domain.ts';

export interface MailAddress {
  local: string;
  domain: string;
}

export type PathResult = { ok: true; address: MailAddress; utf8: boolean } | { ok: false; error: string };

// RFC 5321 §4.5.3.1.1: local part ≤ 64 octets; §4.5.3.1.3: path ≤ 256 octets.
export const MAX_LOCAL = 64;
export const MAX_PATH = 256;

// RFC 5322 §3.2.3 atext, extended with UTF8-non-ascii by RFC 6531 §3.3.
const ATEXT = "A-Za-z0-9!#$%&'*+\\-/=?^_`{|}~\\u0080-\\u{10ffff}";
// RFC 5321 §4.1.2: Dot-string = Atom *("." Atom).
const DOT_STRING = new RegExp(`^[${ATEXT}]+(?:\\.[${ATEXT}]+)*$`, 'u');
// C1 controls, U+FFFD (an invalid UTF-8 byte after decoding) and lone surrogates.
const BAD_UNICODE = /[\u0080-\u009f\ufffd]|\p{Cs}/u;
const NON_ASCII = /[^\x00-\x7f]/;

function fail(error: string): PathResult {
  return { ok: false, error };
}

/** Parses `<...>` (brackets included). The null path `<>` is an error here:
 * the MAIL parser handles it before calling. */
export function parsePath(s: string): PathResult {
  if (s.length < 2 || s[0] !== '<' || s[s.length - 1] !== '>') return fail('address must be enclosed in <>');
  if (s.length === 2) return fail('empty address');
  if (Buffer.byteLength(s) > MAX_PATH) return fail('address too long');
  if (BAD_UNICODE.test(s)) return fail('invalid character in address');
  const utf8 = NON_ASCII.test(s);
  let inner = s.slice(1, -1);

  // RFC 5321 §4.1.1.3: "<Postmaster>" without a domain, case-insensitive.
  if (inner.toLowerCase() === 'postmaster') return { ok: true, address: { local: 'postmaster', domain: '' }, utf8: false };

  // RFC 5321 §4.1.2 A-d-l and §C: source routes are accepted and ignored.
  if (inner[0] === '@') {
    const colon = inner.indexOf(':');
    if (colon < 0) return fail('bad source route');
    for (const hop of inner.slice(0, colon).split(',')) {
      if (hop[0] !== '@' || !isDomain(hop.slice(1))) return fail('bad source route');
    }
    inner = inner.slice(colon + 1);
  }

  const lp = parseLocal(inner);
  if (typeof lp === 'string') return fail(lp);
  // RFC 5321 §4.5.3.1.1, measured as written (quotes and escapes included).
  if (Buffer.byteLength(inner.slice(0, lp.end)) > MAX_LOCAL) return fail('local part too long');
  if (inner[lp.end] !== '@') return fail(lp.end === inner.length ? 'missing domain' : 'bad local part');
  const domain = inner.slice(lp.end + 1);
  if (domain === '') return fail('missing domain');
  if (Buffer.byteLength(domain) > MAX_DOMAIN) return fail('domain too long');
  if (domain[0] === '[') {
    if (!isAddressLiteral(domain)) return fail('bad address literal');
  } else if (!isDomain(domain)) {
    return fail('bad domain');
  }
  return { ok: true, address: { local: lp.local, domain }, utf8 };
}

/** The local part at the start of `s`: its value and where it ends, or an error. */
function parseLocal(s: string): { local: string; end: number } | string {
  if (s[0] !== '"') {
    const at = s.indexOf('@');
    const raw = at < 0 ? s : s.slice(0, at);
    if (raw === '') return 'empty local part';
    if (!DOT_STRING.test(raw)) return 'bad local part';
    return { local: raw, end: raw.length };
  }
  // RFC 5321 §4.1.2: Quoted-string = DQUOTE *QcontentSMTP DQUOTE.
  let local = '';
  let i = 1;
  for (;;) {
    if (i >= s.length) return 'unterminated quoted local part';
    const c = s.charCodeAt(i);
    if (c === 0x22) break;
    if (c === 0x5c) {
      // quoted-pairSMTP = %d92 %d32-126
      const n = s.charCodeAt(i + 1);
      if (!(n >= 32 && n <= 126)) return 'bad quoted-pair in local part';
      local += s[i + 1];
      i += 2;
      continue;
    }
    // qtextSMTP = %d32-33 / %d35-91 / %d93-126, and UTF8-non-ascii (RFC 6531 §3.3).
    if (c < 32 || c === 127) return 'control character in local part';
    local += s[i];
    i++;
  }
  return { local, end: i + 1 };
}

/** "local@domain", quoting the local part when it is not a Dot-string. The
 * postmaster form (empty domain) formats as just "postmaster". */
export function formatAddress(a: MailAddress): string {
  const local = DOT_STRING.test(a.local) ? a.local : quoteLocal(a.local);
  return a.domain === '' ? local : `${local}@${a.domain}`;
}

// RFC 5321 §4.1.2: only `"` and `\` need (and should get) a backslash.
function quoteLocal(local: string): string {
  return `"${local.replace(/["\\]/g, '\\$&')}"`;
}

/**
 * The store key for an address: local part NFC-normalized and lower-cased,
 * domain lower-cased with U-labels converted to A-labels (IDNA via node:url),
 * address literals lower-cased. Distinct keys mean distinct addresses in
 * that form, because the local part is re-quoted when needed.
 */
export function canonicalAddress(a: MailAddress): string {
  const local = a.local.normalize('NFC').toLowerCase().normalize('NFC');
  let domain = a.domain.toLowerCase();
  if (domain !== '' && domain[0] !== '[') domain = domainToASCII(a.domain.normalize('NFC')) || domain;
  return formatAddress({ local, domain });
}
