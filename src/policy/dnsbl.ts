// DNS blocklists and allowlists (RFC 5782). At connect, the client's address
// is looked up in each configured zone — IPv4 as reversed octets, IPv6 as
// reversed nibbles (RFC 5782 §2.1, §2.4) — and a listing (an A record in
// 127.0.0.0/8) either refuses the connection with `554 5.7.1` and the list's
// TXT reason (action "reject") or, at the end of DATA, adds spam points
// (action "score"). A client on an allowlist (DNSWL) is never refused by a
// blocklist and gets negative points. URI blocklists (RFC 5782 §2.3, domain
// lists such as SURBL) are asked about the hosts of links in the body; their
// hits feed the spam score. Every look-up goes through DnsResolver (deadline,
// cache), so the data-stage repeat of a connect-stage look-up costs nothing.
// A look-up that fails (timeout, SERVFAIL) counts as not listed: a dead list
// must not stop mail.

import type { DnsResolver } from '../dns/resolver.ts';
import { DnsError, reverseName } from '../dns/resolver.ts';
import type { Logger } from '../log/logger.ts';
import { normalizeIp } from '../net/networks.ts';
import { R } from '../smtp/protocol/reply.ts';
import { verdict } from './pipeline.ts';
import type { ConnectContext, DataContext, HookAnswer, PolicyHook, ScoreRule } from './types.ts';

export type { ZoneAction, ZoneSpec } from '../config/abuse-values.ts';
export { parseZoneSpec } from '../config/abuse-values.ts';
import type { ZoneSpec } from '../config/abuse-values.ts';

export function formatZoneSpec(z: ZoneSpec): string {
  if (z.action.kind === 'reject') return `${z.zone}:reject`;
  return `${z.zone}:${z.action.kind}=${z.action.points}`;
}

/** The look-up name for an IP in a zone: 192.0.2.1 → 1.2.0.192.zone. Null for a non-IP. */
export function dnsblQueryName(ip: string, zone: string): string | null {
  const r = reverseName(normalizeIp(ip));
  if (!r) return null;
  return r.replace(/\.(in-addr|ip6)\.arpa$/, '') + '.' + zone;
}

/** RFC 5782 §2.1: listed means an A record in 127.0.0.0/8. 127.255.255.x are
 * list-operator error codes (e.g. Spamhaus refusing public resolvers), not listings. */
export function isListingAddress(a: string): boolean {
  return /^127\.\d+\.\d+\.\d+$/.test(a) && !a.startsWith('127.255.255.');
}

/** A rule name for a zone: zen.spamhaus.org → RCVD_IN_ZEN_SPAMHAUS_ORG. */
export function zoneRuleName(prefix: string, zone: string): string {
  return (prefix + '_' + zone.toUpperCase().replace(/[^A-Z0-9]+/g, '_')).slice(0, 40);
}

export interface Listing {
  zone: string;
  codes: string[];
  /** The TXT reason, or null. */
  reason: string | null;
}

export class DnsblChecker {
  readonly #dns: DnsResolver;
  readonly #log: Logger;
  constructor(dns: DnsResolver, log: Logger) {
    this.#dns = dns;
    this.#log = log;
  }

  /** Is `name` listed (A records in 127/8)? Failures count as not listed. */
  async #listed(name: string, zone: string, withReason: boolean): Promise<Listing | null> {
    try {
      const a = await this.#dns.a(name);
      const codes = a.records.filter(isListingAddress);
      if (codes.length === 0) return null;
      let reason: string | null = null;
      if (withReason) {
        try {
          reason = (await this.#dns.txt(name)).records.join(' ').trim() || null;
        } catch {
          reason = null;
        }
      }
      return { zone, codes, reason };
    } catch (err) {
      if (!(err instanceof DnsError && (err.kind === 'nxdomain' || err.kind === 'nodata'))) {
        this.#log.warn('DNS list look-up failed, treated as not listed', { zone, name, error: err });
      }
      return null;
    }
  }

  /** Look-ups of one IP in several zones, in parallel; listed zones in config order. */
  async checkIp(ip: string, zones: readonly ZoneSpec[], withReason: boolean): Promise<Array<Listing & { spec: ZoneSpec }>> {
    const res = await Promise.all(
      zones.map(async (z) => {
        const name = dnsblQueryName(ip, z.zone);
        const l = name ? await this.#listed(name, z.zone, withReason && z.action.kind === 'reject') : null;
        return l ? { ...l, spec: z } : null;
      }),
    );
    return res.filter((x): x is Listing & { spec: ZoneSpec } => x !== null);
  }

