// The value type of `[dns] servers`: a list of DNS server addresses written
// "192.0.2.53", "127.0.0.1:5353", "2001:db8::53" or "[::1]:5353" — IP
// addresses only, since the resolver cannot look up the name of its own DNS
// server. The list is returned as written (the form node's Resolver takes).

import { isIP, isIPv6 } from 'node:net';
import type { ValueType } from './values.ts';
import { UnitError, show } from './units.ts';

export const DNS_SERVER_HELP = 'an array of IP addresses with optional ports, e.g. ["127.0.0.1:5353", "[::1]:53"]';

export function dnsServerList(): ValueType<string[]> {
  return {
    expected: DNS_SERVER_HELP,
    parse(raw) {
      if (!Array.isArray(raw)) throw new UnitError(`expected ${DNS_SERVER_HELP}, got ${show(raw)}`);
      return raw.map((item: unknown, i) => {
        if (typeof item !== 'string' || !isDnsServer(item)) {
          throw new UnitError(`expected an IP address such as "127.0.0.1", "127.0.0.1:5353" or "[::1]:53", got ${show(item)}`, `[${i}]`);
        }
        return item;
      });
    },
  };
}

/** "ip", "ipv4:port", "ipv6" or "[ipv6]:port". */
export function isDnsServer(s: string): boolean {
  if (isIP(s) !== 0) return true;
  let host: string;
  let port: string;
  if (s.startsWith('[')) {
    const m = /^\[([^\]]+)\]:(\d{1,5})$/.exec(s);
    if (!m || !isIPv6(m[1])) return false;
    [host, port] = [m[1], m[2]];
  } else {
    const m = /^([\d.]+):(\d{1,5})$/.exec(s);
    if (!m || isIP(m[1]) !== 4) return false;
    [host, port] = [m[1], m[2]];
  }
  return host !== '' && Number(port) >= 1 && Number(port) <= 65535;
}
