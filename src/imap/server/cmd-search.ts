// SEARCH and UID SEARCH (RFC 9051 §6.4.4) with CHARSET (UTF-8, US-ASCII),
// ESEARCH result options MIN MAX ALL COUNT SAVE (RFC 4731, RFC 5182 "$"),
// and RFC 7162 MODSEQ. The key grammar and the evaluator are pure
// (protocol/search.ts); this file gives them a view of each message: flags,
// size and dates from the rows, from/to/cc/bcc/subject from the stored
// summary, and the bytes (header fields, header text, decoded body text)
// only when a key needs them.
import type { StoredMessage } from '../../store/store.ts';
import type { MessageSummary, PartSummary, SearchFields } from '../../message/mime/types.ts';
import { readHeader, fieldValue } from '../../message/mime/header.ts';
import { decodeEncodedWords } from '../../message/mime/encoded-word.ts';
import { decodeTransfer } from '../../message/mime/transfer-encoding.ts';
import { decodeCharset, bytesToText } from '../../message/mime/charset.ts';
import { Cursor } from '../protocol/args.ts';
import { parseSearchKeys, matches, searchNeeds, usesModseq, type MessageView, type SearchNeeds } from '../protocol/search.ts';
import { esearchLine, searchLine } from '../protocol/response.ts';
import { ArgError, type Args } from './args.ts';
import { ok, no, type Done } from './commands.ts';
import { utf8Ok } from './format.ts';
import { loadMessages, loadSearchFields, loadSummaries } from './messages.ts';
import { enableCondstore } from './notify.ts';
import type { ImapSession } from './session.ts';

const SUMMARY_FIELDS = new Set(['from', 'to', 'cc', 'bcc', 'subject']);

export async function search(s: ImapSession, tag: string, a: Args, uid: boolean): Promise<Done> {
  const sel = s.selected!;
  const ret = new Set<string>();
  let esearch = s.enabled.has('IMAP4rev2');
  if (a.accept('RETURN')) {
    // RFC 4731 §3.1: RETURN () means ALL.
    esearch = true;
    const opts = a.list('RETURN options');
    for (const t of opts) {
      const v = t.type === 'atom' ? t.value.toUpperCase() : '';
      if (!['MIN', 'MAX', 'ALL', 'COUNT', 'SAVE'].includes(v)) throw new ArgError('Unknown SEARCH RETURN option');
      ret.add(v);
    }
    if (ret.size === 0) ret.add('ALL');
  } else if (esearch) ret.add('ALL');
  if (a.accept('CHARSET')) {
    const cs = a.astring('charset').toUpperCase();
    if (cs !== 'UTF-8' && cs !== 'US-ASCII' && cs !== 'UTF8') return no('SEARCH: unsupported charset', 'BADCHARSET (UTF-8 US-ASCII)');
  }
  const cursor = new Cursor(a.tokens.slice(a.pos), { utf8: utf8Ok(s) });
  a.pos = a.tokens.length;
  const key = parseSearchKeys(cursor);
  const needs = searchNeeds(key);
  const withModseq = usesModseq(key);
  if (withModseq) enableCondstore(s);

  const msgs = await loadMessages(s, sel.uids.toArray());
  const needSummary = needs.sentDate || [...needs.headers].some((h) => SUMMARY_FIELDS.has(h));
  const needBytes = needs.headerText || needs.bodyText || [...needs.headers].some((h) => !SUMMARY_FIELDS.has(h));
  const ctx = { maxSeq: sel.exists, maxUid: sel.maxUid, savedUids: new Set(s.savedSearch), now: s.now() };
  const hits: StoredMessage[] = [];
  const BATCH = 500;
  for (let b = 0; b < msgs.length; b += BATCH) {
    const batch = msgs.slice(b, b + BATCH);
    // Header fields alone come from the search-field cache; text searches need the part tree.
    const sums = needBytes ? await loadSummaries(s, batch) : null;
    const fields = needSummary && !needBytes ? await loadSearchFields(s, batch) : null;
    for (const m of batch) {
      const seq = sel.seqOf(m.uid);
      if (seq === 0) continue;
      const sum = sums?.get(m.blobId) ?? null;
      const search = sum?.search ?? fields?.get(m.blobId) ?? null;
      const bytes = needBytes ? await s.services.store.readBlob(m.blobId) : null;
      const v = view(m, seq, sum, search, bytes, needs);
      v.recent = sel.isRecent(m.uid);
      if (matches(key, v, ctx)) hits.push(m);
    }
  }
  const numbers = hits.map((m) => (uid ? m.uid : sel.seqOf(m.uid)));
  let modseq = withModseq && hits.length > 0 ? Math.max(...hits.map((m) => m.modseq)) : undefined;
  if (modseq !== undefined && esearch && !ret.has('ALL') && !ret.has('COUNT') && (ret.has('MIN') || ret.has('MAX'))) {
    // RFC 4731 §3.2 / RFC 7162 §3.1.5: with only MIN/MAX, MODSEQ is that of the messages returned.
    const picked = [...(ret.has('MIN') ? [hits[0]!] : []), ...(ret.has('MAX') ? [hits[hits.length - 1]!] : [])];
    modseq = Math.max(...picked.map((m) => m.modseq));
  }
  if (ret.has('SAVE')) {
    // RFC 5182 §2.1: the result is kept as UIDs; SAVE with MIN or MAX keeps only those.
    let saved = hits.map((m) => m.uid);
    if ((ret.has('MIN') || ret.has('MAX')) && !ret.has('ALL') && !ret.has('COUNT') && saved.length > 0) {
      saved = [...(ret.has('MIN') ? [saved[0]!] : []), ...(ret.has('MAX') ? [saved[saved.length - 1]!] : [])];
    }
    s.savedSearch = saved;
  }
  if (esearch) {
    // RFC 5182 §2.4: SAVE alone sends no ESEARCH.
    if (!(ret.size === 1 && ret.has('SAVE'))) {
      s.write(
        esearchLine({
          tag,
          uid,
          min: ret.has('MIN') && numbers.length > 0 ? Math.min(...numbers) : undefined,
          max: ret.has('MAX') && numbers.length > 0 ? Math.max(...numbers) : undefined,
          all: ret.has('ALL') ? numbers : undefined,
          count: ret.has('COUNT') ? numbers.length : undefined,
          modseq,
        }),
      );
    }
  } else {
    s.write(searchLine(numbers, modseq));
  }
  return ok('SEARCH completed');
}

