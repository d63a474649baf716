// Three Mailroom nodes on different loopback ports sharing one PostgreSQL
// database ([store] url), as behind a load balancer or several MX records:
// SMTP into node 1 is in node 2's store at once; an IMAP IDLE session on
// node 2 hears EXISTS within a second (LISTEN/NOTIFY); POP3 on node 3
// retrieves it; flag changes and expunges made over IMAP on one node reach a
// session on another; a POP3 maildrop locked on one node is [IN-USE] on
// another; a login failure counted on one node counts on all.
// Skips, saying why, when PostgreSQL is unreachable (CI has it).

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { ImapFlow } from 'imapflow';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { RawSmtp } from '../helpers/smtp-client.ts';
import { createTestDatabase, pgSkipReason, type TestDatabase } from '../helpers/postgres.ts';

const skip = await pgSkipReason();
if (skip) console.log(`# skipping multi-node tests: ${skip}`);

async function sendMail(port: number, to: string, subject: string): Promise<void> {
  const c = await RawSmtp.connect(port);
  assert.equal((await c.reply()).code, 220);
  await c.cmd('EHLO mta.remote.example');
  assert.equal((await c.cmd('MAIL FROM:<someone@remote.example>')).code, 250);
  assert.equal((await c.cmd(`RCPT TO:<${to}>`)).code, 250);
  assert.equal((await c.cmd('DATA')).code, 354);
  const r = await c.cmd(`Subject: ${subject}\r\nMessage-ID: <${subject}@remote.example>\r\n\r\nhello from ${subject}\r\n.`);
  assert.equal(r.code, 250, r.text);
  await c.cmd('QUIT');
  c.close();
}

/** A minimal POP3 exchange (RFC 1939) on a plain socket: returns each reply. */
async function pop3(host: string, port: number, commands: string[]): Promise<string[]> {
  const s = net.connect({ port, host });
  s.setEncoding('latin1');
  let buf = '';
  const waiters: Array<() => void> = [];
  let closed = false;
  s.on('data', (d: string) => {
    buf += d;
    for (const w of waiters.splice(0)) w();
  });
  s.on('close', () => {
    closed = true;
    for (const w of waiters.splice(0)) w();
  });
  s.on('error', () => {});
  const read = async (multi: boolean): Promise<string> => {
    for (;;) {
      if (closed && buf === '') return '(closed)';
      const end = multi ? buf.indexOf('\r\n.\r\n') : buf.indexOf('\r\n');
      const ok = buf.startsWith('+OK');
      if (end >= 0 && (!multi || !ok || end >= 0)) {
        const firstLineEnd = buf.indexOf('\r\n');
        if (multi && !ok) {
          const line = buf.slice(0, firstLineEnd);
          buf = buf.slice(firstLineEnd + 2);
          return line;
        }
        const cut = multi ? end + 5 : end + 2;
        const out = buf.slice(0, cut);
        buf = buf.slice(cut);
        return out;
      }
      await new Promise<void>((r) => waiters.push(r));
    }
  };
  const replies = [await read(false)];
  for (const cmd of commands) {
    if (closed) break;
    s.write(cmd + '\r\n');
    replies.push(await read(/^(RETR|LIST|UIDL|TOP)\b/.test(cmd) && !/^(LIST|UIDL) \d/.test(cmd)));
  }
  s.end();
  return replies;
}

