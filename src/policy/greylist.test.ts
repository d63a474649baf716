// Greylisting decisions over a real store with a moved clock, and the
// client-network key (IPv4 /24, IPv6 /64).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { checkGreylist, clientNetwork, type GreylistConfig } from './greylist.ts';
import { openSqliteStore } from '../store/sqlite/index.ts';
import { tempDir } from '../../test/helpers/temp-dir.ts';

test('client networks', () => {
  assert.equal(clientNetwork('192.0.2.77'), '192.0.2.0/24');
  assert.equal(clientNetwork('::ffff:192.0.2.77'), '192.0.2.0/24');
  assert.equal(clientNetwork('2001:db8:1:2:3:4:5:6'), '2001:db8:1:2::/64');
  assert.equal(clientNetwork('2001:db8::1'), '2001:db8:0:0::/64');
  assert.equal(clientNetwork('2001:DB8:0001:0002::9'), '2001:db8:1:2::/64');
});

test('property: addresses in one /24 or /64 share a key', () => {
  fc.assert(
    fc.property(fc.ipV4(), fc.nat(255), (ip, last) => {
      const other = ip.split('.').slice(0, 3).concat(String(last)).join('.');
      assert.equal(clientNetwork(ip), clientNetwork(other));
    }),
  );
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: 8, maxLength: 8 }), fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: 4, maxLength: 4 }), (g, tail) => {
      const a = g.map((x) => x.toString(16)).join(':');
      const b = [...g.slice(0, 4), ...tail].map((x) => x.toString(16)).join(':');
      assert.equal(clientNetwork(a), clientNetwork(b));
      assert.match(clientNetwork(a), /::\/64$/);
    }),
  );
});

test('the greylisting sequence: new, too soon, passed, known, window expired, whitelisted', async () => {
  const tmp = await tempDir();
  const store = await openSqliteStore({ dataDir: tmp.dir, commitIn: 'main' });
  const c: GreylistConfig = { enabled: true, delay: 300_000, window: 86_400_000, expiry: 30 * 86_400_000, whitelist_after: 2, skip_spf_known_good: false };
  try {
    const q = (now: number, sender = 's@x.example', clientIp = '192.0.2.1') => checkGreylist(store, c, { clientIp, sender, recipient: 'r@y.example', now });
    const t0 = 1_000_000_000_000;
    assert.deepEqual(await q(t0), { pass: false, reason: 'new', retryAfter: t0 + 300_000 });
    assert.deepEqual(await q(t0 + 60_000, 's@x.example', '192.0.2.200'), { pass: false, reason: 'too-soon', retryAfter: t0 + 300_000 });
    assert.deepEqual(await q(t0 + 300_000), { pass: true, reason: 'retry-passed' });
    assert.deepEqual(await q(t0 + 400_000), { pass: true, reason: 'known' });
    // Another sender never retries within the window: it starts over.
    await q(t0, 'late@x.example', '198.51.100.1');
    assert.equal((await q(t0 + 2 * 86_400_000, 'late@x.example', '198.51.100.1')).reason, 'window-expired');
    // A passed triplet not seen for longer than the expiry is new again.
    assert.equal((await q(t0 + 40 * 86_400_000, 's@x.example', '203.0.113.5')).reason, 'new');
    // Two passed triplets from one network whitelist it.
    await q(t0, 'two@x.example');
    await q(t0 + 300_000, 'two@x.example');
    assert.deepEqual(await q(t0 + 500_000, 'brand-new@z.example'), { pass: true, reason: 'whitelisted-network' });
  } finally {
    await store.close();
    await tmp.remove();
  }
});

