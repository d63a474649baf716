// Selecting and leaving a mailbox and the commands of the selected state that
// do not address messages: SELECT and EXAMINE (RFC 9051 §6.3.2-3, with
// RFC 7162 CONDSTORE and QRESYNC parameters), CLOSE, UNSELECT (RFC 3691),
// CHECK, EXPUNGE and UID EXPUNGE (RFC 4315), and IDLE (RFC 2177), during
// which changes are pushed as they become durable.
import type { Args } from './args.ts';
import { ArgError } from './args.ts';
import { ok, no, bad, type Done } from './commands.ts';
import { compressUids, flagList, mailboxName, sessionFlags, utf8Ok } from './format.ts';
import { sendExpunged, syncSelected } from './notify.ts';
import { SelectedMailbox } from './selected.ts';
import type { ImapSession } from './session.ts';
import { resolveSet } from './messages.ts';
import { parseSequenceSet, expand } from '../protocol/sequence-set.ts';

const SYSTEM_FLAGS = ['\\Answered', '\\Flagged', '\\Deleted', '\\Seen', '\\Draft'];

export const select = (s: ImapSession, tag: string, a: Args) => open(s, tag, a, false);
export const examine = (s: ImapSession, tag: string, a: Args) => open(s, tag, a, true);

async function open(s: ImapSession, _tag: string, a: Args, readOnly: boolean): Promise<Done> {
  const cmd = readOnly ? 'EXAMINE' : 'SELECT';
  const name = a.mailbox(utf8Ok(s));
  let qresync: { uidValidity: number; modseq: number; known: string | null } | null = null;
  if (!a.done) {
    const params = a.list('select parameters');
    for (let i = 0; i < params.length; i++) {
      const p = params[i]!;
      const v = p.type === 'atom' ? p.value.toUpperCase() : '';
      if (v === 'CONDSTORE') s.enabled.add('CONDSTORE');
      else if (v === 'QRESYNC') {
        // RFC 7162 §3.2.5: (QRESYNC (uidvalidity mod-sequence [known-uids [seq-match-data]]))
        if (!s.enabled.has('QRESYNC')) return bad(`${cmd}: QRESYNC must be enabled first`);
        const q = params[++i];
        if (q?.type !== 'list' || q.items[0]?.type !== 'number' || q.items[1]?.type !== 'number') throw new ArgError('Malformed QRESYNC parameter');
        const k = q.items[2];
        qresync = { uidValidity: q.items[0].value, modseq: q.items[1].value, known: k && (k.type === 'atom' || k.type === 'number') ? String(k.value) : null };
      } else throw new ArgError(`Unknown ${cmd} parameter`);
    }
  }
  a.end();
  if (s.selected) {
    // RFC 7162 §3.2.11 / RFC 9051 §7.1: the previous mailbox is closed (without expunging).
    s.selected = null;
    s.state = 'authenticated';
    s.untagged('OK [CLOSED] Previous mailbox closed');
  }
  const store = s.services.store;
  const mb = await store.getMailbox(s.user!.accountId, name);
  if (!mb) return no(`${cmd}: no such mailbox`, 'NONEXISTENT');
  const msgs = await store.listMessages(mb.id);
  const uids = msgs.map((m) => m.uid);
  const maxUid = uids.length > 0 ? uids[uids.length - 1]! : 0;
  let modseq = mb.highestModseq;
  for (const m of msgs) if (m.modseq > modseq) modseq = m.modseq;
  const sel = new SelectedMailbox({ mailboxId: mb.id, name: mb.name, readOnly, uidValidity: mb.uidValidity, uids, modseq, scope: store });
  const keywords = new Set<string>();
  let firstUnseen = 0;
  for (let i = 0; i < msgs.length; i++) {
    const m = msgs[i]!;
    for (const f of m.flags) if (!f.startsWith('\\')) keywords.add(f);
    if (firstUnseen === 0 && !m.flags.includes('\\Seen')) firstUnseen = i + 1;
  }
  const flags = [...SYSTEM_FLAGS, ...[...keywords].sort()];
  const rev2 = s.enabled.has('IMAP4rev2');
  sel.noteRecent(maxUid);
  s.untagged(`${uids.length} EXISTS`);
  if (!rev2) s.untagged(`${sel.recentCount} RECENT`);
  s.untagged(`FLAGS ${flagList(flags)}`);
  s.untagged(`OK [PERMANENTFLAGS ${readOnly ? '()' : flagList([...flags, '\\*'])}] Flags permitted`);
  if (!rev2 && firstUnseen > 0) s.untagged(`OK [UNSEEN ${firstUnseen}] First unseen`);
  s.untagged(`OK [UIDVALIDITY ${mb.uidValidity}] UIDs valid`);
  s.untagged(`OK [UIDNEXT ${Math.max(mb.uidNext, maxUid + 1)}] Predicted next UID`);
  s.untagged(`OK [HIGHESTMODSEQ ${modseq}] Highest`);
  if (rev2) s.untagged(`LIST () "/" ${mailboxName(s, mb.name)}`);
  if (qresync && qresync.uidValidity === mb.uidValidity) {
    // RFC 7162 §3.2.5.2: what changed since the client's mod-sequence.
    const ch = await store.changesSince(mb.id, qresync.modseq);
    let expunged = ch.expunged;
    if (qresync.known) {
      const r = parseSequenceSet(qresync.known);
      if (r.ok && !r.set.saved) {
        const e = expand(r.set.ranges, Math.max(maxUid, ...expunged, 1), 1_000_000);
        if (e.ok) {
          const k = new Set(e.values);
          expunged = expunged.filter((u) => k.has(u));
        }
      }
    }
    if (expunged.length > 0) s.untagged(`VANISHED (EARLIER) ${compressUids([...expunged].sort((x, y) => x - y))}`);
    for (const m of ch.changed) {
      const seq = sel.seqOf(m.uid);
      if (seq > 0) s.untagged(`${seq} FETCH (UID ${m.uid} FLAGS ${flagList(sessionFlags(s, m.uid, m.flags))} MODSEQ (${m.modseq}))`);
    }
  }
  s.selected = sel;
  s.state = 'selected';
  return ok(`${cmd} completed`, readOnly ? 'READ-ONLY' : 'READ-WRITE');
}

