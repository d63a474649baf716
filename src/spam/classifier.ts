// A naive-Bayes text classifier with Gary Robinson's token estimates and
// Fisher/chi-square combining (the SpamBayes method): each token's spam
// probability is pulled towards 0.5 when it was seen rarely, the most telling
// tokens are combined into a spam and a ham indication, and the result is a
// probability in [0, 1] where 0.5 means "no idea". Pure: counts come in,
// a number comes out. Per-user counts are added to the global ones, so a
// user's own lessons count as well as everyone's.

import type { TokenCounts } from '../store/abuse-store.ts';

export interface ClassifierOptions {
  /** Robinson's s: strength of the prior (0.5) against few observations. */
  strength: number;
  /** Robinson's x: the prior for a token never seen. */
  prior: number;
  /** Tokens whose probability is closer to 0.5 than this are ignored. */
  minDeviation: number;
  /** Most tokens combined (the most telling ones). */
  maxTokens: number;
}

export const DEFAULT_CLASSIFIER: ClassifierOptions = { strength: 0.45, prior: 0.5, minDeviation: 0.1, maxTokens: 150 };

export interface Classification {
  /** Spam probability, 0..1. */
  probability: number;
  /** Tokens combined, most telling first (for explanation and tests). */
  used: Array<{ token: string; p: number }>;
}

/** Robinson's f(w) for one token. */
export function tokenProbability(c: TokenCounts, totals: TokenCounts, o: ClassifierOptions = DEFAULT_CLASSIFIER): number {
  const spamRatio = totals.spam > 0 ? Math.min(1, c.spam / totals.spam) : 0;
  const hamRatio = totals.ham > 0 ? Math.min(1, c.ham / totals.ham) : 0;
  const n = c.spam + c.ham;
  if (spamRatio + hamRatio === 0) return o.prior;
  const p = spamRatio / (spamRatio + hamRatio);
  return (o.strength * o.prior + n * p) / (o.strength + n);
}

/** The inverse chi-square survival function for even degrees of freedom:
 * P(χ² ≥ x²) with 2v degrees of freedom, as in SpamBayes chi2Q. */
export function chi2Q(x2: number, v: number): number {
  const m = x2 / 2;
  let term = Math.exp(-m);
  let sum = term;
  for (let i = 1; i < v / 2; i++) {
    term *= m / i;
    sum += term;
  }
  return Math.min(sum, 1);
}

export function classify(
  tokens: readonly string[],
  counts: ReadonlyMap<string, TokenCounts>,
  totals: TokenCounts,
  o: ClassifierOptions = DEFAULT_CLASSIFIER,
): Classification {
  const scored: Array<{ token: string; p: number }> = [];
  for (const t of new Set(tokens)) {
    const c = counts.get(t);
    if (!c) continue;
    const p = tokenProbability(c, totals, o);
    if (Math.abs(p - 0.5) >= o.minDeviation) scored.push({ token: t, p: Math.min(0.99, Math.max(0.01, p)) });
  }
  scored.sort((a, b) => Math.abs(b.p - 0.5) - Math.abs(a.p - 0.5) || (a.token < b.token ? -1 : 1));
  const used = scored.slice(0, o.maxTokens);
  if (used.length === 0) return { probability: 0.5, used };
  // Fisher: -2 Σ ln p follows χ² with 2n degrees of freedom under the null hypothesis.
  let lnS = 0;
  let lnH = 0;
  for (const u of used) {
    lnS += Math.log(1 - u.p);
    lnH += Math.log(u.p);
  }
  const n = used.length;
  const S = 1 - chi2Q(-2 * lnS, 2 * n);
  const H = 1 - chi2Q(-2 * lnH, 2 * n);
  const probability = (1 + S - H) / 2;
  return { probability: Number.isFinite(probability) ? probability : 0.5, used };
}

/** Adds per-user counts to global ones (both maps and totals). */
export function mergeCounts(
  a: ReadonlyMap<string, TokenCounts>,
  b: ReadonlyMap<string, TokenCounts>,
): Map<string, TokenCounts> {
  const out = new Map<string, TokenCounts>();
  for (const [k, v] of a) out.set(k, { spam: v.spam, ham: v.ham });
  for (const [k, v] of b) {
    const c = out.get(k);
    if (c) {
      c.spam += v.spam;
      c.ham += v.ham;
    } else out.set(k, { spam: v.spam, ham: v.ham });
  }
  return out;
}
