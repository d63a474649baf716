// The spam score of a message: the explainable rules (rules.ts), the
// classifier's verdict as a BAYES_* rule (global counts, plus each
// recipient's own), sender reputation from the classifier's counts, and each
// recipient's allow/block lists. Returns a shared score (what the headers
// show and the reject decision uses) and one per recipient account (which
// decides its folder). The store is read, never written, here.

import type { AbuseStore, SenderRule, TokenCounts } from '../store/abuse-store.ts';
import { classify, mergeCounts } from './classifier.ts';
import { header, viewMessage, type MessageView } from './message-view.ts';
import { evaluateRules, type AuthResults, type RuleHit } from './rules.ts';
import { addressDomain, tokenize } from './tokenizer.ts';
import { baseDomain } from './urls.ts';

export interface SpamFilterOptions {
  store: AbuseStore;
  /** Trained messages (spam + ham, global plus the user's) needed before the classifier counts. */
  bayesMinMessages: number;
}

export interface ScoreInput {
  content: Buffer;
  envelopeFrom: string | null;
  auth?: AuthResults;
  now: Date;
  /** Rules other hooks already scored (DNSBL, URI blocklists, …). */
  extraHits?: RuleHit[];
  /** Recipient accounts (per-user classifier and lists). */
  accountIds: readonly number[];
}

export interface ScoreResult {
  score: number;
  hits: RuleHit[];
}

export interface SpamScore {
  /** Rules + global classifier + extra hits. */
  shared: ScoreResult;
  perAccount: Map<number, ScoreResult>;
  /** For the URI lookups and tests. */
  view: MessageView;
  tokens: string[];
  probability: number | null;
}

/** BAYES_* bands: the classifier's probability turned into points. */
export function bayesRule(p: number): RuleHit {
  const pct = (p * 100).toFixed(1);
  const band = (name: string, points: number): RuleHit => ({ name, points, reason: `classifier: spam probability ${pct}%` });
  if (p >= 0.999) return band('BAYES_999', 4.5);
  if (p >= 0.99) return band('BAYES_99', 4.0);
  if (p >= 0.95) return band('BAYES_95', 3.0);
  if (p >= 0.8) return band('BAYES_80', 2.0);
  if (p >= 0.6) return band('BAYES_60', 1.0);
  if (p <= 0.01) return band('BAYES_00', -2.5);
  if (p <= 0.05) return band('BAYES_05', -1.5);
  if (p <= 0.2) return band('BAYES_20', -0.5);
  return band('BAYES_50', 0);
}

export const LIST_POINTS = { USER_ALLOWLIST: -100, USER_BLOCKLIST: 100 } as const;

/** Does a sender rule pattern (`user@domain` or `@domain`) match an address? `@domain` also matches subdomains. */
export function matchesSender(pattern: string, address: string): boolean {
  const a = address.toLowerCase();
  const p = pattern.toLowerCase();
  if (!p.startsWith('@')) return a === p;
  const domain = a.slice(a.lastIndexOf('@') + 1);
  const d = p.slice(1);
  return domain === d || domain.endsWith('.' + d);
}

/** Block wins over allow when both match (a blocked sender stays blocked).
 * `allowSenders` are the identities an allow entry may match (default: all
 * of `senders`); see `allowableSenders`. */
export function listHit(rules: readonly SenderRule[], senders: readonly string[], allowSenders: readonly string[] = senders): RuleHit | null {
  const match = (action: 'allow' | 'block', who: readonly string[]) => rules.find((r) => r.action === action && who.some((s) => matchesSender(r.pattern, s)));
  const block = match('block', senders);
  if (block) return { name: 'USER_BLOCKLIST', points: LIST_POINTS.USER_BLOCKLIST, reason: `sender matches block list entry ${block.pattern}` };
  const allow = match('allow', allowSenders);
  if (allow) return { name: 'USER_ALLOWLIST', points: LIST_POINTS.USER_ALLOWLIST, reason: `sender matches allow list entry ${allow.pattern}` };
  return null;
}

function reputation(counts: ReadonlyMap<string, TokenCounts>, fromToken: string | null): RuleHit | null {
  if (!fromToken) return null;
  const c = counts.get(fromToken);
  if (!c) return null;
  if (c.spam >= 3 && c.spam > 4 * c.ham) return { name: 'SENDER_BAD_REPUTATION', points: 1.5, reason: `${c.spam} spam and ${c.ham} ham learnt from ${fromToken.slice(5)}` };
  if (c.ham >= 3 && c.ham > 4 * c.spam) return { name: 'SENDER_GOOD_REPUTATION', points: -1.0, reason: `${c.ham} ham and ${c.spam} spam learnt from ${fromToken.slice(5)}` };
  return null;
}

function total(hits: readonly RuleHit[]): number {
  return Math.round(hits.reduce((s, h) => s + h.points, 0) * 100) / 100;
}

