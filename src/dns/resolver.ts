// DnsResolver: the one way Mailroom asks DNS questions. A thin wrapper over
// node:dns/promises Resolver (c-ares) that adds a deadline per lookup, errors
// classified into a closed set of kinds (DnsError), and a small LRU cache that
// honours TTLs: A/AAAA carry their record TTLs; node gives none for MX, TXT,
// SRV and PTR, so those are kept for `defaultTtl`; every TTL is capped at `maxTtl`.
// NXDOMAIN and NODATA are cached for `negativeTtl` (RFC 2308 §5); timeouts and
// server failures are never cached. Concurrent identical questions share one
// query. The clock is injected so tests can move time.

import { Resolver } from 'node:dns/promises';
import { isIP } from 'node:net';
import { domainToASCII } from 'node:url';

export type DnsErrorKind = 'nxdomain' | 'nodata' | 'timeout' | 'servfail' | 'refused' | 'other';

/** A failed lookup. `nxdomain` and `nodata` are answers (the name or the
 * record does not exist); the other kinds are failures to get an answer. */
export class DnsError extends Error {
  readonly kind: DnsErrorKind;
  override readonly name = 'DnsError';
  /** The name asked about and the record type. */
  readonly domain: string;
  readonly rrtype: DnsType;
  /** The c-ares code (ENOTFOUND, ETIMEOUT, …) when there was one. */
  readonly code: string | undefined;
  constructor(kind: DnsErrorKind, rrtype: DnsType, domain: string, code?: string) {
    super(`DNS ${rrtype} ${domain}: ${DESCRIPTIONS[kind]}${code ? ` (${code})` : ''}`);
    this.kind = kind;
    this.rrtype = rrtype;
    this.domain = domain;
    this.code = code;
  }
}

const DESCRIPTIONS: Record<DnsErrorKind, string> = {
  nxdomain: 'no such domain',
  nodata: 'no record of that type',
  timeout: 'timed out',
  servfail: 'server failure',
  refused: 'query refused',
  other: 'lookup failed',
};

export type DnsType = 'MX' | 'A' | 'AAAA' | 'TXT' | 'PTR' | 'SRV';

export interface MxRecord {
  exchange: string;
  preference: number;
}

/** RFC 2782 SRV data; target "" (written ".") means the service is not offered. */
export interface SrvRecord {
  priority: number;
  weight: number;
  port: number;
  target: string;
}

/** Records and their remaining time to live, in seconds. */
export interface DnsAnswer<T> {
  records: T[];
  ttl: number;
}

export interface DnsResolverOptions {
  /** "127.0.0.1:5353", "[::1]:53", "192.0.2.1"; empty or absent = the system's resolvers. */
  servers?: readonly string[];
  /** Deadline for one lookup, all tries included (ms). */
  timeoutMs?: number;
  /** Tries per server. */
  tries?: number;
  /** Clock for the cache, ms. */
  now?: () => number;
  /** Largest number of cached answers (least recently used goes first). */
  cacheSize?: number;
  /** TTL given to MX, TXT and PTR answers, for which node reports none (s). */
  defaultTtl?: number;
  /** Upper bound on any cached TTL (s). */
  maxTtl?: number;
  /** How long NXDOMAIN and NODATA are remembered (s). */
  negativeTtl?: number;
}

type Entry = { expires: number; answer: DnsAnswer<unknown> } | { expires: number; error: DnsError };

// c-ares error codes → kinds. EBADNAME: the name cannot exist in DNS.
const KINDS: Record<string, DnsErrorKind> = {
  ENOTFOUND: 'nxdomain',
  EBADNAME: 'nxdomain',
  ENODATA: 'nodata',
  ETIMEOUT: 'timeout',
  ESERVFAIL: 'servfail',
  EREFUSED: 'refused',
};

export class DnsResolver {
  readonly #resolver: Resolver;
  readonly #timeoutMs: number;
  readonly #now: () => number;
  readonly #cacheSize: number;
  readonly #defaultTtl: number;
  readonly #maxTtl: number;
  readonly #negativeTtl: number;
  readonly #cache = new Map<string, Entry>();
  readonly #inflight = new Map<string, Promise<DnsAnswer<unknown>>>();

