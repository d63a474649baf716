// The DKIM key part of the Store contract (run by storeContract in
// contract.ts): adding keys, the atomic rotation (`supersede`), schedule
// changes, listing order, validation, and removal with the domain.

import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { StoreError, type Store } from './store.ts';
import { dkimKeyState, type NewDkimKey } from './dkim-keys.ts';
import type { OpenStore } from './contract.ts';

async function rejectsWith(p: Promise<unknown>, code: StoreError['code']): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof StoreError, `expected StoreError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    return true;
  });
}

const pair = generateKeyPairSync('ed25519');
const PEM = pair.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
const PUB = (pair.publicKey.export({ type: 'spki', format: 'der' }) as Buffer).subarray(-32).toString('base64');

function newKey(over: Partial<NewDkimKey> = {}): NewDkimKey {
  return { domain: 'example.com', selector: 'mr202601', algorithm: 'ed25519-sha256', privateKey: PEM, publicKey: PUB, activateAt: new Date(1_700_000_000_000), ...over };
}

export function dkimContract(name: string, open: OpenStore): void {
  describe(`Store contract: ${name}: DKIM keys`, () => {
    let store: Store;
    let cleanup: () => Promise<void>;
    beforeEach(async () => {
      ({ store, cleanup } = await open());
      await store.addDomain('example.com');
    });
    afterEach(() => cleanup());

    it('adds a key and reads it back, selector and domain canonical', async () => {
      const k = await store.addDkimKey(newKey({ domain: 'EXAMPLE.com', selector: 'MR202601' }));
      assert.equal(k.domain, 'example.com');
      assert.equal(k.selector, 'mr202601');
      assert.equal(k.algorithm, 'ed25519-sha256');
      assert.equal(k.privateKey, PEM);
      assert.equal(k.publicKey, PUB);
      assert.ok(k.createdAt instanceof Date);
      assert.equal(k.activateAt.getTime(), 1_700_000_000_000);
      assert.equal(k.deactivateAt, null);
      assert.equal(k.retireAt, null);
      assert.deepEqual(await store.getDkimKey('example.com', 'mr202601'), k);
      assert.equal(await store.getDkimKey('example.com', 'other'), null);
    });

    it('refuses a taken selector, an unknown domain and bad input', async () => {
      await store.addDkimKey(newKey());
      await rejectsWith(store.addDkimKey(newKey({ algorithm: 'rsa-sha256' })), 'exists');
      await rejectsWith(store.addDkimKey(newKey({ domain: 'nope.example' })), 'not_found');
      await rejectsWith(store.addDkimKey(newKey({ selector: 'bad selector' })), 'invalid');
      await rejectsWith(store.addDkimKey(newKey({ selector: '-x' })), 'invalid');
      await rejectsWith(store.addDkimKey(newKey({ algorithm: 'rsa-sha1' as never })), 'invalid');
      await rejectsWith(store.addDkimKey(newKey({ privateKey: 'not a key' })), 'invalid');
      await rejectsWith(store.addDkimKey(newKey({ publicKey: 'not base64!' })), 'invalid');
      await rejectsWith(store.addDkimKey(newKey({ activateAt: new Date(NaN) })), 'invalid');
    });

    it('the same selector may exist in two domains', async () => {
      await store.addDomain('example.net');
      await store.addDkimKey(newKey());
      await store.addDkimKey(newKey({ domain: 'example.net' }));
      assert.deepEqual((await store.listDkimKeys()).map((k) => `${k.selector}@${k.domain}`), ['mr202601@example.com', 'mr202601@example.net']);
    });

    it('lists by domain, then activation time, then selector', async () => {
      await store.addDomain('example.net');
      await store.addDkimKey(newKey({ selector: 'b', activateAt: new Date(2000) }));
      await store.addDkimKey(newKey({ selector: 'a', activateAt: new Date(3000) }));
      await store.addDkimKey(newKey({ selector: 'c', activateAt: new Date(2000) }));
      await store.addDkimKey(newKey({ domain: 'example.net', selector: 'z', activateAt: new Date(1000) }));
      assert.deepEqual((await store.listDkimKeys('example.com')).map((k) => k.selector), ['b', 'c', 'a']);
      assert.deepEqual((await store.listDkimKeys()).map((k) => k.selector), ['b', 'c', 'a', 'z']);
      assert.deepEqual(await store.listDkimKeys('example.org'), []);
    });

    it('a rotation adds the new key and schedules the old one in one step', async () => {
      await store.addDkimKey(newKey({ selector: 'old', activateAt: new Date(1000) }));
      await store.addDkimKey(newKey({ selector: 'new', activateAt: new Date(5000) }), { selector: 'old', deactivateAt: new Date(5000), retireAt: new Date(9000) });
      const old = (await store.getDkimKey('example.com', 'old'))!;
      assert.equal(old.deactivateAt?.getTime(), 5000);
      assert.equal(old.retireAt?.getTime(), 9000);
      assert.equal(old.activateAt.getTime(), 1000);
      const states = (t: number) => Promise.all(['old', 'new'].map(async (s) => dkimKeyState((await store.getDkimKey('example.com', s))!, new Date(t))));
      assert.deepEqual(await states(4999), ['active', 'pending']);
      assert.deepEqual(await states(5000), ['retiring', 'active']);
      assert.deepEqual(await states(9000), ['retired', 'active']);
    });

    it('a rotation that fails changes nothing', async () => {
      await store.addDkimKey(newKey({ selector: 'old' }));
      // The new selector is taken: the old key must keep its schedule.
      await rejectsWith(store.addDkimKey(newKey({ selector: 'old' }), { selector: 'old', deactivateAt: new Date(5000), retireAt: new Date(9000) }), 'exists');
      assert.equal((await store.getDkimKey('example.com', 'old'))!.deactivateAt, null);
      await rejectsWith(store.addDkimKey(newKey({ selector: 'new' }), { selector: 'missing', deactivateAt: new Date(5000), retireAt: new Date(9000) }), 'not_found');
      assert.equal(await store.getDkimKey('example.com', 'new'), null);
      await rejectsWith(store.addDkimKey(newKey({ selector: 'new' }), { selector: 'old', deactivateAt: new Date(5000), retireAt: new Date(4000) }), 'invalid');
    });

    it('changes a schedule; fields left out stay', async () => {
      await store.addDkimKey(newKey({ activateAt: new Date(5000) }));
      let k = await store.setDkimKeySchedule('example.com', 'mr202601', { activateAt: new Date(100) });
      assert.equal(k.activateAt.getTime(), 100);
      k = await store.setDkimKeySchedule('example.com', 'mr202601', { deactivateAt: new Date(200), retireAt: new Date(300) });
      assert.equal(k.activateAt.getTime(), 100);
      assert.equal(k.retireAt?.getTime(), 300);
      k = await store.setDkimKeySchedule('example.com', 'mr202601', { retireAt: null });
      assert.equal(k.deactivateAt?.getTime(), 200);
      assert.equal(k.retireAt, null);
      await rejectsWith(store.setDkimKeySchedule('example.com', 'nope', { retireAt: null }), 'not_found');
      await rejectsWith(store.setDkimKeySchedule('example.com', 'mr202601', { activateAt: 'soon' as never }), 'invalid');
    });

    it('removes a key, and removing the domain removes its keys', async () => {
      await store.addDkimKey(newKey({ selector: 'a' }));
      await store.addDkimKey(newKey({ selector: 'b' }));
      await store.removeDkimKey('example.com', 'a');
      await rejectsWith(store.removeDkimKey('example.com', 'a'), 'not_found');
      assert.deepEqual((await store.listDkimKeys()).map((k) => k.selector), ['b']);
      await store.removeDomain('example.com');
      assert.deepEqual(await store.listDkimKeys(), []);
      await store.addDomain('example.com');
      assert.equal(await store.getDkimKey('example.com', 'b'), null);
    });
  });
}
