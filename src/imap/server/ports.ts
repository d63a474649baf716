// What an IMAP session needs from the rest of the program, as small
// interfaces (DESIGN: a protocol session does not import the queue, the
// router or another protocol). The composition root (server/) wires the
// real implementations: the Store, the shared Authenticator (so brute-force
// counters are shared with SMTP and POP3), STARTTLS, and the mailbox-event
// hook the spam engine uses for training.
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { Authenticator } from '../../auth/types.ts';
import type { SpecialUse, Store } from '../../store/store.ts';

/** Server-side TLS for STARTTLS (RFC 9051 §6.2.1). */
export interface ImapStartTls {
  /** Wraps the plaintext socket; the caller has stopped reading it (CVE-2011-0411). */
  upgrade(socket: Socket): Promise<TLSSocket>;
}

/** A mailbox named in a MailboxEvents call. */
export interface MailboxRef {
  name: string;
  specialUse: SpecialUse | null;
}

/** Events a session reports after they are durable, e.g. for junk training:
 * a message moved into Junk is spam, one moved out of Junk is not. */
export interface MailboxEvents {
  /** After a successful COPY or MOVE, and after APPEND (then `from` is null). */
  onMessagesMoved(e: { accountId: number; from: MailboxRef | null; to: MailboxRef; blobIds: string[]; kind: 'copy' | 'move' | 'append' }): void;
}

export const NO_MAILBOX_EVENTS: MailboxEvents = { onMessagesMoved: () => {} };

/** Computes the stored MIME summary (`meta`) of a message when the blob has
 * none yet (messages stored before summaries existed, or APPEND). */
export type Summarize = (content: Buffer) => string;

export interface ImapServices {
  store: Store;
  /** null: no login is possible (every LOGIN/AUTHENTICATE gets NO). */
  auth: Authenticator | null;
  /** null: no certificate, STARTTLS is not offered. */
  tls: ImapStartTls | null;
  events: MailboxEvents;
}
