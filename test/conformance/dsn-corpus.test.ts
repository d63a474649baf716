// Conformance harness for delivery status notifications: walks every real
// bounce in ../shared/conformance/smtp/dsn-corpus and dsn-misc (sisimai's
// set-of-emails, mailparser, postal-mime), finds each message/delivery-status
// part with our MIME walker and checks its RFC 3464 fields. Real MTAs break the
// RFC now and then; those parts are counted as invalid, not failures. The test
// fails on a parser exception, or when a DSN built by our own buildDsn does not
// validate strictly.
import { conformanceDir } from './location.ts';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildDsn } from '../../src/message/dsn.ts';
import type { DsnInput, DsnRecipient } from '../../src/message/dsn.ts';
import {
  parseMime,
  decodeBody,
  findDeliveryStatusParts,
  parseDeliveryStatus,
  validateDeliveryStatus,
} from '../../src/message/dsn-parse.ts';
import type { DsnProblem } from '../../src/message/dsn-parse.ts';

const repoRoot = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const conformance = conformanceDir;
const dirs = ['smtp/dsn-corpus', 'smtp/dsn-misc'].map((d) => join(conformance, d));
const present = dirs.every((d) => existsSync(d));

interface PartResult {
  file: string;
  nested: boolean;
  recipients: number;
  errors: DsnProblem[];
  warnings: DsnProblem[];
}

function checkMessage(file: string, bytes: Buffer, strict: boolean): PartResult[] {
  const root = parseMime(bytes);
  return findDeliveryStatusParts(root).map(({ part, nested }) => {
    const st = parseDeliveryStatus(decodeBody(part).toString('utf8'));
    const v = validateDeliveryStatus(st, { strict, global: part.type === 'message/global-delivery-status' });
    return {
      file,
      nested,
      recipients: st.recipients.length,
      errors: v.problems.filter((p) => p.level === 'error' || strict),
      warnings: v.problems.filter((p) => p.level === 'warning'),
    };
  });
}

test('dsn-corpus: every real bounce parses; delivery-status fields counted', { skip: !present && `no ${conformance}/smtp/dsn-corpus (shared conformance data absent)` }, () => {
  const files = dirs.flatMap((d) =>
    readdirSync(d)
      .filter((f) => f.endsWith('.eml'))
      .sort()
      .map((f) => join(d, f)),
  );
  assert.ok(files.length > 0);
  const exceptions: string[] = [];
  const results: PartResult[] = [];
  let filesWithDs = 0;
  const outsideMime: string[] = [];
  for (const path of files) {
    const name = path.slice(conformance.length + 1);
    const bytes = readFileSync(path);
    let parts: PartResult[];
    try {
      parts = checkMessage(name, bytes, false);
    } catch (e) {
      exceptions.push(`${name}: ${(e as Error).stack}`);
      continue;
    }
    if (parts.length) filesWithDs++;
    else if (/^content-type:[ \t]*message\/delivery-status/im.test(bytes.toString('latin1'))) outsideMime.push(name);
    results.push(...parts);
  }
  const valid = results.filter((r) => r.errors.length === 0);
  const invalid = results.filter((r) => r.errors.length > 0);
  const clean = valid.filter((r) => r.warnings.length === 0);
  const recipients = results.reduce((n, r) => n + r.recipients, 0);

  console.log(`dsn-corpus: ${valid.length}/${results.length} delivery-status parts parsed`);
  console.log(
    `dsn-corpus: ${files.length} messages, ${filesWithDs} with a delivery-status part, ${recipients} recipient groups; ` +
      `${invalid.length} invalid (RFC 3464 required fields), ${valid.length - clean.length} valid with warnings, ` +
      `${outsideMime.length} mention message/delivery-status outside a well-formed MIME structure`,
  );
  for (const r of invalid) console.log(`  invalid ${r.file}${r.nested ? ' (nested)' : ''}: ${r.errors.map((p) => `${p.where}: ${p.text}`).join('; ')}`);
  const warningCounts = new Map<string, number>();
  for (const r of valid) for (const w of r.warnings) {
    const key = w.text.replace(/: .*$/, '').replace(/"[^"]*"/g, '…');
    warningCounts.set(key, (warningCounts.get(key) ?? 0) + 1);
  }
  for (const [k, n] of [...warningCounts].sort((a, b) => b[1] - a[1])) console.log(`  warning ×${n}: ${k}`);
  for (const f of outsideMime) console.log(`  not a MIME delivery-status part: ${f}`);

  assert.deepEqual(exceptions, []);
  // A walker that silently found nothing would pass the checks above; the corpus has well over 150.
  assert.ok(results.length >= 150, `only ${results.length} delivery-status parts found`);
});

