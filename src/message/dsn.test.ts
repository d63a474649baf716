import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fc from 'fast-check';
import { buildDsn, humanExplanation, DSN_MAX_FULL_ORIGINAL } from './dsn.ts';
import type { DsnInput, DsnRecipient } from './dsn.ts';
import {
  parseMime,
  decodeBody,
  headerValue,
  parseDeliveryStatus,
  validateDeliveryStatus,
  dsnField,
  findDeliveryStatusParts,
} from './dsn-parse.ts';
import type { MimePart } from './dsn-parse.ts';

const ARRIVAL = new Date('2025-03-01T08:00:00Z');
const NOW = new Date('2025-03-06T08:00:00Z');

const ORIGINAL = Buffer.from(
  'From: Alice <alice@a.test>\r\n' +
    'To: nobody@other.example\r\n' +
    'Subject: Lunch on Friday\r\n' +
    'Message-ID: <orig.1@a.test>\r\n' +
    'Date: Sat, 1 Mar 2025 08:00:00 +0000\r\n' +
    '\r\n' +
    'Shall we meet at noon?\r\n',
);

const USER_UNKNOWN: DsnRecipient = {
  address: 'nobody@other.example',
  orcpt: 'rfc822;nobody@other.example',
  action: 'failed',
  status: '5.1.1',
  remoteMta: 'mx.other.example',
  diagnostic: '550 5.1.1 <nobody@other.example>: Recipient address rejected: User unknown',
  lastAttempt: new Date('2025-03-01T08:00:05Z'),
};

function input(over: Partial<DsnInput> = {}): DsnInput {
  return {
    reportingMta: 'mx.a.test',
    postmaster: 'MAILER-DAEMON@mx.a.test',
    to: 'alice@a.test',
    queueId: 'Q7F3A',
    arrivalDate: ARRIVAL,
    recipients: [USER_UNKNOWN],
    original: ORIGINAL,
    ret: 'FULL',
    now: NOW,
    ...over,
  };
}

function hasBareCrOrLf(b: Buffer): boolean {
  for (let i = 0; i < b.length; i++) {
    if (b[i] === 13 && b[i + 1] !== 10) return true;
    if (b[i] === 10 && (i === 0 || b[i - 1] !== 13)) return true;
  }
  return false;
}

function headerBlock(b: Buffer): string {
  const s = b.toString('utf8');
  return s.slice(0, s.indexOf('\r\n\r\n'));
}

const squash = (s: string) => s.replace(/\s+/g, ' ');

/** The three parts, decoded for reading. */
function parts(b: Buffer): { root: MimePart; text: string; report: MimePart; ret: MimePart } {
  const root = parseMime(b);
  assert.equal(root.type, 'multipart/report');
  assert.equal(root.parts.length, 3);
  return { root, text: decodeBody(root.parts[0]).toString('utf8'), report: root.parts[1], ret: root.parts[2] };
}

