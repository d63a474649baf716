// `mailroom spam` as a child process: bulk training (idempotent), scoring
// with the rules that fired, sender lists, rate-limit overrides, and usage
// errors with exit code 2.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('./main.ts', import.meta.url));
let dir: string;
let config: string;

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, [MAIN, '--config', config, ...args], { cwd: dir, encoding: 'utf8', timeout: 30_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'mailroom-spam-cli-'));
  config = join(dir, 'mailroom.toml');
  writeFileSync(config, `data_dir = ${JSON.stringify(join(dir, 'data'))}\n[spam]\nbayes_min_messages = 2\n`);
  writeFileSync(join(dir, 'spam1.eml'), 'From: x@promo.example\nSubject: WIN A PRIZE NOW!!!\n\nClaim your prize: free money, click here now.\n');
  writeFileSync(join(dir, 'spam2.eml'), 'From: y@promo.example\nSubject: prize waiting\n\nYour prize is waiting, claim today.\n');
  writeFileSync(join(dir, 'ham1.eml'), 'From: carol@friends.example\nSubject: lunch\nDate: Mon, 5 Jan 2026 09:00:00 +0000\nMessage-ID: <1@friends.example>\n\nLunch on Thursday at the station?\n');
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('train: files are learnt once; stats counts them', () => {
  assert.equal(cli('domain', 'add', 'example.org').code, 0);
  const r = cli('spam', 'train', '--spam', join(dir, 'spam1.eml'), join(dir, 'spam2.eml'));
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /learnt 2 of 2 messages as spam/);
  assert.match(cli('spam', 'train', '--ham', join(dir, 'ham1.eml'), join(dir, 'ham1.eml')).stdout, /learnt 1 of 2 messages as ham/);
  assert.equal(cli('spam', 'stats').stdout, 'spam\t2\nham\t1\n');
});

test('score: the total, the verdict and every rule with its points', () => {
  const r = cli('spam', 'score', join(dir, 'spam1.eml'), join(dir, 'ham1.eml'));
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /ham1\.eml\t-?\d+\.\d\tinbox\n/);
  const [first, ...rules] = r.stdout.slice(0, r.stdout.indexOf('ham1.eml') - dir.length - 1).trim().split('\n');
  assert.match(first, /spam1\.eml\t\d+\.\d\t(junk|reject)/);
  for (const n of ['SPAM_PHRASES', 'MISSING_MESSAGE_ID', 'SUBJECT_ALL_CAPS', 'BAYES_']) assert.ok(rules.some((l) => l.includes(n)), `${n} in\n${r.stdout}`);

});

test('allow, block, list, unlist (per user and global)', () => {
  const pw = spawnSync(process.execPath, [MAIN, '--config', config, 'user', 'add', 'u@example.org', '--password-stdin'], { input: 'a-long-password\n', encoding: 'utf8' });
  assert.equal(pw.status, 0, pw.stderr);
  assert.equal(cli('spam', 'allow', 'u@example.org', 'friend@friends.example').code, 0);
  assert.equal(cli('spam', 'block', 'u@example.org', '@promo.example').code, 0);
  assert.equal(cli('spam', 'list', 'u@example.org').stdout, 'block\t@promo.example\nallow\tfriend@friends.example\n');
  assert.equal(cli('spam', 'unlist', 'u@example.org', '@promo.example').code, 0);
  assert.equal(cli('spam', 'unlist', 'u@example.org', '@promo.example').code, 1);
});

test('ratelimit: show defaults, override, back to default', () => {
  assert.equal(cli('spam', 'ratelimit', 'u@example.org').stdout, 'messages per hour\t100 (default)\nrecipients per day\t1000 (default)\n');
  assert.equal(cli('spam', 'ratelimit', 'u@example.org', '10', '-').stdout, 'messages per hour\t10\nrecipients per day\t1000 (default)\n');
  assert.match(cli('spam', 'ratelimit', 'u@example.org', 'default').stdout, /100 \(default\)/);
});

test('usage errors exit 2, a missing file 1', () => {
  assert.equal(cli('spam', 'train', '--spam', '--ham', join(dir, 'spam1.eml')).code, 2);
  assert.equal(cli('spam', 'ratelimit', 'u@example.org', 'x', '1').code, 2);
  assert.equal(cli('spam', 'train', '--spam', join(dir, 'missing.eml')).code, 1);
});
