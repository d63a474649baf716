// A tiny discard SMTP sink for measuring the load generator's own ceiling: it
// advertises PIPELINING, CHUNKING, SIZE and 8BITMIME, answers 250 to
// everything (354 to DATA, 250 after CRLF.CRLF or after each BDAT chunk) and
// stores nothing. Commands are handled in whole pipelined batches: all replies
// owed for one received chunk go out in a single write. Not a real server —
// no limits beyond a line-length cap — and it listens on loopback only.
// AUTH gets 235 without looking at the credentials. With --tls-cert and
// --tls-key it also listens for implicit TLS (as on port 465) on a second
// port, to show the generator's TLS ceiling (no STARTTLS).
// Run: `node bench/sink.ts --port 2599 [--workers N] [--tls-cert F --tls-key F [--tls-port P]]`;
// prints one JSON line {"sink":true,"port":N,"pid":P[,"tlsPort":N]} when ready.
// `startSink()` runs it in-process.

import fs from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import cluster from 'node:cluster';
import { parseArgs } from 'node:util';

export interface SinkStats {
  connections: number;
  messages: number;
  bytes: number;
  /** When the first and the last message were taken (ms since epoch; 0 before
   * the first), for delivery-rate figures; a caller may reset them to 0. */
  firstAt: number;
  lastAt: number;
}

function taken(stats: SinkStats): void {
  stats.messages++;
  stats.lastAt = Date.now();
  if (stats.firstAt === 0) stats.firstAt = stats.lastAt;
}

export interface Sink {
  port: number;
  /** Implicit-TLS port, when started with a certificate. */
  tlsPort?: number;
  stats: SinkStats;
  /** While held, new connections get no greeting (they wait, as for a slow
   * server); release() greets them all. For measuring a queue's backlog drain. */
  hold(): void;
  release(): void;
  close(): Promise<void>;
}

const M_CMD = 0;
const M_DATA = 1;
const M_BDAT = 2;
const MAX_LINE = 4096;
const END = Buffer.from('\r\n.\r\n');

const EHLO_REPLY =
  '250-sink.example.net\r\n250-PIPELINING\r\n250-CHUNKING\r\n250-SIZE 104857600\r\n250-8BITMIME\r\n250 ENHANCEDSTATUSCODES\r\n';

function handle(sock: net.Socket, stats: SinkStats): void {
  sock.setNoDelay(true);
  stats.connections++;
  let mode = M_CMD;
  let partial: Buffer | null = null;
  let bdatLeft = 0;
  let bdatLast = false;
  // For DATA: how many bytes of "\r\n.\r\n" the previous chunk ended with (a
  // matched prefix); starts at 2 because DATA content begins at a line start.
  let matched = 0;
  let closed = false;
  sock.on('error', () => sock.destroy());
  sock.on('close', () => {
    closed = true;
  });
  sock.write('220 sink.example.net ESMTP discard sink\r\n');

  sock.on('data', (chunk: Buffer) => {
    let out = '';
    let buf = chunk;
    if (partial) {
      buf = Buffer.concat([partial, chunk]);
      partial = null;
    }
    let pos = 0;
    const n = buf.length;
    while (pos < n && !closed) {
      if (mode === M_DATA) {
        // Finish a terminator split across chunks.
        if (matched > 0) {
          let i = 0;
          while (matched < 5 && pos + i < n && buf[pos + i] === END[matched]) {
            matched++;
            i++;
          }
          if (matched === 5) {
            pos += i;
            stats.bytes += i;
            mode = M_CMD;
            matched = 0;
            taken(stats);
            out += '250 2.0.0 Ok: discarded\r\n';
            continue;
          }
          if (pos + i >= n) {
            stats.bytes += i;
            pos = n;
            break;
          }
          matched = 0; // mismatch: fall through to a normal search from pos
        }
        const e = buf.indexOf(END, pos);
        if (e >= 0) {
          stats.bytes += e + 5 - pos;
          pos = e + 5;
          mode = M_CMD;
          taken(stats);
          out += '250 2.0.0 Ok: discarded\r\n';
          continue;
        }
        // Keep the longest suffix of this chunk that is a prefix of END.
        stats.bytes += n - pos;
        for (let k = Math.min(4, n - pos); k > 0; k--) {
          if (buf.compare(END, 0, k, n - k, n) === 0) {
            matched = k;
            break;
          }
        }
        pos = n;
        break;
      }
      if (mode === M_BDAT) {
        const take = Math.min(bdatLeft, n - pos);
        bdatLeft -= take;
        pos += take;
        stats.bytes += take;
        if (bdatLeft === 0) {
          mode = M_CMD;
          out += '250 2.0.0 Ok: chunk\r\n';
          if (bdatLast) taken(stats);
        }
        continue;
      }
      const nl = buf.indexOf(10, pos);
      if (nl < 0) {
        if (n - pos > MAX_LINE) {
          out += '500 5.5.0 Line too long\r\n';
          sock.end(out);
          return;
        }
        partial = buf.subarray(pos);
        break;
      }
      const c0 = buf[pos]! | 0x20;
      const c1 = buf[pos + 1]! | 0x20;
      const lineStart = pos;
      pos = nl + 1;
      // Dispatch on the first two letters (case-insensitive): ma(il) rc(pt) da(ta) bd(at) eh(lo) he(lo) qu(it) rs(et) no(op)
      if (c0 === 0x6d || c0 === 0x72) {
        if (c0 === 0x72 && c1 === 0x73) out += '250 2.0.0 Ok\r\n';
        else out += c0 === 0x6d ? '250 2.1.0 Ok\r\n' : '250 2.1.5 Ok\r\n';
      } else if (c0 === 0x64 && c1 === 0x61) {
        out += '354 End data with <CR><LF>.<CR><LF>\r\n';
        mode = M_DATA;
        matched = 2; // RFC 5321 §4.1.1.4: a lone "." on the first line ends an empty message
      } else if (c0 === 0x62 && c1 === 0x64) {
        // BDAT <size> [LAST]
        const line = buf.toString('latin1', lineStart + 5, nl).trim();
        const sp = line.indexOf(' ');
        const size = Number(sp < 0 ? line : line.slice(0, sp));
        if (!Number.isSafeInteger(size) || size < 0) {
          out += '501 5.5.4 Bad BDAT size\r\n';
          continue;
        }
        bdatLast = sp >= 0 && line.slice(sp + 1).trim().toUpperCase() === 'LAST';
        bdatLeft = size;
        mode = M_BDAT;
        if (size === 0) {
          mode = M_CMD;
          out += '250 2.0.0 Ok: chunk\r\n';
          if (bdatLast) taken(stats);
        }
      } else if (c0 === 0x65) {
        out += EHLO_REPLY;
      } else if (c0 === 0x68) {
        out += '250 sink.example.net\r\n';
      } else if (c0 === 0x71) {
        out += '221 2.0.0 Bye\r\n';
        sock.end(out);
        return;
      } else if (c0 === 0x6e) {
        out += '250 2.0.0 Ok\r\n';
      } else if (c0 === 0x61 && c1 === 0x75) {
        out += '235 2.7.0 Authentication successful (not checked)\r\n';
      } else {
        out += '502 5.5.2 Command not implemented\r\n';
      }
    }
    if (out) sock.write(out);
  });
}

