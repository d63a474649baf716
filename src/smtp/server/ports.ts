// What an SMTP server session needs from the rest of the program, as small
// interfaces (DESIGN: a session does not import the queue or the store). The
// composition root (server/) wires real implementations; tests may pass fakes.
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { AuthUser, Authenticator, SenderPolicy } from '../../auth/types.ts';
import type { MailAddress } from '../protocol/address.ts';
import type { DsnNotify, DsnRet } from '../protocol/dsn-params.ts';
import type { Reply } from '../protocol/reply.ts';
import type { PolicyPipeline } from '../../policy/pipeline.ts';

/** Facts about the connection and transaction a decision may depend on. */
export interface SessionInfo {
  sessionId: string;
  clientIp: string;
  helo: string | null;
}

export interface TransactionInfo extends SessionInfo {
  /** The authenticated user, if the client logged in (submission). */
  user: AuthUser | null;
  /** May this transaction address other domains (authenticated, or a trusted network)? */
  relayAllowed: boolean;
  /** null for the null sender `<>`. */
  from: MailAddress | null;
  /** SIZE= declared with MAIL FROM, if any. */
  declaredSize: number | null;
}

/** The answer to one RCPT TO: accept (with an opaque routing target the
 * backend hands back to itself at delivery) or refuse with a reply. */
export type RecipientDecision =
  | { accept: true; target: unknown }
  | { accept: false; reply: Reply };

export interface AcceptedRecipient {
  address: MailAddress;
  target: unknown;
  /** RFC 3461 §4.1 NOTIFY (canonical order), or null when not given. */
  notify: DsnNotify[] | null;
  /** RFC 3461 §4.2 ORCPT as received (`addr-type;xtext`), or null. */
  orcpt: string | null;
  /** Mailbox for local copies chosen by a policy hook (e.g. 'Junk'); absent = INBOX. */
  mailbox?: string;
}

export interface IncomingMessage extends TransactionInfo {
  /** Short id for logs and the `queued as` reply. */
  queueId: string;
  recipients: AcceptedRecipient[];
  /** SMTPUTF8 was given with MAIL (RFC 6531): the message may need it onward. */
  smtputf8: boolean;
  /** BODY=8BITMIME was given (RFC 6152); the client also detects 8-bit bytes itself. */
  eightBit: boolean;
  /** RFC 3461 §4.3 RET, or null. */
  ret: DsnRet | null;
  /** RFC 3461 §4.4 ENVID as received (xtext), or null. */
  envid: string | null;
  /** The `Received:` line(s) to prepend, CRLF-terminated. */
  traceHeader: string;
  /** Message content as received (CRLF lines), in pieces. */
  content: Buffer[];
  size: number;
  receivedAt: Date;
}

export interface SmtpBackend {
  checkRecipient(address: MailAddress, tx: TransactionInfo): Promise<RecipientDecision>;
  /** Stores the message durably and only then resolves with the reply to send
   * (250, or the 4xx/5xx that explains why it was not taken). Must not throw
   * for ordinary failures; a throw is answered `451 4.3.0`. */
  accept(msg: IncomingMessage): Promise<Reply>;
}

/** The negotiated TLS parameters, for the Received header (RFC 3848). */
export interface TlsInfo {
  version: string;
  cipher: string;
  bits: number;
}

/** Server-side TLS for STARTTLS (RFC 3207). */
export interface StartTls {
  /** Wraps the plaintext socket and resolves after the handshake. The caller
   * has already stopped reading it and dropped any buffered plaintext. */
  upgrade(socket: Socket): Promise<TLSSocket>;
  describe(socket: TLSSocket): TlsInfo;
}

/** The listener's role decides what a session offers and requires. */
export type SmtpRole = 'smtp' | 'submission' | 'submissions';

/** Everything a session is handed besides its socket and config. */
export interface SessionServices {
  backend: SmtpBackend;
  /** null: no certificate available, STARTTLS is not offered. */
  tls: StartTls | null;
  /** null: AUTH is not offered. */
  auth: Authenticator | null;
  senderPolicy: SenderPolicy | null;
  /** Configured networks that may relay without authenticating. */
  isTrustedNetwork(ip: string): boolean;
  /** Ordered policy hooks (src/policy/); absent or null = none. */
  policy?: PolicyPipeline | null;
}
