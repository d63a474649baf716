// Tests for the DSN plumbing of remote delivery: the queue keeps NOTIFY,
// ORCPT, RET and ENVID as received (xtext); the client gets them decoded and
// encodes them again, so what reaches the next hop is what we were given;
// delivered recipients whose next hop did not advertise DSN are reported in
// `relayedWithoutDsn` (RFC 3461 §6.2.3.1), those of a DSN-capable hop are not.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deliverToDomain, type RemoteDeliveryDeps } from './remote-delivery.ts';
import { createLogger } from '../log/logger.ts';
import { reply } from '../smtp/protocol/reply.ts';
import { mailCommand, rcptCommand, type OutboundEnvelope } from '../smtp/client/commands.ts';
import { noCapabilities, type Capabilities } from '../smtp/client/ehlo.ts';
import { SmtpClientConnection } from '../smtp/client/client-session.ts';
import { fakeSmtpServer, type FakeServer } from '../../test/helpers/fake-smtp-server.ts';
import type { QueueClaim, QueueRecipient } from '../store/store.ts';

const T0 = new Date('2030-01-02T03:04:05Z');

function recipient(id: number, address: string, notify: QueueRecipient['notify'], orcpt: string | null): QueueRecipient {
  return {
    id, queueId: 'Q1', address, domain: 'x.example', state: 'pending', attempts: 0, nextAttemptAt: T0, lastAttemptAt: null,
    lastReply: null, lastStatus: null, lastHost: null, notify, orcpt, delayWarned: false,
  };
}

const claim: QueueClaim = {
  domain: 'x.example',
  message: {
    queueId: 'Q1', blobId: 'b1', size: 10, sender: 'a@here.example', createdAt: T0, envid: 'env+2B1', ret: 'HDRS', smtputf8: true, eightBit: false,
    recipients: [
      recipient(1, 'p@x.example', ['SUCCESS', 'FAILURE'], 'rfc822;p+2Bq@x.example'),
      recipient(2, 'j@x.example', ['NEVER'], 'utf-8;j\\x{F6}rg@x.example'),
      recipient(3, 'n@x.example', null, null),
    ],
  },
};

/** One fake connection with these capabilities; records the envelopes it is asked to send. */
function deps(caps: Capabilities, sent: OutboundEnvelope[]): RemoteDeliveryDeps {
  const conn = {
    tlsInfo: null,
    usable: true,
    capabilities: caps,
    async send(env: OutboundEnvelope) {
      sent.push(env);
      return { mail: reply(250, '2.1.0', 'ok'), recipients: env.recipients.map((r) => ({ address: r.address, reply: reply(250, '2.1.5', 'ok') })), data: reply(250, '2.0.0', 'queued'), local: false, method: 'data' as const };
    },
    async quit() {},
    close() {},
  };
  return {
    resolveHosts: async () => ({ kind: 'hosts', implicit: false, skipped: [], hosts: [{ name: 'mx.x.example', preference: 10, addresses: ['192.0.2.1'] }] }),
    connect: async () => conn as unknown as SmtpClientConnection,
    readBlob: async () => Buffer.from('Subject: hi\r\n\r\nbody\r\n'),
    now: () => T0,
    log: createLogger({ write: () => {} }),
  };
}

test('DSN parameters reach a DSN-capable next hop as they were received; no "relayed" recipients', async () => {
  const sent: OutboundEnvelope[] = [];
  const caps = { ...noCapabilities(), dsn: true, smtpUtf8: true };
  const res = await deliverToDomain(deps(caps, sent), 'x.example', [claim]);
  assert.deepEqual(res.outcomes.map((o) => o.result), ['delivered', 'delivered', 'delivered']);
  assert.deepEqual(res.relayedWithoutDsn, []);
  const env = sent[0]!;
  assert.deepEqual(env.dsn, { ret: 'HDRS', envid: 'env+1' });
  assert.equal(mailCommand(env, caps, { size: 10, eightBit: false }), 'MAIL FROM:<a@here.example> SMTPUTF8 RET=HDRS ENVID=env+2B1\r\n');
  assert.deepEqual(env.recipients.map((r) => rcptCommand(r, caps)), [
    'RCPT TO:<p@x.example> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;p+2Bq@x.example\r\n',
    'RCPT TO:<j@x.example> NOTIFY=NEVER ORCPT=utf-8;j\\x{F6}rg@x.example\r\n',
    'RCPT TO:<n@x.example>\r\n',
  ]);
});

test('a next hop without DSN: delivered recipients are listed for a "relayed" notice', async () => {
  const sent: OutboundEnvelope[] = [];
  const res = await deliverToDomain(deps({ ...noCapabilities(), smtpUtf8: true }, sent), 'x.example', [claim]);
  assert.deepEqual(res.relayedWithoutDsn, [1, 2, 3]);
});

