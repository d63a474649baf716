// Rows as SQLite returns them, and their conversion to the Store's types.
// Times are stored as milliseconds since the epoch, flags space-separated.

import type {
  Account,
  Alias,
  AppPassword,
  Domain,
  DsnNotify,
  Mailbox,
  QueuedMessage,
  QueueRecipient,
  QueueRecipientState,
  SpecialUse,
  StoredMessage,
} from '../store.ts';

// Integers come back as numbers: every value here stays far below 2^53.
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
  subscribed: number;
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

export function toDomain(r: { name: string; created_at: number }): Domain {
  return { name: r.name, createdAt: new Date(r.created_at) };
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

export interface AppPasswordRow {
  id: number;
  account_id: number;
  name: string;
  password_hash: string;
  scram: string | null;
  created_at: number;
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
    subscribed: r.subscribed !== 0,
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

/** RFC 9051 §5.1: INBOX is case-insensitive; other names are exact. */
export function mailboxName(name: string): string {
  return name.toUpperCase() === 'INBOX' ? 'INBOX' : name;
}

export function groupAliases(rows: Array<{ source: string; target: string }>): Alias[] {
  const out: Alias[] = [];
  for (const r of rows) {
    const last = out[out.length - 1];
    if (last && last.source === r.source) last.targets.push(r.target);
    else out.push({ source: r.source, targets: [r.target] });
  }
  return out;
}

// The outbound queue (migration 3).

export interface QueueMessageRow {
  id: number;
  queue_id: string;
  blob_id: string;
  size: number;
  sender: string;
  envid: string | null;
  ret: string | null;
  smtputf8: number;
  eight_bit: number;
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
  delay_warned: number;
  lease_owner: string | null;
  lease_until: number | null;
}

/** NOTIFY values are stored comma-separated in canonical order, NULL when absent. */
export function notifyColumn(n: DsnNotify[] | null): string | null {
  return n === null ? null : n.join(',');
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
    delayWarned: r.delay_warned !== 0,
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
    smtputf8: m.smtputf8 !== 0,
    eightBit: m.eight_bit !== 0,
    recipients: recipients.map((r) => toQueueRecipient(r, m.queue_id)),
  };
}