export async function startSink(
  opts: { host?: string; port?: number; tls?: { cert: string | Buffer; key: string | Buffer; port?: number } } = {},
): Promise<Sink> {
  const stats: SinkStats = { connections: 0, messages: 0, bytes: 0, firstAt: 0, lastAt: 0 };
  const sockets = new Set<net.Socket>();
  let held: net.Socket[] | null = null;
  const onConnection = (s: net.Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    if (held) {
      s.on('error', () => s.destroy());
      held.push(s);
    } else handle(s, stats);
  };
  const servers: net.Server[] = [net.createServer(onConnection)];
  if (opts.tls) servers.push(tls.createServer({ cert: opts.tls.cert, key: opts.tls.key, minVersion: 'TLSv1.2' }, onConnection));
  const ports: number[] = [];
  for (const [i, server] of servers.entries()) {
    const want = i === 0 ? (opts.port ?? 0) : (opts.tls?.port ?? 0);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: opts.host ?? '127.0.0.1', port: want, backlog: 4096 }, () => resolve());
    });
    ports.push((server.address() as net.AddressInfo).port);
  }
  return {
    port: ports[0]!,
    tlsPort: ports[1],
    stats,
    hold() {
      held ??= [];
    },
    release() {
      const waiting = held ?? [];
      held = null;
      for (const s of waiting) if (!s.destroyed) handle(s, stats);
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await Promise.all(servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
    },
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      host: { type: 'string', default: '127.0.0.1' },
      port: { type: 'string', default: '2599' },
      workers: { type: 'string', default: '1' },
      'tls-cert': { type: 'string' },
      'tls-key': { type: 'string' },
      'tls-port': { type: 'string', default: '0' },
      quiet: { type: 'boolean' },
    },
  });
  const host = values.host!;
  if (!host.startsWith('127.') && host !== '::1' && host !== 'localhost') throw new Error('the sink listens on loopback only');
  const workers = Math.max(1, Number(values.workers));
  if (!values['tls-cert'] !== !values['tls-key']) throw new Error('--tls-cert and --tls-key go together');
  const tlsOpts = values['tls-cert']
    ? { cert: fs.readFileSync(values['tls-cert']), key: fs.readFileSync(values['tls-key']!), port: Number(values['tls-port']) }
    : undefined;
  if (tlsOpts && workers > 1) throw new Error('--tls-cert works with one worker only');
  if (workers > 1 && cluster.isPrimary) {
    // Workers share the listening socket (node:cluster); the primary only reports.
    let ready = 0;
    for (let i = 0; i < workers; i++) {
      const w = cluster.fork();
      w.on('message', (m: { port?: number }) => {
        if (m && typeof m.port === 'number' && ++ready === workers) {
          process.stdout.write(JSON.stringify({ sink: true, port: m.port, pid: process.pid, workers }) + '\n');
        }
      });
    }
    const stop = () => {
      for (const w of Object.values(cluster.workers ?? {})) w?.kill();
      process.exit(0);
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
    return;
  }
  const sink = await startSink({ host, port: Number(values.port), tls: tlsOpts });
  if (cluster.isWorker) {
    process.send!({ port: sink.port });
  } else {
    process.stdout.write(JSON.stringify({ sink: true, port: sink.port, pid: process.pid, ...(sink.tlsPort ? { tlsPort: sink.tlsPort } : {}) }) + '\n');
  }
  let last = 0;
  const t = setInterval(() => {
    if (!values.quiet && sink.stats.messages !== last) {
      process.stderr.write(`sink ${process.pid}: ${sink.stats.messages} messages (+${sink.stats.messages - last}/s)\n`);
    }
    last = sink.stats.messages;
  }, 1000);
  t.unref();
  const stop = () => {
    void sink.close().then(() => process.exit(0));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

if (import.meta.main) {
  main().catch((err: unknown) => {
    process.stderr.write(`sink: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(2);
  });
}
