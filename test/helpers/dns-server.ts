// A tiny authoritative DNS server for tests, on 127.0.0.1 over UDP and TCP
// (same port), built with dns-packet. It serves a table of records: unknown
// names get NXDOMAIN, a known name without a record of the asked type gets
// NODATA (NOERROR with no answers, RFC 2308 §2.2), CNAMEs are followed inside
// the table (RFC 1034 §4.3.2 step 3a). A record with `fault` makes queries for
// that name and type (or every type, with type '*') never be answered
// ('timeout'), or be answered SERVFAIL or REFUSED, so tests can produce those
// errors. Names are case-insensitive (RFC 4343). UDP answers larger than the
// client's advertised size (512 without EDNS) are truncated with TC set, so the
// client retries over TCP (RFC 7766). Every query is logged in `queries`.

import { createSocket } from 'node:dgram';
import type { RemoteInfo, Socket } from 'node:dgram';
import { createServer } from 'node:net';
import type { Server, Socket as TcpSocket } from 'node:net';
import dnsPacket from 'dns-packet';
import type { Answer, DecodedPacket, Packet, RecordType } from 'dns-packet';

export type DnsRecordType = 'MX' | 'A' | 'AAAA' | 'TXT' | 'PTR' | 'CNAME' | 'SRV';

export type DnsRecord =
  | { name: string; type: 'MX'; data: { preference: number; exchange: string }; ttl?: number }
  | { name: string; type: 'A' | 'AAAA' | 'PTR' | 'CNAME'; data: string; ttl?: number }
  | { name: string; type: 'TXT'; data: string | string[]; ttl?: number }
  | { name: string; type: 'SRV'; data: { priority: number; weight: number; port: number; target: string }; ttl?: number }
  /** A fault marker: queries for `name` (and `type`, or any type with '*') are not answered normally. */
  | { name: string; type: DnsRecordType | '*'; fault: 'timeout' | 'servfail' | 'refused' };

export interface DnsServer {
  port: number;
  /** "127.0.0.1:PORT", the form DnsResolver `servers` and `[dns] servers` take. */
  address: string;
  /** Replaces the whole table. */
  set(records: DnsRecord[]): void;
  /** Every question received, in order (lower-cased name). */
  queries: { name: string; type: string; transport: 'udp' | 'tcp' }[];
  close(): Promise<void>;
}

const DEFAULT_TTL = 300;
const RCODE = { NOERROR: 0, SERVFAIL: 2, NXDOMAIN: 3, REFUSED: 5 } as const;

/** The in-addr.arpa / ip6.arpa name for an IP address, for PTR records. */
export { reverseName } from '../../src/dns/resolver.ts';

function norm(name: string): string {
  return name.toLowerCase().replace(/\.$/, '');
}

