// SmtpClientConnection against a scripted fake SMTP server on 127.0.0.1:
// pipelining, HELO fallback, STARTTLS, deadlines, multi-line and
// per-recipient replies, DATA refused, BDAT, SMTPUTF8/8BITMIME/SIZE checks,
// DSN parameters, dot-stuffing and CRLF normalization on the wire, 421.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { SmtpClientConnection } from './client-session.ts';
import type { ConnectOptions, OutboundEnvelope } from './client-session.ts';
import { SmtpClientError } from './errors.ts';
import { fakeSmtpServer, selfSignedCert } from '../../../test/helpers/fake-smtp-server.ts';
import type { FakeConn, FakeServer } from '../../../test/helpers/fake-smtp-server.ts';

let cert: { key: string; cert: string };
before(() => {
  cert = selfSignedCert();
});

const servers: FakeServer[] = [];
after(async () => {
  for (const s of servers) await s.close();
});

async function serve(...scripts: ((c: FakeConn) => Promise<void>)[]): Promise<FakeServer> {
  const s = await fakeSmtpServer(...scripts);
  servers.push(s);
  return s;
}

function opts(port: number, extra: Partial<ConnectOptions> = {}): ConnectOptions {
  return { host: '127.0.0.1', port, heloName: 'client.test', commandTimeoutMs: 2000, dataTimeoutMs: 2000, tls: { mode: 'none' }, ...extra };
}

const EHLO_FULL = '250-mx.test\r\n250-PIPELINING\r\n250-SIZE 100000\r\n250-8BITMIME\r\n250-ENHANCEDSTATUSCODES\r\n250 DSN\r\n';

/** Greeting and EHLO with the given EHLO reply. */
async function hello(c: FakeConn, ehloReply = EHLO_FULL): Promise<void> {
  c.send('220 mx.test ESMTP fake\r\n');
  assert.equal(await c.line(), 'EHLO client.test');
  c.send(ehloReply);
}

async function quit(c: FakeConn): Promise<void> {
  assert.equal(await c.line(), 'QUIT');
  c.send('221 2.0.0 bye\r\n');
}

function env(extra: Partial<OutboundEnvelope> = {}): OutboundEnvelope {
  return { from: 'alice@a.test', recipients: [{ address: 'bob@b.test' }], smtputf8: false, eightBit: false, ...extra };
}

