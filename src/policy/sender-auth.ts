// Sender authentication: our small interface over the `mailauth` library, so
// the rest of the server never depends on its shapes. One call checks a
// received message: SPF for the MAIL FROM identity, or HELO when MAIL FROM is
// `<>` (RFC 7208 §2.3, §2.4); every DKIM signature, RSA and Ed25519 (RFC 6376,
// RFC 8463); DMARC with identifier alignment (RFC 7489 §3.1; mailauth finds
// the organisational domain with the RFC 9989 §4.10 DNS tree walk, which
// replaces the Public Suffix List); and the ARC chain (RFC 8617 §5.2).
//
// All DNS goes through our DnsResolver (deadlines, cache, `[dns] servers`)
// via `resolverFor`. RFC 7208 §4.6.4 limits: at most 10 DNS-querying terms
// (`maxResolveCount`) and 2 void lookups (`maxVoidCount`), past which SPF is
// `permerror`; mailauth enforces both and we pass the values explicitly. A
// DNS timeout or server failure is `temperror` (RFC 7208 §2.6.6); what to do
// with it is decided in dmarc-policy.ts, not here.
import { createRequire } from 'node:module';
import { isIP } from 'node:net';
import { Readable } from 'node:stream';
import { DnsError, type DnsResolver } from '../dns/resolver.ts';

const require = createRequire(import.meta.url);
// mailauth is CommonJS; its parts are loaded once, typed loosely and read only
// in this file. We compose them as mailauth's own authenticate() does, so that
// the clock can be injected (DKIM t=/x=, DESIGN convention 11) and each check
// can be driven alone by the conformance harnesses.
type Opts = Record<string, unknown>;
type MDkim = NonNullable<MailauthResult['dkim']> & { headerFrom?: string[]; fromFields?: unknown; arc?: unknown };
const { dkimVerify } = require('mailauth/lib/dkim/verify') as { dkimVerify: (msg: Buffer | Readable, o: Opts) => Promise<MDkim> };
const { spf: spfVerify } = require('mailauth/lib/spf') as { spf: (o: Opts) => Promise<NonNullable<MailauthResult['spf']>> };
const { arc: arcVerify } = require('mailauth/lib/arc') as { arc: (data: unknown, o: Opts) => Promise<NonNullable<MailauthResult['arc']>> };
const { evaluateDmarc } = require('mailauth/lib/dmarc') as {
  evaluateDmarc: (o: Opts) => Promise<{ response: MailauthResult['dmarc']; reason?: string; dkimAligned?: Set<string> }>;
};

/** What mailauth calls for each DNS question: node's `dns.promises.resolve` shape. */
export type DnsLookup = (name: string, rrtype: string) => Promise<unknown>;

export type SpfResult = 'pass' | 'fail' | 'softfail' | 'neutral' | 'none' | 'temperror' | 'permerror';
export type DkimResult = 'pass' | 'fail' | 'neutral' | 'policy' | 'none' | 'temperror' | 'permerror';
export type DmarcResult = 'pass' | 'fail' | 'none' | 'temperror' | 'permerror';
export type ArcResult = 'pass' | 'fail' | 'none';

export interface SenderAuthResult {
  spf: { result: SpfResult; domain: string; identity: 'mailfrom' | 'helo'; explanation: string | null; comment: string };
  dkim: { result: DkimResult; domain: string; selector: string; algorithm: string; aligned: boolean; comment: string }[];
  dmarc: {
    result: DmarcResult;
    /** The From domain (RFC 7489 §3.1: the RFC5322.From domain), null when there is none or several. */
    fromDomain: string | null;
    /** The policy to apply after sp=/np=/t=y, null when no record applies. */
    policy: 'none' | 'quarantine' | 'reject' | null;
    /** Why DMARC could not be evaluated (several From domains, none), else null. */
    skipped: string | null;
    comment: string;
  };
  arc: { result: ArcResult; instances: number; /** d= of each ARC-Seal, oldest first. */ sealers: string[]; comment: string };
  /** The Authentication-Results method entries (RFC 8601 §2.2 resinfo), in order. */
  methods: string[];
  /** The Received-SPF field value (RFC 7208 §9.1), or null. */
  receivedSpf: string | null;
  /** The checks did not finish within the deadline (everything is temperror). */
  timedOut: boolean;
  /** "spf=pass dkim=pass dmarc=pass arc=none", for log lines. */
  summary: string;
}

