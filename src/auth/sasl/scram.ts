// SCRAM-SHA-256 server side (RFC 7677, mechanics in RFC 5802 §3 and §5),
// without channel binding. Exchange: client-first → server-first
// (r=nonce,s=salt,i=iterations) → client-final (c=,r=,p=proof) → success
// carrying server-final (v=ServerSignature), which the protocol layer sends
// before its success reply. Keys come from a lookup callback; an unknown user
// or one without SCRAM keys gets a made-up but stable salt and fails only at
// the end, so the exchange does not tell which accounts exist.
//
// App passwords: the server names one salt before it knows which password the
// client holds, so an account's credentials share its salt (see
// auth/credentials.ts). Every credential with the announced salt and
// iteration count is tried against the proof.

import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { AuthUser, SaslStep } from '../types.ts';
import { ABORTED, FINISHED, challenge, failure, guarded, success, utf8Text, type SaslFailure, type SaslMechanism, type Verdict } from './mechanism.ts';
import { hmac, sha256, SCRAM_ITERATIONS, type ScramKeys } from './scram-keys.ts';
import { parseClientFinal, parseClientFirst, type ClientFirst } from './scram-messages.ts';

export interface ScramCredential {
  /** null for the main password, else the app password's name. */
  appPassword: string | null;
  keys: ScramKeys;
}

export type ScramLookupResult =
  | { kind: 'found'; user: Omit<AuthUser, 'appPassword'>; credentials: ScramCredential[] }
  | { kind: 'unknown'; why: string }
  | SaslFailure;

export interface ScramOptions {
  lookup(username: string): Promise<ScramLookupResult>;
  /** Called once the proof has been checked: `user` is who it proved, or null
   * and why not. Returns the outcome (the caller may log, throttle, refuse). */
  settle(username: string, user: AuthUser | null, why: string): Promise<Verdict>;
  /** Do authzid and username name the same identity? Default: equal strings. */
  sameIdentity?: (authzid: string, username: string) => boolean;
  /** Server nonce part (printable ASCII without ","); random by default. */
  nonce?: () => string;
  /** Key for the stable fake salts of unknown users. */
  fakeSaltKey?: Buffer;
}

/** Longest client message accepted (they are a few hundred bytes in practice). */
const MAX_MESSAGE_BYTES = 4096;
const PROCESS_FAKE_SALT_KEY = randomBytes(32);

interface Pending {
  first: ClientFirst;
  serverFirst: string;
  nonce: string;
  found: Extract<ScramLookupResult, { kind: 'found' }> | null;
  candidates: ScramCredential[];
  why: string;
}

export class ScramSha256Mechanism implements SaslMechanism {
  readonly name = 'SCRAM-SHA-256';
  readonly #opts: ScramOptions;
  #state: { kind: 'start' | 'first' | 'done' } | { kind: 'final'; p: Pending } = { kind: 'start' };
  #username: string | null = null;

  constructor(opts: ScramOptions) {
    this.#opts = opts;
  }

  get username(): string | null {
    return this.#username;
  }

  async step(response: Buffer | null, aborted = false): Promise<SaslStep> {
    const state = this.#state;
    if (state.kind === 'done') return FINISHED;
    this.#state = { kind: 'done' };
    if (aborted) return ABORTED;
    if (response === null) {
      if (state.kind !== 'start') return failure('malformed', 'expected a SCRAM message');
      // RFC 4422 §5: no initial response → an empty challenge.
      this.#state = { kind: 'first' };
      return challenge(Buffer.alloc(0));
    }
    const text = utf8Text(response, MAX_MESSAGE_BYTES);
    if (text === null) return failure('malformed', 'SCRAM messages are UTF-8 without NUL');
    if (state.kind === 'final') return this.#final(state.p, text);
    return this.#first(text);
  }

  async #first(text: string): Promise<SaslStep> {
    const parsed = parseClientFirst(text);
    if (!parsed.ok) return failure('malformed', parsed.error);
    const first = parsed.value;
    this.#username = first.username;
    const same = this.#opts.sameIdentity ?? ((a, b) => a === b);
    if (first.authzid !== null && !same(first.authzid, first.username)) {
      return failure('bad_credentials', 'authorization identity not permitted');
    }
    let found: Pending['found'] = null;
    let why = '';
    let candidates: ScramCredential[] = [];
    let salt: Buffer;
    let iterations = SCRAM_ITERATIONS;
    let lookup: ScramLookupResult;
    try {
      lookup = await this.#opts.lookup(first.username);
    } catch {
      return failure('temporary', 'authentication is temporarily unavailable');
    }
    if (lookup.kind === 'failure') return lookup;
    const announced = lookup.kind === 'found' ? lookup.credentials[0] : undefined;
    if (lookup.kind === 'found' && announced) {
      found = lookup;
      ({ salt, iterations } = announced.keys);
      candidates = lookup.credentials.filter((c) => c.keys.iterations === iterations && c.keys.salt.equals(salt));
    } else {
      why = lookup.kind === 'unknown' ? lookup.why : 'no SCRAM keys (password set before SCRAM support)';
      const key = this.#opts.fakeSaltKey ?? PROCESS_FAKE_SALT_KEY;
      salt = hmac(key, `fake salt:${first.username}`).subarray(0, 16);
    }
    // RFC 5802 §5.1: r = client nonce followed by the server's.
    const nonce = first.clientNonce + (this.#opts.nonce?.() ?? randomBytes(18).toString('base64'));
    const serverFirst = `r=${nonce},s=${salt.toString('base64')},i=${iterations}`;
    this.#state = { kind: 'final', p: { first, serverFirst, nonce, found, candidates, why } };
    return challenge(serverFirst);
  }

  async #final(p: Pending, text: string): Promise<SaslStep> {
    const parsed = parseClientFinal(text);
    if (!parsed.ok) return failure('malformed', parsed.error);
    const fin = parsed.value;
    // RFC 5802 §5.1: c= is the base64 gs2-header (no channel binding data),
    // r= the whole nonce from server-first.
    if (!fin.channelBinding.equals(Buffer.from(p.first.gs2Header, 'utf8'))) return failure('malformed', 'channel binding mismatch');
    if (fin.nonce !== p.nonce) return failure('malformed', 'nonce mismatch');
    // RFC 5802 §3: AuthMessage = client-first-bare "," server-first "," client-final-without-proof.
    const authMessage = `${p.first.bare},${p.serverFirst},${fin.withoutProof}`;
    let match: ScramCredential | null = null;
    for (const c of p.candidates) {
      // ClientKey = ClientProof XOR HMAC(StoredKey, AuthMessage); H(ClientKey) must be StoredKey.
      const sig = hmac(c.keys.storedKey, authMessage);
      const clientKey = Buffer.alloc(32);
      for (let i = 0; i < 32; i++) clientKey[i] = fin.proof[i]! ^ sig[i]!;
      if (timingSafeEqual(sha256(clientKey), c.keys.storedKey) && match === null) match = c;
    }
    const username = p.first.username;
    if (!p.found || !match) {
      const why = p.found ? 'wrong password' : p.why;
      return guarded(() => this.#opts.settle(username, null, why));
    }
    const user: AuthUser = { ...p.found.user, appPassword: match.appPassword };
    const verdict = await guarded(() => this.#opts.settle(username, user, ''));
    if (verdict.kind !== 'success') return verdict;
    // RFC 5802 §5.1: server-final v = base64(HMAC(ServerKey, AuthMessage)).
    return success(verdict.user, Buffer.from(`v=${hmac(match.keys.serverKey, authMessage).toString('base64')}`));
  }
}
