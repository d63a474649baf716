// Domain and address-literal syntax for SMTP paths and EHLO: RFC 5321 §4.1.2
// (sub-domain, address-literal, IPv4/IPv6 literals) and RFC 5321 §4.1.3, with
// RFC 6531 §3.3 allowing U-labels. Pure checks: no DNS.
import { domainToASCII } from 'node:url';

// RFC 5321 §4.5.3.1.2: a domain name is at most 255 octets.
export const MAX_DOMAIN = 255;
// RFC 1035 §2.3.4: a label is at most 63 octets (checked on the A-label).
const MAX_LABEL = 63;

// RFC 5321 §4.1.2: sub-domain = Let-dig [Ldh-str]; Ldh-str ends in Let-dig.
const LDH_LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?$/;
const ASCII = /^[\x00-\x7f]*$/;
// Characters a U-label may hold besides non-ASCII: letters, digits, hyphen
// (RFC 6531 §3.3: no ASCII graphics or controls).
const ULABEL_CHARS = /^[A-Za-z0-9\u0080-\u{10ffff}-]+$/u;
// C1 controls, U+FFFD (what an invalid UTF-8 byte decodes to) and lone surrogates.
const BAD_UNICODE = /[\u0080-\u009f\ufffd]|\p{Cs}/u;

/** True for `Domain` of RFC 5321 §4.1.2 with U-labels (RFC 6531 §3.3). */
export function isDomain(d: string): boolean {
  if (d.length === 0 || Buffer.byteLength(d) > MAX_DOMAIN) return false;
  for (const label of d.split('.')) {
    if (!isLabel(label)) return false;
  }
  return true;
}

function isLabel(label: string): boolean {
  if (ASCII.test(label)) return label.length <= MAX_LABEL && LDH_LABEL.test(label);
  // RFC 6531 §3.3: sub-domain =/ U-label (RFC 5890 §2.3.2.1). We accept a
  // non-ASCII label when IDNA (UTS 46) turns it into one valid LDH label.
  if (!ULABEL_CHARS.test(label) || BAD_UNICODE.test(label)) return false;
  if (label.startsWith('-') || label.endsWith('-')) return false;
  const a = domainToASCII(label);
  return a.length > 0 && a.length <= MAX_LABEL && !a.includes('.') && LDH_LABEL.test(a);
}

/** True for `address-literal` of RFC 5321 §4.1.2, brackets included. Only the
 * IPv4 and IPv6 forms: no General-address-literal tag is registered. */
export function isAddressLiteral(s: string): boolean {
  if (s.length < 3 || s[0] !== '[' || s[s.length - 1] !== ']') return false;
  const inner = s.slice(1, -1);
  // RFC 5321 §4.1.3: IPv6-address-literal = "IPv6:" IPv6-addr (ABNF strings are case-insensitive).
  if (inner.length > 5 && inner.slice(0, 5).toLowerCase() === 'ipv6:') return isIPv6(inner.slice(5));
  return isIPv4(inner);
}

// RFC 5321 §4.1.3: Snum = 1*3DIGIT representing a decimal integer value in the range 0 through 255.
function isIPv4(s: string): boolean {
  const parts = s.split('.');
  if (parts.length !== 4) return false;
  return parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255);
}

const HEX16 = /^[0-9A-Fa-f]{1,4}$/;

// RFC 5321 §4.1.3: IPv6-full / IPv6-comp / IPv6v4-full / IPv6v4-comp.
function isIPv6(s: string): boolean {
  let v4 = false;
  let rest = s;
  const lastColon = s.lastIndexOf(':');
  if (lastColon >= 0 && s.indexOf('.', lastColon) > lastColon) {
    if (!isIPv4(s.slice(lastColon + 1))) return false;
    v4 = true;
    // Drop the colon before the IPv4 part unless it is half of a "::".
    rest = s.slice(0, lastColon + 1);
    if (!rest.endsWith('::')) rest = rest.slice(0, -1);
  }
  const groups = (t: string): string[] | null => {
    if (t === '') return [];
    const g = t.split(':');
    return g.every((x) => HEX16.test(x)) ? g : null;
  };
  const dbl = rest.indexOf('::');
  if (dbl < 0) {
    const g = groups(rest);
    // IPv6-full: 8 groups; IPv6v4-full: 6 groups then the IPv4 address.
    return g !== null && g.length === (v4 ? 6 : 8);
  }
  if (rest.indexOf('::', dbl + 1) >= 0) return false;
  const left = groups(rest.slice(0, dbl));
  const right = groups(rest.slice(dbl + 2));
  if (left === null || right === null) return false;
  // IPv6-comp: "::" stands for at least 2 groups, so at most 6 others;
  // IPv6v4-comp: at most 4 others besides the IPv4 address.
  return left.length + right.length <= (v4 ? 4 : 6);
}