/** The sender identities an allow entry may match. Both the envelope sender
 * and the From address are free for anyone to write, and an allow entry is
 * worth -100 points: when sender authentication ran (its results are known),
 * only an identity it vouched for counts — the envelope sender when SPF
 * passed (RFC 7208 §2.4), the From address when DMARC passed (RFC 7489 §3.1:
 * SPF or DKIM aligned with the From domain). Without results (`[auth_checks]`
 * off) both count, as before. Block entries always match either. */
export function allowableSenders(envelopeFrom: string | null, from: string | null, auth: AuthResults | undefined): string[] {
  const known = !!auth && (auth.spf !== undefined || auth.dmarc !== undefined);
  const out = known ? [auth.spf === 'pass' ? envelopeFrom : null, auth.dmarc === 'pass' ? from : null] : [envelopeFrom, from];
  return out.filter((s): s is string => !!s);
}

/** The address in a From field (`Name <a@b>` → a@b), lower-case, or null. */
export function fromAddress(value: string | undefined): string | null {
  if (!value) return null;
  const m = /<([^<>\s]+@[^<>\s]+)>/.exec(value) ?? /([^\s<>"',;:]+@[^\s<>"',;:]+)/.exec(value);
  return m ? m[1].toLowerCase() : null;
}

function yieldTurn(): Promise<void> {
  return new Promise((r) => setImmediate(r));
}

export class SpamFilter {
  readonly #o: SpamFilterOptions;

  constructor(o: SpamFilterOptions) {
    this.#o = o;
  }

  async score(input: ScoreInput): Promise<SpamScore> {
    const store = this.#o.store;
    // Parsing, tokenizing and the rules are CPU work on the event loop; other
    // sessions get a turn between them (each step is bounded: see message-view.ts).
    const view = viewMessage(input.content);
    await yieldTurn();
    const tokens = tokenize(view);
    await yieldTurn();
    const ruleHits = [...evaluateRules({ view, envelopeFrom: input.envelopeFrom, auth: input.auth, now: input.now }), ...(input.extraHits ?? [])];
    await yieldTurn();
    const fromDomain = addressDomain(header(view, 'from'));
    const fromToken = fromDomain ? 'from:' + baseDomain(fromDomain) : null;
    const ids = [...new Set(input.accountIds)];
    // Totals first: token counts are read only where a model can speak (the
    // look-up of hundreds of tokens is most of the cost of scoring).
    const [gTotals, ...uTotalsList] = await Promise.all([store.getSpamTotals(0), ...ids.map((id) => store.getSpamTotals(id))]);
    const min = Math.max(1, this.#o.bayesMinMessages);
    const active = (t: TokenCounts) => t.spam + t.ham >= min;
    const anyActive = active(gTotals) || uTotalsList.some((u) => active({ spam: gTotals.spam + u.spam, ham: gTotals.ham + u.ham }));
    const wanted = anyActive ? tokens : fromToken ? [fromToken] : [];
    const gCounts = gTotals.spam + gTotals.ham > 0 ? await store.getSpamTokens(0, wanted) : new Map<string, TokenCounts>();
    const withModel = (base: RuleHit[], counts: ReadonlyMap<string, TokenCounts>, totals: TokenCounts) => {
      const hits = base.slice();
      const p = active(totals) ? classify(tokens, counts, totals).probability : null;
      if (p !== null) hits.push(bayesRule(p));
      const rep = reputation(counts, fromToken);
      if (rep) hits.push(rep);
      return { hits, p };
    };
    const shared = withModel(ruleHits, gCounts, gTotals);
    const fromAddr = fromAddress(header(view, 'from'));
    const senders = [input.envelopeFrom, fromAddr].filter((s): s is string => !!s);
    const allowSenders = allowableSenders(input.envelopeFrom, fromAddr, input.auth);
    const globalRules = ids.length > 0 ? await store.listSenderRules(0) : [];
    const perAccount = new Map<number, ScoreResult>();
    for (const [i, id] of ids.entries()) {
      const uTotals = uTotalsList[i];
      const learnt = uTotals.spam + uTotals.ham > 0;
      const [uCounts, uRules] = await Promise.all([learnt ? store.getSpamTokens(id, wanted) : new Map<string, TokenCounts>(), store.listSenderRules(id)]);
      const counts = learnt ? mergeCounts(gCounts, uCounts) : gCounts;
      const totals = { spam: gTotals.spam + uTotals.spam, ham: gTotals.ham + uTotals.ham };
      const { hits } = withModel(ruleHits, counts, totals);
      // The user's own list first; the global list (account 0) applies when the user has no matching entry.
      const list = listHit(uRules, senders, allowSenders) ?? listHit(globalRules, senders, allowSenders);
      if (list) hits.push(list);
      perAccount.set(id, { score: total(hits), hits });
    }
    return { shared: { score: total(shared.hits), hits: shared.hits }, perAccount, view, tokens, probability: shared.p };
  }
}
