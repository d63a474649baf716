// APPEND (RFC 9051 §6.3.12): mailbox, optional flags, optional date-time,
// then the message as a literal (or literal8, RFC 3516 §4.4; or the RFC 6855
// `UTF8 (literal8)` form). The size limit is the reader's literal limit,
// advertised as APPENDLIMIT (RFC 7889); quota is checked first (NO
// [OVERQUOTA]); the MIME summary is computed once and stored with the
// message; OK [APPENDUID] (RFC 4315) only after the store made it durable.
import { parseFlags, ArgError, type Args } from './args.ts';
import { ok, no, type Done } from './commands.ts';
import { parseDateTime, utf8Ok } from './format.ts';
import type { ImapSession } from './session.ts';

export async function append(s: ImapSession, _tag: string, a: Args): Promise<Done> {
  const name = a.mailbox(utf8Ok(s));
  let flags: string[] = [];
  let date: Date | null = null;
  if (a.peek()?.type === 'list') flags = parseFlags(a.list('flags'));
  const d = a.peek();
  if (d && d.type === 'quoted') {
    date = parseDateTime(d.value);
    if (!date) throw new ArgError('Invalid date-time');
    a.pos++;
  }
  let content: Buffer;
  const t = a.peek();
  if (t && t.type === 'atom' && t.value.toUpperCase() === 'UTF8') {
    a.pos++;
    const inner = a.list('UTF8 message');
    const lit = inner[0];
    if (inner.length !== 1 || lit?.type !== 'literal') throw new ArgError('UTF8 needs a literal');
    content = Buffer.from(lit.value.buffer, lit.value.byteOffset, lit.value.byteLength);
  } else {
    const lit = a.next('message literal');
    if (lit.type !== 'literal') throw new ArgError('The message must be a literal');
    content = Buffer.from(lit.value.buffer, lit.value.byteOffset, lit.value.byteLength);
  }
  // MULTIAPPEND (RFC 3502) is not offered.
  a.end();
  if (content.length === 0) return no('APPEND: an empty message cannot be stored', 'CANNOT');
  const store = s.services.store;
  const accountId = s.user!.accountId;
  const mb = await store.getMailbox(accountId, name);
  if (!mb) return no('APPEND: no such mailbox', 'TRYCREATE');
  const acc = await store.getAccountById(accountId);
  if (acc && acc.quotaBytes > 0 && acc.usedBytes + content.length > acc.quotaBytes) return no('APPEND: over quota', 'OVERQUOTA');
  const meta = s.summarize(content);
  const r = await store.append(mb.id, { content: [content], flags, internalDate: date ?? s.now(), meta });
  // RFC 9051 §6.3.12: APPEND into the selected mailbox is announced (EXISTS) before the OK.
  if (s.selected?.mailboxId === mb.id) s.selected.dirty = true;
  if (mb.specialUse === '\\Junk') {
    // Junk training hears of messages a client files into Junk itself.
    try {
      const [m] = await store.getMessages(mb.id, [r.uid]);
      if (m) s.services.events.onMessagesMoved({ accountId, from: null, to: { name: mb.name, specialUse: mb.specialUse }, blobIds: [m.blobId], kind: 'append' });
    } catch (err) {
      s.log.warn('mailbox event hook failed', { error: err });
    }
  }
  return ok('APPEND completed', `APPENDUID ${r.uidValidity} ${r.uid}`);
}
