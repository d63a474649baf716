// SqliteStore against the Store contract (with the inline and the file blob
// paths), plus what only this backend has: reopening, migrations, a second
// process on the same database, temp-file sweeping, and kill -9 safety.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, mkdir, writeFile, utimes, readdir, stat } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn, execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { DatabaseSync } from 'node:sqlite';
import { storeContract } from '../contract.ts';
import { StoreError } from '../store.ts';
import { openSqliteStore, type SqliteStoreOptions } from './sqlite-store.ts';
import { applyMigrations, MIGRATIONS, schemaVersion, type Migration } from './migrations.ts';
import { CommitWriter } from './writer.ts';

const HASH = '$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHQ$aGFzaGhhc2hoYXNoaGFzaA';
const STORE_MODULE = new URL('./sqlite-store.ts', import.meta.url).href;

async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'mailroom-store-'));
}

function opener(extra: Partial<SqliteStoreOptions> = {}) {
  return async () => {
    const dataDir = await tempDir();
    const store = await openSqliteStore({ dataDir, ...extra });
    return {
      store,
      cleanup: async () => {
        await store.close();
        await rm(dataDir, { recursive: true, force: true });
      },
    };
  };
}

storeContract('sqlite (small messages inline)', opener());
storeContract('sqlite (every message as a file)', opener({ inlineMaxBytes: 0 }));
storeContract('sqlite (committing on the main thread)', opener({ commitIn: 'main' }));

