// Tests for TlsContexts with real TLS handshakes over loopback: loading and
// its key-naming errors, SNI choice (exact, wildcard, default), reload that
// changes new handshakes only, the TLS 1.2 floor (RFC 8996, RFC 9325 §3.1.1)
// checked with Node and the openssl program, and the Received description.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import fs from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import tls from 'node:tls';
import { defaultConfig } from '../../config/load.ts';
import type { TlsCertificateFiles } from '../../config/types.ts';
import { createLogger } from '../../log/logger.ts';
import { makeLeafCert, makeSelfSignedCert, makeTestCa } from '../../../test/helpers/certs.ts';
import type { TestCa, TestCert } from '../../../test/helpers/certs.ts';
import { tempDir } from '../../../test/helpers/temp-dir.ts';
import { TlsConfigError, TlsContexts, checkTlsForListeners, cipherBits, certificateNames, formatTlsComment } from './contexts.ts';
import type { TlsConfigInput } from './contexts.ts';
import { upgradeToTls } from './starttls.ts';

const DEFAULT_CIPHERS = defaultConfig().tls.ciphers;

function config(certificates: TlsCertificateFiles[], tlsOver: Partial<TlsConfigInput['tls']> = {}): TlsConfigInput {
  return { hostname: 'mail.example.org', tls: { certificates, min_version: 'TLSv1.2', ciphers: DEFAULT_CIPHERS, self_signed: false, ...tlsOver } };
}

function files(...certs: TestCert[]): TlsCertificateFiles[] {
  return certs.map((c) => ({ cert: c.certPath, key: c.keyPath }));
}

function capture() {
  const logs: Record<string, unknown>[] = [];
  const logger = createLogger({ level: 'debug', write: (l) => void logs.push(JSON.parse(l)) });
  return { logs, logger };
}

function fingerprint(c: TestCert): string {
  return new X509Certificate(c.cert).fingerprint256;
}

async function load(cfg: TlsConfigInput, dataDir = '/nonexistent'): Promise<TlsContexts> {
  const c = await TlsContexts.load(cfg, dataDir, capture().logger);
  assert.ok(c, 'TLS should be on');
  return c;
}

/** A TLS echo server: tls.createServer (+ attach) or net + upgradeToTls per connection. */
async function echoServer(contexts: TlsContexts, kind: 'tls.Server' | 'upgrade' = 'upgrade'): Promise<{ port: number; close: () => Promise<void> }> {
  const sockets = new Set<net.Socket>();
  let server: net.Server;
  const echo = (s: tls.TLSSocket) => {
    s.on('error', () => {});
    s.on('data', (d) => s.write(d));
  };
  if (kind === 'tls.Server') {
    const ts = tls.createServer(contexts.serverOptions(), echo);
    ts.on('tlsClientError', () => {});
    contexts.attach(ts);
    server = ts;
  } else {
    server = net.createServer((raw) => {
      upgradeToTls(raw, contexts, { handshakeTimeoutMs: 5000 }).then(echo, () => {});
    });
  }
  server.on('connection', (s: net.Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

interface Connected {
  socket: tls.TLSSocket;
  fingerprint: string;
}

function connect(port: number, o: tls.ConnectionOptions): Promise<Connected> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ port, host: '127.0.0.1', ...o }, () => {
      resolve({ socket, fingerprint: socket.getPeerX509Certificate()!.fingerprint256 });
    });
    socket.once('error', reject);
  });
}

async function peerFor(port: number, ca: TestCa, servername: string | undefined): Promise<string> {
  const c = await connect(port, {
    ca: ca.cert,
    ...(servername ? { servername } : {}),
    // the chain is verified; the name is checked by the test itself
    checkServerIdentity: () => undefined,
  });
  c.socket.destroy();
  return c.fingerprint;
}

function roundTrip(s: tls.TLSSocket, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    s.once('data', (d) => resolve(d.toString()));
    s.once('error', reject);
    s.write(text);
  });
}

test('load: reads the pairs, names what each covers, logs them', async () => {
  const ca = await makeTestCa();
  const a = await makeLeafCert(ca, ['mail.example.org', 'MX.example.org']);
  const b = await makeLeafCert(ca, ['*.example.net']);
  const { logs, logger } = capture();
  const contexts = await TlsContexts.load(config(files(a, b)), '/nonexistent', logger);
  assert.ok(contexts);
  const certs = contexts.certificates();
  assert.deepEqual(
    certs.map((c) => [c.source, c.names]),
    [
      ['tls.certificates[0]', ['mail.example.org', 'mx.example.org']],
      ['tls.certificates[1]', ['*.example.net']],
    ],
  );
  assert.equal(certs[0].certFile, a.certPath);
  assert.ok(certs[0].notAfter.getTime() > Date.now());
  const loaded = logs.filter((l) => l.msg === 'TLS certificate loaded');
  assert.equal(loaded.length, 2);
  assert.equal(loaded[0].cert, a.certPath);
  assert.equal(logs.filter((l) => l.level === 'warn').length, 0, JSON.stringify(logs));
});

