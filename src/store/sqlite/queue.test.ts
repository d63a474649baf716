// The outbound queue on SQLite beyond the contract: kill -9 of a process that
// enqueues and records outcomes loses nothing acknowledged; two processes
// claiming from one database never share a recipient; a version-2 database
// upgrades to the queue schema; and the claim and wake-up queries use the
// partial indexes (a bound `state` parameter would silently lose them).

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { DatabaseSync } from 'node:sqlite';
import { openSqliteStore } from './sqlite-store.ts';
import { applyMigrations, MIGRATIONS, schemaVersion } from './migrations.ts';
import { SQL } from './statements.ts';

const HASH = '$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHQ$aGFzaGhhc2hoYXNoaGFzaA';
const STORE_MODULE = new URL('./sqlite-store.ts', import.meta.url).href;

/** Runs a module script in a child process; `onLine` sees each stdout line. */
function child(script: string, onLine: (line: string) => void = () => {}) {
  const p = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['pipe', 'pipe', 'pipe'] });
  let buf = '';
  let stderr = '';
  p.stdout.on('data', (d: Buffer) => {
    buf += d.toString();
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      onLine(buf.slice(0, i));
      buf = buf.slice(i + 1);
    }
  });
  p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((r) => p.on('exit', (code) => r(code)));
  return { proc: p, exited, stderr: () => stderr };
}

