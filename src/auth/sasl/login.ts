// The LOGIN mechanism: not an RFC, the de-facto scheme many clients still
// use (draft-murchison-sasl-login): the server challenges "Username:", then
// "Password:", and the client answers each. An initial response, if sent, is
// the username. The protocol layer base64-encodes the challenges.

import type { SaslStep } from '../types.ts';
import { ABORTED, FINISHED, challenge, failure, guarded, utf8Text, type SaslMechanism, type VerifyPassword } from './mechanism.ts';

export const USERNAME_CHALLENGE = 'Username:';
export const PASSWORD_CHALLENGE = 'Password:';

export class LoginMechanism implements SaslMechanism {
  readonly name = 'LOGIN';
  readonly #verify: VerifyPassword;
  #state: 'start' | 'username' | 'password' | 'done' = 'start';
  #username: string | null = null;

  constructor(opts: { verify: VerifyPassword }) {
    this.#verify = opts.verify;
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
    if (this.#state === 'start' && response === null) {
      this.#state = 'username';
      return challenge(USERNAME_CHALLENGE);
    }
    if (response === null) {
      this.#state = 'done';
      return failure('malformed', 'expected a LOGIN response');
    }
    if (this.#state === 'start' || this.#state === 'username') {
      const name = utf8Text(response);
      if (name === null || name === '') {
        this.#state = 'done';
        return failure('malformed', 'malformed LOGIN username');
      }
      this.#username = name;
      this.#state = 'password';
      return challenge(PASSWORD_CHALLENGE);
    }
    this.#state = 'done';
    const password = utf8Text(response);
    if (password === null || password === '') return failure('malformed', 'malformed LOGIN password');
    const username = this.#username!;
    return guarded(() => this.#verify(username, password));
  }
}
