// `mailroom migrate --from sqlite:DIR --to postgres://…`: an installation with
// every kind of data (accounts with app passwords and grants, aliases,
// messages inline and as files with flags, expunges and a custom mailbox,
// message metadata, a queued message with a lease, a DKIM key, greylist,
// counters and spam training) is copied and verified; through the Store API
// on PostgreSQL everything reads back the same (UIDs, MODSEQs, flags, bytes,
// queue state), new rows continue after the copied ids, and a second run into
// the now non-empty database is refused. Skips when PostgreSQL is unreachable.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { join } from 'node:path';
import { openSqliteStore } from '../store/sqlite/index.ts';
import { openPgStore } from '../store/postgres/pg-store.ts';
import { run } from './run.ts';
import { tempDir } from '../../test/helpers/temp-dir.ts';
import { createTestDatabase, pgSkipReason, type TestDatabase } from '../../test/helpers/postgres.ts';
import type { Store } from '../store/store.ts';

const skip = await pgSkipReason();
if (skip) console.log(`# skipping migrate tests: ${skip}`);

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await run(args, { out: (l) => (out += l + '\n'), err: (l) => (err += l + '\n') });
  return { code, out, err };
}

/** Everything a store can hold, as comparable plain data. */
async function snapshot(s: Store): Promise<unknown> {
  const accounts = await s.listAccounts();
  const perAccount = [];
  for (const a of accounts) {
    const boxes = [];
    for (const m of await s.listMailboxes(a.id)) {
      const msgs = await s.listMessages(m.id);
      const bodies = await Promise.all(msgs.map(async (x) => (await s.readBlob(x.blobId)).toString('base64')));
      boxes.push({ m, msgs, bodies, changes: await s.changesSince(m.id, 0) });
    }
    perAccount.push({
      a,
      boxes,
      apps: await s.listAppPasswords(a.id),
      grants: await s.listSenderGrants(a.id),
      rules: await s.listSenderRules(a.id),
      override: await s.getRateOverride(a.id),
    });
  }
  return {
    domains: await s.listDomains(),
    aliases: await s.listAliases(),
    perAccount,
    queue: await s.listQueue({ all: true }),
    dkim: await s.listDkimKeys(),
    grey: await s.getGreylist({ network: '192.0.2.0/24', sender: 's@x.example', recipient: 'alice@one.example' }),
    counter: await s.getCounter('rate:alice', 1000),
    spam: await s.getSpamTotals(0),
    tokens: Object.fromEntries(await s.getSpamTokens(0, ['viagra', 'meeting'])),
  };
}

