// StoreSenderPolicy against a real SqliteStore: own address (case, +tag with
// one or several delimiter characters), aliases, grants (exact and @domain),
// and refusals (other users, the null sender, catch-alls, nested aliases).

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteStore, type SqliteStore } from '../store/sqlite/index.ts';
import { StoreSenderPolicy } from './sender-policy.ts';
import type { AuthUser } from './types.ts';

let dir: string;
let store: SqliteStore;
let bob: AuthUser;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mailroom-sender-'));
  store = await openSqliteStore({ dataDir: dir, commitIn: 'main' });
  await store.addDomain('example.com');
  await store.addDomain('other.example');
  const a = await store.addAccount({ address: 'bob@example.com', passwordHash: 'h', quotaBytes: 0 });
  await store.addAccount({ address: 'alice@example.com', passwordHash: 'h', quotaBytes: 0 });
  bob = { accountId: a.id, address: a.address, appPassword: null };
  await store.addAlias('sales@example.com', ['alice@example.com', 'bob@example.com']);
  await store.addAlias('info@example.com', ['alice@example.com']);
  await store.addAlias('team@example.com', ['sales@example.com']); // bob only through another alias
  await store.addAlias('@other.example', ['bob@example.com']); // catch-all
  await store.addSenderGrant(a.id, 'ceo@example.com');
  await store.addSenderGrant(a.id, '@newsletter.example');
});
after(async () => {
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

describe('StoreSenderPolicy', () => {
  const policy = () => new StoreSenderPolicy(store, { recipientDelimiter: '+' });

  it('allows the own address in any case and its +tag forms', async () => {
    for (const from of ['bob@example.com', 'BOB@Example.COM', 'bob+news@example.com', 'bob+a+b@example.com']) {
      assert.equal(await policy().canSendAs(bob, from), true, from);
    }
    assert.equal(await policy().canSendAs(bob, '+bob@example.com'), false);
    assert.equal(await new StoreSenderPolicy(store, { recipientDelimiter: '' }).canSendAs(bob, 'bob+news@example.com'), false);
    const multi = new StoreSenderPolicy(store, { recipientDelimiter: '+-' });
    assert.equal(await multi.canSendAs(bob, 'bob-news@example.com'), true);
    assert.equal(await multi.canSendAs(bob, 'bob+x-y@example.com'), true);
  });

  it('allows aliases that deliver to the user, directly', async () => {
    assert.equal(await policy().canSendAs(bob, 'sales@example.com'), true);
    assert.equal(await policy().canSendAs(bob, 'Sales+q3@example.com'), true);
    assert.equal(await policy().canSendAs(bob, 'info@example.com'), false, "alice's alias");
    assert.equal(await policy().canSendAs(bob, 'team@example.com'), false, 'only through another alias');
    assert.equal(await policy().canSendAs(bob, 'anything@other.example'), false, 'catch-alls do not count');
  });

  it('allows grants: exact and @domain', async () => {
    assert.equal(await policy().canSendAs(bob, 'ceo@example.com'), true);
    assert.equal(await policy().canSendAs(bob, 'ceo+x@example.com'), true);
    assert.equal(await policy().canSendAs(bob, 'list@newsletter.example'), true);
    assert.equal(await policy().canSendAs(bob, 'x@sub.newsletter.example'), false);
    const alice = { accountId: (await store.getAccount('alice@example.com'))!.id, address: 'alice@example.com', appPassword: null };
    assert.equal(await policy().canSendAs(alice, 'ceo@example.com'), false, "bob's grant is bob's");
  });

  it('refuses other users, the null sender and junk', async () => {
    assert.equal(await policy().canSendAs(bob, 'alice@example.com'), false);
    assert.equal(await policy().canSendAs(bob, null), false);
    assert.equal(await policy().canSendAs(bob, ''), false);
    assert.equal(await policy().canSendAs(bob, 'bob@example.com.evil.example'), false);
  });
});
