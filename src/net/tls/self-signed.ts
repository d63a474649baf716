// A self-signed certificate so that a fresh install can offer STARTTLS and
// implicit TLS (RFC 3207, RFC 8314) before the operator has a real one. With
// no certificate in tls.certificates and tls.self_signed = true, the first
// start runs the `openssl` program to make an EC P-256 key and a certificate
// for `hostname` (subjectAltName DNS:hostname, 825 days — the longest that
// Apple clients accept for a server certificate) in <data_dir>/tls/. Later
// starts reuse them; they are remade when hostname changed, the pair is
// unreadable or mismatched, or less than 30 days of validity remain. Every use
// is logged at warn level with the path and how to configure a real
// certificate. Senders on port 25 mostly do opportunistic TLS (RFC 7435) and
// accept it; mail apps will warn. Without the openssl program the function
// logs an error and returns null: the server then runs without TLS.

import { execFile } from 'node:child_process';
import { X509Certificate, createPrivateKey, randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../../log/logger.ts';

export const SELF_SIGNED_DAYS = 825;
/** Remade when less validity than this remains. */
const RENEW_BEFORE_MS = 30 * 86_400_000;

export interface SelfSignedFiles {
  cert: string;
  key: string;
}

export interface SelfSignedOptions {
  /** The openssl program (tests point it at a missing one). */
  openssl?: string;
  now?: () => Date;
}

/** Where the self-signed pair lives under a data directory. */
export function selfSignedPaths(dataDir: string): SelfSignedFiles {
  const dir = path.join(dataDir, 'tls');
  return { cert: path.join(dir, 'selfsigned-cert.pem'), key: path.join(dir, 'selfsigned-key.pem') };
}

/** Returns the paths of a usable self-signed pair for `hostname`, making it
 * if needed; null (after logging an error) when openssl is not installed.
 * Other failures throw. */
export async function ensureSelfSigned(dataDir: string, hostname: string, logger: Logger, opts: SelfSignedOptions = {}): Promise<SelfSignedFiles | null> {
  const now = opts.now ?? (() => new Date());
  const files = selfSignedPaths(dataDir);
  const name = hostname.replace(/\.$/, '').toLowerCase();
  const problem = await whyNotReusable(files, name, now());
  if (problem !== null) {
    if (problem !== 'missing') logger.info('making a new self-signed TLS certificate', { reason: problem, cert: files.cert });
    const made = await generate(files, name, opts.openssl ?? 'openssl');
    if (made === 'no-openssl') {
      logger.error(
        'TLS is off: no certificate is configured (tls.certificates) and the openssl program, needed to make a self-signed one, was not found. ' +
          'Install openssl, or set tls.certificates to a certificate and key. STARTTLS is not offered and implicit-TLS listeners (submissions) cannot start.',
        { openssl: opts.openssl ?? 'openssl' },
      );
      return null;
    }
  }
  logger.warn(
    'using a self-signed TLS certificate: mail apps will warn about it and servers that check certificates will not trust it. ' +
      'Set tls.certificates in the configuration to a real certificate (e.g. from Let\'s Encrypt: fullchain.pem and privkey.pem) and restart.',
    { cert: files.cert, key: files.key, hostname: name },
  );
  return files;
}

/** null when the files can be reused, else the reason they cannot. */
async function whyNotReusable(files: SelfSignedFiles, hostname: string, now: Date): Promise<string | null> {
  let certPem: Buffer;
  let keyPem: Buffer;
  try {
    [certPem, keyPem] = await Promise.all([fs.readFile(files.cert), fs.readFile(files.key)]);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'missing';
    return `cannot read it: ${(err as Error).message}`;
  }
  try {
    const x509 = new X509Certificate(certPem);
    if (x509.checkHost(hostname, { wildcards: false }) === undefined) return `it was made for another host name (hostname is now ${hostname})`;
    if (!x509.checkPrivateKey(createPrivateKey(keyPem))) return 'the key does not match the certificate';
    if (new Date(x509.validTo).getTime() - now.getTime() < RENEW_BEFORE_MS) return `it expires soon or has expired (${x509.validTo})`;
    return null;
  } catch (err) {
    return `it is not a valid certificate and key: ${(err as Error).message}`;
  }
}

/** Runs openssl into temporary names, then renames into place (key first,
 * mode 0600, in a 0700 directory). */
async function generate(files: SelfSignedFiles, hostname: string, openssl: string): Promise<'ok' | 'no-openssl'> {
  const dir = path.dirname(files.cert);
  await fs.mkdir(path.dirname(dir), { recursive: true }); // data_dir, as the store would make it
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  const tmp = path.join(dir, `.selfsigned-${process.pid}-${randomBytes(4).toString('hex')}`);
  const conf = `${tmp}.cnf`;
  const tmpKey = `${tmp}-key.pem`;
  const tmpCert = `${tmp}-cert.pem`;
  // Our own openssl config, so the result does not depend on the system's
  // openssl.cnf (whose v3_ca section would mark the certificate as a CA).
  // hostname passed the config's host-name check: letters, digits, - _ .
  const config = [
    '[req]',
    'distinguished_name = dn',
    'prompt = no',
    'x509_extensions = ext',
    '[dn]',
    `CN = ${hostname}`,
    '[ext]',
    `subjectAltName = DNS:${hostname}`,
    'basicConstraints = critical,CA:FALSE',
    'keyUsage = critical,digitalSignature',
    'extendedKeyUsage = serverAuth',
    'subjectKeyIdentifier = hash',
  ];
  try {
    await fs.writeFile(conf, config.join('\n') + '\n', { mode: 0o600 });
    const args = ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-config', conf, '-days', String(SELF_SIGNED_DAYS), '-keyout', tmpKey, '-out', tmpCert];
    const result = await run(openssl, args);
    if (result === 'ENOENT') return 'no-openssl';
    await fs.chmod(tmpKey, 0o600);
    await fs.rename(tmpKey, files.key);
    await fs.rename(tmpCert, files.cert);
    return 'ok';
  } finally {
    await Promise.all([conf, tmpKey, tmpCert].map((f) => fs.rm(f, { force: true })));
  }
}

function run(program: string, args: string[]): Promise<'ok' | 'ENOENT'> {
  return new Promise((resolve, reject) => {
    execFile(program, args, { timeout: 60_000 }, (err, _stdout, stderr) => {
      if (!err) return resolve('ok');
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return resolve('ENOENT');
      reject(new Error(`making a self-signed certificate failed: ${program} ${args.slice(0, 2).join(' ')}: ${stderr.trim() || err.message}`));
    });
  });
}
