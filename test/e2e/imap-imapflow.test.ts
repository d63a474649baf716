// End-to-end with a real IMAP client: imapflow (npm) over STARTTLS against the
// real server, through the mailbox commands (LIST with special-use, CREATE,
// RENAME, DELETE, SUBSCRIBE, STATUS, QUOTA), APPEND, FETCH (envelope,
// bodystructure, sections, source), STORE, SEARCH, COPY, MOVE, EXPUNGE, and
// two sessions on one mailbox: one sees the other's flag changes and
// expunges, and IDLE sees a new SMTP delivery within a second.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ImapFlow } from 'imapflow';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { RawSmtp } from '../helpers/smtp-client.ts';

/** One message over SMTP (port 25 role), like a remote MTA. */
async function sendMail(port: number, m: { from: string; to: string[]; data: string }): Promise<void> {
  const c = await RawSmtp.connect(port);
  await c.reply();
  await c.cmd('EHLO mta.remote.example');
  await c.cmd(`MAIL FROM:<${m.from}>`);
  for (const r of m.to) assert.equal((await c.cmd(`RCPT TO:<${r}>`)).code, 250);
  assert.equal((await c.cmd('DATA')).code, 354);
  assert.equal((await c.cmd(m.data + '.')).code, 250);
  await c.cmd('QUIT');
  c.close();
}

const TOML = '[listen]\nsmtp = "127.0.0.1:0"\nimap = "127.0.0.1:0"\n';

function client(ts: TestServer, user = 'alice@example.org', pass = 'secret-pw', extra: Record<string, unknown> = {}): ImapFlow {
  return new ImapFlow({
    host: '127.0.0.1',
    port: ts.imapPort,
    secure: false,
    doSTARTTLS: true,
    tls: { rejectUnauthorized: false },
    auth: { user, pass },
    logger: false,
    ...extra,
  });
}

const MESSAGE = [
  'From: "Bob Example" <bob@remote.example>',
  'To: alice@example.org',
  'Subject: =?utf-8?q?Caf=C3=A9_menu?=',
  'Date: Tue, 2 Jan 2024 09:30:00 +0100',
  'Message-ID: <menu-1@remote.example>',
  'MIME-Version: 1.0',
  'Content-Type: multipart/mixed; boundary="b1"',
  '',
  'preamble',
  '--b1',
  'Content-Type: text/plain; charset=utf-8',
  'Content-Transfer-Encoding: quoted-printable',
  '',
  'Soupe du jour: lentilles =C3=A0 la cr=C3=A8me',
  '--b1',
  'Content-Type: application/octet-stream; name="menu.bin"',
  'Content-Disposition: attachment; filename="menu.bin"',
  'Content-Transfer-Encoding: base64',
  '',
  'AAECAwQ=',
  '--b1--',
  '',
].join('\r\n');

