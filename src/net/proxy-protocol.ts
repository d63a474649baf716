// The PROXY protocol (HAProxy, "The PROXY protocol", versions 1 and 2,
// https://www.haproxy.org/download/2.9/doc/proxy-protocol.txt): a load
// balancer that forwards a TCP connection first sends one header naming the
// original client and destination. Pure: bytes in, a header or a typed error
// out, no sockets (net/proxy-gate.ts applies it to connections).
// - v1 (§2.1): one US-ASCII line "PROXY TCP4|TCP6|UNKNOWN src dst sport dport\r\n",
//   at most 107 bytes with the CRLF; UNKNOWN means "use the real addresses".
// - v2 (§2.2): a 12-byte signature, version/command, family/transport, a
//   16-bit length, then the addresses (IPv4 12 bytes, IPv6 36, UNIX 216) and
//   TLVs (skipped). LOCAL (health checks from the balancer itself) carries no
//   client: the connection's own addresses apply.

import { isIPv4, isIPv6 } from 'node:net';

export const V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
const V1_PREFIX = Buffer.from('PROXY ');
/** §2.1: the longest v1 line, CRLF included. */
export const V1_MAX = 107;
/** A v2 header larger than this is refused (addresses + TLVs; the spec lets
 * receivers bound it, and 216 bytes of UNIX addresses plus TLVs fit). */
export const V2_MAX = 16 + 1024;

export interface ProxyEndpoint {
  address: string;
  port: number;
}

export interface ProxyHeader {
  version: 1 | 2;
  /** 'local': no client information (v1 UNKNOWN, v2 LOCAL, or an
   * unspecified/UNIX family): keep the connection's own addresses. */
  command: 'proxy' | 'local';
  family: 'tcp4' | 'tcp6' | 'unspec' | 'unix';
  source: ProxyEndpoint | null;
  destination: ProxyEndpoint | null;
}

export type ProxyParse =
  | { kind: 'incomplete' }
  | { kind: 'error'; reason: string }
  | { kind: 'ok'; header: ProxyHeader; length: number };

const INCOMPLETE: ProxyParse = { kind: 'incomplete' };

function fail(reason: string): ProxyParse {
  return { kind: 'error', reason };
}

/** Whether `buf` can still become a header (a prefix of either signature). */
function couldStart(buf: Buffer, sig: Buffer): boolean {
  const n = Math.min(buf.length, sig.length);
  return buf.subarray(0, n).equals(sig.subarray(0, n));
}

/** Parses the header at the start of `buf`. `incomplete` means more bytes are
 * needed; an error means the connection must be closed (§2: a receiver must
 * not guess). */
export function parseProxyHeader(buf: Buffer): ProxyParse {
  if (buf.length === 0) return INCOMPLETE;
  if (couldStart(buf, V2_SIGNATURE)) return buf.length < V2_SIGNATURE.length ? INCOMPLETE : parseV2(buf);
  if (couldStart(buf, V1_PREFIX)) return buf.length < V1_PREFIX.length ? INCOMPLETE : parseV1(buf);
  return fail('no PROXY protocol header');
}

// ---- v1

const PORT = /^(?:0|[1-9][0-9]{0,4})$/;

function parsePort(s: string): number | null {
  if (!PORT.test(s)) return null;
  const n = Number(s);
  return n <= 65535 ? n : null;
}

function parseV1(buf: Buffer): ProxyParse {
  const limit = Math.min(buf.length, V1_MAX);
  let end = -1;
  for (let i = 0; i + 1 < limit; i++) {
    if (buf[i] === 0x0d && buf[i + 1] === 0x0a) {
      end = i;
      break;
    }
  }
  if (end < 0) return buf.length >= V1_MAX ? fail('PROXY v1 line longer than 107 bytes') : INCOMPLETE;
  const line = buf.subarray(0, end);
  for (const b of line) if (b < 0x20 || b > 0x7e) return fail('PROXY v1 line has a non-printable byte');
  const parts = line.toString('latin1').split(' ');
  const length = end + 2;
  if (parts[1] === 'UNKNOWN') {
    // §2.1: the receiver must ignore anything after UNKNOWN.
    return { kind: 'ok', length, header: { version: 1, command: 'local', family: 'unspec', source: null, destination: null } };
  }
  if (parts.length !== 6) return fail('PROXY v1 line needs: PROXY TCP4|TCP6 source destination sport dport');
  const [, proto, src, dst, sport, dport] = parts as [string, string, string, string, string, string];
  if (proto !== 'TCP4' && proto !== 'TCP6') return fail(`PROXY v1 protocol must be TCP4, TCP6 or UNKNOWN, not ${JSON.stringify(proto.slice(0, 10))}`);
  const valid = proto === 'TCP4' ? isIPv4 : isIPv6;
  if (!valid(src) || !valid(dst)) return fail(`PROXY v1 addresses are not ${proto === 'TCP4' ? 'IPv4' : 'IPv6'}`);
  // IPv6 zone ids ("fe80::1%eth0") name a local interface: meaningless from a proxy.
  if (src.includes('%') || dst.includes('%')) return fail('PROXY v1 addresses must not carry a zone id');
  const sp = parsePort(sport);
  const dp = parsePort(dport);
  if (sp === null || dp === null) return fail('PROXY v1 ports must be 0-65535 without leading zeros');
  return {
    kind: 'ok',
    length,
    header: {
      version: 1,
      command: 'proxy',
      family: proto === 'TCP4' ? 'tcp4' : 'tcp6',
      source: { address: src, port: sp },
      destination: { address: dst, port: dp },
    },
  };
}

// ---- v2

