// The server's TLS certificates and settings, shared by every listener that
// speaks TLS: STARTTLS on SMTP (RFC 3207) and later IMAP/POP3 (RFC 2595), and
// implicit TLS on submissions (RFC 8314 §3.3). Each configured PEM pair
// (certificate chain + key) is read, checked (the key matches the
// certificate; the chain is in order) and turned into a tls.SecureContext
// with the [tls] settings: TLS 1.2 or newer only (RFC 8996; RFC 9325 §3.1),
// the server's cipher order, AEAD ECDHE suites by default (RFC 9325 §4.2).
// The certificate sent is chosen from the SNI name (RFC 6066 §3): an exact
// subjectAltName, then a wildcard covering one label (RFC 6125 §6.4.3), then
// the first certificate. reload() (on SIGHUP) re-reads every file and swaps
// all contexts at once; a failure keeps the old ones. Sessions already in TLS
// are not touched; only new handshakes see the new certificates.

import { X509Certificate, createPrivateKey } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import fs from 'node:fs/promises';
import tls from 'node:tls';
import type { Config, ListenRole } from '../../config/types.ts';
import type { Logger } from '../../log/logger.ts';
import { formatListenAddress } from '../../config/values.ts';
import { ensureSelfSigned } from './self-signed.ts';
import type { SelfSignedOptions } from './self-signed.ts';

/** A certificate problem: the message starts with the configuration key (or
 * "self-signed certificate") and names the file. */
export class TlsConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TlsConfigError';
  }
}

/** What TlsContexts.load reads from the configuration. */
export type TlsConfigInput = Pick<Config, 'hostname' | 'tls'>;

/** One certificate pair to load; the labels start error messages. */
export interface CertificateSource {
  cert: string;
  key: string;
  /** E.g. "tls.certificates[0].cert". */
  certLabel: string;
  keyLabel: string;
}

/** A loaded certificate, for logs and tests. */
export interface CertificateInfo {
  /** The configuration key it came from, e.g. "tls.certificates[0]". */
  source: string;
  certFile: string;
  keyFile: string;
  /** DNS names it covers (subjectAltName, else the CN), lower case. */
  names: readonly string[];
  subject: string;
  notBefore: Date;
  notAfter: Date;
  fingerprint256: string;
}

/** What a Received header says about the TLS of a session (RFC 3848 wants
 * the protocol; the details go in a comment). */
export interface TlsDescription {
  version: string;
  cipher: string;
  bits: number;
}

interface Loaded {
  info: CertificateInfo;
  context: tls.SecureContext;
  /** PEM texts, for tls.Server#setSecureContext. */
  certPem: string;
  keyPem: string;
  /** Problems worth an operator's attention that do not stop the load. */
  warnings: readonly string[];
}

interface State {
  /** In configuration order; [0] is the default. */
  entries: readonly Loaded[];
  exact: ReadonlyMap<string, Loaded>;
  /** "*.example.org" is stored under "example.org". */
  wildcard: ReadonlyMap<string, Loaded>;
}

interface Settings {
  minVersion: tls.SecureVersion;
  ciphers: string;
}

/** Roles whose clients start TLS with the first byte (no plaintext phase).
 * imaps / pop3s join this list when those listeners exist. */
export const IMPLICIT_TLS_ROLES: readonly ListenRole[] = ['submissions', 'imaps', 'pop3s'];

export class TlsContexts {
  readonly #settings: Settings;
  readonly #sources: () => Promise<CertificateSource[]>;
  readonly #log: Logger;
  #state: State;
  #reloading: Promise<unknown> = Promise.resolve();
  readonly #servers = new Set<tls.Server>();

  private constructor(settings: Settings, sources: () => Promise<CertificateSource[]>, log: Logger, state: State) {
    this.#settings = settings;
    this.#sources = sources;
    this.#log = log;
    this.#state = state;
  }

