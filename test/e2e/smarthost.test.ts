// Delivery through a smart host ([delivery] relay): A sends every remote
// recipient to B's submission port instead of looking up MX (elsewhere.test
// has no DNS entry at all), logs in there with relay_username/relay_password,
// and B, which serves elsewhere.test, takes the message. Cases: plaintext
// login from loopback (relay_tls "none"), STARTTLS required against B's
// self-signed certificate ("required-unverified", the test-only mode), and a
// wrong password, which defers (4.7.x) and never bounces.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RawSmtp } from '../helpers/smtp-client.ts';
import { inbox, startTestServer, type TestServer } from '../helpers/server.ts';

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

describe('delivery through a smart host', () => {
  let b: TestServer;
  const started: TestServer[] = [];

  before(async () => {
    b = await startTestServer({
      domains: ['elsewhere.test'],
      users: { 'someone@elsewhere.test': 'pw', 'relay@elsewhere.test': 'relay-pw' },
      // Every A logs in from 127.0.0.1: the wrong-password case must not lock the others out.
      toml:
        `[listen]\nsmtp = "127.0.0.2:0"\nsubmission = "127.0.0.2:0"\n` +
        `[auth]\nallow_plaintext_loopback = true\nmax_failures_per_ip = 1000\nmax_failures_per_account = 1000\nslowdown_after = 1000\n`,
    });
    // The relay account may send as anyone at a.test (as a provider's account would).
    const acc = await b.server.store.getAccount('relay@elsewhere.test');
    await b.server.store.addSenderGrant(acc!.id, '@a.test');
  });
  after(async () => {
    for (const s of started) await s.stop();
    await b?.stop();
  });

  async function startA(delivery: string): Promise<TestServer> {
    const a = await startTestServer({
      domains: ['a.test'],
      users: { 'alice@a.test': 'alice-pw' },
      toml:
        `[listen]\nsmtp = "127.0.0.1:0"\nsubmission = "127.0.0.1:0"\n[auth]\nallow_plaintext_loopback = true\n` +
        `[delivery]\nrelay = "127.0.0.2:${b.server.ports.submission}"\n${delivery}` +
        `[queue]\nretry_schedule = "1h"\nconnect_timeout = "2s"\n`,
    });
    started.push(a);
    return a;
  }

  async function submit(a: TestServer, rcpt: string, subject: string): Promise<void> {
    const c = await RawSmtp.connect(a.server.ports.submission!);
    await c.reply();
    await c.cmd('EHLO app.a.test');
    assert.match((await c.cmd(`AUTH PLAIN ${b64('\0alice@a.test\0alice-pw')}`)).text, /^235/);
    assert.equal((await c.cmd('MAIL FROM:<alice@a.test>')).code, 250);
    assert.equal((await c.cmd(`RCPT TO:<${rcpt}>`)).code, 250);
    await c.cmd('DATA');
    c.write(`From: alice@a.test\r\nTo: ${rcpt}\r\nSubject: ${subject}\r\n\r\nVia the smart host.\r\n.\r\n`);
    assert.equal((await c.reply()).code, 250);
    c.close();
  }

  const arrived = (subject: string) =>
    waitFor(`"${subject}" at B`, async () => (await inbox(b, 'someone@elsewhere.test')).find((m) => m.content.includes(`Subject: ${subject}`)));

  it('logs in (plaintext on loopback) and hands every remote recipient to the relay', async () => {
    const a = await startA(`relay_username = "relay@elsewhere.test"\nrelay_password = "relay-pw"\nrelay_tls = "none"\n`);
    await submit(a, 'someone@elsewhere.test', 'plain relay');
    const got = await arrived('plain relay');
    assert.match(got.content, /^Return-Path: <alice@a\.test>\r\n/);
    const line = await waitFor("A's delivery log line", async () => a.logs.find((l) => l.msg === 'delivery attempt' && l.result === 'delivered'));
    assert.equal(line.host, `127.0.0.2[127.0.0.2]`);
    assert.equal(line.tls, 'no');
    assert.ok(!JSON.stringify(a.logs).includes('relay-pw'), 'the relay password must never be logged');
  });

  it('does STARTTLS (required) before logging in', async () => {
    const a = await startA(`relay_username = "relay@elsewhere.test"\nrelay_password = "relay-pw"\nrelay_tls = "required-unverified"\n`);
    await submit(a, 'someone@elsewhere.test', 'tls relay');
    await arrived('tls relay');
    const line = await waitFor("A's delivery log line", async () => a.logs.find((l) => l.msg === 'delivery attempt' && l.result === 'delivered'));
    assert.match(String(line.tls), /^TLSv1\.[23]$/);
  });

  it('refuses to go on without TLS when it is required and the certificate does not verify', async () => {
    const a = await startA(`relay_username = "relay@elsewhere.test"\nrelay_password = "relay-pw"\nrelay_tls = "required"\n`);
    await submit(a, 'someone@elsewhere.test', 'unverified relay');
    const line = await waitFor('a deferral', async () => a.logs.find((l) => l.msg === 'delivery attempt'));
    assert.equal(line.result, 'deferred');
    assert.equal(line.status, '4.7.5');
  });

  it('defers (4.7.x), never bounces, when the relay refuses the password', async () => {
    const a = await startA(`relay_username = "relay@elsewhere.test"\nrelay_password = "wrong"\nrelay_tls = "none"\n`);
    await submit(a, 'someone@elsewhere.test', 'wrong password');
    const line = await waitFor('a deferral', async () => a.logs.find((l) => l.msg === 'delivery attempt'));
    assert.equal(line.result, 'deferred');
    assert.match(String(line.status), /^4\.7\.\d+$/);
    assert.match(String(line.reply), /535/);
    assert.ok(!JSON.stringify(a.logs).includes('"wrong"'));
    await sleep(300);
    const bounces = (await inbox(a, 'alice@a.test')).filter((m) => /multipart\/report/i.test(m.content));
    assert.equal(bounces.length, 0);
  });
});
