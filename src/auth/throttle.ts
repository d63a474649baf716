// Brute-force protection for every login (SMTP AUTH, IMAP, POP3): failed
// attempts are counted per client IP (an IPv6 client by its /64, which one
// attacker usually holds whole) and per account name in a sliding window.
// Reaching a limit locks the IP or the account out for a cool-down: its
// attempts get failure 'throttled' (SMTP 421 4.7.0 and disconnect) without a
// password being checked. Below the limits, failures beyond `slowdownAfter`
// are answered after a growing delay; successes never wait. A success clears
// that account's count but not the IP's (so one valid account cannot be used
// to reset an IP that is guessing others). Time and sleeping are injected;
// the counts live behind ThrottleState: in memory for one node, or in the
// shared database when several nodes serve the same accounts
// (store/postgres/throttle-state.ts), so an attacker cannot multiply the
// limits by the number of nodes. Counting may then be asynchronous; the
// lock-out check stays synchronous (a shared state keeps lock-outs mirrored).

import { isIPv6 } from 'node:net';
import type { Config } from '../config/types.ts';
import type { Logger } from '../log/logger.ts';
import { silentLogger } from '../log/logger.ts';
import { normalizeIp } from '../net/networks.ts';

/** Where failure times and lockouts are kept. Times are ms since the epoch.
 * Writes and counts may be asynchronous (a shared database); blockedUntil
 * must answer at once, from memory. */
export interface ThrottleState {
  /** Failures of `key` at or after `since` (older ones may be forgotten). */
  count(key: string, since: number): number | Promise<number>;
  add(key: string, at: number): void | Promise<void>;
  clear(key: string): void | Promise<void>;
  /** When `key`'s lockout ends; 0 if it is not locked out. */
  blockedUntil(key: string): number;
  block(key: string, until: number): void | Promise<void>;
  unblock(key: string): void | Promise<void>;
}

/** In-process state, bounded: past `maxKeys` the least recently failed keys
 * are dropped, so a spray of made-up user names cannot exhaust memory. */
export class MemoryThrottleState implements ThrottleState {
  readonly #failures = new Map<string, number[]>();
  readonly #blocks = new Map<string, number>();
  readonly #maxKeys: number;

  constructor(maxKeys = 100_000) {
    this.#maxKeys = maxKeys;
  }

  count(key: string, since: number): number {
    const list = this.#failures.get(key);
    if (!list) return 0;
    const kept = list.filter((t) => t >= since);
    if (kept.length === 0) this.#failures.delete(key);
    else if (kept.length !== list.length) this.#failures.set(key, kept);
    return kept.length;
  }