describe('mailroom migrate', { skip: skip ?? false }, () => {
  let db: TestDatabase;
  let dir: { dir: string; remove: () => Promise<void> };
  before(async () => {
    db = await createTestDatabase('mailroom_migrate');
    dir = await tempDir();
  });
  after(async () => {
    await db?.drop();
    await dir?.remove();
  });

  it('copies an installation, verifies it, and the PostgreSQL store reads back the same', async () => {
    const dataDir = join(dir.dir, 'data');
    const s = await openSqliteStore({ dataDir, commitIn: 'main', inlineMaxBytes: 1024 });
    await s.addDomain('one.example');
    await s.addDomain('two.example');
    const alice = await s.addAccount({ address: 'alice@one.example', passwordHash: 'h-a', quotaBytes: 10_000_000, scram: 'SCRAM-SHA-256$4096:c2FsdA==$a2V5:c2Vy' });
    const bob = await s.addAccount({ address: 'bob@two.example', passwordHash: 'h-b', quotaBytes: 0 });
    await s.addAppPassword(alice.id, 'phone', 'h-phone', null);
    await s.addSenderGrant(alice.id, '@two.example');
    await s.addAlias('team@one.example', ['alice@one.example', 'bob@two.example', 'far@remote.example']);
    const big = Buffer.from('Subject: big\r\n\r\n' + 'y'.repeat(5000) + '\r\n');
    for (let i = 0; i < 5; i++) {
      await s.deliver({ content: [Buffer.from(`Subject: m${i}\r\n\r\nbody ${i}\r\n`)], internalDate: new Date(1_700_000_000_000 + i), recipients: [{ accountId: alice.id }, { accountId: bob.id }], meta: `{"i":${i}}` });
    }
    await s.deliver({ content: [big], internalDate: new Date(1_700_000_100_000), recipients: [{ accountId: alice.id, mailbox: 'Archive', flags: ['\\Seen'] }] });
    const inbox = (await s.getMailbox(alice.id, 'INBOX'))!;
    await s.updateFlags(inbox.id, [1, 2], 'add', ['\\Flagged', '$Work']);
    await s.updateFlags(inbox.id, [3], 'add', ['\\Deleted']);
    await s.expunge(inbox.id, { onlyDeleted: true });
    const projects = await s.createMailbox(alice.id, 'Projects/2024');
    await s.copyMessages(inbox.id, [1, 2], projects.id);
    await s.deliver({
      content: [Buffer.from('Subject: out\r\n\r\nto the world\r\n')],
      internalDate: new Date(1_700_000_200_000),
      recipients: [],
      outbound: { queueId: 'QMIGRATE1', sender: 'alice@one.example', recipients: [{ address: 'x@remote.example', notify: ['FAILURE'] }, { address: 'y@other.example' }], smtputf8: false, eightBit: true, notBefore: new Date(1_700_000_200_000) },
    });
    await s.claimDue({ now: new Date(1_700_000_300_000), limit: 1, leaseMs: 60_000, owner: 'node:old' });
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    await s.addDkimKey({
      domain: 'one.example',
      selector: 'mr2024',
      algorithm: 'ed25519-sha256',
      privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      publicKey: (publicKey.export({ type: 'spki', format: 'der' }) as Buffer).subarray(12).toString('base64'),
      activateAt: new Date(1_700_000_000_000),
    });
    await s.putGreylist({ network: '192.0.2.0/24', sender: 's@x.example', recipient: 'alice@one.example', firstSeen: 1, lastSeen: 2, passedAt: 2, passes: 1 });
    await s.addToCounter('rate:alice', 1000, 7, 9_999_999_999_999);
    await s.trainSpam(0, 'msg-1', ['viagra', 'cheap'], 'spam', 5);
    await s.trainSpam(0, 'msg-2', ['meeting'], 'ham', 6);
    await s.setRateOverride(bob.id, { messagesPerHour: 50, recipientsPerDay: null });
    await s.addSenderRule({ accountId: alice.id, pattern: '@spam.example', action: 'block' });
    const before = await snapshot(s);
    await s.close();

    const url = db.schemaUrl();
    const r = await cli(['migrate', '--from', `sqlite:${dataDir}`, '--to', url]);
    assert.equal(r.code, 0, r.err + r.out);
    assert.match(r.out, /^verified:/m);
    assert.match(r.out, /^messages +\d+ rows/m);
    assert.match(r.out, /^message bodies +7 /m);

    const pg = await openPgStore({ url, listen: false });
    try {
      assert.deepEqual(await snapshot(pg), before);
      // New rows continue after the copied ones: no id or UID is reused.
      const [c] = await pg.deliver({ content: [Buffer.from('Subject: after\r\n\r\nx\r\n')], internalDate: new Date(), recipients: [{ accountId: alice.id }] });
      assert.equal(c!.uid, 6);
      const carol = await pg.addAccount({ address: 'carol@one.example', passwordHash: 'h', quotaBytes: 0 });
      assert.ok(carol.id > bob.id);
      const box = await pg.createMailbox(alice.id, 'Later');
      assert.ok(box.uidValidity > projects.uidValidity);
      // The lease taken before the migration still belongs to its owner.
      const claimed = await pg.claimDue({ now: new Date(1_700_000_300_001), limit: 10, leaseMs: 60_000, owner: 'node:new' });
      assert.equal(claimed.flatMap((x) => x.message.recipients).length, 1);
    } finally {
      await pg.close();
    }

    // The target now holds data: a second run is refused and changes nothing.
    const again = await cli(['migrate', '--from', `sqlite:${dataDir}`, '--to', url]);
    assert.equal(again.code, 1);
    assert.match(again.err, /not empty/);
  });

  it('explains bad arguments', async () => {
    const noTo = await cli(['migrate', '--from', 'sqlite:/nowhere']);
    assert.equal(noTo.code, 2);
    assert.match(noTo.err, /missing --to/);
    const badFrom = await cli(['migrate', '--from', '/var/lib/mailroom', '--to', db.url]);
    assert.equal(badFrom.code, 2);
    assert.match(badFrom.err, /sqlite:DATA_DIR/);
    const missing = await cli(['migrate', '--from', 'sqlite:/nowhere/at/all', '--to', db.schemaUrl()]);
    assert.equal(missing.code, 1);
    assert.match(missing.err, /no Mailroom database/);
  });
});
