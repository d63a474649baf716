// FETCH and UID FETCH (RFC 9051 §6.4.5): FLAGS, INTERNALDATE, RFC822.SIZE,
// ENVELOPE, BODYSTRUCTURE, BODY, BODY[section]<partial> and BODY.PEEK,
// RFC822, RFC822.HEADER, RFC822.TEXT, BINARY[]/BINARY.PEEK[]/BINARY.SIZE
// (RFC 3516), UID, MODSEQ and the CHANGEDSINCE/VANISHED modifiers (RFC 7162).
// Flags and sizes come from the message rows, ENVELOPE and BODYSTRUCTURE
// from the stored summary; a blob is read only when bytes are asked for.
// Fetching a body without .PEEK sets \Seen first (durably), and the FLAGS
// then go out with the message.
import type { StoredMessage } from '../../store/store.ts';
import type { MessageSummary } from '../../message/mime/types.ts';
import { fetchLine, type FetchResponseItem } from '../protocol/response.ts';
import type { Token } from '../protocol/tokenizer.ts';
import { normalize } from '../protocol/sequence-set.ts';
import { ArgError, tokenString, type Args } from './args.ts';
import { ok, no, type Done } from './commands.ts';
import { compressUids, sessionFlags, utf8Ok } from './format.ts';
import { bodyStructure, envelopeData, sectionBytes, binaryBytes, type SectionSpec } from './fetch-mime.ts';
import { loadEnvelopes, loadMessages, loadSummaries, resolveSet } from './messages.ts';
import { enableCondstore } from './notify.ts';
import type { ImapSession } from './session.ts';

type Item =
  | { kind: 'FLAGS' | 'INTERNALDATE' | 'RFC822.SIZE' | 'ENVELOPE' | 'BODYSTRUCTURE' | 'BODY' | 'UID' | 'MODSEQ' | 'RFC822' | 'RFC822.HEADER' | 'RFC822.TEXT' }
  | { kind: 'section'; binary: boolean; size: boolean; peek: boolean; spec: SectionSpec; echo: string; partial?: { offset: number; length?: number } };

const SIMPLE = ['FLAGS', 'INTERNALDATE', 'RFC822.SIZE', 'ENVELOPE', 'BODYSTRUCTURE', 'BODY', 'UID', 'MODSEQ', 'RFC822', 'RFC822.HEADER', 'RFC822.TEXT'] as const;
const MACROS: Record<string, string[]> = {
  ALL: ['FLAGS', 'INTERNALDATE', 'RFC822.SIZE', 'ENVELOPE'],
  FAST: ['FLAGS', 'INTERNALDATE', 'RFC822.SIZE'],
  FULL: ['FLAGS', 'INTERNALDATE', 'RFC822.SIZE', 'ENVELOPE', 'BODY'],
};

/** RFC 9051 §9 section-spec from the reader's section tokens. */
function parseSection(tokens: Token[], binary: boolean): { spec: SectionSpec; echo: string } {
  const spec: SectionSpec = { part: [], text: '', fields: [] };
  if (tokens.length === 0) return { spec, echo: '' };
  const head = tokens[0]!;
  const raw = head.type === 'number' ? String(head.value) : head.type === 'atom' ? head.value : null;
  if (raw === null) throw new ArgError('Invalid section');
  const pieces = raw.split('.');
  let i = 0;
  while (i < pieces.length && /^[1-9][0-9]{0,8}$/.test(pieces[i]!)) spec.part.push(Number(pieces[i++]));
  const text = pieces.slice(i).join('.').toUpperCase();
  if (!['', 'HEADER', 'HEADER.FIELDS', 'HEADER.FIELDS.NOT', 'TEXT', 'MIME'].includes(text)) throw new ArgError(`Invalid section ${raw.slice(0, 40)}`);
  if (binary && text !== '') throw new ArgError('BINARY takes part numbers only');
  if (text === 'MIME' && spec.part.length === 0) throw new ArgError('MIME needs a part number');
  spec.text = text as SectionSpec['text'];
  let echo = [...spec.part.map(String), ...(text ? [text] : [])].join('.');
  if (text === 'HEADER.FIELDS' || text === 'HEADER.FIELDS.NOT') {
    const list = tokens[1];
    if (tokens.length !== 2 || list?.type !== 'list' || list.items.length === 0) throw new ArgError(`${text} needs a list of field names`);
    for (const t of list.items) {
      const v = tokenString(t);
      if (v === null || v === '' || !/^[\x21-\x39\x3b-\x7e]+$/.test(v)) throw new ArgError('Invalid header field name');
      spec.fields.push(v);
    }
    echo += ` (${spec.fields.map((f) => f.toUpperCase()).join(' ')})`;
  } else if (tokens.length !== 1) throw new ArgError('Invalid section');
  return { spec, echo };
}

