// Tests for upgradeToTls on a real loopback connection: a plaintext command
// ("STARTTLS"), the server's "220", then `tls.connect({ socket })` on the
// client side (RFC 3207 §4). Also the CVE-2011-0411 contract (plaintext sent
// before the handshake never comes out of the TLS session), a ClientHello
// that arrives before the wrap, the handshake deadline, and bad callers.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import tls from 'node:tls';
import { defaultConfig } from '../../config/load.ts';
import { silentLogger } from '../../log/logger.ts';
import { makeLeafCert, makeTestCa } from '../../../test/helpers/certs.ts';
import { TlsContexts } from './contexts.ts';
import { TlsHandshakeError, tlsUpgrader, upgradeToTls } from './starttls.ts';

async function setup() {
  const ca = await makeTestCa();
  const leaf = await makeLeafCert(ca, ['mail.example.org']);
  const contexts = await TlsContexts.load(
    { hostname: 'mail.example.org', tls: { ...defaultConfig().tls, certificates: [{ cert: leaf.certPath, key: leaf.keyPath }] } },
    '/nonexistent',
    silentLogger,
  );
  assert.ok(contexts);
  return { ca, contexts };
}

interface Pair {
  server: net.Socket;
  client: net.Socket;
  close: () => void;
}

/** A connected loopback pair of plain sockets. */
async function pair(): Promise<Pair> {
  const listener = net.createServer();
  await new Promise<void>((r) => listener.listen(0, '127.0.0.1', r));
  const accepted = new Promise<net.Socket>((r) => listener.once('connection', r));
  const client = net.connect((listener.address() as net.AddressInfo).port, '127.0.0.1');
  await new Promise((r) => client.once('connect', r));
  const server = await accepted;
  listener.close();
  return {
    server,
    client,
    close: () => {
      server.destroy();
      client.destroy();
    },
  };
}

/** Reads lines on the plaintext server socket until STARTTLS, the way a
 * session does: then pause, drop the 'data' listener, discard the rest of
 * the buffer, answer 220. Resolves with what was discarded. */
function serveUntilStarttls(server: net.Socket, delay = 0): Promise<{ discarded: string; upgrade: () => Promise<void> }> {
  return new Promise((resolve) => {
    let buf = '';
    const onData = (d: Buffer) => {
      buf += d.toString('latin1');
      const eol = buf.indexOf('\r\n');
      if (eol < 0) return;
      assert.equal(buf.slice(0, eol), 'STARTTLS');
      server.pause();
      server.off('data', onData);
      const discarded = buf.slice(eol + 2);
      buf = '';
      server.write('220 2.0.0 Ready to start TLS\r\n');
      resolve({ discarded, upgrade: () => new Promise((r) => setTimeout(r, delay)) });
    };
    server.on('data', onData);
  });
}

function readLine(s: net.Socket): Promise<string> {
  return new Promise((resolve) => {
    let buf = '';
    const onData = (d: Buffer) => {
      buf += d.toString('latin1');
      const eol = buf.indexOf('\r\n');
      if (eol < 0) return;
      s.off('data', onData);
      s.pause();
      resolve(buf.slice(0, eol));
    };
    s.on('data', onData);
  });
}

function clientTls(socket: net.Socket, ca: string): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const c = tls.connect({ socket, servername: 'mail.example.org', ca }, () => resolve(c));
    c.once('error', reject);
  });
}

function nextData(s: net.Socket): Promise<string> {
  return new Promise((resolve) => s.once('data', (d) => resolve(d.toString())));
}

test('STARTTLS: the plain connection becomes TLS; data flows both ways', async (t) => {
  const { ca, contexts } = await setup();
  const p = await pair();
  t.after(p.close);
  const starttls = serveUntilStarttls(p.server);
  p.client.write('STARTTLS\r\n');
  assert.equal(await readLine(p.client), '220 2.0.0 Ready to start TLS');
  await starttls;
  const [secureServer, secureClient] = await Promise.all([upgradeToTls(p.server, contexts, { handshakeTimeoutMs: 5000 }), clientTls(p.client, ca.cert)]);
  assert.equal(secureClient.authorized, true);
  assert.equal(secureServer.servername, 'mail.example.org');
  assert.equal(contexts.describe(secureServer).version, 'TLSv1.3');

  const atServer = nextData(secureServer);
  secureClient.write('EHLO client.example\r\n');
  assert.equal(await atServer, 'EHLO client.example\r\n');
  const atClient = nextData(secureClient);
  secureServer.write('250 mail.example.org\r\n');
  assert.equal(await atClient, '250 mail.example.org\r\n');
});

