// Greylisting (RFC 6647): the first delivery attempt of an unknown triplet —
// the client's network (IPv4 /24, IPv6 /64, RFC 6647 §2.3 and §5 on
// outbound pools), the envelope sender and the recipient — is deferred at
// RCPT with `450 4.7.1`. A retry after `greylist.delay` and within
// `greylist.window` passes, and the triplet is then remembered for
// `greylist.expiry` (each pass renews it). A network with `whitelist_after`
// passed triplets is not greylisted any more (RFC 6647 §4.2 auto-whitelisting).
// Mail from logged-in users and trusted networks is never greylisted (the hook
// is 'inbound'), nor, when configured, mail whose SPF passes for a sender
// domain with a good reputation. State lives in the store (AbuseStore), so a
// restart — or later another node — keeps it. Time comes from the context.

import { isIPv4, isIPv6 } from 'node:net';
import type { AbuseStore, GreylistEntry } from '../store/abuse-store.ts';
import type { HookAnswer, PolicyHook, RcptContext } from './types.ts';
import { verdict } from './pipeline.ts';
import { R } from '../smtp/protocol/reply.ts';
import { canonicalAddress } from '../smtp/protocol/address.ts';
import type { Logger } from '../log/logger.ts';
import { normalizeIp } from '../net/networks.ts';

export interface GreylistConfig {
  enabled: boolean;
  /** ms a retry must wait. */
  delay: number;
  /** ms after the first attempt within which a retry must come. */
  window: number;
  /** ms a passed triplet is remembered after it was last seen. */
  expiry: number;
  /** Passed triplets after which the whole client network is trusted; 0 = never. */
  whitelist_after: number;
  /** Skip greylisting when SPF passes for a sender domain known to send good mail. */
  skip_spf_known_good: boolean;
}

/** The client's network as the greylist key: "a.b.c.0/24" or "x:x:x:x::/64". */
export function clientNetwork(ip: string): string {
  const a = normalizeIp(ip);
  if (isIPv4(a)) return a.split('.').slice(0, 3).join('.') + '.0/24';
  if (isIPv6(a)) {
    const [head, tail] = a.toLowerCase().split('::') as [string, string | undefined];
    const h = head ? head.split(':') : [];
    const t = tail !== undefined && tail !== '' ? tail.split(':') : [];
    // An embedded IPv4 tail counts as two groups.
    const groups = tail === undefined ? h : [...h, ...Array<string>(Math.max(0, 8 - h.length - t.length)).fill('0'), ...t];
    return groups.slice(0, 4).map((g) => (parseInt(g, 16) || 0).toString(16)).join(':') + '::/64';
  }
  return a;
}

export type GreylistDecision =
  | { pass: true; reason: 'known' | 'retry-passed' | 'whitelisted-network' }
  | { pass: false; reason: 'new' | 'too-soon' | 'window-expired'; retryAfter: number };

export interface GreylistCheck {
  clientIp: string;
  sender: string;
  recipient: string;
  now: number;
}

/** The greylisting decision for one triplet, recording what it saw. */
export async function checkGreylist(store: AbuseStore, c: GreylistConfig, q: GreylistCheck): Promise<GreylistDecision> {
  const network = clientNetwork(q.clientIp);
  if (c.whitelist_after > 0 && (await store.countGreylistPassed(network, q.now - c.expiry)) >= c.whitelist_after) {
    return { pass: true, reason: 'whitelisted-network' };
  }
  const key = { network, sender: q.sender, recipient: q.recipient };
  const e = await store.getGreylist(key);
  const fresh = (reason: 'new' | 'window-expired'): GreylistDecision => ({ pass: false, reason, retryAfter: q.now + c.delay });
  if (!e || (e.passedAt !== null && e.lastSeen < q.now - c.expiry)) {
    await store.putGreylist({ ...key, firstSeen: q.now, lastSeen: q.now, passedAt: null, passes: 0 });
    return fresh('new');
  }
  if (e.passedAt === null) {
    if (q.now - e.firstSeen > c.window) {
      await store.putGreylist({ ...key, firstSeen: q.now, lastSeen: q.now, passedAt: null, passes: 0 });
      return fresh('window-expired');
    }
    if (q.now - e.firstSeen < c.delay) {
      await store.putGreylist({ ...e, lastSeen: q.now });
      return { pass: false, reason: 'too-soon', retryAfter: e.firstSeen + c.delay };
    }
    await store.putGreylist({ ...e, lastSeen: q.now, passedAt: q.now, passes: 1 });
    return { pass: true, reason: 'retry-passed' };
  }
  const next: GreylistEntry = { ...e, lastSeen: q.now, passes: e.passes + 1 };
  await store.putGreylist(next);
  return { pass: true, reason: 'known' };
}

export interface GreylistHookOptions {
  store: AbuseStore;
  config: GreylistConfig;
  log: Logger;
  /** SPF for the MAIL FROM identity passes (RFC 7208 §2.4); absent = never skip on SPF. */
  spfPass?: (clientIp: string, helo: string | null, sender: string) => Promise<boolean>;
  /** The sender domain has sent good mail before (reputation). */
  knownGoodDomain?: (domain: string) => Promise<boolean>;
}

export function greylistHook(o: GreylistHookOptions): PolicyHook {
  const c = o.config;
  // SPF is asked once per transaction (one MAIL FROM, many RCPTs).
  const spfCache = new Map<string, Promise<boolean>>();
  // Housekeeping: at most once an hour (by the context's clock), forget triplets not seen for
  // longer than both the window and the expiry.
  let lastPurge = 0;
  const purge = (now: number) => {
    if (now - lastPurge < 3600_000) return;
    lastPurge = now;
    void o.store.purgeGreylist(now - Math.max(c.window, c.expiry))
      .then((g) => (g > 0 ? o.log.info('greylist purged', { entries: g }) : undefined))
      .catch((err) => o.log.warn('abuse state purge failed', { error: err }));
  };
  return {
    name: 'greylist',
    onError: 'continue', // a store failure must not turn greylisting into a mail outage
    async rcpt(ctx: RcptContext): Promise<HookAnswer> {
      if (!c.enabled) return;
      purge(ctx.now.getTime());
      const sender = ctx.from ? canonicalAddress(ctx.from) : '';
      if (c.skip_spf_known_good && sender && o.spfPass && o.knownGoodDomain) {
        const domain = sender.slice(sender.lastIndexOf('@') + 1);
        const key = `${ctx.queueId}\0${ctx.clientIp}`;
        let spf = spfCache.get(key);
        if (!spf) {
          spf = o.spfPass(ctx.clientIp, ctx.helo, sender).catch(() => false);
          spfCache.set(key, spf);
          if (spfCache.size > 1000) spfCache.delete(spfCache.keys().next().value!);
        }
        if ((await spf) && (await o.knownGoodDomain(domain))) return verdict.note({ greylist: 'skipped: spf pass, known good domain' });
      }
      const d = await checkGreylist(o.store, c, { clientIp: ctx.clientIp, sender, recipient: canonicalAddress(ctx.recipient), now: ctx.now.getTime() });
      if (d.pass) return d.reason === 'retry-passed' ? verdict.note({ greylist: 'passed' }) : undefined;
      o.log.info('greylisted', { session: ctx.sessionId, client: ctx.clientIp, from: sender || '<>', rcpt: canonicalAddress(ctx.recipient), reason: d.reason });
      return verdict.defer(R.greylistTryLater, `greylisted (${d.reason})`);
    },
  };
}
