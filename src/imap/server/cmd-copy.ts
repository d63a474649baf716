// COPY and MOVE, and their UID forms (RFC 9051 §6.4.7, RFC 6851 MOVE,
// RFC 4315 COPYUID). A missing destination is NO [TRYCREATE]; a COPY that
// would take the account over its quota is NO [OVERQUOTA] (a MOVE within the
// account changes no usage). OK only after the store committed; then the
// mailbox-event hook (junk training) hears about it.
import type { Mailbox } from '../../store/store.ts';
import type { Args } from './args.ts';
import { ok, no, type Done } from './commands.ts';
import { compressUids, utf8Ok } from './format.ts';
import { loadMessages, resolveSet } from './messages.ts';
import { sendExpunged } from './notify.ts';
import type { ImapSession } from './session.ts';

export const copy = (s: ImapSession, _tag: string, a: Args, uid: boolean) => transfer(s, a, uid, false);
export const move = (s: ImapSession, _tag: string, a: Args, uid: boolean) => transfer(s, a, uid, true);

async function transfer(s: ImapSession, a: Args, uid: boolean, isMove: boolean): Promise<Done> {
  const cmd = isMove ? 'MOVE' : 'COPY';
  const sel = s.selected!;
  const set = a.sequenceSet();
  const name = a.mailbox(utf8Ok(s));
  a.end();
  if (isMove && sel.readOnly) return no('MOVE: the mailbox is read-only', 'READ-ONLY');
  const store = s.services.store;
  const accountId = s.user!.accountId;
  const dest = await store.getMailbox(accountId, name);
  if (!dest) return no(`${cmd}: no such mailbox`, 'TRYCREATE');
  const uids = resolveSet(s, set, uid);
  if (uids.length === 0) return ok(`${cmd} completed`);
  const msgs = await loadMessages(s, uids);
  if (msgs.length === 0) return no(`${cmd}: the messages were expunged`, 'EXPUNGEISSUED');
  if (!isMove || dest.id === sel.mailboxId) {
    const acc = await store.getAccountById(accountId);
    const adding = msgs.reduce((n, m) => n + m.size, 0);
    if (acc && acc.quotaBytes > 0 && acc.usedBytes + adding > acc.quotaBytes) return no(`${cmd}: over quota`, 'OVERQUOTA');
  }
  const present = msgs.map((m) => m.uid);
  let r;
  if (isMove && dest.id === sel.mailboxId) {
    // MOVE into the selected mailbox itself (allowed by RFC 6851, as Dovecot does):
    // new copies with new UIDs, then the originals go. Not one transaction, but a
    // crash in between leaves both, never neither.
    r = await store.copyMessages(sel.mailboxId, present, dest.id);
    await store.expunge(sel.mailboxId, { uids: present, onlyDeleted: false });
  } else {
    r = isMove ? await store.moveMessages(sel.mailboxId, present, dest.id) : await store.copyMessages(sel.mailboxId, present, dest.id);
  }
  if (dest.id === sel.mailboxId) sel.dirty = true; // the new copies are announced before the OK
  const code = r.mapping.length > 0 ? `COPYUID ${r.uidValidity} ${compressUids(r.mapping.map((x) => x.sourceUid))} ${compressUids(r.mapping.map((x) => x.destUid))}` : undefined;
  const src = await store.getMailbox(accountId, sel.name);
  notify(s, src, dest, msgs.map((m) => m.blobId), isMove ? 'move' : 'copy');
  if (isMove) {
    // RFC 6851 §4.3: COPYUID goes in an untagged OK before the expunges.
    if (code) s.untagged(`OK [${code}] Moved`);
    sendExpunged(s, r.mapping.map((x) => x.sourceUid));
    return ok('MOVE completed');
  }
  return ok('COPY completed', code);
}

function notify(s: ImapSession, from: Mailbox | null, to: Mailbox, blobIds: string[], kind: 'copy' | 'move'): void {
  try {
    s.services.events.onMessagesMoved({
      accountId: s.user!.accountId,
      from: from ? { name: from.name, specialUse: from.specialUse } : null,
      to: { name: to.name, specialUse: to.specialUse },
      blobIds,
      kind,
    });
  } catch (err) {
    s.log.warn('mailbox event hook failed', { error: err });
  }
}