async function rejectsWith(p: Promise<unknown>, kind: string, phase?: string): Promise<SmtpClientError> {
  const err = await p.then(
    () => assert.fail('expected an error'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof SmtpClientError, String(err));
  assert.equal(err.kind, kind, err.message);
  if (phase) assert.equal(err.phase, phase, err.message);
  return err;
}

test('pipelining: MAIL, every RCPT and DATA in one go, replies read in order; per-recipient and multi-line replies kept verbatim; dot-stuffing', async () => {
  const content = Buffer.from('Subject: hi\r\n\r\n.leading dot\r\nmiddle . dot\r\n.\r\n..two\r\nlast');
  const s = await serve(async (c) => {
    await hello(c);
    // Nothing is answered until all four commands are in: a client that waited would hang here.
    assert.equal(await c.line(), `MAIL FROM:<alice@a.test> SIZE=${content.length + 2}`);
    assert.equal(await c.line(), 'RCPT TO:<bob@b.test>');
    assert.equal(await c.line(), 'RCPT TO:<nobody@b.test>');
    assert.equal(await c.line(), 'RCPT TO:<later@b.test>');
    assert.equal(await c.line(), 'DATA');
    c.send('250 2.1.0 Sender OK\r\n250 2.1.5 Recipient OK\r\n550-5.1.1 The email account that you tried to reach does not exist.\r\n550 5.1.1 Please check it.\r\n450 4.2.1 Try later\r\n354 Go ahead\r\n');
    assert.equal(await c.data(), 'Subject: hi\r\n\r\n..leading dot\r\nmiddle . dot\r\n..\r\n...two\r\nlast\r\n.\r\n');
    c.send('250 2.0.0 OK queued as 42\r\n');
    await quit(c);
  });
  const conn = await SmtpClientConnection.connect(opts(s.port));
  assert.equal(conn.capabilities.pipelining, true);
  const r = await conn.send(env({ recipients: [{ address: 'bob@b.test' }, { address: 'nobody@b.test' }, { address: 'later@b.test' }] }), content);
  assert.deepEqual(r, {
    mail: { code: 250, enhanced: '2.1.0', lines: ['Sender OK'] },
    recipients: [
      { address: 'bob@b.test', reply: { code: 250, enhanced: '2.1.5', lines: ['Recipient OK'] } },
      { address: 'nobody@b.test', reply: { code: 550, enhanced: '5.1.1', lines: ['The email account that you tried to reach does not exist.', 'Please check it.'] } },
      { address: 'later@b.test', reply: { code: 450, enhanced: '4.2.1', lines: ['Try later'] } },
    ],
    data: { code: 250, enhanced: '2.0.0', lines: ['OK queued as 42'] },
    local: false,
    method: 'data',
  });
  await conn.quit();
  await s.done();
});

test('EHLO refused → HELO; without PIPELINING each command waits for its reply', async () => {
  const s = await serve(async (c) => {
    c.send('220 old.test\r\n');
    assert.equal(await c.line(), 'EHLO client.test');
    c.send('502 5.5.1 Command not implemented\r\n');
    assert.equal(await c.line(), 'HELO client.test');
    c.send('250 old.test\r\n');
    assert.equal(await c.line(), 'MAIL FROM:<>');
    assert.equal(await c.unread(), '', 'RCPT is not sent before MAIL is answered');
    c.send('250 ok\r\n');
    assert.equal(await c.line(), 'RCPT TO:<bob@b.test>');
    assert.equal(await c.unread(), '');
    c.send('250 ok\r\n');
    assert.equal(await c.line(), 'DATA');
    c.send('354 go\r\n');
    assert.equal(await c.data(), 'x\r\n.\r\n');
    c.send('250 ok\r\n');
    await quit(c);
  });
  const conn = await SmtpClientConnection.connect(opts(s.port));
  assert.equal(conn.capabilities.pipelining, false);
  assert.deepEqual(conn.ehloReply?.lines, ['old.test']);
  const r = await conn.send(env({ from: '' }), Buffer.from('x\r\n'));
  assert.equal(r.data?.code, 250);
  assert.equal(r.recipients[0].reply.code, 250);
  assert.equal(r.data?.enhanced, null);
  await conn.quit();
  await s.done();
});

test('a 4xx to EHLO is not a reason for HELO: it is an error with the reply', async () => {
  const s = await serve(async (c) => {
    c.send('220 x\r\n');
    await c.line();
    c.send('421 4.3.2 Shutting down\r\n');
    await c.closed();
  });
  const err = await rejectsWith(SmtpClientConnection.connect(opts(s.port)), 'reply', 'ehlo');
  assert.equal(err.reply?.code, 421);
  await s.done();
});

test('STARTTLS when offered: TLS 1.2+, EHLO again, capabilities from the second EHLO', async () => {
  const s = await serve(async (c) => {
    await hello(c, '250-mx.test\r\n250-PIPELINING\r\n250 STARTTLS\r\n');
    assert.equal(await c.line(), 'STARTTLS');
    c.send('220 2.0.0 Ready to start TLS\r\n');
    await c.startTls(cert);
    assert.equal(await c.line(), 'EHLO client.test');
    c.send('250-mx.test\r\n250-PIPELINING\r\n250-SMTPUTF8\r\n250 CHUNKING\r\n');
    await quit(c);
  });
  const conn = await SmtpClientConnection.connect(opts(s.port, { tls: { mode: 'opportunistic', servername: 'mx.test' } }));
  assert.ok(conn.tlsInfo);
  assert.match(conn.tlsInfo.version, /^TLSv1\.[23]$/);
  assert.ok(conn.tlsInfo.cipher.length > 0);
  assert.equal(conn.tlsInfo.authorized, false, 'self-signed, not verified (RFC 7435)');
  assert.equal(conn.capabilities.startTls, false);
  assert.equal(conn.capabilities.smtpUtf8, true);
  assert.equal(conn.capabilities.chunking, true);
  await conn.quit();
  await s.done();
});

test('STARTTLS refused (454): opportunistic goes on in plaintext; required fails', async () => {
  const refuse = async (c: FakeConn) => {
    await hello(c, '250-mx.test\r\n250 STARTTLS\r\n');
    assert.equal(await c.line(), 'STARTTLS');
    c.send('454 4.7.0 TLS not available\r\n');
  };
  const s = await serve(
    async (c) => {
      await refuse(c);
      await quit(c);
    },
    async (c) => {
      await refuse(c);
      await quit(c);
    },
  );
  const conn = await SmtpClientConnection.connect(opts(s.port, { tls: { mode: 'opportunistic' } }));
  assert.equal(conn.tlsInfo, null);
  assert.equal(conn.starttlsRefused?.code, 454);
  await conn.quit();
  const err = await rejectsWith(SmtpClientConnection.connect(opts(s.port, { tls: { mode: 'required' } })), 'tls', 'starttls');
  assert.equal(err.reply?.code, 454);
  await s.done();
});

test('required TLS without STARTTLS offered is a tls error; mode none never asks', async () => {
  const s = await serve(
    async (c) => {
      await hello(c);
      await quit(c);
    },
    async (c) => {
      await hello(c, '250-mx.test\r\n250 STARTTLS\r\n');
      await quit(c);
    },
  );
  await rejectsWith(SmtpClientConnection.connect(opts(s.port, { tls: { mode: 'required' } })), 'tls', 'starttls');
  const conn = await SmtpClientConnection.connect(opts(s.port, { tls: { mode: 'none' } }));
  assert.equal(conn.capabilities.startTls, true);
  assert.equal(conn.tlsInfo, null);
  await conn.quit();
  await s.done();
});

test('a failed handshake is reported as tls / tls-handshake (required mode verifies the certificate)', async () => {
  const s = await serve(async (c) => {
    await hello(c, '250-mx.test\r\n250 STARTTLS\r\n');
    assert.equal(await c.line(), 'STARTTLS');
    c.send('220 go\r\n');
    await c.startTls(cert).catch(() => {});
  });
  const err = await rejectsWith(SmtpClientConnection.connect(opts(s.port, { tls: { mode: 'required', servername: 'mx.test' } })), 'tls', 'tls-handshake');
  assert.match(err.message, /handshake failed/);
  await s.done();
});

test('a server that is not TLS after 220 to STARTTLS: tls / tls-handshake', async () => {
  const s = await serve(async (c) => {
    await hello(c, '250-mx.test\r\n250 STARTTLS\r\n');
    assert.equal(await c.line(), 'STARTTLS');
    c.send('220 go\r\n');
    await new Promise((r) => setTimeout(r, 20));
    c.send('this is not a TLS record at all\r\n');
    await c.closed();
  });
  await rejectsWith(SmtpClientConnection.connect(opts(s.port, { tls: { mode: 'opportunistic' } })), 'tls', 'tls-handshake');
  await s.done();
});

test('data sent after the STARTTLS reply, before TLS, is refused (reply injection)', async () => {
  const s = await serve(async (c) => {
    await hello(c, '250-mx.test\r\n250 STARTTLS\r\n');
    assert.equal(await c.line(), 'STARTTLS');
    c.send('220 go\r\n250-injected\r\n250 AUTH PLAIN\r\n');
    await c.closed();
  });
  await rejectsWith(SmtpClientConnection.connect(opts(s.port, { tls: { mode: 'opportunistic' } })), 'protocol', 'starttls');
  await s.done();
});

test('deadlines: no greeting, no reply to RCPT', async () => {
  const s = await serve(
    async (c) => {
      await c.closed(2000);
    },
    async (c) => {
      await hello(c);
      await c.line();
      await c.line();
      await c.line();
      c.send('250 ok\r\n'); // MAIL only; RCPT never answered
      await c.closed(2000);
    },
  );
  const t0 = Date.now();
  await rejectsWith(SmtpClientConnection.connect(opts(s.port, { commandTimeoutMs: 200 })), 'timeout', 'greeting');
  assert.ok(Date.now() - t0 < 1500);
  const conn = await SmtpClientConnection.connect(opts(s.port, { commandTimeoutMs: 200 }));
  await rejectsWith(conn.send(env(), Buffer.from('x\r\n')), 'timeout', 'rcpt');
  assert.equal(conn.usable, false);
  await rejectsWith(conn.send(env(), Buffer.from('x\r\n')), 'timeout');
  await s.done();
});

test('greeting refusing service (554) → reply error; nothing listening → connect error', async () => {
  const s = await serve(async (c) => {
    c.send('554-5.7.1 No SMTP service here\r\n554 5.7.1 Go away\r\n');
    await quit(c);
  });
  const err = await rejectsWith(SmtpClientConnection.connect(opts(s.port)), 'reply', 'greeting');
  assert.deepEqual(err.reply, { code: 554, enhanced: '5.7.1', lines: ['No SMTP service here', 'Go away'] });
  await s.done();
  const closed = createServer();
  await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
  const port = (closed.address() as { port: number }).port;
  await new Promise<void>((r) => closed.close(() => r()));
  const e2 = await rejectsWith(SmtpClientConnection.connect(opts(port)), 'connect', 'connect');
  assert.equal(e2.code, 'ECONNREFUSED');
});

test('a malformed reply is a protocol error', async () => {
  const s = await serve(async (c) => {
    c.send('220 hi\r\n');
    await c.line();
    c.send('250-mx.test\r\nHELLO THERE\r\n');
    await c.closed();
  });
  await rejectsWith(SmtpClientConnection.connect(opts(s.port)), 'protocol', 'ehlo');
  await s.done();
});

test('DATA refused: the refusal is the data reply; the next transaction starts with RSET', async () => {
  const s = await serve(async (c) => {
    await hello(c);
    for (let i = 0; i < 3; i++) await c.line();
    c.send('250 ok\r\n250 ok\r\n554 5.7.1 Not today\r\n');
    assert.equal(await c.line(), 'RSET');
    c.send('250 2.0.0 reset\r\n');
    assert.match(await c.line(), /^MAIL FROM:<alice@a\.test>/);
    await c.line();
    await c.line();
    c.send('250 ok\r\n250 ok\r\n354 go\r\n');
    await c.data();
    c.send('250 ok\r\n');
    await quit(c);
  });
  const conn = await SmtpClientConnection.connect(opts(s.port));
  const r = await conn.send(env(), Buffer.from('x\r\n'));
  assert.equal(r.recipients[0].reply.code, 250);
  assert.deepEqual(r.data, { code: 554, enhanced: '5.7.1', lines: ['Not today'] });
  const r2 = await conn.send(env(), Buffer.from('x\r\n'));
  assert.equal(r2.data?.code, 250);
  await conn.quit();
  await s.done();
});

test('every recipient refused: DATA is refused by the server, data is null', async () => {
  const s = await serve(async (c) => {
    await hello(c);
    for (let i = 0; i < 4; i++) await c.line();
    c.send('250 ok\r\n550 5.1.1 no\r\n551 5.1.6 moved\r\n503 5.5.1 No valid recipients\r\n');
    await quit(c);
  });
  const conn = await SmtpClientConnection.connect(opts(s.port));
  const r = await conn.send(env({ recipients: [{ address: 'x@b.test' }, { address: 'y@b.test' }] }), Buffer.from('x\r\n'));
  assert.deepEqual(r.recipients.map((x) => x.reply.code), [550, 551]);
  assert.equal(r.data, null);
  await conn.quit();
  await s.done();
});

test('MAIL refused: every recipient gets the MAIL reply', async () => {
  const s = await serve(async (c) => {
    await hello(c);
    for (let i = 0; i < 3; i++) await c.line();
    c.send('553 5.7.1 Sender rejected\r\n503 5.5.1 need MAIL\r\n503 5.5.1 need MAIL\r\n');
    await quit(c);
  });
  const conn = await SmtpClientConnection.connect(opts(s.port));
  const r = await conn.send(env(), Buffer.from('x\r\n'));
  assert.equal(r.mail.code, 553);
  assert.deepEqual(r.recipients[0].reply, { code: 553, enhanced: '5.7.1', lines: ['Sender rejected'] });
  assert.equal(r.data, null);
  await conn.quit();
  await s.done();
});

test('BDAT when CHUNKING is offered: exact octets, no dot-stuffing, after RCPT replies', async () => {
  const content = Buffer.from('Subject: b\r\n\r\n.not stuffed\r\n\u00e9t\u00e9\r\n', 'utf8');
  const s = await serve(async (c) => {
    await hello(c, '250-mx.test\r\n250-PIPELINING\r\n250-8BITMIME\r\n250-CHUNKING\r\n250 SIZE\r\n');
    assert.equal(await c.line(), `MAIL FROM:<alice@a.test> SIZE=${content.length} BODY=8BITMIME`);
    assert.equal(await c.line(), 'RCPT TO:<bob@b.test>');
    assert.equal(await c.unread(), '', 'BDAT waits for the RCPT replies');
    c.send('250 ok\r\n250 ok\r\n');
    assert.equal(await c.line(), `BDAT ${content.length} LAST`);
    assert.deepEqual(await c.bytes(content.length), content);
    c.send('250 2.0.0 Message accepted\r\n');
    await quit(c);
  });
  const conn = await SmtpClientConnection.connect(opts(s.port));
  const r = await conn.send(env(), content);
  assert.equal(r.method, 'bdat');
  assert.equal(r.data?.code, 250);
  await conn.quit();
  await s.done();
});

test('SMTPUTF8 needed but not offered: 550 5.6.7 for everyone, nothing sent', async () => {
  const s = await serve(async (c) => {
    await hello(c);
    await quit(c);
  });
  const conn = await SmtpClientConnection.connect(opts(s.port));
  const r = await conn.send(env({ recipients: [{ address: 'jos\u00e9@b.test' }, { address: 'bob@b.test' }] }), Buffer.from('x\r\n'));
  assert.equal(r.local, true);
  assert.deepEqual(r.recipients.map((x) => [x.reply.code, x.reply.enhanced]), [[550, '5.6.7'], [550, '5.6.7']]);
  assert.equal(r.data, null);
  const r2 = await conn.send(env({ smtputf8: true }), Buffer.from('x\r\n'));
  assert.equal(r2.mail.enhanced, '5.6.7');
  await conn.quit();
  await s.done();
});

test('SMTPUTF8, BODY=8BITMIME and DSN parameters when advertised (xtext-encoded)', async () => {
  const s = await serve(async (c) => {
    await hello(c, '250-mx.test\r\n250-PIPELINING\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250 DSN\r\n');
    assert.equal(await c.line(), 'MAIL FROM:<alice@a.test> BODY=8BITMIME SMTPUTF8 RET=HDRS ENVID=q+2B1+3Dx');
    assert.equal(await c.line(), 'RCPT TO:<jos\u00e9@b.test> NOTIFY=SUCCESS,FAILURE ORCPT=utf-8;jos\\x{E9}@b.test');
    assert.equal(await c.line(), 'RCPT TO:<bob@b.test> NOTIFY=NEVER ORCPT=rfc822;bob+2Btag@b.test');
    assert.equal(await c.line(), 'DATA');
    c.send('250 ok\r\n250 ok\r\n250 ok\r\n354 go\r\n');
    await c.data();
    c.send('250 ok\r\n');
    await quit(c);
  });
  const conn = await SmtpClientConnection.connect(opts(s.port));
  const r = await conn.send(
    env({
      eightBit: true,
      dsn: { ret: 'HDRS', envid: 'q+1=x' },
      recipients: [
        { address: 'jos\u00e9@b.test', dsn: { notify: ['SUCCESS', 'FAILURE'], orcpt: 'rfc822;jos\u00e9@b.test' } },
        { address: 'bob@b.test', dsn: { notify: ['NEVER', 'DELAY'], orcpt: 'rfc822;bob+tag@b.test' } },
      ],
    }),
    Buffer.from('x\r\n'),
  );
  assert.equal(r.data?.code, 250);
  await conn.quit();
  await s.done();
});

test('without DSN advertised, no DSN parameters; 8-bit content without 8BITMIME is refused locally (554 5.6.3)', async () => {
  const s = await serve(async (c) => {
    await hello(c, '250-mx.test\r\n250 PIPELINING\r\n');
    assert.equal(await c.line(), 'MAIL FROM:<alice@a.test>');
    assert.equal(await c.line(), 'RCPT TO:<bob@b.test>');
    assert.equal(await c.line(), 'DATA');
    c.send('250 ok\r\n250 ok\r\n354 go\r\n');
    await c.data();
    c.send('250 ok\r\n');
    await quit(c);
  });
  const conn = await SmtpClientConnection.connect(opts(s.port));
  const local = await conn.send(env(), Buffer.from('caf\u00e9\r\n', 'utf8'));
  assert.deepEqual([local.local, local.mail.code, local.mail.enhanced], [true, 554, '5.6.3']);
  const r = await conn.send(env({ dsn: { ret: 'FULL' }, recipients: [{ address: 'bob@b.test', dsn: { notify: ['FAILURE'] } }] }), Buffer.from('x\r\n'));
  assert.equal(r.data?.code, 250);
  await conn.quit();
  await s.done();
});

test('larger than the advertised SIZE: 552 5.3.4 locally', async () => {
  const s = await serve(async (c) => {
    await hello(c, '250-mx.test\r\n250 SIZE 10\r\n');
    await quit(c);
  });
  const conn = await SmtpClientConnection.connect(opts(s.port));
  const r = await conn.send(env(), Buffer.from('0123456789abc\r\n'));
  assert.deepEqual([r.local, r.mail.code, r.mail.enhanced], [true, 552, '5.3.4']);
  await conn.quit();
  await s.done();
});

test('bare LF and CR in content go out as CRLF', async () => {
  const s = await serve(async (c) => {
    await hello(c);
    assert.equal(await c.line(), 'MAIL FROM:<alice@a.test> SIZE=17');
    await c.line();
    await c.line();
    c.send('250 ok\r\n250 ok\r\n354 go\r\n');
    assert.equal(await c.data(), 'a\r\nb\r\n..\r\n\r\n..\r\nc\r\n.\r\n');
    c.send('250 ok\r\n');
    await quit(c);
  });
  const conn = await SmtpClientConnection.connect(opts(s.port));
  const r = await conn.send(env(), [Buffer.from('a\nb\r.\n'), Buffer.from('\n.\r\nc')]);
  assert.equal(r.data?.code, 250);
  await conn.quit();
  await s.done();
});

test('an address that would break the command line is refused locally (553)', async () => {
  const s = await serve(async (c) => {
    await hello(c);
    assert.equal(await c.line(), 'MAIL FROM:<alice@a.test> SIZE=3');
    assert.equal(await c.line(), 'RCPT TO:<ok@b.test>');
    assert.equal(await c.line(), 'DATA');
    c.send('250 ok\r\n250 ok\r\n354 go\r\n');
    await c.data();
    c.send('250 ok\r\n');
    await quit(c);
  });
  const conn = await SmtpClientConnection.connect(opts(s.port));
  const bad = await conn.send(env({ from: 'a@x>\r\nRCPT TO:<victim@c.test' }), Buffer.from('x\r\n'));
  assert.deepEqual([bad.local, bad.mail.code, bad.mail.enhanced], [true, 553, '5.1.7']);
  const r = await conn.send(env({ recipients: [{ address: 'evil@b.test>\r\nDATA' }, { address: 'ok@b.test' }] }), Buffer.from('x\r\n'));
  assert.deepEqual(r.recipients.map((x) => [x.reply.code, x.reply.enhanced]), [[553, '5.1.3'], [250, null]]);
  await conn.quit();
  await s.done();
});

test('421 in the middle of a pipelined group answers everything still outstanding; the connection is done', async () => {
  const s = await serve(async (c) => {
    await hello(c);
    for (let i = 0; i < 4; i++) await c.line();
    c.send('250 ok\r\n421 4.7.0 Too many errors, closing\r\n');
    c.socket.end();
  });
  const conn = await SmtpClientConnection.connect(opts(s.port));
  const r = await conn.send(env({ recipients: [{ address: 'x@b.test' }, { address: 'y@b.test' }] }), Buffer.from('x\r\n'));
  assert.deepEqual(r.recipients.map((x) => x.reply.code), [421, 421]);
  assert.equal(r.data, null);
  assert.equal(conn.usable, false);
  await conn.quit();
  await s.done();
});

test('a connection carries several transactions (the queue reuses connections)', async () => {
  const s = await serve(async (c) => {
    await hello(c);
    for (let m = 0; m < 3; m++) {
      for (let i = 0; i < 3; i++) await c.line();
      c.send('250 ok\r\n250 ok\r\n354 go\r\n');
      assert.equal(await c.data(), `message ${m}\r\n.\r\n`);
      c.send(`250 ok ${m}\r\n`);
    }
    await quit(c);
  });
  const conn = await SmtpClientConnection.connect(opts(s.port));
  for (let m = 0; m < 3; m++) {
    const r = await conn.send(env(), Buffer.from(`message ${m}\r\n`));
    assert.deepEqual(r.data?.lines, [`ok ${m}`]);
  }
  await conn.quit();
  await s.done();
});

test('a large message goes through with backpressure', async () => {
  const line = 'x'.repeat(998) + '\r\n';
  const content = Buffer.from(line.repeat(5000)); // 5 MB
  const s = await serve(async (c) => {
    await hello(c, '250-mx.test\r\n250-PIPELINING\r\n250 SIZE 0\r\n');
    for (let i = 0; i < 3; i++) await c.line();
    c.send('250 ok\r\n250 ok\r\n354 go\r\n');
    const got = await c.data();
    assert.equal(got.length, content.length + 3);
    c.send('250 ok\r\n');
    await quit(c);
  });
  const conn = await SmtpClientConnection.connect(opts(s.port, { commandTimeoutMs: 60_000, dataTimeoutMs: 60_000 }));
  const r = await conn.send(env(), content);
  assert.equal(r.data?.code, 250);
  await conn.quit();
  await s.done();
});

// ---- AUTH (RFC 4954) and implicit TLS

const b64 = (s: string) => Buffer.from(s).toString('base64');

test('auth: AUTH PLAIN when offered; the trace hides the credentials', async () => {
  const s = await serve(async (c) => {
    await hello(c, '250-mx.test\r\n250 AUTH LOGIN PLAIN\r\n');
    assert.equal(await c.line(), `AUTH PLAIN ${b64('\0u@x.test\0s3cret')}`);
    c.send('235 2.7.0 ok\r\n');
    await quit(c);
  });
  const trace: string[] = [];
  const conn = await SmtpClientConnection.connect(opts(s.port, { auth: { username: 'u@x.test', password: 's3cret' }, onTrace: (l) => trace.push(l) }));
  await conn.quit();
  await s.done();
  assert.ok(trace.includes('C: AUTH PLAIN <credentials>'));
  assert.ok(!trace.join('\n').includes(b64('\0u@x.test\0s3cret')));
});

test('auth: AUTH LOGIN when PLAIN is not offered', async () => {
  const s = await serve(async (c) => {
    await hello(c, '250-mx.test\r\n250 AUTH LOGIN\r\n');
    assert.equal(await c.line(), 'AUTH LOGIN');
    c.send(`334 ${b64('Username:')}\r\n`);
    assert.equal(await c.line(), b64('u@x.test'));
    c.send(`334 ${b64('Password:')}\r\n`);
    assert.equal(await c.line(), b64('s3cret'));
    c.send('235 2.7.0 ok\r\n');
    await quit(c);
  });
  const trace: string[] = [];
  const conn = await SmtpClientConnection.connect(opts(s.port, { auth: { username: 'u@x.test', password: 's3cret' }, onTrace: (l) => trace.push(l) }));
  await conn.quit();
  await s.done();
  assert.ok(!trace.join('\n').includes(b64('s3cret')));
});

test("auth: 535 is an error kind 'reply' phase 'auth' with the reply", async () => {
  const s = await serve(async (c) => {
    await hello(c, '250-mx.test\r\n250 AUTH PLAIN\r\n');
    await c.line();
    c.send('535 5.7.8 Authentication credentials invalid\r\n');
    await quit(c);
  });
  const err = await rejectsWith(SmtpClientConnection.connect(opts(s.port, { auth: { username: 'u', password: 'bad' } })), 'reply', 'auth');
  assert.equal(err.reply?.code, 535);
  assert.ok(!err.message.includes('bad'));
  await s.done();
});

test('implicit TLS: the handshake comes before the greeting', async () => {
  const s = await serve(async (c) => {
    await c.startTls(cert);
    await hello(c);
    await quit(c);
  });
  const conn = await SmtpClientConnection.connect(opts(s.port, { tls: { mode: 'implicit', servername: 'mx.test', rejectUnauthorized: false } }));
  assert.match(conn.tlsInfo?.version ?? '', /^TLSv1\.[23]$/);
  await conn.quit();
  await s.done();
});
