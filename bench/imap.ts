// IMAP figures for `npm run bench` (and on its own: `node bench/imap.ts`):
// a Mailroom server in a child process (its memory measured apart from the
// client) with one account whose INBOX holds 10,000 messages, filled through
// store.deliver with their MIME summaries as SMTP delivery stores them. Then,
// from a raw-socket client (no client library in the timings):
//   1. LOGIN + SELECT INBOX + FETCH 1:* (FLAGS ENVELOPE RFC822.SIZE), cold and again;
//   2. FETCH 1:1000 BODY.PEEK[] (full bodies of 1,000 messages);
//   3. SEARCH over a header and body text (OR FROM … BODY …: every body is read), and over a header only;
//   4. server RSS with 1,000 connections logged in, INBOX selected, in IDLE
//      (per connection: the growth over the RSS before they connected, after a GC).
// `--target host:port --user U --password P` runs steps 1–3 against another
// server (e.g. Dovecot filled with the same messages by `--fill-maildir DIR`).
//
// Run: node bench/imap.ts [--messages 10000] [--idle 1000] [--json]
//      [--target host:port --user U --password P [--server-pid PID]] [--fill-maildir DIR]
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';

const HERE = fileURLToPath(new URL('.', import.meta.url));

export interface ImapBenchResult {
  target: string;
  messages: number;
  /** ms: LOGIN + SELECT + FETCH 1:* (FLAGS ENVELOPE RFC822.SIZE), first and second run. */
  fetchAllColdMs: number;
  fetchAllWarmMs: number;
  fetchAllBytes: number;
  /** ms for FETCH 1:1000 BODY.PEEK[], and the bytes received. */
  fullBodyMs: number;
  fullBodyBytes: number;
  /** ms for SEARCH OR FROM … BODY … (every body read), and for SEARCH SUBJECT … */
  searchBodyMs: number;
  searchBodyHits: number;
  searchHeaderMs: number;
  searchHeaderHits: number;
  /** Server RSS before and with the idle connections, bytes; null when not measured. */
  idleConnections: number;
  rssBefore: number | null;
  rssIdle: number | null;
  perConnectionBytes: number | null;
  /** The growth of the JS heap plus external memory (after a GC) per connection. */
  perConnectionHeapBytes: number | null;
}

/** The nth bench message: ~2 KB, a few header fields, distinct senders and subjects. */
export function benchMessage(i: number): Buffer {
  const body = `Hello,\r\n\r\nThis is message number ${i} of the IMAP benchmark.${i % 97 === 0 ? ' It mentions the word needle.' : ''}\r\n` + 'Lorem ipsum dolor sit amet, consectetur adipiscing elit. '.repeat(30) + '\r\n';
  return Buffer.from(
    `Return-Path: <sender${i % 50}@remote.example>\r\n` +
      `Received: from mta.remote.example by mx.example.org; Mon, 1 Jan 2024 00:00:00 +0000\r\n` +
      `From: "Sender ${i % 50}" <sender${i % 50}@remote.example>\r\n` +
      `To: user1@example.org\r\n` +
      `Subject: Benchmark message ${i}\r\n` +
      `Date: Mon, 1 Jan 2024 00:00:00 +0000\r\n` +
      `Message-ID: <bench-${i}@remote.example>\r\n` +
      `MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n` +
      body,
  );
}

// ---------------------------------------------------------------- server child