  /**
   * Loads the certificates of `config.tls` — or, with none configured and
   * `tls.self_signed`, a self-signed one kept in `<dataDir>/tls/`. Resolves
   * null when TLS is off (no certificate and self_signed = false, or openssl
   * missing; both logged). Throws TlsConfigError naming the key and file when
   * a configured certificate cannot be used.
   */
  static async load(config: TlsConfigInput, dataDir: string, logger: Logger, opts: SelfSignedOptions = {}): Promise<TlsContexts | null> {
    const log = logger.child({ component: 'tls' });
    const settings: Settings = { minVersion: config.tls.min_version, ciphers: config.tls.ciphers };
    let sources: () => Promise<CertificateSource[]>;
    let first: CertificateSource[];
    if (config.tls.certificates.length > 0) {
      first = config.tls.certificates.map((c, i) => ({
        cert: c.cert,
        key: c.key,
        certLabel: `tls.certificates[${i}].cert`,
        keyLabel: `tls.certificates[${i}].key`,
      }));
      const fixed = first;
      sources = async () => fixed;
    } else if (config.tls.self_signed) {
      const selfSigned = async (): Promise<CertificateSource[] | null> => {
        const files = await ensureSelfSigned(dataDir, config.hostname, log, opts);
        return files && [{ cert: files.cert, key: files.key, certLabel: 'self-signed certificate', keyLabel: 'self-signed key' }];
      };
      const made = await selfSigned();
      if (made === null) return null;
      first = made;
      sources = async () => {
        const again = await selfSigned();
        if (again === null) throw new TlsConfigError('self-signed certificate: cannot be remade because the openssl program is missing');
        return again;
      };
    } else {
      log.warn('TLS is off: tls.certificates is empty and tls.self_signed = false. STARTTLS is not offered and implicit-TLS listeners (submissions) cannot start.');
      return null;
    }
    const state = await buildState(first, settings);
    const contexts = new TlsContexts(settings, sources, log, state);
    contexts.#report(state, config.hostname, config.tls.certificates.length > 0);
    return contexts;
  }

  /** Certificates in use, default first. */
  certificates(): readonly CertificateInfo[] {
    return this.#state.entries.map((e) => e.info);
  }

  /**
   * Options for a server-side TLS socket, reflecting the certificates in use
   * now. The recommended use is per connection, which always sees the latest
   * reload: `new tls.TLSSocket(socket, { isServer: true, ...opts })` (or
   * upgradeToTls). With `tls.createServer(opts)`, also call attach(server) so
   * clients that send no SNI get reloaded certificates too (tls.Server keeps
   * its own default context built from `cert`/`key`; it ignores `secureContext`).
   */
  serverOptions(): tls.TlsOptions {
    const def = this.#state.entries[0];
    return {
      secureContext: def.context,
      SNICallback: this.#sniCallback,
      // For tls.createServer, which builds its default context from these:
      cert: def.certPem,
      key: def.keyPem,
      minVersion: this.#settings.minVersion,
      ciphers: this.#settings.ciphers,
      honorCipherOrder: true,
    };
  }

  /** Keeps a tls.Server's default certificate in step with reload(). */
  attach(server: tls.Server): void {
    this.#servers.add(server);
    server.once('close', () => this.#servers.delete(server));
  }

  /** The context for a client that asked for `servername` (SNI). */
  contextFor(servername: string | undefined): tls.SecureContext {
    return this.#pick(servername).context;
  }

  /** Which certificate a client asking for `servername` gets. */
  certificateFor(servername: string | undefined): CertificateInfo {
    return this.#pick(servername).info;
  }

  /**
   * Re-reads every certificate and key and swaps all contexts at once. On any
   * failure the old contexts stay and the returned promise rejects with a
   * TlsConfigError naming the key and file. Overlapping calls run in turn.
   */
  reload(): Promise<void> {
    const run = this.#reloading.then(async () => {
      const state = await buildState(await this.#sources(), this.#settings);
      this.#state = state;
      for (const server of this.#servers) server.setSecureContext(this.#defaultOptions(state));
      this.#report(state, undefined, false);
    });
    this.#reloading = run.catch(() => {});
    return run;
  }

  /** Protocol, cipher and key bits of an established TLS session. */
  describe(socket: tls.TLSSocket): TlsDescription {
    return describeTls(socket);
  }

  #pick(servername: string | undefined): Loaded {
    const st = this.#state;
    if (servername) {
      const name = servername.toLowerCase().replace(/\.$/, '');
      const exact = st.exact.get(name);
      if (exact) return exact;
      const dot = name.indexOf('.');
      // RFC 6125 §6.4.3: "*" stands for exactly one whole leftmost label.
      if (dot > 0) {
        const wild = st.wildcard.get(name.slice(dot + 1));
        if (wild) return wild;
      }
    }
    return st.entries[0];
  }

  // A property, not a method, so it can be handed to node:tls unbound.
  readonly #sniCallback = (servername: string, cb: (err: Error | null, ctx?: tls.SecureContext) => void): void => {
    cb(null, this.#pick(servername).context);
  };

  #defaultOptions(state: State): tls.SecureContextOptions {
    const def = state.entries[0];
    return { cert: def.certPem, key: def.keyPem, minVersion: this.#settings.minVersion, ciphers: this.#settings.ciphers, honorCipherOrder: true };
  }

