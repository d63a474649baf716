// What a POP3 session needs from the rest of the program, as small
// interfaces (DESIGN: a protocol session does not import another protocol or
// the queue). The composition root (server/) wires the real ones: the Store's
// maildrop operations, the shared Authenticator (brute-force counters shared
// with SMTP and IMAP), STLS (RFC 2595), and the maildrop lock (RFC 1939 §8:
// one session per maildrop at a time).
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { Authenticator } from '../../auth/types.ts';
import type { Store } from '../../store/store.ts';

export type Pop3Role = 'pop3' | 'pop3s';

/** The store operations a POP3 session uses: the INBOX snapshot, the bytes,
 * and the expunge of the UPDATE state (durable before "+OK"). */
export type Pop3Store = Pick<Store, 'getMailbox' | 'listMessages' | 'readBlob' | 'expunge'>;

/** Exclusive access to a maildrop for one POP3 session (RFC 1939 §8, RFC
 * 2449 §8.1.1 [IN-USE]). The in-process implementation is enough for one
 * node; a shared database can put a cluster-wide one behind the same shape. */
export interface MaildropLocks {
  /** True if `owner` now holds the lock on the mailbox; false if another does. */
  acquire(mailboxId: number, owner: string): Promise<boolean>;
  /** Releases the lock if `owner` holds it. */
  release(mailboxId: number, owner: string): Promise<void>;
}

/** Server-side TLS for STLS. */
export interface Pop3StartTls {
  /** Wraps the plaintext socket; the caller has stopped reading it (CVE-2011-0411). */
  upgrade(socket: Socket): Promise<TLSSocket>;
}

export interface Pop3Services {
  store: Pop3Store;
  /** null: no login is possible. */
  auth: Authenticator | null;
  /** null: no certificate, STLS is not offered. */
  tls: Pop3StartTls | null;
  locks: MaildropLocks;
}
