// `mailroom user` commands for authentication, run as child processes like
// cli.test.ts: passwords stored with SCRAM keys (kept salt on passwd), app
// passwords (add prints one that logs in, list, remove, errors) and sender
// grants (add, list, remove, errors and exit codes).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openSqliteStore } from '../store/sqlite/index.ts';
import { verifyPassword } from '../auth/password.ts';
import { deriveScramKeys, parseScramKeys } from '../auth/sasl/scram-keys.ts';
import { StoreAuthenticator } from '../auth/authenticator.ts';
import { Throttle } from '../auth/throttle.ts';
import { silentLogger } from '../log/logger.ts';

const MAIN = fileURLToPath(new URL('./main.ts', import.meta.url));
let dir: string;
let config: string;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'mailroom-cli-auth-'));
  config = join(dir, 'mailroom.toml');
  writeFileSync(config, `data_dir = ${JSON.stringify(join(dir, 'data'))}\n`);
});
after(() => rmSync(dir, { recursive: true, force: true }));

function cli(args: string[], input = '') {
  const r = spawnSync(process.execPath, [MAIN, '--config', config, ...args], { cwd: dir, input, encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function ok(args: string[], input?: string): string {
  const r = cli(args, input);
  assert.equal(r.code, 0, `mailroom ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

function fails(args: string[], code: number, stderr: string | RegExp): void {
  const r = cli(args);
  assert.equal(r.code, code, `mailroom ${args.join(' ')}: expected exit ${code}, got ${r.code}; stderr: ${r.stderr}`);
  if (typeof stderr === 'string') assert.ok(r.stderr.includes(stderr), `stderr was: ${r.stderr}`);
  else assert.match(r.stderr, stderr);
  assert.doesNotMatch(r.stderr, /^\s+at /m, 'no stack trace');
  assert.equal(r.stdout, '');
}

async function withStore<T>(fn: (s: Awaited<ReturnType<typeof openSqliteStore>>) => Promise<T>): Promise<T> {
  const store = await openSqliteStore({ dataDir: join(dir, 'data'), commitIn: 'main' });
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

const CTX = { clientIp: '127.0.0.1', protocol: 'test', sessionId: 'T' };
const LAX = new Throttle({ maxFailuresPerIp: 100, maxFailuresPerAccount: 100, failureWindowMs: 1, lockoutMs: 1, slowdownMs: 0, slowdownAfter: 0, slowdownMaxMs: 0 });

test('user add and passwd store SCRAM keys; passwd keeps the account salt', async () => {
  ok(['domain', 'add', 'auth.example']);
  ok(['user', 'add', 'dana@auth.example', '--password-stdin'], 'first pw\n');
  const before = await withStore(async (s) => (await s.getAccount('dana@auth.example'))!);
  const k1 = parseScramKeys(before.scram)!;
  assert.ok(k1, 'SCRAM keys stored');
  assert.deepEqual(await deriveScramKeys('first pw', { salt: k1.salt }), k1);
  ok(['user', 'passwd', 'dana@auth.example', '--password-stdin'], 'second pw\n');
  const afterPw = await withStore(async (s) => (await s.getAccount('dana@auth.example'))!);
  const k2 = parseScramKeys(afterPw.scram)!;
  assert.deepEqual(k2.salt, k1.salt);
  assert.deepEqual(await deriveScramKeys('second pw', { salt: k1.salt }), k2);
  assert.equal(await verifyPassword('second pw', afterPw.passwordHash), true);
});

test('user app-password add prints a password once that logs in; list; remove', async () => {
  ok(['user', 'add', 'erin@auth.example', '--password-stdin'], 'main pw\n');
  const r = cli(['user', 'app-password', 'add', 'Erin@Auth.example', 'phone']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}\n$/);
  assert.match(r.stderr, /added app password phone for erin@auth\.example; it is shown only this once/);
  const pw = r.stdout.trim();
  ok(['user', 'app-password', 'add', 'erin@auth.example', 'laptop']);

  const listed = ok(['user', 'app-password', 'list', 'erin@auth.example']).trim().split('\n');
  assert.deepEqual(listed.map((l) => l.split('\t')[0]), ['phone', 'laptop']);
  assert.match(listed[0]!.split('\t')[1]!, /^\d{4}-\d\d-\d\dT/);
  assert.ok(!listed.join('').includes(pw), 'list never shows the password');

  await withStore(async (s) => {
    const auth = new StoreAuthenticator(s, LAX, silentLogger);
    const v = await auth.verifyPlain('erin@auth.example', pw, CTX);
    assert.equal(v.kind === 'success' && v.user.appPassword, 'phone');
    const a = (await s.getAccount('erin@auth.example'))!;
    const apps = await s.listAppPasswords(a.id);
    assert.deepEqual(parseScramKeys(apps[0]!.scram)!.salt, parseScramKeys(a.scram)!.salt, 'shares the account salt');
  });

  assert.equal(ok(['user', 'app-password', 'remove', 'erin@auth.example', 'phone']), 'removed app password phone of erin@auth.example\n');
  assert.match(ok(['user', 'app-password', 'list', 'erin@auth.example']), /^laptop\t\S+\n$/);
  await withStore(async (s) => {
    const auth = new StoreAuthenticator(s, LAX, silentLogger);
    assert.equal((await auth.verifyPlain('erin@auth.example', pw, CTX)).kind, 'failure', 'revoked');
  });
});

test('user app-password errors and exit codes', () => {
  fails(['user', 'app-password', 'add', 'erin@auth.example', 'laptop'], 1, 'mailroom: erin@auth.example already has an app password named laptop');
  fails(['user', 'app-password', 'add', 'erin@auth.example', 'my phone'], 2, 'invalid app password name "my phone"');
  fails(['user', 'app-password', 'add', 'nobody@auth.example', 'phone'], 1, 'mailroom: no user nobody@auth.example');
  fails(['user', 'app-password', 'add', 'x@nowhere.example', 'phone'], 1, 'domain nowhere.example is not configured');
  fails(['user', 'app-password', 'add', 'erin@auth.example'], 2, 'missing NAME');
  fails(['user', 'app-password', 'remove', 'erin@auth.example', 'tablet'], 1, 'mailroom: erin@auth.example has no app password named tablet');
  fails(['user', 'app-password', 'rename', 'erin@auth.example'], 2, 'unknown app-password subcommand "rename"');
  fails(['user', 'app-password'], 2, 'missing app-password subcommand');
  fails(['user', 'app-password', 'list', 'erin@auth.example', 'extra'], 2, 'unexpected argument "extra"');
});

test('user sender add, list, remove, and errors', () => {
  assert.equal(ok(['user', 'sender', 'add', 'erin@auth.example', 'CEO@Auth.Example']), 'erin@auth.example may send as ceo@auth.example\n');
  ok(['user', 'sender', 'add', 'erin@auth.example', '@news.example']);
  assert.equal(ok(['user', 'sender', 'list', 'erin@auth.example']), '@news.example\nceo@auth.example\n');
  fails(['user', 'sender', 'add', 'erin@auth.example', 'ceo@auth.example'], 1, 'mailroom: erin@auth.example may already send as ceo@auth.example');
  fails(['user', 'sender', 'add', 'erin@auth.example', 'not-an-address'], 2, 'invalid address "not-an-address"');
  fails(['user', 'sender', 'add', 'nobody@auth.example', 'x@auth.example'], 1, 'no user nobody@auth.example');
  assert.equal(ok(['user', 'sender', 'remove', 'erin@auth.example', '@news.example']), 'erin@auth.example may no longer send as @news.example\n');
  fails(['user', 'sender', 'remove', 'erin@auth.example', '@news.example'], 1, 'mailroom: erin@auth.example has no sender @news.example');
  assert.equal(ok(['user', 'sender', 'list', 'erin@auth.example']), 'ceo@auth.example\n');
  fails(['user', 'sender', 'add', 'erin@auth.example'], 2, 'missing SENDER');
  fails(['user', 'sender', 'grant'], 2, 'unknown sender subcommand "grant"');
});

test('user help shows the new subcommands', () => {
  const help = ok(['user', '--help']);
  assert.match(help, /mailroom user app-password add\|list\|remove ADDRESS \[NAME\]/);
  assert.match(help, /mailroom user sender add\|remove\|list ADDRESS \[SENDER\]/);
});
