// The abuse-defence part of the Store contract (run by storeContract in
// contract.ts): greylist entries and the whitelisting count, fixed-window
// counters (concurrent increments add up), per-account rate overrides, spam
// training (idempotent per message; relabelling undoes the old lesson) and
// per-user and global sender rules, removed with their account.

import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { StoreError, type Store } from './store.ts';
import type { OpenStore } from './contract.ts';

async function rejectsWith(p: Promise<unknown>, code: StoreError['code']): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof StoreError, `expected StoreError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    return true;
  });
}

export function abuseContract(name: string, open: OpenStore): void {
  describe(`Store contract: ${name}: abuse defences`, () => {
    let store: Store;
    let cleanup: () => Promise<void>;
    let accountId: number;
    beforeEach(async () => {
      ({ store, cleanup } = await open());
      await store.addDomain('example.org');
      accountId = (await store.addAccount({ address: 'u@example.org', passwordHash: 'x', quotaBytes: 0 })).id;
    });
    afterEach(() => cleanup());

    it('greylist: put replaces, get reads back, passed triplets are counted per network, purge by last seen', async () => {
      const key = { network: '192.0.2.0/24', sender: 'a@x.example', recipient: 'b@y.example' };
      assert.equal(await store.getGreylist(key), null);
      await store.putGreylist({ ...key, firstSeen: 1000, lastSeen: 1000, passedAt: null, passes: 0 });
      assert.equal(await store.countGreylistPassed(key.network, 0), 0);
      await store.putGreylist({ ...key, firstSeen: 1000, lastSeen: 5000, passedAt: 5000, passes: 1 });
      await store.putGreylist({ network: key.network, sender: '', recipient: 'b@y.example', firstSeen: 1, lastSeen: 2, passedAt: 2, passes: 1 });
      assert.deepEqual(await store.getGreylist(key), { ...key, firstSeen: 1000, lastSeen: 5000, passedAt: 5000, passes: 1 });
      assert.equal(await store.countGreylistPassed(key.network, 0), 2);
      assert.equal(await store.countGreylistPassed(key.network, 3), 1);
      assert.equal(await store.countGreylistPassed('198.51.100.0/24', 0), 0);
      assert.equal(await store.purgeGreylist(5001), 2);
      assert.equal(await store.getGreylist(key), null);
    });

    it('counters: per key and window, concurrent additions all count, purge by expiry', async () => {
      assert.equal(await store.addToCounter('k', 0, 1, 100), 1);
      const all = await Promise.all(Array.from({ length: 20 }, () => store.addToCounter('k', 0, 1, 100)));
      assert.equal(Math.max(...all), 21);
      assert.equal(await store.addToCounter('k', 60, 5, 200), 5);
      assert.equal(await store.getCounter('k', 0), 21);
      assert.equal(await store.getCounter('other', 0), 0);
      assert.equal(await store.purgeCounters(150), 1);
      assert.equal(await store.getCounter('k', 0), 0);
      assert.equal(await store.getCounter('k', 60), 5);
    });

    it('rate overrides: set, partial, clear; unknown account is not_found', async () => {
      assert.equal(await store.getRateOverride(accountId), null);
      await store.setRateOverride(accountId, { messagesPerHour: 5, recipientsPerDay: null });
      assert.deepEqual(await store.getRateOverride(accountId), { messagesPerHour: 5, recipientsPerDay: null });
      await store.setRateOverride(accountId, null);
      assert.equal(await store.getRateOverride(accountId), null);
      await rejectsWith(store.setRateOverride(accountId + 1000, { messagesPerHour: 1, recipientsPerDay: 1 }), 'not_found');
    });

    it('spam training: idempotent per message, relabelling moves the counts, scopes are apart', async () => {
      assert.equal(await store.trainSpam(0, 'm1', ['free', 'money', 'free'], 'spam', 1), true);
      assert.equal(await store.trainSpam(0, 'm1', ['free', 'money'], 'spam', 2), false);
      assert.deepEqual(await store.getSpamTotals(0), { spam: 1, ham: 0 });
      assert.deepEqual(Object.fromEntries(await store.getSpamTokens(0, ['free', 'money', 'absent'])), { free: { spam: 1, ham: 0 }, money: { spam: 1, ham: 0 } });
      assert.equal(await store.trainSpam(0, 'm1', ['free', 'money'], 'ham', 3), true);
      assert.deepEqual(await store.getSpamTotals(0), { spam: 0, ham: 1 });
      assert.deepEqual(Object.fromEntries(await store.getSpamTokens(0, ['free', 'money'])), { free: { spam: 0, ham: 1 }, money: { spam: 0, ham: 1 } });
      await store.trainSpam(accountId, 'm1', ['mine'], 'spam', 4);
      assert.deepEqual(await store.getSpamTotals(accountId), { spam: 1, ham: 0 });
      assert.equal((await store.getSpamTokens(0, ['mine'])).size, 0);
      assert.equal((await store.getSpamTokens(0, [])).size, 0);
      await rejectsWith(store.trainSpam(-1, 'm', ['t'], 'spam', 1), 'invalid');
    });

    it('sender rules: add replaces the action, listed by pattern, removed with the account; global scope 0', async () => {
      await store.addSenderRule({ accountId, pattern: 'Friend@Example.NET', action: 'allow' });
      await store.addSenderRule({ accountId, pattern: '@spam.example', action: 'allow' });
      await store.addSenderRule({ accountId, pattern: '@spam.example', action: 'block' });
      await store.addSenderRule({ accountId: 0, pattern: '@bulk.example', action: 'block' });
      assert.deepEqual(await store.listSenderRules(accountId), [
        { accountId, pattern: '@spam.example', action: 'block' },
        { accountId, pattern: 'friend@example.net', action: 'allow' },
      ]);
      await rejectsWith(store.addSenderRule({ accountId, pattern: 'not an address', action: 'allow' }), 'invalid');
      await rejectsWith(store.addSenderRule({ accountId: accountId + 1000, pattern: '@x.example', action: 'allow' }), 'not_found');
      assert.equal(await store.removeSenderRule(accountId, '@SPAM.example'), true);
      assert.equal(await store.removeSenderRule(accountId, '@spam.example'), false);
      await store.trainSpam(accountId, 'm', ['t'], 'spam', 1);
      await store.removeAccount('u@example.org');
      assert.deepEqual(await store.listSenderRules(accountId), []);
      assert.deepEqual(await store.getSpamTotals(accountId), { spam: 0, ham: 0 });
      assert.deepEqual(await store.listSenderRules(0), [{ accountId: 0, pattern: '@bulk.example', action: 'block' }]);
    });
  });
}
