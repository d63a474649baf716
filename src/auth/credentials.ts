// What gets stored when a password is set: the argon2id hash (password.ts)
// for PLAIN, LOGIN and the IMAP/POP3 plain logins, and SCRAM-SHA-256 keys
// (sasl/scram-keys.ts) for SCRAM. Also the random app passwords.
//
// One SCRAM salt per account: a SCRAM server names the salt before it knows
// which password the client holds, so the main password and the app
// passwords of an account are derived with the same salt (and iteration
// count); `scramSaltOf` finds it. Changing the main password keeps the salt,
// so app passwords keep working with SCRAM. Salts still differ between
// accounts, which is what defeats precomputed tables.

import { randomInt } from 'node:crypto';
import { hashPassword } from './password.ts';
import { deriveScramKeys, formatScramKeys, parseScramKeys } from './sasl/scram-keys.ts';

export interface HashedCredentials {
  /** argon2id PHC string. */
  passwordHash: string;
  /** `SCRAM-SHA-256$4096:<salt>$<StoredKey>:<ServerKey>`. */
  scram: string;
}

export async function hashCredentials(pw: string, opts: { scramSalt?: Buffer } = {}): Promise<HashedCredentials> {
  const [passwordHash, keys] = await Promise.all([hashPassword(pw), deriveScramKeys(pw, { salt: opts.scramSalt })]);
  return { passwordHash, scram: formatScramKeys(keys) };
}

/** The salt new credentials of an account should use: its main password's,
 * else its first app password's that has SCRAM keys, else none (a fresh one). */
export function scramSaltOf(main: string | null | undefined, appPasswords: ReadonlyArray<{ scram: string | null }>): Buffer | undefined {
  for (const s of [main, ...appPasswords.map((p) => p.scram)]) {
    const k = parseScramKeys(s);
    if (k) return k.salt;
  }
  return undefined;
}

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

/** A new app password: 4 groups of 4 from [a-z0-9], e.g. "k3vq-9d2m-x7pa-0wrt"
 * (16 × log2(36) ≈ 82.7 bits). Easy to type on a phone; shown once. */
export function generateAppPassword(rand: (max: number) => number = randomInt): string {
  const groups: string[] = [];
  for (let g = 0; g < 4; g++) {
    let s = '';
    for (let i = 0; i < 4; i++) s += ALPHABET[rand(ALPHABET.length)];
    groups.push(s);
  }
  return groups.join('-');
}