  #report(state: State, hostname: string | undefined, configured: boolean): void {
    const now = Date.now();
    for (const e of state.entries) {
      const fields = { source: e.info.source, cert: e.info.certFile, names: e.info.names, expires: e.info.notAfter.toISOString() };
      this.#log.info('TLS certificate loaded', fields);
      for (const w of e.warnings) this.#log.warn(`TLS certificate: ${w}`, fields);
      if (e.info.notAfter.getTime() < now) this.#log.warn('TLS certificate has expired: clients that check certificates will refuse it', fields);
      else if (e.info.notBefore.getTime() > now) this.#log.warn('TLS certificate is not valid yet (check the clock)', fields);
    }
    if (hostname !== undefined && configured) {
      const name = hostname.replace(/\.$/, '');
      const covered = state.entries.some((e) => coversName(e.info.names, name));
      if (!covered) {
        this.#log.warn('no TLS certificate covers hostname: clients connecting to that name and checking the certificate will fail', {
          hostname: name,
          names: state.entries.flatMap((e) => e.info.names),
        });
      }
    }
  }
}

/** Throws a TlsConfigError unless TLS is available for every listener that
 * needs it from the first byte (RFC 8314 implicit TLS). */
export function checkTlsForListeners(listen: Config['listen'], contexts: TlsContexts | null): void {
  if (contexts) return;
  for (const role of IMPLICIT_TLS_ROLES) {
    const addr = listen[role];
    if (!addr) continue;
    throw new TlsConfigError(
      `listener "${role}" on ${formatListenAddress(addr)} needs TLS (implicit TLS, RFC 8314) but no certificate is available: ` +
        `set tls.certificates, or keep tls.self_signed = true with the openssl program installed, or remove listen.${role}.`,
    );
  }
}

/** Bits of the bulk cipher from its name (Node reports only the name). */
export function cipherBits(name: string): number {
  const n = name.toUpperCase();
  const m = /(?:AES|CAMELLIA|ARIA)[_-]?(128|256)/.exec(n);
  if (m) return Number(m[1]);
  if (n.includes('CHACHA20')) return 256;
  if (n.includes('3DES') || n.includes('DES-CBC3')) return 112;
  return 0;
}

/** Protocol, cipher and bits of an established TLS session, e.g.
 * `{ version: 'TLSv1.3', cipher: 'TLS_AES_256_GCM_SHA384', bits: 256 }`. */
export function describeTls(socket: tls.TLSSocket): TlsDescription {
  const cipher = socket.getCipher();
  return { version: socket.getProtocol() ?? 'unknown', cipher: cipher?.name ?? 'unknown', bits: cipher ? cipherBits(cipher.standardName || cipher.name) : 0 };
}

/** The Received-header comment (RFC 3848 §1 puts "ESMTPS"/"ESMTPSA" in the
 * `with` clause; this goes beside it): `version=TLSv1.3 cipher=… bits=256`. */
export function formatTlsComment(d: TlsDescription): string {
  return `version=${d.version} cipher=${d.cipher} bits=${d.bits}`;
}

function coversName(names: readonly string[], host: string): boolean {
  const h = host.toLowerCase();
  const dot = h.indexOf('.');
  return names.some((n) => n === h || (n.startsWith('*.') && dot > 0 && n.slice(2) === h.slice(dot + 1)));
}

async function buildState(sources: readonly CertificateSource[], settings: Settings): Promise<State> {
  const entries = await Promise.all(sources.map((s) => loadPair(s, settings)));
  if (entries.length === 0) throw new TlsConfigError('tls.certificates: no certificate to load');
  const exact = new Map<string, Loaded>();
  const wildcard = new Map<string, Loaded>();
  for (const e of entries) {
    for (const name of e.info.names) {
      // The first certificate that names a host wins, as in the configuration order.
      if (name.startsWith('*.')) {
        if (!wildcard.has(name.slice(2))) wildcard.set(name.slice(2), e);
      } else if (!exact.has(name)) {
        exact.set(name, e);
      }
    }
  }
  return { entries, exact, wildcard };
}

async function readPem(file: string, label: string): Promise<string> {
  try {
    return await fs.readFile(file, 'utf8');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const why =
      e.code === 'ENOENT' ? 'file not found' : e.code === 'EACCES' ? 'permission denied' : e.code === 'EISDIR' ? 'is a directory, not a file' : e.message;
    throw new TlsConfigError(`${label}: ${why}: ${file}`);
  }
}

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