export interface SenderAuthOptions {
  resolver: DnsLookup;
  /** Our authserv-id (RFC 8601 §2.5): the server's host name. */
  authservId: string;
  /** Follow the RFCs exactly (mailauth strict mode) instead of its lenient defaults. */
  strict?: boolean;
  /** RSA keys shorter than this give dkim=policy (RFC 8301 §3.2: at least 1024). */
  minRsaBits?: number;
  /** Deadline for all checks of one message, ms; past it the result is temperror. */
  timeoutMs?: number;
  /** RFC 7208 §4.6.4 limits. */
  maxDnsLookups?: number;
  maxVoidLookups?: number;
  /** Clock for DKIM/ARC signature times (t=, x=). */
  now?: () => Date;
}

export interface SenderAuthInput {
  /** The message as received (CRLF lines). */
  message: Buffer;
  clientIp: string;
  helo: string | null;
  /** MAIL FROM address, or null for `<>`. */
  mailFrom: string | null;
}

export class SenderAuth {
  readonly #o: Required<SenderAuthOptions>;

  constructor(o: SenderAuthOptions) {
    this.#o = { strict: false, minRsaBits: 1024, timeoutMs: 30_000, maxDnsLookups: 10, maxVoidLookups: 2, now: () => new Date(), ...o };
  }

  /** SPF alone (RFC 7208 §4 check_host for MAIL FROM, or HELO when it is `<>`). */
  async checkSpf(input: Omit<SenderAuthInput, 'message'>): Promise<SenderAuthResult['spf']> {
    return spfPart(await this.#spf(input), input);
  }

  /** DKIM signatures and the ARC chain of a message, without SPF or DMARC. */
  async verifyDkim(message: Buffer): Promise<Pick<SenderAuthResult, 'dkim' | 'arc'>> {
    const o = this.#o;
    const d = await dkimVerify(yielding(message), { resolver: o.resolver, minBitLength: o.minRsaBits, strict: o.strict, curTime: o.now() });
    const a = await arcVerify(d.arc, { resolver: o.resolver, minBitLength: o.minRsaBits, strict: o.strict });
    const r = convert({ dkim: d, arc: a }, { message, clientIp: '', helo: null, mailFrom: null });
    return { dkim: r.dkim, arc: r.arc };
  }

  #spf(input: Omit<SenderAuthInput, 'message'>): Promise<NonNullable<MailauthResult['spf']>> {
    const o = this.#o;
    // As mailauth's authenticate(): no HELO → the client IP, written as an address literal.
    let helo = input.helo || input.clientIp;
    if (isIP(helo)) helo = `[${helo}]`;
    return spfVerify({
      ip: input.clientIp,
      helo,
      // RFC 7208 §2.4: with the null reverse-path the HELO identity is checked ('' = null path for mailauth).
      sender: input.mailFrom ?? '',
      mta: o.authservId,
      resolver: o.resolver,
      strict: o.strict,
      maxResolveCount: o.maxDnsLookups,
      maxVoidCount: o.maxVoidLookups,
      maxElapsedTime: o.timeoutMs,
    });
  }

  /** DKIM (with ARC) → SPF → DMARC, as RFC 7489 §6.6.2 orders them. */
  async #all(input: SenderAuthInput): Promise<MailauthResult> {
    const o = this.#o;
    const dkim = await dkimVerify(yielding(input.message), {
      resolver: o.resolver,
      sender: input.mailFrom ?? '',
      minBitLength: o.minRsaBits,
      strict: o.strict,
      curTime: o.now(),
    });
    const spf = await this.#spf(input);
    const arc = await arcVerify(dkim.arc, { resolver: o.resolver, minBitLength: o.minRsaBits, strict: o.strict, ip: input.clientIp });
    let dmarc: MailauthResult['dmarc'] = false;
    let dmarcSkipReason: string | undefined;
    if (dkim.headerFrom) {
      const ev = await evaluateDmarc({
        headerFrom: dkim.headerFrom,
        fromFields: dkim.fromFields,
        // RFC 7489 §3.1.2: only a passing SPF identity can align.
        spfDomains: spf && spf.status?.result === 'pass' && spf.domain ? [spf.domain] : [],
        dkimDomains: (dkim.results ?? [])
          .filter((r) => r.status?.result === 'pass')
          .map((r) => ({ id: (r as { id?: string }).id, domain: r.signingDomain, aligned: r.status?.aligned, underSized: (r.status as { underSized?: unknown })?.underSized })),
        arcResult: arc,
        resolver: o.resolver,
        strict: o.strict,
      });
      dmarc = ev.response;
      dmarcSkipReason = ev.reason;
      // As authenticate(): a passing signature is aligned exactly when DMARC found it aligned.
      if (ev.dkimAligned && dmarc) {
        for (const r of dkim.results ?? []) {
          if (r.status?.result === 'pass') r.status.aligned = ev.dkimAligned.has(String(r.signingDomain ?? '').toLowerCase()) ? (r.signingDomain ?? false) : false;
        }
      }
    }
    return { dkim, spf, arc, dmarc, dmarcSkipReason };
  }

  async check(input: SenderAuthInput): Promise<SenderAuthResult> {
    const o = this.#o;
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<null>((resolve) => {
      timer = setTimeout(() => resolve(null), o.timeoutMs);
    });
    try {
      const run = this.#all(input);
      const r = await Promise.race([run, deadline]);
      if (r === null) {
        run.catch(() => {}); // finishes in the background; its result is not used
        return timedOut(input);
      }
      return convert(r, input);
    } finally {
      clearTimeout(timer);
    }
  }
}

