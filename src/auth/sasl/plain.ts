// SASL PLAIN (RFC 4616): one message `[authzid] NUL authcid NUL passwd` in
// UTF-8, sent as the initial response or after an empty challenge. We do not
// let one user act for another: a non-empty authzid must name the same
// account as authcid (compared by `sameIdentity`, canonical forms by default
// exact), else the exchange fails.

import type { SaslStep } from '../types.ts';
import {
  ABORTED,
  FINISHED,
  MAX_FIELD_BYTES,
  challenge,
  failure,
  guarded,
  utf8Text,
  type SaslMechanism,
  type VerifyPassword,
} from './mechanism.ts';

export interface PlainMessage {
  authzid: string;
  authcid: string;
  password: string;
}

/** RFC 4616 §2: message = [authzid] UTF8NUL authcid UTF8NUL passwd, with
 * authcid and passwd 1*SAFE (no NUL). Returns null if malformed. */
export function parsePlain(msg: Buffer): PlainMessage | null {
  if (msg.length > 3 * MAX_FIELD_BYTES + 2) return null;
  const first = msg.indexOf(0);
  const second = first < 0 ? -1 : msg.indexOf(0, first + 1);
  if (second < 0 || msg.indexOf(0, second + 1) >= 0) return null;
  const authzid = utf8Text(msg.subarray(0, first));
  const authcid = utf8Text(msg.subarray(first + 1, second));
  const password = utf8Text(msg.subarray(second + 1));
  if (authzid === null || authcid === null || password === null) return null;
  if (authcid === '' || password === '') return null;
  return { authzid, authcid, password };
}

export interface PlainOptions {
  verify: VerifyPassword;
  /** Do authzid and authcid name the same identity? Default: equal strings. */
  sameIdentity?: (authzid: string, authcid: string) => boolean;
}

export class PlainMechanism implements SaslMechanism {
  readonly name = 'PLAIN';
  readonly #opts: PlainOptions;
  #state: 'start' | 'waiting' | 'done' = 'start';
  #username: string | null = null;

  constructor(opts: PlainOptions) {
    this.#opts = opts;
  }

  get username(): string | null {
    return this.#username;
  }

  async step(response: Buffer | null, aborted = false): Promise<SaslStep> {
    if (this.#state === 'done') return FINISHED;
    if (aborted) {
      this.#state = 'done';
      return ABORTED;
    }
    if (response === null) {
      if (this.#state === 'start') {
        // RFC 4616 §2: no initial response → an empty challenge.
        this.#state = 'waiting';
        return challenge(Buffer.alloc(0));
      }
      this.#state = 'done';
      return failure('malformed', 'expected a PLAIN response');
    }
    this.#state = 'done';
    const m = parsePlain(response);
    if (m === null) return failure('malformed', 'malformed PLAIN response');
    this.#username = m.authcid;
    const same = this.#opts.sameIdentity ?? ((a, b) => a === b);
    if (m.authzid !== '' && !same(m.authzid, m.authcid)) {
      // RFC 4616 §2: the server may refuse an authzid the authcid may not act as.
      return failure('bad_credentials', 'authorization identity not permitted');
    }
    return guarded(() => this.#opts.verify(m.authcid, m.password));
  }
}