async function serve(messages: number): Promise<void> {
  const { parseConfig } = await import('../src/config/load.ts');
  const { createLogger } = await import('../src/log/logger.ts');
  const { startServer } = await import('../src/server/server.ts');
  const { hashCredentials } = await import('../src/auth/credentials.ts');
  const { summarizeMessage, serializeSummary } = await import('../src/message/mime/summary.ts');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mailroom-imap-bench-'));
  // MAILROOM_BENCH_STORE=postgres://… (set by run.ts --store): the same on
  // PostgreSQL, in a schema of its own that is dropped at the end.
  const pgBase = process.env.MAILROOM_BENCH_STORE;
  const schema = pgBase ? `bench_imap_${process.pid}` : null;
  const storeToml = pgBase ? (() => {
    const u = new URL(pgBase);
    u.searchParams.set('schema', schema!);
    return `[store]\nurl = ${JSON.stringify(u.href)}\n`;
  })() : '';
  const dropSchema = async () => {
    if (!pgBase) return;
    const pg = (await import('pg')).default;
    const c = new pg.Client({ connectionString: pgBase });
    await c.connect();
    await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).finally(() => c.end());
  };
  const toml =
    `hostname = "mx.example.org"\ndata_dir = ${JSON.stringify(dir)}\n${storeToml}[listen]\nimap = "127.0.0.1:0"\n` +
    `[limits]\nconnections = 5000\nconnections_per_ip = 5000\n[auth]\nallow_plaintext_loopback = true\n` +
    `[dns]\nservers = ["127.0.0.1:9"]\n[tls]\nself_signed = false\n`;
  const config = parseConfig(toml, 'bench.toml');
  const server = await startServer(config, { logger: createLogger({ level: 'warn' }) });
  const store = server.store;
  await store.addDomain('example.org');
  const { passwordHash, scram } = await hashCredentials('bench-pw');
  const acc = await store.addAccount({ address: 'user1@example.org', passwordHash, scram, quotaBytes: 0 });
  // Concurrent deliveries share group commits.
  const BATCH = 200;
  for (let i = 0; i < messages; i += BATCH) {
    const jobs: Promise<unknown>[] = [];
    for (let j = i; j < Math.min(messages, i + BATCH); j++) {
      const content = benchMessage(j);
      jobs.push(store.deliver({ content: [content], internalDate: new Date(Date.UTC(2024, 0, 1) + j * 1000), recipients: [{ accountId: acc.id }], meta: serializeSummary(summarizeMessage(content)) }));
    }
    await Promise.all(jobs);
  }
  const gc = (globalThis as { gc?: () => void }).gc;
  process.stdout.write(JSON.stringify({ ready: true, port: server.ports.imap, pid: process.pid }) + '\n');
  const rl = createInterface({ input: process.stdin });
  rl.on('line', (line) => {
    if (line === 'mem') {
      gc?.();
      gc?.();
      const m = process.memoryUsage();
      process.stdout.write(JSON.stringify({ rss: m.rss, heapUsed: m.heapUsed, external: m.external }) + '\n');
    }
  });
  const stop = async () => {
    await server.close('bench done');
    fs.rmSync(dir, { recursive: true, force: true });
    await dropSchema().catch(() => {});
    process.exit(0);
  };
  rl.on('close', () => void stop());
  process.on('SIGTERM', () => void stop());
}

// ---------------------------------------------------------------- raw client

