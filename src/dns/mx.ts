// Where mail for a domain goes (RFC 5321 §5.1): its MX records sorted by
// preference with equal preferences shuffled, each host turned into its IPv6
// and IPv4 addresses; no MX records → the domain's own addresses (implicit MX);
// a lone "." MX → null MX (RFC 7505, the domain accepts no mail). The answer
// says what the queue should do: try these hosts in order, bounce (null MX, no
// such domain, no usable host), or try again later (DNS failed). Pure logic
// over a resolver interface, so tests hand it a fake; randomness is injected.

import { isIP } from 'node:net';
import type { DnsAnswer, DnsError, MxRecord } from './resolver.ts';

/** The part of DnsResolver this needs. */
export interface MailHostResolver {
  mx(domain: string): Promise<DnsAnswer<MxRecord>>;
  a(domain: string): Promise<DnsAnswer<string>>;
  aaaa(domain: string): Promise<DnsAnswer<string>>;
}

export interface MailHost {
  /** Host name (lower case, no trailing dot), or the domain itself for an implicit MX. */
  name: string;
  preference: number;
  /** Addresses in the order to try them. */
  addresses: string[];
}

/** A host that was left out, and why (for logs and the deferral text). */
export interface SkippedHost {
  name: string;
  reason: 'ip_literal' | 'null_host' | 'no_address' | 'lookup_failed' | 'over_limit';
}

export type MailRoute =
  /** Try these hosts in order; `implicit` when they come from the domain's own A/AAAA. */
  | { kind: 'hosts'; hosts: MailHost[]; implicit: boolean; skipped: SkippedHost[] }
  /** RFC 7505 §3: the domain publishes a null MX; bounce with 556 5.1.10. */
  | { kind: 'null_mx' }
  /** The domain does not exist (NXDOMAIN): permanent. */
  | { kind: 'no_domain' }
  /** The domain exists but has no usable mail host (RFC 5321 §5.1: "MUST be reported as an error"): permanent. */
  | { kind: 'no_hosts'; reason: string; skipped: SkippedHost[] }
  /** DNS did not answer (timeout, SERVFAIL, …): try again later. */
  | { kind: 'temporary'; reason: string };

export type AddressOrder = 'ipv6-first' | 'ipv4-first' | 'ipv4-only' | 'ipv6-only';

export interface MailHostOptions {
  /** Uniform in [0, 1): shuffles hosts of equal preference. Default Math.random. */
  random?: () => number;
  /** Default 'ipv6-first'. */
  addressOrder?: AddressOrder;
  /** Most MX hosts looked up; a domain cannot make us resolve hundreds. Default 10. */
  maxHosts?: number;
}

export async function resolveMailHosts(resolver: MailHostResolver, domain: string, options: MailHostOptions = {}): Promise<MailRoute> {
  const order = options.addressOrder ?? 'ipv6-first';
  const maxHosts = options.maxHosts ?? 10;

  // RFC 5321 §4.1.3 / §5.1: an address literal names the host directly.
  const literal = addressLiteral(domain);
  if (literal) return { kind: 'hosts', hosts: [{ name: domain, preference: 0, addresses: [literal] }], implicit: true, skipped: [] };

  const name = domain.toLowerCase().replace(/\.$/, '');
  let mx: MxRecord[];
  try {
    mx = (await resolver.mx(name)).records;
  } catch (err) {
    const kind = (err as DnsError).kind;
    if (kind === 'nxdomain') return { kind: 'no_domain' };
    if (kind !== 'nodata') return { kind: 'temporary', reason: describe(err, 'MX', name) };
    mx = [];
  }

  // RFC 5321 §5.1: no MX records → implicit MX of preference 0 pointing at the domain.
  if (mx.length === 0) {
    const r = await addressesOf(resolver, name, order);
    if (r.addresses.length > 0) return { kind: 'hosts', hosts: [{ name, preference: 0, addresses: r.addresses }], implicit: true, skipped: [] };
    if (r.failure) return { kind: 'temporary', reason: r.failure };
    if (r.nxdomain) return { kind: 'no_domain' };
    return { kind: 'no_hosts', reason: `${name} has no MX, A or AAAA records`, skipped: [] };
  }

  // RFC 7505 §3: a single MX whose exchange is "." means "no mail here".
  // (The RFC writes preference 0; a lone "." at any preference is just as undeliverable.)
  if (mx.length === 1 && isRoot(mx[0].exchange)) return { kind: 'null_mx' };

  const sorted = sortByPreference(mx, options.random ?? Math.random);
  const skipped: SkippedHost[] = [];
  const candidates: { name: string; preference: number }[] = [];
  const seen = new Set<string>();
  for (const m of sorted) {
    const host = m.exchange.toLowerCase().replace(/\.$/, '');
    if (seen.has(host)) continue; // listed twice: the first (best) preference counts
    seen.add(host);
    // RFC 7505 §4.3: "." next to real MX records is an error in the zone; skip it.
    if (host === '') skipped.push({ name: '.', reason: 'null_host' });
    // RFC 5321 §5.1: the exchange is a domain name; an IP address there is invalid.
    else if (isIP(host) !== 0 || host.startsWith('[')) skipped.push({ name: host, reason: 'ip_literal' });
    else if (candidates.length >= maxHosts) skipped.push({ name: host, reason: 'over_limit' });
    else candidates.push({ name: host, preference: m.preference });
  }

  const looked = await Promise.all(candidates.map((c) => addressesOf(resolver, c.name, order)));
  const hosts: MailHost[] = [];
  const failures: string[] = [];
  candidates.forEach((c, i) => {
    const r = looked[i];
    if (r.addresses.length > 0) hosts.push({ ...c, addresses: r.addresses });
    else if (r.failure) {
      failures.push(r.failure);
      skipped.push({ name: c.name, reason: 'lookup_failed' });
    } else skipped.push({ name: c.name, reason: 'no_address' });
  });
  if (hosts.length > 0) return { kind: 'hosts', hosts, implicit: false, skipped };
  // No usable host: a DNS failure may heal, a host without addresses is a broken zone.
  if (failures.length > 0) return { kind: 'temporary', reason: failures[0] };
  return { kind: 'no_hosts', reason: `no MX host of ${name} has an address`, skipped };
}

