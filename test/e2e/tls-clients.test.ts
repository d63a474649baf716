// TLS with third-party clients: swaks (STARTTLS + AUTH on submission, implicit
// TLS on submissions, STARTTLS on port 25) and openssl s_client (a TLS 1.0-only
// client is refused; a failed handshake closes only that connection).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import net from 'node:net';
import { RawSmtp } from '../helpers/smtp-client.ts';
import { inbox, startTestServer, type TestServer } from '../helpers/server.ts';
import { makeLeafCert, makeTestCa } from '../helpers/certs.ts';

const haveSwaks = spawnSync('swaks', ['--version']).status === 0;

function run(cmd: string, args: string[], input = ''): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const p = execFile(cmd, args, { timeout: 20000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: stdout + stderr });
    });
    p.stdin?.end(input);
  });
}

describe('TLS with swaks and openssl', () => {
  let ts: TestServer;
  let sub: number;
  let subs: number;
  before(async () => {
    const ca = await makeTestCa();
    const leaf = await makeLeafCert(ca, ['mx.test.example']);
    ts = await startTestServer({
      users: { 'alice@example.org': 'alice-pw', 'bob@example.org': 'bob-pw' },
      toml: `[listen]\nsmtp = "127.0.0.1:0"\nsubmission = "127.0.0.1:0"\nsubmissions = "127.0.0.1:0"\n[tls]\ncertificates = [{ cert = ${JSON.stringify(leaf.certPath)}, key = ${JSON.stringify(leaf.keyPath)} }]\n`,
    });
    sub = ts.server.ports.submission!;
    subs = ts.server.ports.submissions!;
  });
  after(() => ts.stop());

  it('swaks: STARTTLS + AUTH PLAIN on submission', { skip: !haveSwaks && 'swaks not installed' }, async () => {
    const r = await run('swaks', ['--server', `127.0.0.1:${sub}`, '--tls', '--auth', 'PLAIN', '--auth-user', 'alice@example.org', '--auth-password', 'alice-pw', '--from', 'alice@example.org', '--to', 'bob@example.org', '--header', 'Subject: swaks starttls', '--silent', '2']);
    assert.equal(r.code, 0, r.out);
    assert.match((await inbox(ts, 'bob@example.org')).at(-1)!.content, /Subject: swaks starttls/);
  });

  it('swaks: implicit TLS + AUTH LOGIN on submissions', { skip: !haveSwaks && 'swaks not installed' }, async () => {
    const r = await run('swaks', ['--server', `127.0.0.1:${subs}`, '--tlsc', '--auth', 'LOGIN', '--auth-user', 'bob@example.org', '--auth-password', 'bob-pw', '--from', 'bob@example.org', '--to', 'alice@example.org', '--header', 'Subject: swaks smtps', '--silent', '2']);
    assert.equal(r.code, 0, r.out);
    assert.match((await inbox(ts, 'alice@example.org')).at(-1)!.content, /Subject: swaks smtps[\s\S]*/);
  });

  it('swaks: a wrong password is 535 5.7.8', { skip: !haveSwaks && 'swaks not installed' }, async () => {
    const r = await run('swaks', ['--server', `127.0.0.1:${subs}`, '--tlsc', '--auth', 'PLAIN', '--auth-user', 'bob@example.org', '--auth-password', 'nope', '--from', 'bob@example.org', '--to', 'alice@example.org']);
    assert.notEqual(r.code, 0);
    assert.match(r.out, /535 5\.7\.8/);
  });

  it('swaks: STARTTLS on port 25 records ESMTPS', { skip: !haveSwaks && 'swaks not installed' }, async () => {
    const r = await run('swaks', ['--server', `127.0.0.1:${ts.port}`, '--tls', '--from', 'x@remote.example', '--to', 'alice@example.org', '--header', 'Subject: port 25 tls', '--silent', '2']);
    assert.equal(r.code, 0, r.out);
    assert.match((await inbox(ts, 'alice@example.org')).at(-1)!.content, /with ESMTPS id/);
  });

  it('openssl s_client: STARTTLS works, a TLS 1.0-only client is refused', async () => {
    const ok = await run('openssl', ['s_client', '-connect', `127.0.0.1:${sub}`, '-starttls', 'smtp', '-brief'], 'QUIT\n');
    assert.match(ok.out, /Protocol version: TLSv1\.[23]/, ok.out);
    const old = await run('openssl', ['s_client', '-connect', `127.0.0.1:${subs}`, '-tls1', '-brief'], '');
    assert.doesNotMatch(old.out, /Protocol version: TLSv1\b/);
    assert.match(old.out, /(alert|error|unsupported|no protocols)/i);
  });

  it('a failed handshake closes that connection only; the server goes on', async () => {
    const s = net.connect({ port: sub, host: '127.0.0.1' });
    const c = RawSmtp.wrap(s);
    await new Promise((r) => s.once('connect', r));
    await c.reply();
    await c.cmd('EHLO bad.example');
    assert.match((await c.cmd('STARTTLS')).text, /^220/);
    c.write('this is not a TLS ClientHello\r\n\r\n');
    await c.closed(5000);
    const d = await RawSmtp.connect(sub);
    assert.equal((await d.reply()).code, 220);
    d.close();
    assert.ok(ts.logs.some((l) => l.msg === 'TLS handshake failed'));
  });
});