test('CVE-2011-0411: plaintext pipelined after STARTTLS is discarded by the caller and never read under TLS', async (t) => {
  const { ca, contexts } = await setup();
  const p = await pair();
  t.after(p.close);
  const starttls = serveUntilStarttls(p.server);
  p.client.write('STARTTLS\r\nRSET\r\nMAIL FROM:<attacker@evil.example>\r\n'); // one segment
  assert.equal(await readLine(p.client), '220 2.0.0 Ready to start TLS');
  const { discarded } = await starttls;
  assert.equal(discarded, 'RSET\r\nMAIL FROM:<attacker@evil.example>\r\n');
  const [secureServer, secureClient] = await Promise.all([upgradeToTls(p.server, contexts, { handshakeTimeoutMs: 5000 }), clientTls(p.client, ca.cert)]);
  const atServer = nextData(secureServer);
  secureClient.write('EHLO client.example\r\n');
  assert.equal(await atServer, 'EHLO client.example\r\n', 'the first bytes read under TLS are the client\'s encrypted ones');
});

test('CVE-2011-0411: plaintext that reaches the socket after the pause fails the handshake instead of being read', async (t) => {
  const { contexts } = await setup();
  const p = await pair();
  t.after(p.close);
  const starttls = serveUntilStarttls(p.server);
  p.client.write('STARTTLS\r\n');
  await readLine(p.client);
  await starttls;
  p.client.write('RSET\r\nMAIL FROM:<attacker@evil.example>\r\n');
  await new Promise((r) => setTimeout(r, 100)); // now in the paused socket's buffer
  assert.ok(p.server.readableLength > 0);
  const appData: string[] = [];
  await assert.rejects(
    upgradeToTls(p.server, contexts, { handshakeTimeoutMs: 5000 }).then((s) => s.on('data', (d) => appData.push(String(d)))),
    (err: unknown) => err instanceof TlsHandshakeError && /TLS handshake failed/.test(err.message),
  );
  assert.deepEqual(appData, []);
  assert.ok(p.server.destroyed);
});

test('a ClientHello that arrives before the wrap is used (no lost bytes, no hang)', async (t) => {
  const { ca, contexts } = await setup();
  const p = await pair();
  t.after(p.close);
  const starttls = serveUntilStarttls(p.server);
  p.client.write('STARTTLS\r\n');
  await readLine(p.client);
  await starttls;
  const clientDone = clientTls(p.client, ca.cert);
  await new Promise((r) => setTimeout(r, 100)); // the ClientHello waits in the paused socket
  assert.ok(p.server.readableLength > 0);
  const [secureServer, secureClient] = await Promise.all([upgradeToTls(p.server, contexts, { handshakeTimeoutMs: 5000 }), clientDone]);
  const atServer = nextData(secureServer);
  secureClient.write('NOOP\r\n');
  assert.equal(await atServer, 'NOOP\r\n');
});

test('implicit TLS: upgrade right after accept (submissions, RFC 8314), through tlsUpgrader', async (t) => {
  const { ca, contexts } = await setup();
  const upgrader = tlsUpgrader(contexts, { handshakeTimeoutMs: 5000 });
  const described: unknown[] = [];
  const server = net.createServer((raw) => {
    upgrader.upgrade(raw).then((s) => {
      described.push(upgrader.describe(s));
      s.end('220 mail.example.org ESMTP\r\n');
    }, () => {});
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => server.close());
  const banner = await new Promise<string>((resolve, reject) => {
    const c = tls.connect({ port: (server.address() as net.AddressInfo).port, host: '127.0.0.1', servername: 'mail.example.org', ca: ca.cert });
    c.once('data', (d) => resolve(d.toString()));
    c.once('error', reject);
  });
  assert.equal(banner, '220 mail.example.org ESMTP\r\n');
  assert.equal((described[0] as { version: string }).version, 'TLSv1.3');
});

test('handshake deadline: a client that never sends a ClientHello is dropped', async (t) => {
  const { contexts } = await setup();
  const p = await pair();
  t.after(p.close);
  const started = Date.now();
  const clientClosed = new Promise((r) => p.client.on('close', r));
  p.client.on('error', () => {});
  p.client.resume();
  await assert.rejects(upgradeToTls(p.server, contexts, { handshakeTimeoutMs: 150 }), { name: 'TlsHandshakeError', code: 'ETIMEDOUT', message: 'TLS handshake not completed within 150ms' });
  assert.ok(Date.now() - started >= 140);
  assert.ok(p.server.destroyed);
  await clientClosed;
});

test('a client that hangs up during the handshake: rejected, not thrown', async (t) => {
  const { contexts } = await setup();
  const p = await pair();
  t.after(p.close);
  const upgrading = upgradeToTls(p.server, contexts, { handshakeTimeoutMs: 5000 });
  p.client.write(Buffer.from([0x16, 0x03, 0x01, 0x00, 0x50])); // a TLS record header, then nothing
  p.client.destroy();
  await assert.rejects(upgrading, TlsHandshakeError);
});

test('a caller that is still reading the plaintext is refused before anything happens', async (t) => {
  const { contexts } = await setup();
  const p = await pair();
  t.after(p.close);
  const onData = () => {};
  p.server.on('data', onData);
  await assert.rejects(upgradeToTls(p.server, contexts, { handshakeTimeoutMs: 5000 }), /remove its "data"\/"readable" listeners first \(CVE-2011-0411\)/);
  assert.equal(p.server.destroyed, false);
  p.server.off('data', onData);
});