/**
 * The smart host ([delivery] relay) as a route for any domain: an IP address
 * as is, a name through its AAAA/A records. Any failure is temporary: a
 * missing relay host is our configuration, never a reason to bounce mail.
 */
export async function resolveRelayHost(resolver: MailHostResolver, host: string, order: AddressOrder = 'ipv6-first'): Promise<MailRoute> {
  if (isIP(host) !== 0) return { kind: 'hosts', hosts: [{ name: host, preference: 0, addresses: [host] }], implicit: false, skipped: [] };
  const name = host.toLowerCase().replace(/\.$/, '');
  const r = await addressesOf(resolver, name, order);
  if (r.addresses.length > 0) return { kind: 'hosts', hosts: [{ name, preference: 0, addresses: r.addresses }], implicit: false, skipped: [] };
  return { kind: 'temporary', reason: r.failure ?? `the relay host ${name} has no A or AAAA record` };
}

/** Sorts by preference, shuffling each run of equal preferences (RFC 5321 §5.1). */
export function sortByPreference(mx: readonly MxRecord[], random: () => number): MxRecord[] {
  const out = mx.slice().sort((x, y) => x.preference - y.preference);
  for (let start = 0; start < out.length; ) {
    let end = start + 1;
    while (end < out.length && out[end].preference === out[start].preference) end++;
    // Fisher–Yates over out[start, end).
    for (let i = end - 1; i > start; i--) {
      const j = start + Math.floor(random() * (i - start + 1));
      [out[i], out[j]] = [out[j], out[i]];
    }
    start = end;
  }
  return out;
}

interface HostAddresses {
  addresses: string[];
  /** Set when a lookup failed for a reason other than "does not exist". */
  failure?: string;
  /** Both families answered NXDOMAIN. */
  nxdomain: boolean;
}

async function addressesOf(resolver: MailHostResolver, host: string, order: AddressOrder): Promise<HostAddresses> {
  const want6 = order !== 'ipv4-only';
  const want4 = order !== 'ipv6-only';
  const [v6, v4] = await Promise.all([want6 ? family(resolver.aaaa(host), 'AAAA', host) : null, want4 ? family(resolver.a(host), 'A', host) : null]);
  const results = [v6, v4].filter((r) => r !== null);
  const list6 = v6?.addresses ?? [];
  const list4 = v4?.addresses ?? [];
  const addresses = order === 'ipv4-first' ? [...list4, ...list6] : [...list6, ...list4];
  return {
    addresses: [...new Set(addresses)],
    failure: results.find((r) => r.failure)?.failure,
    nxdomain: results.every((r) => r.nxdomain),
  };
}

async function family(p: Promise<DnsAnswer<string>>, type: string, host: string): Promise<HostAddresses> {
  try {
    return { addresses: (await p).records, nxdomain: false };
  } catch (err) {
    const kind = (err as DnsError).kind;
    if (kind === 'nodata') return { addresses: [], nxdomain: false };
    if (kind === 'nxdomain') return { addresses: [], nxdomain: true };
    return { addresses: [], failure: describe(err, type, host), nxdomain: false };
  }
}

function describe(err: unknown, type: string, name: string): string {
  const kind = (err as DnsError)?.kind;
  return kind ? `DNS ${type} lookup for ${name} failed: ${kind}` : `DNS ${type} lookup for ${name} failed: ${String(err)}`;
}

function isRoot(exchange: string): boolean {
  return exchange === '' || exchange === '.';
}

/** "[192.0.2.1]" → "192.0.2.1", "[IPv6:2001:db8::1]" → "2001:db8::1" (RFC 5321 §4.1.3), else null. */
function addressLiteral(domain: string): string | null {
  if (!domain.startsWith('[') || !domain.endsWith(']')) return null;
  const inner = domain.slice(1, -1);
  if (isIP(inner) === 4) return inner;
  if (/^ipv6:/i.test(inner) && isIP(inner.slice(5)) === 6) return inner.slice(5);
  return null;
}