describe('SqliteStore outbound queue', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mailroom-queue-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('loses no acknowledged queue entry or outcome after kill -9', async () => {
    const dataDir = join(dir, 'kill9');
    const setup = await openSqliteStore({ dataDir });
    await setup.addDomain('here.example');
    const a = await setup.addAccount({ address: 'a@here.example', passwordHash: HASH, quotaBytes: 0 });
    await setup.close();
    // 20 loops enqueue messages (half with a local copy too, a third large
    // enough to be a file) and print each queue id once deliver() resolved;
    // another loop claims and records outcomes, printing each applied id.
    const script = `
      import { openSqliteStore } from ${JSON.stringify(STORE_MODULE)};
      const s = await openSqliteStore({ dataDir: ${JSON.stringify(dataDir)}, inlineMaxBytes: 8192 });
      let n = 0;
      async function enqueueLoop(w) {
        for (;;) {
          const id = 'Q' + w + 'x' + n++;
          const body = Buffer.alloc(n % 3 === 0 ? 40000 : 2000, id + ' ');
          await s.deliver({
            content: [Buffer.from('Subject: ' + id + '\\r\\n\\r\\n'), body],
            internalDate: new Date(),
            recipients: n % 2 ? [{ accountId: ${a.id} }] : [],
            outbound: { queueId: id, sender: 'a@here.example', smtputf8: false, eightBit: false, notBefore: new Date(0),
                        recipients: [{ address: 'x@one.example' }, { address: 'y@two.example', notify: ['FAILURE'] }] },
          });
          process.stdout.write('Q ' + id + '\\n');
        }
      }
      async function deliverLoop() {
        for (;;) {
          const claims = await s.claimDue({ now: new Date(), limit: 10, leaseMs: 600000, owner: 'kill9' });
          if (claims.length === 0) { await new Promise((r) => setTimeout(r, 5)); continue; }
          const outcomes = claims.flatMap((c) => c.message.recipients.map((r) => ({
            recipientId: r.id, result: r.domain === 'one.example' ? 'delivered' : 'deferred',
            reply: '250 ok', status: '2.0.0', host: 'mx', at: new Date(), nextAttemptAt: new Date(Date.now() + 3600000) })));
          const res = await s.recordOutcomes('kill9', outcomes);
          for (const id of res.applied) process.stdout.write('D ' + id + '\\n');
        }
      }
      for (let w = 0; w < 20; w++) enqueueLoop(w);
      deliverLoop();`;
    const queued: string[] = [];
    const done: number[] = [];
    let ready!: () => void;
    const enough = new Promise<void>((r) => (ready = r));
    const c = child(script, (line) => {
      const [kind, v] = line.split(' ');
      if (kind === 'Q') queued.push(v!);
      if (kind === 'D') done.push(Number(v));
      if (queued.length >= 300 && done.length >= 50) ready();
    });
    await Promise.race([enough, c.exited]);
    c.proc.kill('SIGKILL');
    await c.exited;
    assert.ok(queued.length >= 300 && done.length >= 50, `only ${queued.length}/${done.length} acknowledged: ${c.stderr()}`);

    const s = await openSqliteStore({ dataDir });
    try {
      const all = new Map((await s.listQueue({ all: true })).map((m) => [m.queueId, m]));
      for (const id of queued) {
        const m = all.get(id);
        assert.ok(m, `acknowledged ${id} is queued`);
        assert.deepEqual(m.recipients.map((r) => r.address), ['x@one.example', 'y@two.example']);
        const bytes = await s.readBlob(m.blobId);
        assert.equal(bytes.length, m.size);
        assert.equal(createHash('sha256').update(bytes).digest('hex'), m.blobId, 'bytes intact');
        assert.ok(bytes.toString().startsWith(`Subject: ${id}\r\n`));
      }
      const rcpts = new Map([...all.values()].flatMap((m) => m.recipients.map((r) => [r.id, r] as const)));
      for (const id of done) {
        const r = rcpts.get(id);
        assert.ok(r, `recipient ${id} exists`);
        assert.equal(r.attempts, 1, `recorded outcome of ${id} kept`);
        assert.equal(r.state, r.domain === 'one.example' ? 'delivered' : 'pending');
      }
      // No half-written entry: every queued message has both its recipients.
      for (const m of all.values()) assert.equal(m.recipients.length, 2);
      // Local copies of acknowledged messages with one are there too.
      const inbox = (await s.getMailbox(a.id, 'INBOX'))!;
      const localBlobs = new Set((await s.listMessages(inbox.id)).map((m) => m.blobId));
      const withLocal = queued.filter((id) => Number(id.slice(id.indexOf('x') + 1)) % 2 === 0);
      assert.ok(withLocal.length > 0);
      for (const id of withLocal) assert.ok(localBlobs.has(all.get(id)!.blobId), `local copy of ${id} is stored`);
    } finally {
      await s.close();
    }
  });

  it('never gives one recipient to two processes claiming from the same database', async () => {
    const dataDir = join(dir, 'two-nodes');
    const s = await openSqliteStore({ dataDir });
    const total = 300;
    try {
      for (let m = 0; m < total / 3; m++) {
        await s.deliver({
          content: [Buffer.from(`Subject: ${m}\r\n\r\nx\r\n`)],
          internalDate: new Date(0),
          recipients: [],
          outbound: {
            queueId: `N${m}`,
            sender: '',
            smtputf8: false,
            eightBit: false,
            notBefore: new Date(0),
            recipients: [{ address: `a@d${m % 7}.example` }, { address: `b@d${m % 5}.example` }, { address: `c@d${m % 3}.example` }],
          },
        });
      }
    } finally {
      await s.close();
    }
    const node = (owner: string) => `
      import { openSqliteStore } from ${JSON.stringify(STORE_MODULE)};
      const s = await openSqliteStore({ dataDir: ${JSON.stringify(dataDir)} });
      // Start the commit worker, then wait for the other node, so they race.
      await s.claimDue({ now: new Date(0), limit: 1, leaseMs: 1, owner: 'warm-up', domain: 'nowhere.invalid' });
      process.stdout.write('ready\\n');
      await new Promise((r) => process.stdin.once('data', r));
      for (;;) {
        const claims = await Promise.all([1, 2, 3].map(() => s.claimDue({ now: new Date(1000), limit: 4, leaseMs: 3600000, owner: ${JSON.stringify(owner)} })));
        const ids = claims.flat().flatMap((c) => c.message.recipients.map((r) => r.id));
        if (ids.length === 0) break;
        process.stdout.write(ids.join('\\n') + '\\n');
        // A moment's delivery work: SQLite's busy handler sleeps between
        // retries, so without it one node can take everything first.
        await new Promise((r) => setTimeout(r, 10));
      }
      await s.close();`;
    const got = { east: [] as number[], west: [] as number[] };
    let ready = 0;
    const go = () => {
      if (++ready < 2) return;
      east.proc.stdin!.end('go\n');
      west.proc.stdin!.end('go\n');
    };
    const east = child(node('east'), (l) => (l === 'ready' ? go() : got.east.push(Number(l))));
    const west = child(node('west'), (l) => (l === 'ready' ? go() : got.west.push(Number(l))));
    assert.equal(await east.exited, 0, east.stderr());
    assert.equal(await west.exited, 0, west.stderr());
    const both = [...got.east, ...got.west];
    assert.equal(new Set(both).size, both.length, 'no recipient claimed twice');
    assert.equal(both.length, total);
    assert.ok(got.east.length > 0 && got.west.length > 0, `east ${got.east.length}, west ${got.west.length}`);

    // The leases are durable: every recipient is still leased after reopen.
    const again = await openSqliteStore({ dataDir });
    try {
      assert.deepEqual(await again.claimDue({ now: new Date(2000), limit: 1000, leaseMs: 1000, owner: 'x' }), []);
      assert.equal(await again.nextQueueWakeup().then((d) => d?.getTime()), 1000 + 3600000);
    } finally {
      await again.close();
    }
  });

  it('upgrades a version-2 database: existing mail stays, the queue works', async () => {
    const dataDir = join(dir, 'from-v2');
    const s2 = await openSqliteStore({ dataDir });
    await s2.addDomain('here.example');
    const a = await s2.addAccount({ address: 'a@here.example', passwordHash: HASH, quotaBytes: 0 });
    await s2.deliver({ content: [Buffer.from('Subject: old\r\n\r\nx\r\n')], internalDate: new Date(), recipients: [{ accountId: a.id }] });
    await s2.close();
    // Roll the schema back to version 2, as a database from before the queue.
    const db = new DatabaseSync(join(dataDir, 'mailroom.db'));
    // Every table later migrations added goes (children first), and v4's column and index.
    const v2Tables = new Set(['domains', 'accounts', 'aliases', 'mailboxes', 'blobs', 'messages', 'counters', 'app_passwords', 'sender_grants']);
    const later = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY rowid DESC").all() as Array<{ name: string }>)
      .map((r) => r.name)
      .filter((n) => !v2Tables.has(n));
    db.exec('PRAGMA foreign_keys = OFF');
    // Versions 1–3 have no triggers or views: whatever exists came later.
    for (const { type, name } of db.prepare("SELECT type, name FROM sqlite_master WHERE type IN ('trigger', 'view')").all() as Array<{ type: string; name: string }>) {
      db.exec(`DROP ${type.toUpperCase()} "${name}"`);
    }
    for (const t of later) db.exec(`DROP TABLE "${t}"`);
    db.exec('DROP INDEX messages_modseq; ALTER TABLE blobs DROP COLUMN meta; PRAGMA user_version = 2');
    db.close();

    const s = await openSqliteStore({ dataDir, commitIn: 'main' });
    try {
      const inbox = (await s.getMailbox(a.id, 'INBOX'))!;
      assert.equal(inbox.messageCount, 1);
      await s.deliver({
        content: [Buffer.from('Subject: new\r\n\r\nx\r\n')],
        internalDate: new Date(),
        recipients: [{ accountId: a.id }],
        outbound: { queueId: 'UP1', sender: 'a@here.example', smtputf8: false, eightBit: false, notBefore: new Date(0), recipients: [{ address: 'r@remote.example' }] },
      });
      assert.equal((await s.getQueued('UP1'))?.recipients.length, 1);
      assert.equal((await s.getMailbox(a.id, 'INBOX'))!.messageCount, 2);
    } finally {
      await s.close();
    }
    const after = new DatabaseSync(join(dataDir, 'mailroom.db'));
    assert.equal(schemaVersion(after), MIGRATIONS.length);
    after.close();
  });

  it('claims and wake-ups use the partial indexes', () => {
    const db = new DatabaseSync(':memory:');
    applyMigrations(db);
    const plan = (sql: string) =>
      (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all() as Array<{ detail: string }>).map((r) => r.detail).join(' | ');
    // The real statements, as prepared by the store (unbound parameters are NULL).
    const claim = plan(SQL.claimDue);
    assert.match(claim, /USING INDEX queue_recipients_due/);
    assert.doesNotMatch(claim, /TEMP B-TREE/, 'no sort: the index gives the order');
    assert.match(plan(SQL.claimDueForDomain), /USING INDEX queue_recipients_domain/);
    assert.doesNotMatch(plan(SQL.claimDueForDomain), /TEMP B-TREE/);
    assert.match(plan(SQL.nextDueUnleased), /USING INDEX queue_recipients_due/);
    assert.match(plan(SQL.nextDueLeased), /USING INDEX queue_recipients_leased/);
    assert.match(plan(SQL.releaseLeases), /USING INDEX queue_recipients_leased/);
    assert.match(plan(SQL.finishQueueMessage), /USING INDEX queue_recipients_message/);
    db.close();
  });
});