test('the hook: SPF pass from a known-good domain skips greylisting; otherwise 450 4.7.1', async () => {
  const tmp = await tempDir();
  const store = await openSqliteStore({ dataDir: tmp.dir, commitIn: 'main' });
  const { greylistHook } = await import('./greylist.ts');
  const { createLogger } = await import('../log/logger.ts');
  try {
    const cfg: GreylistConfig = { enabled: true, delay: 300_000, window: 86_400_000, expiry: 30 * 86_400_000, whitelist_after: 0, skip_spf_known_good: true };
    let spfCalls = 0;
    const hook = greylistHook({
      store,
      config: cfg,
      log: createLogger({ level: 'error', write: () => {} }),
      spfPass: async (_ip, _helo, sender) => {
        spfCalls++;
        return sender.endsWith('@good.example') || sender.endsWith('@unknown.example');
      },
      knownGoodDomain: async (d) => d === 'good.example',
    });
    const ctx = (from: string, rcpt: string, queueId = 'Q1') => ({
      stage: 'rcpt' as const, sessionId: 's', clientIp: '192.0.2.1', role: 'smtp' as const, trust: 'none' as const, tls: null, hostname: 'mx', now: new Date(1e12), verdicts: [],
      helo: 'mta.example', from: { local: from.split('@')[0], domain: from.split('@')[1] }, user: null, queueId,
      recipient: { local: rcpt.split('@')[0], domain: rcpt.split('@')[1] }, accepted: [],
    });
    const a1 = await hook.rcpt!(ctx('news@good.example', 'a@example.org') as never);
    assert.equal((a1 as { kind: string }).kind, 'note', 'known good + SPF pass: not greylisted');
    await hook.rcpt!(ctx('news@good.example', 'b@example.org') as never);
    assert.equal(spfCalls, 1, 'SPF asked once per transaction');
    const a2 = await hook.rcpt!(ctx('x@unknown.example', 'a@example.org', 'Q2') as never);
    assert.equal((a2 as { kind: string; reply: { code: number; enhanced: string } }).kind, 'defer');
    assert.equal((a2 as { reply: { code: number } }).reply.code, 450);
    const off = greylistHook({ store, config: { ...cfg, enabled: false }, log: createLogger({ level: 'error', write: () => {} }) });
    assert.equal(await off.rcpt!(ctx('x@unknown.example', 'z@example.org', 'Q3') as never), undefined);
  } finally {
    await store.close();
    await tmp.remove();
  }
});

test('property: over any schedule of attempts, the greylisting invariants hold', async () => {
  const { checkGreylist } = await import('./greylist.ts');
  const cfg: GreylistConfig = { enabled: true, delay: 300_000, window: 86_400_000, expiry: 30 * 86_400_000, whitelist_after: 0, skip_spf_known_good: false };
  // The greylist half of an AbuseStore, in memory.
  const memory = () => {
    const m = new Map<string, import('../store/abuse-store.ts').GreylistEntry>();
    const k = (e: { network: string; sender: string; recipient: string }) => `${e.network}\0${e.sender}\0${e.recipient}`;
    return {
      getGreylist: async (key: { network: string; sender: string; recipient: string }) => m.get(k(key)) ?? null,
      putGreylist: async (e: import('../store/abuse-store.ts').GreylistEntry) => void m.set(k(e), { ...e }),
      countGreylistPassed: async () => 0,
    } as unknown as import('../store/abuse-store.ts').AbuseStore;
  };
  const gap = fc.oneof(fc.integer({ min: 0, max: 299_999 }), fc.integer({ min: 300_000, max: 86_400_000 }), fc.integer({ min: 86_400_001, max: 40 * 86_400_000 }));
  await fc.assert(
    fc.asyncProperty(fc.array(gap, { minLength: 1, maxLength: 12 }), async (gaps) => {
      const store = memory();
      let t = 1_700_000_000_000;
      const seen: number[] = [];
      let passedLast: number | null = null;
      for (const [i, g] of gaps.entries()) {
        t += i === 0 ? 0 : g;
        const d = await checkGreylist(store, cfg, { clientIp: '192.0.2.9', sender: 's@x.example', recipient: 'r@y.example', now: t });
        if (i === 0) assert.equal(d.pass, false, 'never at first sight');
        if (!d.pass) assert.ok(d.retryAfter > t, 'a deferral names a later time');
        if (d.pass && d.reason === 'retry-passed') assert.ok(seen.some((s) => t - s >= cfg.delay && t - s <= cfg.window), 'a retry passes only after the delay, within the window');
        if (passedLast !== null && t - passedLast <= cfg.expiry) assert.equal(d.pass, true, 'a passed triplet keeps passing while it is seen');
        if (d.pass) passedLast = t;
        seen.push(t);
      }
    }),
    { numRuns: 200 },
  );
});
