// PgStore against the Store contract (the same cases SQLite passes), with
// PostgreSQL's own blob table and, in a second run, a blob store outside the
// transaction (the shape an S3-compatible one would have); plus what only a
// shared database has: migrations racing at start-up, LISTEN/NOTIFY between
// two stores, claims from two stores never overlapping. Each store gets a
// fresh schema in a throwaway database. Skips, saying why, when PostgreSQL is
// unreachable (CI has it: .ci/run).

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { storeContract } from '../contract.ts';
import { StoreError } from '../store.ts';
import type { MailboxChange } from '../mailbox-store.ts';
import type { BlobStore } from '../blobs/blob-store.ts';
import { openPgStore, type PgStore, type PgStoreOptions } from './pg-store.ts';
import { applyPgMigrations, pgSchemaVersion, PG_MIGRATIONS } from './migrations.ts';
import { createPool, parsePgUrl } from './connection.ts';
import { PgMaildropLocks } from './maildrop-locks.ts';
import { createTestDatabase, dropSchema, pgSkipReason, truncateSchema, type TestDatabase } from '../../../test/helpers/postgres.ts';

const skip = await pgSkipReason();
if (skip) console.log(`# skipping PostgreSQL store tests: ${skip}`);

const HASH = '$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHQ$aGFzaGhhc2hoYXNoaGFzaA';

/** Bytes kept in memory, outside the database transaction (like S3 would be). */
class MemoryBlobs implements BlobStore {
  readonly kind = 'memory';
  readonly map = new Map<string, Buffer>();
  async put(id: string, pieces: readonly Buffer[]): Promise<void> {
    this.map.set(id, Buffer.concat(pieces));
  }
  async get(id: string): Promise<Buffer> {
    const b = this.map.get(id);
    if (!b) throw new StoreError('not_found', `no such blob: ${id}`);
    return b;
  }
  async remove(id: string): Promise<void> {
    this.map.delete(id);
  }
}

