// Test certificates made with the `openssl` program: a private CA, leaf
// certificates for given names signed by it (so a test client can verify the
// server with `ca: ca.cert` and a `servername`), and self-signed ones. All EC
// P-256, which openssl makes in milliseconds. Files go to one temporary
// directory per test process (removed when the process exits) and results are
// cached per process, so asking twice for the same names costs nothing.
// makeLeafCert(..., { fresh: true }) bypasses the cache (reload tests need two
// different certificates for the same name).

import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';

export interface TestCert {
  /** Leaf certificate followed by the CA certificate (like a fullchain.pem). */
  certPath: string;
  keyPath: string;
  /** PEM of the leaf certificate alone. */
  cert: string;
  /** PEM of the private key. */
  key: string;
  names: readonly string[];
}

export interface TestCa {
  certPath: string;
  keyPath: string;
  /** PEM of the CA certificate: pass as `ca` to tls.connect. */
  cert: string;
  key: string;
}

let dir: string | undefined;
function workDir(): string {
  if (dir === undefined) {
    const d = mkdtempSync(join(tmpdir(), 'mailroom-certs-'));
    dir = d;
    process.on('exit', () => rmSync(d, { recursive: true, force: true }));
  }
  return dir;
}

function openssl(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('openssl', args, { cwd: workDir() }, (err, _stdout, stderr) => {
      if (err) reject(new Error(`openssl ${args[0]} failed: ${err.message}\n${stderr}`));
      else resolve();
    });
  });
}

let counter = 0;
function fresh(stem: string): string {
  return join(workDir(), `${stem}-${process.pid}-${++counter}`);
}

/** An openssl config with the subject and extensions, so the result does not
 * depend on the system's openssl.cnf. */
function writeConfig(path: string, cn: string, ext: string[]): void {
  const lines = ['[req]', 'distinguished_name = dn', 'prompt = no', 'x509_extensions = ext', '[dn]', `CN = ${cn}`, '[ext]', ...ext];
  writeFileSync(path, lines.join('\n') + '\n');
}

function sanLine(names: readonly string[]): string {
  return 'subjectAltName = ' + names.map((n) => (isIP(n) ? `IP:${n}` : `DNS:${n}`)).join(',');
}

const LEAF_EXT = ['basicConstraints = critical,CA:FALSE', 'keyUsage = critical,digitalSignature', 'extendedKeyUsage = serverAuth'];

let caPromise: Promise<TestCa> | undefined;

/** The process's test CA (made once). */
export function makeTestCa(): Promise<TestCa> {
  caPromise ??= (async () => {
    const base = fresh('ca');
    writeConfig(`${base}.cnf`, 'Mailroom Test CA', ['basicConstraints = critical,CA:TRUE', 'keyUsage = critical,keyCertSign,cRLSign', 'subjectKeyIdentifier = hash']);
    await openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-config', `${base}.cnf`, '-days', '30', '-keyout', `${base}.key`, '-out', `${base}.pem`]);
    return { certPath: `${base}.pem`, keyPath: `${base}.key`, cert: readFileSync(`${base}.pem`, 'utf8'), key: readFileSync(`${base}.key`, 'utf8') };
  })();
  return caPromise;
}

const leafCache = new Map<string, Promise<TestCert>>();

/** A certificate for `names` (DNS names, wildcards such as "*.example.org",
 * or IP addresses) signed by `ca`; CN is the first name. */
export function makeLeafCert(ca: TestCa, names: readonly string[], opts: { fresh?: boolean } = {}): Promise<TestCert> {
  if (names.length === 0) throw new Error('makeLeafCert: give at least one name');
  const cacheKey = `${ca.certPath}\n${names.join(',')}`;
  const cached = opts.fresh ? undefined : leafCache.get(cacheKey);
  if (cached) return cached;
  const made = (async () => {
    const base = fresh('leaf');
    writeConfig(`${base}.cnf`, names[0], [sanLine(names), ...LEAF_EXT]);
    await openssl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-config', `${base}.cnf`, '-keyout', `${base}.key`, '-out', `${base}.csr`]);
    await openssl([
      'x509', '-req', '-in', `${base}.csr`, '-CA', ca.certPath, '-CAkey', ca.keyPath,
      '-set_serial', '0x' + randomBytes(8).toString('hex'), '-days', '30',
      '-extfile', `${base}.cnf`, '-extensions', 'ext', '-out', `${base}.crt`,
    ]);
    const cert = readFileSync(`${base}.crt`, 'utf8');
    writeFileSync(`${base}.pem`, cert + ca.cert);
    return { certPath: `${base}.pem`, keyPath: `${base}.key`, cert, key: readFileSync(`${base}.key`, 'utf8'), names: [...names] };
  })();
  if (!opts.fresh) leafCache.set(cacheKey, made);
  return made;
}

const selfCache = new Map<string, Promise<TestCert>>();

/** A self-signed certificate for `names` (not signed by the test CA). */
export function makeSelfSignedCert(names: readonly string[]): Promise<TestCert> {
  const cacheKey = names.join(',');
  let made = selfCache.get(cacheKey);
  if (!made) {
    made = (async () => {
      const base = fresh('self');
      writeConfig(`${base}.cnf`, names[0], [sanLine(names), ...LEAF_EXT]);
      await openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-config', `${base}.cnf`, '-days', '30', '-keyout', `${base}.key`, '-out', `${base}.pem`]);
      const cert = readFileSync(`${base}.pem`, 'utf8');
      return { certPath: `${base}.pem`, keyPath: `${base}.key`, cert, key: readFileSync(`${base}.key`, 'utf8'), names: [...names] };
    })();
    selfCache.set(cacheKey, made);
  }
  return made;
}
