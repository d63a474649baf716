// The kinds of value a configuration key can hold. Each kind turns the raw
// TOML value into the typed value the program reads, or throws a UnitError
// whose message says what was expected and what was given; load.ts prefixes
// it with the file name and key path. `expected` is also the doc text used in
// mailroom.example.toml and the configuration reference.

import { isIPv4, isIPv6 } from 'node:net';
import { createSecureContext } from 'node:tls';
import type { ListenAddress, TlsCertificateFiles } from './types.ts';
import { UnitError, formatDuration, formatSize, parseDuration, parseSize, show } from './units.ts';

export interface ValueType<T> {
  /** What a valid value looks like, for docs, e.g. `a whole number ≥ 100`. */
  readonly expected: string;
  /** Raw TOML value → typed value; throws UnitError. */
  parse(raw: unknown): T;
}

export interface Floor {
  min: number;
  /** The RFC section that sets this minimum, named in the error. */
  rfc?: string;
}

function belowFloor(floor: Floor, shown: string, got: unknown): UnitError {
  if (floor.rfc) return new UnitError(`must be at least ${shown} (the minimum ${floor.rfc} requires), got ${show(got)}`);
  return new UnitError(`must be at least ${shown}, got ${show(got)}`);
}

/** An integer (a TOML integer, not a string). */
export function wholeNumber(floor: Floor): ValueType<number> {
  const expected = `a whole number ≥ ${floor.min}`;
  return {
    expected: floor.rfc ? `${expected} (the ${floor.rfc} minimum)` : expected,
    parse(raw) {
      const n = typeof raw === 'bigint' ? Number(raw) : raw;
      if (typeof n !== 'number' || !Number.isSafeInteger(n)) throw new UnitError(`expected ${expected}, got ${show(raw)}`);
      if (n < floor.min) throw belowFloor(floor, String(floor.min), raw);
      return n;
    },
  };
}

/** Bytes, written "50M" or as a number of bytes. */
export function size(floor: Floor): ValueType<number> {
  return {
    expected: floor.min > 0 ? `a size, at least ${formatSize(floor.min)}${floor.rfc ? ` (the ${floor.rfc} minimum)` : ''}` : 'a size',
    parse(raw) {
      const n = parseSize(raw);
      if (n < floor.min) throw belowFloor(floor, formatSize(floor.min), raw);
      return n;
    },
  };
}

/** Milliseconds, written "5m". `min` is in milliseconds. */
export function duration(floor: Floor): ValueType<number> {
  return {
    expected: floor.min > 0 ? 'a duration, more than 0' : 'a duration',
    parse(raw) {
      const n = parseDuration(raw);
      if (n < floor.min) throw belowFloor(floor, formatDuration(floor.min), raw);
      return n;
    },
  };
}

/** true or false (a TOML boolean, not a string). */
export function boolean(): ValueType<boolean> {
  return {
    expected: 'true or false',
    parse(raw) {
      if (typeof raw === 'boolean') return raw;
      throw new UnitError(`expected true or false, got ${show(raw)}`);
    },
  };
}

/** One of a fixed set of strings. */
export function oneOf<const T extends string>(choices: readonly T[]): ValueType<T> {
  const expected = choices.length === 1 ? JSON.stringify(choices[0]) : `one of ${choices.map((c) => JSON.stringify(c)).join(', ')}`;
  return {
    expected,
    parse(raw) {
      if (typeof raw === 'string' && (choices as readonly string[]).includes(raw)) return raw as T;
      throw new UnitError(`expected ${expected}, got ${show(raw)}`);
    },
  };
}

/** A non-empty string such as a directory path. */
export function text(what: string): ValueType<string> {
  return {
    expected: what,
    parse(raw) {
      if (typeof raw !== 'string' || raw.trim() === '') throw new UnitError(`expected ${what}, got ${show(raw)}`);
      return raw;
    },
  };
}

