// SCRAM-SHA-256 stored credentials (RFC 5802 §3, RFC 7677): from a password,
// a salt and an iteration count come SaltedPassword = Hi(password), then
// StoredKey = H(HMAC(SaltedPassword, "Client Key")) and ServerKey =
// HMAC(SaltedPassword, "Server Key"). The server keeps only StoredKey and
// ServerKey, which verify a client's proof without revealing the password.
// Stored as one string, Dovecot style:
//   SCRAM-SHA-256$<iterations>:<salt b64>$<StoredKey b64>:<ServerKey b64>

import { createHash, createHmac, pbkdf2, randomBytes } from 'node:crypto';

export interface ScramKeys {
  iterations: number;
  salt: Buffer;
  storedKey: Buffer;
  serverKey: Buffer;
}

/** RFC 7677 §4: the iteration count SHOULD be at least 4096. */
export const SCRAM_ITERATIONS = 4096;
export const SCRAM_SALT_BYTES = 16;
const PREFIX = 'SCRAM-SHA-256$';
// A stored row outside these bounds is treated as corrupt.
const MAX_ITERATIONS = 10_000_000;

/** SASLprep-lite (RFC 4013 is obsoleted by RFC 8265's OpaqueString profile,
 * whose core is NFKC normalisation; we apply only that). */
export function normalizePassword(pw: string): string {
  return pw.normalize('NFKC');
}

export function hmac(key: Buffer, data: string | Buffer): Buffer {
  return createHmac('sha256', key).update(data).digest();
}

export function sha256(data: Buffer): Buffer {
  return createHash('sha256').update(data).digest();
}

/** RFC 5802 §2.2: Hi() is PBKDF2 with HMAC as the PRF. */
export function saltedPassword(pw: string, salt: Buffer, iterations: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    pbkdf2(normalizePassword(pw), salt, iterations, 32, 'sha256', (err, key) => (err ? reject(err) : resolve(key)));
  });
}

/** RFC 5802 §3: the keys the server stores for `pw`. A fresh random salt unless one is given. */
export async function deriveScramKeys(
  pw: string,
  opts: { salt?: Buffer; iterations?: number } = {},
): Promise<ScramKeys> {
  const salt = opts.salt ?? randomBytes(SCRAM_SALT_BYTES);
  const iterations = opts.iterations ?? SCRAM_ITERATIONS;
  const salted = await saltedPassword(pw, salt, iterations);
  return {
    iterations,
    salt,
    storedKey: sha256(hmac(salted, 'Client Key')),
    serverKey: hmac(salted, 'Server Key'),
  };
}

export function formatScramKeys(k: ScramKeys): string {
  const b = (x: Buffer) => x.toString('base64');
  return `${PREFIX}${k.iterations}:${b(k.salt)}$${b(k.storedKey)}:${b(k.serverKey)}`;
}

/** Strict base64 (padded, canonical), or null. */
export function strictBase64(s: string): Buffer | null {
  if (s.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(s)) return null;
  const buf = Buffer.from(s, 'base64');
  return buf.toString('base64') === s ? buf : null;
}

/** Parses the stored form; null for anything malformed (a login must not throw on a bad row). */
export function parseScramKeys(text: string | null | undefined): ScramKeys | null {
  if (typeof text !== 'string' || !text.startsWith(PREFIX)) return null;
  const m = /^(\d{1,8}):([^$:]+)\$([^$:]+):([^$:]+)$/.exec(text.slice(PREFIX.length));
  if (!m) return null;
  const iterations = Number(m[1]);
  const salt = strictBase64(m[2]!);
  const storedKey = strictBase64(m[3]!);
  const serverKey = strictBase64(m[4]!);
  if (iterations < 1 || iterations > MAX_ITERATIONS || !salt || !storedKey || !serverKey) return null;
  if (salt.length < 8 || salt.length > 64 || storedKey.length !== 32 || serverKey.length !== 32) return null;
  return { iterations, salt, storedKey, serverKey };
}
