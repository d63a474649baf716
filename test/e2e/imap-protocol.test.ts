// End-to-end IMAP at the byte level (raw sockets against the real server):
// limits (a line or literal over the configured size gets a tagged BAD and the
// session goes on), bad commands and commands in the wrong state (BAD/NO,
// never a crash), LOGINDISABLED before TLS, AUTHENTICATE PLAIN with and
// without SASL-IR, STARTTLS dropping pipelined plaintext, CONDSTORE/QRESYNC
// (UNCHANGEDSINCE → MODIFIED, CHANGEDSINCE, VANISHED), ESEARCH and "$",
// EXPUNGE held back during FETCH, the login timeout and the connection limit.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import tls from 'node:tls';
import { startTestServer, type TestServer } from '../helpers/server.ts';

/** A raw IMAP connection: write lines, read until a tagged completion. */
class Raw {
  socket: net.Socket;
  buf = '';
  closed = false;
  #wait: (() => void)[] = [];
  constructor(socket: net.Socket) {
    this.socket = socket;
    this.#listen(socket);
  }
  #listen(socket: net.Socket) {
    socket.on('data', (d) => {
      this.buf += d.toString('latin1');
      for (const w of this.#wait.splice(0)) w();
    });
    const end = () => {
      this.closed = true;
      for (const w of this.#wait.splice(0)) w();
    };
    socket.on('close', end);
    socket.on('error', end);
  }
  static async open(port: number): Promise<Raw> {
    const s = net.connect(port, '127.0.0.1');
    await new Promise((r) => s.once('connect', r));
    const r = new Raw(s);
    await r.until(/^\* OK .*\r\n/m);
    r.buf = '';
    return r;
  }
  write(s: string | Buffer) {
    this.socket.write(s);
  }
  /** Waits until the buffer matches; returns and consumes everything up to the end of the match. */
  async until(re: RegExp, timeoutMs = 5000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = re.exec(this.buf);
      if (m) {
        const end = m.index + m[0].length;
        const out = this.buf.slice(0, end);
        this.buf = this.buf.slice(end);
        return out;
      }
      if (this.closed) throw new Error(`closed; have ${JSON.stringify(this.buf)}`);
      if (Date.now() > deadline) throw new Error(`timeout waiting for ${re}; have ${JSON.stringify(this.buf)}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, 50);
        this.#wait.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }
  async cmd(tag: string, line: string): Promise<string> {
    this.write(`${tag} ${line}\r\n`);
    return this.until(new RegExp(`^${tag} (OK|NO|BAD)[^\\r\\n]*\\r\\n`, 'm'));
  }
  async startTls(): Promise<void> {
    const secure = tls.connect({ socket: this.socket, rejectUnauthorized: false });
    await new Promise((r) => secure.once('secureConnect', r));
    this.socket = secure;
    this.#listen(secure);
  }
  close() {
    this.socket.destroy();
  }
}

const BASE = '[listen]\nsmtp = "127.0.0.1:0"\nimap = "127.0.0.1:0"\n';

describe('IMAP protocol edge cases', () => {
  let ts: TestServer;
  before(async () => {
    ts = await startTestServer({
      toml: BASE + '[auth]\nallow_plaintext_loopback = true\n[imap]\nmax_line = "2K"\nmax_literal = "4K"\nmax_command = "8K"\n',
      users: { 'alice@example.org': 'pw' },
    });
  });
  after(() => ts.stop());

  async function login(): Promise<Raw> {
    const r = await Raw.open(ts.imapPort);
    assert.match(await r.cmd('l', 'LOGIN alice@example.org pw'), /^l OK \[CAPABILITY [^\]]*IDLE/m);
    return r;
  }

  it('answers bad commands, bad arguments and commands in the wrong state with BAD, never a crash', async () => {
    const r = await Raw.open(ts.imapPort);
    assert.match(await r.cmd('a1', 'SELECT INBOX'), /^a1 BAD .*Log in first/m);
    assert.match(await r.cmd('a2', 'XYZZY'), /^a2 BAD Unknown command/m);
    assert.match(await r.cmd('a3', 'LOGIN onlyone'), /^a3 BAD/m);
    assert.match(await r.cmd('a4', 'LOGIN "unterminated'), /^a4 BAD \[PARSE\]/m);
    r.write('\r\n');
    assert.match(await r.until(/\r\n/), /^\* BAD/);
    assert.match(await r.cmd('a5', 'LOGIN alice@example.org wrong'), /^a5 NO \[AUTHENTICATIONFAILED\]/m);
    assert.match(await r.cmd('a6', 'LOGIN alice@example.org pw'), /^a6 OK/m);
    assert.match(await r.cmd('a7', 'LOGIN alice@example.org pw'), /^a7 BAD/m);
    assert.match(await r.cmd('a8', 'FETCH 1 FLAGS'), /^a8 BAD .*Select a mailbox first/m);
    assert.match(await r.cmd('a9', 'SELECT Nowhere'), /^a9 NO \[NONEXISTENT\]/m);
    assert.match(await r.cmd('b1', 'SELECT INBOX'), /^b1 OK \[READ-WRITE\]/m);
    assert.match(await r.cmd('b2', 'FETCH 5 FLAGS'), /^b2 BAD/m);
    assert.match(await r.cmd('b3', 'FETCH 1:* (FLAGS BOGUS)'), /^b3 BAD/m);
    assert.match(await r.cmd('b4', 'UID FETCH 1:* (FLAGS)'), /^b4 OK/m);
    assert.match(await r.cmd('b5', 'STORE 1 +FLAGS (\\Recent)'), /^b5 BAD/m);
    assert.match(await r.cmd('b6', 'SEARCH NOSUCHKEY'), /^b6 BAD/m);
    assert.match(await r.cmd('b7', 'SEARCH CHARSET KOI8-R ALL'), /^b7 NO \[BADCHARSET/m);
    assert.match(await r.cmd('b8', 'COPY 1 Nowhere'), /^b8 (NO|BAD)/m);
    assert.match(await r.cmd('b9', 'UID COPY 1:* Nowhere'), /^b9 (OK|NO \[TRYCREATE\])/m);
    assert.match(await r.cmd('c1', 'CREATE INBOX'), /^c1 NO \[ALREADYEXISTS\]/m);
    assert.match(await r.cmd('c2', 'DELETE INBOX'), /^c2 NO/m);
    r.write('c3 APPEND INBOX {0}\r\n');
    await r.until(/^\+ [^\r]*\r\n/m);
    r.write('\r\n');
    assert.match(await r.until(/^c3 [^\r]*\r\n/m), /^c3 NO/m);
    assert.match(await r.cmd('c4', 'NOOP'), /^c4 OK/m);
    r.close();
  });

  it('a line over imap.max_line gets a tagged BAD and the session continues', async () => {
    const r = await login();
    assert.match(await r.cmd('t1', `NOOP ${'x'.repeat(3000)}`), /^t1 BAD \[TOOBIG\]/m);
    assert.match(await r.cmd('t2', 'NOOP'), /^t2 OK/m);
    r.close();
  });

  it('a literal over imap.max_literal gets a tagged BAD (sync: no "+"; LITERAL+: skipped), the session continues', async () => {
    const r = await login();
    assert.match(await r.cmd('t3', 'APPEND INBOX {5000}'), /^t3 BAD \[TOOBIG\]/m);
    r.write(`t4 APPEND INBOX {5000+}\r\n${'y'.repeat(5000)}\r\n`);
    assert.match(await r.until(/^t4 [^\r]*\r\n/m), /^t4 BAD \[TOOBIG\]/m);
    assert.match(await r.cmd('t5', 'NOOP'), /^t5 OK/m);
    // Within the limit: synchronizing literal with "+" and APPENDUID.
    r.write('t6 APPEND INBOX (\\Seen) {20}\r\n');
    await r.until(/^\+ [^\r]*\r\n/m);
    r.write('Subject: hi\r\n\r\nbody\r\n');
    assert.match(await r.until(/^t6 [^\r]*\r\n/m), /^t6 OK \[APPENDUID \d+ \d+\]/m);
    r.close();
  });

  it('AUTHENTICATE PLAIN with SASL-IR and with a continuation; "*" cancels', async () => {
    const plain = Buffer.from('\0alice@example.org\0pw').toString('base64');
    let r = await Raw.open(ts.imapPort);
    assert.match(await r.cmd('p1', `AUTHENTICATE PLAIN ${plain}`), /^p1 OK \[CAPABILITY/m);
    r.close();
    r = await Raw.open(ts.imapPort);
    r.write('p2 AUTHENTICATE PLAIN\r\n');
    await r.until(/^\+ ?\r\n/m);
    r.write(plain + '\r\n');
    assert.match(await r.until(/^p2 [^\r]*\r\n/m), /^p2 OK/m);
    r.close();
    r = await Raw.open(ts.imapPort);
    r.write('p3 AUTHENTICATE LOGIN\r\n');
    await r.until(/^\+ [^\r]*\r\n/m);
    r.write('*\r\n');
    assert.match(await r.until(/^p3 [^\r]*\r\n/m), /^p3 BAD/m);
    assert.match(await r.cmd('p4', 'AUTHENTICATE CRAM-MD5'), /^p4 NO/m);
    r.close();
  });

  it('CONDSTORE: UNCHANGEDSINCE conflicts are [MODIFIED], CHANGEDSINCE filters; QRESYNC: VANISHED; ESEARCH and $', async () => {
    const r = await login();
    await r.cmd('q0', 'CREATE Cond');
    for (let i = 0; i < 3; i++) {
      r.write(`q${i}a APPEND Cond {17+}\r\nSubject: m${i}\r\n\r\nx\r\n`);
      await r.until(new RegExp(`^q${i}a OK[^\\r]*\\r\\n`, 'm'));
    }
    assert.match(await r.cmd('e1', 'ENABLE QRESYNC'), /ENABLED QRESYNC CONDSTORE/);
    const sel = await r.cmd('s1', 'SELECT Cond');
    const hms = Number(/HIGHESTMODSEQ (\d+)/.exec(sel)![1]);
    const uv = Number(/UIDVALIDITY (\d+)/.exec(sel)![1]);
    const st = await r.cmd('s2', 'UID STORE 1:3 (UNCHANGEDSINCE 1) +FLAGS (\\Flagged)');
    assert.match(st, /^s2 OK \[MODIFIED 1:3\]/m);
    const st2 = await r.cmd('s3', `UID STORE 2 (UNCHANGEDSINCE ${hms}) +FLAGS (\\Flagged)`);
    assert.match(st2, /\* 2 FETCH \(UID 2 FLAGS \(\\Flagged( \\Recent)?\) MODSEQ \((\d+)\)\)/);
    const f = await r.cmd('s4', `UID FETCH 1:* (FLAGS) (CHANGEDSINCE ${hms})`);
    assert.equal((f.match(/^\* \d+ FETCH/gm) ?? []).length, 1);
    assert.match(await r.cmd('s5', 'UID STORE 3 +FLAGS.SILENT (\\Deleted)'), /^s5 OK/m);
    const ex = await r.cmd('s6', 'EXPUNGE');
    assert.match(ex, /^\* VANISHED 3\r\n/m);
    const fv = await r.cmd('s7', `UID FETCH 1:* (FLAGS) (CHANGEDSINCE ${hms} VANISHED)`);
    assert.match(fv, /^\* VANISHED \(EARLIER\) 3\r\n/m);
    await r.cmd('s8', 'UNSELECT');
    const again = await r.cmd('s9', `SELECT Cond (QRESYNC (${uv} ${hms}))`);
    assert.match(again, /^\* VANISHED \(EARLIER\) 3\r\n/m);
    assert.match(again, /FETCH \(UID 2 FLAGS \(\\Flagged( \\Recent)?\) MODSEQ/);
    const es = await r.cmd('x1', 'UID SEARCH RETURN (MIN MAX COUNT SAVE ALL) UNDELETED');
    assert.match(es, /^\* ESEARCH \(TAG "x1"\) UID MIN 1 MAX 2 ALL 1:2 COUNT 2\r\n/m);
    const saved = await r.cmd('x2', 'UID FETCH $ (UID)');
    assert.equal((saved.match(/^\* \d+ FETCH/gm) ?? []).length, 2);
    const st3 = await r.cmd('x3', 'STATUS Cond (MESSAGES HIGHESTMODSEQ SIZE UIDNEXT)');
    assert.match(st3, /^\* STATUS Cond \(MESSAGES 2 HIGHESTMODSEQ \d+ SIZE 34 UIDNEXT 4\)/m);
    r.close();
  });

  it('holds back EXPUNGE during FETCH by sequence number, sends it after NOOP', async () => {
    const a = await login();
    const b = await login();
    await a.cmd('h0', 'CREATE Hold');
    for (let i = 0; i < 2; i++) {
      a.write(`h${i}a APPEND Hold {17+}\r\nSubject: h${i}\r\n\r\nx\r\n`);
      await a.until(new RegExp(`^h${i}a OK[^\\r]*\\r\\n`, 'm'));
    }
    await a.cmd('h1', 'SELECT Hold');
    await b.cmd('h2', 'SELECT Hold');
    await b.cmd('h3', 'STORE 1 +FLAGS.SILENT (\\Deleted)');
    await b.cmd('h4', 'EXPUNGE');
    const f = await a.cmd('h5', 'FETCH 1:* (FLAGS)');
    assert.doesNotMatch(f, /EXPUNGE/);
    const n = await a.cmd('h6', 'NOOP');
    assert.match(n, /^\* 1 EXPUNGE\r\n/m);
    a.close();
    b.close();
  });

  it('IDLE pushes a change from another session, DONE ends it', async () => {
    const a = await login();
    const b = await login();
    await a.cmd('i0', 'CREATE Idle');
    await a.cmd('i1', 'SELECT Idle');
    a.write('i2 IDLE\r\n');
    await a.until(/^\+ idling\r\n/m);
    b.write('i3 APPEND Idle {17+}\r\nSubject: id\r\n\r\nx\r\n');
    await b.until(/^i3 OK[^\r]*\r\n/m);
    assert.match(await a.until(/^\* 1 EXISTS\r\n/m, 1000), /EXISTS/);
    a.write('DONE\r\n');
    assert.match(await a.until(/^i2 [^\r]*\r\n/m), /^i2 OK/m);
    a.close();
    b.close();
  });
});

describe('IMAP summaries and quota', () => {
  let ts: TestServer;
  before(async () => {
    ts = await startTestServer({ toml: BASE + '[auth]\nallow_plaintext_loopback = true\n', users: { 'dan@example.org': 'pw' }, quotas: { 'dan@example.org': 3000 } });
  });
  after(() => ts.stop());

  it('computes and stores the MIME summary of a message stored without one; COPY over quota is NO [OVERQUOTA]', async () => {
    const store = ts.server.store;
    const acc = (await store.getAccount('dan@example.org'))!;
    const body = 'From: Eve <eve@x.example>\r\nSubject: no meta\r\n\r\n' + 'z'.repeat(1200) + '\r\n';
    await store.deliver({ content: [Buffer.from(body)], internalDate: new Date(), recipients: [{ accountId: acc.id }] });
    const [m] = await store.listMessages((await store.getMailbox(acc.id, 'INBOX'))!.id);
    assert.equal((await store.getMessageMeta([m!.blobId])).get(m!.blobId) ?? null, null, 'stored without a summary');
    const r = await Raw.open(ts.imapPort);
    await r.cmd('a', 'LOGIN dan@example.org pw');
    await r.cmd('b', 'SELECT INBOX');
    assert.match(await r.cmd('c', 'FETCH 1 (ENVELOPE)'), /ENVELOPE \(NIL "no meta" \(\("Eve" NIL "eve" "x\.example"\)\)/);
    assert.ok((await store.getMessageMeta([m!.blobId])).get(m!.blobId), 'the summary was stored on first FETCH');
    // 1.3 KB used of 3,000 bytes: one copy fits, the second does not.
    assert.match(await r.cmd('d', 'COPY 1 Archive'), /^d OK \[COPYUID/m);
    assert.match(await r.cmd('e', 'COPY 1 Archive'), /^e NO \[OVERQUOTA\]/m);
    assert.match(await r.cmd('f', 'MOVE 1 Trash'), /^f OK/m);
    r.close();
  });
});

describe('IMAP before TLS and at the limits', () => {
  let ts: TestServer;
  before(async () => {
    ts = await startTestServer({ toml: BASE + '[imap]\nlogin_timeout = "2s"\n[limits]\nconnections_per_ip = 3\n', users: { 'alice@example.org': 'pw' } });
  });
  after(() => ts.stop());

  it('LOGINDISABLED before STARTTLS; LOGIN is refused until TLS; plaintext after STARTTLS is dropped', async () => {
    const r = await Raw.open(ts.imapPort);
    const cap = await r.cmd('c1', 'CAPABILITY');
    assert.match(cap, /STARTTLS/);
    assert.match(cap, /LOGINDISABLED/);
    assert.doesNotMatch(cap, /AUTH=PLAIN/);
    assert.match(await r.cmd('c2', 'LOGIN alice@example.org pw'), /^c2 NO \[PRIVACYREQUIRED\]/m);
    // CVE-2011-0411: a command pipelined after STARTTLS must never run under TLS.
    r.write('c3 STARTTLS\r\nc4 LOGIN alice@example.org pw\r\n');
    await r.until(/^c3 OK[^\r]*\r\n/m);
    r.buf = '';
    await r.startTls();
    const cap2 = await r.cmd('c5', 'CAPABILITY');
    assert.doesNotMatch(cap2, /STARTTLS|LOGINDISABLED/);
    assert.match(cap2, /AUTH=PLAIN/);
    assert.doesNotMatch(cap2 + r.buf, /c4 /);
    assert.match(await r.cmd('c6', 'LOGIN alice@example.org pw'), /^c6 OK/m);
    r.close();
  });

  it('closes a session that does not log in within imap.login_timeout with BYE', async () => {
    const r = await Raw.open(ts.imapPort);
    assert.match(await r.until(/^\* BYE [^\r]*\r\n/m, 8000), /Autologout/);
    r.close();
  });

  it('refuses connections over the per-IP limit with BYE', async () => {
    const held = [await Raw.open(ts.imapPort), await Raw.open(ts.imapPort), await Raw.open(ts.imapPort)];
    const s = net.connect(ts.imapPort, '127.0.0.1');
    let got = '';
    s.on('data', (d) => (got += d.toString()));
    await new Promise((r) => s.on('close', r));
    assert.match(got, /^\* BYE Too many connections/);
    for (const h of held) h.close();
  });
});
