// Canonical forms of the names the store keys on: domains (lower-case ASCII,
// IDNs as A-labels) and addresses (whole address lower-cased). Every backend
// normalizes through here so `Bob@Example.COM` and `bob@example.com` are one
// account everywhere. Invalid input throws StoreError('invalid').

import { domainToASCII } from 'node:url';
import { StoreError } from './store.ts';

// RFC 1035 §2.3.4 / RFC 5321 §4.5.3.1.2: label ≤ 63, name ≤ 255 (253 as text).
const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;
// RFC 5322 §3.2.3 atext, plus any non-ASCII for RFC 6531 (SMTPUTF8) local parts.
const ATOM = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~\u0080-\u{10FFFF}-]+$/u;

/** A-label, lower-case form of a domain, or null if it is not a valid host name. */
export function parseDomain(name: string): string | null {
  if (name.length === 0 || name.length > 253 || /[\s@]/.test(name)) return null;
  const ascii = domainToASCII(name);
  if (ascii === '' || ascii.length > 253) return null;
  const labels = ascii.split('.');
  if (!labels.every((l) => LABEL.test(l))) return null;
  // An all-numeric last label is an IP address literal, not a mail domain.
  if (/^[0-9]+$/.test(labels[labels.length - 1]!)) return null;
  return ascii;
}

/** `local@domain` lower-cased with the domain as A-labels, or null. */
export function parseAddress(address: string): string | null {
  const at = address.lastIndexOf('@');
  if (at <= 0) return null;
  const local = address.slice(0, at);
  const domain = parseDomain(address.slice(at + 1));
  if (domain === null) return null;
  // RFC 5321 §4.5.3.1.1: local part ≤ 64 octets. Dot-atom only (no quoted
  // strings): mailbox names we host are chosen by the operator.
  if (Buffer.byteLength(local) > 64) return null;
  if (!local.split('.').every((atom) => ATOM.test(atom))) return null;
  return `${local.toLowerCase()}@${domain}`;
}

export function domainOf(address: string): string {
  return address.slice(address.lastIndexOf('@') + 1);
}

export function requireDomain(name: string): string {
  const d = parseDomain(name);
  if (d === null) throw new StoreError('invalid', `invalid domain name: ${JSON.stringify(name)}`);
  return d;
}

export function requireAddress(address: string): string {
  const a = parseAddress(address);
  if (a === null) throw new StoreError('invalid', `invalid address: ${JSON.stringify(address)}`);
  return a;
}

/** An alias source: `local@domain`, or `@domain` for a catch-all. */
export function requireAliasSource(source: string): string {
  if (source.startsWith('@')) return '@' + requireDomain(source.slice(1));
  return requireAddress(source);
}

/** IMAP flags and keywords (RFC 9051 §2.3.2): atoms, optionally `\`-prefixed.
 * They are stored space-separated, so no spaces or control characters. */
export function requireFlag(flag: string): string {
  if (!/^\\?[!#$&'+,\-./0-9:;<=>?@A-Z\[^_`a-z|}~]+$/.test(flag)) {
    throw new StoreError('invalid', `invalid flag: ${JSON.stringify(flag)}`);
  }
  return flag;
}

/** An app password's name: what the user calls the device ("phone",
 * "laptop-thunderbird"). Shown in logs and lists, so no spaces or controls. */
export function requireAppPasswordName(name: string): string {
  if (typeof name !== 'string' || !/^[A-Za-z0-9._@+-]{1,64}$/.test(name)) {
    throw new StoreError('invalid', `invalid app password name: ${JSON.stringify(name)} (letters, digits and ._@+-, at most 64)`);
  }
  return name;
}

/** A sender grant: `local@domain`, or `@domain` for every address of the domain. */
export const requireSenderGrant = requireAliasSource;