function parseItem(t: Token, out: Item[]): void {
  if (t.type === 'atom') {
    const v = t.value.toUpperCase();
    if ((SIMPLE as readonly string[]).includes(v)) out.push({ kind: v as (typeof SIMPLE)[number] });
    else throw new ArgError(`Unknown FETCH item ${v.slice(0, 30)}`);
    return;
  }
  if (t.type === 'section') {
    const name = t.name.toUpperCase();
    const binary = name.startsWith('BINARY');
    if (!['BODY', 'BODY.PEEK', 'BINARY', 'BINARY.PEEK', 'BINARY.SIZE'].includes(name)) throw new ArgError(`Unknown FETCH item ${name.slice(0, 30)}`);
    const { spec, echo } = parseSection(t.section, binary);
    const size = name === 'BINARY.SIZE';
    if (size && t.partial) throw new ArgError('BINARY.SIZE takes no partial');
    if (t.partial && t.partial.length === 0) throw new ArgError('A partial length must not be 0');
    const item: Item = { kind: 'section', binary, size, peek: name.endsWith('.PEEK'), spec, echo };
    if (t.partial) item.partial = t.partial;
    out.push(item);
    return;
  }
  throw new ArgError('Invalid FETCH item');
}

export async function fetch(s: ImapSession, _tag: string, a: Args, uid: boolean): Promise<Done> {
  const sel = s.selected!;
  const set = a.sequenceSet();
  const itemsTok = a.next('fetch items');
  const items: Item[] = [];
  if (itemsTok.type === 'atom' && MACROS[itemsTok.value.toUpperCase()]) {
    for (const m of MACROS[itemsTok.value.toUpperCase()]!) items.push({ kind: m as (typeof SIMPLE)[number] });
  } else if (itemsTok.type === 'list') {
    if (itemsTok.items.length === 0) throw new ArgError('Empty FETCH item list');
    for (const t of itemsTok.items) parseItem(t, items);
  } else parseItem(itemsTok, items);
  let changedSince: number | null = null;
  let vanished = false;
  if (!a.done) {
    // RFC 7162 §3.1.4.1, §3.2.6: (CHANGEDSINCE modseq [VANISHED])
    const mods = a.list('fetch modifiers');
    for (let i = 0; i < mods.length; i++) {
      const m = mods[i]!;
      const v = m.type === 'atom' ? m.value.toUpperCase() : '';
      if (v === 'CHANGEDSINCE') {
        const n = mods[++i];
        if (n?.type !== 'number') throw new ArgError('CHANGEDSINCE needs a mod-sequence');
        changedSince = n.value;
      } else if (v === 'VANISHED') vanished = true;
      else throw new ArgError('Unknown FETCH modifier');
    }
    if (vanished && (!uid || changedSince === null)) throw new ArgError('VANISHED needs UID FETCH with CHANGEDSINCE');
    if (vanished && !s.enabled.has('QRESYNC')) throw new ArgError('VANISHED needs QRESYNC enabled');
  }
  a.end();
  const kinds = new Set(items.map((i) => i.kind));
  if (kinds.has('MODSEQ') || changedSince !== null) enableCondstore(s);
  const uids = resolveSet(s, set, uid);

  if (vanished && changedSince !== null && !set.saved) {
    // RFC 7162 §3.2.6: expunged UIDs in the set since the given mod-sequence.
    const ch = await s.services.store.changesSince(sel.mailboxId, changedSince);
    const spans = normalize(set.ranges, Math.max(sel.maxUid, ...ch.expunged.slice(-1)));
    const gone = ch.expunged.filter((u) => spans.some(([lo, hi]) => u >= lo && u <= hi));
    if (gone.length > 0) s.untagged(`VANISHED (EARLIER) ${compressUids(gone)}`);
  }
  if (uids.length === 0) return ok('FETCH completed');

  let msgs = await loadMessages(s, uids);
  if (changedSince !== null) msgs = msgs.filter((m) => m.modseq > changedSince!);

  // RFC 9051 §6.4.5: BODY[...] without .PEEK, RFC822 and RFC822.TEXT set \Seen.
  const setsSeen = !sel.readOnly && items.some((i) => (i.kind === 'section' && !i.peek && !i.size) || i.kind === 'RFC822' || i.kind === 'RFC822.TEXT');
  let flagsChanged = new Set<number>();
  if (setsSeen) {
    const unseen = msgs.filter((m) => !m.flags.includes('\\Seen')).map((m) => m.uid);
    if (unseen.length > 0) {
      const r = await s.services.store.updateFlags(sel.mailboxId, unseen, 'add', ['\\Seen']);
      const byUid = new Map(r.updated.map((m) => [m.uid, m]));
      msgs = msgs.map((m) => byUid.get(m.uid) ?? m);
      flagsChanged = new Set(byUid.keys());
      for (const m of r.updated) sel.reported.set(m.uid, m.modseq);
    }
  }

  const needSummary = items.some((i) => i.kind === 'ENVELOPE' || i.kind === 'BODYSTRUCTURE' || i.kind === 'BODY' || i.kind === 'RFC822.HEADER' || i.kind === 'RFC822.TEXT' || (i.kind === 'section' && (i.spec.text !== '' || i.spec.part.length > 0)));
  const needContent = items.some((i) => i.kind === 'RFC822' || i.kind === 'RFC822.HEADER' || i.kind === 'RFC822.TEXT' || i.kind === 'section');
  const q = { utf8: utf8Ok(s) };
  const condstore = s.enabled.has('CONDSTORE');
  const BATCH = 500;
  for (let b = 0; b < msgs.length; b += BATCH) {
    const batch = msgs.slice(b, b + BATCH);
    // ENVELOPE alone (the common sync query) comes from the envelope cache.
    const envOnly = needSummary && items.every((i) => i.kind !== 'section' && i.kind !== 'BODYSTRUCTURE' && i.kind !== 'BODY' && i.kind !== 'RFC822.HEADER' && i.kind !== 'RFC822.TEXT');
    const sums = needSummary && !envOnly ? await loadSummaries(s, batch) : new Map<string, MessageSummary>();
    const envs = kinds.has('ENVELOPE') ? (envOnly ? await loadEnvelopes(s, batch, q.utf8) : null) : null;
    for (const m of batch) {
      const seq = sel.seqOf(m.uid);
      if (seq === 0) continue;
      const content = needContent ? await s.services.store.readBlob(m.blobId) : null;
      const sum = sums.get(m.blobId) ?? null;
      const out = buildItems(m, items, sum, envs?.get(m.blobId) ?? null, content, q, { uid, condstore: condstore || changedSince !== null, flagsChanged: flagsChanged.has(m.uid), flags: sessionFlags(s, m.uid, m.flags) });
      if (out === 'unknown-cte') return no('FETCH: unknown Content-Transfer-Encoding', 'UNKNOWN-CTE');
      // Message data always goes out as literals (some clients, e.g. imapflow, read body data only from literals).
      s.write(fetchLine(seq, out));
      await s.flushIfLarge();
    }
  }
  return ok('FETCH completed');
}

