// What an SMTP server session needs from the rest of the program, as small
// interfaces (DESIGN: a session does not import the queue or the store). The
// composition root (server/) wires real implementations; tests may pass fakes.
import type { MailAddress } from '../protocol/address.ts';
import type { Reply } from '../protocol/reply.ts';

/** Facts about the connection and transaction a decision may depend on. */
export interface SessionInfo {
  sessionId: string;
  clientIp: string;
  helo: string | null;
}

export interface TransactionInfo extends SessionInfo {
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
}

export interface IncomingMessage extends TransactionInfo {
  /** Short id for logs and the `queued as` reply. */
  queueId: string;
  recipients: AcceptedRecipient[];
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