async function loadPair(src: CertificateSource, settings: Settings): Promise<Loaded> {
  const [certPem, keyPem] = await Promise.all([readPem(src.cert, src.certLabel), readPem(src.key, src.keyLabel)]);

  const blocks = certPem.match(PEM_CERT) ?? [];
  if (blocks.length === 0) throw new TlsConfigError(`${src.certLabel}: no PEM certificate ("-----BEGIN CERTIFICATE-----") in ${src.cert}`);
  let chain: X509Certificate[];
  try {
    chain = blocks.map((b) => new X509Certificate(b));
  } catch (err) {
    throw new TlsConfigError(`${src.certLabel}: ${src.cert} holds a certificate that cannot be parsed: ${(err as Error).message}`);
  }
  const leaf = chain[0];
  // RFC 8446 §4.4.2: each certificate should certify the one before it.
  // Clients may cope with another order, so this is a warning, not an error.
  const warnings: string[] = [];
  for (let i = 0; i + 1 < chain.length; i++) {
    if (!chain[i].checkIssued(chain[i + 1])) {
      warnings.push(
        `the certificates in ${src.cert} are out of order: number ${i + 2} did not issue number ${i + 1} ` +
          '(put the server certificate first, then its intermediates, as in fullchain.pem)',
      );
      break;
    }
  }
  // A self-signed certificate (issuer = subject) has no intermediates to add.
  if (chain.length === 1 && leaf.issuer !== leaf.subject && !leaf.checkIssued(leaf)) {
    warnings.push(`${src.cert} holds only the server certificate, no intermediates; clients may fail to verify it (use fullchain.pem rather than cert.pem)`);
  }

  let key: KeyObject;
  try {
    key = createPrivateKey(keyPem);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ERR_MISSING_PASSPHRASE') throw new TlsConfigError(`${src.keyLabel}: ${src.key} is encrypted with a passphrase; give an unencrypted key (file mode 0600)`);
    throw new TlsConfigError(`${src.keyLabel}: ${src.key} is not a PEM private key: ${e.message}`);
  }
  if (!leaf.checkPrivateKey(key)) {
    throw new TlsConfigError(`${src.keyLabel}: the private key in ${src.key} does not match the certificate in ${src.cert} (${leaf.subject.replace(/\n/g, ', ')})`);
  }

  let context: tls.SecureContext;
  try {
    context = tls.createSecureContext({ cert: certPem, key: keyPem, minVersion: settings.minVersion, ciphers: settings.ciphers, honorCipherOrder: true });
  } catch (err) {
    throw new TlsConfigError(`${src.certLabel}: ${src.cert} with key ${src.key} cannot be used: ${(err as Error).message}`);
  }

  const names = certificateNames(leaf);
  if (names.length === 0) throw new TlsConfigError(`${src.certLabel}: the certificate in ${src.cert} names no host (no DNS subjectAltName and no CN)`);
  return {
    context,
    certPem,
    keyPem,
    warnings,
    info: {
      source: src.certLabel.replace(/\.cert$/, ''),
      certFile: src.cert,
      keyFile: src.key,
      names,
      subject: leaf.subject.replace(/\n/g, ', '),
      notBefore: new Date(leaf.validFrom),
      notAfter: new Date(leaf.validTo),
      fingerprint256: leaf.fingerprint256,
    },
  };
}

/** DNS names in subjectAltName; the subject CN only when there is no DNS SAN
 * (RFC 6125 §6.4.4). Lower case, without a trailing dot. */
export function certificateNames(cert: X509Certificate): string[] {
  const out: string[] = [];
  for (const part of splitSan(cert.subjectAltName ?? '')) {
    if (!part.startsWith('DNS:')) continue;
    let v = part.slice(4);
    if (v.startsWith('"')) {
      try {
        v = JSON.parse(v) as string; // Node quotes values with unusual characters
      } catch {
        continue;
      }
    }
    out.push(v);
  }
  if (out.length === 0) {
    for (const line of cert.subject.split('\n')) if (line.startsWith('CN=')) out.push(line.slice(3));
  }
  return [...new Set(out.map((n) => n.toLowerCase().replace(/\.$/, '')).filter((n) => n !== ''))];
}

/** Splits Node's "DNS:a, DNS:b" on the ", " between entries, not inside quotes. */
function splitSan(san: string): string[] {
  const parts: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < san.length; i++) {
    const ch = san[i];
    if (ch === '"' && san[i - 1] !== '\\') quoted = !quoted;
    if (!quoted && ch === ',' && san[i + 1] === ' ') {
      parts.push(cur);
      cur = '';
      i++;
      continue;
    }
    cur += ch;
  }
  if (cur) parts.push(cur);
  return parts;
}
