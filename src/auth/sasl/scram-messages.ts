// Pure parsers for the SCRAM client messages (RFC 5802 §7 grammar), used by
// the SCRAM-SHA-256 server (scram.ts). They return a value or an error text,
// never throw, and keep the exact text each signature covers
// (client-first-message-bare, client-final-message-without-proof).

import { strictBase64 } from './scram-keys.ts';

export interface ClientFirst {
  /** gs2-header as sent ("n,," / "y,," / "n,a=…,"), echoed base64 in c=. */
  gs2Header: string;
  authzid: string | null;
  username: string;
  clientNonce: string;
  /** client-first-message-bare, part of AuthMessage. */
  bare: string;
}

export interface ClientFinal {
  /** The decoded c= value: gs2-header (+ channel binding data, which we never use). */
  channelBinding: Buffer;
  nonce: string;
  proof: Buffer;
  /** client-final-message-without-proof, part of AuthMessage. */
  withoutProof: string;
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

const bad = (error: string): { ok: false; error: string } => ({ ok: false, error });

/** RFC 5802 §7: printable = %x21-2B / %x2D-7E (no comma). */
const PRINTABLE = /^[\x21-\x2b\x2d-\x7e]+$/;
/** attr-val / extensions: ALPHA "=" 1*value-char. */
const ATTR = /^[A-Za-z]=[^\x00,]+$/;

/** saslname: "," and "=" appear as "=2C" and "=3D"; any other "=" is invalid. */
export function decodeSaslname(s: string): string | null {
  if (s === '' || s.includes('\0')) return null;
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const ch = s[i];
    if (ch === ',') return null;
    if (ch !== '=') {
      out += ch;
      continue;
    }
    const esc = s.slice(i + 1, i + 3);
    if (esc === '2C') out += ',';
    else if (esc === '3D') out += '=';
    else return null;
    i += 2;
  }
  return out;
}

export function encodeSaslname(s: string): string {
  return s.replace(/=/g, '=3D').replace(/,/g, '=2C');
}

/** client-first-message = gs2-header client-first-message-bare. */
export function parseClientFirst(text: string): Parsed<ClientFirst> {
  const flag = text[0];
  // RFC 5802 §6: "p=" asks for channel binding, which we do not offer
  // (no -PLUS mechanism); "y" says the client could but thinks we cannot.
  if (flag === 'p') return bad('channel binding is not supported');
  if ((flag !== 'n' && flag !== 'y') || text[1] !== ',') return bad('malformed gs2 header');
  const end = text.indexOf(',', 2);
  if (end < 0) return bad('malformed gs2 header');
  const az = text.slice(2, end);
  let authzid: string | null = null;
  if (az !== '') {
    authzid = az.startsWith('a=') ? decodeSaslname(az.slice(2)) : null;
    if (authzid === null) return bad('malformed authzid');
  }
  const bare = text.slice(end + 1);
  const attrs = bare.split(',');
  // RFC 5802 §5.1: "m" is reserved for mandatory extensions; none are defined.
  if (attrs[0]!.startsWith('m=')) return bad('mandatory extensions are not supported');
  if (attrs.length < 2 || !attrs[0]!.startsWith('n=') || !attrs[1]!.startsWith('r=')) return bad('expected n= and r=');
  const username = decodeSaslname(attrs[0]!.slice(2));
  if (username === null) return bad('malformed username');
  const clientNonce = attrs[1]!.slice(2);
  if (!PRINTABLE.test(clientNonce)) return bad('malformed nonce');
  if (!attrs.slice(2).every((a) => ATTR.test(a))) return bad('malformed extension');
  return { ok: true, value: { gs2Header: text.slice(0, end + 1), authzid, username, clientNonce, bare } };
}

/** client-final-message = channel-binding "," nonce ["," extensions] "," proof. */
export function parseClientFinal(text: string): Parsed<ClientFinal> {
  const attrs = text.split(',');
  if (attrs.length < 3) return bad('expected c=, r= and p=');
  const [c, r] = attrs as [string, string];
  const p = attrs[attrs.length - 1]!;
  if (!c.startsWith('c=') || !r.startsWith('r=') || !p.startsWith('p=')) return bad('expected c=, r= and p=');
  const channelBinding = strictBase64(c.slice(2));
  if (channelBinding === null || channelBinding.length === 0) return bad('malformed channel binding');
  const nonce = r.slice(2);
  if (!PRINTABLE.test(nonce)) return bad('malformed nonce');
  if (!attrs.slice(2, -1).every((a) => ATTR.test(a))) return bad('malformed extension');
  const proof = strictBase64(p.slice(2));
  if (proof === null || proof.length !== 32) return bad('malformed proof');
  return { ok: true, value: { channelBinding, nonce, proof, withoutProof: text.slice(0, text.length - p.length - 1) } };
}
