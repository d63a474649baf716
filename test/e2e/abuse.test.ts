// Abuse defences end to end, against the real server with real clients:
// greylisting with an injected clock (first try 450, early retry 450, retry
// after the delay 250, then remembered and the network whitelisted); a loop
// of 200 submissions from one account crosses its hourly limit (450 4.7.1)
// while another account is unaffected; a spammy message lands in Junk with
// headers naming the rules, a clean one in INBOX, a blatant one is refused
// with 550 5.7.1 and nothing stored; X-Spam fields the sender forged are
// dropped; and moving a message into Junk with a
// real IMAP client (imapflow) changes the classifier's verdict on a similar one.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ImapFlow } from 'imapflow';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { RawSmtp } from '../helpers/smtp-client.ts';
import { parseSpamStatus } from '../../src/spam/headers.ts';

async function mailbox(ts: TestServer, address: string, name: string): Promise<string[]> {
  const store = ts.server.store;
  const acc = await store.getAccount(address);
  const mb = await store.getMailbox(acc!.id, name);
  const msgs = await store.listMessages(mb!.id);
  return Promise.all(msgs.map(async (m) => (await store.readBlob(m.blobId)).toString('utf8')));
}

function headerValue(message: string, name: string): string | null {
  const head = message.slice(0, message.indexOf('\r\n\r\n'));
  const m = new RegExp(`^${name}:[ \\t]*((?:.*)(?:\\r\\n[ \\t].*)*)`, 'im').exec(head);
  return m ? m[1].replace(/\r\n[ \t]/g, ' ') : null;
}

/** One SMTP transaction on port 25; returns the replies to RCPT and the final one. */
async function send(port: number, from: string, to: string, data: string): Promise<{ rcpt: number; rcptText: string; final: number | null; finalText: string }> {
  const c = await RawSmtp.connect(port);
  try {
    await c.reply();
    await c.cmd('EHLO mta.remote.example');
    await c.cmd(`MAIL FROM:<${from}>`);
    const r = await c.cmd(`RCPT TO:<${to}>`);
    if (r.code !== 250) return { rcpt: r.code, rcptText: r.lines.join(' '), final: null, finalText: '' };
    assert.equal((await c.cmd('DATA')).code, 354);
    const f = await c.cmd(data.replace(/\r?\n/g, '\r\n') + '\r\n.');
    await c.cmd('QUIT');
    return { rcpt: r.code, rcptText: r.lines.join(' '), final: f.code, finalText: f.lines.join(' ') };
  } finally {
    c.close();
  }
}

const CLEAN = (id: string) =>
  [
    'From: Carol Friend <carol@friends.example>',
    'To: alice@example.org',
    'Subject: Lunch on Thursday?',
    'Date: Tue, 2 Jan 2024 09:30:00 +0100',
    `Message-ID: <${id}@friends.example>`,
    '',
    'Hi Alice,',
    '',
    'are you free for lunch on Thursday? The new place near the station has a',
    'nice terrace. Let me know, and say hello to Bob.',
    '',
    'Carol',
  ].join('\n');

const SPAMMY = [
  'From: Winner Notice <notice@prizes.example>',
  'To: alice@example.org',
  'Subject: YOU ARE A WINNER!!!',
  'Date: Tue, 2 Jan 2024 09:30:00 +0100',
  'Message-ID: <w1@prizes.example>',
  'X-Spam-Status: No, score=-9.0 required=5.0 tests=FORGED_BY_SENDER(-9.0)',
  'MIME-Version: 1.0',
  'Content-Type: text/html; charset=utf-8',
  '',
  '<p>Dear friend, claim your prize today. FREE MONEY is waiting.</p>',
  '<p><a href="http://198.51.100.7/claim">CLICK HERE NOW</a></p>',
].join('\n');

const BLATANT = [
  'From: <x@bulk.example>',
  'To: alice@example.org',
  'Subject: FREE MONEY FREE MONEY ACT NOW!!!',
  'MIME-Version: 1.0',
  'Content-Type: text/html',
  '',
  '<p>FREE MONEY. CLICK HERE NOW. 100% FREE, RISK FREE, NO CREDIT CHECK, LIMITED TIME OFFER.</p>',
  '<p><a href="http://paypal.example.com@203.0.113.9/login">https://www.paypal.com/login</a></p>',
  '<div style="display:none">lunch thursday terrace station hello meeting</div>',
  '<p>You have been selected! Claim your prize. Wire transfer of unclaimed funds, million dollars, viagra cialis.</p>',
].join('\n');

