// Interoperability with a real third-party MTA: Postfix from Debian's
// archive, as a throwaway instance (test/helpers/postfix.ts) on 127.0.0.4
// receiving for p.test into Maildirs and relaying m.test to Mailroom. Mailroom
// serves m.test on 127.0.0.1; the test DNS server gives p.test's MX, and
// `[delivery] port` points Mailroom's queue at Postfix's port. Both offer
// STARTTLS (Mailroom its self-signed certificate, Postfix one made for it), and
// both use it opportunistically, so each direction runs over TLS.
//   Mailroom → Postfix: a submitted message reaches the Maildir with Postfix's
//   Received above ours and exactly one Return-Path (Postfix's, ours stripped);
//   an unknown recipient (550 5.1.1) bounces to the sender's INBOX with
//   Postfix's reply text.
//   Postfix → Mailroom: a message relayed by Postfix lands in bob's INBOX with
//   Postfix's Received; an unknown user gets Mailroom's 550 5.1.1, and Postfix
//   bounces it to its sender with that text.
//   DSN (RFC 3461) both ways: NOTIFY=SUCCESS towards Postfix brings Postfix's
//   delivery report back to the sender's INBOX; NOTIFY=SUCCESS relayed by
//   Postfix to us brings our notice back, through our queue, to its Maildir.
// Skipped, with the reason, where Postfix is not installed or we are not root.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { RawSmtp } from '../helpers/smtp-client.ts';
import { inbox, startTestServer, type TestServer } from '../helpers/server.ts';
import { startDnsServer, type DnsServer } from '../helpers/dns-server.ts';
import { postfixUnavailable, startPostfix, type PostfixInstance } from '../helpers/postfix.ts';

