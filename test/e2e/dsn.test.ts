// RFC 3461 DSN end to end between two Mailroom instances on loopback (A
// serves a.test on 127.0.0.1, B serves b.test on 127.0.0.2) and a scripted
// next hop without DSN (nodsn.test on 127.0.0.3), all on one port number so
// that each side's `[delivery] port` reaches the others. A user of A
// submits with NOTIFY/ORCPT/RET/ENVID; we check what each side does with
// them: "delivered" notices for local delivery, the parameters travelling to
// a DSN-capable next hop (and B's own "delivered" notice coming back), a
// "relayed" notice when the next hop has no DSN, "expanded" for an alias,
// no bounce for NOTIFY=NEVER, and ENVID/ORCPT/RET in a bounce. Python's email
// package reads the notices.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { spawn, spawnSync } from 'node:child_process';
import { RawSmtp } from '../helpers/smtp-client.ts';
import { inbox, startTestServer, type TestServer } from '../helpers/server.ts';
import { startDnsServer, type DnsServer } from '../helpers/dns-server.ts';

const b64 = (s: string) => Buffer.from(s).toString('base64');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor<T>(what: string, f: () => Promise<T | null | undefined | false>, ms = 15000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

const havePython = spawnSync('python3', ['-c', 'import email'], { stdio: 'ignore' }).status === 0;

// The notice as Python's email package reads it: subject, part types, delivery-status blocks.
const PY = String.raw`
import sys, json, email, email.policy
msg = email.message_from_bytes(sys.stdin.buffer.read(), policy=email.policy.default)
out = {'type': msg.get_content_type(), 'report_type': msg.get_param('report-type'), 'subject': str(msg['subject']),
       'defects': [], 'parts': [], 'blocks': []}
for p in msg.walk():
    out['defects'] += [type(d).__name__ for d in p.defects]
for p in msg.iter_parts():
    out['parts'].append(p.get_content_type())
    if p.get_content_type() == 'message/delivery-status':
        out['blocks'] = [{k.lower(): str(v) for k, v in b.items()} for b in p.get_payload()]
print(json.dumps(out))
`;

interface ParsedDsn {
  type: string;
  report_type: string;
  subject: string;
  defects: string[];
  parts: string[];
  blocks: Record<string, string>[];
}

function pythonParse(content: string): Promise<ParsedDsn> {
  // Our Return-Path line is trace, not part of the notice.
  const body = Buffer.from(content.replace(/^Return-Path: <>\r\n/, ''), 'utf8');
  return new Promise((resolve, reject) => {
    const child = spawn('python3', ['-c', PY], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(JSON.parse(stdout)) : reject(new Error(`python3 exited ${code}: ${stderr}`))));
    child.stdin.end(body);
  });
}

/** A next hop that does not advertise DSN: accepts everything and records the command lines. */
function noDsnServer(): { server: Server; lines: string[] } {
  const lines: string[] = [];
  const server = createServer((sock: Socket) => {
    let buf = '';
    let inData = false;
    sock.setEncoding('latin1');
    sock.write('220 mx.nodsn.test ESMTP\r\n');
    sock.on('data', (d: string) => {
      buf += d;
      for (;;) {
        if (inData) {
          const end = buf.indexOf('\r\n.\r\n');
          if (end < 0) return;
          buf = buf.slice(end + 5);
          inData = false;
          sock.write('250 2.0.0 accepted\r\n');
          continue;
        }
        const nl = buf.indexOf('\r\n');
        if (nl < 0) return;
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 2);
        lines.push(line);
        const verb = line.slice(0, 4).toUpperCase();
        if (verb === 'EHLO') sock.write('250-mx.nodsn.test\r\n250-PIPELINING\r\n250 8BITMIME\r\n');
        else if (verb === 'DATA') {
          sock.write('354 go ahead\r\n');
          inData = true;
        } else if (verb === 'QUIT') {
          sock.end('221 bye\r\n');
          return;
        } else sock.write('250 2.0.0 ok\r\n');
      }
    });
    sock.on('error', () => {});
  });
  return { server, lines };
}

function listen(server: Server, host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    server.once('error', () => resolve(false));
    server.listen(port, host, () => resolve(true));
  });
}

/** A port number free on 127.0.0.1, .2 and .3 alike (each side's [delivery] port reaches the others). */
async function commonFreePort(): Promise<number> {
  for (let i = 0; i < 20; i++) {
    const probe = createServer();
    await listen(probe, '127.0.0.2', 0);
    const port = (probe.address() as { port: number }).port;
    const others = [createServer(), createServer()];
    const ok = (await listen(others[0]!, '127.0.0.1', port)) && (await listen(others[1]!, '127.0.0.3', port));
    for (const s of [probe, ...others]) if (s.listening) await new Promise((r) => s.close(r));
    if (ok) return port;
  }
  throw new Error('no common free port');
}