test('load: a missing file is an error naming the key and the file', async () => {
  const ca = await makeTestCa();
  const a = await makeLeafCert(ca, ['mail.example.org']);
  await assert.rejects(TlsContexts.load(config([...files(a), { cert: a.certPath, key: '/nonexistent/key.pem' }]), '/x', capture().logger), {
    name: 'TlsConfigError',
    message: 'tls.certificates[1].key: file not found: /nonexistent/key.pem',
  });
  await assert.rejects(TlsContexts.load(config([{ cert: '/nonexistent/cert.pem', key: a.keyPath }]), '/x', capture().logger), {
    message: 'tls.certificates[0].cert: file not found: /nonexistent/cert.pem',
  });
});

test('load: a key that does not belong to the certificate is refused', async () => {
  const ca = await makeTestCa();
  const a = await makeLeafCert(ca, ['mail.example.org']);
  const b = await makeLeafCert(ca, ['other.example.org']);
  await assert.rejects(TlsContexts.load(config([{ cert: a.certPath, key: b.keyPath }]), '/x', capture().logger), (err: unknown) => {
    assert.ok(err instanceof TlsConfigError);
    assert.equal(err.message, `tls.certificates[0].key: the private key in ${b.keyPath} does not match the certificate in ${a.certPath} (CN=mail.example.org)`);
    return true;
  });
});

test('load: files that are not PEM, or a key given as the certificate, are refused by key name', async (t) => {
  const tmp = await tempDir();
  t.after(tmp.remove);
  const ca = await makeTestCa();
  const a = await makeLeafCert(ca, ['mail.example.org']);
  const junk = path.join(tmp.dir, 'junk.pem');
  await fs.writeFile(junk, 'not a certificate\n');
  await assert.rejects(TlsContexts.load(config([{ cert: junk, key: a.keyPath }]), '/x', capture().logger), {
    message: `tls.certificates[0].cert: no PEM certificate ("-----BEGIN CERTIFICATE-----") in ${junk}`,
  });
  await assert.rejects(TlsContexts.load(config([{ cert: a.keyPath, key: a.keyPath }]), '/x', capture().logger), /^TlsConfigError: tls\.certificates\[0\]\.cert: no PEM certificate/);
  await assert.rejects(TlsContexts.load(config([{ cert: a.certPath, key: junk }]), '/x', capture().logger), /^TlsConfigError: tls\.certificates\[0\]\.key: .*junk\.pem is not a PEM private key/);
  await assert.rejects(TlsContexts.load(config([{ cert: tmp.dir, key: a.keyPath }]), '/x', capture().logger), {
    message: `tls.certificates[0].cert: is a directory, not a file: ${tmp.dir}`,
  });
});

test('load: a chain out of order or without intermediates loads with a warning', async (t) => {
  const tmp = await tempDir();
  t.after(tmp.remove);
  const ca = await makeTestCa();
  const a = await makeLeafCert(ca, ['mail.example.org']);
  const reversed = path.join(tmp.dir, 'reversed.pem');
  await fs.writeFile(reversed, ca.cert + a.cert);
  const leafOnly = path.join(tmp.dir, 'leaf.pem');
  await fs.writeFile(leafOnly, a.cert);
  const { logs, logger } = capture();
  const contexts = await TlsContexts.load(config([{ cert: leafOnly, key: a.keyPath }]), '/x', logger);
  assert.ok(contexts);
  assert.match(String(logs.find((l) => l.level === 'warn')?.msg), /no intermediates/);
  // reversed: the first block is the CA, whose key is not a.key
  await assert.rejects(TlsContexts.load(config([{ cert: reversed, key: a.keyPath }]), '/x', capture().logger), /does not match the certificate/);
  const wrongOrder = path.join(tmp.dir, 'wrong-order.pem');
  const other = await makeSelfSignedCert(['unrelated.example']);
  await fs.writeFile(wrongOrder, a.cert + other.cert);
  const c2 = capture();
  await TlsContexts.load(config([{ cert: wrongOrder, key: a.keyPath }]), '/x', c2.logger);
  assert.match(String(c2.logs.find((l) => l.level === 'warn')?.msg), /out of order/);
});

