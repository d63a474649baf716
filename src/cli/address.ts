// Checks the domains and addresses typed on the command line and puts them in
// the canonical form the store keys on (lower case, IDNs as A-labels), with a
// message that says what was wrong. It reuses the store's own name rules
// (store/names.ts) so the CLI accepts exactly what the store accepts.
// TODO: once src/smtp/protocol/address.ts (parsePath/canonicalAddress) exists,
// check that it agrees with store/names.ts, or switch both to it.

import { parseAddress, parseDomain } from '../store/names.ts';
import { UsageError } from './context.ts';

export function domainArg(text: string, command: string): string {
  const d = parseDomain(text);
  if (d === null) throw new UsageError(`invalid domain name ${JSON.stringify(text)}: expected something like example.org`, command);
  return d;
}

export function addressArg(text: string, command: string): string {
  const a = parseAddress(text);
  if (a === null) {
    const why = !text.includes('@')
      ? 'expected local@domain'
      : text.startsWith('@')
        ? 'the part before "@" is missing'
        : 'expected local@domain, with a plain local part and a valid domain';
    throw new UsageError(`invalid address ${JSON.stringify(text)}: ${why}`, command);
  }
  return a;
}

/** An alias source: local@domain, or @domain for a catch-all. */
export function aliasSourceArg(text: string, command: string): string {
  if (text.startsWith('@')) return '@' + domainArg(text.slice(1), command);
  return addressArg(text, command);
}

export function domainOfAddress(address: string): string {
  return address.slice(address.lastIndexOf('@') + 1);
}
