// STORE and UID STORE (RFC 9051 §6.4.6): FLAGS, +FLAGS, -FLAGS and their
// .SILENT forms, with RFC 7162 §3.1.3 UNCHANGEDSINCE (conflicts reported as
// [MODIFIED set]). The tagged OK goes out only after the store committed the
// change; every message in the set gets its FETCH (FLAGS) unless .SILENT.
import type { FlagOperation } from '../../store/mailbox-store.ts';
import type { StoredMessage } from '../../store/store.ts';
import { ArgError, parseFlags, type Args } from './args.ts';
import { ok, no, type Done } from './commands.ts';
import { compressUids, flagList, sessionFlags } from './format.ts';
import { loadMessages, resolveSet } from './messages.ts';
import { enableCondstore } from './notify.ts';
import type { ImapSession } from './session.ts';

export async function store(s: ImapSession, _tag: string, a: Args, uid: boolean): Promise<Done> {
  const sel = s.selected!;
  const set = a.sequenceSet();
  let unchangedSince: number | undefined;
  if (a.peek()?.type === 'list') {
    const mods = a.list('store modifiers');
    const k = mods[0];
    const v = mods[1];
    if (mods.length !== 2 || k?.type !== 'atom' || k.value.toUpperCase() !== 'UNCHANGEDSINCE' || v?.type !== 'number') throw new ArgError('Unknown STORE modifier');
    unchangedSince = v.value;
    enableCondstore(s);
  }
  const what = a.atom('store item');
  const m = /^([+-]?)FLAGS(\.SILENT)?$/.exec(what);
  if (!m) throw new ArgError(`Unknown STORE item ${what.slice(0, 30)}`);
  const op: FlagOperation = m[1] === '+' ? 'add' : m[1] === '-' ? 'remove' : 'replace';
  const silent = m[2] !== undefined;
  let flags: string[];
  if (a.peek()?.type === 'list') flags = parseFlags(a.list('flags'));
  else {
    const rest = a.tokens.slice(a.pos);
    a.pos = a.tokens.length;
    flags = parseFlags(rest);
  }
  a.end();
  if (sel.readOnly) return no('STORE: the mailbox is read-only', 'READ-ONLY');
  const uids = resolveSet(s, set, uid);
  if (uids.length === 0) return ok('STORE completed');
  const opts = unchangedSince === undefined ? undefined : { unchangedSince };
  const r = await s.services.store.updateFlags(sel.mailboxId, uids, op, flags, opts);
  const condstore = s.enabled.has('CONDSTORE');
  for (const u of r.updated) sel.reported.set(u.uid, u.modseq);
  const conflicts = new Set(r.conflicts);
  let shown: StoredMessage[] = r.updated;
  if (!silent) {
    // Messages whose flags were already as asked still get their FLAGS (RFC 9051 §6.4.6).
    const updated = new Set(r.updated.map((x) => x.uid));
    const others = uids.filter((u) => !updated.has(u) && !conflicts.has(u));
    if (others.length > 0) shown = [...r.updated, ...(await loadMessages(s, others))].sort((x, y) => x.uid - y.uid);
  }
  for (const msg of shown) {
    const seq = sel.seqOf(msg.uid);
    if (seq === 0) continue;
    const parts: string[] = [];
    if (uid) parts.push(`UID ${msg.uid}`);
    if (!silent) parts.push(`FLAGS ${flagList(sessionFlags(s, msg.uid, msg.flags))}`);
    // RFC 7162 §3.1.3: with CONDSTORE the new MODSEQ goes out, even for .SILENT.
    if (condstore) parts.push(`MODSEQ (${msg.modseq})`);
    if (!silent || (condstore && unchangedSince !== undefined)) s.untagged(`${seq} FETCH (${parts.join(' ')})`);
  }
  if (conflicts.size > 0) {
    const list = uid ? [...conflicts].sort((x, y) => x - y) : [...conflicts].map((u) => sel.seqOf(u)).filter((n) => n > 0).sort((x, y) => x - y);
    return ok('Conditional STORE failed for some messages', `MODIFIED ${compressUids(list)}`);
  }
  return ok('STORE completed');
}