// ---- mailauth's result shapes (only the parts we read) ----
interface MailauthStatus {
  result?: string;
  comment?: string;
  aligned?: string | false;
  header?: Record<string, unknown>;
}
interface MailauthResult {
  spf?: { status?: MailauthStatus; domain?: string; info?: string; header?: string; explanation?: string } | false;
  dkim?: { results?: { status?: MailauthStatus; signingDomain?: string; selector?: string; algo?: string; info?: string }[] };
  dmarc?: { status?: MailauthStatus; policy?: string; domain?: string; info?: string } | false;
  dmarcSkipReason?: string;
  arc?: { status?: MailauthStatus; i?: number | false; info?: string; chain?: false | { 'arc-seal'?: { parsed?: { d?: { value?: string } } } }[] } | false;
}

const SPF: readonly string[] = ['pass', 'fail', 'softfail', 'neutral', 'none', 'temperror', 'permerror'];

function convert(r: MailauthResult, input: SenderAuthInput): SenderAuthResult {
  const methods: string[] = [];
  const dkim = (r.dkim?.results ?? []).map((d) => {
    if (d.info) methods.push(d.info);
    return {
      result: (d.status?.result ?? 'none') as DkimResult,
      domain: d.signingDomain ?? '',
      selector: d.selector ?? '',
      algorithm: d.algo ?? '',
      aligned: !!d.status?.aligned,
      comment: d.status?.comment ?? '',
    };
  });
  if (dkim.length === 0) methods.push('dkim=none');
  const s = r.spf || null;
  if (s?.info) methods.push(s.info);
  const a = r.arc || null;
  const arcResult = (a?.status?.result ?? 'none') as ArcResult;
  if (a?.info) methods.push(a.info);
  else methods.push('arc=none');
  const dm = r.dmarc || null;
  if (dm?.info) methods.push(dm.info);
  else methods.push(`dmarc=none${r.dmarcSkipReason ? ` (${r.dmarcSkipReason})` : ''}`);
  const fromDomain = (dm?.status?.header?.from as string | undefined) ?? null;
  const policy = dm?.policy === 'reject' || dm?.policy === 'quarantine' || dm?.policy === 'none' ? dm.policy : null;
  const result: SenderAuthResult = {
    spf: spfPart(s, input),
    dkim,
    dmarc: {
      result: ((dm?.status?.result as DmarcResult | undefined) ?? 'none'),
      fromDomain,
      policy,
      skipped: dm ? null : (r.dmarcSkipReason ?? 'no From domain'),
      comment: dm?.status?.comment ?? '',
    },
    arc: {
      result: arcResult,
      instances: typeof a?.i === 'number' ? a.i : 0,
      sealers: (Array.isArray(a?.chain) ? a.chain : []).map((l) => String(l['arc-seal']?.parsed?.d?.value ?? '').toLowerCase()),
      comment: a?.status?.comment ?? '',
    },
    methods,
    receivedSpf: s?.header ? s.header.replace(/^Received-SPF:\s*/i, '').replace(/\r?\n$/, '') : null,
    timedOut: false,
    summary: '',
  };
  result.summary = summarize(result);
  return result;
}

/** The message as a stream of 64 KiB pieces with a turn of the event loop
 * between them. Given a Buffer, mailauth hashes it in one go of microtasks
 * (measured: a 10 MB message stalled every other session for 240–590 ms);
 * this way the longest stall is about 10–25 ms (DESIGN: CPU-heavy work must
 * not stall other sessions). */