test('load: a warning when no certificate covers hostname', async () => {
  const ca = await makeTestCa();
  const b = await makeLeafCert(ca, ['*.example.net']);
  const { logs, logger } = capture();
  await TlsContexts.load(config(files(b)), '/x', logger);
  assert.ok(logs.some((l) => l.level === 'warn' && /no TLS certificate covers hostname/.test(String(l.msg)) && l.hostname === 'mail.example.org'));
});

test('no certificate and self_signed = false: TLS is off, and implicit-TLS listeners cannot start', async () => {
  const { logs, logger } = capture();
  const contexts = await TlsContexts.load(config([]), '/x', logger);
  assert.equal(contexts, null);
  assert.ok(logs.some((l) => l.level === 'warn' && /TLS is off/.test(String(l.msg))));
  checkTlsForListeners({ smtp: { host: '', port: 25 }, submission: { host: '', port: 587 } }, null);
  assert.throws(() => checkTlsForListeners({ smtp: { host: '', port: 25 }, submissions: { host: '0.0.0.0', port: 465 } }, null), {
    name: 'TlsConfigError',
    message: /^listener "submissions" on 0\.0\.0\.0:465 needs TLS \(implicit TLS, RFC 8314\) but no certificate is available: set tls\.certificates/,
  });
});

test('SNI: exact name, then a one-label wildcard, then the first certificate', async (t) => {
  const ca = await makeTestCa();
  const def = await makeLeafCert(ca, ['mail.example.org', 'mx.example.org']);
  const wild = await makeLeafCert(ca, ['*.example.net']);
  const exact = await makeLeafCert(ca, ['imap.example.net']);
  const contexts = await load(config(files(def, wild, exact)));
  for (const kind of ['upgrade', 'tls.Server'] as const) {
    const srv = await echoServer(contexts, kind);
    t.after(srv.close);
    const cases: [string | undefined, TestCert][] = [
      ['mx.example.org', def],
      ['MAIL.Example.ORG', def],
      ['imap.example.net', exact], // exact beats the wildcard listed before it
      ['smtp.example.net', wild],
      ['a.b.example.net', def], // "*" is one label only
      ['example.net', def],
      ['unknown.test', def],
      [undefined, def], // no SNI
    ];
    for (const [name, want] of cases) {
      assert.equal(await peerFor(srv.port, ca, name), fingerprint(want), `${kind}: servername ${name}`);
      assert.equal(contexts.certificateFor(name).fingerprint256, fingerprint(want));
    }
    // A strict client (name checked too) succeeds with the name the certificate covers.
    const strict = await connect(srv.port, { ca: ca.cert, servername: 'smtp.example.net' });
    assert.equal(await roundTrip(strict.socket, 'ping'), 'ping');
    strict.socket.destroy();
  }
});

test('reload: new handshakes get the new certificate, an open session keeps working', async (t) => {
  const tmp = await tempDir();
  t.after(tmp.remove);
  const ca = await makeTestCa();
  const one = await makeLeafCert(ca, ['mail.example.org'], { fresh: true });
  const two = await makeLeafCert(ca, ['mail.example.org'], { fresh: true });
  const certFile = path.join(tmp.dir, 'fullchain.pem');
  const keyFile = path.join(tmp.dir, 'privkey.pem');
  const install = async (c: TestCert) => {
    await fs.copyFile(c.certPath, certFile);
    await fs.copyFile(c.keyPath, keyFile);
  };
  await install(one);
  const contexts = await load(config([{ cert: certFile, key: keyFile }]));
  for (const kind of ['upgrade', 'tls.Server'] as const) {
    await install(one);
    await contexts.reload();
    const srv = await echoServer(contexts, kind);
    t.after(srv.close);
    const before = await connect(srv.port, { ca: ca.cert, servername: 'mail.example.org' });
    assert.equal(before.fingerprint, fingerprint(one));

    await install(two);
    await contexts.reload();
    assert.equal(await peerFor(srv.port, ca, 'mail.example.org'), fingerprint(two), `${kind}: SNI client after reload`);
    assert.equal(await peerFor(srv.port, ca, undefined), fingerprint(two), `${kind}: no-SNI client after reload`);
    assert.equal(await roundTrip(before.socket, 'still here'), 'still here');

    // A broken file: reload fails naming it; the contexts in use stay.
    await fs.writeFile(keyFile, 'garbage');
    await assert.rejects(contexts.reload(), { name: 'TlsConfigError', message: new RegExp(`^tls\\.certificates\\[0\\]\\.key: ${keyFile.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is not a PEM private key`) });
    await fs.copyFile(one.keyPath, keyFile); // now a mismatched pair (cert two, key one)
    await assert.rejects(contexts.reload(), /tls\.certificates\[0\]\.key: the private key .* does not match/);
    await fs.rm(certFile);
    await assert.rejects(contexts.reload(), { message: `tls.certificates[0].cert: file not found: ${certFile}` });
    assert.equal(await peerFor(srv.port, ca, 'mail.example.org'), fingerprint(two));
    assert.equal(await peerFor(srv.port, ca, undefined), fingerprint(two));
    assert.equal(await roundTrip(before.socket, 'and still'), 'and still');
    before.socket.destroy();
  }
});

