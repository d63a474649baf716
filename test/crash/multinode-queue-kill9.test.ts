// Two nodes share the outbound queue through PostgreSQL; one is killed with
// kill -9 in the middle of delivering. Nodes A and C run as child processes
// with the same [store] url and relay for 127.0.0.0/8; receiver B runs
// in-process on 127.0.0.2 for b.test (found through a test DNS server) and
// refuses with 451 until the test opens it, so all 80 messages wait in the
// shared queue. Then B opens, both nodes deliver (claims never overlap: FOR
// UPDATE SKIP LOCKED), and A dies once B has committed 30 messages. A's
// leases run out and C delivers the rest: every acknowledged message arrives,
// and only messages A had in flight (B's 250 not yet recorded) may arrive
// twice. Skips when PostgreSQL is unreachable.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RawSmtp } from '../helpers/smtp-client.ts';
import { startChildServer, writeConfig, type ChildServer } from '../helpers/child-server.ts';
import { startDnsServer, type DnsServer } from '../helpers/dns-server.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { tempDir } from '../helpers/temp-dir.ts';
import { createTestDatabase, pgSkipReason, type TestDatabase } from '../helpers/postgres.ts';
import { openPgStore } from '../../src/store/postgres/pg-store.ts';
import { StoreError, type Store } from '../../src/store/store.ts';

const skip = await pgSkipReason();
if (skip) console.log(`# skipping the multi-node queue crash test: ${skip}`);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const PER_DOMAIN = 3;
const TOTAL = 80;

async function waitFor<T>(what: string, f: () => Promise<T | null | undefined | false> | T | null | undefined | false, ms = 60000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

const gate = { open: false, accepted: 0, onAccepted: () => {} };
function gatedStore(store: Store): Store {
  return new Proxy(store, {
    get(target, prop, receiver) {
      if (prop === 'deliver') {
        return async (req: Parameters<Store['deliver']>[0]) => {
          if (!gate.open) throw new StoreError('unavailable', 'B is not accepting yet');
          const copies = await target.deliver(req);
          gate.accepted++;
          gate.onAccepted();
          return copies;
        };
      }
      const v = Reflect.get(target, prop, receiver);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
}

async function subjectsAtB(b: TestServer): Promise<Map<string, number>> {
  const store = b.server.store;
  const acc = (await store.getAccount('bob@b.test'))!;
  const mb = (await store.getMailbox(acc.id, 'INBOX'))!;
  const counts = new Map<string, number>();
  for (const m of await store.listMessages(mb.id)) {
    const subject = /^Subject: (\S+)/m.exec((await store.readBlob(m.blobId)).toString('latin1'))?.[1] ?? '?';
    counts.set(subject, (counts.get(subject) ?? 0) + 1);
  }
  return counts;
}

describe('a node dies mid-delivery; another node finishes its queue', { skip: skip ?? false }, () => {
  let db: TestDatabase;
  let dns: DnsServer;
  let b: TestServer;
  const cleanups: Array<() => Promise<unknown>> = [];
  before(async () => {
    db = await createTestDatabase('mailroom_crash');
    dns = await startDnsServer([
      { name: 'b.test', type: 'MX', data: { preference: 10, exchange: 'mx.b.test' } },
      { name: 'mx.b.test', type: 'A', data: '127.0.0.2' },
    ]);
    b = await startTestServer({
      domains: ['b.test'],
      users: { 'bob@b.test': 'pw' },
      wrapStore: gatedStore,
      toml: `[listen]\nsmtp = "127.0.0.2:0"\n[dns]\nservers = ["${dns.address}"]\n`,
    });
  });
  after(async () => {
    for (const f of cleanups.reverse()) await f().catch(() => {});
    await b?.stop();
    await dns?.close();
    await db?.drop();
  });

  async function node(url: string): Promise<ChildServer> {
    const tmp = await tempDir();
    cleanups.push(tmp.remove);
    const config = await writeConfig(
      tmp.dir,
      `[store]\nurl = ${JSON.stringify(url)}\npool_size = 4\n` +
        `[dns]\nservers = ["${dns.address}"]\ntimeout = "1s"\n[relay]\ntrusted_networks = ["127.0.0.0/8"]\n` +
        `[delivery]\nport = ${b.port}\n[queue]\nretry_schedule = "1s"\nconnect_timeout = "1s"\nlease = "3s"\nconcurrency_per_domain = ${PER_DOMAIN}\n`,
    );
    const s = await startChildServer(config);
    cleanups.push(async () => {
      s.proc.kill('SIGKILL');
      await s.exited;
    });
    return s;
  }

  it('every acknowledged message arrives; duplicates only from the killed node’s in-flight window', async () => {
    const url = db.schemaUrl();
    const a = await node(url);
    const c = await node(url);

    // 80 messages into A, while B refuses: they wait in the shared queue.
    const acked = new Set<string>();
    const conn = await RawSmtp.connect(a.port);
    await conn.reply();
    await conn.cmd('EHLO client.a.test');
    for (let i = 0; i < TOTAL; i++) {
      const subject = `m-${i}`;
      conn.write('MAIL FROM:<sender@a.test>\r\nRCPT TO:<bob@b.test>\r\nDATA\r\n');
      for (const code of [250, 250, 354]) assert.equal((await conn.reply()).code, code);
      conn.write(`Subject: ${subject}\r\nMessage-ID: <${subject}@a.test>\r\n\r\nbody\r\n.\r\n`);
      const r = await conn.reply();
      assert.equal(r.code, 250, r.text);
      acked.add(subject);
    }
    await conn.cmd('QUIT');
    conn.close();

    // Open B; kill A once B has committed 30 (A then has deliveries in flight).
    let killedAt = -1;
    gate.onAccepted = () => {
      if (gate.accepted >= 30 && killedAt < 0) {
        killedAt = gate.accepted;
        a.proc.kill('SIGKILL');
      }
    };
    const t0 = Date.now();
    gate.open = true;
    await waitFor('A to be killed', () => killedAt > 0);
    await a.exited;
    const tKill = Date.now();

    // C delivers the rest, including what A had leased when it died.
    await waitFor('every message at B', async () => (await subjectsAtB(b)).size === TOTAL || null, 90_000);
    const store = await openPgStore({ url, listen: false });
    try {
      await waitFor('an empty shared queue', async () => (await store.listQueue()).length === 0 || null);
      const all = await store.listQueue({ all: true });
      const states = all.flatMap((m) => m.recipients.map((r) => r.state));
      assert.equal(states.length, TOTAL);
      assert.ok(states.every((s) => s === 'delivered'), JSON.stringify(states.filter((s) => s !== 'delivered')));
    } finally {
      await store.close();
    }
    const counts = await subjectsAtB(b);
    for (const s of acked) assert.ok((counts.get(s) ?? 0) >= 1, `acknowledged message ${s} lost`);
    const duplicates = [...counts.values()].reduce((n, k) => n + k - 1, 0);
    console.log(
      `# multi-node queue kill -9: ${TOTAL} queued; B had ${killedAt} when A was killed; C finished ${Date.now() - tKill} ms later ` +
        `(A's 3 s leases had to run out); delivered twice: ${duplicates} (A had at most ${PER_DOMAIN} in flight); total ${Date.now() - t0} ms`,
    );
    assert.ok(duplicates <= PER_DOMAIN, `${duplicates} duplicates; at most ${PER_DOMAIN} deliveries were in flight on A`);
    for (const n of counts.values()) assert.ok(n <= 2);
    c.proc.kill('SIGTERM');
    assert.equal(await c.exited, 0, 'SIGTERM exits cleanly');
  });
});
