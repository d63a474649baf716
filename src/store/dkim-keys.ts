// The DKIM signing keys part of the Store interface (Store extends it): one
// row per (domain, selector) with the private key, the public key as it is
// published (the DNS `p=` value), and the times that make up its life cycle.
// A key's state is not stored: it follows from those times and the clock
// (dkimKeyState), so an injected clock moves keys through their states in
// tests and nothing has to run at the moment a key activates or retires.
//
// Life cycle (RFC 6376 §3.6.1 key records; rotation as M3AAWG advises):
//   pending   now < activateAt           published in DNS, not used to sign yet
//   active    activateAt ≤ now < deactivateAt (or no deactivateAt)   signs
//   retiring  deactivateAt ≤ now < retireAt   published, no longer signs
//             (messages signed before still verify while in transit or queued)
//   retired   retireAt ≤ now               not published; may be removed
// Validation lives here so every backend refuses the same input.

import { StoreError } from './store.ts';
import { requireDomain } from './names.ts';

/** RFC 6376 §3.3 (rsa-sha256) and RFC 8463 §3 (ed25519-sha256). */
export type DkimAlgorithm = 'rsa-sha256' | 'ed25519-sha256';
export const DKIM_ALGORITHMS: readonly DkimAlgorithm[] = ['rsa-sha256', 'ed25519-sha256'];

export type DkimKeyState = 'pending' | 'active' | 'retiring' | 'retired';

export interface DkimKey {
  /** Lower-case A-label domain (the `d=` tag). */
  domain: string;
  /** Lower-case selector (the `s=` tag, RFC 6376 §3.1). */
  selector: string;
  algorithm: DkimAlgorithm;
  /** PKCS#8 PEM. */
  privateKey: string;
  /** The `p=` value of the key record: base64 of the SubjectPublicKeyInfo DER
   * for RSA (RFC 6376 §3.6.1), of the raw 32-byte key for Ed25519 (RFC 8463 §4.2). */
  publicKey: string;
  createdAt: Date;
  /** From this time on the key signs (until deactivateAt). */
  activateAt: Date;
  /** The key stops signing at this time; null: it signs until rotated out. */
  deactivateAt: Date | null;
  /** The key record may leave DNS at this time; null: it stays published. */
  retireAt: Date | null;
}

export interface NewDkimKey {
  domain: string;
  selector: string;
  algorithm: DkimAlgorithm;
  privateKey: string;
  publicKey: string;
  activateAt: Date;
}

/** What a rotation does to the key being replaced, in the same transaction as the new key. */
export interface DkimSupersede {
  selector: string;
  deactivateAt: Date;
  retireAt: Date;
}

export interface DkimScheduleChange {
  activateAt?: Date;
  deactivateAt?: Date | null;
  retireAt?: Date | null;
}

export interface DkimKeyStore {
  /** Adds a key; with `supersede`, also sets that key's deactivateAt and
   * retireAt, atomically. StoreError: 'not_found' (domain, or the superseded
   * selector), 'exists' (selector taken in the domain), 'invalid'. */
  addDkimKey(key: NewDkimKey, supersede?: DkimSupersede): Promise<DkimKey>;
  /** Keys of one domain (or all), ordered by domain, then activateAt, then selector. */
  listDkimKeys(domain?: string): Promise<DkimKey[]>;
  getDkimKey(domain: string, selector: string): Promise<DkimKey | null>;
  /** Changes the times of one key (fields left out stay). 'not_found', 'invalid'. */
  setDkimKeySchedule(domain: string, selector: string, change: DkimScheduleChange): Promise<DkimKey>;
  /** Deletes one key. 'not_found'. Removing a domain removes its keys. */
  removeDkimKey(domain: string, selector: string): Promise<void>;
}