function buildItems(
  m: StoredMessage,
  items: Item[],
  sum: MessageSummary | null,
  env: string | null,
  content: Buffer | null,
  q: { utf8: boolean },
  o: { uid: boolean; condstore: boolean; flagsChanged: boolean; flags: readonly string[] },
): FetchResponseItem[] | 'unknown-cte' {
  const out: FetchResponseItem[] = [];
  const has = (k: string) => items.some((i) => i.kind === k);
  // RFC 9051 §6.4.9: UID FETCH always returns UID.
  if (o.uid && !has('UID')) out.push({ item: 'UID', value: m.uid });
  for (const it of items) {
    switch (it.kind) {
      case 'UID':
        out.push({ item: 'UID', value: m.uid });
        break;
      case 'FLAGS':
        out.push({ item: 'FLAGS', flags: o.flags });
        break;
      case 'INTERNALDATE':
        out.push({ item: 'INTERNALDATE', date: m.internalDate });
        break;
      case 'RFC822.SIZE':
        out.push({ item: 'RFC822.SIZE', value: m.size });
        break;
      case 'MODSEQ':
        out.push({ item: 'MODSEQ', value: m.modseq });
        break;
      case 'ENVELOPE':
        out.push({ item: 'ENVELOPE', raw: env ?? (sum ? envelopeData(sum.envelope, q) : '(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)') });
        break;
      case 'BODYSTRUCTURE':
      case 'BODY':
        out.push({ item: it.kind, raw: sum ? bodyStructure(sum.body, it.kind === 'BODYSTRUCTURE', q) : '("text" "plain" NIL NIL NIL "7bit" 0 0)' });
        break;
      case 'RFC822':
        out.push({ item: 'RFC822', data: content });
        break;
      case 'RFC822.HEADER':
        out.push({ item: 'RFC822.HEADER', data: content && sum ? content.subarray(0, sum.body.bodyStart) : content });
        break;
      case 'RFC822.TEXT':
        out.push({ item: 'RFC822.TEXT', data: content && sum ? content.subarray(sum.body.bodyStart) : Buffer.alloc(0) });
        break;
      case 'section': {
        let data: Buffer | null;
        if (it.binary) {
          const d = content && sum ? binaryBytes(content, sum, it.spec.part) : content;
          if (d === null) return 'unknown-cte';
          data = d ?? null;
        } else {
          data = content ? sectionBytes(content, sum, it.spec) : null;
          // RFC 9051 §6.4.5: a part that does not exist is an empty string.
          if (data === null) data = Buffer.alloc(0);
        }
        if (it.size) {
          out.push({ item: 'BINARY.SIZE', name: `BINARY.SIZE[${it.spec.part.join('.')}]`, value: data ? data.length : 0 });
          break;
        }
        let name = `${it.binary ? 'BINARY' : 'BODY'}[${it.echo}]`;
        if (it.partial && data) {
          const start = Math.min(it.partial.offset, data.length);
          const end = it.partial.length === undefined ? data.length : Math.min(data.length, start + it.partial.length);
          data = data.subarray(start, end);
          name += `<${it.partial.offset}>`;
        }
        out.push({ item: it.binary ? 'BINARY[]' : 'BODY[]', name, data });
        break;
      }
    }
  }
  if (o.flagsChanged && !has('FLAGS')) out.push({ item: 'FLAGS', flags: o.flags });
  if (o.condstore && !has('MODSEQ')) out.push({ item: 'MODSEQ', value: m.modseq });
  return out;
}

