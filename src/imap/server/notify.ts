// Telling a session about changes other sessions (or SMTP delivery) made to
// its selected mailbox (RFC 9051 §5.2, §7.5.1; RFC 7162 §3.2.10 VANISHED).
// The store announces a change (store.watch → SelectedMailbox.dirty); at the
// next allowed moment the session asks the store what changed since the
// mod-sequence it last saw (changesSince) and sends EXISTS for new messages,
// FETCH (FLAGS) for flag changes, and EXPUNGE (or VANISHED with QRESYNC) —
// the last only when the command allows it: never during FETCH, STORE or
// SEARCH by sequence number, because the client's sequence numbers would
// shift under it (RFC 9051 §7.5.1).
import type { ImapSession } from './session.ts';
import { compressUids, flagList, sessionFlags } from './format.ts';

export async function syncSelected(s: ImapSession, opts: { expunge: boolean }): Promise<void> {
  const sel = s.selected;
  if (!sel) return;
  if (sel.dirty) {
    sel.dirty = false;
    const ch = await s.services.store.changesSince(sel.mailboxId, sel.modseq);
    if (s.selected !== sel) return;
    if (ch.highestModseq > sel.modseq) sel.modseq = ch.highestModseq;
    for (const uid of ch.expunged) if (sel.seqOf(uid) > 0) sel.pendingExpunge.add(uid);
    const maxUid = sel.maxUid;
    const added: number[] = [];
    const condstore = s.enabled.has('CONDSTORE');
    for (const m of ch.changed) {
      if (m.uid > maxUid) {
        added.push(m.uid);
        continue;
      }
      if (sel.pendingExpunge.has(m.uid)) continue;
      const seq = sel.seqOf(m.uid);
      if (seq === 0) continue;
      const mine = sel.reported.get(m.uid);
      if (mine !== undefined && mine >= m.modseq) continue;
      s.untagged(`${seq} FETCH (UID ${m.uid} FLAGS ${flagList(sessionFlags(s, m.uid, m.flags))}${condstore ? ` MODSEQ (${m.modseq})` : ''})`);
    }
    sel.reported.clear();
    if (added.length > 0) {
      added.sort((a, b) => a - b);
      for (const u of added) if (u > sel.maxUid) sel.uids.push(u);
      s.untagged(`${sel.exists} EXISTS`);
      if (!s.enabled.has('IMAP4rev2')) {
        // RFC 3501 §7.3.2: RECENT follows EXISTS for rev1 clients.
        sel.noteRecent(sel.maxUid);
        s.untagged(`${sel.recentCount} RECENT`);
      }
    }
  }
  if (opts.expunge && sel.pendingExpunge.size > 0) sendExpunged(s, [...sel.pendingExpunge]);
}

/** RFC 7162 §3.1: the first CONDSTORE-enabling command (FETCH MODSEQ, a MODSEQ
 * search key, UNCHANGEDSINCE …) turns CONDSTORE on and reports HIGHESTMODSEQ. */
export function enableCondstore(s: ImapSession): void {
  if (s.enabled.has('CONDSTORE')) return;
  s.enabled.add('CONDSTORE');
  if (s.selected) s.untagged(`OK [HIGHESTMODSEQ ${s.selected.modseq}] Highest`);
}

/** Announces expunged UIDs (they must be in the map) and drops them from it. */
export function sendExpunged(s: ImapSession, uids: number[]): void {
  const sel = s.selected;
  if (!sel || uids.length === 0) return;
  if (s.enabled.has('QRESYNC')) {
    // RFC 7162 §3.2.10: VANISHED replaces EXPUNGE once QRESYNC is enabled.
    const present = uids.filter((u) => sel.seqOf(u) > 0).sort((a, b) => a - b);
    sel.removeUids(present);
    if (present.length > 0) s.untagged(`VANISHED ${compressUids(present)}`);
    return;
  }
  for (const seq of sel.removeUids(uids)) s.untagged(`${seq} EXPUNGE`);
}
