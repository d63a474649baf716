// The behaviour every Store backend must have, as node:test cases. A backend's
// test file calls storeContract('name', open) with a function that gives a
// fresh, empty store and a cleanup; the same cases then run against SQLite
// today and PostgreSQL later, so callers can rely on the interface alone.
// The outbound queue's cases live in queue-contract.ts and run from here.

import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_MAILBOXES, StoreError, type Account, type Store } from './store.ts';
import { queueContract } from './queue-contract.ts';
import { mailboxContract } from './mailbox-contract.ts';
import { dkimContract } from './dkim-contract.ts';
import { abuseContract } from './abuse-contract.ts';

export type OpenStore = () => Promise<{ store: Store; cleanup: () => Promise<void> }>;

const HASH = '$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHQ$aGFzaGhhc2hoYXNoaGFzaA';
const SCRAM = 'SCRAM-SHA-256$4096:c2FsdHNhbHRzYWx0$c3RvcmVka2V5:c2VydmVya2V5';

/** Resolves if `p` rejects with StoreError(code). */
async function rejectsWith(p: Promise<unknown>, code: StoreError['code']): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof StoreError, `expected StoreError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    return true;
  });
}

function message(text: string, size = 0): Buffer {
  const head = `Subject: ${text}\r\n\r\n`;
  const body = size > head.length ? 'x'.repeat(size - head.length - 2) + '\r\n' : 'hello\r\n';
  return Buffer.from(head + body);
}

export function storeContract(name: string, open: OpenStore): void {
  describe(`Store contract: ${name}`, () => {
    let store: Store;
    let cleanup: () => Promise<void>;
    beforeEach(async () => {
      ({ store, cleanup } = await open());
    });
    afterEach(() => cleanup());

    async function account(address: string, quotaBytes = 0): Promise<Account> {
      const domain = address.slice(address.indexOf('@') + 1);
      if (!(await store.hasDomain(domain))) await store.addDomain(domain);
      return store.addAccount({ address, passwordHash: HASH, quotaBytes });
    }

    describe('domains', () => {
      it('adds, lists and checks domains, lower-cased, IDNs as A-labels', async () => {
        const d = await store.addDomain('Example.COM');
        assert.equal(d.name, 'example.com');
        assert.ok(d.createdAt instanceof Date);
        await store.addDomain('bücher.example');
        assert.deepEqual(
          (await store.listDomains()).map((x) => x.name),
          ['example.com', 'xn--bcher-kva.example'],
        );
        assert.equal(await store.hasDomain('EXAMPLE.com'), true);
        assert.equal(await store.hasDomain('bücher.example'), true);
        assert.equal(await store.hasDomain('other.example'), false);
      });

      it('refuses duplicates and invalid names', async () => {
        await store.addDomain('example.com');
        await rejectsWith(store.addDomain('EXAMPLE.COM'), 'exists');
        for (const bad of ['', 'a b.com', 'bad..com', '-x.com', 'x@y.com', '1.2.3.4', 'a'.repeat(64) + '.com']) {
          await rejectsWith(store.addDomain(bad), 'invalid');
        }
      });

      it('removing an unknown domain is not_found', async () => {
        await rejectsWith(store.removeDomain('nope.example'), 'not_found');
      });
    });

    describe('accounts', () => {
      it('creates an account with the default mailboxes and special-use', async () => {
        await store.addDomain('example.com');
        const a = await store.addAccount({ address: 'Alice@Example.com', passwordHash: HASH, quotaBytes: 1000 });
        assert.equal(a.address, 'alice@example.com');
        assert.equal(a.passwordHash, HASH);
        assert.equal(a.quotaBytes, 1000);
        assert.equal(a.usedBytes, 0);
        const boxes = await store.listMailboxes(a.id);
        assert.deepEqual(
          boxes.map((m) => ({ name: m.name, specialUse: m.specialUse })),
          DEFAULT_MAILBOXES.map((m) => ({ name: m.name, specialUse: m.specialUse })),
        );
        for (const m of boxes) {
          assert.equal(m.accountId, a.id);
          assert.equal(m.uidNext, 1);
          assert.equal(m.messageCount, 0);
          assert.equal(m.subscribed, true);
          assert.ok(m.highestModseq >= 1);
          assert.ok(Number.isInteger(m.uidValidity) && m.uidValidity > 0 && m.uidValidity <= 0xffffffff);
        }
        const inbox = await store.getMailbox(a.id, 'inbox'); // RFC 9051 §5.1: INBOX is case-insensitive
        assert.equal(inbox?.name, 'INBOX');
        assert.equal(await store.getMailbox(a.id, 'No such'), null);
      });

      it('looks accounts up by address (any case) and id', async () => {
        const a = await account('bob@example.com');
        assert.equal((await store.getAccount('BOB@EXAMPLE.COM'))?.id, a.id);
        assert.equal((await store.getAccountById(a.id))?.address, 'bob@example.com');
        assert.equal(await store.getAccount('carol@example.com'), null);
        assert.equal(await store.getAccount('not an address'), null);
        assert.equal(await store.getAccountById(a.id + 1000), null);
      });

      it('refuses duplicates, unknown domains and bad addresses', async () => {
        await account('bob@example.com');
        await rejectsWith(store.addAccount({ address: 'Bob@example.com', passwordHash: HASH, quotaBytes: 0 }), 'exists');
        await rejectsWith(store.addAccount({ address: 'x@nope.example', passwordHash: HASH, quotaBytes: 0 }), 'not_found');
        for (const bad of ['', 'bob', '@example.com', 'bob@', 'a b@example.com', 'a..b@example.com', 'bob@bad..com']) {
          await rejectsWith(store.addAccount({ address: bad, passwordHash: HASH, quotaBytes: 0 }), 'invalid');
        }
        await rejectsWith(store.addAccount({ address: 'q@example.com', passwordHash: HASH, quotaBytes: -1 }), 'invalid');
      });

      it('lists accounts, all or by domain', async () => {
        await account('b@one.example');
        await account('a@one.example');
        await account('c@two.example');
        assert.deepEqual(
          (await store.listAccounts()).map((a) => a.address).sort(),
          ['a@one.example', 'b@one.example', 'c@two.example'],
        );
        assert.deepEqual((await store.listAccounts('ONE.example')).map((a) => a.address).sort(), [
          'a@one.example',
          'b@one.example',
        ]);
        assert.deepEqual(await store.listAccounts('three.example'), []);
      });

      it('sets password and quota; unknown accounts are not_found', async () => {
        await account('bob@example.com');
        await store.setPassword('BOB@example.com', 'new-hash');
        await store.setQuota('bob@example.com', 5000);
        const a = await store.getAccount('bob@example.com');
        assert.equal(a?.passwordHash, 'new-hash');
        assert.equal(a?.quotaBytes, 5000);
        await rejectsWith(store.setPassword('x@example.com', 'h'), 'not_found');
        await rejectsWith(store.setQuota('x@example.com', 1), 'not_found');
        await rejectsWith(store.setQuota('bob@example.com', 1.5), 'invalid');
      });

      it('removes an account with its mailboxes', async () => {
        const a = await account('bob@example.com');
        await store.removeAccount('Bob@Example.com');
        assert.equal(await store.getAccount('bob@example.com'), null);
        assert.equal(await store.getAccountById(a.id), null);
        assert.deepEqual(await store.listMailboxes(a.id), []);
        await rejectsWith(store.removeAccount('bob@example.com'), 'not_found');
      });

      it('gives a re-created mailbox a larger UIDVALIDITY', async () => {
        const a = await account('bob@example.com');
        const before = (await store.getMailbox(a.id, 'INBOX'))!.uidValidity;
        await store.removeAccount('bob@example.com');
        const b = await account('bob@example.com');
        const after = (await store.getMailbox(b.id, 'INBOX'))!.uidValidity;
        assert.ok(after > before, `${after} > ${before}`);
      });
    });

    describe('SCRAM keys', () => {
      it('stores them with the account and replaces or clears them with the password', async () => {
        await store.addDomain('example.com');
        const a = await store.addAccount({ address: 'a@example.com', passwordHash: HASH, quotaBytes: 0, scram: SCRAM });
        assert.equal(a.scram, SCRAM);
        assert.equal((await store.getAccount('a@example.com'))?.scram, SCRAM);
        const b = await store.addAccount({ address: 'b@example.com', passwordHash: HASH, quotaBytes: 0 });
        assert.equal(b.scram ?? null, null);
        await store.setPassword('b@example.com', 'h2', SCRAM);
        assert.equal((await store.getAccountById(b.id))?.scram, SCRAM);
        // A new password without keys must not leave the old password's keys usable.
        await store.setPassword('a@example.com', 'h3');
        const after = await store.getAccount('a@example.com');
        assert.equal(after?.passwordHash, 'h3');
        assert.equal(after?.scram ?? null, null);
        await rejectsWith(store.addAccount({ address: 'c@example.com', passwordHash: HASH, quotaBytes: 0, scram: '' }), 'invalid');
      });
    });

    describe('app passwords', () => {
      it('adds, lists oldest first with hashes, and removes one at a time', async () => {
        const a = await account('a@example.com');
        const p1 = await store.addAppPassword(a.id, 'phone', 'hash1', SCRAM);
        assert.equal(p1.name, 'phone');
        assert.ok(p1.createdAt instanceof Date);
        assert.ok(Number.isInteger(p1.id));
        await store.addAppPassword(a.id, 'Laptop.Thunderbird', 'hash2', null);
        const list = await store.listAppPasswords(a.id);
        assert.deepEqual(
          list.map((p) => [p.name, p.passwordHash, p.scram]),
          [
            ['phone', 'hash1', SCRAM],
            ['Laptop.Thunderbird', 'hash2', null],
          ],
        );
        assert.equal(list[0]!.id, p1.id);
        await store.removeAppPassword(a.id, 'phone');
        assert.deepEqual((await store.listAppPasswords(a.id)).map((p) => p.name), ['Laptop.Thunderbird']);
        await rejectsWith(store.removeAppPassword(a.id, 'phone'), 'not_found');
      });

      it('keeps names unique per account, not across accounts', async () => {
        const a = await account('a@example.com');
        const b = await account('b@example.com');
        await store.addAppPassword(a.id, 'phone', 'h', null);
        await rejectsWith(store.addAppPassword(a.id, 'phone', 'h', null), 'exists');
        await store.addAppPassword(b.id, 'phone', 'h', null);
        await store.removeAppPassword(b.id, 'phone');
        assert.equal((await store.listAppPasswords(a.id)).length, 1, "b's removal leaves a's alone");
      });

      it('validates names and the account, and goes away with the account', async () => {
        const a = await account('a@example.com');
        for (const bad of ['', 'a b', 'x'.repeat(65), 'tab\t', 'naïve']) {
          await rejectsWith(store.addAppPassword(a.id, bad, 'h', null), 'invalid');
        }
        await rejectsWith(store.addAppPassword(a.id, 'ok', '', null), 'invalid');
        await rejectsWith(store.addAppPassword(a.id + 1000, 'phone', 'h', null), 'not_found');
        assert.deepEqual(await store.listAppPasswords(a.id + 1000), []);
        await store.addAppPassword(a.id, 'phone', 'h', null);
        await store.removeAccount('a@example.com');
        const again = await account('a@example.com');
        assert.deepEqual(await store.listAppPasswords(again.id), []);
        assert.deepEqual(await store.listAppPasswords(a.id), []);
      });
    });

    describe('sender grants', () => {
      it('adds addresses and @domains canonically, lists them sorted, removes them', async () => {
        const a = await account('a@example.com');
        await store.addSenderGrant(a.id, 'Sales@Example.COM');
        await store.addSenderGrant(a.id, '@Other.Example');
        await store.addSenderGrant(a.id, 'news@bücher.example');
        assert.deepEqual(await store.listSenderGrants(a.id), ['@other.example', 'news@xn--bcher-kva.example', 'sales@example.com']);
        await rejectsWith(store.addSenderGrant(a.id, 'sales@example.com'), 'exists');
        await store.removeSenderGrant(a.id, 'SALES@example.com');
        await rejectsWith(store.removeSenderGrant(a.id, 'sales@example.com'), 'not_found');
        assert.deepEqual(await store.listSenderGrants(a.id), ['@other.example', 'news@xn--bcher-kva.example']);
      });

      it('validates addresses and the account; grants go away with the account', async () => {
        const a = await account('a@example.com');
        const b = await account('b@example.com');
        for (const bad of ['', 'nope', '@', 'a b@example.com', '@bad..example']) {
          await rejectsWith(store.addSenderGrant(a.id, bad), 'invalid');
        }
        await rejectsWith(store.addSenderGrant(a.id + 1000, 'x@example.com'), 'not_found');
        await store.addSenderGrant(a.id, 'x@example.com');
        await store.addSenderGrant(b.id, 'x@example.com');
        assert.deepEqual(await store.listSenderGrants(b.id), ['x@example.com']);
        await store.removeAccount('a@example.com');
        assert.deepEqual(await store.listSenderGrants(a.id), []);
        assert.deepEqual(await store.listSenderGrants(b.id), ['x@example.com']);
      });
    });

    describe('aliases', () => {
      beforeEach(() => store.addDomain('example.com'));

      it('adds an alias and merges later targets into it', async () => {
        const a = await store.addAlias('Sales@Example.com', ['Alice@example.com', 'bob@remote.example']);
        assert.deepEqual(a, { source: 'sales@example.com', targets: ['alice@example.com', 'bob@remote.example'] });
        const b = await store.addAlias('sales@example.com', ['carol@example.com', 'alice@example.com']);
        assert.deepEqual(b.targets, ['alice@example.com', 'bob@remote.example', 'carol@example.com']);
        assert.deepEqual(await store.getAlias('SALES@example.com'), b);
        assert.equal(await store.getAlias('nobody@example.com'), null);
      });

      it('supports catch-all @domain', async () => {
        await store.addAlias('@Example.com', ['postmaster@example.com']);
        assert.deepEqual(await store.getAlias('@example.com'), {
          source: '@example.com',
          targets: ['postmaster@example.com'],
        });
      });

      it('removes some targets, then the alias when none are left', async () => {
        await store.addAlias('team@example.com', ['a@example.com', 'b@example.com', 'c@example.com']);
        await store.removeAlias('team@example.com', ['B@example.com']);
        assert.deepEqual((await store.getAlias('team@example.com'))?.targets, ['a@example.com', 'c@example.com']);
        // A target that is not there fails the call and changes nothing.
        await rejectsWith(store.removeAlias('team@example.com', ['a@example.com', 'zz@example.com']), 'not_found');
        assert.deepEqual((await store.getAlias('team@example.com'))?.targets, ['a@example.com', 'c@example.com']);
        await store.removeAlias('team@example.com', ['a@example.com', 'c@example.com']);
        assert.equal(await store.getAlias('team@example.com'), null);
      });

      it('removes a whole alias; unknown aliases are not_found', async () => {
        await store.addAlias('team@example.com', ['a@example.com', 'b@example.com']);
        await store.removeAlias('team@example.com');
        assert.equal(await store.getAlias('team@example.com'), null);
        await rejectsWith(store.removeAlias('team@example.com'), 'not_found');
      });

      it('validates sources, targets and the source domain', async () => {
        await rejectsWith(store.addAlias('x@nope.example', ['a@example.com']), 'not_found');
        await rejectsWith(store.addAlias('x@example.com', []), 'invalid');
        await rejectsWith(store.addAlias('x@example.com', ['not an address']), 'invalid');
        await rejectsWith(store.addAlias('bad address@example.com', ['a@example.com']), 'invalid');
      });

      it('lists aliases, all or by domain', async () => {
        await store.addDomain('other.example');
        await store.addAlias('b@example.com', ['x@example.com']);
        await store.addAlias('a@example.com', ['y@example.com', 'z@example.com']);
        await store.addAlias('@other.example', ['x@example.com']);
        const all = await store.listAliases();
        assert.equal(all.length, 3);
        assert.deepEqual(await store.listAliases('example.com'), [
          { source: 'a@example.com', targets: ['y@example.com', 'z@example.com'] },
          { source: 'b@example.com', targets: ['x@example.com'] },
        ]);
      });
    });

    describe('removeDomain', () => {
      it('removes its accounts, their mailboxes and messages, and its aliases', async () => {
        const a = await account('a@gone.example');
        const keep = await account('k@kept.example');
        await store.addAlias('al@gone.example', ['k@kept.example']);
        await store.addAlias('@gone.example', ['a@gone.example']);
        await store.addAlias('al@kept.example', ['a@gone.example']);
        const inbox = (await store.getMailbox(a.id, 'INBOX'))!;
        await store.deliver({
          content: [message('bye')],
          internalDate: new Date(),
          recipients: [{ accountId: a.id }, { accountId: keep.id }],
        });
        await store.removeDomain('GONE.example');
        assert.equal(await store.hasDomain('gone.example'), false);
        assert.equal(await store.getAccount('a@gone.example'), null);
        assert.deepEqual(await store.listAccounts('gone.example'), []);
        assert.deepEqual(await store.listMailboxes(a.id), []);
        assert.deepEqual(await store.listMessages(inbox.id), []);
        assert.equal(await store.getAlias('al@gone.example'), null);
        assert.equal(await store.getAlias('@gone.example'), null);
        // Other domains are untouched, including aliases pointing into the removed one.
        assert.ok(await store.getAccount('k@kept.example'));
        assert.equal((await store.listMessages((await store.getMailbox(keep.id, 'INBOX'))!.id)).length, 1);
        assert.deepEqual((await store.getAlias('al@kept.example'))?.targets, ['a@gone.example']);
        // The name can be used again.
        await store.addDomain('gone.example');
        await store.addAccount({ address: 'a@gone.example', passwordHash: HASH, quotaBytes: 0 });
      });
    });

    describe('deliver', () => {
      it('stores the bytes once for several recipients and numbers each copy', async () => {
        const a = await account('a@example.com');
        const b = await account('b@example.com');
        const content = message('three copies');
        const when = new Date('2024-05-06T07:08:09.000Z');
        const aInbox0 = (await store.getMailbox(a.id, 'INBOX'))!;
        const copies = await store.deliver({
          content: [content.subarray(0, 7), content.subarray(7)],
          internalDate: when,
          recipients: [
            { accountId: a.id },
            { accountId: a.id, mailbox: 'Archive', flags: ['\\Seen', '$Label1'] },
            { accountId: b.id, mailbox: 'No such folder' }, // falls back to INBOX
          ],
        });
        assert.equal(copies.length, 3);
        const aInbox = (await store.getMailbox(a.id, 'INBOX'))!;
        const aArchive = (await store.getMailbox(a.id, 'Archive'))!;
        const bInbox = (await store.getMailbox(b.id, 'INBOX'))!;
        assert.deepEqual(
          copies.map((c) => [c.accountId, c.mailboxId, c.uid]),
          [
            [a.id, aInbox.id, 1],
            [a.id, aArchive.id, 1],
            [b.id, bInbox.id, 1],
          ],
        );
        assert.equal(new Set(copies.map((c) => c.messageId)).size, 3);
        const msgs = [
          ...(await store.listMessages(aInbox.id)),
          ...(await store.listMessages(aArchive.id)),
          ...(await store.listMessages(bInbox.id)),
        ];
        assert.equal(msgs.length, 3);
        assert.equal(new Set(msgs.map((m) => m.blobId)).size, 1, 'one blob for every copy');
        assert.deepEqual(await store.readBlob(msgs[0]!.blobId), content);
        for (const m of msgs) {
          assert.equal(m.size, content.length);
          assert.equal(m.internalDate.getTime(), when.getTime());
        }
        assert.deepEqual(msgs[1]!.flags, ['\\Seen', '$Label1']);
        assert.deepEqual(msgs[0]!.flags, []);
        assert.equal(msgs[0]!.id, copies[0]!.messageId);
        assert.equal(aInbox.uidNext, 2);
        assert.equal(aInbox.messageCount, 1);
        assert.equal(aInbox.highestModseq, aInbox0.highestModseq + 1);
        assert.equal(msgs[0]!.modseq, aInbox.highestModseq);
        assert.equal((await store.getAccountById(a.id))!.usedBytes, 2 * content.length);
        assert.equal((await store.getAccountById(b.id))!.usedBytes, content.length);
      });

      it('increments uid and modseq on each delivery; same bytes share one blob', async () => {
        const a = await account('a@example.com');
        const c = message('same');
        const d1 = await store.deliver({ content: [c], internalDate: new Date(), recipients: [{ accountId: a.id }] });
        const d2 = await store.deliver({ content: [c], internalDate: new Date(), recipients: [{ accountId: a.id }] });
        assert.equal(d1[0]!.uid, 1);
        assert.equal(d2[0]!.uid, 2);
        const msgs = await store.listMessages(d1[0]!.mailboxId);
        assert.deepEqual(msgs.map((m) => m.uid), [1, 2]);
        assert.ok(msgs[1]!.modseq > msgs[0]!.modseq);
        assert.equal(msgs[0]!.blobId, msgs[1]!.blobId);
      });

      it('gives 200 concurrent deliveries distinct consecutive UIDs', async () => {
        const a = await account('a@example.com', 1_000_000);
        const inbox0 = (await store.getMailbox(a.id, 'INBOX'))!;
        const results = await Promise.all(
          Array.from({ length: 200 }, (_, i) =>
            store.deliver({ content: [message(`m${i}`)], internalDate: new Date(), recipients: [{ accountId: a.id }] }),
          ),
        );
        const uids = results.map((r) => r[0]!.uid).sort((x, y) => x - y);
        assert.deepEqual(uids, Array.from({ length: 200 }, (_, i) => i + 1));
        const inbox = (await store.getMailbox(a.id, 'INBOX'))!;
        assert.equal(inbox.uidNext, 201);
        assert.equal(inbox.messageCount, 200);
        assert.equal(inbox.highestModseq, inbox0.highestModseq + 200);
        const msgs = await store.listMessages(inbox.id);
        assert.equal(new Set(msgs.map((m) => m.modseq)).size, 200);
        const total = msgs.reduce((n, m) => n + m.size, 0);
        assert.equal((await store.getAccountById(a.id))!.usedBytes, total);
      });

      it('round-trips small and large content through readBlob', async () => {
        const a = await account('a@example.com');
        const small = message('small');
        const large = message('large', 3 * 1024 * 1024 + 17); // above any sane inline threshold
        const pieces = [large.subarray(0, 65536), large.subarray(65536, 1 << 20), large.subarray(1 << 20)];
        for (const content of [[small], pieces]) {
          const [c] = await store.deliver({ content, internalDate: new Date(), recipients: [{ accountId: a.id }] });
          const m = (await store.listMessages(c!.mailboxId)).find((x) => x.uid === c!.uid)!;
          assert.deepEqual(await store.readBlob(m.blobId), Buffer.concat(content));
          assert.equal(m.size, Buffer.concat(content).length);
        }
        await rejectsWith(store.readBlob('0'.repeat(64)), 'not_found');
        await rejectsWith(store.readBlob('../../etc/passwd'), 'invalid');
      });

      it('tracks usage per account; quota is recorded, not enforced here', async () => {
        const a = await account('a@example.com', 100);
        const c = message('over quota', 500);
        await store.deliver({ content: [c], internalDate: new Date(), recipients: [{ accountId: a.id }] });
        const after = (await store.getAccount('a@example.com'))!;
        assert.equal(after.quotaBytes, 100);
        assert.equal(after.usedBytes, 500);
        await store.setQuota('a@example.com', 0);
        assert.equal((await store.getAccount('a@example.com'))!.usedBytes, 500);
      });

      it('rejects an unknown account without failing concurrent deliveries', async () => {
        const a = await account('a@example.com');
        const good = store.deliver({ content: [message('ok')], internalDate: new Date(), recipients: [{ accountId: a.id }] });
        const bad = store.deliver({
          content: [message('bad')],
          internalDate: new Date(),
          recipients: [{ accountId: a.id }, { accountId: a.id + 999 }],
        });
        const good2 = store.deliver({ content: [message('ok2')], internalDate: new Date(), recipients: [{ accountId: a.id }] });
        await rejectsWith(bad, 'not_found');
        // Concurrent deliveries may commit in any order.
        assert.deepEqual([(await good)[0]!.uid, (await good2)[0]!.uid].sort(), [1, 2]);
        // The failed delivery left nothing behind, not even its first copy.
        const inbox = (await store.getMailbox(a.id, 'INBOX'))!;
        assert.equal(inbox.messageCount, 2);
        assert.equal(inbox.uidNext, 3);
        assert.equal((await store.getAccountById(a.id))!.usedBytes, message('ok').length + message('ok2').length);
      });

      it('rejects requests without recipients or with bad flags', async () => {
        const a = await account('a@example.com');
        await rejectsWith(store.deliver({ content: [message('x')], internalDate: new Date(), recipients: [] }), 'invalid');
        await rejectsWith(
          store.deliver({ content: [message('x')], internalDate: new Date(), recipients: [{ accountId: a.id, flags: ['a b'] }] }),
          'invalid',
        );
      });
    });

    describe('close', () => {
      it('finishes deliveries already started, then refuses calls', async () => {
        const a = await account('a@example.com');
        const pending = Array.from({ length: 20 }, (_, i) =>
          store.deliver({ content: [message(`c${i}`)], internalDate: new Date(), recipients: [{ accountId: a.id }] }),
        );
        await store.close();
        const done = await Promise.all(pending);
        assert.equal(done.length, 20);
        await rejectsWith(store.listDomains(), 'unavailable');
        await rejectsWith(
          store.deliver({ content: [message('late')], internalDate: new Date(), recipients: [{ accountId: a.id }] }),
          'unavailable',
        );
        await store.close(); // idempotent
      });
    });
  });
  queueContract(name, open);
  mailboxContract(name, open);
  dkimContract(name, open);
  abuseContract(name, open);
}
