// Message addressing and loading for the selected mailbox: a sequence set
// (message numbers, UIDs, or the saved result "$", RFC 5182) resolved to the
// UIDs this session knows, in ascending order; and the stored MIME summary
// (`meta`) of messages, computed from the bytes and stored when a blob has
// none yet (messages stored before summaries existed).
import type { StoredMessage } from '../../store/store.ts';
import { normalize, type ParsedSequenceSet } from '../protocol/sequence-set.ts';
import { parseSummary } from '../../message/mime/summary.ts';
import type { MessageSummary, SearchFields } from '../../message/mime/types.ts';
import { serializeEnvelope } from '../protocol/envelope.ts';
import { ArgError } from './args.ts';
import type { ImapSession } from './session.ts';

/** The UIDs a set names among the session's known messages, ascending.
 * By sequence number a number above EXISTS is an error (RFC 9051 §9 seq-number);
 * by UID, UIDs that do not exist are simply left out (RFC 9051 §6.4.8). */
export function resolveSet(s: ImapSession, set: ParsedSequenceSet, uid: boolean): number[] {
  const sel = s.selected!;
  if (set.saved) {
    return s.savedSearch.filter((u) => sel.seqOf(u) > 0);
  }
  const uids = sel.uids;
  if (uid) {
    const out: number[] = [];
    for (const [lo, hi] of normalize(set.ranges, sel.maxUid)) for (const u of uids.between(lo, hi)) out.push(u);
    return out;
  }
  if (uids.length === 0) {
    // "1:*" on an empty mailbox names nothing; an explicit number is an error.
    if (set.ranges.every((r) => r.start === '*' || r.end === '*')) return [];
    throw new ArgError('No messages in the mailbox');
  }
  const spans = normalize(set.ranges, uids.length);
  const out: number[] = [];
  for (const [a, b] of spans) {
    if (a < 1 || b > uids.length) throw new ArgError(`Message sequence number out of range (1:${uids.length})`);
    for (let i = a; i <= b; i++) out.push(uids.uidAt(i));
  }
  return out;
}

/** Loads the message rows for UIDs (ascending), in batches so huge sets do not build one giant query. */
export async function loadMessages(s: ImapSession, uids: readonly number[]): Promise<StoredMessage[]> {
  const sel = s.selected!;
  const out: StoredMessage[] = [];
  const BATCH = 5000;
  for (let i = 0; i < uids.length; i += BATCH) {
    const part = await s.services.store.getMessages(sel.mailboxId, uids.slice(i, i + BATCH));
    for (const m of part) out.push(m);
  }
  return out;
}

// A bounded, process-wide cache of what FETCH ENVELOPE and header SEARCH read
// from a summary: the serialized ENVELOPE (per UTF-8 mode) and the decoded
// search fields, by blob id. Blobs never change, so entries never go stale;
// the oldest go first when it is full (about 0.5 KB each).
const FACTS_MAX = 50_000;
interface Facts {
  env?: string;
  envUtf8?: string;
  search?: SearchFields;
}
const facts = new Map<string, Facts>();

function remember(blobId: string, f: Facts): void {
  const old = facts.get(blobId);
  if (old) facts.delete(blobId);
  facts.set(blobId, { ...old, ...f });
  if (facts.size > FACTS_MAX) facts.delete(facts.keys().next().value!);
}

/** Serialized ENVELOPEs by blob id (RFC 9051 §7.5.2), from the cache or the summaries. */
export async function loadEnvelopes(s: ImapSession, msgs: readonly StoredMessage[], utf8: boolean): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const missing: StoredMessage[] = [];
  for (const m of msgs) {
    const f = facts.get(m.blobId);
    const e = utf8 ? f?.envUtf8 : f?.env;
    if (e !== undefined) out.set(m.blobId, e);
    else missing.push(m);
  }
  if (missing.length > 0) {
    for (const [id, sum] of await loadSummaries(s, missing)) {
      const e = serializeEnvelope(sum.envelope, { utf8 });
      out.set(id, e);
      remember(id, utf8 ? { envUtf8: e, search: sum.search } : { env: e, search: sum.search });
    }
  }
  return out;
}

/** Decoded SEARCH header fields by blob id, from the cache or the summaries. */
export async function loadSearchFields(s: ImapSession, msgs: readonly StoredMessage[]): Promise<Map<string, SearchFields>> {
  const out = new Map<string, SearchFields>();
  const missing: StoredMessage[] = [];
  for (const m of msgs) {
    const f = facts.get(m.blobId)?.search;
    if (f) out.set(m.blobId, f);
    else missing.push(m);
  }
  if (missing.length > 0) {
    for (const [id, sum] of await loadSummaries(s, missing)) {
      out.set(id, sum.search);
      remember(id, { search: sum.search });
    }
  }
  return out;
}

/** MIME summaries by blob id; a missing or outdated one is computed from the bytes and stored. */
export async function loadSummaries(s: ImapSession, msgs: readonly StoredMessage[]): Promise<Map<string, MessageSummary>> {
  const ids = [...new Set(msgs.map((m) => m.blobId))];
  const out = new Map<string, MessageSummary>();
  const BATCH = 500;
  for (let i = 0; i < ids.length; i += BATCH) {
    const metas = await s.services.store.getMessageMeta(ids.slice(i, i + BATCH));
    for (const id of ids.slice(i, i + BATCH)) {
      const parsed = parseSummary(metas.get(id));
      if (parsed) {
        out.set(id, parsed);
        continue;
      }
      const bytes = await s.services.store.readBlob(id);
      const meta = s.summarize(bytes);
      const sum = parseSummary(meta);
      if (!sum) continue;
      out.set(id, sum);
      try {
        await s.services.store.setMessageMeta(id, meta);
      } catch (err) {
        s.log.warn('could not store message meta', { blob: id, error: err });
      }
    }
  }
  return out;
}