/** The state of `key` at `now` (see the table at the top of this file). */
export function dkimKeyState(key: Pick<DkimKey, 'activateAt' | 'deactivateAt' | 'retireAt'>, now: Date): DkimKeyState {
  const t = now.getTime();
  if (key.retireAt && t >= key.retireAt.getTime()) return 'retired';
  if (key.deactivateAt && t >= key.deactivateAt.getTime()) return 'retiring';
  if (t < key.activateAt.getTime()) return 'pending';
  return 'active';
}

/** Whether the key record must be in DNS at `now` (every state but retired). */
export function dkimKeyPublished(key: DkimKey, now: Date): boolean {
  return dkimKeyState(key, now) !== 'retired';
}

// RFC 6376 §3.1: selector = sub-domain *( "." sub-domain ), sub-domain per RFC 5321 (Let-dig [Ldh-str]).
const SELECTOR_LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

export function parseDkimSelector(s: string): string | null {
  if (typeof s !== 'string' || s.length === 0 || s.length > 200) return null;
  const lower = s.toLowerCase();
  return lower.split('.').every((l) => SELECTOR_LABEL.test(l)) ? lower : null;
}

export function requireDkimSelector(s: string): string {
  const v = parseDkimSelector(s);
  if (v === null) throw new StoreError('invalid', `invalid DKIM selector: ${JSON.stringify(s)} (letters, digits and hyphens, dot-separated)`);
  return v;
}

function requireTimeValue(d: unknown, what: string): Date {
  if (!(d instanceof Date) || Number.isNaN(d.getTime())) throw new StoreError('invalid', `${what} must be a valid Date`);
  return d;
}

function requireOptionalTime(d: unknown, what: string): Date | null {
  return d === null ? null : requireTimeValue(d, what);
}

/** Checks a new key; returns it with the domain and selector canonical. */
export function normalizeNewDkimKey(k: NewDkimKey): NewDkimKey {
  if (!k || typeof k !== 'object') throw new StoreError('invalid', 'a DKIM key must be an object');
  if (!DKIM_ALGORITHMS.includes(k.algorithm)) throw new StoreError('invalid', `unknown DKIM algorithm: ${JSON.stringify(k.algorithm)}`);
  if (typeof k.privateKey !== 'string' || !/^-----BEGIN PRIVATE KEY-----\r?\n[\s\S]+-----END PRIVATE KEY-----\s*$/.test(k.privateKey)) {
    throw new StoreError('invalid', 'the DKIM private key must be a PKCS#8 PEM ("BEGIN PRIVATE KEY")');
  }
  if (typeof k.publicKey !== 'string' || !/^[A-Za-z0-9+/]+={0,2}$/.test(k.publicKey)) {
    throw new StoreError('invalid', 'the DKIM public key must be base64 (the p= value)');
  }
  return {
    domain: requireDomain(k.domain),
    selector: requireDkimSelector(k.selector),
    algorithm: k.algorithm,
    privateKey: k.privateKey,
    publicKey: k.publicKey,
    activateAt: requireTimeValue(k.activateAt, 'activateAt'),
  };
}

export function normalizeSupersede(s: DkimSupersede): DkimSupersede {
  const deactivateAt = requireTimeValue(s.deactivateAt, 'deactivateAt');
  const retireAt = requireTimeValue(s.retireAt, 'retireAt');
  if (retireAt.getTime() < deactivateAt.getTime()) throw new StoreError('invalid', 'retireAt must not be before deactivateAt');
  return { selector: requireDkimSelector(s.selector), deactivateAt, retireAt };
}

export function normalizeScheduleChange(c: DkimScheduleChange): DkimScheduleChange {
  const out: DkimScheduleChange = {};
  if (c.activateAt !== undefined) out.activateAt = requireTimeValue(c.activateAt, 'activateAt');
  if (c.deactivateAt !== undefined) out.deactivateAt = requireOptionalTime(c.deactivateAt, 'deactivateAt');
  if (c.retireAt !== undefined) out.retireAt = requireOptionalTime(c.retireAt, 'retireAt');
  return out;
}