function view(m: StoredMessage, seq: number, sum: MessageSummary | null, search: SearchFields | null, bytes: Buffer | null, needs: SearchNeeds): MessageView {
  let header: { fields: ReturnType<typeof readHeader>['fields']; bodyStart: number } | null = null;
  const hdr = () => {
    if (!header && bytes) header = readHeader(bytes, 0, bytes.length);
    return header;
  };
  void needs;
  return {
    seq,
    uid: m.uid,
    flags: m.flags,
    size: m.size,
    internalDate: m.internalDate,
    modseq: m.modseq,
    sentDate() {
      if (!search || !search.sentDay) return null;
      const [y, mo, d] = search.sentDay.split('-').map(Number);
      return { date: new Date(Date.UTC(y!, mo! - 1, d!)), offsetMinutes: 0 };
    },
    header(name: string) {
      const n = name.toLowerCase();
      if (SUMMARY_FIELDS.has(n) && search) {
        const v = search[n as 'from' | 'to' | 'cc' | 'bcc' | 'subject'];
        return v ? [v] : [];
      }
      const h = hdr();
      if (!h || !bytes) return [];
      return h.fields.filter((f) => f.name.toLowerCase() === n).map((f) => decodeEncodedWords(fieldValue(bytes, f)));
    },
    headerText() {
      const h = hdr();
      if (!h || !bytes) return '';
      return decodeEncodedWords(bytesToText(bytes.subarray(0, h.bodyStart)));
    },
    bodyText() {
      if (!bytes) return '';
      if (!sum) return bytesToText(bytes.subarray(hdr()?.bodyStart ?? 0));
      const out: string[] = [];
      collectText(bytes, sum.body, out, 0);
      return out.join('\n');
    },
  };
}

/** The decoded text of the text/* leaves (transfer encoding and charset undone where known). */
function collectText(bytes: Buffer, p: PartSummary, out: string[], depth: number): void {
  if (depth > 50) return;
  if (p.parts) {
    for (const c of p.parts) collectText(bytes, c, out, depth + 1);
    return;
  }
  if (p.message) {
    collectText(bytes, p.message.body, out, depth + 1);
    return;
  }
  if (p.type !== 'text') return;
  const raw = bytes.subarray(p.bodyStart, Math.max(p.bodyStart, p.end));
  const decoded = decodeTransfer(raw, p.encoding) ?? raw;
  const charset = p.params.find(([k]) => k === 'charset')?.[1];
  out.push((charset ? decodeCharset(decoded, charset) : null) ?? bytesToText(decoded));
}
