// End-to-end: inbound sender authentication through the real server, a raw
// SMTP client and the test DNS server. SPF pass/fail recorded in
// Authentication-Results (authserv-id = our hostname), a forged
// Authentication-Results with our id removed, a DMARC p=reject forgery refused
// 550 5.7.1, p=quarantine in Junk, DKIM (Ed25519) aligned pass overriding an
// SPF fail, and a DNS timeout on the DMARC record deferred with 451 4.7.1.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { generateKeyPairSync } from 'node:crypto';
import { RawSmtp } from '../helpers/smtp-client.ts';
import { inbox, startTestServer, type TestServer } from '../helpers/server.ts';
import { startDnsServer, type DnsServer } from '../helpers/dns-server.ts';

const require = createRequire(import.meta.url);
const { dkimSign } = require('mailauth/lib/dkim/sign') as { dkimSign: (m: Buffer, o: Record<string, unknown>) => Promise<{ signatures: string }> };

const ed = generateKeyPairSync('ed25519');
// RFC 8463 §4: the key record's p= is the raw 32-byte public key, base64.
const edPublic = (ed.publicKey.export({ format: 'der', type: 'spki' }) as Buffer).subarray(12).toString('base64');

function message(from: string, extra = ''): string {
  return `${extra}From: <${from}>\r\nTo: <alice@example.org>\r\nSubject: test\r\nMessage-ID: <${Math.random()}@x>\r\nDate: Sat, 28 Nov 2026 01:00:00 +0000\r\n\r\nHello.\r\n`;
}

async function send(ts: TestServer, mailFrom: string, body: string, helo = 'client.example'): Promise<{ code: number; text: string }> {
  const c = await RawSmtp.connect(ts.port);
  assert.equal((await c.reply()).code, 220);
  assert.equal((await c.cmd(`EHLO ${helo}`)).code, 250);
  assert.equal((await c.cmd(`MAIL FROM:<${mailFrom}>`)).code, 250);
  assert.equal((await c.cmd('RCPT TO:<alice@example.org>')).code, 250);
  assert.equal((await c.cmd('DATA')).code, 354);
  c.write(body.replace(/^\./gm, '..') + '.\r\n');
  const r = await c.reply(10_000);
  await c.cmd('QUIT').catch(() => {});
  c.close();
  return r;
}

async function folder(ts: TestServer, address: string, name: string): Promise<string[]> {
  const store = ts.server.store;
  const acc = await store.getAccount(address);
  const mb = await store.getMailbox(acc!.id, name);
  const msgs = await store.listMessages(mb!.id);
  return Promise.all(msgs.map(async (m) => (await store.readBlob(m.blobId)).toString('utf8')));
}

function headerOf(msg: string): string {
  return msg.slice(0, msg.indexOf('\r\n\r\n') + 2);
}

