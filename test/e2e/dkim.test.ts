// Outbound DKIM end to end with two instances and the test DNS server:
// A (a.test, 127.0.0.1) has an RSA and an Ed25519 key and publishes SPF,
// DKIM and DMARC; a user of A submits to B (b.test, 127.0.0.2), whose
// inbound checks record dkim=pass spf=pass dmarc=pass. A local delivery on A
// carries the same signatures (checked with mailauth's verifier). Then
// `mailroom check` (the real command, against A's data directory) finds
// a.test correct and names every problem of a broken domain.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateKeyPairSync } from 'node:crypto';
import { dkimVerify } from 'mailauth/lib/dkim/verify.js';
import { RawSmtp } from '../helpers/smtp-client.ts';
import { inbox, startTestServer, type TestServer } from '../helpers/server.ts';
import { startDnsServer, type DnsRecord, type DnsServer } from '../helpers/dns-server.ts';
import { keygen } from '../../src/cli/dkim.ts';
import { dkimRecord, dkimRecordName } from '../../src/policy/dkim-keys.ts';
import type { DkimKey } from '../../src/store/dkim-keys.ts';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
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

describe('DKIM: A signs, B verifies; mailroom check', () => {
  let dns: DnsServer;
  let a: TestServer;
  let b: TestServer;
  let keys: DkimKey[];
  let records: DnsRecord[];

  before(async () => {
    dns = await startDnsServer([]);
    const dnsToml = `[dns]\nservers = ["${dns.address}"]\ntimeout = "2s"\n`;
    b = await startTestServer({ domains: ['b.test'], users: { 'bob@b.test': 'pw' }, toml: `[listen]\nsmtp = "127.0.0.2:0"\n${dnsToml}[auth_checks]\nenabled = true\n` });
    a = await startTestServer({
      domains: ['a.test', 'broken.test', 'other.test'],
      users: { 'alice@a.test': 'alice-pw', 'carol@a.test': 'pw' },
      toml: `[listen]\nsmtp = "127.0.0.1:0"\nsubmission = "127.0.0.1:0"\n[auth]\nallow_plaintext_loopback = true\n${dnsToml}[delivery]\nport = ${b.port}\n[queue]\nretry_schedule = "1s"\n`,
    });
    const now = new Date();
    keys = [await keygen(a.server.store, 'a.test', {}, now), await keygen(a.server.store, 'a.test', { algorithm: 'ed25519-sha256' }, now)];
    const broken = await keygen(a.server.store, 'broken.test', { algorithm: 'ed25519-sha256', selector: 'b1' }, now);
    const other = generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'der' }).subarray(-32).toString('base64');
    // Eleven SPF includes, each costing a look-up: over RFC 7208's limit of 10.
    const includes = Array.from({ length: 11 }, (_, i) => `s${i}.broken.test`);
    records = [
      // a.test: everything right. A's hostname (startTestServer) is mx.test.example.
      { name: 'a.test', type: 'MX', data: { preference: 10, exchange: 'mx.test.example' } },
      { name: 'mx.test.example', type: 'A', data: '127.0.0.1' },
      { name: 'a.test', type: 'TXT', data: 'v=spf1 mx -all' },
      ...keys.map((k): DnsRecord => ({ name: dkimRecordName(k.selector, 'a.test'), type: 'TXT', data: splitTxt(dkimRecord(k.algorithm, k.publicKey)) })),
      { name: '_dmarc.a.test', type: 'TXT', data: 'v=DMARC1; p=reject; rua=mailto:postmaster@a.test' },
      { name: '_mta-sts.a.test', type: 'TXT', data: 'v=STSv1; id=1' },
      { name: '_smtp._tls.a.test', type: 'TXT', data: 'v=TLSRPTv1; rua=mailto:postmaster@a.test' },
      { name: '_submission._tcp.a.test', type: 'SRV', data: { priority: 0, weight: 1, port: a.server.ports.submission!, target: 'mx.test.example' } },
      // b.test
      { name: 'b.test', type: 'MX', data: { preference: 10, exchange: 'mx.b.test' } },
      { name: 'mx.b.test', type: 'A', data: '127.0.0.2' },
      // broken.test: MX elsewhere, SPF over the look-up limit and without us, another key, no DMARC.
      { name: 'broken.test', type: 'MX', data: { preference: 10, exchange: 'mx.elsewhere.example' } },
      { name: 'broken.test', type: 'TXT', data: splitTxt(`v=spf1 ${includes.map((i) => `include:${i}`).join(' ')} -all`) },
      ...includes.map((i): DnsRecord => ({ name: i, type: 'TXT', data: 'v=spf1 ip4:192.0.2.1 -all' })),
      { name: dkimRecordName(broken.selector, 'broken.test'), type: 'TXT', data: dkimRecord('ed25519-sha256', other) },
      // other.test: right MX, an SPF record that leaves us out, no DKIM key at all, an invalid DMARC record.
      { name: 'other.test', type: 'MX', data: { preference: 10, exchange: 'mx.test.example' } },
      { name: 'other.test', type: 'TXT', data: 'v=spf1 ip4:192.0.2.1 -all' },
      { name: '_dmarc.other.test', type: 'TXT', data: 'v=DMARC1; p=bogus' },
    ];
    dns.set(records);
  });
  after(async () => {
    await a?.stop();
    await b?.stop();
    await dns?.close();
  });

  async function submit(to: string, subject: string): Promise<void> {
    const c = await RawSmtp.connect(a.server.ports.submission!);
    await c.reply();
    await c.cmd('EHLO app.a.test');
    assert.match((await c.cmd(`AUTH PLAIN ${b64('\0alice@a.test\0alice-pw')}`)).text, /^235/);
    assert.equal((await c.cmd('MAIL FROM:<alice@a.test>')).code, 250);
    assert.equal((await c.cmd(`RCPT TO:<${to}>`)).code, 250);
    await c.cmd('DATA');
    // No Date or Message-ID: the server adds them (RFC 6409 §8), and they must be signed too.
    c.write(`From: Alice <alice@a.test>\r\nTo: ${to}\r\nSubject: ${subject}\r\n\r\nHello,  signed\tworld.\r\n.\r\n`);
    assert.equal((await c.reply()).code, 250);
    c.close();
  }

  it('a submitted message reaches B with dkim=pass spf=pass dmarc=pass', async () => {
    await submit('bob@b.test', 'signed to b');
    const got = await waitFor('delivery at B', async () => (await inbox(b, 'bob@b.test')).find((m) => m.content.includes('Subject: signed to b')));
    const head = got.content.slice(0, got.content.indexOf('\r\n\r\n'));
    assert.equal((head.match(/^DKIM-Signature:/gm) ?? []).length, 2, head);
    const unfolded = head.replace(/\r\n[ \t]+/g, ' ');
    assert.match(unfolded, /^DKIM-Signature: v=1; a=rsa-sha256; c=relaxed\/relaxed; d=a\.test; s=mr\d{6};/m);
    assert.match(unfolded, /^DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed\/relaxed; d=a\.test; s=mr\d{6}e;/m);
    // The signature covers the Date and Message-ID A added, and oversigns From.
    assert.match(unfolded, /h=from:from:[^;]*date:[^;]*message-id:/);
    const ar = /^Authentication-Results: mx\.test\.example;[^]*?(?=\r\n\S)/m.exec(head)?.[0] ?? '';
    assert.match(ar, /dkim=pass header\.i=@a\.test header\.s=mr\d{6} header\.a=rsa-sha256/, head);
    assert.match(ar, /dkim=pass header\.i=@a\.test header\.s=mr\d{6}e header\.a=ed25519-sha256/, head);
    assert.match(ar, /spf=pass/, head);
    assert.match(ar, /dmarc=pass/, head);
  });

  it('a local delivery on A carries the same signatures, and they verify', async () => {
    await submit('carol@a.test', 'signed locally');
    const got = await waitFor('local delivery', async () => (await inbox(a, 'carol@a.test')).find((m) => m.content.includes('Subject: signed locally')));
    assert.match(got.content, /^Return-Path: <alice@a\.test>\r\nDKIM-Signature: /);
    const resolver = async (name: string, type: string) => {
      const r = records.find((x) => x.name === name && x.type === type && 'data' in x);
      if (!r || !('data' in r)) throw Object.assign(new Error('nx'), { code: 'ENOTFOUND' });
      return [typeof r.data === 'string' ? [r.data] : r.data];
    };
    const v = await dkimVerify(Buffer.from(got.content), { resolver: resolver as never });
    assert.deepEqual(v.results.map((r) => r.status.result), ['pass', 'pass']);
  });

  it('mail from outside (port 25, no login) is never signed, whatever its From says', async () => {
    const c = await RawSmtp.connect(a.port);
    await c.reply();
    await c.cmd('EHLO mx.elsewhere.example');
    assert.equal((await c.cmd('MAIL FROM:<x@elsewhere.example>')).code, 250);
    assert.equal((await c.cmd('RCPT TO:<carol@a.test>')).code, 250);
    await c.cmd('DATA');
    c.write('From: Alice <alice@a.test>\r\nTo: carol@a.test\r\nSubject: forged from outside\r\n\r\nHi.\r\n.\r\n');
    assert.equal((await c.reply()).code, 250);
    c.close();
    const got = await waitFor('delivery', async () => (await inbox(a, 'carol@a.test')).find((m) => m.content.includes('Subject: forged from outside')));
    assert.doesNotMatch(got.content, /^DKIM-Signature:/m);
  });

  /** The real command, run asynchronously: the test DNS server lives in this process. */
  function check(domain: string): Promise<{ code: number | null; out: string; err: string }> {
    const toml = join(a.dataDir, 'check.toml');
    // The server's own listeners, as its configuration file would have them (the SRV checks read them).
    const listen = `[listen]\nsmtp = "127.0.0.1:${a.port}"\nsubmission = "127.0.0.1:${a.server.ports.submission}"\n`;
    writeFileSync(toml, `hostname = "mx.test.example"\ndata_dir = ${JSON.stringify(a.dataDir)}\n${listen}[dns]\nservers = ["${dns.address}"]\ntimeout = "2s"\n`);
    return new Promise((resolve) => {
      execFile(process.execPath, [MAIN, 'check', domain, '--config', toml], { encoding: 'utf8', timeout: 60_000 }, (err, out, errOut) => {
        resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, out, err: errOut });
      });
    });
  }

  it('mailroom check reports a correct domain as correct', async () => {
    const r = await check('a.test');
    assert.equal(r.code, 0, r.out + r.err);
    assert.match(r.out, /^ok +MX +a\.test MX 10 mx\.test\.example$/m);
    assert.match(r.out, /^ok +SPF +"v=spf1 mx -all" lets 127\.0\.0\.1 send \(pass\)$/m);
    assert.equal((r.out.match(/^ok +DKIM +mr\d{6}e?\._domainkey\.a\.test matches key/gm) ?? []).length, 2, r.out);
    assert.match(r.out, /^ok +DMARC +_dmarc\.a\.test v=DMARC1; p=reject/m);
    assert.match(r.out, /^ok +MTA-STS /m);
    assert.match(r.out, /^ok +TLS-RPT /m);
    assert.match(r.out, /^ok +SRV +_submission\._tcp\.a\.test mx\.test\.example:\d+$/m);
    assert.match(r.out, /^ok +SRV +_imaps\._tcp\.a\.test: not offered$/m);
    assert.doesNotMatch(r.out, /^(missing|wrong|error) /m);
    assert.match(r.out, /a\.test: all required records are right/);
  });

  it('mailroom check names every problem of a broken domain, with its fix, and exits 1', async () => {
    const r = await check('broken.test');
    assert.equal(r.code, 1, r.out + r.err);
    assert.match(r.out, /^wrong +MX +broken\.test MX points elsewhere \(10 mx\.elsewhere\.example\), not to mx\.test\.example$/m);
    assert.match(r.out, /^ +fix: broken\.test\.\t3600\tIN\tMX\t10 mx\.test\.example\.$/m);
    assert.match(r.out, /^wrong +SPF +SPF needs 11 DNS look-ups .*allows 10/m);
    assert.match(r.out, /^wrong +SPF +"v=spf1 include:s0\.broken\.test .*" gives permerror for this server's address 127\.0\.0\.1/m);
    assert.match(r.out, /^wrong +DKIM +b1\._domainkey\.broken\.test publishes a different key than the store's b1/m);
    assert.match(r.out, /^missing +DMARC +no DMARC record at _dmarc\.broken\.test/m);
    assert.match(r.out, /^ +fix: _dmarc\.broken\.test\.\t3600\tIN\tTXT\t"v=DMARC1; p=quarantine; rua=mailto:postmaster@broken\.test/m);
    assert.match(r.out, /^missing +MTA-STS .*\(recommended\)/m);
    assert.match(r.out, /^missing +SRV +no SRV record at _submission\._tcp\.broken\.test/m);
    assert.match(r.out, /broken\.test: 5 problems$/m);
  });

  it('mailroom check: SPF that leaves this server out, no DKIM key, an invalid DMARC record', async () => {
    const r = await check('other.test');
    assert.equal(r.code, 1, r.out + r.err);
    assert.match(r.out, /^ok +MX /m);
    assert.match(r.out, /^wrong +SPF +"v=spf1 ip4:192\.0\.2\.1 -all" gives fail for this server's address 127\.0\.0\.1: mail from here fails SPF$/m);
    assert.match(r.out, /^ +fix: other\.test\.\t3600\tIN\tTXT\t"v=spf1 mx ip4:127\.0\.0\.1 -all"$/m);
    assert.match(r.out, /^missing +DKIM +other\.test has no active DKIM key: its mail goes out unsigned$/m);
    assert.match(r.out, /^ +fix: mailroom dkim keygen other\.test$/m);
    assert.match(r.out, /^wrong +DMARC +invalid DMARC record at _dmarc\.other\.test: p=bogus is not none, quarantine or reject$/m);
    assert.match(r.out, /other\.test: 3 problems$/m);
  });
});

/** A TXT record's text as DNS character-strings of at most 255 octets. */
function splitTxt(s: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < s.length; i += 255) out.push(s.slice(i, i + 255));
  return out;
}
