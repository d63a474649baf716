// The server's TLS wiring from the outside: startServer loads the [tls]
// certificates before anything else (a bad one stops the start with a message
// naming its key; submissions without a certificate cannot start), and
// `mailroom serve` re-reads the files on SIGHUP — logging success or the
// error, and never exiting on a failed reload.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import fs from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { parseConfig } from '../../src/config/load.ts';
import { silentLogger } from '../../src/log/logger.ts';
import { startServer } from '../../src/server/server.ts';
import { makeLeafCert, makeTestCa } from '../helpers/certs.ts';
import type { TestCert } from '../helpers/certs.ts';
import { startChildServer, writeConfig } from '../helpers/child-server.ts';
import { tempDir } from '../helpers/temp-dir.ts';

async function installPair(dir: string, c: TestCert): Promise<{ cert: string; key: string }> {
  const cert = path.join(dir, 'fullchain.pem');
  const key = path.join(dir, 'privkey.pem');
  await fs.copyFile(c.certPath, cert);
  await fs.copyFile(c.keyPath, key);
  return { cert, key };
}

function tlsToml(files: { cert: string; key: string }): string {
  return `[tls]\ncertificates = [ { cert = ${JSON.stringify(files.cert)}, key = ${JSON.stringify(files.key)} } ]\n`;
}

test('startServer: loads [tls], exposes it, reloadTls swaps the certificate', async (t) => {
  const tmp = await tempDir();
  t.after(tmp.remove);
  const ca = await makeTestCa();
  const one = await makeLeafCert(ca, ['mx.test.example'], { fresh: true });
  const two = await makeLeafCert(ca, ['mx.test.example'], { fresh: true });
  const files = await installPair(tmp.dir, one);
  const config = parseConfig(`hostname = "mx.test.example"\ndata_dir = ${JSON.stringify(path.join(tmp.dir, 'data'))}\n[listen]\nsmtp = "127.0.0.1:0"\n${tlsToml(files)}`, 'test.toml');
  const server = await startServer(config, { logger: silentLogger });
  t.after(() => server.close('test done'));
  assert.ok(server.tls);
  assert.equal(server.tls.certificates()[0].fingerprint256, new X509Certificate(one.cert).fingerprint256);
  await installPair(tmp.dir, two);
  await server.reloadTls();
  assert.equal(server.tls.certificates()[0].fingerprint256, new X509Certificate(two.cert).fingerprint256);
  await fs.writeFile(files.key, 'broken');
  await assert.rejects(server.reloadTls(), /^TlsConfigError: tls\.certificates\[0\]\.key: .*privkey\.pem is not a PEM private key/);
  assert.equal(server.tls.certificates()[0].fingerprint256, new X509Certificate(two.cert).fingerprint256);
});

test('startServer: a certificate that cannot be used stops the start, naming its key', async (t) => {
  const tmp = await tempDir();
  t.after(tmp.remove);
  const base = `hostname = "mx.test.example"\ndata_dir = ${JSON.stringify(path.join(tmp.dir, 'data'))}\n[listen]\nsmtp = "127.0.0.1:0"\n`;
  const missing = parseConfig(base + tlsToml({ cert: path.join(tmp.dir, 'nope.pem'), key: path.join(tmp.dir, 'nope.key') }), 'test.toml');
  await assert.rejects(startServer(missing, { logger: silentLogger }), { message: `tls.certificates[0].cert: file not found: ${path.join(tmp.dir, 'nope.pem')}` });
  // Nothing was opened: no data directory, no listener.
  await assert.rejects(fs.stat(path.join(tmp.dir, 'data')), { code: 'ENOENT' });

  const off = parseConfig(base + 'submissions = "127.0.0.1:0"\n[tls]\nself_signed = false\n', 'test.toml');
  await assert.rejects(startServer(off, { logger: silentLogger }), /^TlsConfigError: listener "submissions" on 127\.0\.0\.1:0 needs TLS/);
});

test('startServer with no certificate configured: a self-signed one in <data_dir>/tls', async (t) => {
  const tmp = await tempDir();
  t.after(tmp.remove);
  const config = parseConfig(`hostname = "mx.test.example"\ndata_dir = ${JSON.stringify(path.join(tmp.dir, 'data'))}\n[listen]\nsmtp = "127.0.0.1:0"\n`, 'test.toml');
  const server = await startServer(config, { logger: silentLogger });
  t.after(() => server.close('test done'));
  assert.deepEqual(server.tls?.certificates()[0].names, ['mx.test.example']);
  assert.equal(server.tls?.certificates()[0].certFile, path.join(tmp.dir, 'data', 'tls', 'selfsigned-cert.pem'));
});

function waitForLog(stderr: string[], from: number, msg: RegExp, timeoutMs = 10_000): Promise<Record<string, unknown>> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const poll = () => {
      for (const line of stderr.slice(from)) {
        try {
          const rec = JSON.parse(line) as Record<string, unknown>;
          if (msg.test(String(rec.msg))) return resolve(rec);
        } catch {
          /* not JSON */
        }
      }
      if (Date.now() > deadline) return reject(new Error(`no log line matching ${msg}:\n${stderr.join('\n')}`));
      setTimeout(poll, 20);
    };
    poll();
  });
}

function greeting(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('data', (d) => {
      resolve(d.toString());
      s.destroy();
    });
    s.once('error', reject);
  });
}

test('mailroom serve: SIGHUP reloads the certificates; a failed reload is logged and the server keeps running', async (t) => {
  const tmp = await tempDir();
  t.after(tmp.remove);
  const ca = await makeTestCa();
  const one = await makeLeafCert(ca, ['mx.test.example'], { fresh: true });
  const two = await makeLeafCert(ca, ['mx.test.example'], { fresh: true });
  const files = await installPair(tmp.dir, one);
  const child = await startChildServer(await writeConfig(tmp.dir, tlsToml(files)));
  t.after(() => {
    child.proc.kill('SIGKILL');
  });
  const loaded = await waitForLog(child.stderr, 0, /^TLS certificate loaded$/);
  assert.equal(loaded.cert, files.cert);

  await installPair(tmp.dir, two);
  let mark = child.stderr.length;
  child.proc.kill('SIGHUP');
  await waitForLog(child.stderr, mark, /^TLS certificates reloaded$/);

  await fs.writeFile(files.cert, 'not a certificate');
  mark = child.stderr.length;
  child.proc.kill('SIGHUP');
  const failed = await waitForLog(child.stderr, mark, /^TLS reload failed/);
  assert.equal(failed.level, 'error');
  assert.match(String(failed.error), /^tls\.certificates\[0\]\.cert: no PEM certificate .*fullchain\.pem$/);
  assert.match(await greeting(child.port), /^220 /);

  child.proc.kill('SIGTERM');
  assert.equal(await child.exited, 0);
});