export async function startDnsServer(records: DnsRecord[], options: { port?: number } = {}): Promise<DnsServer> {
  let table = records.slice();
  const queries: DnsServer['queries'] = [];
  const tcpSockets = new Set<TcpSocket>();

  function answer(query: DecodedPacket, transport: 'udp' | 'tcp'): Buffer | null {
    const q = query.questions?.[0];
    const base: Packet = {
      type: 'response',
      id: query.id,
      flags: dnsPacket.AUTHORITATIVE_ANSWER | (query.flag_rd ? dnsPacket.RECURSION_DESIRED : 0),
      questions: query.questions,
    };
    if (!q) return encode(base, RCODE.REFUSED);
    const name = norm(q.name);
    queries.push({ name, type: q.type, transport });
    const answers: Answer[] = [];
    let current = name;
    // Follow CNAMEs inside the table (bounded, so a loop cannot hang the server).
    for (let hop = 0; hop < 8; hop++) {
      const atName = table.filter((r) => norm(r.name) === current);
      const fault = atName.find((r) => 'fault' in r && (r.type === '*' || r.type === q.type));
      if (fault && 'fault' in fault) {
        if (fault.fault === 'timeout') return null;
        return encode(base, fault.fault === 'servfail' ? RCODE.SERVFAIL : RCODE.REFUSED);
      }
      const data = atName.filter((r) => !('fault' in r));
      if (atName.length === 0) {
        // A name with names below it exists (an "empty non-terminal", RFC 8020 §2): NODATA, not NXDOMAIN.
        const exists = answers.length > 0 || table.some((r) => norm(r.name).endsWith('.' + current));
        return encode({ ...base, answers }, exists ? RCODE.NOERROR : RCODE.NXDOMAIN);
      }
      const exact = data.filter((r) => r.type === q.type);
      const cname = data.find((r) => r.type === 'CNAME');
      if (exact.length === 0 && cname && q.type !== 'CNAME') {
        answers.push(toAnswer(cname, current));
        current = norm((cname as { data: string }).data);
        continue;
      }
      for (const r of exact) answers.push(toAnswer(r, current));
      break;
    }
    let out = encode({ ...base, answers }, RCODE.NOERROR);
    if (transport === 'udp') {
      const opt = query.additionals?.find((a) => a.type === 'OPT');
      const limit = opt && 'udpPayloadSize' in opt ? Math.max(512, opt.udpPayloadSize) : 512;
      // RFC 1035 §4.2.1 / RFC 6891 §6.2.5: too large for UDP → truncated, TC set.
      if (out.length > limit) out = encode({ ...base, flags: (base.flags ?? 0) | dnsPacket.TRUNCATED_RESPONSE }, RCODE.NOERROR);
    }
    return out;
  }

  function onUdp(this: Socket, msg: Buffer, rinfo: RemoteInfo): void {
    let query: DecodedPacket;
    try {
      query = dnsPacket.decode(msg);
    } catch {
      return;
    }
    const out = answer(query, 'udp');
    if (out) this.send(out, rinfo.port, rinfo.address);
  }

  const tcp: Server = createServer((sock) => {
    tcpSockets.add(sock);
    sock.on('close', () => tcpSockets.delete(sock));
    sock.on('error', () => {});
    let buf = Buffer.alloc(0);
    sock.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      // RFC 1035 §4.2.2: each message is preceded by a two-octet length.
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const len = buf.readUInt16BE(0);
        const msg = buf.subarray(2, 2 + len);
        buf = buf.subarray(2 + len);
        let query: DecodedPacket;
        try {
          query = dnsPacket.decode(msg);
        } catch {
          sock.destroy();
          return;
        }
        const out = answer(query, 'tcp');
        if (out) {
          const prefix = Buffer.alloc(2);
          prefix.writeUInt16BE(out.length);
          sock.write(Buffer.concat([prefix, out]));
        }
      }
    });
  });

  const { port, udp } = await bindBoth(onUdp, tcp, options.port ?? 0);
  return {
    port,
    address: `127.0.0.1:${port}`,
    queries,
    set(next) {
      table = next.slice();
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of tcpSockets) s.destroy();
        udp.close(() => tcp.close(() => resolve()));
      }),
  };
}

/** Binds UDP, then TCP on the same port; with an ephemeral port, retries if TCP's is taken. */
async function bindBoth(onUdp: (this: Socket, msg: Buffer, rinfo: RemoteInfo) => void, tcp: Server, wanted: number): Promise<{ port: number; udp: Socket }> {
  for (let attempt = 0; ; attempt++) {
    const udp = createSocket('udp4');
    udp.on('message', onUdp);
    const port = await new Promise<number>((resolve, reject) => {
      udp.once('error', reject);
      udp.bind(wanted, '127.0.0.1', () => {
        udp.off('error', reject);
        resolve(udp.address().port);
      });
    });
    try {
      await new Promise<void>((resolve, reject) => {
        tcp.once('error', reject);
        tcp.listen(port, '127.0.0.1', () => {
          tcp.off('error', reject);
          resolve();
        });
      });
      return { port, udp };
    } catch (err) {
      await new Promise<void>((r) => udp.close(() => r()));
      if (wanted !== 0 || attempt >= 20) throw err;
      // The ephemeral UDP port is taken over TCP: try another one.
    }
  }
}

function encode(p: Packet, rcode: number): Buffer {
  // dns-packet has no rcode field: it lives in the low 4 bits of the flags (RFC 1035 §4.1.1).
  return dnsPacket.encode({ ...p, flags: ((p.flags ?? 0) & ~0xf) | rcode });
}

function toAnswer(r: DnsRecord, name: string): Answer {
  if ('fault' in r) throw new Error('unreachable');
  const ttl = r.ttl ?? DEFAULT_TTL;
  switch (r.type) {
    case 'MX':
      return { type: 'MX', name, ttl, class: 'IN', data: { preference: r.data.preference, exchange: r.data.exchange } };
    case 'TXT':
      return { type: 'TXT', name, ttl, class: 'IN', data: typeof r.data === 'string' ? [r.data] : r.data };
    case 'SRV':
      return { type: 'SRV', name, ttl, class: 'IN', data: r.data };
    default:
      return { type: r.type as Extract<RecordType, 'A' | 'AAAA' | 'PTR' | 'CNAME'>, name, ttl, class: 'IN', data: r.data };
  }
}