describe('greylisting', () => {
  let ts: TestServer;
  let clock = Date.parse('2026-01-05T10:00:00Z');
  before(async () => {
    ts = await startTestServer({
      toml: '[greylist]\nenabled = true\ndelay = "5m"\nwindow = "24h"\nwhitelist_after = 2\n',
      users: { 'alice@example.org': 'pw' },
      now: () => new Date(clock),
    });
  });
  after(() => ts.stop());

  it('first try 450, early retry 450, retry after the delay 250, then remembered, then the network is whitelisted', async () => {
    const first = await send(ts.port, 'sender@remote.example', 'alice@example.org', CLEAN('g1'));
    assert.equal(first.rcpt, 450);
    assert.match(first.rcptText, /4\.7\.1 Try again later/);
    clock += 60_000; // one minute: too soon
    assert.equal((await send(ts.port, 'sender@remote.example', 'alice@example.org', CLEAN('g1'))).rcpt, 450);
    clock += 5 * 60_000; // six minutes after the first try
    const ok = await send(ts.port, 'sender@remote.example', 'alice@example.org', CLEAN('g1'));
    assert.equal(ok.rcpt, 250);
    assert.equal(ok.final, 250);
    clock += 3 * 24 * 3600_000; // days later, the same triplet passes at once
    assert.equal((await send(ts.port, 'sender@remote.example', 'alice@example.org', CLEAN('g2'))).rcpt, 250);
    // A second triplet from the same /24 goes through the same dance…
    assert.equal((await send(ts.port, 'other@remote.example', 'alice@example.org', CLEAN('g3'))).rcpt, 450);
    clock += 10 * 60_000;
    assert.equal((await send(ts.port, 'other@remote.example', 'alice@example.org', CLEAN('g3'))).rcpt, 250);
    // …after which (whitelist_after = 2) the network is whitelisted: a new sender passes at once.
    assert.equal((await send(ts.port, 'third@elsewhere.example', 'alice@example.org', CLEAN('g4'))).rcpt, 250);
    assert.equal((await mailbox(ts, 'alice@example.org', 'INBOX')).length, 4);
    assert.ok(ts.logs.some((l) => l.msg === 'greylisted'));
  });
});

describe('rate limits', () => {
  let ts: TestServer;
  before(async () => {
    ts = await startTestServer({
      toml: '[listen]\nsmtp = "127.0.0.1:0"\nsubmission = "127.0.0.1:0"\n[auth]\nallow_plaintext_loopback = true\n[rate_limit]\nenabled = true\naccount_messages_per_hour = 100\n',
      users: { 'spammer@example.org': 'pw1', 'honest@example.org': 'pw2', 'rcpt@example.org': 'pw3' },
    });
  });
  after(() => ts.stop());

  async function login(user: string, pw: string): Promise<RawSmtp> {
    const c = await RawSmtp.connect(ts.server.ports.submission!);
    await c.reply();
    await c.cmd('EHLO client.example');
    const auth = await c.cmd(`AUTH PLAIN ${Buffer.from(`\0${user}\0${pw}`).toString('base64')}`);
    assert.equal(auth.code, 235);
    return c;
  }

  async function submit(c: RawSmtp, from: string, i: number): Promise<number> {
    const m = await c.cmd(`MAIL FROM:<${from}>`);
    if (m.code !== 250) return m.code;
    assert.equal((await c.cmd('RCPT TO:<rcpt@example.org>')).code, 250);
    assert.equal((await c.cmd('DATA')).code, 354);
    return (await c.cmd(`From: ${from}\r\nTo: rcpt@example.org\r\nSubject: note ${i}\r\n\r\nhello ${i}\r\n.`)).code;
  }

  it('200 submissions from one account cross its limit (450 4.7.1); another account is unaffected', async () => {
    const c = await login('spammer@example.org', 'pw1');
    const codes: number[] = [];
    for (let i = 0; i < 200; i++) codes.push(await submit(c, 'spammer@example.org', i));
    const accepted = codes.filter((x) => x === 250).length;
    assert.equal(accepted, 100, 'exactly the hourly limit is accepted');
    assert.ok(codes.slice(100).every((x) => x === 450), 'the rest are deferred');
    const refused = await c.cmd('MAIL FROM:<spammer@example.org>');
    assert.equal(refused.code, 450);
    assert.match(refused.lines.join(' '), /4\.7\.1 Too many messages, slow down/);
    c.close();
    const h = await login('honest@example.org', 'pw2');
    assert.equal(await submit(h, 'honest@example.org', 1), 250);
    h.close();
    // Mail accepted before the limit was reached is all there.
    assert.equal((await mailbox(ts, 'rcpt@example.org', 'INBOX')).length, 101);
    const warn = ts.logs.filter((l) => l.msg === 'rate limit reached by account (possible compromise)');
    assert.equal(warn.length, 1, 'reported once per window');
    assert.equal(warn[0].user, 'spammer@example.org');
  });

  it('a per-account override raises one account\'s limit', async () => {
    const store = ts.server.store;
    const acc = await store.getAccount('spammer@example.org');
    await store.setRateOverride(acc!.id, { messagesPerHour: 1000, recipientsPerDay: null });
    const c = await login('spammer@example.org', 'pw1');
    assert.equal(await submit(c, 'spammer@example.org', 999), 250);
    c.close();
  });
});

