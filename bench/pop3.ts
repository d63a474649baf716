// POP3 figure: how fast a client can download and delete a mailbox. Starts
// Mailroom in this process (temp data dir, pop3s listener on loopback, one
// user), stores N messages of S bytes straight through store.deliver, then
// one client over implicit TLS (port 995 style) logs in, and for each message
// sends RETR n, reads it whole, sends DELE n (one command at a time, as
// fetchmail and most clients do), then QUIT, whose UPDATE expunges all N
// durably before "+OK". Figures: msg/s over the whole session (login to the
// QUIT reply), per-message (RETR+DELE) latency p50/p99, the QUIT/expunge
// time, and the messages left in the INBOX (must be 0).
//
// Run: node bench/pop3.ts [--messages 1000] [--size 10k] [--json]
// `run.ts` calls runPop3Bench() for its `pop3` scenario.

import tls from 'node:tls';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../src/config/load.ts';
import { createLogger } from '../src/log/logger.ts';
import { startServer } from '../src/server/server.ts';
import { hashCredentials } from '../src/auth/credentials.ts';
import { parseSize } from './smtp-load.ts';

export interface Pop3BenchResult {
  messages: number;
  size: number;
  retrieved: number;
  /** Bytes of message data received (stuffed). */
  bytes: number;
  seconds: number;
  msgPerSec: number;
  latency: { p50: number; p99: number };
  quitMs: number;
  left: number;
  peakRss: number;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

class Reader {
  #buf: Buffer = Buffer.alloc(0);
  #wait: (() => void) | null = null;
  #closed = false;
  bytes = 0;
  constructor(sock: tls.TLSSocket) {
    sock.on('data', (d: Buffer) => {
      this.bytes += d.length;
      this.#buf = this.#buf.length === 0 ? d : Buffer.concat([this.#buf, d]);
      this.#wait?.();
    });
    sock.on('close', () => {
      this.#closed = true;
      this.#wait?.();
    });
  }
  async #until(find: () => number): Promise<Buffer> {
    for (;;) {
      const n = find();
      if (n >= 0) {
        const out = this.#buf.subarray(0, n);
        this.#buf = this.#buf.subarray(n);
        return out;
      }
      if (this.#closed) throw new Error('connection closed');
      await new Promise<void>((r) => (this.#wait = r));
      this.#wait = null;
    }
  }
  line(): Promise<string> {
    return this.#until(() => {
      const i = this.#buf.indexOf('\r\n');
      return i < 0 ? -1 : i + 2;
    }).then((b) => b.toString('latin1').trimEnd());
  }
  body(): Promise<Buffer> {
    return this.#until(() => {
      const i = this.#buf.indexOf('\r\n.\r\n');
      return i < 0 ? -1 : i + 5;
    });
  }
}

export async function runPop3Bench(o: { messages: number; size: number }): Promise<Pop3BenchResult> {
  const dir = await mkdtemp(join(tmpdir(), 'mailroom-bench-pop3-'));
  const config = parseConfig(
    `hostname = "bench.example"\ndata_dir = ${JSON.stringify(dir)}\n[listen]\npop3s = "127.0.0.1:0"\n[auth_checks]\nenabled = false\n`,
    'bench.toml',
  );
  const server = await startServer(config, { logger: createLogger({ level: 'error' }) });
  let peakRss = process.memoryUsage().rss;
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 100);
  try {
    const store = server.store;
    await store.addDomain('example.org');
    const password = 'bench-password';
    const acc = await store.addAccount({ address: 'user1@example.org', ...(await hashCredentials(password)), quotaBytes: 0 });
    const filler = 'x'.repeat(76) + '\r\n';
    for (let i = 0; i < o.messages; i += 500) {
      await Promise.all(
        Array.from({ length: Math.min(500, o.messages - i) }, (_, k) => {
          const head = `From: bench@remote.example\r\nTo: user1@example.org\r\nSubject: pop3 bench ${i + k}\r\n\r\n`;
          const body = filler.repeat(Math.max(1, Math.ceil((o.size - head.length) / filler.length)));
          return store.deliver({ content: [Buffer.from(head + body)], internalDate: new Date(), recipients: [{ accountId: acc.id }] });
        }),
      );
    }
    const sock = tls.connect({ host: '127.0.0.1', port: server.ports.pop3s!, rejectUnauthorized: false });
    await new Promise<void>((resolve, reject) => sock.once('secureConnect', resolve).once('error', reject));
    sock.setNoDelay(true);
    const r = new Reader(sock);
    const expectOk = async (what: string) => {
      const l = await r.line();
      if (!l.startsWith('+OK')) throw new Error(`${what}: ${l}`);
      return l;
    };
    await expectOk('greeting');
    const started = performance.now();
    sock.write('USER user1@example.org\r\n');
    await expectOk('USER');
    sock.write(`PASS ${password}\r\n`);
    const loggedIn = await expectOk('PASS');
    const count = Number(/has (\d+) messages/.exec(loggedIn)?.[1] ?? 0);
    const lat: number[] = [];
    let retrieved = 0;
    for (let n = 1; n <= count; n++) {
      const t0 = performance.now();
      sock.write(`RETR ${n}\r\n`);
      await expectOk('RETR');
      await r.body();
      sock.write(`DELE ${n}\r\n`);
      await expectOk('DELE');
      lat.push(performance.now() - t0);
      retrieved++;
    }
    const q0 = performance.now();
    sock.write('QUIT\r\n');
    await expectOk('QUIT');
    const ended = performance.now();
    sock.destroy();
    const mb = (await store.getMailbox(acc.id, 'INBOX'))!;
    lat.sort((a, b) => a - b);
    const seconds = (ended - started) / 1000;
    return {
      messages: o.messages,
      size: o.size,
      retrieved,
      bytes: r.bytes,
      seconds,
      msgPerSec: retrieved / seconds,
      latency: { p50: percentile(lat, 50), p99: percentile(lat, 99) },
      quitMs: ended - q0,
      left: mb.messageCount,
      peakRss,
    };
  } finally {
    clearInterval(sampler);
    await server.close('bench done');
    await rm(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { messages: { type: 'string', default: '1000' }, size: { type: 'string', default: '10k' }, json: { type: 'boolean', default: false } },
  });
  const res = await runPop3Bench({ messages: Number(values.messages), size: parseSize(values.size!) });
  if (values.json) process.stdout.write(JSON.stringify(res) + '\n');
  else {
    process.stdout.write(
      `POP3 (pop3s, one session, RETR+DELE each, then QUIT): ${res.retrieved}/${res.messages} × ${values.size} in ${res.seconds.toFixed(2)} s = ` +
        `${res.msgPerSec.toFixed(0)} msg/s; RETR+DELE p50 ${res.latency.p50.toFixed(2)} ms, p99 ${res.latency.p99.toFixed(2)} ms; ` +
        `QUIT (expunge) ${res.quitMs.toFixed(1)} ms; ${res.left} left; peak RSS ${(res.peakRss / 1048576).toFixed(0)} MiB\n`,
    );
  }
  if (res.left !== 0 || res.retrieved !== res.messages) process.exitCode = 1;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().catch((err: unknown) => {
    process.stderr.write(`bench/pop3: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(2);
  });
}
