// Sending rate limits (issue 8), as a policy hook:
// - per client IP: connections per minute (connect: `421 4.7.0` and the
//   session closes); concurrent connections per IP are net/connection-limits
//   (`limits.connections_per_ip`), not repeated here;
// - per client IP, for clients that did not log in: messages and recipients
//   per hour;
// - per logged-in account: messages per hour and recipients per day, with
//   per-account overrides in the store (`mailroom spam ratelimit`,
//   cli/spam.ts) — a stolen password becomes a trickle.
// A limit is answered `450 4.7.1 Too many messages, slow down` at MAIL or RCPT,
// before anything is accepted, so mail already accepted is never dropped.
// An account reaching its limit is logged at warn (a likely compromise).
// Counters are sliding windows estimated from two fixed windows (current and
// previous, weighted by overlap), kept in the store (AbuseStore), so they
// survive restarts and can later be shared between nodes. Time comes from ctx.

import type { AbuseStore, RateOverride } from '../store/abuse-store.ts';
import type { ConnectContext, DataContext, HookAnswer, MailContext, PolicyHook, RcptContext } from './types.ts';
import { verdict } from './pipeline.ts';
import { R } from '../smtp/protocol/reply.ts';
import type { Logger } from '../log/logger.ts';
import { clientNetwork } from './greylist.ts';

export interface RateLimitConfig {
  enabled: boolean;
  ip_connections_per_minute: number;
  ip_messages_per_hour: number;
  ip_recipients_per_hour: number;
  account_messages_per_hour: number;
  account_recipients_per_day: number;
}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** The sliding-window estimate from the current and previous fixed windows. Pure. */
export function slidingEstimate(current: number, previous: number, nowMs: number, windowMs: number): number {
  const start = Math.floor(nowMs / windowMs) * windowMs;
  const elapsed = (nowMs - start) / windowMs;
  return current + previous * (1 - elapsed);
}

/** A named sliding-window counter over the store. */
export class RateCounter {
  readonly #store: AbuseStore;
  constructor(store: AbuseStore) {
    this.#store = store;
  }

