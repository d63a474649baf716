// SMTP behind a load balancer speaking the PROXY protocol: with
// [proxy_protocol] trusted naming the balancer (127.0.0.1 here), the session
// sees the client named in the header (v1 text, v2 binary, and v2 before an
// implicit-TLS handshake on submissions) in its Received header and logs; a
// trusted peer that sends no header is cut off; anyone else's "PROXY" line is
// just an unknown command, so nobody can claim an address they do not have.
// IMAP and POP3 listeners apply the same gate.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import tls from 'node:tls';
import { startTestServer, inbox, type TestServer } from '../helpers/server.ts';
import { RawSmtp } from '../helpers/smtp-client.ts';
import { serializeProxyV1, serializeProxyV2 } from '../../src/net/proxy-protocol.ts';

function connect(port: number, localAddress = '127.0.0.1'): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ port, host: '127.0.0.1', localAddress }, () => resolve(s));
    s.once('error', reject);
  });
}

describe('PROXY protocol on SMTP listeners', () => {
  let ts: TestServer;
  before(async () => {
    ts = await startTestServer({
      toml: `[listen]\nsmtp = "127.0.0.1:0"\nsubmissions = "127.0.0.1:0"\nimap = "127.0.0.1:0"\npop3 = "127.0.0.1:0"\n[proxy_protocol]\ntrusted = ["127.0.0.1/32"]\ntimeout = "300ms"\n`,
      users: { 'rcpt@example.org': 'pw-unused-123' },
    });
  });
  after(() => ts.stop());

  async function send(c: RawSmtp, subject: string): Promise<void> {
    assert.equal((await c.reply()).code, 220);
    assert.equal((await c.cmd('EHLO client.example')).code, 250);
    assert.equal((await c.cmd('MAIL FROM:<a@sender.example>')).code, 250);
    assert.equal((await c.cmd('RCPT TO:<rcpt@example.org>')).code, 250);
    assert.equal((await c.cmd('DATA')).code, 354);
    assert.equal((await c.cmd(`Subject: ${subject}\r\n\r\nbody\r\n.`)).code, 250);
    await c.cmd('QUIT');
  }

  it('v1: the Received header and the logs name the real client', async () => {
    const s = await connect(ts.port);
    s.write(serializeProxyV1({ family: 'tcp4', source: { address: '203.0.113.9', port: 50000 }, destination: { address: '192.0.2.25', port: 25 } }));
    await send(RawSmtp.wrap(s), 'via v1');
    const msg = (await inbox(ts, 'rcpt@example.org')).find((m) => m.content.includes('via v1'))!;
    assert.match(msg.content, /from client\.example \(\S* ?\[203\.0\.113\.9\]\)|\[203\.0\.113\.9\]/);
    assert.ok(ts.logs.some((l) => l.client === '203.0.113.9'), 'logged by the real IP');
  });

  it('v2 in the same TCP segment as the first command', async () => {
    const s = await connect(ts.port);
    const c = RawSmtp.wrap(s);
    s.write(
      Buffer.concat([
        serializeProxyV2({ command: 'proxy', family: 'tcp6', source: { address: '2001:db8::77', port: 1234 }, destination: { address: '2001:db8::25', port: 25 } }),
        Buffer.from('EHLO early.example\r\n'),
      ]),
    );
    assert.equal((await c.reply()).code, 220);
    const ehlo = await c.reply();
    assert.equal(ehlo.code, 250);
    assert.match(ehlo.text, /2001:db8::77/);
    c.close();
  });

  it('implicit TLS (submissions): the header comes before the handshake', async () => {
    const raw = await connect(ts.server.ports.submissions!);
    raw.write(serializeProxyV2({ command: 'proxy', family: 'tcp4', source: { address: '198.51.100.44', port: 4444 }, destination: { address: '192.0.2.1', port: 465 } }));
    const secure = tls.connect({ socket: raw, rejectUnauthorized: false, servername: 'mx.test.example' });
    await new Promise<void>((resolve, reject) => {
      secure.once('secureConnect', () => resolve());
      secure.once('error', reject);
    });
    const c = RawSmtp.wrap(secure);
    assert.equal((await c.reply()).code, 220);
    const ehlo = await c.cmd('EHLO tls.example');
    assert.match(ehlo.text, /198\.51\.100\.44/);
    c.close();
  });

  it('LOCAL (a health check) keeps the balancer address', async () => {
    const s = await connect(ts.port);
    s.write(serializeProxyV2({ command: 'local', family: 'unspec', source: null, destination: null }));
    const c = RawSmtp.wrap(s);
    assert.equal((await c.reply()).code, 220);
    assert.match((await c.cmd('EHLO hc.example')).text, /127\.0\.0\.1/);
    c.close();
  });

  it('a trusted peer without a header, or with a bad one, is disconnected without a greeting', async () => {
    const silent = RawSmtp.wrap(await connect(ts.port));
    await silent.closed(3000);
    assert.equal(silent.pending, '');
    const bad = await connect(ts.port);
    const c = RawSmtp.wrap(bad);
    bad.write('EHLO no-header.example\r\n');
    await c.closed(3000);
    assert.equal(c.pending, '');
    assert.ok(ts.logs.some((l) => l.msg === 'PROXY protocol: connection refused'));
  });

  it('IMAP and POP3 listeners take the header too and log the real client', async () => {
    for (const [role, greeting, ip] of [
      ['imap', /^\* OK/, '203.0.113.143'],
      ['pop3', /^\+OK/, '203.0.113.110'],
    ] as const) {
      const s = await connect(ts.server.ports[role]!);
      s.write(serializeProxyV1({ family: 'tcp4', source: { address: ip, port: 1000 }, destination: { address: '192.0.2.1', port: 143 } }));
      const first = await new Promise<string>((resolve) => s.once('data', (d: Buffer) => resolve(d.toString())));
      assert.match(first, greeting);
      s.destroy();
      await new Promise((r) => setTimeout(r, 50));
      assert.ok(ts.logs.some((l) => l.client === ip), `${role} logged ${ip}`);
    }
  });

  it('an untrusted peer cannot claim an address: its PROXY line is an unknown command', async () => {
    const s = await connect(ts.port, '127.0.0.2');
    const c = RawSmtp.wrap(s);
    assert.equal((await c.reply()).code, 220);
    const r = await c.cmd('PROXY TCP4 203.0.113.66 192.0.2.1 1 25');
    assert.equal(Math.floor(r.code / 100), 5);
    const ehlo = await c.cmd('EHLO liar.example');
    assert.match(ehlo.text, /127\.0\.0\.2/);
    assert.doesNotMatch(ehlo.text, /203\.0\.113\.66/);
    c.close();
  });
});
