// The spam filter as a policy hook (src/policy/types.ts), run last at the end
// of DATA: scores the message (rules, classifier, allow/block lists, plus
// the score verdicts earlier hooks gave, e.g. DNSBL), adds X-Spam-Score and
// X-Spam-Status, sends each recipient's copy to Junk when its score reaches
// `spam.junk_threshold`, and refuses the message with 550 5.7.1 (nothing is
// stored) when every recipient's score reaches `spam.reject_threshold`.
// Skipped for logged-in users and trusted networks (their mail is theirs).

import { performance } from 'node:perf_hooks';
import type { DataContext, HookAnswer, PolicyHook, Verdict } from '../policy/types.ts';
import { verdict } from '../policy/pipeline.ts';
import { R } from '../smtp/protocol/reply.ts';
import { canonicalAddress } from '../smtp/protocol/address.ts';
import type { Logger } from '../log/logger.ts';
import type { AbuseStore } from '../store/abuse-store.ts';
import { SpamFilter } from './filter.ts';
import { spamHeaders } from './headers.ts';
import type { AuthResults, RuleHit } from './rules.ts';
import { extractLinks } from './urls.ts';

export interface SpamConfig {
  enabled: boolean;
  junk_threshold: number;
  reject_threshold: number;
  bayes_min_messages: number;
  junk_folder: string;
}

export interface SpamHookOptions {
  store: AbuseStore;
  config: SpamConfig;
  /** Local account ids an RCPT address reaches (aliases expanded); [] for none. */
  accountsFor(address: string): Promise<number[]>;
  /** URI blocklist look-ups for the link hosts (policy/dnsbl.ts), as rule hits. */
  uriLookup?: (hosts: string[]) => Promise<RuleHit[]>;
  log: Logger;
}

/** SPF/DKIM/DMARC results from what the sender-authentication hook said
 * earlier in the stage: a note or an Authentication-Results header with
 * `spf=… dkim=… dmarc=…` (RFC 8601 §2.2 method=result). */
export function authFromVerdicts(verdicts: readonly Verdict[]): AuthResults {
  const texts: string[] = [];
  for (const v of verdicts) {
    if (v.kind === 'note') for (const val of Object.values(v.fields)) if (typeof val === 'string') texts.push(val);
    if (v.kind === 'headers') texts.push(...v.fields.filter((f) => /^Authentication-Results:/i.test(f)));
  }
  const out: AuthResults = {};
  for (const t of texts) {
    for (const m of t.matchAll(/\b(spf|dkim|dmarc)=([a-z]+)/gi)) {
      const k = m[1].toLowerCase() as keyof AuthResults;
      const val = m[2].toLowerCase();
      // Several DKIM signatures: one pass is enough, else keep the first result.
      if (out[k] === undefined || (k === 'dkim' && val === 'pass')) out[k] = val;
    }
  }
  return out;
}

/** Score rules earlier hooks of this stage reported, as rule hits. */
function earlierHits(verdicts: readonly Verdict[]): RuleHit[] {
  const out: RuleHit[] = [];
  for (const v of verdicts) if (v.kind === 'score') for (const r of v.rules) out.push({ name: r.name, points: r.score, reason: r.description ?? v.hook ?? '' });
  return out;
}

export function spamHook(o: SpamHookOptions): PolicyHook {
  const filter = new SpamFilter({ store: o.store, bayesMinMessages: o.config.bayes_min_messages });
  const c = o.config;
  return {
    name: 'spam',
    async data(ctx: DataContext): Promise<HookAnswer> {
      if (!c.enabled) return;
      const started = performance.now();
      const recipientAccounts = await Promise.all(ctx.recipients.map((r) => o.accountsFor(canonicalAddress(r.address))));
      const content = ctx.message();
      const extra = earlierHits(ctx.verdicts);
      const envelopeFrom = ctx.from ? canonicalAddress(ctx.from) : null;
      const auth = authFromVerdicts(ctx.verdicts);
      const result = await filter.score({ content, envelopeFrom, auth, now: ctx.now, extraHits: [], accountIds: recipientAccounts.flat() });
      // URI blocklists need the links, which need the parsed message: look them up, then add their hits.
      const uriHits = o.uriLookup ? await o.uriLookup([...new Set(extractLinks(result.view).map((l) => l.host).filter(Boolean))]) : [];
      const added = [...extra, ...uriHits];
      const addAll = (r: { score: number; hits: RuleHit[] }) => ({ hits: [...r.hits, ...added], score: Math.round((r.score + added.reduce((s, h) => s + h.points, 0)) * 100) / 100 });
      const shared = addAll(result.shared);
      const perAccount = new Map([...result.perAccount].map(([id, r]) => [id, addAll(r)]));
      // A recipient with no local account (e.g. a relayed one) is judged by the shared score.
      const scores = recipientAccounts.map((ids) => (ids.length === 0 ? shared.score : Math.min(...ids.map((id) => perAccount.get(id)!.score))));
      const ms = Math.round((performance.now() - started) * 100) / 100;
      const explained = ctx.recipients.length === 1 && recipientAccounts[0].length === 1 ? perAccount.get(recipientAccounts[0][0])! : shared;
      const note = verdict.note({ spam: { score: explained.score, rules: explained.hits.map((h) => `${h.name}=${h.points}`), ms } });
      if (scores.every((s) => s >= c.reject_threshold)) {
        o.log.info('spam rejected', { queue: ctx.queueId, score: explained.score, rules: explained.hits.map((h) => `${h.name}=${h.points}`) });
        return [note, verdict.reject(R.spamRejected, `spam score ${explained.score} ≥ ${c.reject_threshold}`)];
      }
      // Our own rules (and the URI lists') go in as a score verdict; earlier hooks' rules are already counted by the pipeline.
      const own = explained.hits.filter((h) => !extra.includes(h));
      const out: Verdict[] = [
        note,
        // Only our verdict counts: X-Spam-* fields the sender wrote (e.g. a forged "No") are dropped.
        verdict.removeHeaders((name) => /^x-spam-(score|status|flag|level)$/i.test(name), 'X-Spam fields from the sender'),
        verdict.score(...own.map((h) => ({ name: h.name, score: h.points, description: h.reason }))),
        verdict.headers(...spamHeaders(explained.score, c.junk_threshold, explained.hits)),
      ];
      const junk = ctx.recipients.filter((_, i) => scores[i] >= c.junk_threshold).map((r) => r.index);
      if (junk.length > 0) out.push(verdict.folder(c.junk_folder, `spam score ≥ ${c.junk_threshold}`, junk));
      return out;
    },
  };
}
