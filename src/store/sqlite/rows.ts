// Rows as SQLite returns them, and their conversion to the Store's types.
// Times are stored as milliseconds since the epoch, flags space-separated.

import type { Account, Alias, AppPassword, Domain, Mailbox, SpecialUse, StoredMessage } from '../store.ts';

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
