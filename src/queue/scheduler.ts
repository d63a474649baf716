// The outbound scheduler: leases due recipients from the durable queue,
// groups them by destination domain, runs at most `concurrency` deliveries at
// once and `perDomain` per domain, records each outcome durably, retries on
// the configured schedule, fails what has waited too long, and asks the
// notifier for bounces, delay warnings and (RFC 3461 §6.2.3.1) "relayed"
// notices for NOTIFY=SUCCESS recipients handed to a next hop without DSN. A
// destination that could not be reached at all is backed off as a whole until
// its next retry time, so a dead domain costs one attempt per step, not one
// per message.
// The clock is injected; `runOnce()` lets tests step it by hand.
import type { Logger } from '../log/logger.ts';
import type { AttemptOutcome, QueueClaim, QueuedMessage, QueueRecipient, Store } from '../store/store.ts';
import type { DomainResult } from './remote-delivery.ts';
import { isExpired, needsDelayWarning, nextAttemptAt, type RetryPolicy } from './retry-policy.ts';

/** What happened to recipients, for DSNs (RFC 3464 actions). */
export interface Notification {
  kind: 'failed' | 'delayed' | 'delivered' | 'relayed';
  message: QueuedMessage;
  recipients: (QueueRecipient & { reply: string | null; status: string | null; host: string | null })[];
}

export interface Notifier {
  /** Sends the DSN to the message's sender (never for the null sender). */
  notify(n: Notification): Promise<void>;
}

export interface SchedulerOptions {
  store: Store;
  /** Delivers; calls `onClaimDone` for each message as soon as it is finished (see remote-delivery.ts). */
  deliver(domain: string, claims: QueueClaim[], onClaimDone: (claim: QueueClaim, result: DomainResult) => Promise<void>): Promise<DomainResult>;
  notifier: Notifier;
  policy: RetryPolicy;
  concurrency: number;
  perDomain: number;
  leaseMs: number;
  owner: string;
  now(): Date;
  log: Logger;
  /** Recipients leased per claim round. */
  batch?: number;
}

export class QueueScheduler {
  readonly #o: SchedulerOptions;
  #running = 0;
  readonly #perDomain = new Map<string, number>();
  readonly #backoff = new Map<string, number>();
  /** Claims for a domain already at its connection limit: sent when a connection frees. */
  readonly #waiting = new Map<string, QueueClaim[]>();
  #timer: NodeJS.Timeout | null = null;
  #stopped = true;
  #pumping = false;
  #again = false;
  readonly #inflight = new Set<Promise<void>>();

  constructor(o: SchedulerOptions) {
    this.#o = o;
  }