describe('three nodes sharing one PostgreSQL database', { skip: skip ?? false }, () => {
  let db: TestDatabase;
  const nodes: TestServer[] = [];
  before(async () => {
    db = await createTestDatabase('mailroom_multinode');
    const url = db.schemaUrl();
    const toml = (n: number) =>
      `[store]\nurl = ${JSON.stringify(url)}\npool_size = 4\n` +
      `[listen]\nsmtp = "127.0.0.${n}:0"\nimap = "127.0.0.${n}:0"\npop3 = "127.0.0.${n}:0"\n` +
      `[auth]\nallow_plaintext_loopback = true\nmax_failures_per_account = 3\nslowdown_after = 100\n`;
    // Node 1 creates the domain and the account; the others see them.
    nodes.push(await startTestServer({ toml: toml(1), domains: ['example.org'], users: { 'alice@example.org': 'secret-pw-1' } }));
    nodes.push(await startTestServer({ toml: toml(2), domains: [] }));
    nodes.push(await startTestServer({ toml: toml(3), domains: [] }));
  });
  after(async () => {
    await Promise.all(nodes.map((n) => n.stop()));
    await db?.drop();
  });

  function imap(n: number, extra: Record<string, unknown> = {}): ImapFlow {
    return new ImapFlow({
      host: `127.0.0.${n}`,
      port: nodes[n - 1]!.server.ports.imap!,
      secure: false,
      doSTARTTLS: false,
      auth: { user: 'alice@example.org', pass: 'secret-pw-1' },
      logger: false,
      ...extra,
    });
  }

  it('SMTP into node 1: stored once, visible from nodes 2 and 3', async () => {
    await sendMail(nodes[0]!.port, 'alice@example.org', 'store-level');
    for (const node of nodes.slice(1)) {
      const store = node.server.store;
      const acc = await store.getAccount('alice@example.org');
      assert.ok(acc, 'the account made on node 1 exists everywhere');
      const inbox = (await store.getMailbox(acc.id, 'INBOX'))!;
      const msgs = await store.listMessages(inbox.id);
      const bodies = await Promise.all(msgs.map((m) => store.readBlob(m.blobId)));
      assert.ok(bodies.some((b) => b.includes('hello from store-level')));
    }
  });

  it('an IMAP IDLE session on node 2 hears a delivery through node 1 within a second; POP3 on node 3 retrieves it', async () => {
    const c = imap(2);
    await c.connect();
    await c.mailboxOpen('INBOX');
    const before = (c.mailbox as { exists: number }).exists;
    const idling = c.idle();
    await new Promise((r) => setTimeout(r, 150));
    const arrived = new Promise<number>((resolve) => c.on('exists', (e: { count: number }) => resolve(e.count)));
    const sentAt = Date.now();
    await sendMail(nodes[0]!.port, 'alice@example.org', 'idle-push');
    const count = await Promise.race([arrived, new Promise<number>((_, rej) => setTimeout(() => rej(new Error('no EXISTS within 2 s')), 2000))]);
    const ms = Date.now() - sentAt;
    console.log(`# node 1 SMTP → node 2 IDLE EXISTS in ${ms} ms (including the SMTP transaction)`);
    assert.equal(count, before + 1);
    assert.ok(ms < 1000, `EXISTS after ${ms} ms`);
    await c.noop();
    await idling.catch(() => {});
    await c.logout();

    const r = await pop3('127.0.0.3', nodes[2]!.server.ports.pop3!, ['USER alice@example.org', 'PASS secret-pw-1', 'STAT', `RETR ${count}`, 'QUIT']);
    assert.match(r[2]!, /^\+OK/, r.join('|'));
    assert.match(r[3]!, new RegExp(`^\\+OK ${count} `));
    assert.match(r[4]!, /hello from idle-push/);
  });

  it('flag changes and expunges on node 3 reach an IMAP session on node 1; UIDs stay consistent', async () => {
    const a = imap(1, { disableAutoIdle: true });
    const b = imap(3);
    await a.connect();
    await b.connect();
    await b.mailboxCreate('Shared');
    const uids: number[] = [];
    const uidOf = (r: unknown) => (r as { uid?: number }).uid;
    for (let i = 0; i < 3; i++) uids.push(uidOf(await b.append('Shared', `Subject: s${i}\r\n\r\nx\r\n`, []))!);
    assert.deepEqual(uids, [1, 2, 3]);
    await a.mailboxOpen('Shared');
    await b.mailboxOpen('Shared');
    const flagsSeen: Array<{ flags: Set<string> }> = [];
    a.on('flags', (e: { flags: Set<string> }) => flagsSeen.push(e));
    await b.messageFlagsAdd('2', ['\\Answered']);
    await new Promise((r) => setTimeout(r, 100));
    await a.noop();
    assert.ok(flagsSeen.some((e) => e.flags.has('\\Answered')), "node 1 saw node 3's flag change");
    await b.messageDelete('1');
    await new Promise((r) => setTimeout(r, 100));
    await a.noop();
    assert.equal((a.mailbox as { exists: number }).exists, 2);
    // An APPEND through node 1 gets the next UID, not one node 3 already used.
    const next = await a.append('Shared', 'Subject: from node 1\r\n\r\ny\r\n', []);
    assert.equal(uidOf(next), 4);
    await a.logout();
    await b.logout();
  });

  it('concurrent APPEND, STORE and EXPUNGE from sessions on two nodes keep UIDs and MODSEQs consistent', async () => {
    const a = imap(1, { disableAutoIdle: true });
    const b = imap(2, { disableAutoIdle: true });
    await a.connect();
    await b.connect();
    await a.mailboxCreate('Race');
    const uidOf = (r: unknown) => (r as { uid?: number }).uid!;
    const appended = await Promise.all(
      Array.from({ length: 30 }, (_, i) => (i % 2 ? a : b).append('Race', `Subject: r${i}\r\n\r\n${i}\r\n`, [])),
    );
    const uids = appended.map(uidOf).sort((x, y) => x - y);
    assert.deepEqual(uids, Array.from({ length: 30 }, (_, i) => i + 1), 'unique, gap-free UIDs across nodes');
    await a.mailboxOpen('Race');
    await b.mailboxOpen('Race');
    await Promise.all([
      a.messageFlagsAdd({ uid: '1:10' } as never, ['\\Deleted'], { uid: true }),
      b.messageFlagsAdd({ uid: '5:20' } as never, ['\\Flagged'], { uid: true }),
      a.append('Race', 'Subject: late\r\n\r\nx\r\n', ['\\Seen']),
    ]);
    await b.messageDelete({ uid: '1:10' } as never, { uid: true });
    const state = async (c: ImapFlow) => {
      await c.noop();
      const out: Array<[number, string, string]> = [];
      for await (const m of c.fetch('1:*', { uid: true, flags: true, modseq: true } as never)) {
        const msg = m as unknown as { uid: number; flags: Set<string>; modseq: bigint };
        out.push([msg.uid, [...msg.flags].sort().join(' '), String(msg.modseq)]);
      }
      return out.sort((x, y) => x[0] - y[0]);
    };
    const sa = await state(a);
    const sb = await state(b);
    assert.deepEqual(sa, sb, 'both nodes see the same UIDs, flags and MODSEQs');
    assert.ok(sa.every((x) => /^[1-9][0-9]*$/.test(x[2])), `MODSEQs present (CONDSTORE): ${JSON.stringify(sa.slice(0, 3))}`);
    assert.deepEqual(sa.map((x) => x[0]), [...Array.from({ length: 20 }, (_, i) => i + 11), 31]);
    assert.ok(sa.filter((x) => x[0] <= 20).every((x) => x[1].includes('\\Flagged')));
    await a.logout();
    await b.logout();
  });

  it('one POP3 session per maildrop across nodes ([IN-USE] on the second node)', async () => {
    const hold = net.connect({ port: nodes[0]!.server.ports.pop3!, host: '127.0.0.1' });
    hold.setEncoding('latin1');
    let got = '';
    hold.on('data', (d: string) => (got += d));
    const waitFor = async (re: RegExp) => {
      const deadline = Date.now() + 5000;
      while (!re.test(got) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    };
    await waitFor(/^\+OK/);
    hold.write('USER alice@example.org\r\nPASS secret-pw-1\r\n');
    await waitFor(/maildrop|\+OK[^\r]*\r\n\+OK[^\r]*\r\n\+OK/);
    const second = await pop3('127.0.0.3', nodes[2]!.server.ports.pop3!, ['USER alice@example.org', 'PASS secret-pw-1', 'QUIT']);
    assert.match(second[2]!, /^-ERR \[IN-USE\]/, second.join('|'));
    hold.write('QUIT\r\n');
    await waitFor(/\+OK[^\r]*\r\n\+OK[^\r]*\r\n\+OK[^\r]*\r\n\+OK/);
    hold.destroy();
    const third = await pop3('127.0.0.3', nodes[2]!.server.ports.pop3!, ['USER alice@example.org', 'PASS secret-pw-1', 'QUIT']);
    assert.match(third[2]!, /^\+OK/, 'free again after QUIT on node 1');
  });

  it('login failures count across nodes: the account locks out everywhere', async () => {
    const tryLogin = async (n: number, pass: string): Promise<string> => {
      const r = await pop3(`127.0.0.${n}`, nodes[n - 1]!.server.ports.pop3!, ['USER alice@example.org', `PASS ${pass}`, 'QUIT']);
      return r[2]!;
    };
    // max_failures_per_account = 3: one failure on each node reaches it.
    for (const n of [1, 2, 3]) assert.match(await tryLogin(n, 'wrong'), /^-ERR/);
    // Now even the right password is refused, on a node that saw only one failure.
    await new Promise((r) => setTimeout(r, 100)); // the lock-out's NOTIFY
    assert.match(await tryLogin(2, 'secret-pw-1'), /^-ERR/);
  });
});