describe('RFC 3461 DSN between two instances', () => {
  let dns: DnsServer;
  let a: TestServer;
  let b: TestServer;
  let hop: { server: Server; lines: string[] };

  before(async () => {
    dns = await startDnsServer([
      { name: 'a.test', type: 'MX', data: { preference: 10, exchange: 'mx.a.test' } },
      { name: 'mx.a.test', type: 'A', data: '127.0.0.1' },
      { name: 'b.test', type: 'MX', data: { preference: 10, exchange: 'mx.b.test' } },
      { name: 'mx.b.test', type: 'A', data: '127.0.0.2' },
      { name: 'nodsn.test', type: 'MX', data: { preference: 10, exchange: 'mx.nodsn.test' } },
      { name: 'mx.nodsn.test', type: 'A', data: '127.0.0.3' },
    ]);
    const port = await commonFreePort();
    const queue = `[dns]\nservers = ["${dns.address}"]\ntimeout = "1s"\n[delivery]\nport = ${port}\n[queue]\nretry_schedule = "1s"\nconnect_timeout = "1s"\n`;
    b = await startTestServer({ domains: ['b.test'], users: { 'bob@b.test': 'pw' }, toml: `[listen]\nsmtp = "127.0.0.2:${port}"\n${queue}` });
    a = await startTestServer({
      domains: ['a.test'],
      users: { 'alice@a.test': 'alice-pw', 'carol@a.test': 'pw' },
      aliases: { 'team@a.test': ['carol@a.test', 'bob@b.test'] },
      toml: `[listen]\nsmtp = "127.0.0.1:${port}"\nsubmission = "127.0.0.1:0"\n[auth]\nallow_plaintext_loopback = true\n${queue}`,
    });
    hop = noDsnServer();
    assert.ok(await listen(hop.server, '127.0.0.3', port));
  });
  after(async () => {
    await a?.stop();
    await b?.stop();
    await new Promise((r) => hop?.server.close(r));
    await dns?.close();
  });

  /** Submits as alice; returns the queue id from the 250. */
  async function submit(mailParams: string, rcpts: [string, string][], subject: string): Promise<string> {
    const c = await RawSmtp.connect(a.server.ports.submission!);
    await c.reply();
    await c.cmd('EHLO app.a.test');
    assert.match((await c.cmd(`AUTH PLAIN ${b64('\0alice@a.test\0alice-pw')}`)).text, /^235/);
    assert.match((await c.cmd(`MAIL FROM:<alice@a.test>${mailParams ? ' ' + mailParams : ''}`)).text, /^250/);
    for (const [to, params] of rcpts) assert.match((await c.cmd(`RCPT TO:<${to}>${params ? ' ' + params : ''}`)).text, /^250/);
    await c.cmd('DATA');
    c.write(`From: alice@a.test\r\nTo: ${rcpts.map((r) => r[0]).join(', ')}\r\nSubject: ${subject}\r\n\r\nHello.\r\n.\r\n`);
    const r = await c.reply();
    c.close();
    const id = /queued as (\S+)/.exec(r.text)?.[1];
    assert.ok(r.code === 250 && id, r.text);
    return id;
  }

  const noticeFor = (subject: string, action: string) =>
    waitFor(`a "${action}" notice for "${subject}"`, async () =>
      (await inbox(a, 'alice@a.test')).find((m) => m.content.includes(`Subject: ${subject}`) && /multipart\/report/i.test(m.content) && new RegExp(`^Action: ${action}`, 'm').test(m.content)),
    );
  const noticesSent = (t: TestServer, queue: string) => t.logs.filter((l) => l.msg === 'delivery status notification sent' && l.queue === queue);

  it('advertises DSN and checks the parameters (501 5.5.4; other unknown ones stay 555)', async () => {
    const c = await RawSmtp.connect(a.port);
    await c.reply();
    assert.match((await c.cmd('EHLO client.example')).text, /^250[ -]DSN$/m);
    await c.cmd('MAIL FROM:<x@sender.example> RET=FULL ENVID=abc+2B1');
    await c.cmd('RSET');
    assert.match((await c.cmd('MAIL FROM:<x@sender.example> RET=SOME')).text, /^501 5\.5\.4/);
    assert.match((await c.cmd('MAIL FROM:<x@sender.example> ENVID=a+2b')).text, /^501 5\.5\.4/);
    assert.match((await c.cmd(`MAIL FROM:<x@sender.example> ENVID=${'e'.repeat(101)}`)).text, /^501 5\.5\.4/);
    assert.match((await c.cmd('MAIL FROM:<x@sender.example> RET=HDRS RET=HDRS')).text, /^501 5\.5\.4/);
    assert.match((await c.cmd('MAIL FROM:<x@sender.example> FOO=bar')).text, /^555 5\.5\.4/);
    assert.match((await c.cmd('MAIL FROM:<x@sender.example> RET=HDRS')).text, /^250/);
    assert.match((await c.cmd('RCPT TO:<carol@a.test> NOTIFY=NEVER,SUCCESS')).text, /^501 5\.5\.4/);
    assert.match((await c.cmd('RCPT TO:<carol@a.test> ORCPT=carol@a.test')).text, /^501 5\.5\.4/);
    assert.match((await c.cmd('RCPT TO:<carol@a.test> FOO=bar')).text, /^555 5\.5\.4/);
    assert.match((await c.cmd('RCPT TO:<carol@a.test> ORCPT=utf-8;c\u00e4rol@a.test')).text, /^553 5\.6\.7/); // UTF-8 needs SMTPUTF8
    // RFC 3461 lengthens RCPT lines: a 480-character ORCPT fits, past 512 + 600 octets the line is refused.
    const long = `RCPT TO:<carol@a.test> NOTIFY=SUCCESS,FAILURE,DELAY ORCPT=rfc822;${'c'.repeat(470)}@a.test`;
    assert.ok(long.length > 512);
    assert.match((await c.cmd(long)).text, /^250/);
    assert.match((await c.cmd(`RCPT TO:<carol@a.test> ORCPT=rfc822;${'c'.repeat(1200)}`)).text, /^500 5\.5\.6/);
    assert.match((await c.cmd('NOOP ' + 'z'.repeat(600))).text, /^500 5\.5\.6/);
    await c.cmd('QUIT');
  });

  it('NOTIFY=SUCCESS to a local user: a "delivered" notice in the sender\'s INBOX', { skip: !havePython && 'python3 not available' }, async () => {
    const q = await submit('ENVID=local+2B1', [['carol@a.test', 'NOTIFY=SUCCESS ORCPT=rfc822;Carol+2Bx@a.test']], 'local success');
    await waitFor('delivery to carol', async () => (await inbox(a, 'carol@a.test')).find((m) => m.content.includes('Subject: local success')));
    const notice = await noticeFor('local success', 'delivered');
    const p = await pythonParse(notice.content);
    assert.deepEqual(p.defects, []);
    assert.equal(p.type, 'multipart/report');
    assert.equal(p.report_type, 'delivery-status');
    assert.equal(p.subject, 'Delivery Status Notification (Success)');
    // A success notice returns the headers only.
    assert.deepEqual(p.parts, ['text/plain', 'message/delivery-status', 'text/rfc822-headers']);
    assert.equal(p.blocks[0]!['original-envelope-id'], 'local+1');
    assert.equal(p.blocks[1]!['original-recipient'], 'rfc822; Carol+x@a.test');
    assert.equal(p.blocks[1]!['final-recipient'], 'rfc822; carol@a.test');
    assert.equal(p.blocks[1]!['action'], 'delivered');
    assert.equal(p.blocks[1]!['status'], '2.0.0');
    assert.equal(noticesSent(a, q).length, 1);
  });

  it('NOTIFY=SUCCESS to a DSN-capable next hop: the parameters travel on, B answers, A sends nothing', { skip: !havePython && 'python3 not available' }, async () => {
    const q = await submit('RET=HDRS ENVID=travel+2B1', [['bob@b.test', 'NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;bob+2Bin@b.test']], 'remote success');
    await waitFor('delivery at B', async () => (await inbox(b, 'bob@b.test')).find((m) => m.content.includes('Subject: remote success')));
    // B's transaction log shows what A sent with MAIL and RCPT.
    const accepted = await waitFor('B to log the ENVID', async () => b.logs.find((l) => l.msg === 'message accepted' && l.envid === 'travel+2B1'));
    assert.equal(accepted.ret, 'HDRS');
    assert.deepEqual(accepted.rcpts, [{ to: 'bob@b.test', reply: '250 2.1.5', notify: 'SUCCESS,FAILURE', orcpt: 'rfc822;bob+2Bin@b.test' }]);
    // B, the final MTA, sends the "delivered" notice back to alice through its queue.
    const notice = await noticeFor('remote success', 'delivered');
    const p = await pythonParse(notice.content);
    assert.equal(p.blocks[0]!['original-envelope-id'], 'travel+1');
    assert.equal(p.blocks[1]!['original-recipient'], 'rfc822; bob+in@b.test');
    assert.equal(p.blocks[1]!['final-recipient'], 'rfc822; bob@b.test');
    assert.equal(noticesSent(b, accepted.queue as string).length, 1);
    // A delivered it and left the success notice to B.
    assert.ok(a.logs.some((l) => l.msg === 'delivery attempt' && l.queue === q && l.result === 'delivered'));
    await sleep(300);
    assert.equal(noticesSent(a, q).length, 0);
  });

  it('NOTIFY=SUCCESS to a next hop without DSN: A sends a "relayed" notice', { skip: !havePython && 'python3 not available' }, async () => {
    const q = await submit('ENVID=relay1', [['dave@nodsn.test', 'NOTIFY=SUCCESS ORCPT=rfc822;dave@nodsn.test']], 'relayed onward');
    const notice = await noticeFor('relayed onward', 'relayed');
    const p = await pythonParse(notice.content);
    assert.deepEqual(p.defects, []);
    assert.equal(p.subject, 'Delivery Status Notification (Success)');
    assert.equal(p.blocks[0]!['original-envelope-id'], 'relay1');
    assert.equal(p.blocks[1]!['action'], 'relayed');
    assert.equal(p.blocks[1]!['status'], '2.0.0');
    assert.equal(p.blocks[1]!['remote-mta'], 'dns; mx.nodsn.test');
    assert.equal(p.blocks[1]!['original-recipient'], 'rfc822; dave@nodsn.test');
    assert.deepEqual(noticesSent(a, q).map((l) => l.kind), ['relayed']);
    // Not advertised, so not sent.
    const sent = hop.lines.filter((l) => /dave@nodsn\.test|^MAIL/i.test(l));
    assert.ok(sent.some((l) => /^RCPT TO:<dave@nodsn\.test>$/.test(l)), JSON.stringify(sent));
    assert.ok(!sent.some((l) => /NOTIFY|ORCPT|ENVID|RET=/.test(l)), JSON.stringify(sent));
  });

  it('an alias that expands: an "expanded" notice, and SUCCESS is not passed on', { skip: !havePython && 'python3 not available' }, async () => {
    const q = await submit('', [['team@a.test', 'NOTIFY=SUCCESS,FAILURE']], 'to the team');
    const notice = await noticeFor('to the team', 'expanded');
    const p = await pythonParse(notice.content);
    assert.equal(p.blocks[1]!['final-recipient'], 'rfc822; team@a.test');
    assert.equal(p.blocks[1]!['action'], 'expanded');
    await waitFor('delivery at B', async () => (await inbox(b, 'bob@b.test')).find((m) => m.content.includes('Subject: to the team')));
    const rcptsAtB = () => b.logs.filter((l) => l.msg === 'message accepted').map((l) => (l.rcpts as { to: string; notify?: string }[])[0]);
    await waitFor(`NOTIFY=FAILURE for bob at B: ${JSON.stringify(rcptsAtB())}`, async () => rcptsAtB().some((r) => r?.to === 'bob@b.test' && r.notify === 'FAILURE'));
    assert.equal(noticesSent(a, q).length, 1);
  });

  it('NOTIFY=NEVER to an unknown remote user: no bounce', async () => {
    const q = await submit('', [['nobody@b.test', 'NOTIFY=NEVER']], 'never tell');
    await waitFor('the failed attempt', async () => a.logs.find((l) => l.msg === 'delivery attempt' && l.queue === q && l.result === 'failed'));
    await sleep(500);
    assert.equal(noticesSent(a, q).length, 0);
    assert.ok(!(await inbox(a, 'alice@a.test')).some((m) => m.content.includes('Subject: never tell')));
  });

  it('a bounce carries ENVID and ORCPT (Original-Envelope-Id, Original-Recipient) and the whole message by default', { skip: !havePython && 'python3 not available' }, async () => {
    await submit('ENVID=env+2Bbounce', [['nobody@b.test', 'NOTIFY=FAILURE ORCPT=rfc822;orig+2Bx@b.test']], 'bounce with envid');
    const bounce = await noticeFor('bounce with envid', 'failed');
    const p = await pythonParse(bounce.content);
    assert.deepEqual(p.defects, []);
    assert.equal(p.subject, 'Undelivered Mail Returned to Sender');
    assert.deepEqual(p.parts, ['text/plain', 'message/delivery-status', 'message/rfc822']);
    assert.equal(p.blocks[0]!['original-envelope-id'], 'env+bounce');
    assert.equal(p.blocks[1]!['original-recipient'], 'rfc822; orig+x@b.test');
    assert.equal(p.blocks[1]!['final-recipient'], 'rfc822; nobody@b.test');
    assert.equal(p.blocks[1]!['status'], '5.1.1');
  });

  it('RET=HDRS: the bounce returns the headers only (text/rfc822-headers)', { skip: !havePython && 'python3 not available' }, async () => {
    await submit('RET=HDRS', [['nobody@b.test', '']], 'bounce headers only');
    const bounce = await noticeFor('bounce headers only', 'failed');
    const p = await pythonParse(bounce.content);
    assert.deepEqual(p.defects, []);
    assert.deepEqual(p.parts, ['text/plain', 'message/delivery-status', 'text/rfc822-headers']);
    assert.ok(!bounce.content.includes('Hello.'), 'the body is not returned');
  });
});