describe('inbound sender authentication (SPF, DKIM, DMARC)', () => {
  let dns: DnsServer;
  let ts: TestServer;
  before(async () => {
    dns = await startDnsServer([
      { name: 'spf-pass.example', type: 'TXT', data: 'v=spf1 ip4:127.0.0.1 -all' },
      { name: 'spf-fail.example', type: 'TXT', data: 'v=spf1 ip4:192.0.2.1 -all' },
      { name: 'reject.example', type: 'TXT', data: 'v=spf1 ip4:192.0.2.1 -all' },
      { name: '_dmarc.reject.example', type: 'TXT', data: 'v=DMARC1; p=reject' },
      { name: 'quarantine.example', type: 'TXT', data: 'v=spf1 ip4:192.0.2.1 -all' },
      { name: '_dmarc.quarantine.example', type: 'TXT', data: 'v=DMARC1; p=quarantine' },
      { name: 'signed.example', type: 'TXT', data: 'v=spf1 ip4:192.0.2.1 -all' },
      { name: '_dmarc.signed.example', type: 'TXT', data: 'v=DMARC1; p=reject' },
      { name: 'ed._domainkey.signed.example', type: 'TXT', data: `v=DKIM1; k=ed25519; p=${edPublic}` },
      { name: 'slow.example', type: 'TXT', data: 'v=spf1 ip4:192.0.2.1 -all' },
      { name: '_dmarc.slow.example', type: '*', fault: 'timeout' },
    ]);
    ts = await startTestServer({
      users: { 'alice@example.org': 'pw' },
      toml: `[dns]\nservers = ["${dns.address}"]\ntimeout = "400ms"\n[auth_checks]\nenabled = true\n`,
    });
  });
  after(async () => {
    await ts.stop();
    await dns.close();
  });

  it('records SPF pass in Authentication-Results with our hostname as authserv-id, on top', async () => {
    const r = await send(ts, 'a@spf-pass.example', message('a@spf-pass.example'));
    assert.equal(r.code, 250, r.text);
    const m = (await inbox(ts, 'alice@example.org')).at(-1)!.content;
    assert.match(m, /^Return-Path: <a@spf-pass\.example>\r\nAuthentication-Results: mx\.test\.example;\r\n/);
    assert.match(headerOf(m), /\tspf=pass [^\r]*smtp\.mailfrom=/);
    assert.match(headerOf(m), /Received-SPF: pass/);
    assert.match(headerOf(m), /dmarc=none/);
  });

  it('records SPF fail and still delivers to INBOX (spf_fail_policy = "mark")', async () => {
    const before = (await inbox(ts, 'alice@example.org')).length;
    const r = await send(ts, 'b@spf-fail.example', message('b@spf-fail.example'));
    assert.equal(r.code, 250, r.text);
    const box = await inbox(ts, 'alice@example.org');
    assert.equal(box.length, before + 1);
    assert.match(headerOf(box.at(-1)!.content), /\tspf=fail /);
  });

  it('removes a forged Authentication-Results with our authserv-id and keeps others', async () => {
    const forged = 'Authentication-Results: MX.test.example; dkim=pass header.d=bank.example; dmarc=pass\r\nAuthentication-Results: elsewhere.example; spf=pass\r\n';
    const r = await send(ts, 'a@spf-pass.example', message('a@spf-pass.example', forged));
    assert.equal(r.code, 250, r.text);
    const h = headerOf((await inbox(ts, 'alice@example.org')).at(-1)!.content);
    assert.doesNotMatch(h, /bank\.example/);
    assert.match(h, /Authentication-Results: elsewhere\.example; spf=pass/);
    assert.equal(h.match(/Authentication-Results: mx\.test\.example/gi)?.length, 1);
    assert.ok(ts.logs.some((l) => l.msg === 'header fields removed' && l.count === 1));
  });

  it('refuses a forged From of a p=reject domain with 550 5.7.1 and the reason; the log names DMARC', async () => {
    const before = (await inbox(ts, 'alice@example.org')).length;
    const r = await send(ts, 'ceo@reject.example', message('ceo@reject.example'));
    assert.equal(r.code, 550, r.text);
    assert.match(r.text, /^550 5\.7\.1 .*DMARC policy of reject\.example is reject/);
    assert.equal((await inbox(ts, 'alice@example.org')).length, before);
    const line = ts.logs.findLast((l) => l.msg === 'message rejected') as Record<string, any>;
    assert.equal(line.auth_decision.by, 'dmarc');
    assert.match(line.auth, /dmarc=fail\(p=reject\)/);
  });

  it('delivers a p=quarantine failure to the Junk folder', async () => {
    const inboxBefore = (await inbox(ts, 'alice@example.org')).length;
    const r = await send(ts, 'x@quarantine.example', message('x@quarantine.example'));
    assert.equal(r.code, 250, r.text);
    assert.equal((await inbox(ts, 'alice@example.org')).length, inboxBefore);
    const junk = await folder(ts, 'alice@example.org', 'Junk');
    assert.equal(junk.length, 1);
    assert.match(headerOf(junk[0]), /dmarc=fail/);
    const line = ts.logs.findLast((l) => l.msg === 'message accepted') as Record<string, any>;
    assert.equal(line.auth_decision.by, 'dmarc');
    assert.equal(line.folders[0].folder, 'Junk');
  });

  it('an aligned Ed25519 DKIM signature passes DMARC even when SPF fails', async () => {
    const raw = Buffer.from(message('news@signed.example'));
    const { signatures } = await dkimSign(raw, { canonicalization: 'relaxed/relaxed', signatureData: [{ signingDomain: 'signed.example', selector: 'ed', privateKey: ed.privateKey.export({ format: 'pem', type: 'pkcs8' }), algorithm: 'ed25519-sha256' }] });
    assert.match(signatures, /^DKIM-Signature:/);
    const r = await send(ts, 'news@signed.example', signatures.replace(/\r?\n/g, '\r\n').replace(/\r\n$/, '') + '\r\n' + raw.toString());
    assert.equal(r.code, 250, r.text);
    const h = headerOf((await inbox(ts, 'alice@example.org')).at(-1)!.content);
    assert.match(h, /dkim=pass [^\r]*header\.i=@signed\.example/);
    assert.match(h, /spf=fail/);
    assert.match(h, /dmarc=pass/);
  });

  it('defers with 451 4.7.1 when the DMARC record lookup times out and nothing passed aligned', async () => {
    const r = await send(ts, 'y@slow.example', message('y@slow.example'));
    assert.equal(r.code, 451, r.text);
    assert.match(r.text, /^451 4\.7\.1 /);
  });
});

