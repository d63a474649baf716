// The sliding-window estimate the rate limits use, and each limit of the
// rate-limit hook over a real store with a moved clock.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { rateLimitHook, slidingEstimate, type RateLimitConfig } from './rate-limit.ts';
import { openSqliteStore } from '../store/sqlite/index.ts';
import { tempDir } from '../../test/helpers/temp-dir.ts';
import { createLogger } from '../log/logger.ts';

test('at the start of a window the previous one counts fully, at its end not at all', () => {
  assert.equal(slidingEstimate(0, 100, 3_600_000, 3_600_000), 100);
  assert.equal(slidingEstimate(10, 100, 3_600_000 + 1_800_000, 3_600_000), 60);
  assert.ok(Math.abs(slidingEstimate(10, 100, 2 * 3_600_000 - 1, 3_600_000) - 10) < 0.001);
});

test('property: between the current count and current + previous, monotone in both counts', () => {
  fc.assert(
    fc.property(fc.nat(10_000), fc.nat(10_000), fc.nat(1e12), fc.integer({ min: 1, max: 86_400_000 }), (cur, prev, now, w) => {
      const e = slidingEstimate(cur, prev, now, w);
      assert.ok(e >= cur && e <= cur + prev);
      assert.ok(slidingEstimate(cur + 1, prev, now, w) > e);
      assert.ok(slidingEstimate(cur, prev + 1, now, w) >= e);
    }),
  );
});

test('each limit: IP messages and recipients per hour, account recipients per day, connections per minute; the window slides', async () => {
  const tmp = await tempDir();
  const store = await openSqliteStore({ dataDir: tmp.dir, commitIn: 'main' });
  const cfg: RateLimitConfig = { enabled: true, ip_connections_per_minute: 2, ip_messages_per_hour: 3, ip_recipients_per_hour: 4, account_messages_per_hour: 100, account_recipients_per_day: 5 };
  const logs: string[] = [];
  const hook = rateLimitHook({ store, config: cfg, log: createLogger({ level: 'info', write: (l) => void logs.push(l) }) });
  let now = Date.parse('2026-01-05T10:00:00Z');
  const base = (user: string | null, ip = '192.0.2.1') => ({
    sessionId: 's', clientIp: ip, role: 'smtp' as const, trust: (user ? 'authenticated' : 'none') as 'authenticated' | 'none', tls: null, hostname: 'mx', now: new Date(now), verdicts: [],
    helo: 'h', from: { local: 'a', domain: 'b.example' }, user, queueId: 'Q',
  });
  const rcpt = (user: string | null, accepted = 0, ip?: string) => ({ ...base(user, ip), recipient: { local: 'r', domain: 'example.org' }, accepted: Array.from({ length: accepted }, () => ({ local: 'x', domain: 'example.org' })) });
  const data = (user: string | null, n: number, ip?: string) => ({ ...base(user, ip), recipients: Array.from({ length: n }, (_, index) => ({ index, address: { local: 'r', domain: 'example.org' } })), content: [], size: 0, message: () => Buffer.alloc(0) });
  const code = (a: unknown) => (a as { reply?: { code: number } } | undefined)?.reply?.code ?? 250;
  try {
    // Connections per minute (connect stage; 421 comes from the session for a connect defer).
    assert.equal(code(await hook.connect!(base(null) as never)), 250);
    assert.equal(code(await hook.connect!(base(null) as never)), 250);
    assert.equal((await hook.connect!(base(null) as never) as { kind: string }).kind, 'defer');
    assert.equal(code(await hook.connect!(base(null, '198.51.100.1') as never)), 250, 'another IP is not affected');
    // IP messages per hour: 3 messages pass, the 4th MAIL is 450.
    for (let i = 0; i < 3; i++) {
      assert.equal(code(await hook.mail!(base(null) as never)), 250);
      await hook.data!(data(null, 1) as never);
    }
    assert.equal(code(await hook.mail!(base(null) as never)), 450);
    // IP recipients per hour: 3 counted, one more fits, a second in the same transaction does not.
    assert.equal(code(await hook.rcpt!(rcpt(null, 0) as never)), 250);
    assert.equal(code(await hook.rcpt!(rcpt(null, 1) as never)), 450);
    // Two hours later the window has slid past.
    now += 2 * 3600_000;
    assert.equal(code(await hook.mail!(base(null) as never)), 250);
    // Account recipients per day: 5, counted per message; IP limits do not apply to a logged-in user.
    await hook.data!(data('u@example.org', 4, '203.0.113.1') as never);
    assert.equal(code(await hook.rcpt!(rcpt('u@example.org', 0, '203.0.113.1') as never)), 250);
    assert.equal(code(await hook.rcpt!(rcpt('u@example.org', 1, '203.0.113.1') as never)), 450);
    assert.ok(logs.some((l) => l.includes('account_recipients_per_day') && l.includes('possible compromise')));
    // Trusted networks are exempt.
    assert.equal(await hook.mail!({ ...base(null), trust: 'trusted-network' } as never), undefined);
  } finally {
    await store.close();
    await tmp.remove();
  }
});