describe('PostgreSQL store', { skip: skip ?? false }, () => {
  let db: TestDatabase;
  before(async () => {
    db = await createTestDatabase();
  });
  after(() => db?.drop());

  /** A fresh, empty store per test: one schema per contract run, migrated
   * once, emptied (TRUNCATE) before each test. */
  function opener(extra: Partial<PgStoreOptions> = {}) {
    let url: string | null = null;
    return async () => {
      if (url === null) url = db.schemaUrl();
      else await truncateSchema(url);
      const store = await openPgStore({ url, poolSize: 5, ...extra });
      return { store, cleanup: () => store.close() };
    };
  }

  storeContract('postgres', opener());

  it('keeps bytes in a separate blob store when given one (the shape of an S3 store)', async () => {
    const url = db.schemaUrl();
    const blobs = new MemoryBlobs();
    const s = await openPgStore({ url, blobs, listen: false });
    try {
      await s.addDomain('blob.example');
      const a = await s.addAccount({ address: 'b@blob.example', passwordHash: HASH, quotaBytes: 0 });
      const big = Buffer.alloc(300_000, 'z');
      const [c] = await s.deliver({ content: [big.subarray(0, 1000), big.subarray(1000)], internalDate: new Date(), recipients: [{ accountId: a.id }] });
      const inbox = (await s.getMailbox(a.id, 'INBOX'))!;
      const r = await s.append(inbox.id, { content: [Buffer.from('Subject: a\r\n\r\nb\r\n')], flags: [], internalDate: new Date() });
      assert.equal(blobs.map.size, 2, 'both bodies went to the blob store');
      const inDb = await s.pool.query<{ n: number }>('SELECT count(*) AS n FROM blob_content');
      assert.equal(inDb.rows[0]!.n, 0, 'no bytes in the database');
      const msgs = await s.getMessages(inbox.id, [c!.uid, r.uid]);
      assert.deepEqual(await s.readBlob(msgs[0]!.blobId), big);
      blobs.map.clear();
      await assert.rejects(s.readBlob(msgs[1]!.blobId), (e: unknown) => e instanceof StoreError && e.code === 'not_found');
    } finally {
      await s.close();
      await dropSchema(url);
    }
  });

  describe('PgStore', () => {
    it('applies migrations once when several nodes start together', async () => {
      const url = db.schemaUrl();
      const t = parsePgUrl(url);
      const pools = Array.from({ length: 4 }, () => createPool(t, 2));
      try {
        const results = await Promise.all(pools.map((p) => applyPgMigrations(p, t.schema)));
        const applied = results.filter((r) => r.from === 0 && r.to === PG_MIGRATIONS.length);
        const found = results.filter((r) => r.from === PG_MIGRATIONS.length);
        assert.equal(applied.length, 1, JSON.stringify(results));
        assert.equal(found.length, 3);
        assert.equal(await pgSchemaVersion(pools[0]!), PG_MIGRATIONS.length);
      } finally {
        await Promise.all(pools.map((p) => p.end()));
        await dropSchema(url);
      }
    });

    it('refuses a database newer than this program', async () => {
      const url = db.schemaUrl();
      const s = await openPgStore({ url, listen: false });
      await s.pool.query('INSERT INTO mailroom_schema (version) VALUES (999)');
      await s.close();
      await assert.rejects(openPgStore({ url, listen: false }), /newer than this program/);
      await dropSchema(url);
    });

    it('refuses URLs that are not PostgreSQL and says which', async () => {
      await assert.rejects(openPgStore({ url: 'mysql://x/y' }), (e: unknown) => e instanceof StoreError && /postgres:\/\//.test(e.message));
      await assert.rejects(openPgStore({ url: 'postgres://x/y?schema=Bad-Name' }), /invalid schema name/);
    });

    it('an unreachable server is unavailable, with the password hidden', async () => {
      await assert.rejects(openPgStore({ url: 'postgres://u:secret@127.0.0.1:9/db', listen: false }), (e: unknown) => {
        assert.ok(e instanceof StoreError);
        assert.equal(e.code, 'unavailable');
        assert.ok(!e.message.includes('secret'), e.message);
        return true;
      });
    });

    describe('two nodes on one database', () => {
      let url: string;
      let a: PgStore;
      let b: PgStore;
      before(async () => {
        url = db.schemaUrl();
        [a, b] = await Promise.all([openPgStore({ url, poolSize: 4 }), openPgStore({ url, poolSize: 4 })]);
      });
      after(async () => {
        await Promise.all([a.close(), b.close()]);
        await dropSchema(url);
      });

      it('a delivery through one reaches watchers on the other within a second', async () => {
        await a.addDomain('watch.example');
        const acc = await a.addAccount({ address: 'w@watch.example', passwordHash: HASH, quotaBytes: 0 });
        const heard: MailboxChange[] = [];
        const got = new Promise<number>((resolve) => {
          const t0 = Date.now();
          const stop = b.watch(acc.id, (ch) => {
            heard.push(ch);
            if (ch.kind === 'append') {
              stop();
              resolve(Date.now() - t0);
            }
          });
        });
        const [copy] = await a.deliver({ content: [Buffer.from('Subject: hi\r\n\r\nhi\r\n')], internalDate: new Date(), recipients: [{ accountId: acc.id }] });
        const ms = await Promise.race([got, new Promise<number>((_, rej) => setTimeout(() => rej(new Error('no notification in 1 s')), 1000))]);
        assert.ok(ms < 1000);
        const change = heard.find((h) => h.kind === 'append')!;
        assert.equal(change.mailboxId, copy!.mailboxId);
        assert.equal(change.modseq, (await b.getMailboxById(copy!.mailboxId))!.highestModseq);
        // Flags and expunges made on b reach a watcher on a.
        const kinds: string[] = [];
        const stop = a.watch(acc.id, (ch) => kinds.push(ch.kind));
        await b.updateFlags(copy!.mailboxId, [copy!.uid], 'add', ['\\Deleted']);
        await b.expunge(copy!.mailboxId, { onlyDeleted: true });
        const deadline = Date.now() + 1000;
        while (kinds.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
        stop();
        assert.deepEqual(kinds, ['flags', 'expunge']);
      });

      it('tells watchers to re-read after the LISTEN connection was lost', async () => {
        await a.addDomain('drop.example');
        const acc = await a.addAccount({ address: 'd@drop.example', passwordHash: HASH, quotaBytes: 0 });
        const heard: MailboxChange[] = [];
        const stop = b.watch(acc.id, (ch) => heard.push(ch));
        await new Promise((r) => setTimeout(r, 100)); // addAccount's own notification
        heard.length = 0;
        b.listener.dropForTest();
        const deadline = Date.now() + 3000;
        while (!(heard.some((h) => h.kind === 'mailboxes') && b.listener.connected) && Date.now() < deadline) {
          await new Promise((r) => setTimeout(r, 20));
        }
        const inboxId = (await b.getMailbox(acc.id, 'INBOX'))!.id;
        assert.ok(heard.some((h) => h.kind === 'mailboxes' && h.mailboxId === inboxId), JSON.stringify(heard));
        // And it listens again.
        await a.deliver({ content: [Buffer.from('Subject: again\r\n\r\nx\r\n')], internalDate: new Date(), recipients: [{ accountId: acc.id }] });
        const d2 = Date.now() + 1000;
        while (!heard.some((h) => h.kind === 'append') && Date.now() < d2) await new Promise((r) => setTimeout(r, 10));
        stop();
        assert.ok(heard.some((h) => h.kind === 'append'));
      });

      it('rate counters, greylisting and spam training are shared: both nodes add up exactly', async () => {
        const incs = await Promise.all(Array.from({ length: 50 }, (_, i) => (i % 2 ? a : b).addToCounter('rcpt:1.2.3.4', 60_000, 1, 9e12)));
        assert.deepEqual([...incs].sort((x, y) => x - y), Array.from({ length: 50 }, (_, i) => i + 1));
        assert.equal(await b.getCounter('rcpt:1.2.3.4', 60_000), 50);
        const key = { network: '203.0.113.0/24', sender: 's@x.example', recipient: 'r@y.example' };
        await a.putGreylist({ ...key, firstSeen: 1, lastSeen: 1, passedAt: null, passes: 0 });
        assert.deepEqual(await b.getGreylist(key), { ...key, firstSeen: 1, lastSeen: 1, passedAt: null, passes: 0 });
        const trained = await Promise.all([a.trainSpam(0, 'm1', ['x', 'y'], 'spam', 1), b.trainSpam(0, 'm1', ['x', 'y'], 'spam', 1)]);
        assert.deepEqual(trained.sort(), [false, true], 'one message learnt once, whichever node');
        assert.deepEqual(await a.getSpamTotals(0), { spam: 1, ham: 0 });
        assert.equal(await b.trainSpam(0, 'm1', ['x', 'y'], 'ham', 2), true);
        assert.deepEqual(await a.getSpamTotals(0), { spam: 0, ham: 1 });
        assert.deepEqual(Object.fromEntries(await a.getSpamTokens(0, ['x'])), { x: { spam: 0, ham: 1 } });
      });

      it('POP3 maildrop locks hold across nodes and run out when their node is gone', async () => {
        await a.addDomain('pop.example');
        const acc = await a.addAccount({ address: 'p@pop.example', passwordHash: HASH, quotaBytes: 0 });
        const inbox = (await a.getMailbox(acc.id, 'INBOX'))!;
        let clock = 1_000_000;
        const la = new PgMaildropLocks(a.pool, { leaseMs: 60_000, now: () => clock });
        const lb = new PgMaildropLocks(b.pool, { leaseMs: 60_000, now: () => clock });
        try {
          assert.equal(await la.acquire(inbox.id, 's1'), true);
          assert.equal(await la.acquire(inbox.id, 's1'), true, 'the holder may take it again');
          assert.equal(await lb.acquire(inbox.id, 's1'), false, 'the same session id on another node is another session');
          await la.release(inbox.id, 's1');
          assert.equal(await lb.acquire(inbox.id, 's2'), true);
          // Node b dies without releasing: after the lease, a may take it.
          assert.equal(await la.acquire(inbox.id, 's3'), false);
          clock += 60_001;
          assert.equal(await la.acquire(inbox.id, 's3'), true);
        } finally {
          la.close();
          lb.close();
        }
      });

      it('concurrent claims from both nodes never share a recipient', async () => {
        const rcpts = Array.from({ length: 60 }, (_, i) => `r${i}@remote${i % 3}.example`);
        for (let m = 0; m < 5; m++) {
          await a.deliver({
            content: [Buffer.from(`Subject: q${m}\r\n\r\nq\r\n`)],
            internalDate: new Date(),
            recipients: [],
            outbound: { queueId: `Q2N${m}`, sender: 's@here.example', recipients: rcpts.map((address) => ({ address })), smtputf8: false, eightBit: false, notBefore: new Date(0) },
          });
        }
        const now = new Date();
        const claims = await Promise.all(
          Array.from({ length: 40 }, (_, i) => (i % 2 ? a : b).claimDue({ now, limit: 10, leaseMs: 60_000, owner: `node${i % 2}:${i}` })),
        );
        const ids = claims.flat().flatMap((c) => c.message.recipients.map((r) => r.id));
        assert.equal(ids.length, 300);
        assert.equal(new Set(ids).size, 300);
      });

      it('UIDs and MODSEQs stay consistent under concurrent APPEND, STORE and EXPUNGE from both nodes', async () => {
        await a.addDomain('race.example');
        const acc = await a.addAccount({ address: 'r@race.example', passwordHash: HASH, quotaBytes: 0 });
        const inbox = (await a.getMailbox(acc.id, 'INBOX'))!;
        const appends = Array.from({ length: 40 }, (_, i) =>
          (i % 2 ? a : b).append(inbox.id, { content: [Buffer.from(`Subject: ${i}\r\n\r\n${i}\r\n`)], flags: [], internalDate: new Date() }),
        );
        const results = await Promise.all(appends);
        const uids = results.map((r) => r.uid).sort((x, y) => x - y);
        assert.deepEqual(uids, Array.from({ length: 40 }, (_, i) => i + 1));
        assert.equal(new Set(results.map((r) => r.modseq)).size, 40);
        // Flag and expunge races.
        await Promise.all([
          a.updateFlags(inbox.id, uids.slice(0, 20), 'add', ['\\Deleted']),
          b.updateFlags(inbox.id, uids.slice(10, 30), 'add', ['\\Seen']),
          a.append(inbox.id, { content: [Buffer.from('Subject: late\r\n\r\nx\r\n')], flags: ['\\Seen'], internalDate: new Date() }),
        ]);
        const removed = await b.expunge(inbox.id, { onlyDeleted: true });
        assert.deepEqual(removed, uids.slice(0, 20));
        const status = await a.mailboxStatus(inbox.id);
        assert.equal(status.messages, 21);
        assert.equal(status.uidNext, 42);
        const left = await a.listMessages(inbox.id);
        assert.ok(left.every((m) => m.modseq <= status.highestModseq));
        const ch = await b.changesSince(inbox.id, 0);
        assert.deepEqual(ch.expunged, uids.slice(0, 20));
        assert.equal(ch.highestModseq, status.highestModseq);
        const used = left.reduce((n, m) => n + m.size, 0);
        assert.equal((await b.getAccountById(acc.id))!.usedBytes, used);
      });
    });
  });
});
