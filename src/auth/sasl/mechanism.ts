// What the SASL mechanism state machines (RFC 4422) share. A mechanism is a
// pure SaslExchange: it parses the client's decoded responses, builds
// challenges, and asks callbacks it is given for everything else (checking a
// password, looking up SCRAM keys, deciding the outcome), so it never touches
// the store, the clock or the throttle. Malformed input ends the exchange with
// failure 'malformed'; nothing here throws.

import { isUtf8 } from 'node:buffer';
import type { AuthUser, SaslExchange, SaslStep } from '../types.ts';

export type SaslFailure = Extract<SaslStep, { kind: 'failure' }>;
export type SaslSuccess = Extract<SaslStep, { kind: 'success' }>;
/** How a credentials check ended: the user, or why not. */
export type Verdict = SaslSuccess | SaslFailure;

/** Checks a username and password (PLAIN, LOGIN). Must not throw. */
export type VerifyPassword = (username: string, password: string) => Promise<Verdict>;

export interface SaslMechanism extends SaslExchange {
  /** The mechanism's registered name (RFC 4422 §3.1), e.g. "PLAIN". */
  readonly name: string;
  /** The authentication identity the client gave, once known (for the log). */
  readonly username: string | null;
}

/** RFC 4616 §2 asks servers to accept at least 255 octets per field; we take
 * up to this many and call anything longer malformed. */
export const MAX_FIELD_BYTES = 1024;

export function failure(reason: SaslFailure['reason'], message: string): SaslFailure {
  return { kind: 'failure', reason, message };
}

export function success(user: AuthUser, data: Buffer | null = null): SaslSuccess {
  return { kind: 'success', user, data };
}

export function challenge(data: Buffer | string): SaslStep {
  return { kind: 'challenge', data: typeof data === 'string' ? Buffer.from(data, 'utf8') : data };
}

export const ABORTED = failure('aborted', 'authentication aborted by the client');
export const FINISHED = failure('malformed', 'the authentication exchange is over');

/** UTF-8 text without NUL, at most `max` octets, or null. */
export function utf8Text(buf: Buffer, max = MAX_FIELD_BYTES): string | null {
  if (buf.length > max || buf.includes(0) || !isUtf8(buf)) return null;
  return buf.toString('utf8');
}

/** Runs a callback that must not throw; if it does anyway, the store or a
 * bug is at fault, which the client sees as a temporary failure. */
export async function guarded(fn: () => Promise<Verdict>): Promise<Verdict> {
  try {
    return await fn();
  } catch {
    return failure('temporary', 'authentication is temporarily unavailable');
  }
}