test('reload: overlapping calls run in turn and the last one wins', async (t) => {
  const tmp = await tempDir();
  t.after(tmp.remove);
  const ca = await makeTestCa();
  const one = await makeLeafCert(ca, ['mail.example.org']);
  const certFile = path.join(tmp.dir, 'c.pem');
  const keyFile = path.join(tmp.dir, 'k.pem');
  await fs.copyFile(one.certPath, certFile);
  await fs.copyFile(one.keyPath, keyFile);
  const contexts = await load(config([{ cert: certFile, key: keyFile }]));
  await Promise.all([contexts.reload(), contexts.reload(), contexts.reload()]);
  assert.equal(contexts.certificates()[0].fingerprint256, fingerprint(one));
});

/** A client that would speak TLS 1.0/1.1 if the server let it (SECLEVEL=0
 * lifts the client's own OpenSSL 3 refusal, so only the server can say no). */
const OLD_CLIENT: tls.ConnectionOptions = { minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0', rejectUnauthorized: false };

test('min_version: TLS 1.0/1.1 clients fail the handshake (RFC 8996); TLS 1.2 and 1.3 work', async (t) => {
  const ca = await makeTestCa();
  const a = await makeLeafCert(ca, ['mail.example.org']);

  // Control: the same client does get TLS 1.x from a server that allows it.
  const legacy = tls.createServer({ cert: a.cert, key: a.key, minVersion: 'TLSv1', ciphers: 'DEFAULT@SECLEVEL=0' }, (s) => s.end());
  legacy.on('tlsClientError', () => {});
  await new Promise<void>((r) => legacy.listen(0, '127.0.0.1', r));
  t.after(() => legacy.close());
  const control = await connect((legacy.address() as net.AddressInfo).port, OLD_CLIENT);
  assert.match(control.socket.getProtocol() ?? '', /^TLSv1(\.1)?$/);
  control.socket.destroy();

  const contexts = await load(config(files(a)));
  for (const kind of ['upgrade', 'tls.Server'] as const) {
    const srv = await echoServer(contexts, kind);
    t.after(srv.close);
    await assert.rejects(connect(srv.port, OLD_CLIENT), { code: 'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION' }, kind);
    await assert.rejects(connect(srv.port, { ...OLD_CLIENT, minVersion: 'TLSv1', maxVersion: 'TLSv1' }), { code: 'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION' });
    for (const v of ['TLSv1.2', 'TLSv1.3'] as const) {
      const c = await connect(srv.port, { ca: ca.cert, servername: 'mail.example.org', minVersion: v, maxVersion: v });
      assert.equal(c.socket.getProtocol(), v);
      c.socket.destroy();
    }
  }

  const only13 = await load(config(files(a), { min_version: 'TLSv1.3' }));
  const srv = await echoServer(only13);
  t.after(srv.close);
  await assert.rejects(connect(srv.port, { ca: ca.cert, servername: 'mail.example.org', maxVersion: 'TLSv1.2' }), { code: 'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION' });
  const c = await connect(srv.port, { ca: ca.cert, servername: 'mail.example.org' });
  assert.equal(c.socket.getProtocol(), 'TLSv1.3');
  c.socket.destroy();
});

function sClient(port: number, args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const p = spawn('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, '-servername', 'mail.example.org', ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (out += d));
    p.stdin.end();
    const timer = setTimeout(() => p.kill(), 10_000);
    p.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

const sClientHelp = spawnSync('openssl', ['s_client', '-help'], { encoding: 'utf8' });
const hasTls1Flag = /^\s*-tls1\s/m.test((sClientHelp.stdout ?? '') + (sClientHelp.stderr ?? ''));

test('min_version: `openssl s_client -tls1` fails, `-tls1_2` works', { skip: hasTls1Flag ? false : 'the local openssl has no -tls1 flag' }, async (t) => {
  const ca = await makeTestCa();
  const a = await makeLeafCert(ca, ['mail.example.org']);
  const contexts = await load(config(files(a)));
  const srv = await echoServer(contexts);
  t.after(srv.close);

  // Control: can this openssl speak TLS 1.0 at all (to a server that allows it)?
  const legacy = tls.createServer({ cert: a.cert, key: a.key, minVersion: 'TLSv1', ciphers: 'DEFAULT@SECLEVEL=0' }, (s) => s.end());
  legacy.on('tlsClientError', () => {});
  await new Promise<void>((r) => legacy.listen(0, '127.0.0.1', r));
  t.after(() => legacy.close());
  const control = await sClient((legacy.address() as net.AddressInfo).port, ['-tls1', '-cipher', 'DEFAULT@SECLEVEL=0']);
  if (control.code !== 0 || !/Protocol\s*:\s*TLSv1\b/.test(control.out)) {
    t.skip('the local openssl cannot speak TLS 1.0 even to a server that allows it');
    return;
  }

  const old = await sClient(srv.port, ['-tls1', '-cipher', 'DEFAULT@SECLEVEL=0']);
  assert.notEqual(old.code, 0, old.out);
  assert.match(old.out, /alert protocol version/i); // the server said no (alert 70)
  const ok = await sClient(srv.port, ['-tls1_2', '-CAfile', ca.certPath, '-verify_return_error']);
  assert.equal(ok.code, 0, ok.out);
  assert.match(ok.out, /Protocol\s*:\s*TLSv1\.2/);
  assert.match(ok.out, /Cipher\s*:\s*ECDHE-ECDSA-AES128-GCM-SHA256/); // the server's order (RFC 9325 §4.2)
});

test('describe: protocol, cipher and bits for the Received header', async (t) => {
  const ca = await makeTestCa();
  const a = await makeLeafCert(ca, ['mail.example.org']);
  const contexts = await load(config(files(a)));
  const described: ReturnType<TlsContexts['describe']>[] = [];
  const server = net.createServer(async (raw) => {
    const s = await upgradeToTls(raw, contexts, { handshakeTimeoutMs: 5000 });
    described.push(contexts.describe(s));
    s.end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => server.close());
  const port = (server.address() as net.AddressInfo).port;
  const go = async (o: tls.ConnectionOptions) => {
    const c = await connect(port, { ca: ca.cert, servername: 'mail.example.org', ...o });
    await new Promise((r) => c.socket.on('close', r).resume());
  };
  await go({});
  await go({ maxVersion: 'TLSv1.2' });
  await go({ maxVersion: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-CHACHA20-POLY1305' });
  assert.equal(described[0].version, 'TLSv1.3');
  assert.match(described[0].cipher, /^TLS_(AES_256_GCM_SHA384|AES_128_GCM_SHA256|CHACHA20_POLY1305_SHA256)$/);
  assert.deepEqual(described[1], { version: 'TLSv1.2', cipher: 'ECDHE-ECDSA-AES128-GCM-SHA256', bits: 128 });
  assert.deepEqual(described[2], { version: 'TLSv1.2', cipher: 'ECDHE-ECDSA-CHACHA20-POLY1305', bits: 256 });
  assert.equal(formatTlsComment({ version: 'TLSv1.3', cipher: 'TLS_AES_256_GCM_SHA384', bits: 256 }), 'version=TLSv1.3 cipher=TLS_AES_256_GCM_SHA384 bits=256');
});

test('cipherBits and certificateNames', async () => {
  assert.equal(cipherBits('TLS_AES_256_GCM_SHA384'), 256);
  assert.equal(cipherBits('TLS_AES_128_GCM_SHA256'), 128);
  assert.equal(cipherBits('TLS_CHACHA20_POLY1305_SHA256'), 256);
  assert.equal(cipherBits('ECDHE-RSA-AES256-GCM-SHA384'), 256);
  assert.equal(cipherBits('ECDHE-RSA-CAMELLIA128-SHA256'), 128);
  assert.equal(cipherBits('DES-CBC3-SHA'), 112);
  assert.equal(cipherBits('NULL-SHA'), 0);
  const ca = await makeTestCa();
  const a = await makeLeafCert(ca, ['Mail.Example.org', '*.example.net', '127.0.0.1']);
  assert.deepEqual(certificateNames(new X509Certificate(a.cert)), ['mail.example.org', '*.example.net']);
  // The CA has no subjectAltName: its CN stands in.
  assert.deepEqual(certificateNames(new X509Certificate(ca.cert)), ['mailroom test ca']);
});
