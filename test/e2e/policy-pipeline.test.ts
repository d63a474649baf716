// End-to-end for the policy pipeline: a real SMTP listener (SmtpServer) with a
// fake backend that records what it is asked to store, and scripted hooks, so
// the session's application of every verdict is seen on the wire: connect
// reject (554, closed) and defer (421), MAIL and RCPT refusals, DATA reject and
// defer (nothing stored), headers prepended above Received:, header removal,
// folders per recipient, scores and notes in the log line, trusted clients
// skipping inbound hooks, and a throwing hook answered 451 4.3.0.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from '../../src/config/load.ts';
import { createLogger } from '../../src/log/logger.ts';
import { ConnectionLimits } from '../../src/net/connection-limits.ts';
import { SmtpServer } from '../../src/smtp/server/smtp-server.ts';
import type { IncomingMessage, SessionServices } from '../../src/smtp/server/ports.ts';
import { R, reply } from '../../src/smtp/protocol/reply.ts';
import { PolicyPipeline, verdict } from '../../src/policy/pipeline.ts';
import type { PolicyHook } from '../../src/policy/types.ts';
import { RawSmtp } from '../helpers/smtp-client.ts';

const config = parseConfig('hostname = "mx.test.example"\ndata_dir = "/nonexistent"\n[listen]\nsmtp = "127.0.0.1:0"\n', 'test.toml');

/** Hooks react to magic addresses, so one server covers every case. */
const hooks: PolicyHook[] = [
  {
    name: 'gate',
    async connect() {
      return undefined;
    },
    async mail(ctx) {
      if (ctx.from?.local === 'deferme') return verdict.defer(R.greylisted, 'greylisted for the test');
      if (ctx.from?.local === 'rejectme') return verdict.reject(R.senderRejected, 'sender on a block list');
      if (ctx.from?.local === 'boom') throw new Error('hook bug');
    },
    async rcpt(ctx) {
      if (ctx.recipient.local === 'nobody') return verdict.reject(reply(550, '5.7.1', 'Recipient refused by policy'), 'test rcpt');
    },
    async data(ctx) {
      const text = ctx.message().toString();
      if (text.includes('SPAMSPAM')) return [verdict.score({ name: 'SPAMWORD', score: 7 }), verdict.reject(reply(550, '5.7.1', 'Spam'), 'score 7')];
      if (text.includes('LATER')) return verdict.defer(reply(451, '4.7.1', 'Try later'), 'test defer');
      const out = [verdict.headers('X-Policy: checked'), verdict.removeHeaders((n) => n.toLowerCase() === 'x-forged', 'forged'), verdict.note({ seen: ctx.recipients.length })];
      if (text.includes('JUNK-SECOND')) out.push(verdict.folder('Junk', 'second recipient only', [1]));
      return out;
    },
  },
  {
    name: 'outbound-only',
    scope: 'all',
    async data(ctx) {
      return verdict.note({ trust: ctx.trust });
    },
  },
];

