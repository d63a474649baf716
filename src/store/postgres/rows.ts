// Rows as PostgreSQL returns them (BIGINTs already numbers, see
// connection.ts; booleans as booleans) and their conversion to the Store's
// types. Times are milliseconds since the epoch, flags space-separated, as in
// the SQLite store, so `mailroom migrate` copies values unchanged.

import type {
  Account,
  AppPassword,
  DsnNotify,
  Mailbox,
  QueuedMessage,
  QueueRecipient,
  QueueRecipientState,
  SpecialUse,
  StoredMessage,
} from '../store.ts';

export interface AccountRow {
  id: number;
  domain_id: number;
  address: string;
  password_hash: string;
  scram: string | null;
  quota_bytes: number;
  used_bytes: number;
  created_at: number;
}

export interface MailboxRow {
  id: number;
  account_id: number;
  name: string;
  special_use: string | null;
  subscribed: boolean;
  uid_validity: number;
  uid_next: number;
  highest_modseq: number;
  message_count: number;
}

export interface MessageRow {
  id: number;
  mailbox_id: number;
  uid: number;
  modseq: number;
  flags: string;
  internal_date: number;
  size: number;
  blob_id: string;
}

export interface AppPasswordRow {
  id: number;
  account_id: number;
  name: string;
  password_hash: string;
  scram: string | null;
  created_at: number;
}

export interface QueueMessageRow {
  id: number;
  queue_id: string;
  blob_id: string;
  size: number;
  sender: string;
  envid: string | null;
  ret: string | null;
  smtputf8: boolean;
  eight_bit: boolean;
  created_at: number;
  done_at: number | null;
}

export interface QueueRecipientRow {
  id: number;
  message_id: number;
  address: string;
  domain: string;
  state: string;
  attempts: number;
  next_attempt_at: number;
  last_attempt_at: number | null;
  last_reply: string | null;
  last_status: string | null;
  last_host: string | null;
  notify: string | null;
  orcpt: string | null;
  delay_warned: boolean;
  lease_owner: string | null;
  lease_until: number | null;
}

export function toAccount(r: AccountRow): Account {
  return {
    id: r.id,
    address: r.address,
    passwordHash: r.password_hash,
    scram: r.scram,
    quotaBytes: r.quota_bytes,
    usedBytes: r.used_bytes,
    createdAt: new Date(r.created_at),
  };
}

export function toAppPassword(r: AppPasswordRow): AppPassword {
  return { id: r.id, name: r.name, createdAt: new Date(r.created_at), passwordHash: r.password_hash, scram: r.scram };
}

export function toMailbox(r: MailboxRow): Mailbox {
  return {
    id: r.id,
    accountId: r.account_id,
    name: r.name,
    specialUse: r.special_use as SpecialUse | null,
    subscribed: r.subscribed,
    uidValidity: r.uid_validity,
    uidNext: r.uid_next,
    highestModseq: r.highest_modseq,
    messageCount: r.message_count,
  };
}

export function toMessage(r: MessageRow): StoredMessage {
  return {
    id: r.id,
    mailboxId: r.mailbox_id,
    uid: r.uid,
    modseq: r.modseq,
    flags: r.flags === '' ? [] : r.flags.split(' '),
    internalDate: new Date(r.internal_date),
    size: r.size,
    blobId: r.blob_id,
  };
}

export function toQueueRecipient(r: QueueRecipientRow, queueId: string): QueueRecipient {
  return {
    id: r.id,
    queueId,
    address: r.address,
    domain: r.domain,
    state: r.state as QueueRecipientState,
    attempts: r.attempts,
    nextAttemptAt: new Date(r.next_attempt_at),
    lastAttemptAt: r.last_attempt_at === null ? null : new Date(r.last_attempt_at),
    lastReply: r.last_reply,
    lastStatus: r.last_status,
    lastHost: r.last_host,
    notify: r.notify === null ? null : (r.notify.split(',') as DsnNotify[]),
    orcpt: r.orcpt,
    delayWarned: r.delay_warned,
  };
}

export function toQueuedMessage(m: QueueMessageRow, recipients: QueueRecipientRow[]): QueuedMessage {
  return {
    queueId: m.queue_id,
    blobId: m.blob_id,
    size: m.size,
    sender: m.sender,
    createdAt: new Date(m.created_at),
    envid: m.envid,
    ret: m.ret as QueuedMessage['ret'],
    smtputf8: m.smtputf8,
    eightBit: m.eight_bit,
    recipients: recipients.map((r) => toQueueRecipient(r, m.queue_id)),
  };
}

export const MAILBOX_COLUMNS = `m.id, m.account_id, m.name, m.special_use, m.subscribed, m.uid_validity, m.uid_next,
  m.highest_modseq, (SELECT count(*) FROM messages WHERE mailbox_id = m.id) AS message_count`;
