// Starts Mailroom for a benchmark, in its own process so that its memory can
// be measured apart from the load generator: a fresh temporary data directory,
// a config built with parseConfig (SMTP on 127.0.0.1, an ephemeral port unless
// --port; submission (STARTTLS) and submissions (implicit TLS) on ephemeral
// ports too unless --no-submission, with the self-signed certificate the
// server makes in the data dir; connection limits raised for 50+ sessions
// from one IP), startServer, then domain example.org and accounts
// user1..user100@example.org added through the Store, all with the password
// --password (default "bench-pw": argon2id hash and SCRAM keys from
// hashCredentials, so AUTH PLAIN/LOGIN/SCRAM-SHA-256 all work). Prints one
// JSON line on stdout when ready:
// {"ready":true,"port":N,"submission":N,"submissions":N,"password":"…","pid":P,"dataDir":"…"}
// — or {"ready":false,"error":"…"} and exit code 1 if the server's modules are
// missing or fail. On SIGTERM,
// SIGINT or (with --exit-with-stdin) stdin closing it prints {"stored":N} (messages in the accounts'
// INBOXes, to check accepted = stored), closes the server, deletes the data
// directory (unless --keep) and exits. Written against APIs still in progress:
// everything is looked up defensively.
//
// For the outbound bench (bench/outbound.ts): --relay-trusted CIDR,… lets
// those clients relay on the SMTP port (relay.trusted_networks), --dns-server
// HOST:PORT points lookups at the bench's DNS server (dns.servers), and
// --remote-port N, --queue-concurrency N and --queue-concurrency-per-domain N
// set [delivery] port and [queue] concurrency and concurrency_per_domain.
// --dkim gives the domain an RSA-2048 and an Ed25519 DKIM key, so every
// message submitted by a user is signed twice (the signing-cost scenario).
//
// Run: node bench/serve-for-bench.ts [--port 0] [--submission-port 0] [--submissions-port 0]
//      [--no-submission] [--allow-plaintext-auth] [--users 100] [--domain example.org] [--password bench-pw]
//      [--data-dir DIR] [--keep] [--log info|warn|…] [--max-lifetime 1h] [--exit-with-stdin]
//      [--relay-trusted 127.0.0.0/8] [--dns-server 127.0.0.1:PORT] [--remote-port N]
//      [--queue-concurrency N] [--queue-concurrency-per-domain N]
//      [--store-url postgres://…[?schema=NAME]]
//
// --store-url runs on PostgreSQL ([store] url): in a fresh schema of its own
// (dropped at exit) unless the URL names one, which several servers may share.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { parseDuration } from './smtp-load.ts';

const SRC = new URL('../src/', import.meta.url);

/** The parts of the server's API this script uses, typed loosely on purpose. */
interface BenchStore {
  addDomain(name: string): Promise<unknown>;
  addAccount(a: { address: string; passwordHash: string; scram?: string | null; quotaBytes: number }): Promise<{ id: number }>;
  getAccount?(address: string): Promise<{ id: number } | null>;
  getMailbox?(accountId: number, name: string): Promise<{ messageCount: number } | null>;
  close?(): Promise<void>;
}
interface Running {
  ports?: { smtp?: number; submission?: number; submissions?: number };
  store?: BenchStore;
  close(reason?: string): Promise<void>;
}

process.stdout.on('error', () => {}); // a parent that stopped reading must not crash us

function out(obj: unknown): void {
  process.stdout.write(JSON.stringify(obj) + '\n');
}

async function importSrc(rel: string): Promise<Record<string, unknown>> {
  const url = new URL(rel, SRC);
  if (!fs.existsSync(url)) throw new Error(`${path.join('src', rel)} does not exist yet`);
  return (await import(url.href)) as Record<string, unknown>;
}