function isTomlTable(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === null || proto === Object.prototype;
}

/** An array of `{ cert = "…", key = "…" }` tables naming PEM files. Only the
 * shape is checked here; the files are read (and errors naming
 * `tls.certificates[i].cert` raised) when the server starts. */
export function certificateList(): ValueType<TlsCertificateFiles[]> {
  const expected = 'an array of tables { cert = "fullchain.pem", key = "key.pem" }';
  return {
    expected,
    parse(raw) {
      if (!Array.isArray(raw)) throw new UnitError(`expected ${expected}, got ${show(raw)}`);
      return raw.map((item: unknown, i) => {
        if (!isTomlTable(item)) throw new UnitError(`expected a table { cert = "…", key = "…" }, got ${show(item)}`, `[${i}]`);
        for (const k of Object.keys(item)) {
          if (k !== 'cert' && k !== 'key') throw new UnitError('unknown key (a certificate has only "cert" and "key")', `[${i}].${k}`);
        }
        const file = (k: 'cert' | 'key'): string => {
          const v = item[k];
          if (v === undefined) throw new UnitError(`missing: the path of the ${k === 'cert' ? 'PEM certificate chain' : 'PEM private key'} file`, `[${i}].${k}`);
          if (typeof v !== 'string' || v.trim() === '') throw new UnitError(`expected a file path, got ${show(v)}`, `[${i}].${k}`);
          return v;
        };
        return { cert: file('cert'), key: file('key') };
      });
    },
  };
}

/** An OpenSSL cipher list ("ECDHE-RSA-AES128-GCM-SHA256:…"); checked against
 * the OpenSSL that Node was built with, so a typo is caught at load time. */
export function cipherList(): ValueType<string> {
  const expected = 'an OpenSSL cipher list such as "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256"';
  return {
    expected,
    parse(raw) {
      if (typeof raw !== 'string' || raw.trim() === '') throw new UnitError(`expected ${expected}, got ${show(raw)}`);
      try {
        createSecureContext({ ciphers: raw });
      } catch {
        throw new UnitError(`OpenSSL knows none of the ciphers in ${show(raw)} (see \`openssl ciphers -v\`)`);
      }
      return raw;
    },
  };
}

/** Characters that separate a user from a tag (`user+tag@domain`); "" = none. */
export function delimiters(): ValueType<string> {
  const expected = 'characters such as "+" or "+-", or "" for none';
  return {
    expected,
    parse(raw) {
      if (typeof raw !== 'string') throw new UnitError(`expected ${expected}, got ${show(raw)}`);
      for (const ch of raw) {
        // RFC 5322 §3.2.3 atext, minus "." which separates atoms
        if (!"!#$%&'*+-/=?^_`{|}~".includes(ch)) {
          throw new UnitError(`expected ${expected}, got ${show(raw)}: ${show(ch)} cannot be a delimiter (use symbols such as + - _ =)`);
        }
      }
      return raw;
    },
  };
}

/** A DNS host name (letters, digits, hyphens, underscores; dot-separated labels). */
export function hostName(): ValueType<string> {
  const expected = 'a host name such as "mail.example.org"';
  return {
    expected,
    parse(raw) {
      if (typeof raw !== 'string' || !isHostName(raw)) throw new UnitError(`expected ${expected}, got ${show(raw)}`);
      return raw;
    },
  };
}

/** Any string, "" included (user names, passwords). */
export function anyText(what: string): ValueType<string> {
  return {
    expected: what,
    parse(raw) {
      if (typeof raw !== 'string') throw new UnitError(`expected ${what}, got ${show(raw)}`);
      return raw;
    },
  };
}

/** A host name, or "" for "not set" (the caller supplies the fallback). */
export function optionalHostName(): ValueType<string> {
  const expected = 'a host name such as "mail.example.org", or "" for the default';
  return {
    expected,
    parse(raw) {
      if (typeof raw !== 'string' || (raw !== '' && !isHostName(raw))) throw new UnitError(`expected ${expected}, got ${show(raw)}`);
      return raw;
    },
  };
}

