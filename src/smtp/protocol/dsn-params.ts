// The RFC 3461 DSN parameters of MAIL (RET, ENVID) and RCPT (NOTIFY, ORCPT):
// pure parsers that validate a parameter value and return it interpreted, or
// the 501 5.5.4 reply that refuses it, plus the xtext (RFC 3461 §4) and RFC
// 6533 utf-8-addr-xtext codecs used on the way in and out. Values are kept as
// received (they travel on unchanged); the decoders are for the DSN report
// and for the SMTP client, which encodes again.
import { R, type Reply } from './reply.ts';

/** RFC 3461 §4.1 NOTIFY values. NEVER stands alone. */
export type DsnNotify = 'SUCCESS' | 'FAILURE' | 'DELAY' | 'NEVER';
export type DsnRet = 'FULL' | 'HDRS';

/** RFC 3461 §4.4: the ENVID value is at most 100 characters. */
export const ENVID_MAX = 100;
/** RFC 3461 §4.2: our bound on the ORCPT value (the store keeps up to this). */
export const ORCPT_MAX = 500;

export type DsnResult<T> = { ok: true; value: T } | { ok: false; reply: Reply };

const NOTIFY_ORDER: readonly DsnNotify[] = ['SUCCESS', 'FAILURE', 'DELAY'];
// RFC 3461 §4: xtext = *( xchar / hexchar ); xchar is "!".."~" except "+" and "=";
// hexchar is "+" and two UPPER CASE hexadecimal digits.
const XTEXT = /^(?:[\x21-\x2a\x2c-\x3c\x3e-\x7e]|\+[0-9A-F]{2})*$/;
// RFC 6533 §3: utf-8-addr-xtext / utf-8-addr-unitext = 1*(QCHAR / QUCHAR / EmbeddedUnicodeChar);
// QCHAR is printable ASCII except "+", "=" and "\"; QUCHAR adds non-ASCII UTF-8.
const UTF8_ADDR = /^(?:[\x21-\x2a\x2c-\x3c\x3e-\x5b\x5d-\x7e]|[^\x00-\x7f]|\\x\{[0-9A-Fa-f]{1,6}\})+$/u;
// RFC 3461 §4.2: addr-type = atom (RFC 5322 atext; "=" cannot occur in an esmtp-value).
const ADDR_TYPE = /^[A-Za-z0-9!#$%&'*+\-/?^_`{|}~]+$/;

const bad = (text: string): { ok: false; reply: Reply } => ({ ok: false, reply: R.paramSyntax(text) });

/** RFC 3461 §4.1: NOTIFY=NEVER, or a comma list of SUCCESS, FAILURE, DELAY
 * (case-insensitive). Returned in canonical order without repeats. */
export function parseNotify(v: string | true): DsnResult<DsnNotify[]> {
  const usage = 'Syntax: NOTIFY=NEVER or NOTIFY=SUCCESS,FAILURE,DELAY (RFC 3461 §4.1)';
  if (v === true || v === '') return bad(usage);
  const items = v.toUpperCase().split(',');
  if (items.length === 1 && items[0] === 'NEVER') return { ok: true, value: ['NEVER'] };
  for (const i of items) {
    if (i === 'NEVER') return bad('NOTIFY=NEVER cannot be combined with other values (RFC 3461 §4.1)');
    if (!(NOTIFY_ORDER as readonly string[]).includes(i)) return bad(usage);
  }
  return { ok: true, value: NOTIFY_ORDER.filter((n) => items.includes(n)) };
}

export function formatNotify(n: readonly DsnNotify[]): string {
  return n.includes('NEVER') ? 'NEVER' : NOTIFY_ORDER.filter((x) => n.includes(x)).join(',');
}

/** RFC 3461 §4.3: RET=FULL or RET=HDRS (case-insensitive). */
export function parseRet(v: string | true): DsnResult<DsnRet> {
  const r = v === true ? '' : v.toUpperCase();
  if (r === 'FULL' || r === 'HDRS') return { ok: true, value: r };
  return bad('Syntax: RET=FULL or RET=HDRS (RFC 3461 §4.3)');
}

/** RFC 3461 §4.4: ENVID=xtext, at most 100 characters, printable US-ASCII
 * once decoded. The value is returned as received (still xtext). */
export function parseEnvid(v: string | true): DsnResult<string> {
  if (v === true || v === '') return bad('Syntax: ENVID=<xtext> (RFC 3461 §4.4)');
  if (v.length > ENVID_MAX) return bad(`ENVID is longer than ${ENVID_MAX} characters (RFC 3461 §4.4)`);
  const d = xtextDecode(v);
  if (d === null || !/^[\x20-\x7e]+$/.test(d)) return bad('ENVID is not valid xtext (RFC 3461 §4)');
  return { ok: true, value: v };
}

export interface Orcpt {
  /** addr-type as given, e.g. "rfc822" or "utf-8". */
  type: string;
  /** The address, decoded. */
  address: string;
}

/** RFC 3461 §4.2: ORCPT=addr-type;xtext. For addr-type utf-8 the address is
 * RFC 6533 §3 utf-8-addr-xtext or (with SMTPUTF8, which the session checks)
 * utf-8-addr-unitext; otherwise xtext that decodes to printable US-ASCII.
 * Returns the decoded parts; the caller keeps the value as received. */
export function parseOrcpt(v: string | true): DsnResult<Orcpt> {
  const usage = 'Syntax: ORCPT=addr-type;address (RFC 3461 §4.2)';
  if (v === true) return bad(usage);
  if (v.length > ORCPT_MAX) return bad(`ORCPT is longer than ${ORCPT_MAX} characters`);
  const semi = v.indexOf(';');
  if (semi <= 0) return bad(usage);
  const type = v.slice(0, semi);
  const raw = v.slice(semi + 1);
  if (!ADDR_TYPE.test(type) || raw === '') return bad(usage);
  const address = decodeOrcptAddress(type, raw);
  if (address === null) return bad('ORCPT address is not valid xtext (RFC 3461 §4, RFC 6533 §3)');
  return { ok: true, value: { type, address } };
}

/** The address of an ORCPT value as received, decoded; null if it is malformed. */
export function decodeOrcpt(value: string): Orcpt | null {
  const r = parseOrcpt(value);
  return r.ok ? r.value : null;
}

function decodeOrcptAddress(type: string, raw: string): string | null {
  if (type.toLowerCase() === 'utf-8') {
    if (!UTF8_ADDR.test(raw)) return null;
    let ok = true;
    const out = raw.replace(/\\x\{([0-9A-Fa-f]{1,6})\}/g, (_m, h: string) => {
      const cp = parseInt(h, 16);
      if (cp === 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) ok = false;
      return ok ? String.fromCodePoint(cp) : '';
    });
    return ok && !/[\x00-\x1f\x7f]/.test(out) ? out : null;
  }
  const d = xtextDecode(raw);
  // RFC 3461 §4.2: the decoded address is printable US-ASCII (non-ASCII needs addr-type utf-8).
  return d !== null && /^[\x20-\x7e]+$/.test(d) ? d : null;
}

/** The canonical ORCPT value for an address: utf-8 (RFC 6533 utf-8-addr-xtext)
 * when the address is not ASCII or the type says so, otherwise xtext. */
export function formatOrcpt(o: Orcpt): string {
  if (o.type.toLowerCase() === 'utf-8' || /[^\x00-\x7f]/.test(o.address)) return `utf-8;${utf8AddrXtext(o.address)}`;
  return `${o.type};${xtextEncode(o.address)}`;
}

/** RFC 3461 §4: decodes xtext into a string of octets (latin1); null if not xtext. */
export function xtextDecode(s: string): string | null {
  if (!XTEXT.test(s)) return null;
  return s.replace(/\+([0-9A-F]{2})/g, (_m, h: string) => String.fromCharCode(parseInt(h, 16)));
}

/** RFC 3461 §4: "+", "=" and octets outside "!".."~" become "+XX" (UTF-8 octets for non-ASCII). */
export function xtextEncode(s: string): string {
  let out = '';
  for (const byte of Buffer.from(s, 'utf8')) {
    out += byte >= 0x21 && byte <= 0x7e && byte !== 0x2b && byte !== 0x3d ? String.fromCharCode(byte) : '+' + byte.toString(16).toUpperCase().padStart(2, '0');
  }
  return out;
}

/** RFC 6533 §3: utf-8-addr-xtext — "+", "=", "\", controls, space and non-ASCII become \x{HEX}. */
export function utf8AddrXtext(s: string): string {
  let out = '';
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    out += cp >= 0x21 && cp <= 0x7e && ch !== '+' && ch !== '=' && ch !== '\\' ? ch : `\\x{${cp.toString(16).toUpperCase()}}`;
  }
  return out;
}