test('a stored value that is not valid xtext is not sent on', async () => {
  const sent: OutboundEnvelope[] = [];
  const bad: QueueClaim = { ...claim, message: { ...claim.message, envid: 'a+2b', recipients: [recipient(1, 'p@x.example', null, 'rfc822;a+2b')] } };
  await deliverToDomain(deps({ ...noCapabilities(), dsn: true }, sent), 'x.example', [bad]);
  assert.deepEqual(sent[0]!.dsn, { ret: 'HDRS', envid: undefined });
  assert.equal(sent[0]!.recipients[0]!.dsn, undefined);
});

// ---- opportunistic STARTTLS: a failed handshake gets one plaintext retry (RFC 7435)

/** A server that offers STARTTLS and then answers the ClientHello with junk, then one that takes the mail in plaintext. */
async function brokenTlsServer(seen: string[]): Promise<FakeServer> {
  return fakeSmtpServer(
    async (c) => {
      c.send('220 mx.x.example ESMTP\r\n');
      seen.push(await c.line());
      c.send('250-mx.x.example\r\n250 STARTTLS\r\n');
      seen.push(await c.line());
      c.send('220 2.0.0 go ahead\r\n');
      await c.bytes(5); // the ClientHello's record header
      c.send('this is not TLS\r\n');
      await c.closed();
    },
    async (c) => {
      c.send('220 mx.x.example ESMTP\r\n');
      seen.push(await c.line());
      c.send('250-mx.x.example\r\n250 STARTTLS\r\n');
      for (;;) {
        const line = await c.line();
        seen.push(line);
        if (line.startsWith('MAIL') || line.startsWith('RCPT')) c.send('250 ok\r\n');
        else if (line === 'DATA') {
          c.send('354 go\r\n');
          await c.data();
          c.send('250 2.0.0 queued\r\n');
        } else if (line === 'QUIT') {
          c.send('221 bye\r\n');
          return;
        } else c.send('500 what\r\n');
      }
    },
  );
}

function realDeps(port: number, mode: 'opportunistic' | 'required', logs: Record<string, unknown>[]): RemoteDeliveryDeps {
  return {
    resolveHosts: async () => ({ kind: 'hosts', implicit: false, skipped: [], hosts: [{ name: 'mx.x.example', preference: 10, addresses: ['127.0.0.1'] }] }),
    connect: (address, servername, plaintext) =>
      SmtpClientConnection.connect({ host: address, port, heloName: 'me.test', commandTimeoutMs: 3000, tls: { mode: plaintext ? 'none' : mode, servername } }),
    plaintextFallback: mode === 'opportunistic',
    readBlob: async () => Buffer.from('Subject: hi\r\n\r\nbody\r\n'),
    now: () => T0,
    log: createLogger({ level: 'debug', write: (l) => void logs.push(JSON.parse(l)) }),
  };
}

const oneRcpt: QueueClaim = { domain: 'x.example', message: { ...claim.message, envid: null, ret: null, smtputf8: false, recipients: [recipient(1, 'p@x.example', null, null)] } };

test('opportunistic TLS: a failed STARTTLS handshake is retried once in plaintext, with a warning', async () => {
  const seen: string[] = [];
  const s = await brokenTlsServer(seen);
  try {
    const logs: Record<string, unknown>[] = [];
    const res = await deliverToDomain(realDeps(s.port, 'opportunistic', logs), 'x.example', [oneRcpt]);
    assert.deepEqual(res.outcomes.map((o) => o.result), ['delivered']);
    const warn = logs.find((l) => l.msg === 'STARTTLS handshake failed, retrying in plaintext');
    assert.ok(warn, JSON.stringify(logs));
    assert.equal(warn.level, 'warn');
    assert.equal(warn.host, 'mx.x.example[127.0.0.1]');
    // The second connection did not try STARTTLS again.
    assert.deepEqual(seen.filter((l) => l === 'STARTTLS'), ['STARTTLS']);
    assert.equal(logs.find((l) => l.msg === 'delivery attempt')?.tls, 'no');
  } finally {
    await s.close();
  }
});

test('required TLS: a failed STARTTLS handshake defers, without a plaintext retry', async () => {
  const seen: string[] = [];
  const s = await brokenTlsServer(seen);
  try {
    const logs: Record<string, unknown>[] = [];
    const res = await deliverToDomain(realDeps(s.port, 'required', logs), 'x.example', [oneRcpt]);
    assert.deepEqual(res.outcomes.map((o) => [o.result, o.status]), [['deferred', '4.7.5']]);
    assert.ok(!logs.some((l) => l.msg === 'STARTTLS handshake failed, retrying in plaintext'));
    assert.equal(seen.filter((l) => l.startsWith('EHLO')).length, 1, 'one connection only');
  } finally {
    await s.close();
  }
});