describe('sender authentication is skipped for trusted networks', () => {
  let dns: DnsServer;
  let ts: TestServer;
  before(async () => {
    dns = await startDnsServer([{ name: 'reject.example', type: 'TXT', data: 'v=spf1 -all' }, { name: '_dmarc.reject.example', type: 'TXT', data: 'v=DMARC1; p=reject' }]);
    ts = await startTestServer({
      users: { 'alice@example.org': 'pw' },
      toml: `[dns]\nservers = ["${dns.address}"]\ntimeout = "400ms"\n[auth_checks]\nenabled = true\n[relay]\ntrusted_networks = ["127.0.0.0/8"]\n`,
    });
  });
  after(async () => {
    await ts.stop();
    await dns.close();
  });

  it('a p=reject From from a trusted network is delivered without checks or Authentication-Results', async () => {
    const r = await send(ts, 'app@reject.example', message('app@reject.example'));
    assert.equal(r.code, 250, r.text);
    assert.doesNotMatch(headerOf((await inbox(ts, 'alice@example.org')).at(-1)!.content), /Authentication-Results/);
    assert.equal(dns.queries.length, 0, 'no DNS question was asked');
  });
});

describe('a trusted ARC forwarder vouches for a DMARC failure (RFC 8617 §7.2)', () => {
  const arcKey = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const arcPublic = (arcKey.publicKey.export({ format: 'der', type: 'spki' }) as Buffer).toString('base64');
  const { sealMessage } = require('mailauth/lib/arc') as { sealMessage: (m: Buffer, o: Record<string, unknown>) => Promise<Buffer> };
  let dns: DnsServer;
  const servers: TestServer[] = [];
  const records = [
    { name: 'reject.example', type: 'TXT' as const, data: 'v=spf1 ip4:192.0.2.1 -all' },
    { name: '_dmarc.reject.example', type: 'TXT' as const, data: 'v=DMARC1; p=reject' },
    { name: 'lists.example.org', type: 'TXT' as const, data: 'v=spf1 ip4:127.0.0.1 -all' },
    // RFC 1035 §3.3.14: a character-string is at most 255 octets; a 2048-bit key record needs several.
    { name: 'arc._domainkey.lists.example.org', type: 'TXT' as const, data: `v=DKIM1; k=rsa; p=${arcPublic}`.match(/.{1,200}/g)! },
  ];
  before(async () => {
    dns = await startDnsServer(records);
  });
  after(async () => {
    for (const s of servers) await s.stop();
    await dns.close();
  });

  async function server(trusted: string): Promise<TestServer> {
    const ts = await startTestServer({
      users: { 'alice@example.org': 'pw' },
      toml: `[dns]\nservers = ["${dns.address}"]\ntimeout = "400ms"\n[auth_checks]\nenabled = true\ntrusted_arc_forwarders = [${trusted}]\n`,
    });
    servers.push(ts);
    return ts;
  }

  /** A list post from ceo@reject.example, re-sent by lists.example.org with an ARC set on top. */
  async function forwarded(): Promise<string> {
    const raw = Buffer.from(message('ceo@reject.example', 'List-Id: <team.lists.example.org>\r\n'));
    const seal = await sealMessage(raw, {
      signingDomain: 'lists.example.org',
      selector: 'arc',
      privateKey: arcKey.privateKey.export({ format: 'pem', type: 'pkcs8' }),
      authResults: 'lists.example.org; spf=pass smtp.mailfrom=ceo@reject.example; dmarc=pass header.from=reject.example',
      cv: 'none',
    });
    return seal.toString().replace(/\r?\n/g, '\r\n') + raw.toString();
  }

  it('refused without trust, delivered with lists.example.org trusted; the A-R says why', async () => {
    const plain = await server('');
    const r1 = await send(plain, 'list-bounces@lists.example.org', await forwarded());
    assert.equal(r1.code, 550, r1.text);
    const trusting = await server('"lists.example.org"');
    const r2 = await send(trusting, 'list-bounces@lists.example.org', await forwarded());
    assert.equal(r2.code, 250, r2.text);
    const h = headerOf((await inbox(trusting, 'alice@example.org')).at(-1)!.content);
    assert.match(h, /arc=pass/);
    assert.match(h, /dmarc=fail[^\r]*overridden: ARC sealed by trusted forwarder/);
    const line = trusting.logs.findLast((l) => l.msg === 'message accepted') as Record<string, any>;
    assert.equal(line.auth_decision.by, 'arc');
  });
});
