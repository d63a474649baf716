// The login throttle with a fake clock and a fake sleep: the slowdown grows
// per failure and is capped, limits per IP and per account lock out for the
// cool-down and then lift, the window slides, successes clear only the
// account, IPv6 clients count by /64, and the state stays bounded.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryThrottleState, Throttle, ipKey, type ThrottleOptions } from './throttle.ts';
import { createLogger } from '../log/logger.ts';

const OPTS: ThrottleOptions = {
  maxFailuresPerIp: 10,
  maxFailuresPerAccount: 20,
  failureWindowMs: 15 * 60_000,
  lockoutMs: 15 * 60_000,
  slowdownMs: 1000,
  slowdownAfter: 3,
  slowdownMaxMs: 5000,
};

function setup(opts: Partial<ThrottleOptions> = {}) {
  const clock = { t: 1_000_000 };
  const slept: number[] = [];
  const lines: Array<Record<string, unknown>> = [];
  const logger = createLogger({ write: (l) => void lines.push(JSON.parse(l)) });
  const throttle = new Throttle({ ...OPTS, ...opts }, { now: () => clock.t, sleep: async (ms) => void slept.push(ms), logger });
  return { clock, slept, lines, throttle };
}

describe('Throttle', () => {
  it('slows failures down after slowdownAfter, one step per failure, capped', async () => {
    const { throttle, slept } = setup();
    for (let i = 0; i < 9; i++) assert.equal(await throttle.failed('192.0.2.1', `u${i}@example.com`), 'failed');
    assert.deepEqual(slept, [1000, 2000, 3000, 4000, 5000, 5000]);
  });

  it('locks an IP out at its limit, until the cool-down ends, with a fresh count after', async () => {
    const { throttle, clock, lines } = setup();
    for (let i = 0; i < 9; i++) await throttle.failed('192.0.2.1', `u${i}@example.com`);
    assert.equal(throttle.isBlocked('192.0.2.1'), false);
    assert.equal(await throttle.failed('192.0.2.1', 'x@example.com'), 'throttled');
    assert.equal(throttle.isBlocked('192.0.2.1'), true);
    assert.equal(throttle.refusal('192.0.2.1', 'anyone@example.com'), 'client IP locked out');
    assert.equal(throttle.isBlocked('192.0.2.2'), false, 'other IPs are not affected');
    const log = lines.find((l) => l.msg === 'auth throttled')!;
    assert.equal(log.ip, '192.0.2.1');
    assert.equal(log.locked, 'client IP');
    assert.match(String(log.why), /10 failed logins/);
    clock.t += 15 * 60_000 - 1;
    assert.equal(throttle.isBlocked('192.0.2.1'), true);
    clock.t += 1;
    assert.equal(throttle.isBlocked('192.0.2.1'), false);
    assert.equal(throttle.refusal('192.0.2.1', 'x@example.com'), null);
    assert.equal(await throttle.failed('192.0.2.1', 'y@example.com'), 'failed', 'the count starts again');
  });

  it('locks an account out after failures from many IPs, whatever IP comes next', async () => {
    const { throttle } = setup({ slowdownMs: 0 });
    for (let i = 0; i < 19; i++) assert.equal(await throttle.failed(`198.51.100.${i}`, 'bob@example.com'), 'failed');
    assert.equal(await throttle.failed('198.51.100.99', 'bob@example.com'), 'throttled');
    assert.equal(throttle.refusal('203.0.113.5', 'bob@example.com'), 'account locked out');
    assert.equal(throttle.refusal('203.0.113.5', 'alice@example.com'), null);
    assert.equal(throttle.isBlocked('203.0.113.5'), false, 'isBlocked is about the IP');
  });

  it('counts in a sliding window', async () => {
    const { throttle, clock } = setup({ maxFailuresPerIp: 3, slowdownMs: 0 });
    await throttle.failed('192.0.2.1', 'a@example.com');
    clock.t += 10 * 60_000;
    await throttle.failed('192.0.2.1', 'a@example.com');
    clock.t += 6 * 60_000; // the first is now older than 15 minutes
    assert.equal(await throttle.failed('192.0.2.1', 'a@example.com'), 'failed');
    assert.equal(await throttle.failed('192.0.2.1', 'a@example.com'), 'throttled');
  });

  it('a success clears the account count, not the IP count', async () => {
    const { throttle, slept } = setup({ maxFailuresPerAccount: 3, maxFailuresPerIp: 5, slowdownMs: 0 });
    await throttle.failed('192.0.2.1', 'bob@example.com');
    await throttle.failed('192.0.2.1', 'bob@example.com');
    throttle.succeeded('192.0.2.1', 'bob@example.com');
    assert.equal(await throttle.failed('192.0.2.1', 'bob@example.com'), 'failed', 'bob starts again at 1');
    assert.equal(await throttle.failed('192.0.2.1', 'bob@example.com'), 'failed');
    assert.equal(await throttle.failed('192.0.2.1', 'carol@example.com'), 'throttled', 'the IP reached 5');
    assert.deepEqual(slept, []);
  });

  it('counts IPv6 clients by /64 and v4-mapped addresses as IPv4', () => {
    assert.equal(ipKey('192.0.2.1'), 'ip:192.0.2.1');
    assert.equal(ipKey('::ffff:192.0.2.1'), 'ip:192.0.2.1');
    assert.equal(ipKey('2001:db8:1:2:3:4:5:6'), 'ip:2001:db8:1:2::/64');
    assert.equal(ipKey('2001:0db8:0001:0002::9'), 'ip:2001:db8:1:2::/64');
    assert.equal(ipKey('2001:db8::1'), 'ip:2001:db8:0:0::/64');
    assert.equal(ipKey('fe80::1%eth0'), 'ip:fe80:0:0:0::/64');
    assert.equal(ipKey('::1'), 'ip:0:0:0:0::/64');
    assert.equal(ipKey('64:ff9b::192.0.2.1'), 'ip:64:ff9b:0:0::/64');
  });

  it('an IPv6 /64 shares one count', async () => {
    const { throttle } = setup({ maxFailuresPerIp: 2, slowdownMs: 0 });
    await throttle.failed('2001:db8:1:2::a', 'a@example.com');
    assert.equal(await throttle.failed('2001:db8:1:2::b', 'b@example.com'), 'throttled');
    assert.equal(throttle.isBlocked('2001:db8:1:2:ffff::1'), true);
    assert.equal(throttle.isBlocked('2001:db8:1:3::1'), false);
  });

  it('memory state stays bounded, dropping the least recently failed keys', () => {
    const s = new MemoryThrottleState(100);
    for (let i = 0; i < 1000; i++) s.add(`acct:u${i}`, i);
    assert.ok(s.size <= 100);
    assert.equal(s.count('acct:u999', 0), 1);
    assert.equal(s.count('acct:u0', 0), 0);
    assert.equal(s.count('acct:u999', 1000), 0, 'older than since');
  });
});