function yielding(message: Buffer, piece = 64 * 1024): Readable {
  return Readable.from(
    (async function* () {
      for (let i = 0; i < message.length; i += piece) {
        yield message.subarray(i, i + piece);
        await new Promise((r) => setImmediate(r));
      }
    })(),
    { objectMode: false },
  );
}

function spfPart(s: MailauthResult['spf'] | null | undefined, input: { mailFrom: string | null }): SenderAuthResult['spf'] {
  const sp = s || null;
  return {
    result: (SPF.includes(sp?.status?.result ?? '') ? sp!.status!.result : 'none') as SpfResult,
    domain: sp?.domain ?? '',
    identity: input.mailFrom ? 'mailfrom' : 'helo',
    explanation: sp?.explanation ?? null,
    comment: sp?.status?.comment ?? '',
  };
}

function timedOut(input: SenderAuthInput): SenderAuthResult {
  const r: SenderAuthResult = {
    spf: { result: 'temperror', domain: '', identity: input.mailFrom ? 'mailfrom' : 'helo', explanation: null, comment: 'checks timed out' },
    dkim: [],
    dmarc: { result: 'temperror', fromDomain: null, policy: null, skipped: null, comment: 'checks timed out' },
    arc: { result: 'none', instances: 0, sealers: [], comment: '' },
    methods: ['spf=temperror (checks timed out)', 'dkim=temperror (checks timed out)', 'dmarc=temperror (checks timed out)'],
    receivedSpf: null,
    timedOut: true,
    summary: '',
  };
  r.summary = summarize(r);
  return r;
}

function summarize(r: SenderAuthResult): string {
  const dkim = r.dkim.length === 0 ? 'none' : r.dkim.map((d) => `${d.result}${d.domain ? `(${d.domain})` : ''}`).join(',');
  return `spf=${r.spf.result} dkim=${dkim} dmarc=${r.dmarc.result}${r.dmarc.policy ? `(p=${r.dmarc.policy})` : ''} arc=${r.arc.result}`;
}

// ---- DNS: mailauth asks through our resolver ----

const CODES: Record<string, string> = {
  nxdomain: 'ENOTFOUND',
  nodata: 'ENODATA',
  timeout: 'ETIMEOUT',
  servfail: 'ESERVFAIL',
  refused: 'EREFUSED',
  other: 'EOTHER',
};

/** A `resolve(name, rrtype)` function over our DnsResolver, in the shape of
 * node's dns.promises.resolve (TXT as arrays of strings, MX as {exchange,
 * priority}). Errors carry node's codes, which mailauth maps: ENOTFOUND /
 * ENODATA are void lookups (RFC 7208 §4.6.4), ETIMEOUT and the rest temperror. */
export function resolverFor(dns: DnsResolver): DnsLookup {
  return async (name, rrtype) => {
    try {
      switch (rrtype.toUpperCase()) {
        case 'TXT':
          return (await dns.txt(name)).records.map((t) => [t]);
        case 'MX':
          return (await dns.mx(name)).records.map((m) => ({ exchange: m.exchange, priority: m.preference }));
        case 'A':
          return (await dns.a(name)).records;
        case 'AAAA':
          return (await dns.aaaa(name)).records;
        case 'PTR':
          // mailauth asks PTR for the reverse name already built; our resolver builds it from an IP.
          return (await dns.ptr(ipFromReverse(name) ?? name)).records;
        default:
          // CNAME and other types are not asked by our resolver: answered "no such record".
          throw Object.assign(new Error(`DNS ${rrtype} ${name}: not supported`), { code: 'ENODATA' });
      }
    } catch (err) {
      if (err instanceof DnsError) throw Object.assign(new Error(err.message), { code: CODES[err.kind] ?? 'EOTHER' });
      throw err;
    }
  };
}

/** "1.2.0.192.in-addr.arpa" → "192.0.2.1"; ip6.arpa nibbles → IPv6; else null. */
export function ipFromReverse(name: string): string | null {
  const n = name.toLowerCase().replace(/\.$/, '');
  let m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.in-addr\.arpa$/.exec(n);
  if (m) return [m[4], m[3], m[2], m[1]].join('.');
  m = /^((?:[0-9a-f]\.){32})ip6\.arpa$/.exec(n);
  if (m) {
    const hex = m[1].split('.').filter(Boolean).reverse().join('');
    return hex.match(/.{4}/g)!.join(':');
  }
  return null;
}