test('failure DSN: headers, three parts, RFC 3464 fields', () => {
  const out = buildDsn(input());
  assert.equal(hasBareCrOrLf(out), false);
  const head = headerBlock(out);
  assert.match(head, /^From: Mail Delivery System <MAILER-DAEMON@mx\.a\.test>\r\n/);
  assert.match(head, /\r\nTo: <alice@a\.test>\r\n/);
  assert.match(head, /\r\nSubject: Undelivered Mail Returned to Sender\r\n/);
  assert.match(head, /\r\nDate: Thu, 6 Mar 2025 08:00:00 \+0000\r\n/);
  assert.match(head, /\r\nMessage-ID: <[^\s<>]+@mx\.a\.test>\r\n/);
  assert.match(head, /\r\nMIME-Version: 1\.0\r\n/);
  assert.match(head, /\r\nAuto-Submitted: auto-replied\r\n/);
  assert.match(head, /\r\nContent-Type: multipart\/report; report-type=delivery-status;\r\n\tboundary="[^"]+"/);

  const { root, report, ret } = parts(out);
  assert.equal(root.params['report-type'], 'delivery-status');
  assert.equal(root.parts[0].type, 'text/plain');
  assert.equal(root.parts[0].params.charset, 'utf-8');
  assert.equal(report.type, 'message/delivery-status');
  assert.equal(ret.type, 'message/rfc822');
  assert.equal(headerValue(ret.message!.headers, 'subject'), 'Lunch on Friday');
  assert.equal(ret.message!.body, 'Shall we meet at noon?\r\n');

  const ds = parseDeliveryStatus(decodeBody(report).toString('utf8'));
  assert.deepEqual(validateDeliveryStatus(ds, { strict: true }), { valid: true, problems: [] });
  assert.deepEqual(
    ds.perMessage.map((f) => f.name),
    ['Reporting-MTA', 'Arrival-Date', 'X-Mailroom-Queue-ID'],
  );
  assert.equal(dsnField(ds.perMessage, 'Reporting-MTA'), 'dns; mx.a.test');
  assert.equal(dsnField(ds.perMessage, 'Arrival-Date'), 'Sat, 1 Mar 2025 08:00:00 +0000');
  assert.equal(ds.recipients.length, 1);
  const r = ds.recipients[0];
  assert.deepEqual(
    r.map((f) => f.name),
    ['Original-Recipient', 'Final-Recipient', 'Action', 'Status', 'Remote-MTA', 'Diagnostic-Code', 'Last-Attempt-Date'],
  );
  assert.equal(dsnField(r, 'Original-Recipient'), 'rfc822; nobody@other.example');
  assert.equal(dsnField(r, 'Final-Recipient'), 'rfc822; nobody@other.example');
  assert.equal(dsnField(r, 'Action'), 'failed');
  assert.equal(dsnField(r, 'Status'), '5.1.1');
  assert.equal(dsnField(r, 'Remote-MTA'), 'dns; mx.other.example');
  assert.equal(dsnField(r, 'Diagnostic-Code'), 'smtp; 550 5.1.1 <nobody@other.example>: Recipient address rejected: User unknown');
  assert.equal(dsnField(r, 'Last-Attempt-Date'), 'Sat, 1 Mar 2025 08:00:05 +0000');
});

test('every line of a normal DSN is at most 78 characters', () => {
  const out = buildDsn(input({ recipients: [USER_UNKNOWN, { ...USER_UNKNOWN, address: 'x'.repeat(40) + '@other.example' }] }));
  for (const line of out.toString('utf8').split('\r\n')) assert.ok(line.length <= 78, `too long: ${line}`);
});

test('deterministic given now, boundary and Message-ID; defaults are stable too', () => {
  assert.deepEqual(buildDsn(input()), buildDsn(input()));
  const a = buildDsn(input({ boundary: 'BOUNDARY-1', messageId: '<dsn.1@mx.a.test>' }));
  assert.match(headerBlock(a), /boundary="BOUNDARY-1"/);
  assert.match(headerBlock(a), /Message-ID: <dsn\.1@mx\.a\.test>/);
  assert.deepEqual(a, buildDsn(input({ boundary: 'BOUNDARY-1', messageId: 'dsn.1@mx.a.test' })));
  assert.notDeepEqual(buildDsn(input()), buildDsn(input({ now: new Date(NOW.getTime() + 1000) })));
});

test('a boundary that occurs in the content is changed', () => {
  const original = Buffer.from('Subject: trap\r\n\r\n--BOUNDARY-1\r\nContent-Type: text/plain\r\n\r\nfake\r\n--BOUNDARY-1--\r\n');
  const out = buildDsn(input({ original, boundary: 'BOUNDARY-1' }));
  const boundary = parseMime(out).params.boundary;
  assert.notEqual(boundary, 'BOUNDARY-1');
  assert.ok(boundary.startsWith('BOUNDARY-1'));
  const { ret } = parts(out);
  assert.ok(ret.message!.body.includes('--BOUNDARY-1--'));
});

