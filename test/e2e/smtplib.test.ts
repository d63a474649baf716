// End-to-end with a real client: Python's smtplib sends plain, 8-bit and
// SMTPUTF8 mail, sees refused recipients reported, and the messages land.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { inbox, startTestServer, type TestServer } from '../helpers/server.ts';

function python(script: string, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('python3', ['-c', script, String(port)], { timeout: 20000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${err.message}\n${stderr}`));
      else resolve(stdout.trim());
    });
  });
}

describe('Python smtplib against the server', () => {
  let ts: TestServer;
  before(async () => {
    ts = await startTestServer({ domains: ['example.org', 'пример.рф'], users: { 'alice@example.org': 'pw', 'bob@example.org': 'pw', 'иван@пример.рф': 'pw' } });
  });
  after(() => ts.stop());

  it('sends a message to two recipients and reports a refused one', async () => {
    const out = await python(
      `
import smtplib, sys
from email.message import EmailMessage
m = EmailMessage()
m['From'] = 'sender@remote.example'; m['To'] = 'alice@example.org, bob@example.org'; m['Subject'] = 'smtplib test'
m.set_content('Hello from smtplib\\n.dot line\\n')
with smtplib.SMTP('127.0.0.1', int(sys.argv[1])) as s:
    s.ehlo('py.example')
    assert s.has_extn('pipelining') and s.has_extn('chunking') and s.has_extn('smtputf8')
    refused = s.send_message(m, to_addrs=['alice@example.org', 'bob@example.org', 'ghost@example.org'])
    print(sorted((k, v[0]) for k, v in refused.items()))
`,
      ts.port,
    );
    assert.equal(out, "[('ghost@example.org', 550)]");
    const a = await inbox(ts, 'alice@example.org');
    assert.match(a.at(-1)!.content, /Subject: smtplib test[\s\S]*\r\n\.dot line\r\n$/);
    assert.equal((await inbox(ts, 'bob@example.org')).length, 1);
  });

  it('delivers SMTPUTF8 mail to an internationalised address', async () => {
    const out = await python(
      `
import smtplib, sys
msg = 'From: отправитель@remote.example\\r\\nTo: иван@пример.рф\\r\\nSubject: привет\\r\\n\\r\\nтекст\\r\\n'.encode('utf-8')
with smtplib.SMTP('127.0.0.1', int(sys.argv[1])) as s:
    s.ehlo('py.example')
    print(s.sendmail('отправитель@remote.example', ['иван@пример.рф'], msg, mail_options=['SMTPUTF8', 'BODY=8BITMIME']))
`,
      ts.port,
    );
    assert.equal(out, '{}');
    const box = await inbox(ts, 'иван@пример.рф');
    assert.match(box[0].content, /UTF8SMTP[\s\S]*Subject: привет/);
  });

  it('refuses a non-ASCII address without SMTPUTF8 (550 5.6.7)', async () => {
    const out = await python(
      `
import smtplib, sys
with smtplib.SMTP('127.0.0.1', int(sys.argv[1])) as s:
    s.ehlo('py.example')
    s.send('MAIL FROM:<отправитель@remote.example>\\r\\n'.encode('utf-8'))
    code, text = s.getreply()
    print(code, text.decode()[:5])
`,
      ts.port,
    );
    assert.equal(out, '550 5.6.7');
  });
});