const ORIGINAL = Buffer.from(
  'From: Alice <alice@a.test>\r\nTo: bob@b.test\r\nSubject: hello\r\nMessage-ID: <1@a.test>\r\n\r\nHi Bob.\r\n',
);

function ours(over: Partial<DsnInput>): DsnInput {
  return {
    reportingMta: 'mx.a.test',
    postmaster: 'MAILER-DAEMON@mx.a.test',
    to: 'alice@a.test',
    queueId: 'Q1',
    arrivalDate: new Date('2025-03-01T08:00:00Z'),
    now: new Date('2025-03-06T08:00:00Z'),
    original: ORIGINAL,
    ret: 'FULL',
    recipients: [],
    ...over,
  };
}

const failed: DsnRecipient = {
  address: 'bob@b.test',
  orcpt: 'rfc822;bob@b.test',
  action: 'failed',
  status: '5.1.1',
  remoteMta: 'mx.b.test',
  diagnostic: '550 5.1.1 <bob@b.test>: Recipient address rejected: User unknown in local recipient table',
  lastAttempt: new Date('2025-03-01T08:00:02Z'),
};

const OURS: [string, DsnInput][] = [
  ['user unknown, RET=FULL', ours({ recipients: [failed], envid: 'ENV+2B1' })],
  ['mailbox full, RET=HDRS', ours({ ret: 'HDRS', recipients: [{ ...failed, status: '5.2.2', diagnostic: '552-5.2.2 The mailbox is full\r\n552 5.2.2 try later' }] })],
  ['null MX', ours({ recipients: [{ address: 'x@null.test', action: 'failed', status: '5.1.10', diagnostic: null }] })],
  ['expired', ours({ recipients: [{ ...failed, status: '4.4.7', diagnostic: '451 4.7.1 Greylisted' }] })],
  ['delay warning', ours({ ret: 'HDRS', recipients: [{ ...failed, action: 'delayed', status: '4.4.1', diagnostic: 'connection refused', willRetryUntil: new Date('2025-03-11T08:00:00Z') }] })],
  ['success', ours({ ret: 'HDRS', recipients: [{ ...failed, action: 'delivered', status: '2.0.0', diagnostic: '250 2.0.0 Ok: queued as ABC' }] })],
  ['mixed', ours({ recipients: [failed, { ...failed, address: 'c@b.test', action: 'delayed', status: '4.2.2' }, { ...failed, address: 'd@b.test', action: 'relayed', status: '2.0.0' }] })],
  ['internationalized', ours({ to: 'álvaro@a.test', recipients: [{ ...failed, address: 'josé@b.test', orcpt: 'utf-8;jos\\x{E9}@b.test' }], original: Buffer.from('Subject: Olá\r\n\r\nx\r\n') })],
  ['oversized original', ours({ original: Buffer.concat([ORIGINAL, Buffer.alloc(2 * 1024 * 1024, 'a\r\n')]), recipients: [failed] })],
];

test('dsn-corpus: our own DSNs validate strictly', () => {
  let ok = 0;
  const failures: string[] = [];
  for (const [name, input] of OURS) {
    const results = checkMessage(name, buildDsn(input), true);
    const top = results.filter((r) => !r.nested);
    if (top.length !== 1) failures.push(`${name}: ${top.length} delivery-status parts`);
    else if (top[0].errors.length) failures.push(`${name}: ${top[0].errors.map((p) => `${p.where}: ${p.text}`).join('; ')}`);
    else if (top[0].recipients !== input.recipients.length) failures.push(`${name}: ${top[0].recipients} recipient groups`);
    else ok++;
  }
  console.log(`dsn-corpus: ${ok}/${OURS.length} Mailroom DSNs valid (strict)`);
  assert.deepEqual(failures, []);
});
