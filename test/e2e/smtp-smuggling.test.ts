// SMTP smuggling (CVE-2023-51764 family): a bare LF or CR, or an `<LF>.<LF>`
// style terminator, must never end or split a message. The attacker's
// "second message" stays inside the first, which is refused as a whole.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RawSmtp } from '../helpers/smtp-client.ts';
import { inbox, startTestServer, type TestServer } from '../helpers/server.ts';

const SMUGGLED = 'MAIL FROM:<admin@example.org>\r\nRCPT TO:<victim@example.org>\r\nDATA\r\nFrom: admin@example.org\r\nSubject: smuggled\r\n\r\nclick here\r\n';

describe('SMTP smuggling protection', () => {
  let ts: TestServer;
  before(async () => {
    ts = await startTestServer({ users: { 'victim@example.org': 'pw' } });
  });
  after(() => ts.stop());

  for (const [name, fakeEnd] of [
    ['<LF>.<LF>', '\n.\n'],
    ['<CR><LF>.<LF>', '\r\n.\n'],
    ['<LF>.<CR><LF>', '\n.\r\n'],
    ['<CR>.<CR>', '\r.\r'],
    ['<CR><LF>.<CR>', '\r\n.\r'],
  ] as const) {
    it(`does not end DATA at ${name}, and rejects the message with 5xx`, async () => {
      const before = (await inbox(ts, 'victim@example.org')).length;
      const c = await RawSmtp.connect(ts.port);
      await c.reply();
      await c.cmd('EHLO attacker.example');
      await c.cmd('MAIL FROM:<attacker@evil.example>');
      await c.cmd('RCPT TO:<victim@example.org>');
      assert.equal((await c.cmd('DATA')).code, 354);
      c.write('Subject: innocent\r\n\r\nhello' + fakeEnd + SMUGGLED + '.\r\n');
      const r = await c.reply();
      assert.match(r.text, /^550 5\.5\.2 .*bare/i);
      // Exactly one reply: the smuggled commands were content, not commands.
      assert.equal((await c.cmd('NOOP')).code, 250);
      assert.equal(c.pending, '');
      c.close();
      assert.equal((await inbox(ts, 'victim@example.org')).length, before, 'nothing stored');
    });
  }

  it('rejects a bare LF inside BDAT content too', async () => {
    const c = await RawSmtp.connect(ts.port);
    await c.reply();
    await c.cmd('EHLO attacker.example');
    await c.cmd('MAIL FROM:<attacker@evil.example>');
    await c.cmd('RCPT TO:<victim@example.org>');
    const body = 'Subject: x\r\n\r\nbare\nlf\r\n';
    c.write(`BDAT ${Buffer.byteLength(body)} LAST\r\n${body}`);
    assert.match((await c.reply()).text, /^550 5\.5\.2/);
    c.close();
  });
});
