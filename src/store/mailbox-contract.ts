// The mailbox half of the Store contract (mailbox-store.ts), as node:test
// cases every backend runs through storeContract (contract.ts): APPEND,
// flags (canonical system flags, case-insensitive keywords, UNCHANGEDSINCE),
// EXPUNGE with VANISHED memory, COPY/MOVE with COPYUID data, mailbox
// create/rename/delete (RFC 9051 §6.3), STATUS, watch() announcements, quota
// usage staying exact, and concurrent writers keeping UIDs strictly ascending.

import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { StoreError, type Account, type Store } from './store.ts';
import type { MailboxChange } from './mailbox-store.ts';
import type { OpenStore } from './contract.ts';

const HASH = '$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHQ$aGFzaGhhc2hoYXNoaGFzaA';

async function rejectsWith(p: Promise<unknown>, code: StoreError['code']): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof StoreError, `expected StoreError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    return true;
  });
}

function msg(text: string): Buffer {
  return Buffer.from(`Subject: ${text}\r\n\r\nbody of ${text}\r\n`);
}

export function mailboxContract(name: string, open: OpenStore): void {
  describe(`Mailbox store contract: ${name}`, () => {
    let store: Store;
    let cleanup: () => Promise<void>;
    beforeEach(async () => {
      ({ store, cleanup } = await open());
    });
    afterEach(() => cleanup());

    async function account(address = 'a@example.com'): Promise<Account> {
      const domain = address.slice(address.indexOf('@') + 1);
      if (!(await store.hasDomain(domain))) await store.addDomain(domain);
      return store.addAccount({ address, passwordHash: HASH, quotaBytes: 0 });
    }
    async function inboxOf(a: Account): Promise<number> {
      return (await store.getMailbox(a.id, 'INBOX'))!.id;
    }
    async function usage(a: Account): Promise<number> {
      return (await store.getAccountById(a.id))!.usedBytes;
    }
    function append(mailboxId: number, text: string, flags: string[] = []) {
      return store.append(mailboxId, { content: [msg(text)], flags, internalDate: new Date(1_700_000_000_000) });
    }

    describe('append', () => {
      it('stores the message durably with a new UID and modseq, and counts usage', async () => {
        const a = await account();
        const inbox = await inboxOf(a);
        const before = (await store.getMailboxById(inbox))!;
        const r1 = await append(inbox, 'one', ['\\seen', 'Work', 'work', '\\Recent']);
        const r2 = await append(inbox, 'two');
        assert.equal(r1.mailboxId, inbox);
        assert.equal(r1.uidValidity, before.uidValidity);
        assert.equal(r1.uid, before.uidNext);
        assert.equal(r2.uid, r1.uid + 1);
        assert.ok(r2.modseq > r1.modseq);
        const [m1, m2] = await store.getMessages(inbox, [r2.uid, r1.uid, 999]);
        assert.equal(m1!.uid, r1.uid);
        assert.deepEqual(m1!.flags, ['\\Seen', 'Work']);
        assert.deepEqual(m2!.flags, []);
        assert.equal((await store.readBlob(m1!.blobId)).toString(), msg('one').toString());
        assert.equal(m1!.internalDate.getTime(), 1_700_000_000_000);
        assert.equal(await usage(a), msg('one').length + msg('two').length);
        const mb = (await store.getMailboxById(inbox))!;
        assert.equal(mb.messageCount, 2);
        assert.equal(mb.uidNext, r2.uid + 1);
        assert.equal(mb.highestModseq, r2.modseq);
      });

      it('refuses an unknown mailbox and bad flags', async () => {
        await rejectsWith(append(987654, 'x'), 'not_found');
        const a = await account();
        await rejectsWith(append(await inboxOf(a), 'x', ['bad flag']), 'invalid');
      });

      it('stores meta with the blob; setMessageMeta replaces it', async () => {
        const a = await account();
        const inbox = await inboxOf(a);
        const r = await store.append(inbox, { content: [msg('m')], flags: [], internalDate: new Date(), meta: '{"v":1}' });
        const [m] = await store.getMessages(inbox, [r.uid]);
        assert.equal((await store.getMessageMeta([m!.blobId])).get(m!.blobId), '{"v":1}');
        await store.setMessageMeta(m!.blobId, '{"v":2}');
        assert.equal((await store.getMessageMeta([m!.blobId, m!.blobId])).get(m!.blobId), '{"v":2}');
        await rejectsWith(store.setMessageMeta('0'.repeat(64), '{}'), 'not_found');
        const [d] = await store.deliver({ content: [msg('delivered')], internalDate: new Date(), recipients: [{ accountId: a.id }], meta: '{"d":1}' });
        const [dm] = await store.getMessages(inbox, [d!.uid]);
        assert.equal((await store.getMessageMeta([dm!.blobId])).get(dm!.blobId), '{"d":1}');
        const bare = await append(inbox, 'no meta');
        const [bm] = await store.getMessages(inbox, [bare.uid]);
        assert.equal((await store.getMessageMeta([bm!.blobId])).has(bm!.blobId), false);
      });
    });

    describe('flags', () => {
      it('adds, removes and replaces; only changed messages get a new modseq', async () => {
        const a = await account();
        const inbox = await inboxOf(a);
        const r1 = await append(inbox, 'one', ['\\Seen']);
        const r2 = await append(inbox, 'two');
        const add = await store.updateFlags(inbox, [r1.uid, r2.uid], 'add', ['\\SEEN', '$Label']);
        assert.deepEqual(add.conflicts, []);
        assert.deepEqual(
          add.updated.map((m) => [m.uid, m.flags]),
          [
            [r1.uid, ['\\Seen', '$Label']],
            [r2.uid, ['\\Seen', '$Label']],
          ],
        );
        const after = add.updated[0]!.modseq;
        assert.ok(after > r2.modseq);
        // Already so: nothing changes, no modseq moves.
        const same = await store.updateFlags(inbox, [r1.uid], 'add', ['$label']);
        assert.deepEqual(same.updated, []);
        assert.equal((await store.getMailboxById(inbox))!.highestModseq, after);
        const rm = await store.updateFlags(inbox, [r1.uid], 'remove', ['$LABEL']);
        assert.deepEqual(rm.updated[0]!.flags, ['\\Seen']);
        const rep = await store.updateFlags(inbox, [r2.uid], 'replace', ['\\Flagged']);
        assert.deepEqual(rep.updated[0]!.flags, ['\\Flagged']);
        const [m2] = await store.getMessages(inbox, [r2.uid]);
        assert.deepEqual(m2!.flags, ['\\Flagged']);
        assert.equal(m2!.modseq, rep.updated[0]!.modseq);
      });

      it('reports UNCHANGEDSINCE conflicts (RFC 7162 §3.1.3)', async () => {
        const a = await account();
        const inbox = await inboxOf(a);
        const r1 = await append(inbox, 'one');
        const r2 = await append(inbox, 'two');
        const res = await store.updateFlags(inbox, [r1.uid, r2.uid], 'add', ['\\Seen'], { unchangedSince: r1.modseq });
        assert.deepEqual(res.conflicts, [r2.uid]);
        assert.deepEqual(res.updated.map((m) => m.uid), [r1.uid]);
      });

      it('refuses bad input', async () => {
        const a = await account();
        const inbox = await inboxOf(a);
        await rejectsWith(store.updateFlags(inbox, [0], 'add', ['\\Seen']), 'invalid');
        await rejectsWith(store.updateFlags(inbox, [1], 'toggle' as 'add', ['\\Seen']), 'invalid');
        await rejectsWith(store.updateFlags(inbox, [1], 'add', ['a b']), 'invalid');
        await rejectsWith(store.updateFlags(424242, [1], 'add', ['\\Seen']), 'not_found');
      });
    });

    describe('expunge and changesSince', () => {
      it('expunges only \\Deleted with onlyDeleted, remembers the UIDs, and frees usage', async () => {
        const a = await account();
        const inbox = await inboxOf(a);
        const r = [await append(inbox, 'a'), await append(inbox, 'b', ['\\Deleted']), await append(inbox, 'c', ['\\Deleted'])];
        const base = (await store.getMailboxById(inbox))!.highestModseq;
        assert.deepEqual(await store.expunge(inbox, { onlyDeleted: true, uids: [r[0]!.uid, r[1]!.uid] }), [r[1]!.uid]);
        assert.deepEqual(await store.expunge(inbox, { onlyDeleted: true }), [r[2]!.uid]);
        assert.equal(await usage(a), msg('a').length);
        const ch = await store.changesSince(inbox, base);
        assert.deepEqual(ch.expunged, [r[1]!.uid, r[2]!.uid]);
        assert.deepEqual(ch.changed, []);
        assert.ok(ch.highestModseq > base);
        // POP3 UPDATE: the given UIDs regardless of flags.
        assert.deepEqual(await store.expunge(inbox, { onlyDeleted: false, uids: [r[0]!.uid, 555] }), [r[0]!.uid]);
        assert.equal(await usage(a), 0);
        assert.deepEqual(await store.expunge(inbox, { onlyDeleted: false }), []);
        const mb = (await store.getMailboxById(inbox))!;
        assert.equal(mb.messageCount, 0);
        // UIDs are never reused.
        assert.equal((await append(inbox, 'd')).uid, r[2]!.uid + 1);
      });

      it('changesSince lists added and re-flagged messages', async () => {
        const a = await account();
        const inbox = await inboxOf(a);
        const r1 = await append(inbox, 'a');
        const since = r1.modseq;
        const r2 = await append(inbox, 'b');
        await store.updateFlags(inbox, [r1.uid], 'add', ['\\Answered']);
        const ch = await store.changesSince(inbox, since);
        assert.deepEqual(ch.changed.map((m) => m.uid), [r1.uid, r2.uid]);
        assert.deepEqual(ch.expunged, []);
        assert.deepEqual((await store.changesSince(inbox, ch.highestModseq)).changed, []);
        await rejectsWith(store.changesSince(99999, 0), 'not_found');
      });

      it('mailboxStatus counts messages, unseen, deleted and size', async () => {
        const a = await account();
        const inbox = await inboxOf(a);
        await append(inbox, 'a', ['\\Seen']);
        await append(inbox, 'b', ['\\Deleted']);
        const st = await store.mailboxStatus(inbox);
        const mb = (await store.getMailboxById(inbox))!;
        assert.deepEqual(st, {
          messages: 2,
          unseen: 1,
          deleted: 1,
          size: msg('a').length + msg('b').length,
          uidNext: mb.uidNext,
          uidValidity: mb.uidValidity,
          highestModseq: mb.highestModseq,
        });
      });
    });

    describe('copy and move', () => {
      it('copies with new UIDs and the same flags; usage grows', async () => {
        const a = await account();
        const inbox = await inboxOf(a);
        const archive = (await store.getMailbox(a.id, 'Archive'))!;
        const r1 = await append(inbox, 'a', ['\\Flagged']);
        const r2 = await append(inbox, 'b');
        const res = await store.copyMessages(inbox, [r2.uid, r1.uid, 777], archive.id);
        assert.equal(res.uidValidity, archive.uidValidity);
        assert.deepEqual(res.mapping, [
          { sourceUid: r1.uid, destUid: archive.uidNext },
          { sourceUid: r2.uid, destUid: archive.uidNext + 1 },
        ]);
        const copied = await store.listMessages(archive.id);
        assert.deepEqual(copied.map((m) => m.flags), [['\\Flagged'], []]);
        assert.equal(await usage(a), 2 * (msg('a').length + msg('b').length));
        assert.equal((await store.listMessages(inbox)).length, 2);
      });

      it('moves in one transaction: the source sees an expunge, usage is unchanged', async () => {
        const a = await account();
        const inbox = await inboxOf(a);
        const trash = (await store.getMailbox(a.id, 'Trash'))!;
        const r1 = await append(inbox, 'a');
        const base = (await store.getMailboxById(inbox))!.highestModseq;
        const used = await usage(a);
        const res = await store.moveMessages(inbox, [r1.uid], trash.id);
        assert.equal(res.mapping.length, 1);
        assert.deepEqual(await store.listMessages(inbox), []);
        assert.equal((await store.listMessages(trash.id)).length, 1);
        assert.deepEqual((await store.changesSince(inbox, base)).expunged, [r1.uid]);
        assert.equal(await usage(a), used);
      });

      it('refuses another account\'s mailbox', async () => {
        const a = await account('a@example.com');
        const b = await account('b@example.com');
        const r = await append(await inboxOf(a), 'a');
        await rejectsWith(store.copyMessages(await inboxOf(a), [r.uid], await inboxOf(b)), 'invalid');
        await rejectsWith(store.moveMessages(await inboxOf(a), [r.uid], 999999), 'not_found');
      });
    });

    describe('mailboxes', () => {
      it('creates with a fresh UIDVALIDITY; re-creating a deleted name gets a larger one', async () => {
        const a = await account();
        const m = await store.createMailbox(a.id, 'Lists', { specialUse: null });
        assert.equal(m.name, 'Lists');
        assert.equal(m.messageCount, 0);
        assert.equal(m.uidNext, 1);
        await rejectsWith(store.createMailbox(a.id, 'Lists'), 'exists');
        await rejectsWith(store.createMailbox(a.id, 'inbox'), 'exists');
        await rejectsWith(store.createMailbox(a.id, 'a//b'), 'invalid');
        await rejectsWith(store.createMailbox(123456, 'X'), 'not_found');
        const r = await append(m.id, 'x');
        await store.deleteMailbox(a.id, 'Lists');
        assert.equal(await usage(a), 0);
        assert.equal(await store.getMailbox(a.id, 'Lists'), null);
        await rejectsWith(append(m.id, 'gone'), 'not_found');
        const again = await store.createMailbox(a.id, 'Lists');
        assert.ok(again.uidValidity > m.uidValidity);
        assert.ok(r.uid >= 1);
        const su = await store.createMailbox(a.id, 'Old', { specialUse: '\\Archive' });
        assert.equal(su.specialUse, '\\Archive');
      });

      it('refuses to delete INBOX; children stay when a parent goes', async () => {
        const a = await account();
        await rejectsWith(store.deleteMailbox(a.id, 'inbox'), 'invalid');
        await rejectsWith(store.deleteMailbox(a.id, 'Nope'), 'not_found');
        await store.createMailbox(a.id, 'P');
        await store.createMailbox(a.id, 'P/c');
        await store.deleteMailbox(a.id, 'P');
        assert.ok(await store.getMailbox(a.id, 'P/c'));
      });

      it('renames with children, keeping UIDs and UIDVALIDITY', async () => {
        const a = await account();
        const p = await store.createMailbox(a.id, 'P');
        const c = await store.createMailbox(a.id, 'P/c');
        await store.createMailbox(a.id, 'Px');
        const r = await append(c.id, 'child');
        await store.renameMailbox(a.id, 'P', 'Q');
        assert.equal(await store.getMailbox(a.id, 'P'), null);
        const q = (await store.getMailbox(a.id, 'Q'))!;
        const qc = (await store.getMailbox(a.id, 'Q/c'))!;
        assert.equal(q.id, p.id);
        assert.equal(q.uidValidity, p.uidValidity);
        assert.equal(qc.id, c.id);
        assert.deepEqual((await store.listMessages(qc.id)).map((m) => m.uid), [r.uid]);
        assert.ok(await store.getMailbox(a.id, 'Px'), 'a sibling with the same prefix is not a child');
        await rejectsWith(store.renameMailbox(a.id, 'Q', 'Px'), 'exists');
        await rejectsWith(store.renameMailbox(a.id, 'Nope', 'Z'), 'not_found');
      });

      it('renaming INBOX moves its messages and leaves it empty (RFC 9051 §6.3.6)', async () => {
        const a = await account();
        const inbox = await inboxOf(a);
        const r1 = await append(inbox, 'a');
        const r2 = await append(inbox, 'b');
        const used = await usage(a);
        const base = (await store.getMailboxById(inbox))!.highestModseq;
        await store.renameMailbox(a.id, 'INBOX', 'Old mail');
        const old = (await store.getMailbox(a.id, 'Old mail'))!;
        const moved = await store.listMessages(old.id);
        assert.equal(moved.length, 2);
        assert.ok(old.uidValidity > (await store.getMailboxById(inbox))!.uidValidity, 'a new mailbox, a new UIDVALIDITY');
        assert.equal((await store.getMailboxById(inbox))!.messageCount, 0);
        assert.deepEqual((await store.changesSince(inbox, base)).expunged, [r1.uid, r2.uid]);
        assert.equal(await usage(a), used);
        // New mail to INBOX never reuses a UID.
        assert.ok((await append(inbox, 'c')).uid > r2.uid);
      });

      it('subscribes and unsubscribes', async () => {
        const a = await account();
        await store.setSubscribed(a.id, 'Sent', false);
        assert.equal((await store.getMailbox(a.id, 'Sent'))!.subscribed, false);
        await store.setSubscribed(a.id, 'Sent', true);
        assert.equal((await store.getMailbox(a.id, 'Sent'))!.subscribed, true);
        await rejectsWith(store.setSubscribed(a.id, 'Nope', true), 'not_found');
      });
    });

    describe('watch', () => {
      it('announces every kind of write after it is durable, per account', async () => {
        const a = await account('a@example.com');
        const b = await account('b@example.com');
        const inbox = await inboxOf(a);
        const seen: MailboxChange[] = [];
        const other: MailboxChange[] = [];
        const stop = store.watch(a.id, (c) => seen.push(c));
        store.watch(a.id, () => {
          throw new Error('a broken listener');
        });
        store.watch(b.id, (c) => other.push(c));
        const r = await append(inbox, 'x');
        assert.deepEqual(seen.at(-1), { accountId: a.id, mailboxId: inbox, modseq: r.modseq, kind: 'append' });
        const [d] = await store.deliver({ content: [msg('d')], internalDate: new Date(), recipients: [{ accountId: a.id }] });
        assert.equal(seen.at(-1)!.kind, 'append');
        assert.equal(seen.at(-1)!.mailboxId, d!.mailboxId);
        const f = await store.updateFlags(inbox, [r.uid], 'add', ['\\Deleted']);
        assert.deepEqual(seen.at(-1), { accountId: a.id, mailboxId: inbox, modseq: f.updated[0]!.modseq, kind: 'flags' });
        await store.expunge(inbox, { onlyDeleted: true });
        assert.equal(seen.at(-1)!.kind, 'expunge');
        assert.equal(seen.at(-1)!.modseq, (await store.getMailboxById(inbox))!.highestModseq);
        await store.createMailbox(a.id, 'New');
        assert.equal(seen.at(-1)!.kind, 'mailboxes');
        assert.deepEqual(other, []);
        stop();
        const n = seen.length;
        await append(inbox, 'y');
        assert.equal(seen.length, n);
        await append(await inboxOf(b), 'for b');
        assert.equal(other.length, 1);
      });
    });

    describe('concurrency', () => {
      it('concurrent writers on one mailbox get unique, ascending UIDs and exact usage', async () => {
        const a = await account();
        const inbox = await inboxOf(a);
        const n = 40;
        const results = await Promise.all(
          Array.from({ length: n }, (_, i) =>
            i % 2 === 0
              ? append(inbox, `append ${i}`).then((r) => r.uid)
              : store
                  .deliver({ content: [msg(`deliver ${i}`)], internalDate: new Date(), recipients: [{ accountId: a.id }] })
                  .then((c) => c[0]!.uid),
          ),
        );
        assert.equal(new Set(results).size, n);
        const uids = (await store.listMessages(inbox)).map((m) => m.uid);
        assert.deepEqual(uids, [...results].sort((x, y) => x - y));
        for (let i = 1; i < uids.length; i++) assert.ok(uids[i]! > uids[i - 1]!);
        let bytes = 0;
        for (let i = 0; i < n; i++) bytes += msg(i % 2 === 0 ? `append ${i}` : `deliver ${i}`).length;
        assert.equal(await usage(a), bytes);
        // Concurrent flag changes and expunges settle to a consistent state.
        await Promise.all([
          store.updateFlags(inbox, uids.slice(0, 10), 'add', ['\\Deleted']),
          store.copyMessages(inbox, uids.slice(10, 20), (await store.getMailbox(a.id, 'Archive'))!.id),
          store.expunge(inbox, { onlyDeleted: false, uids: uids.slice(30) }),
        ]);
        const left = await store.listMessages(inbox);
        assert.equal(left.length, 30);
        const all = [...left, ...(await store.listMessages((await store.getMailbox(a.id, 'Archive'))!.id))];
        assert.equal(await usage(a), all.reduce((s, m) => s + m.size, 0));
      });
    });
  });
}