describe('spam filter', () => {
  let ts: TestServer;
  before(async () => {
    ts = await startTestServer({
      toml: '[listen]\nsmtp = "127.0.0.1:0"\nimap = "127.0.0.1:0"\n[spam]\nenabled = true\nbayes_min_messages = 1\n',
      users: { 'alice@example.org': 'secret-pw', 'bob@example.org': 'pw-b' },
    });
  });
  after(() => ts.stop());

  it('a clean personal message lands in INBOX with a low score', async () => {
    const r = await send(ts.port, 'carol@friends.example', 'alice@example.org', CLEAN('c1'));
    assert.equal(r.final, 250);
    const inbox = await mailbox(ts, 'alice@example.org', 'INBOX');
    assert.equal(inbox.length, 1);
    const st = parseSpamStatus(headerValue(inbox[0], 'X-Spam-Status')!);
    assert.ok(st && !st.spam && st.score < 5, `clean message scored ${st?.score}`);
    assert.ok(headerValue(inbox[0], 'X-Spam-Score') !== null);
  });

  it('a message full of spam markers lands in Junk, with headers naming the rules', async () => {
    const r = await send(ts.port, 'notice@prizes.example', 'alice@example.org', SPAMMY);
    assert.equal(r.final, 250);
    const junk = await mailbox(ts, 'alice@example.org', 'Junk');
    assert.equal(junk.length, 1);
    const st = parseSpamStatus(headerValue(junk[0], 'X-Spam-Status')!)!;
    assert.ok(st.spam && st.score >= 5, `spammy message scored ${st.score}`);
    const names = st.rules.map((x) => x.name);
    for (const n of ['SPAM_PHRASES', 'URL_IP_HOST', 'HTML_ONLY', 'SUBJECT_EXCLAMATIONS']) assert.ok(names.includes(n), `${n} in ${names.join(',')}`);
    assert.equal(junk[0].match(/^X-Spam-Status:/gim)?.length, 1, 'the sender\'s forged X-Spam-Status is gone');
    assert.ok(!junk[0].includes('FORGED_BY_SENDER'));
    assert.equal((await mailbox(ts, 'alice@example.org', 'INBOX')).length, 1);
  });

  it('a blatant one is refused at the end of DATA with 550 5.7.1 and nothing is stored', async () => {
    const r = await send(ts.port, 'x@bulk.example', 'alice@example.org', BLATANT);
    assert.equal(r.final, 550);
    assert.match(r.finalText, /5\.7\.1/);
    assert.equal((await mailbox(ts, 'alice@example.org', 'Junk')).length, 1);
    assert.equal((await mailbox(ts, 'alice@example.org', 'INBOX')).length, 1);
  });

  it('moving a message to Junk over IMAP changes the verdict on a similar message', async () => {
    const doubtful = (id: string) =>
      [
        'From: Deals <deals@offers.example>',
        'To: alice@example.org',
        'Subject: Exclusive membership upgrade',
        'Date: Tue, 2 Jan 2024 09:30:00 +0100',
        `Message-ID: <${id}@offers.example>`,
        'MIME-Version: 1.0',
        'Content-Type: text/html; charset=utf-8',
        '',
        '<p>Exclusive membership upgrade: platinum rewards, bonus points, premium lounge access,',
        'upgrade your membership tier today with our partner rewards programme.</p>',
      ].join('\n');
    assert.equal((await send(ts.port, 'deals@offers.example', 'alice@example.org', doubtful('d1'))).final, 250);
    const before = (await mailbox(ts, 'alice@example.org', 'INBOX')).find((m) => m.includes('d1@offers.example'))!;
    const st1 = parseSpamStatus(headerValue(before, 'X-Spam-Status')!)!;
    assert.ok(!st1.spam, `first copy scored ${st1.score}: ${st1.rules.map((r) => r.name)}`);

    const c = new ImapFlow({ host: '127.0.0.1', port: ts.imapPort, secure: false, doSTARTTLS: true, tls: { rejectUnauthorized: false }, auth: { user: 'alice@example.org', pass: 'secret-pw' }, logger: false });
    await c.connect();
    const lock = await c.getMailboxLock('INBOX');
    try {
      const found = await c.search({ header: { 'message-id': 'd1@offers.example' } }, { uid: true });
      assert.equal((found as number[]).length, 1);
      await c.messageMove((found as number[]).join(','), 'Junk', { uid: true });
    } finally {
      lock.release();
    }
    await c.logout();
    // The lesson is learnt after the move is durable; give the hook a moment.
    for (let i = 0; i < 50 && (await ts.server.store.getSpamTotals(0)).spam === 0; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal((await ts.server.store.getSpamTotals(0)).spam, 1);

    assert.equal((await send(ts.port, 'deals@offers.example', 'alice@example.org', doubtful('d2'))).final, 250);
    const after = (await mailbox(ts, 'alice@example.org', 'Junk')).find((m) => m.includes('d2@offers.example'));
    assert.ok(after, 'the similar message went to Junk');
    const st2 = parseSpamStatus(headerValue(after, 'X-Spam-Status')!)!;
    assert.ok(st2.rules.some((r) => r.name.startsWith('BAYES_9')), `classifier fired: ${st2.rules.map((r) => r.name)}`);
    assert.ok(st2.score > st1.score);
  });

  it('allow and block lists are per user: one message, Junk for the user who blocked the sender, INBOX for the other', async () => {
    const store = ts.server.store;
    const bob = await store.getAccount('bob@example.org');
    await store.addSenderRule({ accountId: bob!.id, pattern: '@newsletter.example', action: 'block' });
    const c = await RawSmtp.connect(ts.port);
    await c.reply();
    await c.cmd('EHLO mta.remote.example');
    await c.cmd('MAIL FROM:<news@newsletter.example>');
    assert.equal((await c.cmd('RCPT TO:<alice@example.org>')).code, 250);
    assert.equal((await c.cmd('RCPT TO:<bob@example.org>')).code, 250);
    assert.equal((await c.cmd('DATA')).code, 354);
    assert.equal((await c.cmd('From: News <news@newsletter.example>\r\nSubject: This week\r\nDate: Mon, 5 Jan 2026 09:00:00 +0000\r\nMessage-ID: <n1@newsletter.example>\r\n\r\nOur weekly notes.\r\n.')).code, 250);
    c.close();
    assert.equal((await mailbox(ts, 'bob@example.org', 'Junk')).length, 1);
    assert.equal((await mailbox(ts, 'bob@example.org', 'INBOX')).length, 0);
    assert.ok((await mailbox(ts, 'alice@example.org', 'INBOX')).some((m) => m.includes('n1@newsletter.example')));
    assert.ok(!(await mailbox(ts, 'alice@example.org', 'Junk')).some((m) => m.includes('n1@newsletter.example')));
  });
});