describe('imapflow against the IMAP server', () => {
  let ts: TestServer;
  before(async () => {
    ts = await startTestServer({ toml: TOML, users: { 'alice@example.org': 'secret-pw', 'bob@example.org': 'pw2' }, quotas: { 'bob@example.org': 10_000 } });
  });
  after(() => ts.stop());

  it('logs in over STARTTLS and lists the mailboxes with special-use attributes', async () => {
    const c = client(ts);
    await c.connect();
    assert.ok(c.secureConnection, 'STARTTLS was used');
    const list = await c.list();
    const byPath = new Map(list.map((m) => [m.path, m]));
    assert.deepEqual([...byPath.keys()].sort(), ['Archive', 'Drafts', 'INBOX', 'Junk', 'Sent', 'Trash']);
    assert.equal(byPath.get('Junk')!.specialUse, '\\Junk');
    assert.equal(byPath.get('Trash')!.specialUse, '\\Trash');
    assert.equal(byPath.get('Sent')!.specialUse, '\\Sent');
    await c.logout();
  });

  it('wrong password: NO [AUTHENTICATIONFAILED]', async () => {
    const c = client(ts, 'alice@example.org', 'wrong');
    await assert.rejects(c.connect(), (err: Error & { authenticationFailed?: boolean; serverResponseCode?: string }) => {
      assert.ok(err.authenticationFailed || /AUTHENTICATIONFAILED/.test(String(err.serverResponseCode ?? err.message)), String(err.message));
      return true;
    });
  });

  it('creates, renames, subscribes, deletes mailboxes; STATUS with SIZE', async () => {
    const c = client(ts);
    await c.connect();
    await c.mailboxCreate(['Projects', 'Café']);
    let paths = (await c.list()).map((m) => m.path);
    assert.ok(paths.includes('Projects'), 'parent created');
    assert.ok(paths.includes('Projects/Café'), 'UTF-8 name');
    await c.mailboxRename('Projects/Café', 'Projects/Bistro');
    await c.mailboxSubscribe('Projects/Bistro');
    const subscribed = await c.list({ statusQuery: { messages: true } });
    assert.ok(subscribed.some((m) => m.path === 'Projects/Bistro' && m.status?.messages === 0));
    await c.mailboxDelete('Projects/Bistro');
    paths = (await c.list()).map((m) => m.path);
    assert.ok(!paths.includes('Projects/Bistro'));
    // NO [ALREADYEXISTS]: imapflow reports it as "not created".
    assert.equal((await c.mailboxCreate('INBOX')).created, false);
    const st = await c.status('INBOX', { messages: true, uidNext: true, unseen: true, size: true, highestModseq: true } as never);
    assert.equal(typeof st.messages, 'number');
    await c.logout();
  });

  it('APPENDs, FETCHes envelope, bodystructure, sections and source byte-exact', async () => {
    const c = client(ts);
    await c.connect();
    const res = await c.append('INBOX', MESSAGE, ['\\Seen', '$Label1'], new Date('2024-01-02T08:30:00Z'));
    assert.ok(res && res.uid, 'APPENDUID');
    const lock = await c.getMailboxLock('INBOX');
    try {
      const msg = await c.fetchOne(String(res.uid), { uid: true, envelope: true, bodyStructure: true, flags: true, size: true, internalDate: true, source: true, headers: ['subject'], bodyParts: ['1', '2'] }, { uid: true });
      assert.ok(msg);
      assert.equal(msg.envelope!.subject, 'Café menu');
      assert.equal(msg.envelope!.from![0]!.address, 'bob@remote.example');
      assert.equal(msg.envelope!.from![0]!.name, 'Bob Example');
      assert.equal(msg.envelope!.messageId, '<menu-1@remote.example>');
      assert.ok(msg.flags!.has('\\Seen') && msg.flags!.has('$Label1'));
      assert.equal(msg.size, Buffer.byteLength(MESSAGE));
      assert.equal(msg.source!.toString(), MESSAGE);
      assert.equal(new Date(msg.internalDate!).toISOString(), '2024-01-02T08:30:00.000Z');
      assert.equal(msg.bodyStructure!.type, 'multipart/mixed');
      const [p1, p2] = msg.bodyStructure!.childNodes!;
      assert.equal(p1!.type, 'text/plain');
      assert.equal(p1!.encoding, 'quoted-printable');
      assert.equal(p2!.disposition, 'attachment');
      assert.equal(p2!.dispositionParameters!.filename, 'menu.bin');
      assert.match(msg.headers!.toString(), /^Subject: =\?utf-8\?q\?Caf=C3=A9_menu\?=\r\n\r\n$/);
      assert.equal(msg.bodyParts!.get('1')!.toString(), 'Soupe du jour: lentilles =C3=A0 la cr=C3=A8me');
      assert.equal(msg.bodyParts!.get('2')!.toString(), 'AAECAwQ=');
      // BINARY (RFC 3516) through imapflow's download: the decoded attachment.
      const dl = await c.download(String(res.uid), '2', { uid: true });
      const chunks: Buffer[] = [];
      for await (const ch of dl.content) chunks.push(ch as Buffer);
      assert.deepEqual(Buffer.concat(chunks), Buffer.from([0, 1, 2, 3, 4]));
    } finally {
      lock.release();
    }
    await c.logout();
  });

  it('STORE, SEARCH (header, body, flags), COPY, MOVE and EXPUNGE', async () => {
    const c = client(ts);
    await c.connect();
    await c.mailboxCreate('Work');
    for (let i = 1; i <= 3; i++) {
      await c.append('Work', `From: a${i}@x.example\r\nSubject: report ${i}\r\n\r\nquarterly numbers ${i === 2 ? 'zebra' : 'plain'}\r\n`, []);
    }
    const lock = await c.getMailboxLock('Work');
    try {
      assert.equal((c.mailbox as { exists: number }).exists, 3);
      await c.messageFlagsAdd('2', ['\\Flagged']);
      assert.deepEqual(await c.search({ flagged: true }), [2]);
      assert.deepEqual(await c.search({ subject: 'report 3' }), [3]);
      assert.deepEqual(await c.search({ body: 'ZEBRA' }), [2]);
      assert.deepEqual(await c.search({ from: 'a1@x.example' }), [1]);
      assert.deepEqual(await c.search({ seen: false }), [1, 2, 3]);
      await c.messageFlagsSet('1', ['\\Seen', 'Important']);
      const f = await c.fetchOne('1', { flags: true });
      assert.ok(f);
      assert.deepEqual([...f.flags!].sort(), ['Important', '\\Seen']);
      await c.messageFlagsRemove('1', ['Important']);
      const copied = await c.messageCopy('1:2', 'Archive');
      assert.ok(copied && copied.uidMap && copied.uidMap.size === 2, 'COPYUID');
      const moved = await c.messageMove('3', 'Trash');
      assert.ok(moved && moved.uidMap && moved.uidMap.size === 1);
      assert.equal((c.mailbox as { exists: number }).exists, 2);
      await c.messageDelete('1');
      assert.equal((c.mailbox as { exists: number }).exists, 1);
      const left = await c.fetchAll('1:*', { envelope: true });
      assert.deepEqual(left.map((m) => m.envelope!.subject), ['report 2']);
    } finally {
      lock.release();
    }
    const archive = await c.status('Archive', { messages: true });
    assert.equal(archive.messages, 2);
    await c.logout();
  });

  it('QUOTA: usage and limit in KiB; APPEND over quota is NO [OVERQUOTA]', async () => {
    const c = client(ts, 'bob@example.org', 'pw2');
    await c.connect();
    const q = await c.getQuota('INBOX');
    assert.ok(q && q.storage, 'a STORAGE quota');
    assert.equal(q.storage.limit, Math.floor(10_000 / 1024) * 1024);
    await assert.rejects(c.append('INBOX', 'Subject: big\r\n\r\n' + 'x'.repeat(20_000) + '\r\n'), (err: { serverResponseCode?: string }) => err.serverResponseCode === 'OVERQUOTA');
    await c.logout();
  });

  it('two sessions: flag changes and expunges by one are seen by the other; IDLE sees an SMTP delivery within a second', async () => {
    const a = client(ts, 'alice@example.org', 'secret-pw', { disableAutoIdle: true });
    const b = client(ts);
    await a.connect();
    await b.connect();
    await b.mailboxCreate('Shared');
    for (let i = 0; i < 3; i++) await b.append('Shared', `Subject: s${i}\r\n\r\nx\r\n`, []);
    await a.mailboxOpen('Shared');
    await b.mailboxOpen('Shared');
    const flagsSeen: Array<{ uid?: number; flags: Set<string> }> = [];
    const expunged: number[] = [];
    const exists: number[] = [];
    a.on('flags', (e) => flagsSeen.push(e as { uid?: number; flags: Set<string> }));
    a.on('expunge', (e) => expunged.push((e as { seq: number }).seq));
    a.on('exists', (e) => exists.push((e as { count: number }).count));
    await b.messageFlagsAdd('2', ['\\Answered']);
    await a.noop();
    assert.ok(flagsSeen.some((e) => e.flags.has('\\Answered')), 'A saw B\'s flag change');
    await b.messageDelete('1');
    await a.noop();
    assert.ok(expunged.length === 1 || (a.mailbox as { exists: number }).exists === 2, 'A saw the expunge');
    assert.equal((a.mailbox as { exists: number }).exists, 2);
    // IDLE: a message delivered by SMTP shows up as EXISTS within a second.
    await a.mailboxOpen('INBOX');
    const before = (a.mailbox as { exists: number }).exists;
    const idling = a.idle();
    await new Promise((r) => setTimeout(r, 100));
    const sentAt = Date.now();
    const arrived = new Promise<number>((resolve) => a.on('exists', (e: { count: number }) => resolve(e.count)));
    await sendMail(ts.port, { from: 'someone@remote.example', to: ['alice@example.org'], data: 'Subject: pushed\r\n\r\nhello\r\n' });
    const count = await arrived;
    assert.equal(count, before + 1);
    assert.ok(Date.now() - sentAt < 1000, `pushed after ${Date.now() - sentAt} ms`);
    await a.noop(); // ends IDLE
    await idling.catch(() => {});
    await a.logout();
    await b.logout();
  });
});
