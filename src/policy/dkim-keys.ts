// DKIM key material: generating a key pair (RSA 2048 by default, or Ed25519
// per RFC 8463), the public key's `p=` value, the key record published at
// `<selector>._domainkey.<domain>` (RFC 6376 §3.6.1), and the default
// selector name. Pure apart from node:crypto; storage is the Store's.

import { createPrivateKey, createPublicKey, generateKeyPair, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import type { DkimAlgorithm } from '../store/dkim-keys.ts';

const generate = promisify(generateKeyPair);

export interface DkimKeyMaterial {
  algorithm: DkimAlgorithm;
  /** PKCS#8 PEM. */
  privateKey: string;
  /** The `p=` value. */
  publicKey: string;
}

/** RFC 8301 §3.2: RSA keys of at least 1024 bits, 2048 recommended; we allow 2048–4096. */
export const RSA_BITS = [2048, 3072, 4096] as const;

export async function generateDkimKey(algorithm: DkimAlgorithm, rsaBits = 2048): Promise<DkimKeyMaterial> {
  if (algorithm === 'rsa-sha256') {
    if (!(RSA_BITS as readonly number[]).includes(rsaBits)) throw new RangeError(`RSA key size must be one of ${RSA_BITS.join(', ')}`);
    const { privateKey, publicKey } = await generate('rsa', { modulusLength: rsaBits });
    return { algorithm, privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, publicKey: publicKeyValue(publicKey) };
  }
  const { privateKey, publicKey } = await generate('ed25519');
  return { algorithm, privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, publicKey: publicKeyValue(publicKey) };
}

/** The `p=` value: base64 SubjectPublicKeyInfo for RSA (RFC 6376 §3.6.1), the raw 32-byte key for Ed25519 (RFC 8463 §4.2). */
export function publicKeyValue(key: KeyObject): string {
  const der = key.export({ type: 'spki', format: 'der' }) as Buffer;
  return key.asymmetricKeyType === 'ed25519' ? der.subarray(der.length - 32).toString('base64') : der.toString('base64');
}

/** The `p=` value for a private key PEM (to check a stored pair or a published record). */
export function publicKeyOf(privateKeyPem: string): string {
  return publicKeyValue(createPublicKey(createPrivateKey(privateKeyPem)));
}

/** The key record's text (RFC 6376 §3.6.1; `k=ed25519` per RFC 8463 §4.2). */
export function dkimRecord(algorithm: DkimAlgorithm, publicKey: string): string {
  return `v=DKIM1; k=${algorithm === 'rsa-sha256' ? 'rsa' : 'ed25519'}; p=${publicKey}`;
}

/** Where the key record lives. */
export function dkimRecordName(selector: string, domain: string): string {
  return `${selector}._domainkey.${domain}`;
}

/** The default selector: `mr` + year and month, with `e` for Ed25519
 * (`mr202611`, `mr202611e`); `-2`, `-3`… when taken. */
export function defaultSelector(algorithm: DkimAlgorithm, now: Date, taken: ReadonlySet<string>): string {
  const base = `mr${now.getUTCFullYear()}${String(now.getUTCMonth() + 1).padStart(2, '0')}${algorithm === 'ed25519-sha256' ? 'e' : ''}`;
  if (!taken.has(base)) return base;
  for (let i = 2; ; i++) if (!taken.has(`${base}-${i}`)) return `${base}-${i}`;
}

/** Parses a key record's tags (RFC 6376 §3.2 tag-list); null if it is not one. */
export function parseDkimRecord(txt: string): { version: string | null; k: string; p: string; tags: Map<string, string> } | null {
  const tags = new Map<string, string>();
  for (const part of txt.split(';')) {
    const t = part.trim();
    if (t === '') continue;
    const eq = t.indexOf('=');
    if (eq <= 0) return null;
    const name = t.slice(0, eq).trim();
    if (!/^[A-Za-z][A-Za-z0-9_]*$/.test(name) || tags.has(name)) return null;
    tags.set(name, t.slice(eq + 1).replace(/[ \t\r\n]+/g, ''));
  }
  if (!tags.has('p')) return null;
  // RFC 6376 §3.6.1: v= is optional but, if present, MUST be first and DKIM1.
  return { version: tags.get('v') ?? null, k: tags.get('k') ?? 'rsa', p: tags.get('p')!, tags };
}
