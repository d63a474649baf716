// Password hashing for account credentials: argon2id through Node 24's
// built-in crypto.argon2 (no native addon), stored as a PHC string
// `$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>` so the parameters travel with
// the hash and can be raised later without invalidating old hashes.
// Parameters follow the OWASP minimum for argon2id (19 MiB, 2 passes, 1 lane).

import { argon2, randomBytes, timingSafeEqual } from 'node:crypto';

const MEMORY_KIB = 19456;
const PASSES = 2;
const PARALLELISM = 1;
const SALT_BYTES = 16;
const TAG_BYTES = 32;
/** Argon2 version 1.3 (0x13), the only one Node implements. */
const VERSION = 19;

// Bounds on parameters read back from a stored string: a corrupted or hostile
// row must not make one login allocate gigabytes or spin for minutes.
const MAX_MEMORY_KIB = 1 << 21; // 2 GiB
const MAX_PASSES = 64;
const MAX_PARALLELISM = 16;

interface Params {
  memory: number;
  passes: number;
  parallelism: number;
  salt: Buffer;
  hash: Buffer;
}

function derive(pw: string, p: Omit<Params, 'hash'>, tagLength: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    argon2(
      'argon2id',
      { message: pw, nonce: p.salt, parallelism: p.parallelism, tagLength, memory: p.memory, passes: p.passes },
      (err, key) => (err ? reject(err) : resolve(key)),
    );
  });
}

/** PHC strings use standard base64 without padding. */
function b64(buf: Buffer): string {
  return buf.toString('base64').replace(/=+$/, '');
}

function unb64(s: string): Buffer | null {
  if (!/^[A-Za-z0-9+/]+$/.test(s)) return null;
  return Buffer.from(s, 'base64');
}

export async function hashPassword(pw: string): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const hash = await derive(pw, { memory: MEMORY_KIB, passes: PASSES, parallelism: PARALLELISM, salt }, TAG_BYTES);
  return `$argon2id$v=${VERSION}$m=${MEMORY_KIB},t=${PASSES},p=${PARALLELISM}$${b64(salt)}$${b64(hash)}`;
}

function intParam(s: string | undefined, min: number, max: number): number | null {
  if (s === undefined || !/^[0-9]{1,10}$/.test(s)) return null;
  const n = Number(s);
  return n >= min && n <= max ? n : null;
}

/** Parses `$argon2id$v=19$m=…,t=…,p=…$salt$hash`; null if anything is off. */
export function parsePhc(phc: string): Params | null {
  const parts = phc.split('$');
  if (parts.length !== 6 || parts[0] !== '' || parts[1] !== 'argon2id') return null;
  if (parts[2] !== `v=${VERSION}`) return null;
  const kv = new Map<string, string>();
  for (const item of parts[3]!.split(',')) {
    const m = /^([a-z]+)=(.*)$/.exec(item);
    if (!m || kv.has(m[1]!)) return null;
    kv.set(m[1]!, m[2]!);
  }
  if (kv.size !== 3) return null;
  const parallelism = intParam(kv.get('p'), 1, MAX_PARALLELISM);
  if (parallelism === null) return null;
  // Argon2 requires memory ≥ 8 blocks per lane.
  const memory = intParam(kv.get('m'), 8 * parallelism, MAX_MEMORY_KIB);
  const passes = intParam(kv.get('t'), 1, MAX_PASSES);
  const salt = unb64(parts[4]!);
  const hash = unb64(parts[5]!);
  if (memory === null || passes === null || !salt || !hash) return null;
  if (salt.length < 8 || salt.length > 64 || hash.length < 4 || hash.length > 128) return null;
  return { memory, passes, parallelism, salt, hash };
}

/** True if `pw` matches the stored PHC string; false for a wrong password
 * and for a malformed or unsupported hash (logins must not throw on bad rows). */
export async function verifyPassword(pw: string, phc: string): Promise<boolean> {
  const p = parsePhc(phc);
  if (!p) return false;
  let got: Buffer;
  try {
    got = await derive(pw, p, p.hash.length);
  } catch {
    return false;
  }
  // Same length by construction (tagLength = stored length); compare in constant time.
  return got.length === p.hash.length && timingSafeEqual(got, p.hash);
}