test('subjects and actions for delay and success notices', () => {
  const delayed: DsnRecipient = {
    address: 'bob@other.example',
    action: 'delayed',
    status: '4.4.1',
    remoteMta: 'mx.other.example',
    diagnostic: 'connection refused',
    lastAttempt: new Date('2025-03-01T12:00:00Z'),
    willRetryUntil: new Date('2025-03-06T08:00:00Z'),
  };
  const d = buildDsn(input({ recipients: [delayed], ret: 'HDRS' }));
  assert.match(headerBlock(d), /\r\nSubject: Delivery Status Notification \(Delay\)\r\n/);
  const dp = parts(d);
  const ds = parseDeliveryStatus(decodeBody(dp.report).toString('utf8'));
  assert.ok(validateDeliveryStatus(ds, { strict: true }).valid);
  assert.equal(dsnField(ds.recipients[0], 'Action'), 'delayed');
  assert.equal(dsnField(ds.recipients[0], 'Will-Retry-Until'), 'Thu, 6 Mar 2025 08:00:00 +0000');
  assert.equal(dsnField(ds.recipients[0], 'Diagnostic-Code'), 'X-Mailroom; connection refused');
  assert.equal(dp.ret.type, 'text/rfc822-headers');

  const s = buildDsn(input({ recipients: [{ address: 'bob@other.example', action: 'delivered', status: '2.0.0', remoteMta: 'mx.other.example', diagnostic: '250 2.0.0 Ok: queued as 1234' }], ret: 'HDRS' }));
  assert.match(headerBlock(s), /\r\nSubject: Delivery Status Notification \(Success\)\r\n/);
  const sp = parts(s);
  assert.ok(validateDeliveryStatus(parseDeliveryStatus(decodeBody(sp.report).toString('utf8')), { strict: true }).valid);
  assert.match(squash(sp.text), /Your message was delivered to bob@other\.example\./);

  // A failure among others makes it a failure notice.
  const mixed = buildDsn(input({ recipients: [delayed, USER_UNKNOWN] }));
  assert.match(headerBlock(mixed), /Subject: Undelivered Mail Returned to Sender/);
});

test('status codes: malformed or contradicting the action are replaced', () => {
  const out = buildDsn(
    input({
      recipients: [
        { address: 'a@x.example', action: 'failed', status: 'bogus' },
        { address: 'b@x.example', action: 'delayed', status: '5.2.2' },
        { address: 'c@x.example', action: 'delivered', status: '4.0.0' },
        { address: 'd@x.example', action: 'failed', status: '4.4.7' },
      ],
    }),
  );
  const ds = parseDeliveryStatus(decodeBody(parts(out).report).toString('utf8'));
  assert.ok(validateDeliveryStatus(ds, { strict: true }).valid);
  assert.deepEqual(ds.recipients.map((r) => dsnField(r, 'Status')), ['5.0.0', '4.2.2', '2.0.0', '4.4.7']);

  // An action outside RFC 3464's five (say, a bad queue row) is reported as failed.
  const odd = buildDsn(input({ recipients: [{ address: 'e@x.example', action: 'bounced' as DsnRecipient['action'], status: '5.1.1' }] }));
  const oddDs = parseDeliveryStatus(decodeBody(parts(odd).report).toString('utf8'));
  assert.equal(dsnField(oddDs.recipients[0], 'Action'), 'failed');
  assert.match(headerBlock(odd), /Subject: Undelivered Mail Returned to Sender/);
});

test('ORCPT and ENVID are xtext-decoded; a multi-line reply is folded into one Diagnostic-Code', () => {
  const out = buildDsn(
    input({
      envid: 'QQ+2B1',
      recipients: [
        {
          ...USER_UNKNOWN,
          orcpt: 'rfc822;nobody+2Btag@other.example',
          diagnostic: '550-5.1.1 The email account that you tried to reach does not exist. Please try\r\n550-5.1.1 double-checking the recipient\'s email address for typos or\r\n550 5.1.1 unnecessary spaces. https://support.example/mail/?p=NoSuchUser',
        },
      ],
    }),
  );
  const raw = decodeBody(parts(out).report).toString('utf8');
  for (const line of raw.split('\r\n')) assert.ok(line.length <= 78, line);
  const ds = parseDeliveryStatus(raw);
  assert.ok(validateDeliveryStatus(ds, { strict: true }).valid);
  assert.equal(dsnField(ds.perMessage, 'Original-Envelope-Id'), 'QQ+1');
  assert.equal(ds.perMessage[0].name, 'Original-Envelope-Id');
  assert.equal(dsnField(ds.recipients[0], 'Original-Recipient'), 'rfc822; nobody+tag@other.example');
  assert.equal(
    dsnField(ds.recipients[0], 'Diagnostic-Code'),
    "smtp; 550-5.1.1 The email account that you tried to reach does not exist. Please try 550-5.1.1 double-checking the recipient's email address for typos or 550 5.1.1 unnecessary spaces. https://support.example/mail/?p=NoSuchUser",
  );
});