function fn<T>(mod: Record<string, unknown>, name: string, where: string): T {
  const f = mod[name];
  if (typeof f !== 'function') throw new Error(`${where} does not export ${name}()`);
  return f as T;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '0' },
      'submission-port': { type: 'string', default: '0' },
      'submissions-port': { type: 'string', default: '0' },
      'no-submission': { type: 'boolean' },
      'allow-plaintext-auth': { type: 'boolean' },
      password: { type: 'string', default: 'bench-pw' },
      users: { type: 'string', default: '100' },
      domain: { type: 'string', default: 'example.org' },
      'data-dir': { type: 'string' },
      keep: { type: 'boolean' },
      'exit-with-stdin': { type: 'boolean' },
      log: { type: 'string', default: 'info' },
      'max-lifetime': { type: 'string', default: '1h' },
      'relay-trusted': { type: 'string' },
      'dns-server': { type: 'string' },
      'remote-port': { type: 'string' },
      'queue-concurrency': { type: 'string' },
      'queue-concurrency-per-domain': { type: 'string' },
      dkim: { type: 'boolean' },
      'store-url': { type: 'string' },
    },
  });
  // [store] url: PostgreSQL instead of SQLite. Without ?schema= in it, a fresh
  // schema of our own (dropped at exit unless --keep); with one, that schema
  // as it is (several servers sharing it: bench/multinode.ts).
  let storeUrl = values['store-url'];
  let ownSchema: string | null = null;
  if (storeUrl) {
    const u = new URL(storeUrl);
    if (!u.searchParams.get('schema')) {
      ownSchema = `bench_${process.pid}_${Date.now().toString(36)}`;
      u.searchParams.set('schema', ownSchema);
      storeUrl = u.href;
    }
  }
  const dropOwnSchema = async () => {
    if (!ownSchema || values.keep || !storeUrl) return;
    const pg = (await import('pg')).default;
    const u = new URL(storeUrl);
    u.searchParams.delete('schema');
    const c = new pg.Client({ connectionString: u.href });
    await c.connect();
    await c.query(`DROP SCHEMA IF EXISTS ${ownSchema} CASCADE`).finally(() => c.end());
  };
  const wholeNumber = (name: string, v: string | undefined): number | undefined => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a whole number ≥ 1`);
    return n;
  };
  const remotePort = wholeNumber('remote-port', values['remote-port']);
  const queueConcurrency = wholeNumber('queue-concurrency', values['queue-concurrency']);
  const queuePerDomain = wholeNumber('queue-concurrency-per-domain', values['queue-concurrency-per-domain']);
  const trusted = values['relay-trusted']?.split(',').map((x) => x.trim()).filter(Boolean);
  const queueLines = [
    ...(queueConcurrency !== undefined ? [`concurrency = ${queueConcurrency}`] : []),
    ...(queuePerDomain !== undefined ? [`concurrency_per_domain = ${queuePerDomain}`] : []),
  ];
  const port = Number(values.port);
  const submission = !values['no-submission'];
  const password = values.password!;
  const users = Number(values.users);
  const domain = values.domain!;
  const ownDir = !values['data-dir'];
  const dataDir = values['data-dir'] ?? fs.mkdtempSync(path.join(os.tmpdir(), 'mailroom-bench-'));
  const removeDir = () => {
    if (ownDir && !values.keep) fs.rmSync(dataDir, { recursive: true, force: true });
  };

  let running: Running | null = null;
  try {
    const load = await importSrc('config/load.ts');
    const parseConfig = fn<(toml: string, source: string) => unknown>(load, 'parseConfig', 'src/config/load.ts');
    const srv = await importSrc('server/server.ts');
    const startServer = fn<(config: unknown, opts: { logger: unknown }) => Promise<Running>>(srv, 'startServer', 'src/server/server.ts');

    // Logs go to a file in the data dir: the server still pays for writing
    // them (as Postfix pays for its maillog), but not through our stdout pipe.
    // Not { recursive: true }: on Node 24 that spins forever when mkdir answers
    // ENOENT under a parent that exists (e.g. a path under /proc).
    try {
      fs.mkdirSync(dataDir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const logStream = fs.createWriteStream(path.join(dataDir, 'mailroom.log'), { flags: 'a' });
    logStream.on('error', (err) => process.stderr.write(`serve-for-bench: log file: ${err.message}\n`));
    let logger: unknown = undefined;
    try {
      const logMod = await importSrc('log/logger.ts');
      const createLogger = fn<(o: { level?: string; write?: (l: string) => void }) => unknown>(logMod, 'createLogger', 'src/log/logger.ts');
      logger = createLogger({ level: values.log, write: (l) => void logStream.write(l) });
    } catch (err) {
      throw new Error(`no logger: ${(err as Error).message}`);
    }

    const toml = (limits: boolean) =>
      [
        `hostname = "bench.localdomain"`,
        `data_dir = ${JSON.stringify(dataDir)}`,
        ...(storeUrl ? [`[store]`, `url = ${JSON.stringify(storeUrl)}`, `pool_size = 20`] : []),
        `[listen]`,
        `smtp = "127.0.0.1:${port}"`,
        ...(submission
          ? [`submission = "127.0.0.1:${Number(values['submission-port'])}"`, `submissions = "127.0.0.1:${Number(values['submissions-port'])}"`]
          : []),
        ...(limits ? [`[limits]`, `connections = 5000`, `connections_per_ip = 5000`] : []),
        // Only for the "AUTH without TLS" comparison: logins in clear from loopback.
        ...(values['allow-plaintext-auth'] ? [`[auth]`, `allow_plaintext_loopback = true`] : []),
        ...(trusted?.length ? [`[relay]`, `trusted_networks = ${JSON.stringify(trusted)}`] : []),
        ...(remotePort !== undefined ? [`[delivery]`, `port = ${remotePort}`] : []),
        ...(queueLines.length ? [`[queue]`, ...queueLines] : []),
        ...(values['dns-server'] ? [`[dns]`, `servers = ${JSON.stringify([values['dns-server']])}`] : []),
        // Sender authentication (SPF/DKIM/DMARC) needs the senders' DNS; without a bench DNS server it is off.
        ...(values['dns-server'] ? [] : [`[auth_checks]`, `enabled = false`]),
        // The load generators send thousands of messages from 127.0.0.1: no per-IP rate limits
        // (spam scoring stays on, so its cost is in the figures).
        `[rate_limit]`,
        `enabled = false`,
        `[log]`,
        `level = ${JSON.stringify(values.log)}`,
      ].join('\n') + '\n';
    let config: unknown;
    try {
      config = parseConfig(toml(true), 'serve-for-bench');
    } catch (err) {
      // The limit keys may be named differently by now: try without them (50
      // sessions from one IP may then hit the per-IP limit; the bench will say so).
      process.stderr.write(`serve-for-bench: config with raised limits refused (${(err as Error).message}); trying defaults\n`);
      config = parseConfig(toml(false), 'serve-for-bench');
    }

    running = await startServer(config, { logger });
    const smtpPort = running.ports?.smtp;
    if (!smtpPort) throw new Error('startServer did not report ports.smtp');
    const submissionPort = running.ports?.submission;
    const submissionsPort = running.ports?.submissions;
    if (submission && (!submissionPort || !submissionsPort)) throw new Error('startServer did not report ports.submission and ports.submissions');

    let store = running.store;
    let ownStore = false;
    if (!store) {
      // Older server shape without `store`: open the SQLite store directly.
      const sq = await importSrc('store/sqlite/index.ts');
      const openSqliteStore = fn<(o: { dataDir: string }) => Promise<BenchStore>>(sq, 'openSqliteStore', 'src/store/sqlite/index.ts');
      store = await openSqliteStore({ dataDir });
      ownStore = true;
    }
    // One hash for every user (they share the password, so the salt can be
    // shared too): hashing 100 times with argon2id would only slow the start.
    let creds: { passwordHash: string; scram: string | null };
    try {
      const c = await importSrc('auth/credentials.ts');
      creds = await fn<(p: string) => Promise<{ passwordHash: string; scram: string }>>(c, 'hashCredentials', 'src/auth/credentials.ts')(password);
    } catch (err) {
      if (submission) throw new Error(`cannot hash the bench password: ${(err as Error).message}`);
      // The SMTP-only scenarios do not log in: a placeholder hash is fine.
      creds = { passwordHash: '$argon2id$v=19$m=19456,t=2,p=1$YmVuY2hiZW5jaGJlbmNo$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', scram: null };
    }
    const ignoreExists = (err: unknown) => {
      if ((err as { code?: string }).code !== 'exists') throw err;
    };
    await store.addDomain(domain).catch(ignoreExists);
    const accountIds: number[] = [];
    for (let i = 1; i <= users; i++) {
      const address = `user${i}@${domain}`;
      try {
        accountIds.push((await store.addAccount({ address, passwordHash: creds.passwordHash, scram: creds.scram, quotaBytes: 0 })).id);
      } catch (err) {
        ignoreExists(err);
        const a = await store.getAccount?.(address);
        if (a) accountIds.push(a.id);
      }
    }
    if (values.dkim) {
      const dk = await importSrc('cli/dkim.ts');
      const keygen = fn<(s: unknown, d: string, o: { algorithm?: string }, now: Date) => Promise<unknown>>(dk, 'keygen', 'src/cli/dkim.ts');
      for (const algorithm of ['rsa-sha256', 'ed25519-sha256']) await keygen(store, domain, { algorithm }, new Date());
    }
    if (ownStore) await store.close?.();

    let stopping = false;
    const stop = async (why: string) => {
      if (stopping) return;
      stopping = true;
      try {
        // Count what was stored, to compare with what the load generator saw accepted.
        const s = running!.store;
        if (s?.getMailbox) {
          let stored = 0;
          for (const id of accountIds) stored += (await s.getMailbox(id, 'INBOX'))?.messageCount ?? 0;
          out({ stored });
        }
      } catch (err) {
        out({ storedError: (err as Error).message });
      }
      try {
        await running!.close(why);
      } catch (err) {
        process.stderr.write(`serve-for-bench: close failed: ${(err as Error).message}\n`);
      }
      logStream.end();
      removeDir();
      await dropOwnSchema().catch((err: unknown) => process.stderr.write(`serve-for-bench: dropping schema: ${(err as Error).message}\n`));
      process.exit(0);
    };
    process.on('SIGTERM', () => void stop('SIGTERM'));
    process.on('SIGINT', () => void stop('SIGINT'));
    if (values['exit-with-stdin']) {
      // The parent holds our stdin: if it dies, so do we.
      process.stdin.on('end', () => void stop('stdin closed'));
      process.stdin.on('error', () => void stop('stdin error'));
      process.stdin.resume();
    }
    // Bounded: never outlive a forgotten benchmark.
    setTimeout(() => void stop('max lifetime'), parseDuration(values['max-lifetime']!)).unref();

    // Only now: a parent that stops us as soon as we are ready (run.ts's probe)
    // must find the handlers in place, or SIGTERM kills us without cleaning up.
    out({
      ready: true,
      port: smtpPort,
      ...(submission ? { submission: submissionPort, submissions: submissionsPort, password } : {}),
      pid: process.pid,
      dataDir,
      users,
    });
  } catch (err) {
    out({ ready: false, error: err instanceof Error ? err.message : String(err) });
    try {
      await running?.close('startup failed');
    } catch {
      /* ignore */
    }
    removeDir();
    await dropOwnSchema().catch(() => {});
    process.exit(1);
  }
}

main().catch((err: unknown) => {
  out({ ready: false, error: err instanceof Error ? err.message : String(err) });
  process.exit(1);
});
