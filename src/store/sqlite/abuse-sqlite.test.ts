// The SQLite AbuseStore: greylist entries, counters, overrides, spam
// training (idempotent per message, relabelling undoes the old lesson),
// sender rules, and that the state survives closing and reopening the store.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openSqliteStore } from './index.ts';
import { tempDir } from '../../../test/helpers/temp-dir.ts';

async function withStore(fn: (s: Awaited<ReturnType<typeof openSqliteStore>>, dir: string) => Promise<void>) {
  const tmp = await tempDir();
  const s = await openSqliteStore({ dataDir: tmp.dir, commitIn: 'main' });
  try {
    await fn(s, tmp.dir);
  } finally {
    await s.close();
    await tmp.remove();
  }
}

test('greylist entries: put, get, count passed per network, purge, and survive a reopen', async () => {
  const tmp = await tempDir();
  try {
    let s = await openSqliteStore({ dataDir: tmp.dir, commitIn: 'main' });
    const key = { network: '192.0.2.0/24', sender: 'a@x.example', recipient: 'b@y.example' };
    assert.equal(await s.getGreylist(key), null);
    await s.putGreylist({ ...key, firstSeen: 1000, lastSeen: 1000, passedAt: null, passes: 0 });
    await s.putGreylist({ ...key, firstSeen: 1000, lastSeen: 5000, passedAt: 5000, passes: 1 });
    await s.close();
    s = await openSqliteStore({ dataDir: tmp.dir, commitIn: 'main' });
    assert.deepEqual(await s.getGreylist(key), { ...key, firstSeen: 1000, lastSeen: 5000, passedAt: 5000, passes: 1 });
    assert.equal(await s.countGreylistPassed('192.0.2.0/24', 0), 1);
    assert.equal(await s.countGreylistPassed('192.0.2.0/24', 6000), 0);
    assert.equal(await s.countGreylistPassed('198.51.100.0/24', 0), 0);
    assert.equal(await s.purgeGreylist(5001), 1);
    assert.equal(await s.getGreylist(key), null);
    await s.close();
  } finally {
    await tmp.remove();
  }
});

test('counters add atomically per window; overrides need an account', async () => {
  await withStore(async (s) => {
    assert.equal(await s.addToCounter('k', 0, 1, 100), 1);
    assert.equal(await s.addToCounter('k', 0, 2, 100), 3);
    assert.equal(await s.addToCounter('k', 60, 1, 200), 1);
    assert.equal(await s.getCounter('k', 0), 3);
    assert.equal(await s.getCounter('other', 0), 0);
    assert.equal(await s.purgeCounters(150), 1);
    assert.equal(await s.getCounter('k', 0), 0);
    await s.addDomain('example.org');
    const a = await s.addAccount({ address: 'u@example.org', passwordHash: 'x', quotaBytes: 0 });
    assert.equal(await s.getRateOverride(a.id), null);
    await s.setRateOverride(a.id, { messagesPerHour: 5, recipientsPerDay: null });
    assert.deepEqual(await s.getRateOverride(a.id), { messagesPerHour: 5, recipientsPerDay: null });
    await s.setRateOverride(a.id, null);
    assert.equal(await s.getRateOverride(a.id), null);
    await assert.rejects(s.setRateOverride(9999, { messagesPerHour: 1, recipientsPerDay: 1 }), { code: 'not_found' });
  });
});

test('spam training: idempotent per message, relabelling moves the counts', async () => {
  await withStore(async (s) => {
    assert.equal(await s.trainSpam(0, 'm1', ['free', 'money', 'free'], 'spam', 1), true);
    assert.equal(await s.trainSpam(0, 'm1', ['free', 'money'], 'spam', 2), false);
    assert.deepEqual(await s.getSpamTotals(0), { spam: 1, ham: 0 });
    assert.deepEqual(Object.fromEntries(await s.getSpamTokens(0, ['free', 'money', 'absent'])), { free: { spam: 1, ham: 0 }, money: { spam: 1, ham: 0 } });
    assert.equal(await s.trainSpam(0, 'm1', ['free', 'money'], 'ham', 3), true);
    assert.deepEqual(await s.getSpamTotals(0), { spam: 0, ham: 1 });
    assert.deepEqual(Object.fromEntries(await s.getSpamTokens(0, ['free', 'money'])), { free: { spam: 0, ham: 1 }, money: { spam: 0, ham: 1 } });
    assert.deepEqual(await s.getSpamTotals(7), { spam: 0, ham: 0 });
    assert.equal((await s.getSpamTokens(0, [])).size, 0);
  });
});

test('sender rules: add (replacing the action), list, remove; removed with the account', async () => {
  await withStore(async (s) => {
    await s.addDomain('example.org');
    const a = await s.addAccount({ address: 'u@example.org', passwordHash: 'x', quotaBytes: 0 });
    await s.addSenderRule({ accountId: a.id, pattern: 'Friend@Example.NET', action: 'allow' });
    await s.addSenderRule({ accountId: a.id, pattern: '@spam.example', action: 'allow' });
    await s.addSenderRule({ accountId: a.id, pattern: '@spam.example', action: 'block' });
    assert.deepEqual(await s.listSenderRules(a.id), [
      { accountId: a.id, pattern: '@spam.example', action: 'block' },
      { accountId: a.id, pattern: 'friend@example.net', action: 'allow' },
    ]);
    await assert.rejects(s.addSenderRule({ accountId: a.id, pattern: 'not an address', action: 'allow' }), { code: 'invalid' });
    assert.equal(await s.removeSenderRule(a.id, '@spam.example'), true);
    assert.equal(await s.removeSenderRule(a.id, '@spam.example'), false);
    await s.trainSpam(a.id, 'm', ['t'], 'spam', 1);
    await s.removeAccount('u@example.org');
    assert.deepEqual(await s.listSenderRules(a.id), []);
    assert.deepEqual(await s.getSpamTotals(a.id), { spam: 0, ham: 0 });
  });
});