const b64 = (s: string) => Buffer.from(s).toString('base64');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor<T>(what: string, f: () => Promise<T | null | undefined | false>, ms = 20000, more = () => ''): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${more()}`);
    await sleep(50);
  }
}

/** A port on 127.0.0.1 nobody listens on right now (Mailroom binds it next; Postfix's transport names it first). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/** Header block of a message (before the first empty line), CRLF or LF. */
function headerBlock(content: string): string {
  const m = /\r?\n\r?\n/.exec(content);
  return m ? content.slice(0, m.index) : content;
}

const skip = postfixUnavailable();
if (skip) process.stderr.write(`postfix-interop: skipped: ${skip}\n`);

describe('interoperability with Postfix', { skip: skip ?? false }, () => {
  let dns: DnsServer;
  let pf: PostfixInstance;
  let mr: TestServer;

  before(async () => {
    dns = await startDnsServer([]);
    const mrPort = await freePort();
    pf = await startPostfix({
      address: '127.0.0.4',
      hostname: 'mx.p.test',
      mailboxes: ['user@p.test', 'sender@p.test'],
      relay: { 'm.test': `127.0.0.1:${mrPort}` },
      tls: true,
    });
    dns.set([
      { name: 'p.test', type: 'MX', data: { preference: 10, exchange: 'mx.p.test' } },
      { name: 'mx.p.test', type: 'A', data: '127.0.0.4' },
    ]);
    mr = await startTestServer({
      domains: ['m.test'],
      users: { 'alice@m.test': 'alice-pw', 'bob@m.test': 'bob-pw' },
      toml:
        `[listen]\nsmtp = "127.0.0.1:${mrPort}"\nsubmission = "127.0.0.1:0"\n[auth]\nallow_plaintext_loopback = true\n` +
        `[dns]\nservers = ["${dns.address}"]\ntimeout = "1s"\n` +
        `[delivery]\nport = ${pf.port}\n[queue]\nretry_schedule = "1s"\nconnect_timeout = "2s"\n`,
    });
  });
  after(async () => {
    await mr?.stop();
    await pf?.stop();
    await dns?.close();
  });

  const postfixLog = () => `\n--- Postfix log ---\n${pf.log()}`;
  /** Postfix logs through postlogd, a moment after the fact. */
  const logLine = (re: RegExp) => waitFor(`Postfix log line ${re}`, async () => re.test(pf.log()), 10000, postfixLog);

  async function submit(rcpt: string, subject: string, body = 'Hello from Mailroom.\r\n', rcptParams = ''): Promise<void> {
    const c = await RawSmtp.connect(mr.server.ports.submission!);
    try {
      await c.reply();
      await c.cmd('EHLO app.m.test');
      assert.match((await c.cmd(`AUTH PLAIN ${b64('\0alice@m.test\0alice-pw')}`)).text, /^235/);
      assert.equal((await c.cmd('MAIL FROM:<alice@m.test> BODY=8BITMIME')).code, 250);
      assert.equal((await c.cmd(`RCPT TO:<${rcpt}>${rcptParams}`)).code, 250);
      assert.equal((await c.cmd('DATA')).code, 354);
      c.write(`From: alice@m.test\r\nTo: ${rcpt}\r\nSubject: ${subject}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n${body}.\r\n`);
      assert.equal((await c.reply()).code, 250);
    } finally {
      c.close();
    }
  }

  /** Sends through Postfix's smtpd, as any client in its mynetworks would. */
  async function viaPostfix(from: string, rcpt: string, subject: string, rcptParams = ''): Promise<void> {
    const c = await RawSmtp.connect(pf.port, pf.address);
    try {
      assert.equal((await c.reply()).code, 220);
      await c.cmd('EHLO client.p.test');
      assert.equal((await c.cmd(`MAIL FROM:<${from}>`)).code, 250);
      const r = await c.cmd(`RCPT TO:<${rcpt}>${rcptParams}`);
      assert.equal(r.code, 250, r.text);
      assert.equal((await c.cmd('DATA')).code, 354);
      c.write(`From: ${from}\r\nTo: ${rcpt}\r\nSubject: ${subject}\r\nDate: Fri, 27 Nov 2026 12:00:00 +0000\r\nMessage-ID: <${Date.now()}.${Math.random()}@p.test>\r\n\r\nHello from Postfix.\r\n..leading dot\r\n.\r\n`);
      const end = await c.reply();
      assert.equal(end.code, 250, end.text);
      await c.cmd('QUIT');
    } finally {
      c.close();
    }
  }

  it('Mailroom → Postfix: a submitted message reaches the Maildir with one Return-Path and both Received fields', async () => {
    await submit('user@p.test', 'to postfix', 'Hello from Mailroom.\r\n..a line that begins with a dot\r\nnaïve 8-bit text\r\n');
    const got = await pf.waitForMail('user@p.test', (m) => m.content.includes('Subject: to postfix'), 20000);
    const head = headerBlock(got.content);
    // Postfix's virtual(8) adds the Return-Path at final delivery; ours never left Mailroom.
    assert.equal((head.match(/^Return-Path:/gim) ?? []).length, 1, head);
    assert.match(got.content, /^Return-Path: <alice@m\.test>\n/);
    assert.match(head, /^Delivered-To: user@p\.test$/m);
    // Postfix's Received (with its TLS note) comes above ours.
    const theirs = head.search(/^Received: from mx\.test\.example \(unknown \[127\.0\.0\.1\]\)\n\t\(using TLSv1\.[23] with cipher \S+ [^\n]*\n(\s[^\n]*\n)*?\tby mx\.p\.test \(Postfix\) with ESMTPS id \w+\n\tfor <user@p\.test>;/m);
    const ours = head.search(/^Received: from app\.m\.test \(\[127\.0\.0\.1\]\)\n\tby mx\.test\.example \(Mailroom\) with ESMTPA id /m);
    assert.ok(theirs >= 0, `Postfix's Received:\n${head}`);
    assert.ok(ours > theirs, `our submission Received below Postfix's:\n${head}`);
    assert.equal((head.match(/^Received:/gm) ?? []).length, 2, head);
    // Submission fix-ups went with it; the body came through dot-stuffing and 8-bit intact.
    assert.match(head, /^Date: /m);
    assert.match(head, /^Message-ID: </im);
    assert.ok(got.content.endsWith('\n\nHello from Mailroom.\n.a line that begins with a dot\nnaïve 8-bit text\n'), JSON.stringify(got.content.slice(-120)));
    const attempt = mr.logs.find((l) => l.msg === 'delivery attempt' && l.rcpt === 'user@p.test');
    assert.equal(attempt?.result, 'delivered');
    assert.match(String(attempt?.tls), /^TLSv1\.[23]$/);
    await logLine(/Anonymous TLS connection established from unknown\[127\.0\.0\.1\]: TLSv1\.[23]/);
  });

  it('Mailroom → Postfix: an unknown recipient bounces to the sender with Postfix’s 550 5.1.1 text', async () => {
    await submit('nobody@p.test', 'to nobody at postfix');
    const bounce = await waitFor(
      'a bounce in alice’s INBOX',
      async () => (await inbox(mr, 'alice@m.test')).find((m) => m.content.includes('Subject: to nobody at postfix') && /multipart\/report/i.test(m.content)),
      20000,
      postfixLog,
    );
    assert.match(bounce.content, /^Return-Path: <>\r\n/);
    assert.match(bounce.content, /Status: 5\.1\.1/);
    assert.match(bounce.content, /Remote-MTA: dns; ?mx\.p\.test/i);
    assert.match(bounce.content, /Diagnostic-Code: smtp; ?550[ -]5\.1\.1 <nobody@p\.test>: Recipient address rejected:(\r\n\s+)? ?User unknown in virtual mailbox table/);
    await logLine(/NOQUEUE: reject: RCPT from unknown\[127\.0\.0\.1\]: 550 5\.1\.1 <nobody@p\.test>/);
    assert.equal((await pf.maildir('nobody@p.test')).length, 0);
  });

  it('Postfix → Mailroom: a relayed message lands in bob’s INBOX with Postfix’s Received', async () => {
    await viaPostfix('sender@p.test', 'bob@m.test', 'from postfix');
    const got = await waitFor(
      'delivery to bob',
      async () => (await inbox(mr, 'bob@m.test')).find((m) => m.content.includes('Subject: from postfix')),
      20000,
      postfixLog,
    );
    const head = headerBlock(got.content);
    assert.equal((head.match(/^Return-Path:/gim) ?? []).length, 1, head);
    assert.match(got.content, /^Return-Path: <sender@p\.test>\r\n/);
    // Ours: Postfix connected as mx.p.test over STARTTLS (ESMTPS, with the TLS parameters).
    const ours = head.search(/^Received: from mx\.p\.test \(\[127\.0\.0\.1\]\)\r\n\tby mx\.test\.example \(Mailroom\) with ESMTPS id \S+\r\n\t\(version=TLSv1\.[23] cipher=\S+ bits=\d+\)\r\n\tfor <bob@m\.test>;/m);
    // Postfix's, from the test client, below ours.
    const theirs = head.search(/^Received: from client\.p\.test \(unknown \[127\.0\.0\.1\]\)\r\n\tby mx\.p\.test \(Postfix\) with ESMTP id \w+\r\n\tfor <bob@m\.test>;/m);
    assert.ok(ours >= 0, `our Received:\n${head}`);
    assert.ok(theirs > ours, `Postfix's Received below ours:\n${head}`);
    assert.ok(got.content.endsWith('\r\n\r\nHello from Postfix.\r\n.leading dot\r\n'), JSON.stringify(got.content.slice(-80)));
    await logLine(/(Anonymous|Untrusted) TLS connection established to 127\.0\.0\.1\[127\.0\.0\.1\]:\d+: TLSv1\.[23]/);
    await logLine(/to=<bob@m\.test>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:\d+, .*status=sent \(250 /);
  });

  it('Postfix → Mailroom: an unknown user gets our 550 5.1.1, and Postfix bounces it to its sender', async () => {
    await viaPostfix('sender@p.test', 'ghost@m.test', 'to a ghost via postfix');
    const bounce = await pf.waitForMail('sender@p.test', (m) => /Subject: Undelivered Mail Returned to Sender/.test(m.content), 20000);
    assert.match(bounce.content, /^Return-Path: <>$/m);
    assert.match(bounce.content, /Final-Recipient: rfc822; ?ghost@m\.test/);
    assert.match(bounce.content, /Status: 5\.1\.1/);
    assert.match(bounce.content, /Remote-MTA: dns; ?\[?127\.0\.0\.1\]?/);
    assert.match(bounce.content, /Diagnostic-Code: smtp; ?550 5\.1\.1 No such user here/);
    assert.match(bounce.content, /Subject: to a ghost via postfix/);
    await logLine(/to=<ghost@m\.test>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:\d+, .*status=bounced \(host 127\.0\.0\.1\[127\.0\.0\.1\] said: 550 5\.1\.1 No such user here/);
  });

  it('DSN: NOTIFY=SUCCESS to Postfix comes back as Postfix’s delivery report in the sender’s INBOX', async () => {
    await submit('user@p.test', 'dsn to postfix', 'Please confirm.\r\n', ' NOTIFY=SUCCESS ORCPT=rfc822;user@p.test');
    await pf.waitForMail('user@p.test', (m) => m.content.includes('Subject: dsn to postfix'), 20000);
    // Postfix has DSN, so it was handed NOTIFY=SUCCESS and reports the delivery itself (RFC 3461 §4.2), through its transport to us.
    const report = await waitFor(
      'Postfix’s success report in alice’s INBOX',
      async () => (await inbox(mr, 'alice@m.test')).find((m) => /Subject: Successful Mail Delivery Report/.test(m.content) && m.content.includes('dsn to postfix')),
      20000,
      postfixLog,
    );
    assert.match(report.content, /^Return-Path: <>\r\n/);
    assert.match(report.content, /Reporting-MTA: dns; ?mx\.p\.test/);
    assert.match(report.content, /Original-Recipient: rfc822; ?user@p\.test/);
    assert.match(report.content, /Action: delivered/);
    assert.match(report.content, /Status: 2\.0\.0/);
    await logLine(/: sender delivery status notification: \w+/);
  });

  it('DSN: NOTIFY=SUCCESS through Postfix to us comes back as our delivery notice in the sender’s Maildir', async () => {
    await viaPostfix('sender@p.test', 'bob@m.test', 'dsn via postfix', ' NOTIFY=SUCCESS');
    await waitFor('delivery to bob', async () => (await inbox(mr, 'bob@m.test')).find((m) => m.content.includes('Subject: dsn via postfix')), 20000, postfixLog);
    // Postfix relayed NOTIFY=SUCCESS (we offer DSN); we deliver, then send the notice through our queue to p.test's MX.
    const notice = await pf.waitForMail('sender@p.test', (m) => /multipart\/report/i.test(m.content) && /Action: delivered/.test(m.content) && m.content.includes('dsn via postfix'), 20000);
    assert.match(notice.content, /^Return-Path: <>$/m);
    assert.match(notice.content, /Reporting-MTA: dns; ?mx\.test\.example/);
    assert.match(notice.content, /Final-Recipient: rfc822; ?bob@m\.test/);
    assert.match(notice.content, /Status: 2\.0\.0/);
  });
});