  async estimate(key: string, windowMs: number, nowMs: number): Promise<number> {
    const start = Math.floor(nowMs / windowMs) * windowMs;
    const [cur, prev] = await Promise.all([this.#store.getCounter(key, start), this.#store.getCounter(key, start - windowMs)]);
    return slidingEstimate(cur, prev, nowMs, windowMs);
  }

  /** Adds `by` and returns the new estimate. */
  async add(key: string, windowMs: number, nowMs: number, by = 1): Promise<number> {
    const start = Math.floor(nowMs / windowMs) * windowMs;
    const [cur, prev] = await Promise.all([this.#store.addToCounter(key, start, by, start + 2 * windowMs), this.#store.getCounter(key, start - windowMs)]);
    return slidingEstimate(cur, prev, nowMs, windowMs);
  }
}

export interface RateLimitHookOptions {
  store: AbuseStore;
  config: RateLimitConfig;
  log: Logger;
  /** Per-account overrides (store.getRateOverride of the user's account id). */
  overrideFor?: (user: string) => Promise<RateOverride | null>;
}

/** IPv6 clients are counted by /64 (one host usually has a whole /64). */
function ipKey(ip: string): string {
  return ip.includes(':') ? clientNetwork(ip) : ip;
}

export function rateLimitHook(o: RateLimitHookOptions): PolicyHook {
  const c = o.config;
  const counter = new RateCounter(o.store);
  // Warn once per account and window, not at every refused message.
  const warned = new Map<string, number>();
  let lastPurge = 0;
  const limitsFor = async (user: string) => {
    const ov = o.overrideFor ? await o.overrideFor(user) : null;
    return { messages: ov?.messagesPerHour ?? c.account_messages_per_hour, recipients: ov?.recipientsPerDay ?? c.account_recipients_per_day };
  };
  const refuse = (what: string, ctx: MailContext, detail: Record<string, unknown>) => {
    const who = ctx.user ?? ctx.clientIp;
    const windowKey = `${who}:${what}`;
    const hour = Math.floor(ctx.now.getTime() / HOUR);
    if (warned.get(windowKey) !== hour) {
      warned.set(windowKey, hour);
      if (warned.size > 10_000) warned.clear();
      o.log.warn(ctx.user ? 'rate limit reached by account (possible compromise)' : 'rate limit reached by client', { limit: what, user: ctx.user, client: ctx.clientIp, ...detail });
    }
    return verdict.defer(R.slowDown, `rate limit: ${what}`);
  };
  return {
    name: 'rate-limit',
    scope: 'all',
    async connect(ctx: ConnectContext): Promise<HookAnswer> {
      if (!c.enabled || ctx.trust !== 'none') return;
      // Expired counters go at most once an hour (by the context's clock).
      if (ctx.now.getTime() - lastPurge >= HOUR) {
        lastPurge = ctx.now.getTime();
        void o.store.purgeCounters(lastPurge).catch((err) => o.log.warn('rate counter purge failed', { error: err }));
      }
      const n = await counter.add(`conn:${ipKey(ctx.clientIp)}`, MINUTE, ctx.now.getTime());
      if (n > c.ip_connections_per_minute) {
        o.log.warn('connection rate limit reached', { client: ctx.clientIp, per_minute: Math.round(n) });
        return verdict.defer(R.connectionRateExceeded, 'connections per minute');
      }
    },
    async mail(ctx: MailContext): Promise<HookAnswer> {
      if (!c.enabled || ctx.trust === 'trusted-network') return;
      const now = ctx.now.getTime();
      if (ctx.user) {
        const lim = await limitsFor(ctx.user);
        const n = await counter.estimate(`acct-msg:${ctx.user}`, HOUR, now);
        if (n >= lim.messages) return refuse('account_messages_per_hour', ctx, { count: Math.round(n), max: lim.messages });
        return;
      }
      const n = await counter.estimate(`ip-msg:${ipKey(ctx.clientIp)}`, HOUR, now);
      if (n >= c.ip_messages_per_hour) return refuse('ip_messages_per_hour', ctx, { count: Math.round(n), max: c.ip_messages_per_hour });
    },
    async rcpt(ctx: RcptContext): Promise<HookAnswer> {
      if (!c.enabled || ctx.trust === 'trusted-network') return;
      const now = ctx.now.getTime();
      // Recipients of this transaction not yet counted (they are counted once the message is in).
      const pending = ctx.accepted.length + 1;
      if (ctx.user) {
        const lim = await limitsFor(ctx.user);
        const n = await counter.estimate(`acct-rcpt:${ctx.user}`, DAY, now);
        if (n + pending > lim.recipients) return refuse('account_recipients_per_day', ctx, { count: Math.round(n), max: lim.recipients });
        return;
      }
      const n = await counter.estimate(`ip-rcpt:${ipKey(ctx.clientIp)}`, HOUR, now);
      if (n + pending > c.ip_recipients_per_hour) return refuse('ip_recipients_per_hour', ctx, { count: Math.round(n), max: c.ip_recipients_per_hour });
    },
    async data(ctx: DataContext): Promise<HookAnswer> {
      if (!c.enabled || ctx.trust === 'trusted-network') return;
      const now = ctx.now.getTime();
      const rcpts = ctx.recipients.length;
      if (ctx.user) {
        await counter.add(`acct-msg:${ctx.user}`, HOUR, now);
        await counter.add(`acct-rcpt:${ctx.user}`, DAY, now, rcpts);
      } else {
        const ip = ipKey(ctx.clientIp);
        await counter.add(`ip-msg:${ip}`, HOUR, now);
        await counter.add(`ip-rcpt:${ip}`, HOUR, now, rcpts);
      }
    },
  };
}