/** RFC 9051 §6.4.1: CLOSE expunges silently (unless read-only) and leaves the mailbox. */
export async function close(s: ImapSession, _tag: string, a: Args): Promise<Done> {
  a.end();
  const sel = s.selected!;
  s.selected = null;
  s.state = 'authenticated';
  if (!sel.readOnly) await s.services.store.expunge(sel.mailboxId, { onlyDeleted: true });
  return ok('CLOSE completed');
}

/** RFC 3691: like CLOSE without the expunge. */
export function unselect(s: ImapSession, _tag: string, a: Args): Done {
  a.end();
  s.selected = null;
  s.state = 'authenticated';
  return ok('UNSELECT completed');
}

export function check(_s: ImapSession, _tag: string, a: Args): Done {
  a.end();
  return ok('CHECK completed');
}

/** RFC 9051 §6.4.3 EXPUNGE; RFC 4315 §2.1 UID EXPUNGE only the given UIDs. */
export async function expunge(s: ImapSession, _tag: string, a: Args, uid: boolean): Promise<Done> {
  const sel = s.selected!;
  let uids: number[] | undefined;
  if (uid) {
    uids = resolveSet(s, a.sequenceSet(), true);
  }
  a.end();
  if (sel.readOnly) return no('EXPUNGE: the mailbox is read-only', 'READ-ONLY');
  if (uids && uids.length === 0) return ok('EXPUNGE completed');
  // Messages this session has not seen yet are not expunged behind its back.
  if (!uids) uids = sel.uids.toArray();
  const gone = await s.services.store.expunge(sel.mailboxId, { uids, onlyDeleted: true });
  await syncSelected(s, { expunge: true });
  sendExpunged(s, gone);
  return ok('EXPUNGE completed');
}

/** RFC 2177: `+ idling`, then changes as they happen, until DONE. */
export function idle(s: ImapSession, tag: string, a: Args): Done {
  a.end();
  s.idleTag = tag;
  s.mode = 'idle';
  s.write('+ idling\r\n');
  return null;
}

export async function continueIdle(s: ImapSession, line: Buffer): Promise<void> {
  const tag = s.idleTag!;
  s.idleTag = null;
  s.mode = 'command';
  if (line.toString('latin1').toUpperCase() !== 'DONE') {
    s.tagged(tag, 'BAD', 'IDLE: expected DONE');
    return;
  }
  if (s.selected) await syncSelected(s, { expunge: true });
  s.tagged(tag, 'OK', 'IDLE terminated');
}