function runNode(script: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--input-type=module', '-e', script], (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe('SqliteStore', () => {
  let dir: string;
  before(async () => {
    dir = await tempDir();
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('keeps data across close and reopen (inline and file blobs)', async () => {
    const dataDir = join(dir, 'reopen');
    const small = Buffer.from('Subject: small\r\n\r\nhi\r\n');
    const large = Buffer.alloc(300 * 1024, 'y');
    let s = await openSqliteStore({ dataDir });
    await s.addDomain('example.com');
    const a = await s.addAccount({ address: 'a@example.com', passwordHash: HASH, quotaBytes: 0 });
    await s.addAlias('x@example.com', ['a@example.com']);
    await s.deliver({ content: [small], internalDate: new Date(), recipients: [{ accountId: a.id }] });
    await s.deliver({ content: [large], internalDate: new Date(), recipients: [{ accountId: a.id }] });
    await s.close();

    // The large one is a content-addressed file; the small one is not.
    const largeId = createHash('sha256').update(large).digest('hex');
    const smallId = createHash('sha256').update(small).digest('hex');
    assert.ok(existsSync(join(dataDir, 'blobs', largeId.slice(0, 2), largeId.slice(2, 4), largeId)));
    assert.ok(!existsSync(join(dataDir, 'blobs', smallId.slice(0, 2), smallId.slice(2, 4), smallId)));

    s = await openSqliteStore({ dataDir });
    try {
      const acc = await s.getAccount('a@example.com');
      assert.equal(acc?.usedBytes, small.length + large.length);
      assert.deepEqual((await s.getAlias('x@example.com'))?.targets, ['a@example.com']);
      const msgs = await s.listMessages((await s.getMailbox(acc!.id, 'INBOX'))!.id);
      assert.deepEqual(await s.readBlob(msgs[0]!.blobId), small);
      assert.deepEqual(await s.readBlob(msgs[1]!.blobId), large);
      const [c] = await s.deliver({ content: [small], internalDate: new Date(), recipients: [{ accountId: a.id }] });
      assert.equal(c!.uid, 3);
    } finally {
      await s.close();
    }
  });

  it('applies each migration once and records the version', async () => {
    const dataDir = join(dir, 'migrate');
    await (await openSqliteStore({ dataDir })).close();
    await (await openSqliteStore({ dataDir })).close();
    const db = new DatabaseSync(join(dataDir, 'mailroom.db'));
    try {
      assert.equal(schemaVersion(db), MIGRATIONS.length);
      assert.deepEqual(applyMigrations(db), { from: MIGRATIONS.length, to: MIGRATIONS.length });
    } finally {
      db.close();
    }

    const runs: number[] = [];
    const list: Migration[] = [1, 2, 3].map((version) => ({
      version,
      name: `m${version}`,
      up: (d) => {
        runs.push(version);
        d.exec(`CREATE TABLE t${version} (x)`);
      },
    }));
    const mem = new DatabaseSync(':memory:');
    assert.deepEqual(applyMigrations(mem, list.slice(0, 2)), { from: 0, to: 2 });
    assert.deepEqual(applyMigrations(mem, list), { from: 2, to: 3 });
    assert.deepEqual(applyMigrations(mem, list), { from: 3, to: 3 });
    assert.deepEqual(runs, [1, 2, 3]);

    // A failing migration leaves the schema at the previous version.
    const failing: Migration[] = [
      ...list,
      { version: 4, name: 'broken', up: (d) => { d.exec('CREATE TABLE t4 (x)'); throw new Error('boom'); } },
    ];
    assert.throws(() => applyMigrations(mem, failing), /boom/);
    assert.equal(schemaVersion(mem), 3);
    assert.equal(mem.prepare("SELECT count(*) AS n FROM sqlite_master WHERE name = 't4'").get()!.n, 0);
    mem.close();
  });

  it('refuses a database newer than the code, naming both versions', async () => {
    const dataDir = join(dir, 'newer');
    await (await openSqliteStore({ dataDir })).close();
    const db = new DatabaseSync(join(dataDir, 'mailroom.db'));
    db.exec('PRAGMA user_version = 99');
    db.close();
    await assert.rejects(openSqliteStore({ dataDir }), (err: unknown) => {
      assert.ok(err instanceof StoreError);
      assert.match(err.message, /99/);
      assert.match(err.message, new RegExp(`\\(${MIGRATIONS.length}\\)`));
      return true;
    });
  });

  it('lets a second process add a domain while this one has the database open and busy', async () => {
    const dataDir = join(dir, 'two-processes');
    const s = await openSqliteStore({ dataDir });
    try {
      await s.addDomain('first.example');
      const a = await s.addAccount({ address: 'a@first.example', passwordHash: HASH, quotaBytes: 0 });
      // Keep this process writing while the other one works.
      let stop = false;
      let delivered = 0;
      const load = (async () => {
        while (!stop) {
          await s.deliver({ content: [Buffer.from(`m${delivered}\r\n`)], internalDate: new Date(), recipients: [{ accountId: a.id }] });
          delivered++;
        }
      })();
      const script = `
        import { openSqliteStore } from ${JSON.stringify(STORE_MODULE)};
        const s = await openSqliteStore({ dataDir: ${JSON.stringify(dataDir)} });
        for (let i = 0; i < 20; i++) await s.addDomain('second' + i + '.example');
        console.log(JSON.stringify((await s.listDomains()).length));
        await s.close();`;
      const r = await runNode(script);
      stop = true;
      await load;
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout.trim(), '21');
      assert.equal(await s.hasDomain('second19.example'), true);
      assert.ok(delivered > 0);
      assert.equal((await s.getMailbox(a.id, 'INBOX'))!.messageCount, delivered);
    } finally {
      await s.close();
    }
  });

  it('sweeps temp files older than an hour at open, and keeps younger ones', async () => {
    const dataDir = join(dir, 'sweep');
    await (await openSqliteStore({ dataDir })).close();
    const tmp = join(dataDir, 'blobs', 'tmp');
    await mkdir(tmp, { recursive: true });
    await writeFile(join(tmp, 'old'), 'half a message');
    await writeFile(join(tmp, 'young'), 'being written');
    const twoHoursAgo = new Date(Date.now() - 2 * 3600_000);
    await utimes(join(tmp, 'old'), twoHoursAgo, twoHoursAgo);
    await (await openSqliteStore({ dataDir })).close();
    assert.deepEqual(await readdir(tmp), ['young']);
  });

  it('fails deliveries with unavailable, not a hang, when the commit worker cannot start', async () => {
    const w = new CommitWriter({ dbPath: join(dir, 'no', 'such', 'dir', 'x.db'), busyTimeoutMs: 100 });
    const unavailable = (e: unknown) => e instanceof StoreError && e.code === 'unavailable';
    await assert.rejects(w.run([], 0), unavailable);
    await assert.rejects(w.run([], 0), unavailable); // tries a new worker each time
    await w.close();
  });

  it('uses WAL with synchronous=FULL and foreign keys', async () => {
    const dataDir = join(dir, 'pragmas');
    const s = await openSqliteStore({ dataDir });
    await s.close();
    assert.ok((await stat(join(dataDir, 'mailroom.db'))).size > 0);
    const db = new DatabaseSync(join(dataDir, 'mailroom.db'));
    assert.equal(db.prepare('PRAGMA journal_mode').get()!.journal_mode, 'wal');
    db.close();
  });

  it('loses nothing acknowledged and leaves no row without bytes after kill -9', async () => {
    const dataDir = join(dir, 'kill9');
    const setup = await openSqliteStore({ dataDir });
    await setup.addDomain('example.com');
    const a = await setup.addAccount({ address: 'a@example.com', passwordHash: HASH, quotaBytes: 0 });
    await setup.close();
    // The child delivers a mix of inline and file messages from 20 concurrent
    // loops and prints each one's marker once deliver() has resolved.
    const script = `
      import { openSqliteStore } from ${JSON.stringify(STORE_MODULE)};
      const s = await openSqliteStore({ dataDir: ${JSON.stringify(dataDir)}, inlineMaxBytes: 8192 });
      let n = 0;
      async function loop(w) {
        for (;;) {
          const id = w + '-' + n++;
          const size = n % 3 === 0 ? 40000 : 2000;
          const body = Buffer.alloc(size, id + ' ');
          await s.deliver({ content: [Buffer.from('Subject: ' + id + '\\r\\n\\r\\n'), body], internalDate: new Date(), recipients: [{ accountId: ${a.id} }] });
          process.stdout.write(id + '\\n');
        }
      }
      for (let w = 0; w < 20; w++) loop(w);`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise((r) => child.on('exit', r));
    // Kill once a few hundred are acknowledged (or give up if the child died).
    await Promise.race([
      exited,
      new Promise<void>((resolve) => {
        const check = () => (out.split('\n').length > 300 ? resolve() : setTimeout(check, 10));
        check();
      }),
    ]);
    child.kill('SIGKILL');
    await exited;
    const acked = out.split('\n').filter((l) => /^\d+-\d+$/.test(l));

    const s = await openSqliteStore({ dataDir });
    try {
      const msgs = await s.listMessages((await s.getMailbox(a.id, 'INBOX'))!.id);
      const seen = new Set<string>();
      for (const m of msgs) {
        const bytes = await s.readBlob(m.blobId);
        assert.equal(bytes.length, m.size);
        assert.equal(createHash('sha256').update(bytes).digest('hex'), m.blobId, 'bytes intact');
        seen.add(/^Subject: (\S+)/.exec(bytes.toString())![1]!);
      }
      for (const id of acked) assert.ok(seen.has(id), `acknowledged ${id} is stored`);
      assert.ok(acked.length >= 300, `only ${acked.length} acknowledged before the kill`);
    } finally {
      await s.close();
    }
  });
});