describe('policy pipeline applied by the SMTP session', () => {
  let server: SmtpServer;
  let port: number;
  const stored: IncomingMessage[] = [];
  const logs: Record<string, unknown>[] = [];
  let trusted = false;
  let connectVerdict: 'none' | 'reject' | 'defer' = 'none';
  before(async () => {
    const connectHook: PolicyHook = {
      name: 'connect-gate',
      async connect() {
        if (connectVerdict === 'reject') return verdict.reject(reply(554, '5.7.1', 'Your IP is listed'), 'dnsbl');
        if (connectVerdict === 'defer') return verdict.defer(reply(421, '4.7.0', 'Too busy for you'), 'rate');
      },
    };
    const log = createLogger({ level: 'debug', write: (l) => void logs.push(JSON.parse(l)) });
    const services: SessionServices = {
      backend: {
        async checkRecipient() {
          return { accept: true, target: null };
        },
        async accept(msg) {
          stored.push(msg);
          return R.queued(msg.queueId);
        },
      },
      tls: null,
      auth: null,
      senderPolicy: null,
      isTrustedNetwork: () => trusted,
      policy: new PolicyPipeline([connectHook, ...hooks], log),
    };
    server = new SmtpServer({ role: 'smtp', address: config.listen.smtp!, config, services, logger: log, limits: new ConnectionLimits(100, 100) });
    port = await server.listen();
  });
  after(() => server.close(0));

  async function session(): Promise<RawSmtp> {
    const c = await RawSmtp.connect(port);
    assert.equal((await c.reply()).code, 220);
    assert.equal((await c.cmd('EHLO client.example')).code, 250);
    return c;
  }

  async function sendData(c: RawSmtp, body: string): Promise<string> {
    assert.equal((await c.cmd('DATA')).code, 354);
    c.write(body + '.\r\n');
    return (await c.reply()).text;
  }

  it('connect: reject answers 554 instead of the greeting and closes; defer answers 421', async () => {
    connectVerdict = 'reject';
    let c = await RawSmtp.connect(port);
    assert.match((await c.reply()).text, /^554 5\.7\.1 Your IP is listed/);
    await c.closed();
    connectVerdict = 'defer';
    c = await RawSmtp.connect(port);
    assert.match((await c.reply()).text, /^421 4\.7\.0 Too busy for you/);
    await c.closed();
    connectVerdict = 'none';
    assert.ok(logs.some((l) => l.msg === 'policy rejected' && l.decided_by === 'connect-gate' && l.stage === 'connect'));
  });

  it('MAIL: defer and reject replies from the hook; a throwing hook gives 451 4.3.0', async () => {
    const c = await session();
    assert.match((await c.cmd('MAIL FROM:<deferme@x.example>')).text, /^451 4\.7\.1 Greylisted/);
    assert.match((await c.cmd('MAIL FROM:<rejectme@x.example>')).text, /^550 5\.7\.1 /);
    assert.match((await c.cmd('MAIL FROM:<boom@x.example>')).text, /^451 4\.3\.0 /);
    // No transaction was opened by a refused MAIL.
    assert.match((await c.cmd('RCPT TO:<a@example.org>')).text, /^503 /);
    assert.equal((await c.cmd('MAIL FROM:<ok@x.example>')).code, 250);
    c.close();
  });

  it('RCPT: a refused recipient is not added; the others go on', async () => {
    const c = await session();
    await c.cmd('MAIL FROM:<ok@x.example>');
    assert.match((await c.cmd('RCPT TO:<nobody@example.org>')).text, /^550 5\.7\.1 Recipient refused/);
    assert.equal((await c.cmd('RCPT TO:<a@example.org>')).code, 250);
    const n = stored.length;
    assert.match(await sendData(c, 'Subject: x\r\n\r\nhi\r\n'), /^250 /);
    assert.equal(stored.length, n + 1);
    assert.equal(stored.at(-1)!.recipients.length, 1);
    c.close();
  });

  it('DATA: reject and defer store nothing; the log line names the hook and the score', async () => {
    const c = await session();
    const n = stored.length;
    await c.cmd('MAIL FROM:<ok@x.example>');
    await c.cmd('RCPT TO:<a@example.org>');
    assert.match(await sendData(c, 'Subject: SPAMSPAM\r\n\r\nhi\r\n'), /^550 5\.7\.1 Spam/);
    await c.cmd('MAIL FROM:<ok@x.example>');
    await c.cmd('RCPT TO:<a@example.org>');
    assert.match(await sendData(c, 'Subject: LATER\r\n\r\nhi\r\n'), /^451 4\.7\.1 Try later/);
    assert.equal(stored.length, n);
    const line = logs.find((l) => l.msg === 'message rejected' && (l.policy as { decided_by?: string })?.decided_by === 'gate') as Record<string, any>;
    assert.ok(line);
    assert.deepEqual(line.score, { total: 7, rules: ['SPAMWORD=7'] });
    c.close();
  });

  it('DATA: headers prepended above Received, forged header removed, folder per recipient, notes logged', async () => {
    const c = await session();
    await c.cmd('MAIL FROM:<ok@x.example>');
    await c.cmd('RCPT TO:<a@example.org>');
    await c.cmd('RCPT TO:<b@example.org>');
    assert.match(await sendData(c, 'X-Forged: yes\r\nSubject: JUNK-SECOND\r\n\r\nhi\r\n'), /^250 /);
    const m = stored.at(-1)!;
    assert.match(m.traceHeader, /^X-Policy: checked\r\nReceived: from client\.example/);
    assert.equal(Buffer.concat(m.content).toString(), 'Subject: JUNK-SECOND\r\n\r\nhi\r\n');
    assert.equal(m.recipients[0].mailbox, undefined);
    assert.equal(m.recipients[1].mailbox, 'Junk');
    const line = logs.findLast((l) => l.msg === 'message accepted') as Record<string, any>;
    assert.equal(line.seen, 2);
    assert.equal(line.trust, 'none');
    assert.equal(line.folders[0].folder, 'Junk');
    c.close();
  });

  it('BDAT LAST goes through the same end-of-message policy', async () => {
    const c = await session();
    await c.cmd('MAIL FROM:<ok@x.example>');
    await c.cmd('RCPT TO:<a@example.org>');
    const body = 'Subject: SPAMSPAM\r\n\r\nhi\r\n';
    c.write(`BDAT ${Buffer.byteLength(body)} LAST\r\n${body}`);
    assert.match((await c.reply()).text, /^550 5\.7\.1 Spam/);
    await c.cmd('MAIL FROM:<ok@x.example>');
    await c.cmd('RCPT TO:<a@example.org>');
    const ok = 'X-Forged: 1\r\nSubject: fine\r\n\r\nhi\r\n';
    c.write(`BDAT ${Buffer.byteLength(ok)} LAST\r\n${ok}`);
    assert.match((await c.reply()).text, /^250 /);
    assert.equal(Buffer.concat(stored.at(-1)!.content).toString(), 'Subject: fine\r\n\r\nhi\r\n');
    assert.match(stored.at(-1)!.traceHeader, /^X-Policy: checked\r\n/);
    c.close();
  });

  it('trusted clients skip inbound hooks, but scope "all" hooks still run', async () => {
    trusted = true;
    try {
      const c = await session();
      assert.equal((await c.cmd('MAIL FROM:<rejectme@x.example>')).code, 250);
      await c.cmd('RCPT TO:<a@example.org>');
      assert.match(await sendData(c, 'Subject: SPAMSPAM\r\n\r\nhi\r\n'), /^250 /);
      assert.doesNotMatch(stored.at(-1)!.traceHeader, /X-Policy/);
      const line = logs.findLast((l) => l.msg === 'message accepted') as Record<string, any>;
      assert.equal(line.trust, 'trusted-network');
      c.close();
    } finally {
      trusted = false;
    }
  });
});
