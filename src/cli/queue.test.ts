// `mailroom queue list|show|retry|delete|bounce` as child processes against a
// data directory whose queue is filled through an in-process store (the same
// path the router takes: deliver() with `outbound`). Checks stdout, stderr and
// exit codes (0 ok, 1 error, 2 usage), and what each command leaves in the
// store: due times after retry, a bounce in the local sender's INBOX, a
// queued bounce from <> for a remote sender, none for the null sender.

import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openSqliteStore } from '../store/sqlite/index.ts';
import type { DsnNotify, QueuedMessage, Store } from '../store/store.ts';

const MAIN = fileURLToPath(new URL('./main.ts', import.meta.url));
const HOUR = 3_600_000;

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** Runs `mailroom --config CONFIG ARGS` to completion (asynchronously, so several can run at once). */
function cli(config: string, args: string[]): Promise<Result> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [MAIN, '--config', config, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    p.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    p.on('error', reject);
    p.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

async function ok(config: string, args: string[]): Promise<string> {
  const r = await cli(config, args);
  assert.equal(r.code, 0, `mailroom ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
  assert.equal(r.stderr, '', `mailroom ${args.join(' ')} wrote to stderr`);
  return r.stdout;
}

async function fails(config: string, args: string[], code: number, ...stderr: RegExp[]): Promise<void> {
  const r = await cli(config, args);
  assert.equal(r.code, code, `mailroom ${args.join(' ')}: expected exit ${code}, got ${r.code}; stderr: ${r.stderr}`);
  for (const re of stderr) assert.match(r.stderr, re, `mailroom ${args.join(' ')}`);
  assert.doesNotMatch(r.stderr, /^\s+at /m, 'no stack trace');
  assert.equal(r.stdout, '', `mailroom ${args.join(' ')} printed nothing on stdout`);
}

interface Fixture {
  config: string;
  dataDir: string;
  withStore<T>(fn: (s: Store) => Promise<T>): Promise<T>;
}

/** A config and data directory with the domain a.test and the account alice@a.test. */
async function fixture(): Promise<Fixture> {
  const dir = mkdtempSync(join(tmpdir(), 'mailroom-queue-cli-'));
  dirs.push(dir);
  const dataDir = join(dir, 'data');
  const config = join(dir, 'mailroom.toml');
  writeFileSync(config, `hostname = "mx.a.test"\ndata_dir = ${JSON.stringify(dataDir)}\n`);
  const withStore = async <T>(fn: (s: Store) => Promise<T>): Promise<T> => {
    const store = await openSqliteStore({ dataDir });
    try {
      return await fn(store);
    } finally {
      await store.close();
    }
  };
  await withStore(async (s) => {
    await s.addDomain('a.test');
    await s.addAccount({ address: 'alice@a.test', passwordHash: 'unused', quotaBytes: 0 });
  });
  return { config, dataDir, withStore };
}

/** Queues one message as the router would (no local copies), first due at `notBefore`. */
async function enqueue(
  f: Fixture,
  queueId: string,
  sender: string,
  rcpts: (string | { address: string; notify: DsnNotify[] })[],
  notBefore = new Date(Date.now() + HOUR),
  body = 'Hello.\r\n',
): Promise<void> {
  const content = `From: ${sender || 'MAILER-DAEMON@a.test'}\r\nTo: ${rcpts.map((r) => (typeof r === 'string' ? r : r.address)).join(', ')}\r\nSubject: test ${queueId}\r\nMessage-ID: <${queueId}@a.test>\r\n\r\n${body}`;
  await f.withStore((s) =>
    s.deliver({
      content: [Buffer.from(content)],
      internalDate: new Date(),
      recipients: [],
      outbound: { queueId, sender, recipients: rcpts.map((r) => (typeof r === 'string' ? { address: r } : r)), smtputf8: false, eightBit: false, notBefore },
    }),
  );
}

async function queued(f: Fixture, queueId: string): Promise<QueuedMessage> {
  const m = await f.withStore((s) => s.getQueued(queueId));
  assert.ok(m, `${queueId} is in the store`);
  return m;
}

async function aliceInbox(f: Fixture): Promise<string[]> {
  return f.withStore(async (s) => {
    const acc = (await s.getAccount('alice@a.test'))!;
    const mb = (await s.getMailbox(acc.id, 'INBOX'))!;
    return Promise.all((await s.listMessages(mb.id)).map(async (m) => (await s.readBlob(m.blobId)).toString('utf8')));
  });
}

describe('mailroom queue', () => {
  it('list: an empty queue says so on stderr and exits 0', async () => {
    const f = await fixture();
    const r = await cli(f.config, ['queue', 'list']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr, 'the queue is empty\n');
  });

  it('list and show: one line per message and per recipient; show adds the details; unknown id → exit 1', async () => {
    const f = await fixture();
    await enqueue(f, 'QLIST1', 'alice@a.test', ['bob@b.test', 'carol@c.test']);
    await enqueue(f, 'QLIST2', '', ['dave@d.test']);
    // Something tried once and deferred, so list shows attempts and the last reply.
    await f.withStore(async (s) => {
      const [claim] = await s.claimDue({ now: new Date(Date.now() + 2 * HOUR), limit: 1, leaseMs: 60_000, owner: 'test' });
      assert.equal(claim!.message.queueId, 'QLIST1');
      const r = claim!.message.recipients[0]!;
      await s.recordOutcomes('test', [
        { recipientId: r.id, result: 'deferred', reply: '451 4.7.1 Greylisted,\ntry again', status: '4.7.1', host: 'mx.b.test[127.0.0.2]', at: new Date(), nextAttemptAt: new Date(Date.now() + HOUR) },
      ]);
    });

    const list = await ok(f.config, ['queue', 'list']);
    const lines = list.trimEnd().split('\n');
    assert.equal(lines.length, 5, list);
    assert.match(lines[0]!, /^QLIST1 {2}\d+m {2}\d+B {2}<alice@a\.test>$/);
    assert.match(lines[1]!, /^ {2}pending {3}bob@b\.test {2}attempts=1 {2}next=\d{4}-\d\d-\d\dT[\d:.]+Z {2}last: 451 4\.7\.1 Greylisted, \/ try again$/);
    assert.match(lines[2]!, /^ {2}pending {3}carol@c\.test {2}attempts=0 {2}next=\S+Z$/);
    assert.match(lines[3]!, /^QLIST2 {2}\d+m {2}\d+B {2}<>$/);
    assert.match(lines[4]!, /^ {2}pending {3}dave@d\.test {2}attempts=0 /);

    const show = await ok(f.config, ['queue', 'show', 'QLIST1']);
    assert.match(show, /^QLIST1 {2}\d+m {2}\d+B {2}<alice@a\.test>\n/);
    assert.match(show, /^ {12}host=mx\.b\.test\[127\.0\.0\.2\] status=4\.7\.1 last_attempt=\S+Z$/m);
    assert.match(show, /^ {2}created=\S+Z blob=\S+ smtputf8=false 8bit=false$/m);
    assert.match(show, /carol@c\.test/);
    assert.doesNotMatch(show, /QLIST2/);

    // A finished message leaves the list, but show still finds it until it is purged.
    await f.withStore((s) => s.failQueued('QLIST2', '550 5.0.0 gone', '5.0.0', new Date()));
    const [list2, show2] = await Promise.all([
      ok(f.config, ['queue', 'list']),
      ok(f.config, ['queue', 'show', 'QLIST2']),
      fails(f.config, ['queue', 'show', 'NOPE'], 1, /^mailroom: no queued message NOPE\n$/),
    ]);
    assert.equal(list2, lines.slice(0, 3).join('\n') + '\n', 'list shows only messages with pending recipients');
    assert.match(show2, /^ {2}failed {4}dave@d\.test {2}attempts=0 {2}next=- {2}last: 550 5\.0\.0 gone$/m);
  });

  it('retry ID and --all: make pending recipients due now and report the count', async () => {
    const f = await fixture();
    await enqueue(f, 'QR1', 'alice@a.test', ['bob@b.test', 'carol@c.test']);
    await enqueue(f, 'QR2', 'alice@a.test', ['dave@d.test']);
    await enqueue(f, 'QR3', 'alice@a.test', ['erin@e.test', 'frank@f.test']);
    await f.withStore((s) => s.failQueued('QR3', '550 5.0.0 gone', '5.0.0', new Date()));

    const before = Date.now();
    assert.equal(await ok(f.config, ['queue', 'retry', 'QR1']), '2 recipients due now\n');
    for (const r of (await queued(f, 'QR1')).recipients) assert.ok(r.nextAttemptAt.getTime() >= before - 1000 && r.nextAttemptAt.getTime() <= Date.now(), 'QR1 due now');
    for (const r of (await queued(f, 'QR2')).recipients) assert.ok(r.nextAttemptAt.getTime() > Date.now() + HOUR / 2, 'QR2 untouched');

    assert.equal(await ok(f.config, ['queue', 'retry', 'QR3']), '0 recipients due now\n', 'nothing pending in a finished message');
    assert.equal(await ok(f.config, ['queue', 'retry', '--all']), '3 recipients due now\n');
    for (const r of (await queued(f, 'QR2')).recipients) assert.ok(r.nextAttemptAt.getTime() <= Date.now(), 'QR2 due now');
    assert.deepEqual(
      (await queued(f, 'QR3')).recipients.map((r) => r.state),
      ['failed', 'failed'],
      'retry never revives a failed recipient',
    );
    await fails(f.config, ['queue', 'retry', 'NOPE'], 1, /^mailroom: no queued message NOPE\n$/);
  });

  it('delete: removes the message without a bounce; an unknown id is exit 1', async () => {
    const f = await fixture();
    await enqueue(f, 'QD1', 'alice@a.test', ['bob@b.test']);
    await enqueue(f, 'QD2', 'alice@a.test', ['carol@c.test']);
    assert.equal(await ok(f.config, ['queue', 'delete', 'QD1']), 'deleted QD1\n');
    assert.equal(await f.withStore((s) => s.getQueued('QD1')), null);
    const list = await ok(f.config, ['queue', 'list']);
    assert.doesNotMatch(list, /QD1/);
    assert.match(list, /^QD2 /m);
    assert.deepEqual(await aliceInbox(f), [], 'no bounce for a deletion');
    await fails(f.config, ['queue', 'delete', 'QD1'], 1, /^mailroom: no queued message QD1\n$/);
  });

  it('bounce with a local sender: a multipart/report from <> lands in the sender\'s INBOX, once', async () => {
    const f = await fixture();
    await enqueue(f, 'QB1', 'alice@a.test', ['bob@b.test', 'carol@c.test']);
    // bob was delivered already: only carol is given up on.
    await f.withStore(async (s) => {
      const claims = await s.claimDue({ now: new Date(Date.now() + 2 * HOUR), limit: 10, leaseMs: 60_000, owner: 'test' });
      const bob = claims.flatMap((c) => c.message.recipients).find((r) => r.address === 'bob@b.test')!;
      await s.recordOutcomes('test', [{ recipientId: bob.id, result: 'delivered', reply: '250 2.0.0 OK', status: '2.0.0', host: 'mx.b.test[127.0.0.2]', at: new Date() }]);
      await s.releaseLeases('test');
    });

    assert.equal(await ok(f.config, ['queue', 'bounce', 'QB1']), 'bounced QB1 (1 recipient)\n');
    const m = await queued(f, 'QB1');
    assert.deepEqual(
      m.recipients.map((r) => [r.address, r.state, r.lastStatus]),
      [
        ['bob@b.test', 'delivered', '2.0.0'],
        ['carol@c.test', 'failed', '5.0.0'],
      ],
    );

    const inbox = await aliceInbox(f);
    assert.equal(inbox.length, 1, 'one bounce in the INBOX');
    const bounce = inbox[0]!;
    assert.match(bounce, /^Return-Path: <>\r\n/);
    assert.match(bounce, /^Content-Type: multipart\/report;[^]*report-type="?delivery-status/im);
    assert.match(bounce, /^Final-Recipient: rfc822; ?carol@c\.test$/m);
    assert.match(bounce, /^Action: failed$/m);
    assert.match(bounce, /^Status: 5\.0\.0$/m);
    assert.doesNotMatch(bounce, /Final-Recipient: rfc822; ?bob@b\.test/, 'the delivered recipient is not bounced');
    assert.match(bounce, /Subject: test QB1/, 'the original is returned');
    assert.equal(await f.withStore((s) => s.listQueue()).then((l) => l.length), 0, 'nothing queued: the bounce went to the INBOX');

    // Again: nothing is pending any more, so no second bounce.
    assert.equal(await ok(f.config, ['queue', 'bounce', 'QB1']), 'bounced QB1 (0 recipients)\n');
    assert.equal((await aliceInbox(f)).length, 1, 'no second bounce');
  });

  it('bounce with a remote sender queues a bounce from <>; with the null sender there is none', async () => {
    const f = await fixture();
    await enqueue(f, 'QB2', 'dave@remote.test', ['bob@b.test']);
    await enqueue(f, 'QB3', '', ['carol@c.test']);

    assert.equal(await ok(f.config, ['queue', 'bounce', 'QB2']), 'bounced QB2 (1 recipient)\n');
    const list = await f.withStore((s) => s.listQueue());
    const bounces = list.filter((m) => m.queueId !== 'QB3');
    assert.equal(bounces.length, 1, 'one new queued message');
    const b = bounces[0]!;
    assert.equal(b.sender, '', 'from the null sender');
    assert.deepEqual(
      b.recipients.map((r) => [r.address, r.state]),
      [['dave@remote.test', 'pending']],
    );
    assert.ok(b.recipients[0]!.nextAttemptAt.getTime() <= Date.now(), 'due now');
    const content = await f.withStore((s) => s.readBlob(b.blobId)).then((x) => x.toString('utf8'));
    assert.match(content, /^Content-Type: multipart\/report;[^]*report-type="?delivery-status/im);
    assert.match(content, /^Final-Recipient: rfc822; ?bob@b\.test$/m);
    assert.match(content, /^To: <?dave@remote\.test>?$/m);
    assert.match(await ok(f.config, ['queue', 'list']), new RegExp(`^${b.queueId} {2}\\d+m {2}\\d+B {2}<>\\n {2}pending {3}dave@remote\\.test `, 'm'));
    assert.deepEqual(await aliceInbox(f), []);

    // The null sender never gets a bounce (RFC 3464 §2): the recipient just fails.
    assert.equal(await ok(f.config, ['queue', 'bounce', 'QB3']), 'bounced QB3 (1 recipient): no bounce to the null sender\n');
    assert.equal((await queued(f, 'QB3')).recipients[0]!.state, 'failed');
    const after = await f.withStore((s) => s.listQueue());
    assert.deepEqual(
      after.map((m) => m.queueId),
      [b.queueId],
      'no bounce of a bounce',
    );
    await fails(f.config, ['queue', 'bounce', 'NOPE'], 1, /^mailroom: no queued message NOPE\n$/);
  });

  it('bounce: the cancellation is ours, not the remote server\'s (no Remote-MTA, no smtp diagnostic), with the last remote reply as context', async () => {
    const f = await fixture();
    await enqueue(f, 'QB4', 'alice@a.test', ['bob@b.test']);
    await f.withStore(async (s) => {
      const [claim] = await s.claimDue({ now: new Date(Date.now() + 2 * HOUR), limit: 1, leaseMs: 60_000, owner: 'test' });
      const r = claim!.message.recipients[0]!;
      await s.recordOutcomes('test', [
        { recipientId: r.id, result: 'deferred', reply: '451 4.7.1 Greylisted', status: '4.7.1', host: 'mx.b.test[127.0.0.2]', at: new Date(), nextAttemptAt: new Date(Date.now() + HOUR) },
      ]);
    });
    assert.equal(await ok(f.config, ['queue', 'bounce', 'QB4']), 'bounced QB4 (1 recipient)\n');
    const [bounce] = await aliceInbox(f);
    assert.ok(bounce);
    assert.doesNotMatch(bounce, /^Remote-MTA:/m, 'mx.b.test did not refuse it');
    assert.doesNotMatch(bounce, /The server mx\.b\.test answered/);
    const unfolded = bounce.replace(/\r\n[ \t]/g, ' '); // RFC 5322 §2.2.3
    assert.match(unfolded, /^Diagnostic-Code: X-Mailroom; Delivery cancelled by the administrator of mx\.a\.test Last reply from mx\.b\.test\[127\.0\.0\.2\]: 451 4\.7\.1 Greylisted\r$/m);
    assert.match(bounce, /^ {2}The last error was: Delivery cancelled by the administrator of mx\.a\.test$/m);
    const m = await queued(f, 'QB4');
    assert.equal(m.recipients[0]!.state, 'failed');
    assert.equal(m.recipients[0]!.lastStatus, '5.0.0');
  });

  it('bounce honours NOTIFY (RFC 3461 §4.1): NEVER and lists without FAILURE get no bounce, but still fail', async () => {
    const f = await fixture();
    await enqueue(f, 'QB6', 'alice@a.test', [
      { address: 'never@b.test', notify: ['NEVER'] },
      { address: 'delay@b.test', notify: ['DELAY'] },
      { address: 'failure@b.test', notify: ['FAILURE', 'DELAY'] },
      'plain@b.test',
    ]);
    await enqueue(f, 'QB7', 'alice@a.test', [{ address: 'never@c.test', notify: ['NEVER'] }]);
    assert.equal(await ok(f.config, ['queue', 'bounce', 'QB6']), 'bounced QB6 (4 recipients)\n');
    assert.equal(await ok(f.config, ['queue', 'bounce', 'QB7']), 'bounced QB7 (1 recipient): no bounce, the sender asked not to be told (NOTIFY)\n');
    const inbox = await aliceInbox(f);
    assert.equal(inbox.length, 1, 'one bounce, for QB6 only');
    const reported = [...inbox[0]!.matchAll(/^Final-Recipient: rfc822; ?(\S+)\r$/gm)].map((x) => x[1]);
    assert.deepEqual(reported, ['failure@b.test', 'plain@b.test']);
    assert.deepEqual(
      (await queued(f, 'QB6')).recipients.map((r) => r.state),
      ['failed', 'failed', 'failed', 'failed'],
    );
  });

  it('bounce: when the bounce cannot be made, the recipients stay queued (bounce first, then fail), and a second try bounces', async () => {
    const f = await fixture();
    // Over 256 KiB, so the bytes live in a blob file, which we then take away.
    await enqueue(f, 'QB5', 'alice@a.test', ['bob@b.test'], undefined, 'x'.repeat(78).concat('\r\n').repeat(4000));
    const blobs = join(f.dataDir, 'blobs');
    const files = (readdirSync(blobs, { recursive: true }) as string[]).filter((p) => /[0-9a-f]{64}$/.test(p));
    assert.equal(files.length, 1, 'one blob file');
    const file = join(blobs, files[0]!);
    const bytes = await f.withStore(async (s) => s.readBlob((await s.getQueued('QB5'))!.blobId));
    unlinkSync(file);

    const r = await cli(f.config, ['queue', 'bounce', 'QB5']);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /^mailroom: /);
    assert.equal(r.stdout, '');
    assert.equal((await queued(f, 'QB5')).recipients[0]!.state, 'pending', 'not failed without a bounce');
    assert.deepEqual(await aliceInbox(f), []);

    writeFileSync(file, bytes);
    assert.equal(await ok(f.config, ['queue', 'bounce', 'QB5']), 'bounced QB5 (1 recipient)\n');
    assert.equal((await aliceInbox(f)).length, 1);
    assert.equal((await queued(f, 'QB5')).recipients[0]!.state, 'failed');
  });

  it('usage errors exit 2 with the message and the queue synopsis', async () => {
    const f = await fixture();
    await enqueue(f, 'QU1', 'alice@a.test', ['bob@b.test']);
    const synopsis = /\nusage:\n {2}mailroom queue list\n[^]*Run `mailroom help queue` for details\.\n$/;
    const cases: [string[], RegExp][] = [
      [['queue'], /^mailroom: missing subcommand: list, show, retry, delete or bounce\n/],
      [['queue', 'frob'], /^mailroom: unknown subcommand "frob": expected list, show, retry, delete or bounce\n/],
      [['queue', 'list', 'extra'], /^mailroom: unexpected argument "extra"\n/],
      [['queue', 'show'], /^mailroom: missing QUEUE-ID\n/],
      [['queue', 'retry'], /^mailroom: missing QUEUE-ID\n/],
      [['queue', 'retry', '--all', 'QU1'], /^mailroom: unexpected argument "QU1"\n/],
      [['queue', 'list', '--bogus'], /^mailroom: unknown option '--bogus'\n/],
    ];
    await Promise.all(
      cases.map(([args, message]) => fails(f.config, args, 2, message, synopsis)),
    );
    // Nothing was touched.
    const m = await queued(f, 'QU1');
    assert.equal(m.recipients[0]!.state, 'pending');
    assert.ok(m.recipients[0]!.nextAttemptAt.getTime() > Date.now() + HOUR / 2);
  });
});