  constructor(options: DnsResolverOptions = {}) {
    this.#timeoutMs = options.timeoutMs ?? 5000;
    const tries = Math.max(1, options.tries ?? 2);
    // c-ares backs off between tries; each try gets an equal share of the deadline.
    const perTry = Math.max(1, Math.ceil(this.#timeoutMs / tries));
    this.#resolver = new Resolver({ timeout: perTry, tries, maxTimeout: perTry });
    if (options.servers && options.servers.length > 0) this.#resolver.setServers([...options.servers]);
    this.#now = options.now ?? Date.now;
    this.#cacheSize = options.cacheSize ?? 1000;
    this.#defaultTtl = options.defaultTtl ?? 300;
    this.#maxTtl = options.maxTtl ?? 3600;
    this.#negativeTtl = options.negativeTtl ?? 60;
  }

  /** MX records as published (the null MX "." comes back as exchange ""). */
  mx(domain: string): Promise<DnsAnswer<MxRecord>> {
    return this.#lookup('MX', domain, async (r, name) => {
      const rows = await r.resolveMx(name);
      return { records: rows.map((m) => ({ exchange: m.exchange, preference: m.priority })), ttl: this.#defaultTtl };
    });
  }

  /** IPv4 addresses. */
  a(domain: string): Promise<DnsAnswer<string>> {
    return this.#lookup('A', domain, async (r, name) => withTtl(await r.resolve4(name, { ttl: true })));
  }

  /** IPv6 addresses. */
  aaaa(domain: string): Promise<DnsAnswer<string>> {
    return this.#lookup('AAAA', domain, async (r, name) => withTtl(await r.resolve6(name, { ttl: true })));
  }

  /** TXT records, each one's character-strings joined (RFC 7208 §3.3 reads them so). */
  txt(domain: string): Promise<DnsAnswer<string>> {
    return this.#lookup('TXT', domain, async (r, name) => {
      const rows = await r.resolveTxt(name);
      return { records: rows.map((chunks) => chunks.join('')), ttl: this.#defaultTtl };
    });
  }