  add(key: string, at: number): void {
    const list = this.#failures.get(key) ?? [];
    list.push(at);
    // Re-insert so Map order is least recently failed first.
    this.#failures.delete(key);
    this.#failures.set(key, list);
    evictOldest(this.#failures, this.#maxKeys);
  }

  clear(key: string): void {
    this.#failures.delete(key);
  }

  blockedUntil(key: string): number {
    return this.#blocks.get(key) ?? 0;
  }

  block(key: string, until: number): void {
    this.#blocks.delete(key);
    this.#blocks.set(key, until);
    evictOldest(this.#blocks, this.#maxKeys);
  }

  unblock(key: string): void {
    this.#blocks.delete(key);
  }

  /** Keys currently held (for tests and metrics). */
  get size(): number {
    return this.#failures.size + this.#blocks.size;
  }
}

function evictOldest(map: Map<string, unknown>, max: number): void {
  for (const k of map.keys()) {
    if (map.size <= max) return;
    map.delete(k);
  }
}

export interface ThrottleOptions {
  maxFailuresPerIp: number;
  maxFailuresPerAccount: number;
  failureWindowMs: number;
  lockoutMs: number;
  /** Delay added per failure beyond `slowdownAfter`. */
  slowdownMs: number;
  slowdownAfter: number;
  slowdownMaxMs: number;
}

export interface ThrottleDeps {
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  logger?: Logger;
  state?: ThrottleState;
}

export function throttleOptions(auth: Config['auth']): ThrottleOptions {
  return {
    maxFailuresPerIp: auth.max_failures_per_ip,
    maxFailuresPerAccount: auth.max_failures_per_account,
    failureWindowMs: auth.failure_window,
    lockoutMs: auth.lockout,
    slowdownMs: auth.slowdown,
    slowdownAfter: auth.slowdown_after,
    slowdownMaxMs: auth.slowdown_max,
  };
}

/** The key an IP is counted under: IPv4 (also v4-mapped IPv6) as is, IPv6 by its /64. */
export function ipKey(ip: string): string {
  const bare = normalizeIp(ip.replace(/%.*$/, ''));
  if (!isIPv6(bare)) return `ip:${bare}`;
  const groups = expandIPv6(bare);
  return `ip:${groups.slice(0, 4).join(':')}::/64`;
}

/** The 8 groups of an IPv6 address (valid per net.isIPv6), without leading zeros. */
function expandIPv6(ip: string): string[] {
  let text = ip.toLowerCase();
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (v4) {
    const [a, b, c, d] = v4.slice(1).map(Number) as [number, number, number, number];
    text = text.slice(0, v4.index) + `${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.split('::') as [string, string | undefined];
  const h = head === '' ? [] : head.split(':');
  const t = tail === undefined || tail === '' ? [] : tail.split(':');
  const zeros = tail === undefined ? [] : Array<string>(8 - h.length - t.length).fill('0');
  return [...h, ...zeros, ...t].map((g) => parseInt(g, 16).toString(16));
}

export class Throttle {
  readonly #o: ThrottleOptions;
  readonly #now: () => number;
  readonly #sleep: (ms: number) => Promise<void>;
  readonly #log: Logger;
  readonly #state: ThrottleState;

  constructor(opts: ThrottleOptions, deps: ThrottleDeps = {}) {
    this.#o = opts;
    this.#now = deps.now ?? Date.now;
    this.#sleep = deps.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
    this.#log = deps.logger ?? silentLogger;
    this.#state = deps.state ?? new MemoryThrottleState();
  }

  static fromConfig(auth: Config['auth'], deps: ThrottleDeps = {}): Throttle {
    return new Throttle(throttleOptions(auth), deps);
  }

  #locked(key: string): boolean {
    const until = this.#state.blockedUntil(key);
    if (until === 0) return false;
    if (until > this.#now()) return true;
    this.#background(this.#state.unblock(key)); // the cool-down is over
    return false;
  }

  /** A state write nobody waits for: its failure is logged, never thrown. */
  #background(p: void | Promise<void>): void {
    if (p) p.catch((err: unknown) => this.#log.warn('auth throttle state write failed', { error: err }));
  }

  /** True while this client IP is locked out. */
  isBlocked(ip: string): boolean {
    return this.#locked(ipKey(ip));
  }

  /** Before a password is checked: why this attempt is refused outright, or null. */
  refusal(ip: string, account: string): string | null {
    if (this.#locked(ipKey(ip))) return 'client IP locked out';
    if (this.#locked(`acct:${account}`)) return 'account locked out';
    return null;
  }

  /** Records a failed login. 'throttled' if it reached a limit (the IP or the
   * account is now locked out); otherwise waits the slowdown, then 'failed'. */
  async failed(ip: string, account: string): Promise<'throttled' | 'failed'> {
    const now = this.#now();
    const since = now - this.#o.failureWindowMs;
    const keys = [
      { key: ipKey(ip), max: this.#o.maxFailuresPerIp, what: 'client IP' },
      { key: `acct:${account}`, max: this.#o.maxFailuresPerAccount, what: 'account' },
    ];
    let most = 0;
    let throttled = false;
    for (const k of keys) {
      await this.#state.add(k.key, now);
      const n = await this.#state.count(k.key, since);
      most = Math.max(most, n);
      if (n >= k.max) {
        await this.#state.block(k.key, now + this.#o.lockoutMs);
        await this.#state.clear(k.key);
        throttled = true;
        this.#log.warn('auth throttled', {
          ip,
          account,
          locked: k.what,
          why: `${n} failed logins for this ${k.what} within ${this.#o.failureWindowMs / 1000}s`,
          until: new Date(now + this.#o.lockoutMs).toISOString(),
        });
      }
    }
    if (throttled) return 'throttled';
    const over = most - this.#o.slowdownAfter;
    const delay = over > 0 ? Math.min(over * this.#o.slowdownMs, this.#o.slowdownMaxMs) : 0;
    if (delay > 0) await this.#sleep(delay);
    return 'failed';
  }

  /** Records a successful login: clears the account's count (not the IP's). */
  succeeded(_ip: string, account: string): void {
    this.#background(this.#state.clear(`acct:${account}`));
  }
}
