// POP3 end to end (issue 6): Python's poplib through every command over STLS
// and implicit TLS (with AUTH PLAIN), the UPDATE state's durable expunge,
// UIDL stability, a dropped connection deleting nothing, the maildrop lock
// ([IN-USE]), bad input answered "-ERR", the line-length limit, the idle
// timeout, [SYS/TEMP] on store failures, and watchers seeing the expunge.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { RawPop3 } from '../helpers/pop3-client.ts';
import { RawSmtp } from '../helpers/smtp-client.ts';
import type { Store } from '../../src/store/store.ts';
import { unstuff } from '../../src/pop3/protocol/reply.ts';
import { scramClientFinal, scramClientFirst } from '../../src/auth/sasl/scram-client.ts';
import type { MailboxChange } from '../../src/store/mailbox-store.ts';
import { ImapFlow } from 'imapflow';

const ALICE = 'alice@example.org';
const PW = 'correct horse';

function python(script: string, ...args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('python3', ['-c', script, ...args], { timeout: 30000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${err.message}\n${stderr}\n${stdout}`));
      else resolve(stdout.trim());
    });
  });
}

const LISTEN = `
[listen]
smtp = "127.0.0.1:0"
pop3 = "127.0.0.1:0"
pop3s = "127.0.0.1:0"
`;
const BASE_TOML = LISTEN + '[auth]\nslowdown = "0s"\n';

async function deliver(store: Store, address: string, bodies: string[]): Promise<void> {
  const acc = (await store.getAccount(address))!;
  for (const b of bodies) {
    await store.deliver({ content: [Buffer.from(b)], internalDate: new Date(), recipients: [{ accountId: acc.id }] });
  }
}

async function inboxOf(store: Store, address: string) {
  const acc = (await store.getAccount(address))!;
  const mb = (await store.getMailbox(acc.id, 'INBOX'))!;
  return { acc, mb, messages: await store.listMessages(mb.id) };
}

async function login(port: number, opts: { tls?: boolean; user?: string } = {}): Promise<RawPop3> {
  const c = await RawPop3.connect(port, { tls: opts.tls });
  assert.match(await c.line(), /^\+OK /);
  if (!opts.tls) {
    assert.match(await c.cmd('STLS'), /^\+OK/);
    await c.startTls();
  }
  assert.match(await c.cmd(`USER ${opts.user ?? ALICE}`), /^\+OK/);
  assert.match(await c.cmd(`PASS ${PW}`), /^\+OK Logged in/);
  return c;
}

const M1 = 'From: a@remote.example\r\nSubject: one\r\n\r\nfirst line\r\n.leading dot\r\n..two dots\r\nlast\r\n';
const M2 = 'From: b@remote.example\r\nSubject: two\r\n\r\nbody 1\r\nbody 2\r\nbody 3\r\n';
const M3 = 'Subject: three\r\n\r\nthird\r\n';

describe('POP3 end to end', () => {
  let ts: TestServer;
  let failing: { listMessages: boolean; expunge: boolean; readBlob: boolean };
  let pop3: number;
  let pop3s: number;
  before(async () => {
    failing = { listMessages: false, expunge: false, readBlob: false };
    const wrapStore = (s: Store): Store =>
      new Proxy(s, {
        get(target, prop, recv) {
          const v = Reflect.get(target, prop, recv);
          if (typeof v !== 'function') return v;
          if ((prop === 'listMessages' || prop === 'expunge' || prop === 'readBlob') && failing[prop]) {
            return () => Promise.reject(new Error('injected store failure'));
          }
          return v.bind(target);
        },
      });
    ts = await startTestServer({ toml: BASE_TOML, users: { [ALICE]: PW, 'bob@example.org': PW }, wrapStore });
    pop3 = ts.server.ports.pop3!;
    pop3s = ts.server.ports.pop3s!;
  });
  after(() => ts.stop());

  it('poplib: CAPA, STLS, USER/PASS, STAT, LIST, UIDL, RETR, TOP, DELE, RSET, NOOP, QUIT', async () => {
    await deliver(ts.server.store, ALICE, [M1, M2, M3]);
    const { mb, messages } = await inboxOf(ts.server.store, ALICE);
    const out = await python(
      `
import poplib, ssl, sys, json
p = poplib.POP3('127.0.0.1', int(sys.argv[1]), timeout=10)
res = {}
res['welcome'] = p.getwelcome().decode()
caps = p.capa()
res['caps_plain'] = sorted(caps.keys())
try:
    p.user('${ALICE}')
    res['user_plain'] = 'accepted'
except poplib.error_proto as e:
    res['user_plain'] = e.args[0].decode()
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
p.stls(ctx)
res['caps_tls'] = sorted(p.capa().keys())
p.user('${ALICE}')
res['pass'] = p.pass_('${PW}').decode()
res['stat'] = list(p.stat())
res['list'] = [x.decode() for x in p.list()[1]]
res['list2'] = p.list(2).decode()
res['uidl'] = [x.decode() for x in p.uidl()[1]]
res['uidl3'] = p.uidl(3).decode()
r = p.retr(1)
res['retr1'] = [x.decode() for x in r[1]]
res['retr1_status'] = r[0].decode()
res['top2'] = [x.decode() for x in p.top(2, 1)[1]]
res['top2_0'] = [x.decode() for x in p.top(2, 0)[1]]
res['dele1'] = p.dele(1).decode()
try:
    p.retr(1)
except poplib.error_proto as e:
    res['retr_deleted'] = e.args[0].decode()
res['stat_after_dele'] = list(p.stat())
res['rset'] = p.rset().decode()
res['stat_after_rset'] = list(p.stat())
p.dele(3)
res['noop'] = p.noop().decode()
res['quit'] = p.quit().decode()
print(json.dumps(res))
`,
      String(pop3),
    );
    const r = JSON.parse(out);
    assert.match(r.welcome, /^\+OK mx\.test\.example Mailroom POP3 server ready/);
    // Before TLS (and not allowed in plaintext): no USER, no SASL; STLS offered.
    assert.deepEqual(r.caps_plain, ['AUTH-RESP-CODE', 'IMPLEMENTATION', 'PIPELINING', 'RESP-CODES', 'STLS', 'TOP', 'UIDL']);
    assert.match(r.user_plain, /^-ERR Log in only after STLS/);
    assert.deepEqual(r.caps_tls, ['AUTH-RESP-CODE', 'IMPLEMENTATION', 'PIPELINING', 'RESP-CODES', 'SASL', 'TOP', 'UIDL', 'USER']);
    const sizes = [M1, M2, M3].map((m) => Buffer.byteLength(m));
    const total = sizes.reduce((a, b) => a + b, 0);
    assert.equal(r.pass, `+OK Logged in, maildrop has 3 messages (${total} octets)`);
    assert.deepEqual(r.stat, [3, total]);
    assert.deepEqual(r.list, sizes.map((s, i) => `${i + 1} ${s}`));
    assert.equal(r.list2, `+OK 2 ${sizes[1]}`);
    assert.deepEqual(r.uidl, messages.map((m, i) => `${i + 1} ${mb.uidValidity}.${m.uid}`));
    assert.equal(r.uidl3, `+OK 3 ${mb.uidValidity}.${messages[2]!.uid}`);
    assert.equal(r.retr1_status, `+OK ${sizes[0]} octets`);
    // Byte-stuffing undone by the client: the message exactly as stored.
    assert.equal(r.retr1.join('\r\n') + '\r\n', M1);
    assert.deepEqual(r.top2, ['From: b@remote.example', 'Subject: two', '', 'body 1']);
    assert.deepEqual(r.top2_0, ['From: b@remote.example', 'Subject: two', '']);
    assert.equal(r.dele1, '+OK Message 1 deleted');
    assert.equal(r.retr_deleted, '-ERR Message 1 already deleted');
    assert.deepEqual(r.stat_after_dele, [2, sizes[1]! + sizes[2]!]);
    assert.match(r.rset, /^\+OK/);
    assert.deepEqual(r.stat_after_rset, [3, total]);
    assert.equal(r.noop, '+OK');
    assert.equal(r.quit, '+OK Mailroom POP3 server signing off (1 messages deleted)');
    // UPDATE was durable before +OK: message 3 is gone, 1 and 2 stay.
    const after = await inboxOf(ts.server.store, ALICE);
    assert.deepEqual(after.messages.map((m) => m.uid), [messages[0]!.uid, messages[1]!.uid]);
  });

  it('poplib over implicit TLS (pop3s) with AUTH PLAIN and an initial response; UIDLs are stable', async () => {
    const { mb, messages } = await inboxOf(ts.server.store, ALICE);
    const out = await python(
      `
import poplib, ssl, sys, json, base64
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
p = poplib.POP3_SSL('127.0.0.1', int(sys.argv[1]), context=ctx, timeout=10)
res = {}
res['caps'] = sorted(p.capa().keys())
ir = base64.b64encode(b'\\0${ALICE}\\0${PW}').decode()
res['auth'] = p._shortcmd('AUTH PLAIN ' + ir).decode()
res['uidl'] = [x.decode() for x in p.uidl()[1]]
res['quit'] = p.quit().decode()
print(json.dumps(res))
`,
      String(pop3s),
    );
    const r = JSON.parse(out);
    assert.ok(!r.caps.includes('STLS'), 'no STLS once TLS is on');
    assert.match(r.auth, /^\+OK Logged in, maildrop has 2 messages/);
    assert.deepEqual(r.uidl, messages.map((m, i) => `${i + 1} ${mb.uidValidity}.${m.uid}`));
    assert.equal(r.quit, '+OK Mailroom POP3 server signing off');
  });

  it('AUTH PLAIN with a continuation, "*" cancels, a wrong password gets [AUTH]', async () => {
    const c = await RawPop3.connect(pop3s, { tls: true });
    await c.line();
    assert.equal(await c.cmd('AUTH PLAIN'), '+ ');
    assert.equal(await c.cmd('*'), '-ERR Authentication cancelled');
    assert.equal(await c.cmd('AUTH CRAM-MD5'), '-ERR Unsupported SASL mechanism');
    c.send('AUTH\r\n');
    assert.match(await c.line(), /^\+OK/);
    assert.equal((await c.body()).toString(), 'SCRAM-SHA-256\r\nPLAIN\r\nLOGIN\r\n.\r\n');
    assert.match(await c.cmd('USER ' + ALICE), /^\+OK/);
    assert.equal(await c.cmd('PASS wrong'), '-ERR [AUTH] Invalid user name or password');
    assert.equal(await c.cmd('AUTH PLAIN'), '+ ');
    assert.match(await c.cmd(Buffer.from(`\0${ALICE}\0${PW}`).toString('base64')), /^\+OK Logged in/);
    assert.match(await c.cmd('QUIT'), /^\+OK/);
    await c.waitClosed();
  });

  it('AUTH SCRAM-SHA-256 (the server proves it knows the key) and AUTH LOGIN', async () => {
    const c = await RawPop3.connect(pop3s, { tls: true });
    await c.line();
    const first = scramClientFirst(ALICE);
    const sf = await c.cmd(`AUTH SCRAM-SHA-256 ${Buffer.from(first.message).toString('base64')}`);
    assert.match(sf, /^\+ /);
    const final = (await scramClientFinal(first, Buffer.from(sf.slice(2), 'base64').toString(), PW))!;
    const sv = await c.cmd(Buffer.from(final.message).toString('base64'));
    assert.match(sv, /^\+ /);
    assert.equal(Buffer.from(sv.slice(2), 'base64').toString(), final.expectedServerFinal);
    assert.match(await c.cmd(''), /^\+OK Logged in/);
    assert.match(await c.cmd('QUIT'), /^\+OK/);
    const d = await RawPop3.connect(pop3s, { tls: true });
    await d.line();
    assert.equal(await d.cmd('AUTH LOGIN'), `+ ${Buffer.from('Username:').toString('base64')}`);
    assert.equal(await d.cmd(Buffer.from(ALICE).toString('base64')), `+ ${Buffer.from('Password:').toString('base64')}`);
    assert.match(await d.cmd(Buffer.from(PW).toString('base64')), /^\+OK Logged in/);
    assert.match(await d.cmd('QUIT'), /^\+OK/);
  });

  it('a dropped connection deletes nothing', async () => {
    const before = (await inboxOf(ts.server.store, ALICE)).messages.length;
    assert.ok(before > 0);
    const c = await login(pop3);
    assert.match(await c.cmd('DELE 1'), /^\+OK/);
    c.destroy();
    await new Promise((r) => setTimeout(r, 100));
    assert.equal((await inboxOf(ts.server.store, ALICE)).messages.length, before);
    // The lock went with the connection: a new session logs in.
    const d = await login(pop3);
    assert.match(await d.cmd('STAT'), new RegExp(`^\\+OK ${before} `));
    assert.match(await d.cmd('QUIT'), /^\+OK/);
  });

  it('a second session on the same maildrop gets [IN-USE] until the first ends', async () => {
    const a = await login(pop3);
    const b = await RawPop3.connect(pop3s, { tls: true });
    await b.line();
    await b.cmd(`USER ${ALICE}`);
    assert.equal(await b.cmd(`PASS ${PW}`), '-ERR [IN-USE] Maildrop already locked by another POP3 session');
    // Back in AUTHORIZATION: another account is fine, and the same one after QUIT.
    assert.match(await b.cmd('USER bob@example.org'), /^\+OK/);
    assert.match(await b.cmd(`PASS ${PW}`), /^\+OK Logged in/);
    assert.match(await a.cmd('QUIT'), /^\+OK/);
    await a.waitClosed();
    const c = await login(pop3);
    assert.match(await c.cmd('QUIT'), /^\+OK/);
    assert.match(await b.cmd('QUIT'), /^\+OK/);
  });

  it('bad commands, wrong states and bad arguments get -ERR, never a crash', async () => {
    const c = await RawPop3.connect(pop3s, { tls: true });
    await c.line();
    assert.equal(await c.cmd('FROB'), '-ERR Unknown command');
    assert.equal(await c.cmd('STAT'), '-ERR STAT is not valid in this state');
    assert.equal(await c.cmd('PASS x'), '-ERR Send USER first');
    assert.equal(await c.cmd('USER'), '-ERR USER needs exactly one name');
    assert.equal(await c.cmd('APOP a b'), '-ERR APOP is not supported');
    assert.equal(await c.cmd('STLS'), '-ERR TLS is already active');
    assert.equal(await c.cmd(''), '-ERR Empty command');
    await c.cmd(`USER ${ALICE}`);
    assert.match(await c.cmd(`PASS ${PW}`), /^\+OK/);
    const n = (await inboxOf(ts.server.store, ALICE)).messages.length;
    assert.equal(await c.cmd('RETR abc'), '-ERR Invalid message number');
    assert.equal(await c.cmd('RETR 0'), '-ERR Invalid message number');
    assert.equal(await c.cmd(`RETR ${n + 1}`), '-ERR No such message');
    assert.equal(await c.cmd('LIST 1 2'), '-ERR LIST takes at most one message number');
    assert.equal(await c.cmd('TOP 1'), '-ERR TOP needs a message number and a line count');
    assert.equal(await c.cmd('TOP 1 -1'), '-ERR Invalid line count');
    assert.equal(await c.cmd('USER x'), '-ERR USER is not valid in this state');
    assert.equal(await c.cmd('AUTH PLAIN'), '-ERR AUTH is not valid in this state');
    assert.match(await c.cmd('DELE 1'), /^\+OK/);
    assert.equal(await c.cmd('DELE 1'), '-ERR Message 1 already deleted');
    assert.equal(await c.cmd('LIST 1'), '-ERR Message 1 already deleted');
    assert.equal(await c.cmd('UIDL 1'), '-ERR Message 1 already deleted');
    assert.match(await c.cmd('RSET'), /^\+OK/);
    assert.match(await c.cmd('stat'), /^\+OK \d+ \d+$/, 'keywords are case-insensitive');
    assert.match(await c.cmd('QUIT'), /^\+OK Mailroom POP3 server signing off$/);
    await c.waitClosed();
    assert.equal((await inboxOf(ts.server.store, ALICE)).messages.length, n);
  });

  it('commands pipelined after STLS in plaintext are discarded, never run under TLS (CVE-2011-0411)', async () => {
    const c = await RawPop3.connect(pop3);
    await c.line();
    c.send(`STLS\r\nUSER ${ALICE}\r\nPASS ${PW}\r\n`);
    assert.match(await c.line(), /^\+OK Begin TLS/);
    await c.startTls();
    // Only the reply to this CAPA comes back: the injected USER/PASS were dropped.
    assert.match(await c.cmd('CAPA'), /^\+OK Capability list follows/);
    assert.doesNotMatch((await c.body()).toString(), /STLS/);
    assert.equal(await c.cmd('PASS x'), '-ERR Send USER first');
    assert.match(await c.cmd('QUIT'), /^\+OK/);
  });

  it('a 3 MB message (a file blob) full of dot lines comes back byte for byte; TOP cuts it', async () => {
    const line = (i: number) => (i % 3 === 0 ? '.' : i % 3 === 1 ? '..' : '') + `line ${i} ` + 'z'.repeat(60) + '\r\n';
    const body = Array.from({ length: 40_000 }, (_, i) => line(i)).join('');
    const big = 'Subject: big\r\n\r\n' + body + '.\r\n';
    const acc = (await ts.server.store.getAccount('bob@example.org'))!;
    await ts.server.store.deliver({ content: [Buffer.from(big)], internalDate: new Date(), recipients: [{ accountId: acc.id }] });
    const c = await login(pop3, { user: 'bob@example.org' });
    const n = Number(/^\+OK (\d+) /.exec(await c.cmd('STAT'))![1]);
    c.send(`RETR ${n}\r\n`);
    assert.equal(await c.line(), `+OK ${Buffer.byteLength(big)} octets`);
    assert.ok(unstuff(await c.body(20_000)).equals(Buffer.from(big)));
    c.send(`TOP ${n} 2\r\n`);
    assert.match(await c.line(), /^\+OK/);
    assert.equal(unstuff(await c.body()).toString(), 'Subject: big\r\n\r\n' + line(0) + line(1));
    assert.match(await c.cmd('QUIT'), /^\+OK/);
  });

  it('pipelined commands are answered in order', async () => {
    const c = await RawPop3.connect(pop3s, { tls: true });
    await c.line();
    c.send(`USER ${ALICE}\r\nPASS ${PW}\r\nSTAT\r\nNOOP\r\nQUIT\r\n`);
    assert.match(await c.line(), /^\+OK Send PASS/);
    assert.match(await c.line(), /^\+OK Logged in/);
    assert.match(await c.line(), /^\+OK \d+ \d+$/);
    assert.equal(await c.line(), '+OK');
    assert.match(await c.line(), /^\+OK .*signing off/);
    await c.waitClosed();
  });

  it('a command line over pop3.max_line gets -ERR and the session goes on', async () => {
    const c = await RawPop3.connect(pop3s, { tls: true });
    await c.line();
    // 255 octets with CRLF is allowed (RFC 2449 §4); 256 is not.
    assert.equal(await c.cmd('NOOP' + ' '.repeat(0)), '+OK');
    assert.equal(await c.cmd('USER ' + 'u'.repeat(248)), '+OK Send PASS');
    assert.equal(await c.cmd('USER ' + 'u'.repeat(249)), '-ERR Line too long (limit 255 octets)');
    // Longer than the limit before any line end: answered once, skipped to the line end.
    c.send('X'.repeat(5000));
    assert.equal(await c.line(), '-ERR Line too long (limit 255 octets)');
    c.send('Y'.repeat(5000) + '\r\n');
    assert.equal(await c.cmd('NOOP'), '+OK');
    assert.match(await c.cmd('QUIT'), /^\+OK/);
  });

  it('store failures answer [SYS/TEMP]: the maildrop at login, a message, the UPDATE', async () => {
    failing.listMessages = true;
    let c = await RawPop3.connect(pop3s, { tls: true });
    await c.line();
    await c.cmd(`USER ${ALICE}`);
    assert.equal(await c.cmd(`PASS ${PW}`), '-ERR [SYS/TEMP] Maildrop temporarily unavailable, try again later');
    failing.listMessages = false;
    // The lock was released: the same session can log in now.
    await c.cmd(`USER ${ALICE}`);
    assert.match(await c.cmd(`PASS ${PW}`), /^\+OK Logged in/);
    failing.readBlob = true;
    assert.equal(await c.cmd('RETR 1'), '-ERR [SYS/TEMP] Cannot read the message now, try again later');
    failing.readBlob = false;
    const n = (await inboxOf(ts.server.store, ALICE)).messages.length;
    assert.match(await c.cmd('DELE 1'), /^\+OK/);
    failing.expunge = true;
    assert.equal(await c.cmd('QUIT'), '-ERR [SYS/TEMP] Deleted messages were not removed, try again later');
    failing.expunge = false;
    await c.waitClosed();
    assert.equal((await inboxOf(ts.server.store, ALICE)).messages.length, n);
    c = await login(pop3);
    assert.match(await c.cmd('QUIT'), /^\+OK/);
  });

  it('watchers of the account see the expunge after QUIT (what IMAP sessions use)', async () => {
    await deliver(ts.server.store, ALICE, ['Subject: to delete\r\n\r\nx\r\n']);
    const { acc, mb, messages } = await inboxOf(ts.server.store, ALICE);
    const seen: MailboxChange[] = [];
    const stop = ts.server.store.watch(acc.id, (ch) => seen.push(ch));
    const c = await login(pop3);
    assert.match(await c.cmd(`DELE ${messages.length}`), /^\+OK/);
    assert.equal(seen.length, 0, 'nothing before QUIT');
    assert.match(await c.cmd('QUIT'), /deleted/);
    stop();
    assert.equal(seen.length, 1);
    assert.equal(seen[0]!.kind, 'expunge');
    assert.equal(seen[0]!.mailboxId, mb.id);
    const ch = await ts.server.store.changesSince(mb.id, seen[0]!.modseq - 1);
    assert.deepEqual(ch.expunged, [messages.at(-1)!.uid]);
  });
});

describe('POP3 idle timeout and bad-command limit (pop3.idle_timeout, pop3.max_bad_commands)', () => {
  let ts: TestServer;
  before(async () => {
    const toml = LISTEN + '[auth]\nslowdown = "0s"\nallow_plaintext_loopback = true\n[pop3]\nidle_timeout = "300ms"\nmax_bad_commands = 3\n';
    ts = await startTestServer({ toml, users: { [ALICE]: PW } });
    await deliver(ts.server.store, ALICE, [M1]);
  });
  after(() => ts.stop());

  it('closes an idle session with -ERR and deletes nothing', async () => {
    const c = await login(ts.server.ports.pop3!);
    assert.match(await c.cmd('DELE 1'), /^\+OK/);
    const started = Date.now();
    assert.equal(await c.line(3000), '-ERR Autologout: idle for too long');
    await c.waitClosed();
    assert.ok(Date.now() - started >= 250);
    assert.equal((await inboxOf(ts.server.store, ALICE)).messages.length, 1);
  });

  it('closes the session after pop3.max_bad_commands bad commands in a row', async () => {
    const c = await RawPop3.connect(ts.server.ports.pop3s!, { tls: true });
    await c.line();
    assert.equal(await c.cmd('FROB'), '-ERR Unknown command');
    assert.equal(await c.cmd('STAT'), '-ERR STAT is not valid in this state');
    assert.equal(await c.cmd('NOOP'), '+OK', 'a good command resets the count');
    assert.equal(await c.cmd('FROB'), '-ERR Unknown command');
    assert.equal(await c.cmd('LIST'), '-ERR LIST is not valid in this state');
    assert.equal(await c.cmd('FROB'), '-ERR Unknown command');
    assert.equal(await c.line(), '-ERR Too many bad commands, closing');
    await c.waitClosed();
  });

  it('with auth.allow_plaintext_loopback, USER/PASS and AUTH work without TLS from loopback', async () => {
    const c = await RawPop3.connect(ts.server.ports.pop3!);
    await c.line();
    c.send('CAPA\r\n');
    assert.match(await c.line(), /^\+OK/);
    const caps = (await c.body()).toString();
    assert.match(caps, /\r\nUSER\r\n/);
    assert.match(caps, /\r\nSASL SCRAM-SHA-256 PLAIN LOGIN\r\n/);
    assert.match(caps, /\r\nSTLS\r\n/);
    assert.match(await c.cmd(`AUTH PLAIN ${Buffer.from(`\0${ALICE}\0${PW}`).toString('base64')}`), /^\+OK Logged in/);
    assert.match(await c.cmd('QUIT'), /^\+OK/);
  });

  it('commands keep a session alive', async () => {
    const c = await RawPop3.connect(ts.server.ports.pop3s!, { tls: true });
    await c.line();
    for (let i = 0; i < 5; i++) {
      await new Promise((r) => setTimeout(r, 150));
      assert.equal(await c.cmd('NOOP'), '+OK');
    }
    assert.match(await c.cmd('QUIT'), /^\+OK/);
  });
});

describe('fetchmail downloads and deletes 1,000 messages', () => {
  let ts: TestServer;
  before(async () => {
    ts = await startTestServer({ toml: BASE_TOML, users: { [ALICE]: PW } });
  });
  after(() => ts.stop());

  it('over pop3s: every message arrives once, then the INBOX is empty', async (t) => {
    const { mkdtemp, writeFile, readFile, rm } = await import('node:fs/promises');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const have = await new Promise<boolean>((r) => execFile('fetchmail', ['--version'], (e) => r(!e || (e as { code?: unknown }).code !== 'ENOENT')));
    if (!have) return t.skip('fetchmail is not installed (apt-get install fetchmail)');
    const acc = (await ts.server.store.getAccount(ALICE))!;
    const N = 1000;
    await Promise.all(
      Array.from({ length: N }, (_, i) =>
        ts.server.store.deliver({
          content: [Buffer.from(`From: sender@remote.example\r\nSubject: bulk ${i}\r\nX-Seq: ${i}\r\n\r\nline one\r\n.dot line ${i}\r\n`)],
          internalDate: new Date(),
          recipients: [{ accountId: acc.id }],
        }),
      ),
    );
    const dir = await mkdtemp(join(tmpdir(), 'mailroom-fetchmail-'));
    try {
      // fetchmail writes every message to one BSMTP file (no MDA process per message).
      const out = join(dir, 'bsmtp');
      const rc = join(dir, 'fetchmailrc');
      await writeFile(
        rc,
        `set no syslog\npoll 127.0.0.1 protocol pop3 port ${ts.server.ports.pop3s} timeout 30\n` +
          `  user "${ALICE}" password "${PW}" is root here\n  ssl no sslcertck nokeep fetchall\n  bsmtp "${out}"\n`,
        { mode: 0o600 },
      );
      const started = Date.now();
      const res = await new Promise<{ code: number; stderr: string }>((resolve) =>
        execFile('fetchmail', ['-f', rc, '--nodetach', '-v'], { env: { ...process.env, HOME: dir, FETCHMAILHOME: dir }, timeout: 120_000, maxBuffer: 64 << 20 }, (e, _o, stderr) =>
          resolve({ code: e ? Number((e as { code?: unknown }).code ?? 1) : 0, stderr }),
        ),
      );
      const ms = Date.now() - started;
      assert.equal(res.code, 0, res.stderr.slice(-2000));
      const lines = (await readFile(out, 'utf8')).split(/\r?\n/);
      const seqs = lines.filter((l) => l.startsWith('X-Seq:')).map((l) => Number(l.slice(7)));
      assert.equal(seqs.length, N);
      assert.equal(new Set(seqs).size, N);
      // POP3 byte-stuffing was undone by fetchmail, and BSMTP (SMTP DATA) stuffs the line again.
      assert.equal(lines.filter((l) => l.startsWith('..dot line ')).length, N, 'dot lines arrive as sent');
      assert.equal((await inboxOf(ts.server.store, ALICE)).messages.length, 0);
      t.diagnostic(`fetchmail: ${N} messages downloaded and deleted in ${ms} ms`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('an IMAP session on the same INBOX sees the POP3 deletions', () => {
  let ts: TestServer;
  before(async () => {
    ts = await startTestServer({ toml: LISTEN + 'imap = "127.0.0.1:0"\n', users: { [ALICE]: PW } });
    await deliver(ts.server.store, ALICE, [M1, M2, M3]);
  });
  after(() => ts.stop());

  it('imapflow in IDLE gets EXPUNGE right after POP3 QUIT, and the UIDs match UIDL', async () => {
    const imap = new ImapFlow({ host: '127.0.0.1', port: ts.server.ports.imap!, secure: false, doSTARTTLS: true, tls: { rejectUnauthorized: false }, auth: { user: ALICE, pass: PW }, logger: false });
    await imap.connect();
    try {
      const box = await imap.mailboxOpen('INBOX');
      assert.equal(box.exists, 3);
      const uids: number[] = [];
      for await (const m of imap.fetch('1:*', { uid: true })) uids.push(m.uid);
      const expunged: number[] = [];
      const gone = new Promise<void>((resolve) =>
        imap.on('expunge', (e: { seq?: number; uid?: number }) => {
          expunged.push(e.seq ?? e.uid ?? 0);
          if (expunged.length === 2) resolve();
        }),
      );
      const idling = imap.idle();
      await new Promise((r) => setTimeout(r, 100));
      const c = await login(ts.server.ports.pop3!);
      c.send('UIDL\r\n');
      assert.match(await c.line(), /^\+OK/);
      const uidl = (await c.body()).toString().split('\r\n').filter((l) => /^\d/.test(l));
      // UIDL = UIDVALIDITY.UID: the same messages IMAP numbers by UID.
      assert.deepEqual(uidl.map((l) => Number(l.split('.')[1])), uids);
      assert.equal(uidl[0]!.split(' ')[1]!.split('.')[0], String(box.uidValidity));
      assert.match(await c.cmd('DELE 1'), /^\+OK/);
      assert.match(await c.cmd('DELE 3'), /^\+OK/);
      const quitAt = Date.now();
      assert.match(await c.cmd('QUIT'), /2 messages deleted/);
      await gone;
      assert.ok(Date.now() - quitAt < 1000, `seen after ${Date.now() - quitAt} ms`);
      await imap.noop();
      await idling.catch(() => {});
      assert.equal((imap.mailbox as { exists: number }).exists, 1);
      const left: number[] = [];
      for await (const m of imap.fetch('1:*', { uid: true })) left.push(m.uid);
      assert.deepEqual(left, [uids[1]]);
    } finally {
      await imap.logout().catch(() => {});
    }
  });
});

describe('POP3 login failures share the brute-force throttle with SMTP', () => {
  let ts: TestServer;
  before(async () => {
    const toml = LISTEN + 'submission = "127.0.0.1:0"\n[auth]\nslowdown = "0s"\nmax_failures_per_ip = 3\nallow_plaintext_loopback = true\n';
    ts = await startTestServer({ toml, users: { [ALICE]: PW } });
  });
  after(() => ts.stop());

  it('two SMTP AUTH failures and a POP3 one lock the IP out of POP3, even with the right password', async () => {
    const smtp = await RawSmtp.connect(ts.server.ports.submission!);
    await smtp.reply();
    await smtp.cmd('EHLO client.example');
    for (let i = 0; i < 2; i++) {
      const r = await smtp.cmd(`AUTH PLAIN ${Buffer.from(`\0${ALICE}\0wrong${i}`).toString('base64')}`);
      assert.equal(r.code, 535);
    }
    await smtp.cmd('QUIT');
    const c = await RawPop3.connect(ts.server.ports.pop3!);
    await c.line();
    await c.cmd(`USER ${ALICE}`);
    // The third failure (max_failures_per_ip) locks the IP out: answered and disconnected.
    assert.equal(await c.cmd('PASS wrong again'), '-ERR [SYS/TEMP] Too many failed logins, try again later');
    await c.waitClosed();
    const e = await RawPop3.connect(ts.server.ports.pop3!);
    await e.line();
    await e.cmd(`USER ${ALICE}`);
    assert.equal(await e.cmd(`PASS ${PW}`), '-ERR [SYS/TEMP] Too many failed logins, try again later');
    await e.waitClosed();
    const d = await RawPop3.connect(ts.server.ports.pop3!);
    await d.line();
    assert.equal(await d.cmd(`AUTH PLAIN ${Buffer.from(`\0${ALICE}\0${PW}`).toString('base64')}`), '-ERR [SYS/TEMP] Too many failed logins, try again later');
    await d.waitClosed();
  });
});