  /** Takes back this owner's leases left by a crashed run, then starts. */
  start(): void {
    this.#stopped = false;
    void this.#o.store.releaseLeases(this.#o.owner).then(
      () => this.wake(),
      (err: unknown) => {
        this.#o.log.error('releasing old queue leases failed', { error: err });
        this.wake();
      },
    );
  }

  /** Something was queued or retried: look now. */
  wake(): void {
    if (this.#stopped) return;
    if (this.#pumping) {
      this.#again = true;
      return;
    }
    void this.#pump();
  }

  /** Stops taking work, waits for running deliveries, releases leases. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    await Promise.allSettled([...this.#inflight]);
    await this.#o.store.releaseLeases(this.#o.owner).catch(() => {});
  }

  /** One round: lease what is due and deliver it; resolves when those deliveries are done (tests). */
  async runOnce(): Promise<void> {
    await this.#claimAndStart();
    while (this.#inflight.size > 0) await Promise.allSettled([...this.#inflight]);
  }

  async #pump(): Promise<void> {
    this.#pumping = true;
    try {
      do {
        this.#again = false;
        await this.#claimAndStart();
      } while (this.#again && !this.#stopped);
    } catch (err) {
      this.#o.log.error('queue scheduler round failed', { error: err });
    } finally {
      this.#pumping = false;
    }
    await this.#arm();
  }

  /** Leases due recipients while there is room; returns the deliveries it started. */
  async #claimAndStart(): Promise<Promise<void>[]> {
    const o = this.#o;
    const started: Promise<void>[] = [];
    while (this.#running < o.concurrency && !this.#stopped) {
      const claims = await o.store.claimDue({ now: o.now(), limit: o.batch ?? 100, leaseMs: o.leaseMs, owner: o.owner });
      if (claims.length === 0) break;
      const byDomain = new Map<string, QueueClaim[]>();
      for (const c of claims) byDomain.set(c.domain, [...(byDomain.get(c.domain) ?? []), c]);
      for (const [domain, list] of byDomain) started.push(this.#startDomain(domain, list));
      if (claims.length < (o.batch ?? 100)) break;
    }
    return started;
  }

  #startDomain(domain: string, claims: QueueClaim[]): Promise<void> {
    const until = this.#backoff.get(domain) ?? 0;
    const now = this.#o.now().getTime();
    if (until > now) {
      // Backed off as a whole: push these to the domain's retry time without connecting.
      return this.#track(this.#record(claims, { outcomes: [], unreachable: true }, new Date(until)));
    }
    const active = this.#perDomain.get(domain) ?? 0;
    if (active >= this.#o.perDomain) {
      // Polite: no more parallel connections to this destination; these go when one frees.
      this.#waiting.set(domain, [...(this.#waiting.get(domain) ?? []), ...claims]);
      return Promise.resolve();
    }
    this.#running++;
    this.#perDomain.set(domain, active + 1);
    // Each finished message is recorded durably before the next one is sent.
    const recorded = new Set<QueueClaim>();
    const job = (async () => {
      try {
        const onClaimDone = async (claim: QueueClaim, partial: DomainResult) => {
          recorded.add(claim);
          await this.#record([claim], partial, null);
        };
        const result = await this.#o.deliver(domain, claims, onClaimDone);
        if (result.unreachable) {
          const first = claims[0]!.message.recipients[0]!;
          this.#backoff.set(domain, nextAttemptAt(this.#o.policy, first.attempts + 1, this.#o.now()).getTime());
        } else {
          this.#backoff.delete(domain);
        }
        const rest = claims.filter((c) => !recorded.has(c));
        if (rest.length > 0) await this.#record(rest, result, null);
      } catch (err) {
        // Only this attempt's unrecorded recipients are deferred; other deliveries keep their leases.
        this.#o.log.error('delivery to domain failed', { domain, error: err });
        await this.#record(claims.filter((c) => !recorded.has(c)), { outcomes: [], unreachable: false }, null).catch((e) => this.#o.log.error('recording the deferral failed', { domain, error: e }));
      } finally {
        this.#running--;
        const n = (this.#perDomain.get(domain) ?? 1) - 1;
        if (n <= 0) this.#perDomain.delete(domain);
        else this.#perDomain.set(domain, n);
        const waiting = this.#waiting.get(domain);
        if (waiting) {
          this.#waiting.delete(domain);
          void this.#startDomain(domain, waiting);
        }
        this.wake();
      }
    })();
    return this.#track(job);
  }

  #track(p: Promise<void>): Promise<void> {
    this.#inflight.add(p);
    void p.finally(() => this.#inflight.delete(p));
    return p;
  }

  /** Applies the retry policy to the attempt's outcomes, stores them, then notifies. */
  async #record(claims: QueueClaim[], result: DomainResult, deferUntil: Date | null): Promise<void> {
    const o = this.#o;
    const now = o.now();
    const byId = new Map<number, AttemptOutcome>(result.outcomes.map((x) => [x.recipientId, x]));
    const final: AttemptOutcome[] = [];
    const failed = new Map<string, Notification>();
    const delayed = new Map<string, Notification>();
    const relayed = new Map<string, Notification>();
    const withoutDsn = new Set(result.relayedWithoutDsn ?? []);
    const add = (m: Map<string, Notification>, kind: Notification['kind'], c: QueueClaim, r: QueueRecipient, x: AttemptOutcome) => {
      const n = m.get(c.message.queueId) ?? { kind, message: c.message, recipients: [] };
      n.recipients.push({ ...r, reply: x.reply, status: x.status, host: x.host });
      m.set(c.message.queueId, n);
    };
    for (const c of claims) {
      for (const r of c.message.recipients) {
        let x = byId.get(r.id) ?? { recipientId: r.id, result: 'deferred' as const, reply: r.lastReply, status: r.lastStatus, host: r.lastHost, at: now };
        if (x.result === 'deferred') {
          const attempts = r.attempts + 1;
          if (isExpired(o.policy, c.message.createdAt, now)) {
            // RFC 3463 X.4.7: delivery time expired.
            x = { ...x, result: 'failed', status: '5.4.7', reply: `Delivery time expired after ${Math.round((now.getTime() - c.message.createdAt.getTime()) / 86_400_000)} days; last reply: ${x.reply ?? 'none'}` };
          } else {
            x = { ...x, nextAttemptAt: deferUntil ?? nextAttemptAt(o.policy, attempts, now) };
            if (needsDelayWarning(o.policy, c.message.createdAt, now, r.delayWarned, c.message.sender) && wants(r, 'DELAY', true)) add(delayed, 'delayed', c, r, x);
          }
        }
        if (x.result === 'failed' && wants(r, 'FAILURE', true)) add(failed, 'failed', c, r, x);
        // RFC 3461 §6.2.3.1: a next hop without DSN got no NOTIFY, so we report "relayed"
        // ourselves; a next hop with DSN got the parameters and answers SUCCESS itself.
        if (x.result === 'delivered' && withoutDsn.has(r.id) && wants(r, 'SUCCESS', false)) add(relayed, 'relayed', c, r, x);
        final.push(x);
      }
    }
    // Bounces first, then the outcomes: a crash in between repeats a bounce rather than losing it.
    for (const n of [...failed.values(), ...relayed.values()]) await this.#notify(n);
    for (const n of delayed.values()) {
      await this.#notify(n);
      await o.store.markDelayWarned(n.recipients.map((r) => r.id));
    }
    const { stale } = await o.store.recordOutcomes(o.owner, final);
    if (stale.length > 0) o.log.warn('queue lease lost before the outcome was recorded', { recipients: stale });
  }

  async #notify(n: Notification): Promise<void> {
    if (n.message.sender === '') return; // RFC 3464 §2 / RFC 5321 §4.5.5: never answer a bounce
    try {
      await this.#o.notifier.notify(n);
    } catch (err) {
      this.#o.log.error('could not send a delivery notification', { queue: n.message.queueId, kind: n.kind, error: err });
    }
  }

  async #arm(): Promise<void> {
    if (this.#stopped) return;
    if (this.#timer) clearTimeout(this.#timer);
    let next: Date | null = null;
    try {
      next = await this.#o.store.nextQueueWakeup();
    } catch (err) {
      this.#o.log.error('queue wake-up lookup failed', { error: err });
    }
    const delay = next ? Math.max(0, next.getTime() - this.#o.now().getTime()) : 60_000;
    this.#timer = setTimeout(() => this.wake(), Math.min(delay + 5, 60_000));
    this.#timer.unref();
  }
}

/** RFC 3461 §4.1: without NOTIFY, failures (and delays, at our discretion) are reported; NEVER means none. */
function wants(r: QueueRecipient, what: 'SUCCESS' | 'FAILURE' | 'DELAY', byDefault: boolean): boolean {
  if (!r.notify || r.notify.length === 0) return byDefault;
  return r.notify.includes(what);
}
