// When to try a deferred recipient again, when to give up, and when to warn
// the sender that a message is late. Pure, with the clock passed in: the
// scheduler and its tests share it. Defaults follow common MTA practice
// (RFC 5321 §4.5.4.1: retry at least 30 minutes apart after the first tries,
// give up after 4–5 days).

export interface RetryPolicy {
  /** Delays after attempt 1, 2, …; the last one repeats. */
  schedule: readonly number[];
  /** Age (ms since arrival) after which a still-deferred recipient fails. */
  maxAge: number;
  /** Age after which the sender gets one delay notice; 0 = never. */
  delayWarning: number;
}

/** The time of the next attempt after `attempts` attempts (≥ 1) made by `now`. */
export function nextAttemptAt(p: RetryPolicy, attempts: number, now: Date): Date {
  const i = Math.min(Math.max(attempts, 1), p.schedule.length) - 1;
  return new Date(now.getTime() + (p.schedule[i] ?? 60_000));
}

/** A deferred recipient whose next try would come after the message's expiry fails now. */
export function isExpired(p: RetryPolicy, arrival: Date, at: Date): boolean {
  return at.getTime() - arrival.getTime() >= p.maxAge;
}

export function needsDelayWarning(p: RetryPolicy, arrival: Date, now: Date, alreadyWarned: boolean, sender: string): boolean {
  if (p.delayWarning <= 0 || alreadyWarned || sender === '') return false;
  return now.getTime() - arrival.getTime() >= p.delayWarning;
}
