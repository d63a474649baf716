// Mailbox-level commands in the authenticated state (RFC 9051 §6.3):
// CREATE (with RFC 6154 CREATE-SPECIAL-USE), DELETE, RENAME (INBOX rename
// semantics are the store's), SUBSCRIBE, UNSUBSCRIBE, NAMESPACE (RFC 2342),
// STATUS (with RFC 8438 SIZE and RFC 7162 HIGHESTMODSEQ), and QUOTA
// (RFC 9208: one root "" with the account's STORAGE quota).
import { MAILBOX_SEPARATOR } from '../../store/mailbox-store.ts';
import { StoreError, type SpecialUse } from '../../store/store.ts';
import { isInbox } from '../protocol/mailbox-name.ts';
import { ArgError, type Args } from './args.ts';
import { ok, no, bad, type Done } from './commands.ts';
import { mailboxName, utf8Ok } from './format.ts';
import type { ImapSession } from './session.ts';
import { recentClaimed } from './selected.ts';
import { enableCondstore } from './notify.ts';

const SPECIAL_USES: readonly SpecialUse[] = ['\\Sent', '\\Drafts', '\\Junk', '\\Trash', '\\Archive'];

function accountId(s: ImapSession): number {
  return s.user!.accountId;
}

function validName(name: string): void {
  if (name.length === 0) throw new ArgError('Empty mailbox name');
  if (name.length > 1000) throw new ArgError('Mailbox name too long');
  // RFC 9051 §5.1: names are UTF-8 without control characters; "%" and "*" are LIST wildcards.
  if (/[\x00-\x1f\x7f%*]/.test(name)) throw new ArgError('Mailbox name contains a character that is not allowed');
  if (name.startsWith(MAILBOX_SEPARATOR) || name.includes(MAILBOX_SEPARATOR + MAILBOX_SEPARATOR)) throw new ArgError('Mailbox name has an empty level');
}

/** Creates the missing parents of `name` (RFC 9051 §6.3.4: "foo/bar" creates "foo" when needed). */
async function createParents(s: ImapSession, name: string): Promise<void> {
  const parts = name.split(MAILBOX_SEPARATOR);
  for (let i = 1; i < parts.length; i++) {
    const parent = parts.slice(0, i).join(MAILBOX_SEPARATOR);
    if (await s.services.store.getMailbox(accountId(s), parent)) continue;
    try {
      await s.services.store.createMailbox(accountId(s), parent);
      await s.services.store.setSubscribed(accountId(s), parent, false);
    } catch (err) {
      if (!(err instanceof StoreError && err.code === 'exists')) throw err;
    }
  }
}

export async function create(s: ImapSession, _tag: string, a: Args): Promise<Done> {
  const name = a.mailbox(utf8Ok(s));
  let specialUse: SpecialUse | null = null;
  if (!a.done) {
    // RFC 6154 §3 / RFC 4466: CREATE name (USE (\Junk))
    const params = a.list('CREATE parameters');
    for (let i = 0; i < params.length; i += 2) {
      const k = params[i];
      const v = params[i + 1];
      if (k?.type !== 'atom' || k.value.toUpperCase() !== 'USE' || v?.type !== 'list') return bad('CREATE: unknown parameter');
      for (const u of v.items) {
        const su = SPECIAL_USES.find((x) => u.type === 'atom' && x.toLowerCase() === u.value.toLowerCase());
        if (!su) return no('CREATE: unsupported special-use attribute', 'USEATTR');
        if (specialUse) return no('CREATE: only one special-use attribute per mailbox', 'USEATTR');
        specialUse = su;
      }
    }
  }
  a.end();
  validName(name);
  if (isInbox(name)) return no('CREATE: INBOX always exists', 'ALREADYEXISTS');
  await createParents(s, name);
  await s.services.store.createMailbox(accountId(s), name, { specialUse });
  // RFC 9051 §6.3.4: CREATE does not subscribe (the store subscribes new mailboxes by default).
  await s.services.store.setSubscribed(accountId(s), name, false);
  return ok('CREATE completed');
}

export async function del(s: ImapSession, _tag: string, a: Args): Promise<Done> {
  const name = a.mailbox(utf8Ok(s));
  a.end();
  if (isInbox(name)) return no('DELETE: INBOX cannot be deleted', 'CANNOT');
  const mb = await s.services.store.getMailbox(accountId(s), name);
  if (!mb) return no('DELETE: no such mailbox', 'NONEXISTENT');
  await s.services.store.deleteMailbox(accountId(s), name);
  if (s.selected && s.selected.mailboxId === mb.id) {
    // The mailbox this session has open is gone: back to authenticated (RFC 9051 §6.3.5 leaves it open to the server).
    s.selected = null;
    s.state = 'authenticated';
    s.untagged('OK [CLOSED] The selected mailbox was deleted');
  }
  return ok('DELETE completed');
}

export async function rename(s: ImapSession, _tag: string, a: Args): Promise<Done> {
  const from = a.mailbox(utf8Ok(s));
  const to = a.mailbox(utf8Ok(s));
  a.end();
  validName(to);
  if (isInbox(to)) return no('RENAME: the new name cannot be INBOX', 'ALREADYEXISTS');
  if (!(await s.services.store.getMailbox(accountId(s), from))) return no('RENAME: no such mailbox', 'NONEXISTENT');
  if (await s.services.store.getMailbox(accountId(s), to)) return no('RENAME: a mailbox with the new name exists', 'ALREADYEXISTS');
  if (to.startsWith(from + MAILBOX_SEPARATOR)) return no('RENAME: a mailbox cannot move under itself', 'CANNOT');
  await createParents(s, to);
  await s.services.store.renameMailbox(accountId(s), from, to);
  return ok('RENAME completed');
}