function ipv6(b: Buffer): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(b.readUInt16BE(i).toString(16));
  // Canonical text (RFC 5952): the longest run of two or more zero groups becomes "::".
  let best = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLen && j - i >= 2) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (best < 0) return groups.join(':');
  const head = groups.slice(0, best).join(':');
  const tail = groups.slice(best + bestLen).join(':');
  return `${head}::${tail}`;
}

function parseV2(buf: Buffer): ProxyParse {
  if (buf.length < 16) return INCOMPLETE;
  const verCmd = buf[12]!;
  if (verCmd >> 4 !== 2) return fail(`PROXY v2 version nibble is ${verCmd >> 4}, not 2`);
  const cmd = verCmd & 0x0f;
  if (cmd !== 0 && cmd !== 1) return fail(`PROXY v2 command ${cmd} is neither LOCAL nor PROXY`);
  const famTrans = buf[13]!;
  const fam = famTrans >> 4;
  const transport = famTrans & 0x0f;
  const len = buf.readUInt16BE(14);
  const length = 16 + len;
  if (length > V2_MAX) return fail(`PROXY v2 header of ${length} bytes is larger than ${V2_MAX}`);
  if (buf.length < length) return INCOMPLETE;
  const body = buf.subarray(16, length);
  const local: ProxyParse = { kind: 'ok', length, header: { version: 2, command: 'local', family: 'unspec', source: null, destination: null } };
  // §2.2: with LOCAL the receiver must use the real connection endpoints and ignore the rest.
  if (cmd === 0) return local;
  if (fam > 3) return fail(`PROXY v2 address family ${fam} is unknown`);
  if (transport > 2) return fail(`PROXY v2 transport ${transport} is unknown`);
  if (fam === 0) return local; // AF_UNSPEC: "the receiver should ... use the real endpoints"
  if (fam === 3) {
    if (body.length < 216) return fail('PROXY v2 UNIX addresses are shorter than 216 bytes');
    return { kind: 'ok', length, header: { version: 2, command: 'local', family: 'unix', source: null, destination: null } };
  }
  if (transport !== 1) return fail('PROXY v2 transport must be STREAM for a TCP listener');
  if (fam === 1) {
    if (body.length < 12) return fail('PROXY v2 IPv4 addresses are shorter than 12 bytes');
    const a = (o: number) => `${body[o]}.${body[o + 1]}.${body[o + 2]}.${body[o + 3]}`;
    return {
      kind: 'ok',
      length,
      header: {
        version: 2,
        command: 'proxy',
        family: 'tcp4',
        source: { address: a(0), port: body.readUInt16BE(8) },
        destination: { address: a(4), port: body.readUInt16BE(10) },
      },
    };
  }
  if (body.length < 36) return fail('PROXY v2 IPv6 addresses are shorter than 36 bytes');
  return {
    kind: 'ok',
    length,
    header: {
      version: 2,
      command: 'proxy',
      family: 'tcp6',
      source: { address: ipv6(body.subarray(0, 16)), port: body.readUInt16BE(32) },
      destination: { address: ipv6(body.subarray(16, 32)), port: body.readUInt16BE(34) },
    },
  };
}

// ---- Serializers (what a load balancer sends; tests and the bench use them)

export function serializeProxyV1(h: Pick<ProxyHeader, 'family' | 'source' | 'destination'>): Buffer {
  if (h.family !== 'tcp4' && h.family !== 'tcp6') return Buffer.from('PROXY UNKNOWN\r\n');
  const s = h.source!;
  const d = h.destination!;
  return Buffer.from(`PROXY ${h.family === 'tcp4' ? 'TCP4' : 'TCP6'} ${s.address} ${d.address} ${s.port} ${d.port}\r\n`, 'latin1');
}

function ipv6Bytes(text: string): Buffer {
  const out = Buffer.alloc(16);
  let s = text;
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(s);
  let tailV4: number[] | null = null;
  if (v4) {
    tailV4 = v4.slice(1).map(Number);
    s = s.slice(0, v4.index) + '0:0';
  }
  const [head, tail] = s.split('::') as [string, string | undefined];
  const h = head === '' ? [] : head.split(':');
  const t = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = [...h, ...Array<string>(tail === undefined ? 0 : 8 - h.length - t.length).fill('0'), ...t];
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  if (tailV4) tailV4.forEach((b, i) => (out[12 + i] = b));
  return out;
}

export function serializeProxyV2(
  h: Pick<ProxyHeader, 'command' | 'family' | 'source' | 'destination'>,
  tlvs: Buffer = Buffer.alloc(0),
): Buffer {
  const head = Buffer.alloc(16);
  V2_SIGNATURE.copy(head);
  const proxy = h.command === 'proxy' && (h.family === 'tcp4' || h.family === 'tcp6');
  head[12] = 0x20 | (proxy ? 1 : 0);
  let addr = Buffer.alloc(0);
  if (proxy && h.family === 'tcp4') {
    head[13] = 0x11;
    addr = Buffer.alloc(12);
    h.source!.address.split('.').forEach((o, i) => (addr[i] = Number(o)));
    h.destination!.address.split('.').forEach((o, i) => (addr[4 + i] = Number(o)));
    addr.writeUInt16BE(h.source!.port, 8);
    addr.writeUInt16BE(h.destination!.port, 10);
  } else if (proxy) {
    head[13] = 0x21;
    addr = Buffer.alloc(36);
    ipv6Bytes(h.source!.address).copy(addr, 0);
    ipv6Bytes(h.destination!.address).copy(addr, 16);
    addr.writeUInt16BE(h.source!.port, 32);
    addr.writeUInt16BE(h.destination!.port, 34);
  } else {
    head[13] = 0x00;
  }
  head.writeUInt16BE(addr.length + tlvs.length, 14);
  return Buffer.concat([head, addr, tlvs]);
}