  /** SRV records (RFC 2782), e.g. for RFC 6186 client autoconfiguration. */
  srv(name: string): Promise<DnsAnswer<SrvRecord>> {
    return this.#lookup('SRV', name, async (r, n) => {
      const rows = await r.resolveSrv(n);
      return { records: rows.map((x) => ({ priority: x.priority, weight: x.weight, port: x.port, target: x.name === '.' ? '' : x.name })), ttl: this.#defaultTtl };
    });
  }

  /** Names for an IP address, by a PTR query on its in-addr.arpa / ip6.arpa name
   * (a DNS question only: unlike dns.reverse, /etc/hosts is not consulted). */
  ptr(ip: string): Promise<DnsAnswer<string>> {
    const name = reverseName(ip);
    if (name === null) return Promise.reject(new DnsError('other', 'PTR', ip, 'EINVAL'));
    return this.#lookup('PTR', name, async (r, n) => ({ records: await r.resolvePtr(n), ttl: this.#defaultTtl }));
  }

  /** Forgets every cached answer. */
  clearCache(): void {
    this.#cache.clear();
  }

  #lookup<T>(type: DnsType, domain: string, query: (r: Resolver, name: string) => Promise<DnsAnswer<T>>): Promise<DnsAnswer<T>> {
    const name = normalizeName(domain);
    if (name === null) return Promise.reject(new DnsError('nxdomain', type, domain, 'EBADNAME'));
    const key = `${type} ${name}`;
    const now = this.#now();
    const hit = this.#cache.get(key);
    if (hit) {
      this.#cache.delete(key);
      if (hit.expires > now) {
        this.#cache.set(key, hit); // most recently used goes last
        if ('error' in hit) return Promise.reject(hit.error);
        return Promise.resolve({ records: hit.answer.records.slice() as T[], ttl: Math.ceil((hit.expires - now) / 1000) });
      }
    }
    const pending = this.#inflight.get(key);
    if (pending) return pending as Promise<DnsAnswer<T>>;

    const p = this.#withDeadline(type, name, query(this.#resolver, name)).then(
      (answer) => {
        const ttl = Math.min(answer.ttl, this.#maxTtl);
        if (ttl > 0) this.#store(key, { expires: this.#now() + ttl * 1000, answer: { records: answer.records.slice(), ttl } });
        return { records: answer.records, ttl };
      },
      (err: unknown) => {
        const e = err instanceof DnsError ? err : classify(err, type, name);
        // RFC 2308 §5: negative answers may be cached; failures are not.
        if ((e.kind === 'nxdomain' || e.kind === 'nodata') && this.#negativeTtl > 0) {
          this.#store(key, { expires: this.#now() + Math.min(this.#negativeTtl, this.#maxTtl) * 1000, error: e });
        }
        throw e;
      },
    );
    const shared = p.finally(() => this.#inflight.delete(key));
    this.#inflight.set(key, shared as Promise<DnsAnswer<unknown>>);
    return shared;
  }

  #withDeadline<T>(type: DnsType, name: string, p: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => reject(new DnsError('timeout', type, name, 'ETIMEOUT')), this.#timeoutMs);
      p.then(
        (v) => {
          clearTimeout(timer);
          resolve(v);
        },
        (e: unknown) => {
          clearTimeout(timer);
          reject(e);
        },
      );
    });
  }

  #store(key: string, entry: Entry): void {
    if (this.#cacheSize <= 0) return;
    this.#cache.delete(key);
    this.#cache.set(key, entry);
    while (this.#cache.size > this.#cacheSize) {
      const oldest = this.#cache.keys().next().value as string;
      this.#cache.delete(oldest);
    }
  }
}

function withTtl(rows: { address: string; ttl: number }[]): DnsAnswer<string> {
  return { records: rows.map((r) => r.address), ttl: rows.length ? Math.min(...rows.map((r) => r.ttl)) : 0 };
}

function classify(err: unknown, type: DnsType, name: string): DnsError {
  const code = (err as { code?: unknown })?.code;
  const c = typeof code === 'string' ? code : undefined;
  return new DnsError((c && KINDS[c]) || 'other', type, name, c);
}

/** Lower-case A-label form without the trailing dot, or null if it cannot be a DNS name
 * (RFC 1035 §2.3.4: labels ≤ 63 octets, name ≤ 253 written). */
export function normalizeName(domain: string): string | null {
  const bare = domain.endsWith('.') ? domain.slice(0, -1) : domain;
  if (bare === '' || bare.includes('..')) return null;
  // RFC 5890: internationalized names are looked up by their A-labels.
  const ascii = /^[\x21-\x7e]+$/.test(bare) ? bare.toLowerCase() : domainToASCII(bare);
  if (ascii === '' || ascii.length > 253) return null;
  if (ascii.split('.').some((l) => l.length === 0 || l.length > 63)) return null;
  return ascii;
}

/** "192.0.2.1" → "1.2.0.192.in-addr.arpa"; IPv6 → nibbles under ip6.arpa (RFC 3596 §2.5); null if not an IP. */
export function reverseName(ip: string): string | null {
  const family = isIP(ip);
  if (family === 4) return ip.split('.').reverse().join('.') + '.in-addr.arpa';
  if (family !== 6) return null;
  let text = ip.toLowerCase();
  // An embedded IPv4 tail (::ffff:192.0.2.1) becomes two hex groups.
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (v4) {
    const [a, b, c, d] = v4.slice(1).map(Number);
    text = text.slice(0, v4.index) + ((a << 8) | b).toString(16) + ':' + ((c << 8) | d).toString(16);
  }
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  const nibbles = groups.map((g) => g.padStart(4, '0')).join('');
  return [...nibbles].reverse().join('.') + '.ip6.arpa';
}