class Conn {
  readonly socket: net.Socket;
  #chunks: Buffer[] = [];
  #len = 0;
  #waiter: (() => void) | null = null;
  #n = 0;
  closed = false;
  constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on('data', (d: Buffer) => {
      this.#chunks.push(d);
      this.#len += d.length;
      this.#waiter?.();
    });
    socket.on('close', () => {
      this.closed = true;
      this.#waiter?.();
    });
    socket.on('error', () => {});
  }
  static open(port: number, host = '127.0.0.1'): Promise<Conn> {
    return new Promise((resolve, reject) => {
      const s = net.connect({ port, host }, () => resolve(new Conn(s)));
      s.once('error', reject);
    });
  }
  /** Waits until the received bytes end with a line matching `re` (checked on the tail only); returns all bytes. */
  async until(re: RegExp): Promise<Buffer> {
    for (;;) {
      const tail = this.#tail();
      if (re.test(tail)) {
        const all = Buffer.concat(this.#chunks);
        this.#chunks = [];
        this.#len = 0;
        return all;
      }
      if (this.closed) throw new Error(`connection closed: ${tail}`);
      await new Promise<void>((r) => (this.#waiter = r));
      this.#waiter = null;
    }
  }
  #tail(): string {
    const parts: Buffer[] = [];
    let n = 0;
    for (let i = this.#chunks.length - 1; i >= 0 && n < 4096; i--) {
      parts.unshift(this.#chunks[i]!);
      n += this.#chunks[i]!.length;
    }
    const t = Buffer.concat(parts);
    return t.subarray(Math.max(0, t.length - 4096)).toString('latin1');
  }
  async cmd(line: string): Promise<Buffer> {
    const tag = `Z${++this.#n}`;
    this.socket.write(`${tag} ${line}\r\n`);
    const out = await this.until(new RegExp(`(^|\\r\\n)${tag} (OK|NO|BAD)[^\\r\\n]*\\r\\n$`));
    const last = out.subarray(Math.max(0, out.length - 4096)).toString('latin1');
    if (!new RegExp(`(^|\\r\\n)${tag} OK`).test(last)) throw new Error(`${line.slice(0, 40)}: ${last.trim().split('\r\n').pop()}`);
    return out;
  }
  close(): void {
    this.socket.destroy();
  }
}

function rssOf(pid: number): number | null {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

export interface ImapBenchOptions {
  messages: number;
  idle: number;
  target?: { host: string; port: number; user: string; password: string; pid?: number };
  log?: (s: string) => void;
}

export async function runImapBench(o: ImapBenchOptions): Promise<ImapBenchResult> {
  const log = o.log ?? (() => {});
  let child: ChildProcess | null = null;
  let host = '127.0.0.1';
  let port: number;
  let user = 'user1@example.org';
  let password = 'bench-pw';
  let pid: number | undefined;
  let mem: (() => Promise<{ rss: number; heap: number } | null>) | null = null;
  if (o.target) {
    ({ host, port, user, password } = o.target);
    pid = o.target.pid;
  } else {
    log(`imap bench: starting Mailroom and filling INBOX with ${o.messages} messages …`);
    child = spawn(process.execPath, ['--expose-gc', path.join(HERE, 'imap.ts'), '--serve', '--messages', String(o.messages)], { stdio: ['pipe', 'pipe', 'inherit'] });
    const lines = createInterface({ input: child.stdout! });
    const queue: Record<string, unknown>[] = [];
    let wake: (() => void) | null = null;
    lines.on('line', (l) => {
      try {
        queue.push(JSON.parse(l) as Record<string, unknown>);
        wake?.();
      } catch {
        /* not ours */
      }
    });
    const next = async (): Promise<Record<string, unknown>> => {
      const deadline = Date.now() + 600_000;
      while (queue.length === 0) {
        if (child!.exitCode !== null || Date.now() > deadline) throw new Error('the IMAP bench server stopped');
        await new Promise<void>((r) => {
          wake = r;
          setTimeout(r, 1000);
        });
      }
      return queue.shift()!;
    };
    const ready = await next();
    port = ready.port as number;
    pid = ready.pid as number;
    mem = async () => {
      child!.stdin!.write('mem\n');
      const m = await next();
      return { rss: m.rss as number, heap: (m.heapUsed as number) + (m.external as number) };
    };
  }
  const q = (s: string) => JSON.stringify(s);
  try {
    // 1. LOGIN + SELECT + FETCH 1:* (FLAGS ENVELOPE RFC822.SIZE)
    const fetchAll = async (): Promise<[number, number]> => {
      const t0 = performance.now();
      const c = await Conn.open(port, host);
      await c.until(/\r\n$/);
      await c.cmd(`LOGIN ${q(user)} ${q(password)}`);
      await c.cmd('SELECT INBOX');
      const out = await c.cmd('FETCH 1:* (FLAGS ENVELOPE RFC822.SIZE)');
      const ms = performance.now() - t0;
      c.close();
      return [ms, out.length];
    };
    log('imap bench: LOGIN+SELECT+FETCH 1:* (FLAGS ENVELOPE RFC822.SIZE) …');
    const [cold, bytes] = await fetchAll();
    const [warm] = await fetchAll();
    const c = await Conn.open(port, host);
    await c.until(/\r\n$/);
    await c.cmd(`LOGIN ${q(user)} ${q(password)}`);
    await c.cmd('SELECT INBOX');
    log('imap bench: FETCH 1:1000 BODY.PEEK[] …');
    let t0 = performance.now();
    const bodies = await c.cmd(`FETCH 1:${Math.min(1000, o.messages)} BODY.PEEK[]`);
    const fullBodyMs = performance.now() - t0;
    log('imap bench: SEARCH …');
    t0 = performance.now();
    const sb = (await c.cmd('SEARCH OR FROM "sender7@remote.example" BODY "needle"')).toString('latin1');
    const searchBodyMs = performance.now() - t0;
    t0 = performance.now();
    const sh = (await c.cmd('SEARCH SUBJECT "message 99"')).toString('latin1');
    const searchHeaderMs = performance.now() - t0;
    const hits = (s: string) => (/^\* SEARCH([^\r]*)/m.exec(s)?.[1] ?? '').trim().split(/\s+/).filter(Boolean).length;
    c.close();

    // 4. Idle connections in IDLE.
    let rssBefore: number | null = null;
    let rssIdle: number | null = null;
    let heapBefore: number | null = null;
    let heapIdle: number | null = null;
    const measure = async (): Promise<[number | null, number | null]> => {
      if (mem) {
        const m = await mem();
        return [m?.rss ?? null, m?.heap ?? null];
      }
      return [rssOf(pid!), null];
    };
    const idle: Conn[] = [];
    if (o.idle > 0 && (mem || pid)) {
      const PAR = 50;
      // Warm-up: as many logins at once as below, so the allocator's arenas
      // (argon2 needs 19 MiB per hash in flight) have grown before the baseline.
      const warm = await Promise.all(Array.from({ length: PAR }, async () => {
        const k = await Conn.open(port, host);
        await k.until(/\r\n$/);
        await k.cmd(`LOGIN ${q(user)} ${q(password)}`);
        await k.cmd('EXAMINE INBOX');
        return k;
      }));
      for (const k of warm) k.close();
      await new Promise((r) => setTimeout(r, 500));
      [rssBefore, heapBefore] = await measure();
      log(`imap bench: ${o.idle} connections in IDLE …`);
      for (let i = 0; i < o.idle; i += PAR) {
        const group = await Promise.all(
          Array.from({ length: Math.min(PAR, o.idle - i) }, async () => {
            const k = await Conn.open(port, host);
            await k.until(/\r\n$/);
            await k.cmd(`LOGIN ${q(user)} ${q(password)}`);
            await k.cmd('EXAMINE INBOX');
            k.socket.write('I IDLE\r\n');
            await k.until(/\+ [^\r\n]*\r\n$/);
            return k;
          }),
        );
        idle.push(...group);
      }
      await new Promise((r) => setTimeout(r, 1000));
      [rssIdle, heapIdle] = await measure();
      for (const k of idle) k.close();
    }
    return {
      target: o.target ? `${host}:${port}` : 'Mailroom',
      messages: o.messages,
      fetchAllColdMs: Math.round(cold),
      fetchAllWarmMs: Math.round(warm),
      fetchAllBytes: bytes,
      fullBodyMs: Math.round(fullBodyMs),
      fullBodyBytes: bodies.length,
      searchBodyMs: Math.round(searchBodyMs),
      searchBodyHits: hits(sb),
      searchHeaderMs: Math.round(searchHeaderMs),
      searchHeaderHits: hits(sh),
      idleConnections: idle.length,
      rssBefore,
      rssIdle,
      perConnectionBytes: rssBefore !== null && rssIdle !== null && idle.length > 0 ? Math.round((rssIdle - rssBefore) / idle.length) : null,
      perConnectionHeapBytes: heapBefore !== null && heapIdle !== null && idle.length > 0 ? Math.round((heapIdle - heapBefore) / idle.length) : null,
    };
  } finally {
    if (child) {
      child.stdin!.end();
      const t = setTimeout(() => child!.kill('SIGKILL'), 15_000);
      await new Promise((r) => child!.once('exit', r));
      clearTimeout(t);
    }
  }
}

/** Writes the bench messages as a Maildir INBOX (to fill Dovecot for a side-by-side figure). */
function fillMaildir(dir: string, messages: number): void {
  for (const sub of ['cur', 'new', 'tmp']) fs.mkdirSync(path.join(dir, sub), { recursive: true });
  for (let i = 0; i < messages; i++) fs.writeFileSync(path.join(dir, 'cur', `${1704067200 + i}.M${i}P1.bench:2,`), benchMessage(i).toString('latin1').replace(/^Return-Path:[^\n]*\n/, ''), 'latin1');
}

export function imapTable(r: ImapBenchResult): string {
  const kb = (n: number) => `${(n / 1024).toFixed(0)} KiB`;
  const mb = (n: number | null) => (n === null ? 'n/a' : `${(n / 1024 / 1024).toFixed(1)} MiB`);
  return [
    `IMAP (${r.target}, INBOX of ${r.messages} messages of ~2 KB)`,
    `  LOGIN+SELECT+FETCH 1:* (FLAGS ENVELOPE RFC822.SIZE)  ${r.fetchAllColdMs} ms cold, ${r.fetchAllWarmMs} ms again (${kb(r.fetchAllBytes)})`,
    `  FETCH 1:1000 BODY.PEEK[]                           ${r.fullBodyMs} ms (${kb(r.fullBodyBytes)})`,
    `  SEARCH OR FROM … BODY "needle" (header, body text) ${r.searchBodyMs} ms, ${r.searchBodyHits} hits`,
    `  SEARCH SUBJECT "message 99" (header)               ${r.searchHeaderMs} ms, ${r.searchHeaderHits} hits`,
    `  ${r.idleConnections} connections in IDLE: server RSS ${mb(r.rssBefore)} → ${mb(r.rssIdle)}` +
      (r.perConnectionBytes === null ? '' : `, ${(r.perConnectionBytes / 1024).toFixed(1)} KiB RSS per connection`) +
      (r.perConnectionHeapBytes === null ? '' : ` (JS heap + external: ${(r.perConnectionHeapBytes / 1024).toFixed(1)} KiB)`),
  ].join('\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      serve: { type: 'boolean' },
      messages: { type: 'string', default: '10000' },
      idle: { type: 'string', default: '1000' },
      json: { type: 'boolean' },
      target: { type: 'string' },
      user: { type: 'string', default: 'user1@example.org' },
      password: { type: 'string', default: 'bench-pw' },
      'server-pid': { type: 'string' },
      'fill-maildir': { type: 'string' },
    },
  });
  const messages = Number(values.messages);
  if (values.serve) return serve(messages);
  if (values['fill-maildir']) return fillMaildir(values['fill-maildir'], messages);
  let target: ImapBenchOptions['target'];
  if (values.target) {
    const m = /^(.+):(\d+)$/.exec(values.target);
    if (!m || !/^(127\.|localhost$|::1$|\[::1\]$)/.test(m[1]!)) throw new Error('--target must be a loopback host:port');
    target = { host: m[1]!.replace(/^\[|\]$/g, ''), port: Number(m[2]), user: values.user!, password: values.password!, pid: values['server-pid'] ? Number(values['server-pid']) : undefined };
  }
  const r = await runImapBench({ messages, idle: Number(values.idle), target, log: values.json ? undefined : (s) => process.stderr.write(s + '\n') });
  process.stdout.write(values.json ? JSON.stringify(r) + '\n' : imapTable(r) + '\n');
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((err: unknown) => {
    process.stderr.write(`imap bench: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(2);
  });
}
