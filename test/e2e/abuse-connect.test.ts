// Connect-time defences end to end: a client listed in a DNS blocklist (the
// test DNS server) is refused with 554 5.7.1 and the list's TXT reason; a
// score-only list and a URI blocklist add named rules to X-Spam-Status; a
// client opening connections too fast gets 421 4.7.0 and is disconnected;
// SPF results of the sender-auth hook turn into SPF_FAIL / SPF_PASS rules.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { RawSmtp } from '../helpers/smtp-client.ts';
import { startDnsServer, type DnsServer } from '../helpers/dns-server.ts';
import { parseSpamStatus } from '../../src/spam/headers.ts';

describe('DNS blocklists', () => {
  let dns: DnsServer;
  before(async () => {
    dns = await startDnsServer([
      // RFC 5782 §5: 127.0.0.2 is the conventional test entry; our test client is 127.0.0.1.
      { name: '1.0.0.127.block.test', type: 'A', data: '127.0.0.2' },
      { name: '1.0.0.127.block.test', type: 'TXT', data: 'Blocked - see https://block.test/lookup?ip=127.0.0.1' },
      { name: '1.0.0.127.score.test', type: 'A', data: '127.0.0.4' },
      { name: 'bad-pharmacy.test.uri.test', type: 'A', data: '127.0.0.2' },
    ]);
  });
  after(() => dns.close());

  it('a listed client is refused at connect with 554 5.7.1 and the TXT reason', async () => {
    const ts = await startTestServer({ toml: `[dns]\nservers = ["${dns.address}"]\ntimeout = "2s"\n[dnsbl]\nzones = ["block.test:reject"]\n`, users: { 'alice@example.org': 'pw' } });
    try {
      const c = await RawSmtp.connect(ts.port);
      const r = await c.reply();
      assert.equal(r.code, 554);
      assert.match(r.lines.join(' '), /5\.7\.1 Blocked - see https:\/\/block\.test\/lookup\?ip=127\.0\.0\.1/);
      await c.closed();
      assert.ok(ts.logs.some((l) => l.msg === 'client refused: listed in DNS blocklist' && l.zone === 'block.test'));
    } finally {
      await ts.stop();
    }
  });

  it('a score-only list and a URI blocklist add named rules to the spam score', async () => {
    const ts = await startTestServer({
      toml: `[dns]\nservers = ["${dns.address}"]\ntimeout = "2s"\n[dnsbl]\nzones = ["score.test:score=2.5"]\nuri_zones = ["uri.test:score=4"]\n[spam]\nenabled = true\n`,
      users: { 'alice@example.org': 'pw' },
    });
    try {
      const c = await RawSmtp.connect(ts.port);
      assert.equal((await c.reply()).code, 220);
      await c.cmd('EHLO mta.remote.example');
      await c.cmd('MAIL FROM:<shop@pharmacy.example>');
      assert.equal((await c.cmd('RCPT TO:<alice@example.org>')).code, 250);
      assert.equal((await c.cmd('DATA')).code, 354);
      const body = 'From: shop@pharmacy.example\r\nTo: alice@example.org\r\nSubject: refill\r\nDate: Mon, 5 Jan 2026 09:00:00 +0000\r\nMessage-ID: <r1@pharmacy.example>\r\n\r\nYour refill: https://www.bad-pharmacy.test/order\r\n.';
      assert.equal((await c.cmd(body)).code, 250);
      c.close();
      const store = ts.server.store;
      const acc = await store.getAccount('alice@example.org');
      const junk = await store.listMessages((await store.getMailbox(acc!.id, 'Junk'))!.id);
      assert.equal(junk.length, 1, '2.5 + 4 points: Junk');
      const text = (await store.readBlob(junk[0].blobId)).toString('utf8');
      const status = /^X-Spam-Status: ((?:.*)(?:\r\n[ \t].*)*)/m.exec(text)![1].replace(/\r\n[ \t]/g, ' ');
      const names = parseSpamStatus(status)!.rules.map((r) => r.name);
      assert.ok(names.includes('RCVD_IN_SCORE_TEST'), names.join(','));
      assert.ok(names.includes('URIBL_URI_TEST'), names.join(','));
    } finally {
      await ts.stop();
    }
  });
});

describe('connection rate', () => {
  let ts: TestServer;
  before(async () => {
    ts = await startTestServer({ toml: '[rate_limit]\nenabled = true\nip_connections_per_minute = 3\n' });
  });
  after(() => ts.stop());

  it('past ip_connections_per_minute a client gets 421 4.7.0 and is disconnected', async () => {
    for (let i = 0; i < 3; i++) {
      const c = await RawSmtp.connect(ts.port);
      assert.equal((await c.reply()).code, 220);
      await c.cmd('QUIT');
      c.close();
    }
    const c = await RawSmtp.connect(ts.port);
    const r = await c.reply();
    assert.equal(r.code, 421);
    assert.match(r.lines.join(' '), /4\.7\.0/);
    await c.closed();
  });
});

describe('spam score with sender authentication', () => {
  let dns: DnsServer;
  let ts: TestServer;
  before(async () => {
    dns = await startDnsServer([
      { name: 'spf-fail.example', type: 'TXT', data: 'v=spf1 ip4:192.0.2.1 -all' },
      { name: 'spf-pass.example', type: 'TXT', data: 'v=spf1 ip4:127.0.0.1 -all' },
    ]);
    ts = await startTestServer({
      toml: `[dns]\nservers = ["${dns.address}"]\ntimeout = "2s"\n[auth_checks]\nenabled = true\n[spam]\nenabled = true\n`,
      users: { 'alice@example.org': 'pw' },
    });
  });
  after(async () => {
    await ts.stop();
    await dns.close();
  });

  async function statusOf(from: string): Promise<string[]> {
    const c = await RawSmtp.connect(ts.port);
    assert.equal((await c.reply()).code, 220);
    await c.cmd('EHLO client.example');
    await c.cmd(`MAIL FROM:<${from}>`);
    assert.equal((await c.cmd('RCPT TO:<alice@example.org>')).code, 250);
    assert.equal((await c.cmd('DATA')).code, 354);
    const id = `${Math.random()}@${from.split('@')[1]}`;
    assert.equal((await c.cmd(`From: <${from}>\r\nTo: <alice@example.org>\r\nSubject: hello\r\nMessage-ID: <${id}>\r\nDate: Sat, 28 Nov 2026 01:00:00 +0000\r\n\r\nHello.\r\n.`)).code, 250);
    c.close();
    const store = ts.server.store;
    const acc = await store.getAccount('alice@example.org');
    const msgs = await store.listMessages((await store.getMailbox(acc!.id, 'INBOX'))!.id);
    for (const m of msgs) {
      const text = (await store.readBlob(m.blobId)).toString('utf8');
      if (!text.includes(id)) continue;
      const status = /^X-Spam-Status: ((?:.*)(?:\r\n[ \t].*)*)/m.exec(text)![1].replace(/\r\n[ \t]/g, ' ');
      return parseSpamStatus(status)!.rules.map((r) => r.name);
    }
    throw new Error('message not found');
  }

  it('SPF results from the sender-auth hook become rules', async () => {
    assert.ok((await statusOf('bob@spf-fail.example')).includes('SPF_FAIL'));
    assert.ok((await statusOf('bob@spf-pass.example')).includes('SPF_PASS'));
  });
});
