// What protocol sessions (SMTP AUTH, IMAP AUTHENTICATE/LOGIN, POP3 AUTH/USER)
// need from authentication: a SASL exchange that ends with the account it
// proved, or a failure reason. Protocol sessions encode challenges for their
// own wire format (SMTP `334 base64`, IMAP `+ base64`); this layer works on
// decoded bytes. Brute-force throttling is inside the Authenticator, so every
// protocol shares the same counters.

export interface AuthUser {
  accountId: number;
  /** The account's canonical address. */
  address: string;
  /** Set when an app password (not the main password) was used. */
  appPassword: string | null;
}

export type SaslStep =
  /** Send this challenge (may be empty) and call step() with the client's answer. */
  | { kind: 'challenge'; data: Buffer }
  /** Authenticated. `data` is a final server message some mechanisms send (SCRAM server-final). */
  | { kind: 'success'; user: AuthUser; data: Buffer | null }
  /** `bad_credentials` → 535 5.7.8 / NO [AUTHENTICATIONFAILED]; `malformed` → 501 5.5.2 / BAD;
   * `aborted` (client sent "*") → 501 5.0.0; `throttled` → 421 4.7.0 and close;
   * `temporary` (store down) → 454 4.7.0. */
  | { kind: 'failure'; reason: 'bad_credentials' | 'malformed' | 'aborted' | 'throttled' | 'temporary'; message: string };

export interface SaslExchange {
  /** First call: the initial response if the client sent one (SASL-IR / RFC 4954 §4), else null.
   * Later calls: the client's decoded answer to the last challenge. A client "*" is passed as null with aborted=true. */
  step(response: Buffer | null, aborted?: boolean): Promise<SaslStep>;
}

export interface Authenticator {
  /** Mechanisms to advertise, e.g. ['PLAIN', 'LOGIN', 'SCRAM-SHA-256']. */
  mechanisms(): string[];
  /** null when the mechanism is not supported (→ 504 5.5.4). */
  start(mechanism: string, ctx: AuthContext): SaslExchange | null;
  /** Plain username/password (IMAP LOGIN, POP3 USER/PASS): same checks and throttling as SASL. */
  verifyPlain(username: string, password: string, ctx: AuthContext): Promise<SaslStep & { kind: 'success' | 'failure' }>;
  /** True while this client IP is in its cool-down (the session may refuse AUTH up front). */
  isBlocked(ctx: AuthContext): boolean;
}

export interface AuthContext {
  clientIp: string;
  /** 'smtp' | 'submission' | 'imap' | 'pop3' …, for the log. */
  protocol: string;
  sessionId: string;
}

/** May this authenticated user use `from` (canonical address, or null for `<>`) as the envelope sender? */
export interface SenderPolicy {
  canSendAs(user: AuthUser, from: string | null): Promise<boolean>;
}
