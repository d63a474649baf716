// The outbound client's failures as one typed error, so the queue can map
// each to a deferral or a bounce without reading messages: `connect` (refused,
// unreachable), `timeout` (any deadline), `tls` (STARTTLS refused when it was
// required, or a failed handshake), `protocol` (the server broke the reply
// grammar or sent data out of turn), `closed` (the connection went away),
// `reply` (a negative reply where the session cannot go on: greeting, EHLO and
// HELO, RSET, AUTH). `phase` says where it happened, for the delivery log line.

import type { Reply } from '../protocol/reply.ts';

export type SmtpClientErrorKind = 'connect' | 'timeout' | 'tls' | 'protocol' | 'closed' | 'reply';

export type SmtpClientPhase = 'connect' | 'greeting' | 'ehlo' | 'helo' | 'starttls' | 'tls-handshake' | 'mail' | 'rcpt' | 'data' | 'bdat' | 'rset' | 'quit' | 'auth';

export class SmtpClientError extends Error {
  override readonly name = 'SmtpClientError';
  readonly kind: SmtpClientErrorKind;
  readonly phase: SmtpClientPhase;
  /** The server's reply, for kind 'reply' (and 'tls' when STARTTLS was refused). */
  readonly reply: Reply | null;
  /** The system error code (ECONNREFUSED, …) when there was one. */
  readonly code: string | undefined;

  constructor(kind: SmtpClientErrorKind, phase: SmtpClientPhase, message: string, extra: { reply?: Reply | null; code?: string; cause?: unknown } = {}) {
    super(message, extra.cause === undefined ? undefined : { cause: extra.cause });
    this.kind = kind;
    this.phase = phase;
    this.reply = extra.reply ?? null;
    this.code = extra.code;
  }
}

/** A reply on one line for messages and logs: "550 5.1.1 No such user". */
export function replyText(r: Reply): string {
  return `${r.code}${r.enhanced ? ' ' + r.enhanced : ''} ${r.lines.join(' / ')}`.trimEnd();
}
