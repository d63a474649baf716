// End-to-end submission (RFC 6409 / RFC 8314 / RFC 3207 / RFC 4954): mail
// apps upgrade with STARTTLS on the submission port or use implicit TLS on
// submissions, log in, and send only as addresses they own. Real clients:
// Python smtplib (starttls, login, SMTP_SSL) and raw sockets for the exact
// reply codes and the STARTTLS command-injection case (CVE-2011-0411).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import tls from 'node:tls';
import { execFile } from 'node:child_process';
import { RawSmtp } from '../helpers/smtp-client.ts';
import { inbox, startTestServer, type TestServer } from '../helpers/server.ts';
import { makeLeafCert, makeTestCa, type TestCa } from '../helpers/certs.ts';
import { hashCredentials, scramSaltOf } from '../../src/auth/credentials.ts';
import { scramClientFinal, scramClientFirst } from '../../src/auth/sasl/scram-client.ts';

function python(script: string, ...args: (string | number)[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('python3', ['-c', script, ...args.map(String)], { timeout: 20000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${err.message}\n${stderr}`));
      else resolve(stdout.trim());
    });
  });
}

/** Upgrades a RawSmtp connection in place after `220 Ready to start TLS`. */
async function upgrade(c: RawSmtp, ca: TestCa, servername = 'mx.test.example'): Promise<RawSmtp> {
  const secure = tls.connect({ socket: c.socket, ca: ca.cert, servername });
  await new Promise<void>((resolve, reject) => secure.once('secureConnect', resolve).once('error', reject));
  return RawSmtp.wrap(secure);
}

const b64 = (s: string) => Buffer.from(s).toString('base64');

describe('submission', () => {
  let ts: TestServer;
  let ca: TestCa;
  let ports: { submission: number; submissions: number };
  before(async () => {
    ca = await makeTestCa();
    const leaf = await makeLeafCert(ca, ['mx.test.example']);
    ts = await startTestServer({
      users: { 'alice@example.org': 'alice-pw', 'bob@example.org': 'bob-pw' },
      aliases: { 'sales@example.org': ['alice@example.org'] },
      toml: `[listen]\nsmtp = "127.0.0.1:0"\nsubmission = "127.0.0.1:0"\nsubmissions = "127.0.0.1:0"\n[tls]\ncertificates = [{ cert = ${JSON.stringify(leaf.certPath)}, key = ${JSON.stringify(leaf.keyPath)} }]\n[auth]\nmax_failures_per_ip = 4\nslowdown_after = 100\n`,
    });
    ports = { submission: ts.server.ports.submission!, submissions: ts.server.ports.submissions! };
  });
  after(() => ts.stop());

  it('offers STARTTLS but not AUTH before TLS, and refuses AUTH in clear (538 5.7.11)', async () => {
    const c = await RawSmtp.connect(ports.submission);
    await c.reply();
    const e = await c.cmd('EHLO app.example');
    assert.ok(e.lines.some((l) => l.endsWith('STARTTLS')));
    assert.ok(!e.lines.some((l) => /AUTH/.test(l)));
    assert.match((await c.cmd(`AUTH PLAIN ${b64('\0alice@example.org\0alice-pw')}`)).text, /^538 5\.7\.11/);
    assert.match((await c.cmd('MAIL FROM:<alice@example.org>')).text, /^530 5\.7\.0/);
    c.close();
  });

  it('upgrades with STARTTLS, resets the session, then authenticates (235 2.7.0)', async () => {
    const plain = await RawSmtp.connect(ports.submission);
    await plain.reply();
    await plain.cmd('EHLO app.example');
    assert.match((await plain.cmd('STARTTLS')).text, /^220 2\.0\.0/);
    const c = await upgrade(plain, ca);
    assert.match((await c.cmd('MAIL FROM:<alice@example.org>')).text, /^503 5\.5\.1/, 'EHLO required again after TLS');
    const e = await c.cmd('EHLO app.example');
    assert.ok(!e.lines.some((l) => l.endsWith('STARTTLS')), 'STARTTLS not offered inside TLS');
    assert.ok(e.lines.some((l) => /AUTH .*PLAIN/.test(l) && /LOGIN/.test(l) && /SCRAM-SHA-256/.test(l)));
    assert.match((await c.cmd('MAIL FROM:<alice@example.org>')).text, /^530 5\.7\.0/);
    assert.match((await c.cmd(`AUTH PLAIN ${b64('\0alice@example.org\0wrong')}`)).text, /^535 5\.7\.8/);
    assert.match((await c.cmd(`AUTH PLAIN ${b64('\0alice@example.org\0alice-pw')}`)).text, /^235 2\.7\.0/);
    assert.match((await c.cmd('AUTH PLAIN')).text, /^503 5\.5\.1/);
    assert.match((await c.cmd('MAIL FROM:<bob@example.org>')).text, /^553 5\.7\.1 Sender address not owned by user/);
    assert.match((await c.cmd('MAIL FROM:<sales@example.org>')).text, /^250/, 'an alias of the user');
    assert.match((await c.cmd('RCPT TO:<bob@example.org>')).text, /^250/);
    assert.match((await c.cmd('RCPT TO:<friend@remote.example>')).text, /^250/, 'a logged-in user may address other domains (queued)');
    await c.cmd('DATA');
    c.write('From: sales@example.org\r\nTo: bob@example.org\r\nSubject: from submission\r\n\r\nhello\r\n.\r\n');
    assert.equal((await c.reply()).code, 250);
    c.close();
    const msg = (await inbox(ts, 'bob@example.org')).at(-1)!.content;
    assert.match(msg, /with ESMTPSA id \w+\r\n\t\(version=TLSv1\.[23] cipher=\S+ bits=\d+\)/);
    assert.match(msg, /\r\nDate: .+\r\nMessage-ID: <[^>]+@mx\.test\.example>\r\n/, 'Date and Message-ID filled in');
    assert.doesNotMatch(msg, /alice-pw|Authenticated/);
  });

  it('discards plaintext pipelined after STARTTLS (CVE-2011-0411)', async () => {
    const plain = await RawSmtp.connect(ports.submission);
    await plain.reply();
    await plain.cmd('EHLO app.example');
    plain.write('STARTTLS\r\nRSET\r\nMAIL FROM:<injected@evil.example>\r\n');
    assert.match((await plain.reply()).text, /^220 2\.0\.0/);
    const c = await upgrade(plain, ca);
    // Had the injected commands run inside TLS, their replies would be waiting now.
    const e = await c.cmd('EHLO app.example');
    assert.equal(e.code, 250);
    assert.equal(c.pending, '');
    assert.match((await c.cmd('NOOP')).text, /^250/);
    c.close();
    assert.ok(ts.logs.some((l) => l.msg === 'discarded plaintext pipelined after STARTTLS'));
  });

  it('speaks TLS from the first byte on submissions, with AUTH LOGIN', async () => {
    const secure = tls.connect({ port: ports.submissions, host: '127.0.0.1', ca: ca.cert, servername: 'mx.test.example' });
    await new Promise<void>((resolve, reject) => secure.once('secureConnect', resolve).once('error', reject));
    const c = RawSmtp.wrap(secure);
    assert.equal((await c.reply()).code, 220);
    const e = await c.cmd('EHLO app.example');
    assert.ok(!e.lines.some((l) => l.endsWith('STARTTLS')));
    assert.match((await c.cmd('AUTH LOGIN')).text, new RegExp(`^334 ${b64('Username:')}`));
    assert.match((await c.cmd(b64('bob@example.org'))).text, new RegExp(`^334 ${b64('Password:')}`));
    assert.match((await c.cmd(b64('bob-pw'))).text, /^235 2\.7\.0/);
    assert.match((await c.cmd('MAIL FROM:<bob+tag@example.org> AUTH=<>')).text, /^250/);
    c.close();
  });

  it('authenticates with SCRAM-SHA-256, the server-final sent as a 334 (RFC 4954 §4)', async () => {
    const secure = tls.connect({ port: ports.submissions, host: '127.0.0.1', ca: ca.cert, servername: 'mx.test.example' });
    await new Promise<void>((resolve, reject) => secure.once('secureConnect', resolve).once('error', reject));
    const c = RawSmtp.wrap(secure);
    await c.reply();
    await c.cmd('EHLO scram.example');
    const first = scramClientFirst('bob@example.org');
    const sf = await c.cmd(`AUTH SCRAM-SHA-256 ${b64(first.message)}`);
    assert.match(sf.text, /^334 /);
    const serverFirst = Buffer.from(sf.lines[0]!.slice(4), 'base64').toString();
    const final = (await scramClientFinal(first, serverFirst, 'bob-pw'))!;
    const sv = await c.cmd(b64(final.message));
    assert.match(sv.text, /^334 /);
    assert.equal(Buffer.from(sv.lines[0]!.slice(4), 'base64').toString(), final.expectedServerFinal, 'server proved it knows the key');
    assert.match((await c.cmd('')).text, /^235 2\.7\.0/);
    c.close();
  });

  it('cancels an exchange with "*" (501 5.0.0)', async () => {
    const secure = tls.connect({ port: ports.submissions, host: '127.0.0.1', ca: ca.cert, servername: 'mx.test.example' });
    await new Promise<void>((resolve, reject) => secure.once('secureConnect', resolve).once('error', reject));
    const c = RawSmtp.wrap(secure);
    await c.reply();
    await c.cmd('EHLO app.example');
    assert.match((await c.cmd('AUTH LOGIN')).text, /^334/);
    assert.match((await c.cmd('*')).text, /^501 5\.0\.0/);
    assert.match((await c.cmd('AUTH CRAM-MD5')).text, /^504 5\.5\.4/);
    c.close();
  });

  it('accepts an app password until it is revoked', async () => {
    const store = ts.server.store;
    const acc = (await store.getAccount('alice@example.org'))!;
    const app = await hashCredentials('phone-secret-1234', { scramSalt: scramSaltOf(acc.scram, []) });
    await store.addAppPassword(acc.id, 'phone', app.passwordHash, app.scram);
    const login = async () => {
      const secure = tls.connect({ port: ports.submissions, host: '127.0.0.1', ca: ca.cert, servername: 'mx.test.example' });
      await new Promise<void>((resolve, reject) => secure.once('secureConnect', resolve).once('error', reject));
      const c = RawSmtp.wrap(secure);
      await c.reply();
      await c.cmd('EHLO phone.example');
      const r = await c.cmd(`AUTH PLAIN ${b64('\0alice@example.org\0phone-secret-1234')}`);
      c.close();
      return r.text;
    };
    assert.match(await login(), /^235 2\.7\.0/);
    assert.ok(ts.logs.some((l) => l.msg === 'authenticated' && l.app_password === 'phone'));
    await store.removeAppPassword(acc.id, 'phone');
    assert.match(await login(), /^535 5\.7\.8/);
  });

  it('works with Python smtplib: starttls()+login() and SMTP_SSL', async () => {
    const out = await python(
      `
import smtplib, ssl, sys
ctx = ssl.create_default_context(cadata=sys.argv[3])
ctx.check_hostname = False  # we connect to 127.0.0.1; the chain is still verified against the test CA
with smtplib.SMTP('127.0.0.1', int(sys.argv[1]), local_hostname='py.example') as s:
    s.starttls(context=ctx)
    s.login('alice@example.org', 'alice-pw')
    r1 = s.sendmail('alice@example.org', ['bob@example.org'], b'Subject: via starttls\\r\\n\\r\\nbody\\r\\n')
with smtplib.SMTP_SSL('127.0.0.1', int(sys.argv[2]), context=ctx, local_hostname='py.example') as s:
    s.login('bob@example.org', 'bob-pw')
    r2 = s.sendmail('bob@example.org', ['alice@example.org'], b'Subject: via smtps\\r\\n\\r\\nbody\\r\\n')
print(r1, r2)
`,
      ports.submission,
      ports.submissions,
      ca.cert,
    );
    assert.equal(out, '{} {}');
  });

  it('throttles a password-guessing loop and then disconnects with 421 4.7.0', async () => {
    const secure = tls.connect({ port: ports.submissions, host: '127.0.0.1', ca: ca.cert, servername: 'mx.test.example' });
    await new Promise<void>((resolve, reject) => secure.once('secureConnect', resolve).once('error', reject));
    const c = RawSmtp.wrap(secure);
    await c.reply();
    await c.cmd('EHLO guesser.example');
    const codes: number[] = [];
    for (let i = 0; i < 10 && !c.ended; i++) {
      c.write(`AUTH PLAIN ${b64(`\0bob@example.org\0guess${i}`)}\r\n`);
      try {
        codes.push((await c.reply()).code);
      } catch {
        break;
      }
    }
    assert.ok(codes.includes(535), `some failures first: ${codes}`);
    assert.equal(codes.at(-1), 421, `then 421: ${codes}`);
    assert.ok(ts.logs.some((l) => l.msg === 'auth throttled'));
  });

  it('port 25 offers no AUTH and accepts no remote recipients', async () => {
    const c = await RawSmtp.connect(ts.port);
    await c.reply();
    const e = await c.cmd('EHLO stranger.example');
    assert.ok(e.lines.some((l) => l.endsWith('STARTTLS')));
    assert.ok(!e.lines.some((l) => /AUTH/.test(l)));
    await c.cmd('MAIL FROM:<x@remote.example>');
    assert.match((await c.cmd('RCPT TO:<y@remote.example>')).text, /^554 5\.7\.1/);
    c.close();
  });
});