/** "host:port" with a host name, IPv4 address or [IPv6] address, or "" for "not set". */
export function optionalHostPort(): ValueType<string> {
  const expected = 'a "host:port" such as "smtp.provider.example:587", or "" for none';
  return {
    expected,
    parse(raw) {
      if (typeof raw !== 'string') throw new UnitError(`expected ${expected}, got ${show(raw)}`);
      if (raw === '' || parseHostPort(raw)) return raw;
      throw new UnitError(`expected ${expected}, got ${show(raw)}`);
    },
  };
}

/** Splits "host:port" / "[v6]:port"; null when it is not one. */
export function parseHostPort(s: string): { host: string; port: number } | null {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:\[\]]+)):(\d{1,5})$/.exec(s);
  if (!m) return null;
  const port = Number(m[3]);
  if (port < 1 || port > 65535) return null;
  if (m[1] !== undefined) return isIPv6(m[1]) ? { host: m[1], port } : null;
  const host = m[2]!;
  return isIPv4(host) || isHostName(host) ? { host, port } : null;
}

export function isHostName(s: string): boolean {
  const name = s.endsWith('.') ? s.slice(0, -1) : s;
  if (name.length === 0 || name.length > 253) return false;
  for (const label of name.split('.')) {
    if (label.length === 0 || label.length > 63) return false;
    if (label.startsWith('-') || label.endsWith('-')) return false;
    for (const ch of label) {
      const ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch === '-' || ch === '_';
      if (!ok) return false;
    }
  }
  return true;
}

export const LISTEN_HELP = '"host:port", "[::1]:25" or ":25" (all interfaces)';

/** A listening address: "host:port", "[v6]:port" or ":port" (host "" = all interfaces). */
export function listenAddress(): ValueType<ListenAddress> {
  return {
    expected: LISTEN_HELP,
    parse(raw) {
      if (typeof raw !== 'string') throw new UnitError(`expected ${LISTEN_HELP}, got ${show(raw)}`);
      return parseListenAddress(raw);
    },
  };
}

/** Parses "host:port", "[::1]:25" or ":25"; host "" means every interface
 * (Node then listens on :: and 0.0.0.0 where the system allows). */
export function parseListenAddress(s: string): ListenAddress {
  const bad = (why?: string) => new UnitError(`expected ${LISTEN_HELP}, got ${show(s)}${why ? `: ${why}` : ''}`);
  let host: string;
  let portText: string;
  if (s.startsWith('[')) {
    const close = s.indexOf(']');
    if (close < 0) throw bad('missing "]"');
    host = s.slice(1, close);
    if (!isIPv6(host)) throw bad(`${show(host)} is not an IPv6 address`);
    if (s[close + 1] !== ':') throw bad('missing ":port"');
    portText = s.slice(close + 2);
  } else {
    const colon = s.lastIndexOf(':');
    if (colon < 0) throw bad('missing ":port"');
    host = s.slice(0, colon);
    portText = s.slice(colon + 1);
    if (host.includes(':')) throw bad('write IPv6 addresses in brackets, e.g. "[::1]:25"');
    if (host !== '' && !isIPv4(host) && !isHostName(host)) throw bad(`${show(host)} is not an IP address or host name`);
  }
  if (portText === '' || portText.length > 5 || ![...portText].every((c) => c >= '0' && c <= '9')) {
    throw bad(`${show(portText)} is not a port number`);
  }
  const port = Number(portText);
  if (port > 65535) throw bad('ports go up to 65535');
  return { host, port };
}

/** Spells a listen address back: { host: '::1', port: 25 } → "[::1]:25". */
export function formatListenAddress(a: ListenAddress): string {
  return isIPv6(a.host) ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}
