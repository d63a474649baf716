// Outbound delivery between two Mailroom instances on loopback: A serves
// a.test on 127.0.0.1, B serves b.test on 127.0.0.2, and a small DNS server
// (started here) answers MX/A for the test domains. A user of A submits with
// authentication; the message reaches B's INBOX. Refusals come back as
// bounces in the sender's INBOX; temporary failures are retried; null MX
// bounces at once; a message that waits too long expires with a bounce.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RawSmtp } from '../helpers/smtp-client.ts';
import { inbox, startTestServer, type TestServer } from '../helpers/server.ts';
import { startDnsServer, type DnsServer } from '../helpers/dns-server.ts';
import { StoreError, type Store } from '../../src/store/store.ts';

const b64 = (s: string) => Buffer.from(s).toString('base64');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor<T>(what: string, f: () => Promise<T | null | undefined | false>, ms = 15000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** B refuses the first delivery attempts with a 4xx (as greylisting or a busy disk would). */
let bTempFailures = 0;
function flakyStore(store: Store): Store {
  return new Proxy(store, {
    get(target, prop, receiver) {
      if (prop === 'deliver') {
        return (req: Parameters<Store['deliver']>[0]) => {
          if (bTempFailures > 0) {
            bTempFailures--;
            return Promise.reject(new StoreError('unavailable', 'injected'));
          }
          return target.deliver(req);
        };
      }
      const v = Reflect.get(target, prop, receiver);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
}

describe('outbound delivery between two instances', () => {
  let dns: DnsServer;
  let a: TestServer;
  let b: TestServer;
  // Real time plus an offset the expiry test moves forward.
  let offset = 0;
  const now = () => new Date(Date.now() + offset);

  before(async () => {
    dns = await startDnsServer([]);
    b = await startTestServer({
      domains: ['b.test'],
      users: { 'bob@b.test': 'pw', 'full@b.test': 'pw' },
      quotas: { 'full@b.test': 50 },
      wrapStore: flakyStore,
      toml: `[listen]\nsmtp = "127.0.0.2:0"\n[dns]\nservers = ["${dns.address}"]\n`,
    });
    dns.set([
      { name: 'b.test', type: 'MX', data: { preference: 10, exchange: 'mx.b.test' } },
      { name: 'mx.b.test', type: 'A', data: '127.0.0.2' },
      { name: 'null.test', type: 'MX', data: { preference: 0, exchange: '.' } },
      { name: 'down.test', type: 'MX', data: { preference: 10, exchange: 'mx.down.test' } },
      { name: 'mx.down.test', type: 'A', data: '127.0.0.3' },
      { name: 'a.test', type: 'MX', data: { preference: 10, exchange: 'mx.a.test' } },
      { name: 'mx.a.test', type: 'A', data: '127.0.0.1' },
    ]);
    a = await startTestServer({
      domains: ['a.test'],
      users: { 'alice@a.test': 'alice-pw' },
      now,
      toml: `[listen]\nsmtp = "127.0.0.1:0"\nsubmission = "127.0.0.1:0"\n[auth]\nallow_plaintext_loopback = true\n[dns]\nservers = ["${dns.address}"]\ntimeout = "1s"\n[delivery]\nport = ${b.port}\n[queue]\nretry_schedule = "1s"\nconnect_timeout = "1s"\n`,
    });
  });
  after(async () => {
    await a?.stop();
    await b?.stop();
    await dns?.close();
  });

  async function submit(rcpts: string[], subject: string): Promise<number[]> {
    const c = await RawSmtp.connect(a.server.ports.submission!);
    await c.reply();
    await c.cmd('EHLO app.a.test');
    assert.match((await c.cmd(`AUTH PLAIN ${b64('\0alice@a.test\0alice-pw')}`)).text, /^235/);
    await c.cmd('MAIL FROM:<alice@a.test>');
    const codes: number[] = [];
    for (const r of rcpts) codes.push((await c.cmd(`RCPT TO:<${r}>`)).code);
    if (codes.some((x) => x === 250)) {
      await c.cmd('DATA');
      c.write(`From: alice@a.test\r\nTo: ${rcpts.join(', ')}\r\nSubject: ${subject}\r\n\r\nHello from A.\r\n.\r\n`);
      assert.equal((await c.reply()).code, 250);
    }
    c.close();
    return codes;
  }

  const bounceFor = (subject: string) =>
    waitFor(`a bounce for "${subject}"`, async () => (await inbox(a, 'alice@a.test')).find((m) => m.content.includes(`Subject: ${subject}`) && /multipart\/report/i.test(m.content)));

  it('delivers a submitted message to the other instance', async () => {
    assert.deepEqual(await submit(['bob@b.test'], 'hello bob'), [250]);
    const got = await waitFor('delivery at B', async () => (await inbox(b, 'bob@b.test')).find((m) => m.content.includes('Subject: hello bob')));
    assert.match(got.content, /^Return-Path: <alice@a\.test>\r\n/);
    assert.equal((got.content.match(/^Return-Path:/gm) ?? []).length, 1, "A's Return-Path was not relayed");
    assert.match(got.content, /Received: from mx\.test\.example \(\[127\.0\.0\.1\]\)/);
    // B commits before A has read B's 250: wait for A's log line rather than race it.
    await waitFor("A's delivery log line", async () => a.logs.some((l) => l.msg === 'delivery attempt' && l.result === 'delivered' && l.rcpt === 'bob@b.test'));
  });

  it('bounces an unknown user with 5.1.1 and the remote reply', async () => {
    await submit(['nobody@b.test'], 'to nobody');
    const bounce = await bounceFor('to nobody');
    assert.match(bounce.content, /Status: 5\.1\.1/);
    assert.match(bounce.content, /Diagnostic-Code: smtp; ?550[ -]5\.1\.1/);
    assert.match(bounce.content, /nobody@b\.test/);
    assert.match(bounce.content, /^Return-Path: <>\r\n/);
  });

  it('bounces a full mailbox with 5.2.2', async () => {
    await submit(['full@b.test'], 'to full');
    const bounce = await bounceFor('to full');
    assert.match(bounce.content, /Status: 5\.2\.2/);
  });

  it('bounces a null-MX domain at once with 5.1.10', async () => {
    await submit(['x@null.test'], 'to null mx');
    const bounce = await bounceFor('to null mx');
    assert.match(bounce.content, /Status: 5\.1\.10/);
  });

  it('retries after a temporary refusal and then delivers', async () => {
    bTempFailures = 1;
    await submit(['bob@b.test'], 'after a 4xx');
    await waitFor('a deferral', async () => a.logs.find((l) => l.msg === 'delivery attempt' && l.result === 'deferred' && l.rcpt === 'bob@b.test'));
    await waitFor('delivery after retry', async () => (await inbox(b, 'bob@b.test')).find((m) => m.content.includes('Subject: after a 4xx')));
    assert.equal(bTempFailures, 0);
  });

  it('defers while the destination is down, and delivers once it is up', async () => {
    await submit(['carol@down.test'], 'to a host that is down');
    await waitFor('a deferral', async () => a.logs.find((l) => l.msg === 'delivery attempt' && l.result === 'deferred' && l.rcpt === 'carol@down.test'));
    const c = await startTestServer({ domains: ['down.test'], users: { 'carol@down.test': 'pw' }, toml: `[listen]\nsmtp = "127.0.0.3:${b.port}"\n` });
    try {
      await waitFor('delivery once up', async () => (await inbox(c, 'carol@down.test')).find((m) => m.content.includes('Subject: to a host that is down')), 20000);
    } finally {
      await c.stop();
    }
  });

  it('tells the sender once when a message is late (delay notice after 4 hours)', async () => {
    await submit(['erin@down.test'], 'running late');
    await waitFor('a deferral', async () => a.logs.find((l) => l.msg === 'delivery attempt' && l.result === 'deferred' && l.rcpt === 'erin@down.test'));
    const notices = async () =>
      (await inbox(a, 'alice@a.test')).filter((m) => m.content.includes('Subject: Delivery Status Notification (Delay)') && m.content.includes('erin@down.test'));
    offset += 5 * 3600 * 1000; // past queue.delay_warning (4 hours), well before max_age
    await a.server.store.retryQueued(null, now());
    a.server.queue.wake();
    const [notice] = await waitFor('a delay notice', async () => ((await notices()).length > 0 ? await notices() : null));
    assert.match(notice!.content, /Action: delayed/);
    assert.match(notice!.content, /Will-Retry-Until: /);
    // Another failed attempt later: no second notice.
    offset += 3600 * 1000;
    await a.server.store.retryQueued(null, now());
    a.server.queue.wake();
    await waitFor('the next attempt', async () => a.logs.filter((l) => l.msg === 'delivery attempt' && l.rcpt === 'erin@down.test').length >= 3);
    await sleep(200);
    assert.equal((await notices()).length, 1);
  });

  it('expires a message that waited too long, with a bounce', async () => {
    await submit(['dave@down.test'], 'will expire');
    await waitFor('a deferral', async () => a.logs.find((l) => l.msg === 'delivery attempt' && l.result === 'deferred' && l.rcpt === 'dave@down.test'));
    offset += 6 * 24 * 3600 * 1000; // past queue.max_age (5 days)
    await a.server.store.retryQueued(null, now());
    a.server.queue.wake();
    const bounce = await bounceFor('will expire');
    assert.match(bounce.content, /Status: 5\.4\.7/);
  });
});