test('RET=HDRS returns text/rfc822-headers; FULL above the size cap falls back to headers and says so', () => {
  const h = parts(buildDsn(input({ ret: 'HDRS' })));
  assert.equal(h.ret.type, 'text/rfc822-headers');
  assert.ok(h.ret.body.includes('Subject: Lunch on Friday\r\n'));
  assert.ok(!h.ret.body.includes('Shall we meet'));
  assert.match(squash(h.text), /The headers of your original message are attached\./);

  const big = Buffer.concat([ORIGINAL, Buffer.from(('x'.repeat(998) + '\r\n').repeat(Math.ceil(DSN_MAX_FULL_ORIGINAL / 1000) + 1))]);
  const out = buildDsn(input({ original: big }));
  assert.ok(out.length < 64 * 1024);
  const b = parts(out);
  assert.equal(b.ret.type, 'text/rfc822-headers');
  assert.match(squash(b.text), /Your message was too large to return in full \(1\.0 MB\); only its headers are attached\./);
});

test('bare LF in the original becomes CRLF; an original without a body still works', () => {
  const out = buildDsn(input({ original: Buffer.from('Subject: lf\nX: y\n\nbody\rmore\n') }));
  assert.equal(hasBareCrOrLf(out), false);
  assert.equal(parts(out).ret.message!.body, 'body\r\nmore\r\n');
  const headersOnly = buildDsn(input({ original: Buffer.from('Subject: no body'), ret: 'HDRS' }));
  assert.equal(hasBareCrOrLf(headersOnly), false);
  assert.equal(parts(headersOnly).ret.body, 'Subject: no body\r\n');
});

test('UTF-8: global delivery-status only when an address needs it; message/global for 8-bit headers', () => {
  const ascii = parts(buildDsn(input()));
  assert.equal(ascii.report.type, 'message/delivery-status');

  const intl = buildDsn(input({ recipients: [{ ...USER_UNKNOWN, address: 'josé@bücher.example', orcpt: 'utf-8;jos\\x{E9}@b\\x{FC}cher.example' }] }));
  const p = parts(intl);
  assert.equal(p.report.type, 'message/global-delivery-status');
  const ds = parseDeliveryStatus(decodeBody(p.report).toString('utf8'));
  assert.ok(validateDeliveryStatus(ds, { strict: true, global: true }).valid);
  assert.equal(dsnField(ds.recipients[0], 'Final-Recipient'), 'utf-8; josé@bücher.example');
  assert.equal(dsnField(ds.recipients[0], 'Original-Recipient'), 'utf-8; josé@bücher.example');
  assert.equal(headerValue(p.root.parts[0].headers, 'content-transfer-encoding'), 'quoted-printable');
  assert.match(squash(p.text), /The mailbox josé@bücher\.example does not exist\./);

  const utf8Original = Buffer.from('From: José <jose@a.test>\r\nSubject: Café\r\n\r\nOlá\r\n', 'utf8');
  const full = parts(buildDsn(input({ original: utf8Original })));
  assert.equal(full.ret.type, 'message/global');
  assert.equal(headerValue(full.ret.headers, 'content-transfer-encoding'), '8bit');
  const hdrs = parts(buildDsn(input({ original: utf8Original, ret: 'HDRS' })));
  assert.equal(hdrs.ret.type, 'message/global-headers');
  // The report itself stays plain when only the original is 8-bit.
  assert.equal(full.report.type, 'message/delivery-status');
});

