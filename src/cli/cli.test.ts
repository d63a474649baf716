// Runs the real `mailroom` command as a child process (Node 24, a temporary
// data directory and config file) for every command, its error cases and
// exit codes (0 ok, 1 error, 2 usage), plus `serve` start-up and shutdown.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openSqliteStore } from '../store/sqlite/index.ts';
import { verifyPassword } from '../auth/password.ts';

const MAIN = fileURLToPath(new URL('./main.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

let dir: string;
let config: string;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'mailroom-cli-'));
  config = join(dir, 'mailroom.toml');
  writeFileSync(config, `data_dir = ${JSON.stringify(join(dir, 'data'))}\n[limits]\ndefault_quota = "1G"\n`);
});
after(() => rmSync(dir, { recursive: true, force: true }));

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `mailroom ARGS --config <temp config>` and returns its output. */
function cli(args: string[], input?: string, opts: { config?: string | null } = {}): Result {
  const withConfig = opts.config === null ? args : ['--config', opts.config ?? config, ...args];
  const r = spawnSync(process.execPath, [MAIN, ...withConfig], { cwd: dir, input: input ?? '', encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function ok(args: string[], input?: string): string {
  const r = cli(args, input);
  assert.equal(r.code, 0, `mailroom ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

function fails(args: string[], code: number, stderr: string | RegExp, input?: string): Result {
  const r = cli(args, input);
  assert.equal(r.code, code, `mailroom ${args.join(' ')}: expected exit ${code}, got ${r.code}; stderr: ${r.stderr}`);
  if (typeof stderr === 'string') assert.ok(r.stderr.includes(stderr), `stderr was: ${r.stderr}`);
  else assert.match(r.stderr, stderr);
  assert.doesNotMatch(r.stderr, /^\s+at /m, 'no stack trace');
  assert.equal(r.stdout, '');
  return r;
}

async function withStore<T>(fn: (s: Awaited<ReturnType<typeof openSqliteStore>>) => Promise<T>): Promise<T> {
  const store = await openSqliteStore({ dataDir: join(dir, 'data') });
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

test('help, version and unknown commands', () => {
  const help = cli(['--help'], undefined, { config: null });
  assert.equal(help.code, 0);
  assert.match(help.stdout, /^usage: mailroom COMMAND/);
  for (const name of ['serve', 'domain', 'user', 'alias', 'config', 'help']) assert.match(help.stdout, new RegExp(`^  ${name} `, 'm'));
  assert.equal(cli(['help'], undefined, { config: null }).stdout, help.stdout);
  assert.match(ok(['help', 'user']), /mailroom user add ADDRESS/);
  assert.match(ok(['user', '--help']), /mailroom user passwd ADDRESS/);
  assert.match(ok(['alias', '-h']), /mailroom alias add ALIAS TARGET\.\.\./);

  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
  assert.equal(cli(['--version'], undefined, { config: null }).stdout, `mailroom ${pkg.version}\n`);

  const none = cli([], undefined, { config: null });
  assert.equal(none.code, 2);
  assert.match(none.stderr, /missing command[\s\S]*usage: mailroom COMMAND/);
  const unknown = fails(['frob'], 2, 'mailroom: unknown command "frob"');
  assert.match(unknown.stderr, /commands:/);
  fails(['help', 'frob'], 2, 'unknown command "frob"');
  fails(['domain', 'list', '--bogus'], 2, /unknown option '--bogus'[\s\S]*mailroom domain add DOMAIN/);
  fails(['domain'], 2, 'missing subcommand');
  fails(['domain', 'rename', 'x'], 2, 'unknown subcommand "rename"');
});

test('a bad configuration file is reported with its key path (exit 1)', () => {
  const bad = join(dir, 'bad.toml');
  writeFileSync(bad, '[limits]\nrecipients = "x"\n');
  const r = cli(['domain', 'list'], undefined, { config: bad });
  assert.equal(r.code, 1);
  assert.equal(r.stderr, `mailroom: ${bad}: limits.recipients: expected a whole number ≥ 100, got "x"\n`);
  const missing = cli(['domain', 'list'], undefined, { config: join(dir, 'nope.toml') });
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /nope\.toml: cannot read the configuration file: no such file/);
  assert.equal(ok(['config', 'check']), `${config}: ok\n`);
  assert.equal(cli(['config', 'check'], undefined, { config: bad }).code, 1);
  assert.equal(ok(['config', 'example']), readFileSync(join(ROOT, 'mailroom.example.toml'), 'utf8'));
});

test('domain add, list, remove', () => {
  assert.equal(ok(['domain', 'list']), '');
  assert.equal(ok(['domain', 'add', 'Example.ORG']), 'added domain example.org\n');
  ok(['domain', 'add', 'bücher.example']);
  ok(['domain', 'add', 'spare.example']);
  assert.deepEqual(ok(['domain', 'list']).split('\n').filter(Boolean).sort(), ['example.org', 'spare.example', 'xn--bcher-kva.example']);
  fails(['domain', 'add', 'example.org'], 1, 'mailroom: domain example.org already exists');
  fails(['domain', 'add', 'not a domain'], 2, 'invalid domain name "not a domain"');
  fails(['domain', 'add', 'bad-.example'], 2, 'invalid domain name "bad-.example"');
  fails(['domain', 'add', '--', '-bad.example'], 2, 'invalid domain name "-bad.example"');
  fails(['domain', 'add'], 2, 'missing DOMAIN');
  fails(['domain', 'add', 'a.example', 'b.example'], 2, 'unexpected argument "b.example"');
  fails(['domain', 'remove', 'unknown.example'], 1, 'domain unknown.example is not configured');
  assert.equal(ok(['domain', 'remove', 'spare.example']), 'removed domain spare.example\n');
  ok(['domain', 'remove', 'xn--bcher-kva.example']);
  assert.equal(ok(['domain', 'list']), 'example.org\n');
});

test('user add, list, passwd, quota, remove', async () => {
  ok(['domain', 'add', 'users.example']);
  assert.equal(ok(['user', 'add', 'Alice@Users.Example', '--password-stdin'], 'correct horse\nnot read\n'), 'added user alice@users.example\n');
  ok(['user', 'add', 'bob@users.example', '--password-stdin', '--quota', '2G'], 'bobpass\r\n');
  ok(['user', 'add', 'carol@users.example', '--quota', 'unlimited', '--password-stdin'], 'no newline at end');

  assert.equal(ok(['user', 'list', 'users.example']), 'alice@users.example\t1G\t0\nbob@users.example\t2G\t0\ncarol@users.example\tunlimited\t0\n');
  assert.equal(ok(['user', 'list', 'users.example', '--bytes']), `alice@users.example\t${1024 ** 3}\t0\nbob@users.example\t${2 * 1024 ** 3}\t0\ncarol@users.example\t0\t0\n`);
  assert.match(ok(['user', 'list']), /^alice@users\.example\t/m);

  await withStore(async (s) => {
    assert.equal(await verifyPassword('correct horse', (await s.getAccount('alice@users.example'))!.passwordHash), true);
    assert.equal(await verifyPassword('bobpass', (await s.getAccount('bob@users.example'))!.passwordHash), true);
    assert.equal(await verifyPassword('no newline at end', (await s.getAccount('carol@users.example'))!.passwordHash), true);
    assert.equal((await s.listMailboxes((await s.getAccount('alice@users.example'))!.id)).length, 6);
  });

  fails(['user', 'add', 'alice@users.example', '--password-stdin'], 1, 'mailroom: user alice@users.example already exists', 'x\n');
  fails(['user', 'add', 'dave@nowhere.example', '--password-stdin'], 1, 'mailroom: domain nowhere.example is not configured: add it with `mailroom domain add nowhere.example`', 'x\n');
  fails(['user', 'add', 'not-an-address', '--password-stdin'], 2, 'invalid address "not-an-address"', 'x\n');
  fails(['user', 'add', 'a b@users.example', '--password-stdin'], 2, 'invalid address', 'x\n');
  fails(['user', 'add', 'erin@users.example', '--password-stdin'], 2, 'the password is empty', '\n');
  fails(['user', 'add', 'erin@users.example', '--password-stdin', '--quota', 'lots'], 2, 'invalid quota: expected a size like', 'x\n');
  fails(['user', 'add', 'erin@users.example', '--password-stdin', '--bytes'], 2, '--bytes is only for `user list`', 'x\n');
  fails(['user', 'list', 'nowhere.example'], 1, 'domain nowhere.example is not configured');
  fails(['user', 'frob'], 2, 'unknown subcommand "frob"');

  assert.equal(ok(['user', 'passwd', 'alice@users.example', '--password-stdin'], 'battery staple\n'), 'changed the password of alice@users.example\n');
  await withStore(async (s) => {
    const hash = (await s.getAccount('alice@users.example'))!.passwordHash;
    assert.equal(await verifyPassword('battery staple', hash), true);
    assert.equal(await verifyPassword('correct horse', hash), false);
  });
  fails(['user', 'passwd', 'zed@users.example', '--password-stdin'], 1, 'mailroom: no user zed@users.example', 'x\n');

  assert.equal(ok(['user', 'quota', 'alice@users.example', '512M']), 'set the quota of alice@users.example to 512M\n');
  ok(['user', 'quota', 'bob@users.example', '0']);
  assert.equal(ok(['user', 'list', 'users.example']), 'alice@users.example\t512M\t0\nbob@users.example\tunlimited\t0\ncarol@users.example\tunlimited\t0\n');
  fails(['user', 'quota', 'alice@users.example'], 2, 'missing SIZE');
  fails(['user', 'quota', 'alice@users.example', '5X'], 2, 'invalid quota');
  fails(['user', 'quota', 'zed@users.example', '1G'], 1, 'no user zed@users.example');

  assert.equal(ok(['user', 'remove', 'carol@users.example']), 'removed user carol@users.example\n');
  fails(['user', 'remove', 'carol@users.example'], 1, 'no user carol@users.example');
  fails(['user', 'remove', 'carol@nowhere.example'], 1, 'domain nowhere.example is not configured');

  fails(['domain', 'remove', 'users.example'], 1, 'domain users.example still has 2 users: remove them first, or pass --force');
  ok(['domain', 'remove', 'users.example', '--force']);
  assert.equal(ok(['user', 'list']).includes('users.example'), false);
});

test('the password prompt needs a terminal (exit 2 without one)', async () => {
  ok(['domain', 'add', 'prompt.example']);
  // detached: a new session with no controlling terminal, so /dev/tty cannot be opened
  const child = spawn(process.execPath, [MAIN, 'user', 'add', 'p@prompt.example', '--config', config], { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  assert.equal(code, 2);
  assert.match(stderr, /no terminal to ask for the password on: pipe it in with --password-stdin/);
});

test('the password prompt asks twice with echo off (in a pseudo-terminal)', async (t) => {
  if (spawnSync('python3', ['-c', 'import pty'], { stdio: 'ignore' }).status !== 0) {
    t.skip('python3 with the pty module is not available');
    return;
  }
  ok(['domain', 'add', 'tty.example']);
  // python3 runs the CLI on a pty and types the answers.
  const script = `
import os, pty, sys, time, select
pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[1], sys.argv[1:])
out = b''
def pump(until=None, timeout=20):
    global out
    end = time.time() + timeout
    while time.time() < end and (until is None or until not in out):
        r, _, _ = select.select([fd], [], [], 0.1)
        if r:
            try:
                d = os.read(fd, 4096)
            except OSError:
                return
            if not d:
                return
            out += d
pump(b'New password: ')
os.write(fd, os.environ['FIRST'].encode() + b'\\r')
pump(b'Repeat the password: ')
os.write(fd, os.environ['SECOND'].encode() + b'\\r')
pump()
_, status = os.waitpid(pid, 0)
sys.stdout.write(out.decode())
sys.exit(os.waitstatus_to_exitcode(status))
`;
  const run = (address: string, first: string, second: string) =>
    spawnSync('python3', ['-c', script, process.execPath, MAIN, 'user', 'add', address, '--config', config], {
      encoding: 'utf8',
      env: { ...process.env, FIRST: first, SECOND: second },
      timeout: 30_000,
    });
  const good = run('t@tty.example', 's3cret-typed', 's3cret-typed');
  assert.equal(good.status, 0, good.stdout + good.stderr);
  assert.match(good.stdout, /New password: [\s\S]*Repeat the password: [\s\S]*added user t@tty\.example/);
  assert.ok(!good.stdout.includes('s3cret-typed'), 'the password is not echoed');
  await withStore(async (s) => assert.equal(await verifyPassword('s3cret-typed', (await s.getAccount('t@tty.example'))!.passwordHash), true));

  const mismatch = run('u@tty.example', 'one', 'two');
  assert.equal(mismatch.status, 1);
  assert.match(mismatch.stdout, /the passwords do not match/);
  await withStore(async (s) => assert.equal(await s.getAccount('u@tty.example'), null));
});

test('alias add, list, remove (including catch-alls)', () => {
  ok(['domain', 'add', 'alias.example']);
  assert.equal(ok(['alias', 'add', 'Info@Alias.Example', 'alice@alias.example', 'Bob@Elsewhere.Net']), 'alias info@alias.example -> alice@alias.example bob@elsewhere.net\n');
  ok(['alias', 'add', 'info@alias.example', 'carol@alias.example']);
  ok(['alias', 'add', '@alias.example', 'alice@alias.example']);
  assert.equal(ok(['alias', 'list', 'alias.example']), '@alias.example\talice@alias.example\ninfo@alias.example\talice@alias.example bob@elsewhere.net carol@alias.example\n');
  assert.match(ok(['alias', 'list']), /^info@alias\.example\t/m);

  fails(['alias', 'add', 'x@nowhere.example', 'a@alias.example'], 1, 'domain nowhere.example is not configured: add it with `mailroom domain add nowhere.example`');
  fails(['alias', 'add', '@nowhere.example', 'a@alias.example'], 1, 'domain nowhere.example is not configured');
  fails(['alias', 'add', 'info@alias.example'], 2, 'missing TARGET');
  fails(['alias', 'add'], 2, 'missing ALIAS');
  fails(['alias', 'add', 'info@alias.example', 'not-an-address'], 2, 'invalid address "not-an-address"');
  fails(['alias', 'add', '@', 'a@alias.example'], 2, 'invalid domain name ""');
  fails(['alias', 'add', 'loop@alias.example', 'loop@alias.example'], 2, 'cannot deliver to itself');
  fails(['alias', 'list', 'nowhere.example'], 1, 'domain nowhere.example is not configured');

  assert.equal(ok(['alias', 'remove', 'info@alias.example', 'bob@elsewhere.net']), 'alias info@alias.example -> alice@alias.example carol@alias.example\n');
  fails(['alias', 'remove', 'info@alias.example', 'bob@elsewhere.net'], 1, 'bob@elsewhere.net is not a target of alias info@alias.example');
  assert.equal(ok(['alias', 'remove', 'info@alias.example']), 'removed alias info@alias.example\n');
  fails(['alias', 'remove', 'info@alias.example'], 1, 'mailroom: no alias info@alias.example');
  fails(['alias', 'remove', 'info@nowhere.example'], 1, 'domain nowhere.example is not configured');
  assert.equal(ok(['alias', 'remove', '@alias.example', 'alice@alias.example']), 'removed alias @alias.example\n');
  assert.equal(ok(['alias', 'list', 'alias.example']), '');
});

// ---- serve

async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

interface Serving {
  child: ReturnType<typeof spawn>;
  stderr(): string;
  exited: Promise<number | null>;
}

function serve(configFile: string): Serving {
  const child = spawn(process.execPath, [MAIN, 'serve', '--config', configFile], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return { child, stderr: () => err, exited };
}

/** Connects once the server listens; resolves with the socket and its greeting. */
async function connect(port: number, s: Serving): Promise<{ sock: net.Socket; lines: string[] }> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    try {
      const sock = await new Promise<net.Socket>((resolve, reject) => {
        const c = net.connect(port, '127.0.0.1', () => resolve(c));
        c.once('error', reject);
      });
      const lines: string[] = [];
      let buf = '';
      sock.on('data', (d: Buffer) => {
        buf += d.toString('latin1');
        let i;
        while ((i = buf.indexOf('\r\n')) >= 0) {
          lines.push(buf.slice(0, i));
          buf = buf.slice(i + 2);
        }
      });
      await until(() => lines.length > 0, 'greeting');
      return { sock, lines };
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`server did not start: ${String(err)}\n${s.stderr()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

async function until(cond: () => boolean, what: string, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function serveConfig(name: string, port: number): string {
  const file = join(dir, name);
  writeFileSync(file, `data_dir = ${JSON.stringify(join(dir, 'data'))}\nhostname = "mx.test.example"\n[listen]\nsmtp = "127.0.0.1:${port}"\n`);
  return file;
}

test('serve: starts, admin commands work alongside it, SIGTERM stops it with exit 0', async () => {
  const port = await freePort();
  const s = serve(serveConfig('serve.toml', port));
  try {
    const { sock, lines } = await connect(port, s);
    assert.match(lines[0], /^220 /);

    // The CLI shares the SQLite database with the running server (WAL).
    ok(['domain', 'add', 'live.example']);
    ok(['user', 'add', 'live@live.example', '--password-stdin'], 'pw\n');
    assert.equal(ok(['user', 'list', 'live.example']), 'live@live.example\t1G\t0\n');

    const finals = () => lines.filter((l) => /^\d{3} /.test(l));
    for (const [cmd, n] of [['EHLO client.example', 2], ['MAIL FROM:<a@client.example>', 3], ['RCPT TO:<live@live.example>', 4]] as const) {
      sock.write(cmd + '\r\n');
      await until(() => finals().length >= n, cmd);
    }
    assert.match(finals()[3], /^250 /, 'the server sees the user the CLI just added');
    sock.end('QUIT\r\n');

    s.child.kill('SIGTERM');
    assert.equal(await s.exited, 0, s.stderr());
    const logs = s.stderr().trim().split('\n').map((l) => JSON.parse(l) as { msg: string; signal?: string });
    assert.ok(logs.some((l) => l.signal === 'SIGTERM'), 'the signal is logged');
  } finally {
    s.child.kill('SIGKILL');
  }
});

test('serve: a second signal exits at once while a transaction is in DATA', async () => {
  ok(['domain', 'add', 'slow.example']);
  ok(['user', 'add', 'slow@slow.example', '--password-stdin'], 'pw\n');
  const port = await freePort();
  const s = serve(serveConfig('slow.toml', port));
  try {
    const { sock, lines } = await connect(port, s);
    const finals = () => lines.filter((l) => /^\d{3} /.test(l)).length;
    for (const [cmd, n] of [['EHLO c.example', 2], ['MAIL FROM:<a@c.example>', 3], ['RCPT TO:<slow@slow.example>', 4], ['DATA', 5]] as const) {
      sock.write(cmd + '\r\n');
      await until(() => finals() >= n, cmd);
    }
    assert.match(lines[lines.length - 1], /^354 /);
    sock.write('Subject: slow\r\n\r\nstill typing');
    s.child.kill('SIGTERM');
    await until(() => s.stderr().includes('"signal":"SIGTERM"'), 'first signal logged');
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(s.child.exitCode, null, 'still waiting for the transaction in DATA');
    s.child.kill('SIGTERM');
    const started = Date.now();
    assert.equal(await s.exited, 1);
    assert.ok(Date.now() - started < 5000);
    assert.match(s.stderr(), /second signal/);
    sock.destroy();
  } finally {
    s.child.kill('SIGKILL');
  }
});

test('serve: a port already in use is a one-line error and exit 1', async () => {
  const blocker = net.createServer();
  await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
  const port = (blocker.address() as net.AddressInfo).port;
  try {
    const s = serve(serveConfig('taken.toml', port));
    assert.equal(await s.exited, 1);
    const lastLine = s.stderr().trim().split('\n').at(-1)!;
    assert.match(lastLine, new RegExp(`^mailroom: .*127\\.0\\.0\\.1:${port}.*already in use`));
    assert.doesNotMatch(s.stderr(), /^\s+at /m, 'no stack trace');
  } finally {
    blocker.close();
  }
});

test('bin/mailroom.ts runs the same CLI', () => {
  const out = execFileSync(process.execPath, [join(ROOT, 'bin/mailroom.ts'), '--version'], { encoding: 'utf8' });
  assert.match(out, /^mailroom \d+\.\d+\.\d+\n$/);
});