async function setSub(s: ImapSession, a: Args, on: boolean): Promise<Done> {
  const name = a.mailbox(utf8Ok(s));
  a.end();
  const cmd = on ? 'SUBSCRIBE' : 'UNSUBSCRIBE';
  if (!(await s.services.store.getMailbox(accountId(s), name))) {
    if (on) return no(`${cmd}: no such mailbox`, 'NONEXISTENT');
    return ok(`${cmd} completed`);
  }
  await s.services.store.setSubscribed(accountId(s), name, on);
  return ok(`${cmd} completed`);
}

export const subscribe = (s: ImapSession, _t: string, a: Args) => setSub(s, a, true);
export const unsubscribe = (s: ImapSession, _t: string, a: Args) => setSub(s, a, false);

/** RFC 2342: one personal namespace, no prefix, "/" as separator. */
export function namespace(s: ImapSession, _tag: string, a: Args): Done {
  a.end();
  s.untagged(`NAMESPACE (("" "${MAILBOX_SEPARATOR}")) NIL NIL`);
  return ok('NAMESPACE completed');
}

export const STATUS_ITEMS = ['MESSAGES', 'UIDNEXT', 'UIDVALIDITY', 'UNSEEN', 'DELETED', 'SIZE', 'HIGHESTMODSEQ', 'RECENT', 'APPENDLIMIT'] as const;

/** The STATUS response data for a mailbox id (shared with LIST-STATUS). */
export async function statusData(s: ImapSession, mailboxId: number, items: readonly string[]): Promise<string> {
  const st = await s.services.store.mailboxStatus(mailboxId);
  const out: string[] = [];
  for (const it of items) {
    switch (it) {
      case 'MESSAGES':
        out.push(`MESSAGES ${st.messages}`);
        break;
      case 'UIDNEXT':
        out.push(`UIDNEXT ${st.uidNext}`);
        break;
      case 'UIDVALIDITY':
        out.push(`UIDVALIDITY ${st.uidValidity}`);
        break;
      case 'UNSEEN':
        out.push(`UNSEEN ${st.unseen}`);
        break;
      case 'DELETED':
        out.push(`DELETED ${st.deleted}`);
        break;
      case 'SIZE':
        out.push(`SIZE ${st.size}`);
        break;
      case 'HIGHESTMODSEQ':
        out.push(`HIGHESTMODSEQ ${st.highestModseq}`);
        break;
      case 'RECENT': {
        // RFC 3501 §2.3.2: messages no session has seen yet.
        const claimed = recentClaimed(s.services.store, mailboxId);
        const all = claimed >= st.uidNext - 1 ? [] : await s.services.store.listMessages(mailboxId);
        out.push(`RECENT ${all.filter((m) => m.uid > claimed).length}`);
        break;
      }
      case 'APPENDLIMIT':
        out.push(`APPENDLIMIT ${s.config.imap.max_literal}`);
        break;
    }
  }
  return `(${out.join(' ')})`;
}

export function parseStatusItems(items: { type: string; value?: unknown }[]): string[] {
  const out: string[] = [];
  for (const t of items) {
    const v = t.type === 'atom' && typeof t.value === 'string' ? t.value.toUpperCase() : '';
    if (!(STATUS_ITEMS as readonly string[]).includes(v)) throw new ArgError(`Unknown STATUS item ${String(t.value ?? t.type).slice(0, 30)}`);
    out.push(v);
  }
  return out;
}

export async function status(s: ImapSession, _tag: string, a: Args): Promise<Done> {
  const name = a.mailbox(utf8Ok(s));
  const items = parseStatusItems(a.list('status items'));
  a.end();
  if (items.length === 0) return bad('STATUS: no items asked for');
  const mb = await s.services.store.getMailbox(accountId(s), name);
  if (!mb) return no('STATUS: no such mailbox', 'NONEXISTENT');
  if (items.includes('HIGHESTMODSEQ')) enableCondstore(s); // RFC 7162 §3.1: a CONDSTORE-enabling command
  s.untagged(`STATUS ${mailboxName(s, mb.name)} ${await statusData(s, mb.id, items)}`);
  return ok('STATUS completed');
}

/** RFC 9208 §5.1: usage and limit in units of 1024 octets. */
async function quotaLine(s: ImapSession): Promise<string | null> {
  const acc = await s.services.store.getAccountById(accountId(s));
  if (!acc || acc.quotaBytes <= 0) return null;
  return `QUOTA "" (STORAGE ${Math.ceil(acc.usedBytes / 1024)} ${Math.floor(acc.quotaBytes / 1024)})`;
}

export async function getquotaroot(s: ImapSession, _tag: string, a: Args): Promise<Done> {
  const name = a.mailbox(utf8Ok(s));
  a.end();
  const mb = await s.services.store.getMailbox(accountId(s), name);
  if (!mb) return no('GETQUOTAROOT: no such mailbox', 'NONEXISTENT');
  const q = await quotaLine(s);
  s.untagged(`QUOTAROOT ${mailboxName(s, mb.name)}${q ? ' ""' : ''}`);
  if (q) s.untagged(q);
  return ok('GETQUOTAROOT completed');
}

export async function getquota(s: ImapSession, _tag: string, a: Args): Promise<Done> {
  const root = a.astring('quota root');
  a.end();
  const q = root === '' ? await quotaLine(s) : null;
  if (!q) return no('GETQUOTA: no such quota root', 'NONEXISTENT');
  s.untagged(q);
  return ok('GETQUOTA completed');
}

/** RFC 9208 §4.3: quotas are set by the administrator (`mailroom user quota`). */
export function setquota(_s: ImapSession, _tag: string, _a: Args): Done {
  return no('SETQUOTA: quotas are set by the administrator', 'NOPERM');
}
