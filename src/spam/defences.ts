// Assembles the abuse defences from the configuration, for the composition
// root: the policy hooks in their order — rate limits (connect/MAIL/RCPT,
// cheapest refusals first), DNS blocklists (connect, and scores at DATA),
// greylisting (RCPT) and the spam filter (last at DATA, as it reads the
// earlier hooks' scores and SPF/DKIM/DMARC results) — and the IMAP
// move-learner that trains the classifier from Junk moves.

import type { Config } from '../config/types.ts';
import type { DnsResolver } from '../dns/resolver.ts';
import type { Logger } from '../log/logger.ts';
import type { PolicyHook } from '../policy/types.ts';
import type { Store } from '../store/store.ts';
import { rateLimitHook } from '../policy/rate-limit.ts';
import { DnsblChecker, dnsblHook, uriLookup } from '../policy/dnsbl.ts';
import { greylistHook } from '../policy/greylist.ts';
import { spfPassCheck } from '../policy/greylist-spf.ts';
import { spamHook } from './hook.ts';
import { MoveLearner } from './training.ts';
import { baseDomain } from './urls.ts';

export interface DefenceOptions {
  config: Config;
  store: Store;
  dns: DnsResolver;
  log: Logger;
  /** Local account ids an RCPT address reaches (aliases expanded). */
  accountsFor(address: string): Promise<number[]>;
}

export function abuseHooks(o: DefenceOptions): PolicyHook[] {
  const { config: c, store, log } = o;
  const checker = new DnsblChecker(o.dns, log);
  const hooks: PolicyHook[] = [
    rateLimitHook({
      store,
      config: c.rate_limit,
      log,
      overrideFor: async (user) => {
        const acc = await store.getAccount(user);
        return acc ? store.getRateOverride(acc.id) : null;
      },
    }),
    dnsblHook({ checker, config: c.dnsbl, log }),
    greylistHook({
      store,
      config: c.greylist,
      log,
      spfPass: spfPassCheck(o.dns, c.hostname),
      // A sender domain with a good record in the global classifier (ham learnt from it).
      knownGoodDomain: async (domain) => {
        const t = 'from:' + baseDomain(domain);
        const counts = (await store.getSpamTokens(0, [t])).get(t);
        return !!counts && counts.ham >= 3 && counts.ham > 4 * counts.spam;
      },
    }),
    spamHook({ store, config: c.spam, accountsFor: o.accountsFor, uriLookup: uriLookup(checker, c.dnsbl), log }),
  ];
  // Only what is switched on is registered: a stage without hooks costs the session nothing
  // (no connect hook at all means the greeting goes out at once).
  const d = c.dnsbl;
  const on: Record<string, boolean> = {
    'rate-limit': c.rate_limit.enabled,
    dnsbl: d.enabled && d.zones.length + d.allow_zones.length > 0,
    greylist: c.greylist.enabled,
    spam: c.spam.enabled,
  };
  return hooks.filter((h) => on[h.name]);
}

/** The IMAP mailbox-event handler that learns from moves into and out of Junk. */
export function junkLearner(store: Store, now: () => Date, log: Logger): { onMessagesMoved(e: Parameters<MoveLearner['onMessagesMoved']>[0]): void } {
  const learner = new MoveLearner({ store, readBlob: (id) => store.readBlob(id), now, log });
  return { onMessagesMoved: (e) => void learner.onMessagesMoved(e) };
}