  /** URI blocklists: each link host (IP hosts reversed) in each zone; at most `maxHosts` hosts. */
  async checkHosts(hosts: readonly string[], zones: readonly ZoneSpec[], maxHosts = 20): Promise<Array<{ host: string; spec: ZoneSpec }>> {
    const out: Array<{ host: string; spec: ZoneSpec }> = [];
    const list = [...new Set(hosts.map((h) => h.toLowerCase()))].slice(0, maxHosts);
    await Promise.all(
      list.flatMap((host) =>
        zones.map(async (z) => {
          const name = dnsblQueryName(host, z.zone) ?? `${registrable(host)}.${z.zone}`;
          if (await this.#listed(name, z.zone, false)) out.push({ host, spec: z });
        }),
      ),
    );
    return out;
  }
}

/** Domain lists are keyed by the registrable domain (last two labels, three under a two-letter ccTLD's co/com/org…). */
function registrable(host: string): string {
  const l = host.split('.').filter(Boolean);
  if (l.length <= 2) return l.join('.');
  const n = l.length;
  const cc = l[n - 1].length === 2 && /^(co|com|net|org|gov|ac|edu|ne|or)$/.test(l[n - 2]);
  return l.slice(cc ? n - 3 : n - 2).join('.');
}

export interface DnsblConfig {
  enabled: boolean;
  zones: ZoneSpec[];
  allow_zones: ZoneSpec[];
  uri_zones: ZoneSpec[];
}

export interface DnsblHookOptions {
  checker: DnsblChecker;
  config: DnsblConfig;
  log: Logger;
}

export function dnsblHook(o: DnsblHookOptions): PolicyHook {
  const c = o.config;
  const rejectZones = c.zones.filter((z) => z.action.kind === 'reject');
  const scoreZones = c.zones.filter((z) => z.action.kind === 'score');
  return {
    name: 'dnsbl',
    onError: 'continue',
    async connect(ctx: ConnectContext): Promise<HookAnswer> {
      // Submission clients are people on dial-up and home ranges that blocklists
      // such as the Spamhaus PBL list on purpose: only port 25 is checked.
      if (!c.enabled || ctx.role !== 'smtp' || rejectZones.length === 0) return;
      const [allowed, listed] = await Promise.all([o.checker.checkIp(ctx.clientIp, c.allow_zones, false), o.checker.checkIp(ctx.clientIp, rejectZones, true)]);
      if (allowed.length > 0 || listed.length === 0) return;
      const l = listed[0];
      o.log.info('client refused: listed in DNS blocklist', { session: ctx.sessionId, client: ctx.clientIp, zone: l.zone, codes: l.codes, reason: l.reason });
      return verdict.reject(R.dnsblListed(l.reason ?? `Client host ${ctx.clientIp} is listed in ${l.zone}`), `listed in ${l.zone}`);
    },
    async data(ctx: DataContext): Promise<HookAnswer> {
      if (!c.enabled || ctx.role !== 'smtp' || scoreZones.length + c.allow_zones.length === 0) return;
      const listed = await o.checker.checkIp(ctx.clientIp, [...scoreZones, ...c.allow_zones], false);
      if (listed.length === 0) return;
      const rules: ScoreRule[] = listed.map((l) => ({
        name: zoneRuleName(l.spec.action.kind === 'allow' ? 'RCVD_IN_WL' : 'RCVD_IN', l.zone),
        score: l.spec.action.kind === 'reject' ? 0 : l.spec.action.points,
        description: `client ${ctx.clientIp} listed in ${l.zone} (${l.codes.join(',')})`,
      }));
      return verdict.score(...rules);
    },
  };
}

/** The URI blocklist look-up the spam hook calls with the link hosts it found. */
export function uriLookup(checker: DnsblChecker, c: DnsblConfig): ((hosts: string[]) => Promise<Array<{ name: string; points: number; reason: string }>>) | undefined {
  if (!c.enabled || c.uri_zones.length === 0) return undefined;
  return async (hosts) => {
    const hits = await checker.checkHosts(hosts, c.uri_zones);
    // One rule per zone (the first listed host named), so a message with many bad links is not counted many times.
    const byZone = new Map<string, { host: string; spec: ZoneSpec }>();
    for (const h of hits) if (!byZone.has(h.spec.zone)) byZone.set(h.spec.zone, h);
    return [...byZone.values()].map((h) => ({
      name: zoneRuleName('URIBL', h.spec.zone),
      points: h.spec.action.kind === 'reject' ? 5 : h.spec.action.points,
      reason: `link to ${h.host}, listed in ${h.spec.zone}`,
    }));
  };
}
