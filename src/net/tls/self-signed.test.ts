// Tests for the self-signed certificate made when none is configured: made
// once with the openssl program (key 0600), reused, remade for a new
// hostname or a bad pair, verified by a real client, logged at warn level;
// and TLS off (an error logged) when openssl is missing.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import fs from 'node:fs/promises';
import net from 'node:net';
import tls from 'node:tls';
import { defaultConfig } from '../../config/load.ts';
import { createLogger } from '../../log/logger.ts';
import { tempDir } from '../../../test/helpers/temp-dir.ts';
import { TlsContexts, checkTlsForListeners } from './contexts.ts';
import type { TlsConfigInput } from './contexts.ts';
import { SELF_SIGNED_DAYS, ensureSelfSigned, selfSignedPaths } from './self-signed.ts';
import { upgradeToTls } from './starttls.ts';

function config(hostname: string): TlsConfigInput {
  return { hostname, tls: { ...defaultConfig().tls, certificates: [], self_signed: true } };
}

function capture() {
  const logs: Record<string, unknown>[] = [];
  const logger = createLogger({ level: 'debug', write: (l) => void logs.push(JSON.parse(l)) });
  return { logs, logger };
}

test('first start makes a self-signed certificate for hostname; later starts reuse it', async (t) => {
  const tmp = await tempDir();
  t.after(tmp.remove);
  const { logs, logger } = capture();
  const contexts = await TlsContexts.load(config('mail.example.org'), tmp.dir, logger);
  assert.ok(contexts);
  const paths = selfSignedPaths(tmp.dir);
  assert.equal(paths.cert, `${tmp.dir}/tls/selfsigned-cert.pem`);
  assert.equal(paths.key, `${tmp.dir}/tls/selfsigned-key.pem`);
  assert.equal((await fs.stat(paths.key)).mode & 0o777, 0o600);
  assert.equal((await fs.stat(`${tmp.dir}/tls`)).mode & 0o777, 0o700);
  assert.deepEqual(await fs.readdir(`${tmp.dir}/tls`), ['selfsigned-cert.pem', 'selfsigned-key.pem']); // no temporary files left

  const pem = await fs.readFile(paths.cert, 'utf8');
  const x = new X509Certificate(pem);
  assert.equal(x.subjectAltName, 'DNS:mail.example.org');
  assert.equal(x.subject, 'CN=mail.example.org');
  assert.equal(x.ca, false);
  const days = (Date.parse(x.validTo) - Date.parse(x.validFrom)) / 86_400_000;
  assert.equal(Math.round(days), SELF_SIGNED_DAYS);
  assert.equal(x.publicKey.asymmetricKeyType, 'ec');
  assert.deepEqual(contexts.certificates()[0].names, ['mail.example.org']);
  assert.equal(contexts.certificates()[0].source, 'self-signed certificate');

  const warn = logs.find((l) => l.level === 'warn');
  assert.ok(warn, 'a warning is logged');
  assert.match(String(warn.msg), /self-signed TLS certificate.*tls\.certificates/);
  assert.equal(warn.cert, paths.cert);
  assert.equal(warn.key, paths.key);

  // A client that trusts this certificate verifies it, name included.
  const server = net.createServer((raw) => {
    upgradeToTls(raw, contexts, { handshakeTimeoutMs: 5000 }).then((s) => s.end('hello'), () => {});
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => server.close());
  const got = await new Promise<string>((resolve, reject) => {
    const c = tls.connect({ port: (server.address() as net.AddressInfo).port, host: '127.0.0.1', servername: 'mail.example.org', ca: pem }, () => {
      c.setEncoding('utf8');
      let text = '';
      c.on('data', (d) => (text += d));
      c.on('end', () => resolve(text));
    });
    c.on('error', reject);
  });
  assert.equal(got, 'hello');

  // Second start: the same files, not remade.
  const again = capture();
  const contexts2 = await TlsContexts.load(config('mail.example.org'), tmp.dir, again.logger);
  assert.equal(contexts2?.certificates()[0].fingerprint256, x.fingerprint256);
  assert.equal(await fs.readFile(paths.cert, 'utf8'), pem);
  assert.ok(!again.logs.some((l) => /making a new/.test(String(l.msg))));
  assert.ok(again.logs.some((l) => l.level === 'warn' && /self-signed/.test(String(l.msg))), 'the warning is repeated on every start');
});

test('the self-signed certificate is remade when hostname changes or the pair is broken', async (t) => {
  const tmp = await tempDir();
  t.after(tmp.remove);
  const paths = selfSignedPaths(tmp.dir);
  const { logger } = capture();
  await ensureSelfSigned(tmp.dir, 'mail.example.org', logger);
  const first = new X509Certificate(await fs.readFile(paths.cert));

  const c = capture();
  const files = await ensureSelfSigned(tmp.dir, 'mx.example.net', c.logger);
  assert.deepEqual(files, paths);
  const second = new X509Certificate(await fs.readFile(paths.cert));
  assert.equal(second.subjectAltName, 'DNS:mx.example.net');
  assert.notEqual(second.fingerprint256, first.fingerprint256);
  assert.match(String(c.logs.find((l) => /making a new/.test(String(l.msg)))?.reason), /another host name/);

  // A key that no longer matches (e.g. restored from another backup): remade.
  const other = await tempDir();
  t.after(other.remove);
  await ensureSelfSigned(other.dir, 'mx.example.net', logger);
  await fs.copyFile(selfSignedPaths(other.dir).key, paths.key);
  const d = capture();
  await ensureSelfSigned(tmp.dir, 'mx.example.net', d.logger);
  assert.match(String(d.logs.find((l) => /making a new/.test(String(l.msg)))?.reason), /key does not match/);
  const third = new X509Certificate(await fs.readFile(paths.cert));
  assert.ok(third.checkPrivateKey((await import('node:crypto')).createPrivateKey(await fs.readFile(paths.key))));

  // Garbage in the certificate file: remade.
  await fs.writeFile(paths.cert, 'junk');
  const e = capture();
  await ensureSelfSigned(tmp.dir, 'mx.example.net', e.logger);
  assert.match(String(e.logs.find((l) => /making a new/.test(String(l.msg)))?.reason), /not a valid certificate/);
  new X509Certificate(await fs.readFile(paths.cert));
});

test('the self-signed certificate is remade when it is about to expire', async (t) => {
  const tmp = await tempDir();
  t.after(tmp.remove);
  const { logger } = capture();
  await ensureSelfSigned(tmp.dir, 'mail.example.org', logger);
  const first = new X509Certificate(await fs.readFile(selfSignedPaths(tmp.dir).cert));
  const later = new Date(Date.parse(first.validTo) - 10 * 86_400_000);
  const c = capture();
  await ensureSelfSigned(tmp.dir, 'mail.example.org', c.logger, { now: () => later });
  assert.match(String(c.logs.find((l) => /making a new/.test(String(l.msg)))?.reason), /expires soon/);
});

test('reload re-reads the self-signed pair (and remakes it if it was deleted)', async (t) => {
  const tmp = await tempDir();
  t.after(tmp.remove);
  const contexts = await TlsContexts.load(config('mail.example.org'), tmp.dir, capture().logger);
  assert.ok(contexts);
  const before = contexts.certificates()[0].fingerprint256;
  await contexts.reload();
  assert.equal(contexts.certificates()[0].fingerprint256, before);
  await fs.rm(selfSignedPaths(tmp.dir).cert);
  await contexts.reload();
  assert.notEqual(contexts.certificates()[0].fingerprint256, before);
});

test('without the openssl program: TLS is off, an error says why, and submissions cannot start', async (t) => {
  const tmp = await tempDir();
  t.after(tmp.remove);
  const { logs, logger } = capture();
  const contexts = await TlsContexts.load(config('mail.example.org'), tmp.dir, logger, { openssl: '/nonexistent/openssl' });
  assert.equal(contexts, null);
  const err = logs.find((l) => l.level === 'error');
  assert.ok(err);
  assert.match(String(err.msg), /TLS is off: .*openssl program.*was not found.*tls\.certificates/);
  assert.ok(!logs.some((l) => l.level === 'warn' && /using a self-signed/.test(String(l.msg))));
  assert.deepEqual(await fs.readdir(`${tmp.dir}/tls`), []);
  assert.throws(() => checkTlsForListeners({ submissions: { host: '', port: 465 } }, contexts), /listener "submissions" on :465 needs TLS/);
});