test('humanExplanation: plain words per status', () => {
  assert.equal(
    humanExplanation(USER_UNKNOWN),
    'Your message to nobody@other.example could not be delivered. The mailbox nobody@other.example does not exist. Check the address for typing mistakes.',
  );
  assert.match(humanExplanation({ address: 'full@other.example', action: 'failed', status: '5.2.2' }), /The recipient's mailbox is full\./);
  const fullLater = humanExplanation({
    address: 'full@other.example',
    action: 'delayed',
    status: '4.2.2',
    willRetryUntil: new Date('2025-03-06T08:00:00Z'),
  });
  assert.match(fullLater, /The recipient's mailbox is full\. We will keep trying until 6 Mar 2025, 08:00 UTC\. You do not need to send it again\.$/);
  assert.match(humanExplanation({ address: 'a@other.example', action: 'failed', status: '5.1.10' }), /The domain other\.example does not accept mail\./);
  assert.match(
    humanExplanation({ address: 'a@other.example', action: 'failed', status: '4.4.7', lastAttempt: NOW }, { arrivalDate: ARRIVAL }),
    /We could not deliver it for 5 days and have given up\./,
  );
  assert.match(
    humanExplanation({ address: 'a@other.example', action: 'failed', status: '4.4.7' }, { arrivalDate: ARRIVAL, now: new Date(ARRIVAL.getTime() + 3 * 3600_000) }),
    /for 3 hours and have given up/,
  );
  assert.match(
    humanExplanation({ address: 'a@other.example', action: 'failed', status: '5.7.1' }),
    /The receiving server refused it as a policy decision \(for example, as suspected spam\)\./,
  );
  assert.match(
    humanExplanation({ address: 'a@other.example', action: 'delayed', status: '4.4.1' }),
    /has not been delivered yet\. .* We will keep trying for a while\. You do not need to send it again\.$/,
  );
  assert.match(humanExplanation({ address: 'a@other.example', action: 'failed', status: '5.9.9' }), /refused it permanently/);
  assert.match(humanExplanation({ address: 'a@other.example', action: 'failed', status: '5.3.4' }), /too big/);
  assert.match(humanExplanation({ address: 'a@other.example', action: 'failed', status: '5.6.7' }), /UTF-8/);
});

test('the text part explains each recipient and quotes the remote reply verbatim', () => {
  const recipients: DsnRecipient[] = [
    USER_UNKNOWN,
    { address: 'full@other.example', action: 'failed', status: '5.2.2', remoteMta: 'mx.other.example', diagnostic: '552 5.2.2 Mailbox full' },
    { address: 'x@nullmx.example', action: 'failed', status: '5.1.10', diagnostic: null },
    { address: 'slow@other.example', action: 'failed', status: '4.4.7', remoteMta: 'mx.other.example', diagnostic: '451 4.7.1 Greylisted, try later', lastAttempt: NOW },
    { address: 'later@other.example', action: 'delayed', status: '4.4.1', willRetryUntil: new Date('2025-03-10T08:00:00Z') },
  ];
  const { text } = parts(buildDsn(input({ recipients })));
  const t = squash(text);
  assert.ok(t.includes('The mailbox nobody@other.example does not exist. Check the address for typing mistakes.'));
  assert.ok(t.includes('The server mx.other.example answered: 550 5.1.1 <nobody@other.example>: Recipient address rejected: User unknown'));
  assert.ok(t.includes("The recipient's mailbox is full."));
  assert.ok(t.includes('The server mx.other.example answered: 552 5.2.2 Mailbox full'));
  assert.ok(t.includes('The domain nullmx.example does not accept mail.'));
  assert.ok(t.includes('We could not deliver it for 5 days and have given up.'));
  assert.ok(t.includes('We will keep trying until 10 Mar 2025, 08:00 UTC. You do not need to send it again.'));
  assert.ok(t.includes('Your original message is attached.'));
  assert.ok(t.includes('Q7F3A'));
});

test('a long reply line keeps its words on one decoded line (quoted-printable), wire lines stay ≤ 76', () => {
  const diagnostic = '550 5.7.1 ' + 'Message rejected because it looks like spam according to our filters '.repeat(3).trim();
  const out = buildDsn(input({ recipients: [{ ...USER_UNKNOWN, status: '5.7.1', diagnostic }] }));
  const { root, text } = parts(out);
  assert.equal(headerValue(root.parts[0].headers, 'content-transfer-encoding'), 'quoted-printable');
  for (const line of root.parts[0].body.split('\r\n')) assert.ok(line.length <= 76, line);
  assert.ok(text.includes(`The server mx.other.example answered: ${diagnostic}\r\n`));
});

// --- Python's email package as an independent reader -----------------------

const havePython = spawnSync('python3', ['-c', 'import email'], { stdio: 'ignore' }).status === 0;

const PY = String.raw`
import sys, json, email, email.policy
msg = email.message_from_bytes(sys.stdin.buffer.read(), policy=email.policy.default)
out = {'type': msg.get_content_type(), 'report_type': msg.get_param('report-type'),
       'subject': str(msg['subject']), 'from': str(msg['from']), 'to': str(msg['to']),
       'auto': str(msg['auto-submitted']), 'defects': [], 'parts': []}
for p in msg.walk():
    out['defects'] += [type(d).__name__ for d in p.defects]
for p in msg.iter_parts():
    ct = p.get_content_type()
    info = {'type': ct}
    if ct == 'text/plain':
        info['text'] = p.get_content()
    elif ct in ('message/delivery-status',):
        info['blocks'] = [{k: str(v) for k, v in b.items()} for b in p.get_payload()]
    elif ct in ('message/rfc822', 'message/global'):
        inner = p.get_payload(0)
        info['subject'] = str(inner['subject'])
        info['body'] = inner.get_payload()
    elif ct == 'text/rfc822-headers':
        info['text'] = p.get_content()
    out['parts'].append(info)
print(json.dumps(out))
`;

function pythonParse(b: Buffer): Promise<any> {
  return new Promise((resolve, reject) => {
    const child = spawn('python3', ['-c', PY], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(JSON.parse(stdout)) : reject(new Error(`python3 exited ${code}: ${stderr}`))));
    child.stdin.end(b);
  });
}

test('Python email parses a failure DSN: report, recipient fields, attached original', { skip: !havePython && 'python3 not available' }, async () => {
  const out = await pythonParse(buildDsn(input({ envid: 'ENV1' })));
  assert.equal(out.type, 'multipart/report');
  assert.equal(out.report_type, 'delivery-status');
  assert.equal(out.subject, 'Undelivered Mail Returned to Sender');
  assert.equal(out.from, 'Mail Delivery System <MAILER-DAEMON@mx.a.test>');
  assert.equal(out.to, 'alice@a.test');
  assert.equal(out.auto, 'auto-replied');
  assert.deepEqual(out.defects, []);
  assert.deepEqual(out.parts.map((p: any) => p.type), ['text/plain', 'message/delivery-status', 'message/rfc822']);
  assert.match(squash(out.parts[0].text), /The mailbox nobody@other\.example does not exist\./);
  const [perMessage, rcpt] = out.parts[1].blocks;
  assert.equal(perMessage['Reporting-MTA'], 'dns; mx.a.test');
  assert.equal(perMessage['Original-Envelope-Id'], 'ENV1');
  assert.equal(rcpt['Final-Recipient'], 'rfc822; nobody@other.example');
  assert.equal(rcpt['Original-Recipient'], 'rfc822; nobody@other.example');
  assert.equal(rcpt['Action'], 'failed');
  assert.equal(rcpt['Status'], '5.1.1');
  assert.equal(rcpt['Remote-MTA'], 'dns; mx.other.example');
  assert.equal(rcpt['Diagnostic-Code'], 'smtp; 550 5.1.1 <nobody@other.example>: Recipient address rejected: User unknown');
  assert.equal(out.parts[2].subject, 'Lunch on Friday');
  assert.equal(out.parts[2].body, 'Shall we meet at noon?\r\n');
});

test('Python email parses delay (HDRS) and multi-recipient DSNs without defects', { skip: !havePython && 'python3 not available' }, async () => {
  const recipients: DsnRecipient[] = [
    { address: 'a@other.example', action: 'delayed', status: '4.4.1', remoteMta: 'mx.other.example', diagnostic: '421-4.4.1 busy\r\n421 4.4.1 come back later', willRetryUntil: NOW },
    { address: 'b@other.example', action: 'delayed', status: '4.2.2', remoteMta: 'mx.other.example', diagnostic: '452 4.2.2 Over quota '.repeat(8) },
  ];
  const out = await pythonParse(buildDsn(input({ recipients, ret: 'HDRS' })));
  assert.deepEqual(out.defects, []);
  assert.equal(out.subject, 'Delivery Status Notification (Delay)');
  assert.deepEqual(out.parts.map((p: any) => p.type), ['text/plain', 'message/delivery-status', 'text/rfc822-headers']);
  const blocks = out.parts[1].blocks;
  assert.equal(blocks.length, 3);
  assert.equal(blocks[1]['Diagnostic-Code'], 'smtp; 421-4.4.1 busy 421 4.4.1 come back later');
  assert.equal(blocks[2]['Status'], '4.2.2');
  assert.equal(blocks[2]['Diagnostic-Code'], 'smtp; ' + '452 4.2.2 Over quota '.repeat(8).trim());
  assert.match(out.parts[2].text, /Subject: Lunch on Friday/);
  assert.match(squash(out.parts[0].text), /You do not need to send it again\./);
});

// --- properties ---------------------------------------------------------------

/** Text made of nasty fragments and arbitrary characters. */
const nasty = fc
  .array(
    fc.oneof(
      fc.constantFrom('\r', '\n', '\r\n', '\n.\r\n', '--', '; ', '(', ')', '"', ':', ' ', '\t', '\u0085', '\u2028', '\u3000', '\ufeff', '\x00', '=', 'é', '😀', '\ud800', '--BOUND'),
      fc.string({ maxLength: 20 }),
      fc.string({ unit: 'binary', maxLength: 10 }),
      fc.string({ unit: 'binary', minLength: 100, maxLength: 300 }),
    ),
    { maxLength: 30 },
  )
  .map((xs) => xs.join(''));

const recipientArb: fc.Arbitrary<DsnRecipient> = fc.record({
  address: nasty,
  orcpt: fc.option(nasty),
  action: fc.constantFrom('failed', 'delayed', 'delivered', 'relayed', 'expanded') as fc.Arbitrary<DsnRecipient['action']>,
  status: fc.oneof(fc.constantFrom('5.1.1', '4.4.7', '2.0.0', '5.1.10', '4.2.2'), nasty),
  remoteMta: fc.option(nasty),
  diagnostic: fc.option(fc.oneof(nasty, nasty.map((s) => '550 ' + s.repeat(40)))),
  lastAttempt: fc.option(fc.date({ min: new Date('2000-01-01'), max: new Date('2100-01-01'), noInvalidDate: true })),
  willRetryUntil: fc.option(fc.date({ noInvalidDate: true })),
});

test('property: arbitrary recipient texts never produce bare CR/LF or break the structure', () => {
  fc.assert(
    fc.property(
      fc.array(recipientArb, { minLength: 1, maxLength: 4 }),
      nasty,
      nasty,
      fc.option(nasty),
      fc.option(nasty),
      fc.constantFrom<'FULL' | 'HDRS'>('FULL', 'HDRS'),
      fc.uint8Array({ maxLength: 300 }),
      (recipients, to, queueId, envid, boundary, ret, body) => {
        const original = Buffer.concat([Buffer.from('Subject: x\r\n\r\n'), Buffer.from(body)]);
        const out = buildDsn(input({ recipients, to, queueId, envid, boundary: boundary ?? undefined, ret, original, reportingMta: queueId || 'mx' }));
        assert.equal(hasBareCrOrLf(out), false);
        const root = parseMime(out);
        assert.equal(root.type, 'multipart/report');
        assert.equal(root.parts.length, 3);
        const b = root.params.boundary;
        for (const p of root.parts) assert.ok(!p.body.includes(b), "boundary in body");
        assert.equal(findDeliveryStatusParts(root).filter((p) => !p.nested).length, 1);
        const report = root.parts[1];
        const global = report.type === 'message/global-delivery-status';
        const ds = parseDeliveryStatus(decodeBody(report).toString('utf8'));
        const v = validateDeliveryStatus(ds, { strict: true, global });
        assert.ok(v.valid, JSON.stringify(v.problems));
        assert.equal(ds.recipients.length, recipients.length);
        assert.deepEqual(ds.recipients.map((r) => dsnField(r, 'Action')), recipients.map((r) => r.action));
        // Header and report lines stay within RFC 5322's 998.
        const s = out.toString('latin1');
        const headEnd = s.indexOf('\r\n\r\n');
        for (const line of s.slice(0, headEnd).split("\r\n")) assert.ok(line.length <= 998, "head " + line.length);
        for (const line of report.body.split("\r\n")) assert.ok(line.length <= 998, "report " + line.length);
        for (const line of root.parts[0].body.split("\r\n")) assert.ok(line.length <= 998, "text " + line.length);
      },
    ),
    { numRuns: Number(process.env.DSN_RUNS ?? 200), endOnFailure: !!process.env.DSN_END },
  );
});
