// End-to-end: the real server on an ephemeral port, driven over raw sockets.
// Covers a full transaction, pipelining, BDAT, every reply code the
// foundation issue names, aliases, plus-addressing and postmaster.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RawSmtp } from '../helpers/smtp-client.ts';
import { inbox, startTestServer, type TestServer } from '../helpers/server.ts';

const MSG = 'From: a@sender.example\r\nTo: alice@example.org\r\nSubject: hi\r\n\r\nHello Alice.\r\n';

async function greeted(ts: TestServer): Promise<RawSmtp> {
  const c = await RawSmtp.connect(ts.port);
  const g = await c.reply();
  assert.equal(g.code, 220);
  assert.equal((await c.cmd('EHLO client.example')).code, 250);
  return c;
}

describe('inbound SMTP', () => {
  let ts: TestServer;
  before(async () => {
    ts = await startTestServer({
      domains: ['example.org', 'other.example'],
      users: { 'alice@example.org': 'pw', 'bob@example.org': 'pw', 'carol@other.example': 'pw', 'full@example.org': 'pw' },
      quotas: { 'full@example.org': 100 },
      aliases: { 'team@example.org': ['alice@example.org', 'bob@example.org'], '@other.example': ['carol@other.example'] },
      toml: '[limits]\nrecipients = 100\nmessage_size = "64K"\n',
    });
  });
  after(() => ts.stop());

  it('greets with 220 hostname ESMTP and advertises the extensions', async () => {
    const c = await RawSmtp.connect(ts.port);
    const g = await c.reply();
    assert.match(g.text, /^220 mx\.test\.example ESMTP/);
    const e = await c.cmd('EHLO client.example');
    assert.equal(e.code, 250);
    for (const ext of ['PIPELINING', '8BITMIME', 'SMTPUTF8', 'SIZE 65536', 'ENHANCEDSTATUSCODES', 'CHUNKING']) {
      assert.ok(e.lines.some((l) => l.slice(4) === ext), `missing ${ext}: ${e.text}`);
    }
    assert.equal((await c.cmd('HELO client.example')).code, 250);
    const q = await c.cmd('QUIT');
    assert.match(q.text, /^221 2\.0\.0/);
    await c.closed();
  });

  it('stores a message with Return-Path and Received, after a 250', async () => {
    const c = await greeted(ts);
    assert.match((await c.cmd('MAIL FROM:<a@sender.example>')).text, /^250 2\.1\.0/);
    assert.match((await c.cmd('RCPT TO:<alice@example.org>')).text, /^250 2\.1\.5/);
    assert.equal((await c.cmd('DATA')).code, 354);
    c.write(MSG + '..leading dot\r\n.\r\n');
    const r = await c.reply();
    assert.match(r.text, /^250 2\.0\.0 .*queued as/);
    const box = await inbox(ts, 'alice@example.org');
    const last = box.at(-1)!.content;
    assert.match(last, /^Return-Path: <a@sender\.example>\r\nReceived: from client\.example \(\[127\.0\.0\.1\]\)\r\n\tby mx\.test\.example \(Mailroom\) with ESMTP id \w+\r\n\tfor <alice@example\.org>;/);
    assert.ok(last.endsWith(MSG + '.leading dot\r\n'), 'dot-unstuffed body stored byte-exact');
    c.close();
  });

  it('answers a pipelined batch in order, in one write', async () => {
    const c = await greeted(ts);
    c.write('MAIL FROM:<p@sender.example>\r\nRCPT TO:<alice@example.org>\r\nRCPT TO:<nobody@example.org>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\n');
    const replies = [await c.reply(), await c.reply(), await c.reply(), await c.reply(), await c.reply()];
    assert.deepEqual(replies.map((r) => r.code), [250, 250, 550, 250, 354]);
    c.write(MSG + '.\r\nMAIL FROM:<>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\n');
    assert.equal((await c.reply()).code, 250);
    assert.deepEqual([(await c.reply()).code, (await c.reply()).code, (await c.reply()).code], [250, 250, 354]);
    c.write('Subject: bounce\r\n\r\nx\r\n.\r\nQUIT\r\n');
    assert.equal((await c.reply()).code, 250);
    assert.equal((await c.reply()).code, 221);
    const bob = await inbox(ts, 'bob@example.org');
    assert.match(bob.at(-1)!.content, /^Return-Path: <>\r\n/);
  });

  it('accepts BDAT chunks and BDAT LAST, and refuses DATA after BDAT', async () => {
    const c = await greeted(ts);
    const part1 = 'Subject: chunked\r\n\r\n';
    const part2 = 'line one\r\n.not stuffed\r\n';
    c.write(`MAIL FROM:<b@sender.example>\r\nRCPT TO:<bob@example.org>\r\nBDAT ${Buffer.byteLength(part1)}\r\n${part1}`);
    assert.deepEqual([(await c.reply()).code, (await c.reply()).code, (await c.reply()).code], [250, 250, 250]);
    assert.match((await c.cmd('DATA')).text, /^503 5\.5\.1/);
    c.write(`BDAT ${Buffer.byteLength(part2)} LAST\r\n${part2}`);
    assert.match((await c.reply()).text, /^250 2\.0\.0/);
    const bob = await inbox(ts, 'bob@example.org');
    assert.ok(bob.at(-1)!.content.endsWith(part1 + part2));
    // BDAT 0 LAST ends a transaction whose content came earlier; an empty message is fine too.
    c.write('MAIL FROM:<b@sender.example>\r\nRCPT TO:<bob@example.org>\r\nBDAT 0 LAST\r\n');
    assert.deepEqual([(await c.reply()).code, (await c.reply()).code, (await c.reply()).code], [250, 250, 250]);
    // BDAT without a transaction: the chunk is read and dropped, the session stays in sync.
    c.write('BDAT 6\r\nNOOP\r\n');
    assert.match((await c.reply()).text, /^503 5\.5\.1/);
    assert.equal((await c.cmd('NOOP')).code, 250);
    c.close();
  });

  it('gives the exact reply codes for refusals', async () => {
    const c = await greeted(ts);
    assert.match((await c.cmd('RCPT TO:<alice@example.org>')).text, /^503 5\.5\.1/);
    assert.match((await c.cmd('DATA')).text, /^503 5\.5\.1/);
    assert.match((await c.cmd('MAIL FROM:<x@sender.example> SIZE=100000')).text, /^552 5\.3\.4/);
    assert.match((await c.cmd('MAIL FROM:<x@sender.example> FOO=bar')).text, /^555 5\.5\.4/);
    assert.match((await c.cmd('MAIL FROM:x@sender.example')).text, /^501 5\.5\.[24]/);
    assert.match((await c.cmd('FROB')).text, /^500 5\.5\.1/);
    assert.match((await c.cmd('MAIL FROM:<x@sender.example>')).text, /^250/);
    assert.match((await c.cmd('MAIL FROM:<x@sender.example>')).text, /^503 5\.5\.1/);
    assert.match((await c.cmd('RCPT TO:<nobody@example.org>')).text, /^550 5\.1\.1/);
    assert.match((await c.cmd('RCPT TO:<someone@elsewhere.example>')).text, /^554 5\.7\.1/);
    assert.match((await c.cmd('RCPT TO:<full@example.org>')).text, /^250/);
    assert.match((await c.cmd('DATA')).text, /^354/);
    c.write('Subject: too big for the quota\r\n\r\n' + 'x'.repeat(200) + '\r\n.\r\n');
    assert.match((await c.reply()).text, /^552 5\.2\.2/);
    assert.match((await c.cmd('MAIL FROM:<x@sender.example> SIZE=500')).text, /^250/);
    assert.match((await c.cmd('RCPT TO:<full@example.org>')).text, /^552 5\.2\.2/);
    assert.match((await c.cmd('RCPT TO:<alice@example.org>')).text, /^250/);
    assert.match((await c.cmd('DATA')).text, /^354/);
    c.write('Subject: big\r\n\r\n' + ('y'.repeat(70) + '\r\n').repeat(1000) + '.\r\n');
    assert.match((await c.reply()).text, /^552 5\.3\.4/);
    assert.match((await c.cmd('VRFY alice')).text, /^252/);
    assert.match((await c.cmd('HELP')).text, /^214/);
    assert.match((await c.cmd('RSET')).text, /^250/);
    c.write('NOOP ' + 'z'.repeat(600) + '\r\n');
    assert.match((await c.reply()).text, /^500 5\.5\.6/);
    assert.equal((await c.cmd('NOOP')).code, 250);
    c.close();
  });

  it('answers 452 4.5.3 past the recipient limit', async () => {
    const c = await greeted(ts);
    await c.cmd('MAIL FROM:<x@sender.example>');
    let batch = '';
    for (let i = 0; i < 101; i++) batch += `RCPT TO:<alice+${i}@example.org>\r\n`;
    c.write(batch);
    const codes: number[] = [];
    for (let i = 0; i < 101; i++) codes.push((await c.reply()).code);
    assert.equal(codes.filter((x) => x === 250).length, 100);
    assert.equal(codes[100], 452);
    c.close();
  });

  it('expands aliases, catch-alls, plus-addressing and postmaster', async () => {
    const before = { alice: (await inbox(ts, 'alice@example.org')).length, bob: (await inbox(ts, 'bob@example.org')).length, carol: (await inbox(ts, 'carol@other.example')).length };
    const c = await greeted(ts);
    for (const rcpt of ['team@example.org', 'anything@other.example', 'alice+news@example.org', 'postmaster@example.org', 'Postmaster']) {
      await c.cmd('MAIL FROM:<x@sender.example>');
      assert.match((await c.cmd(`RCPT TO:<${rcpt}>`)).text, /^250/, rcpt);
      await c.cmd('DATA');
      c.write(`Subject: to ${rcpt}\r\n\r\nbody\r\n.\r\n`);
      assert.equal((await c.reply()).code, 250);
    }
    c.close();
    // team → alice+bob; catch-all → carol; plus → alice; postmaster@ and <Postmaster> → first account (alice).
    assert.equal((await inbox(ts, 'alice@example.org')).length - before.alice, 4);
    assert.equal((await inbox(ts, 'bob@example.org')).length - before.bob, 1);
    assert.equal((await inbox(ts, 'carol@other.example')).length - before.carol, 1);
  });

  it('stores one copy of the bytes for several local recipients', async () => {
    const c = await greeted(ts);
    await c.cmd('MAIL FROM:<x@sender.example>');
    await c.cmd('RCPT TO:<alice@example.org>');
    await c.cmd('RCPT TO:<bob@example.org>');
    await c.cmd('RCPT TO:<team@example.org>'); // the same two again: one copy each
    await c.cmd('DATA');
    c.write('Subject: shared\r\n\r\nonce\r\n.\r\n');
    assert.equal((await c.reply()).code, 250);
    c.close();
    const store = ts.server.store;
    const blobOf = async (addr: string) => {
      const acc = (await store.getAccount(addr))!;
      const mb = (await store.getMailbox(acc.id, 'INBOX'))!;
      return (await store.listMessages(mb.id)).filter(Boolean);
    };
    const a = await blobOf('alice@example.org');
    const b = await blobOf('bob@example.org');
    assert.equal(a.at(-1)!.blobId, b.at(-1)!.blobId);
    assert.notEqual(a.at(-2)!.blobId, a.at(-1)!.blobId);
  });

  it('logs one line per transaction with sender, recipients and replies', async () => {
    const line = ts.logs.find((l) => l.msg === 'message accepted');
    assert.ok(line);
    for (const k of ['session', 'client', 'helo', 'from', 'rcpts', 'size', 'ms', 'queue']) assert.ok(k in line!, `log line lacks ${k}`);
  });
});
