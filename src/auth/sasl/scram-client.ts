// The client side of SCRAM-SHA-256 (RFC 5802 §3, RFC 7677), without channel
// binding: builds client-first and client-final and the server signature to
// expect. Used by tests against our server, and available to the outbound SMTP
// client for smart-host AUTH.

import { randomBytes } from 'node:crypto';
import { hmac, saltedPassword, sha256 } from './scram-keys.ts';
import { encodeSaslname } from './scram-messages.ts';

export interface ScramClientFirst {
  message: string;
  bare: string;
  gs2Header: string;
}

export function scramClientFirst(username: string, nonce = randomBytes(18).toString('base64'), gs2Header = 'n,,'): ScramClientFirst {
  const bare = `n=${encodeSaslname(username)},r=${nonce}`;
  return { message: gs2Header + bare, bare, gs2Header };
}

/** From server-first (r=,s=,i=) and the password: client-final and the v= the server must answer. */
export async function scramClientFinal(
  first: ScramClientFirst,
  serverFirst: string,
  password: string,
): Promise<{ message: string; expectedServerFinal: string } | null> {
  const m = /^r=([^,]+),s=([^,]+),i=(\d+)(?:,|$)/.exec(serverFirst);
  if (!m) return null;
  const [, nonce, saltB64, iter] = m as unknown as [string, string, string, string];
  const salted = await saltedPassword(password, Buffer.from(saltB64, 'base64'), Number(iter));
  const clientKey = hmac(salted, 'Client Key');
  const storedKey = sha256(clientKey);
  const withoutProof = `c=${Buffer.from(first.gs2Header).toString('base64')},r=${nonce}`;
  const authMessage = `${first.bare},${serverFirst},${withoutProof}`;
  const sig = hmac(storedKey, authMessage);
  const proof = Buffer.alloc(32);
  for (let i = 0; i < 32; i++) proof[i] = clientKey[i]! ^ sig[i]!;
  const serverKey = hmac(salted, 'Server Key');
  return {
    message: `${withoutProof},p=${proof.toString('base64')}`,
    expectedServerFinal: `v=${hmac(serverKey, authMessage).toString('base64')}`,
  };
}
