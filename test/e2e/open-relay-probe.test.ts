// Port 25 is not an open relay: every classic relay trick is refused, and
// nothing is accepted for a domain that is not ours. Addresses that look like
// ours but smuggle a remote destination are either refused or, when they
// name a local mailbox, delivered locally — never relayed.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RawSmtp } from '../helpers/smtp-client.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

describe('open-relay probe on port 25', () => {
  let ts: TestServer;
  let c: RawSmtp;
  before(async () => {
    ts = await startTestServer({ users: { 'user@example.org': 'pw' } });
    c = await RawSmtp.connect(ts.port);
    await c.reply();
    await c.cmd('EHLO prober.example');
    await c.cmd('MAIL FROM:<spammer@evil.example>');
  });
  after(async () => {
    c.close();
    await ts.stop();
  });

  const refused: [string, RegExp][] = [
    ['victim@remote.example', /^554 5\.7\.1/],
    ['VICTIM@REMOTE.EXAMPLE', /^554 5\.7\.1/],
    ['user%remote.example@example.org', /^550 5\.1\.1/],
    ['<@example.org:victim@remote.example>', /^554 5\.7\.1/],
    ['"victim@remote.example"@example.org', /^550 5\.1\.1/],
    ['victim@remote.example@example.org', /^501/],
    ['user@example.org.', /^(554 5\.7\.1|501)/],
    ['victim@[127.0.0.1]', /^554 5\.7\.1/],
    ['victim@[IPv6:::1]', /^554 5\.7\.1/],
    ['remote.example!victim@example.org', /^550 5\.1\.1/],
    ['victim@remote.example%example.org', /^(554 5\.7\.1|501)/],
  ];
  for (const [rcpt, expected] of refused) {
    it(`refuses RCPT TO:${rcpt}`, async () => {
      const arg = rcpt.startsWith('<') ? rcpt : `<${rcpt}>`;
      const r = await c.cmd(`RCPT TO:${arg}`);
      assert.match(r.text, expected);
    });
  }

  it('still accepts our own domain in any case', async () => {
    assert.match((await c.cmd('RCPT TO:<USER@EXAMPLE.ORG>')).text, /^250/);
  });

  it('does not trust loopback by default', async () => {
    // The probe itself connects from 127.0.0.1: the refusals above prove it.
    assert.match((await c.cmd('RCPT TO:<someone@gmail.example>')).text, /^554 5\.7\.1/);
  });
});
