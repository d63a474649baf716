// The IMAP command grammar (RFC 9051 §6 and §9, with the RFC 3501 forms rev1
// clients send, and the extensions the server offers: SASL-IR RFC 4959,
// ENABLE RFC 5161, ID RFC 2971, CONDSTORE/QRESYNC RFC 7162, LIST-EXTENDED
// RFC 5258, LIST-STATUS RFC 5819, SPECIAL-USE/CREATE-SPECIAL-USE RFC 6154,
// ESEARCH RFC 4731, SEARCHRES RFC 5182, UIDPLUS RFC 4315, MOVE RFC 6851,
// BINARY RFC 3516, UTF8=ACCEPT RFC 6855, MULTIAPPEND RFC 3502, QUOTA
// RFC 9208): a tag's token list from the CommandReader (tokenizer.ts) becomes
// one typed Command, or an error with the status (BAD, or NO for BADCHARSET)
// and a human text. Pure; never throws.
//
// API:
//   parseCommand(tokens, opts?) → { ok: true, command } | { ok: false, error: { status, text, code? } }
//     opts.utf8: the client enabled UTF8=ACCEPT or IMAP4rev2 (mailbox names are
//     UTF-8; otherwise modified UTF-7 is decoded). Mailbox names come out
//     decoded, with INBOX canonical.
//   The session checks the state (RFC 9051 §3) and the capabilities; this file checks only syntax.
//   IDLE's "DONE" line and AUTHENTICATE's continuation lines are not commands: the session reads them.
import type { Token } from './tokenizer.ts';
import { ArgError, Cursor, astringOf, dateTimeOf, describe, fail, flagListOf, flagOf, mailboxOf, modseqOf, patternOf, sequenceSetOf, type ArgOptions } from './args.ts';
import type { ParsedSequenceSet, SequenceSet } from './sequence-set.ts';
import type { ResponseCode } from './response.ts';
import { parseSearchKeys, type SearchKey } from './search.ts';
import { parseFetchAtts, type FetchAtt } from './fetch-items.ts';

export type { SearchKey } from './search.ts';
export type { FetchAtt, SectionSpec, Partial } from './fetch-items.ts';

/** RFC 9051 §6.3.11 STATUS items, plus RFC 3501 RECENT, RFC 7162 HIGHESTMODSEQ, RFC 7889 APPENDLIMIT, RFC 8438 SIZE. */
export type StatusItem = 'MESSAGES' | 'UIDNEXT' | 'UIDVALIDITY' | 'UNSEEN' | 'DELETED' | 'SIZE' | 'RECENT' | 'HIGHESTMODSEQ' | 'APPENDLIMIT';
export const STATUS_ITEMS: readonly StatusItem[] = ['MESSAGES', 'UIDNEXT', 'UIDVALIDITY', 'UNSEEN', 'DELETED', 'SIZE', 'RECENT', 'HIGHESTMODSEQ', 'APPENDLIMIT'];

/** RFC 7162 §3.2.5: SELECT/EXAMINE (QRESYNC (uidvalidity modseq [known-uids] [(seq-match-data)])). */
export type QresyncParams = {
  uidValidity: number;
  modseq: number;
  knownUids?: SequenceSet;
  seqMatch?: { seqs: SequenceSet; uids: SequenceSet };
};

/** One message of an APPEND (several with MULTIAPPEND, RFC 3502). */
export type AppendMessage = {
  flags: string[];
  /** The internal date requested, with its zone (minutes east of UTC). */
  date?: { date: Date; offsetMinutes: number };
  content: Uint8Array;
  /** Sent as literal8 `~{n}` (RFC 3516 §4.4 or RFC 6855 `UTF8 (~{n})`). */
  binary: boolean;
  /** RFC 6855 §4: the `UTF8 (literal8)` form. */
  utf8: boolean;
};

export type ListSelection = { subscribed: boolean; remote: boolean; recursiveMatch: boolean; specialUse: boolean };
export type ListReturn = { children: boolean; subscribed: boolean; specialUse: boolean; status?: StatusItem[] };

/** RFC 4731 §3.1 / RFC 5182: SEARCH RETURN options; `null` means a plain SEARCH (untagged SEARCH reply). */
export type SearchReturn = { min: boolean; max: boolean; all: boolean; count: boolean; save: boolean };

export type StoreMode = 'set' | 'add' | 'remove';

export type Command =
  | { name: 'CAPABILITY' | 'NOOP' | 'LOGOUT' | 'STARTTLS' | 'CHECK' | 'CLOSE' | 'UNSELECT' | 'IDLE' | 'NAMESPACE' }
  /** RFC 9051 §6.2.2, RFC 4959: initialResponse is the base64 text; "=" (an empty response) becomes "". */
  | { name: 'AUTHENTICATE'; mechanism: string; initialResponse?: string }
  | { name: 'LOGIN'; username: string; password: string }
  | { name: 'ENABLE'; capabilities: string[] }
  /** RFC 2971: null for `ID NIL`. */
  | { name: 'ID'; params: Array<[string, string | null]> | null }
  | { name: 'SELECT' | 'EXAMINE'; mailbox: string; condstore: boolean; qresync?: QresyncParams }
  /** RFC 6154 §3: CREATE name (USE (\Drafts)). */
  | { name: 'CREATE'; mailbox: string; specialUse: string[] }
  | { name: 'DELETE' | 'SUBSCRIBE' | 'UNSUBSCRIBE' | 'GETQUOTAROOT'; mailbox: string }
  | { name: 'RENAME'; from: string; to: string }
  /** extended: the RFC 5258 form was used (selection options, several patterns or RETURN). */
  | { name: 'LIST'; reference: string; patterns: string[]; selection: ListSelection; returns: ListReturn; extended: boolean }
  | { name: 'LSUB'; reference: string; pattern: string }
  | { name: 'STATUS'; mailbox: string; items: StatusItem[] }
  | { name: 'APPEND'; mailbox: string; messages: AppendMessage[] }
  | { name: 'EXPUNGE'; uid: false }
  /** RFC 4315 §2.1: UID EXPUNGE sequence-set. */
  | { name: 'EXPUNGE'; uid: true; set: ParsedSequenceSet }
  | { name: 'SEARCH'; uid: boolean; charset?: string; returns: SearchReturn | null; key: SearchKey }
  /**
   * FETCH: items in the order asked (macros expanded). With CHANGEDSINCE the
   * session adds MODSEQ to each response (RFC 7162 §3.1.4.1); with UID FETCH it
   * adds UID (RFC 9051 §6.4.9).
   */
  | { name: 'FETCH'; uid: boolean; set: ParsedSequenceSet; items: FetchAtt[]; changedSince?: number; vanished: boolean }
  | { name: 'STORE'; uid: boolean; set: ParsedSequenceSet; mode: StoreMode; silent: boolean; flags: string[]; unchangedSince?: number }
  | { name: 'COPY' | 'MOVE'; uid: boolean; set: ParsedSequenceSet; mailbox: string }
  /** RFC 9208 §4.2: GETQUOTA quota-root. */
  | { name: 'GETQUOTA'; root: string }
  /** RFC 9208 §4.1: SETQUOTA root (resource limit …). */
  | { name: 'SETQUOTA'; root: string; limits: Array<[string, number]> };

export type CommandName = Command['name'];

export type CommandError = { status: 'BAD' | 'NO'; text: string; code?: ResponseCode };
export type ParseCommandResult = { ok: true; command: Command } | { ok: false; error: CommandError };

export type ParseOptions = ArgOptions;

/** RFC 9051 §6.4.4: we search in UTF-8 (and its subset US-ASCII); anything else is NO [BADCHARSET]. */
export const SEARCH_CHARSETS = ['UTF-8', 'US-ASCII'] as const;

const NO_ARGS = new Set(['CAPABILITY', 'NOOP', 'LOGOUT', 'STARTTLS', 'CHECK', 'CLOSE', 'UNSELECT', 'IDLE', 'NAMESPACE']);

/** Parse the tokens after the tag. Never throws. */
export function parseCommand(tokens: readonly Token[], opts: ParseOptions = {}): ParseCommandResult {
  try {
    return { ok: true, command: parse(new Cursor(tokens, opts)) };
  } catch (e) {
    if (e instanceof ArgError) {
      const error: CommandError = { status: e.status, text: e.text };
      if (e.code) error.code = e.code;
      return { ok: false, error };
    }
    // A bug in this parser must not cross the connection (DESIGN §8): report it as BAD.
    return { ok: false, error: { status: 'BAD', text: 'could not parse the command' } };
  }
}

function parse(c: Cursor): Command {
  const t = c.next('command');
  if (t.type !== 'atom') fail(`expected a command name, got ${describe(t)}`);
  const name = t.value.toUpperCase();
  if (NO_ARGS.has(name)) {
    c.end(name);
    return { name: name as 'NOOP' };
  }
  switch (name) {
    case 'AUTHENTICATE':
      return authenticate(c);
    case 'LOGIN': {
      const username = c.astring('user name');
      const password = c.astring('password');
      c.end(name);
      return { name, username, password };
    }
    case 'ENABLE': {
      // RFC 5161 §3.1: "ENABLE" 1*(SP capability)
      const capabilities: string[] = [];
      while (!c.done) capabilities.push(c.atom('capability').toUpperCase());
      if (capabilities.length === 0) fail('ENABLE needs at least one capability');
      return { name, capabilities };
    }
    case 'ID':
      return id(c);
    case 'SELECT':
    case 'EXAMINE':
      return select(c, name);
    case 'CREATE': {
      const mailbox = c.mailbox();
      const specialUse: string[] = [];
      if (!c.done) {
        // RFC 6154 §3 / RFC 4466: create-params = "(" create-param *(SP create-param) ")"; "USE" SP "(" [use-attr *(SP use-attr)] ")"
        const params = new Cursor(c.list('CREATE parameters'), c.opts);
        while (!params.done) {
          const p = params.atom('CREATE parameter').toUpperCase();
          if (p !== 'USE') fail(`unknown CREATE parameter ${JSON.stringify(p.slice(0, 30))}`);
          for (const a of params.list('USE attributes')) {
            const f = flagOf(a, 'special-use attribute');
            if (!f.startsWith('\\')) fail('special-use attributes start with a backslash');
            specialUse.push(f);
          }
        }
      }
      c.end(name);
      return { name, mailbox, specialUse };
    }
    case 'DELETE':
    case 'SUBSCRIBE':
    case 'UNSUBSCRIBE':
    case 'GETQUOTAROOT': {
      const mailbox = c.mailbox();
      c.end(name);
      return { name, mailbox };
    }
    case 'RENAME': {
      const from = c.mailbox('existing mailbox name');
      const to = c.mailbox('new mailbox name');
      c.end(name);
      return { name, from, to };
    }
    case 'LIST':
      return list(c);
    case 'LSUB': {
      const reference = patternOf(c.next('reference name'), c.opts, 'reference name');
      const pattern = patternOf(c.next('mailbox pattern'), c.opts);
      c.end(name);
      return { name, reference, pattern };
    }
    case 'STATUS': {
      const mailbox = c.mailbox();
      const items = statusItems(c.list('STATUS items'));
      if (items.length === 0) fail('STATUS needs at least one item');
      c.end(name);
      return { name, mailbox, items };
    }
    case 'APPEND':
      return append(c);
    case 'EXPUNGE':
      c.end(name);
      return { name, uid: false };
    case 'SEARCH':
      return search(c, false);
    case 'FETCH':
      return fetch(c, false);
    case 'STORE':
      return store(c, false);
    case 'COPY':
    case 'MOVE':
      return copy(c, name, false);
    case 'UID':
      return uid(c);
    case 'GETQUOTA': {
      const root = c.astring('quota root');
      c.end(name);
      return { name, root };
    }
    case 'SETQUOTA': {
      const root = c.astring('quota root');
      const items = new Cursor(c.list('quota limits'), c.opts);
      const limits: Array<[string, number]> = [];
      while (!items.done) limits.push([items.atom('resource name').toUpperCase(), items.number('resource limit', Number.MAX_SAFE_INTEGER)]);
      c.end(name);
      return { name, root, limits };
    }
    case 'DONE':
      return fail('DONE is only valid to end IDLE');
    default:
      return fail(`unknown command ${JSON.stringify(t.value.slice(0, 30))}`);
  }
}

function uid(c: Cursor): Command {
  // RFC 9051 §6.4.9: "UID" SP (copy / move / fetch / search / store / uid-expunge)
  const sub = c.atom('UID command').toUpperCase();
  switch (sub) {
    case 'FETCH':
      return fetch(c, true);
    case 'STORE':
      return store(c, true);
    case 'SEARCH':
      return search(c, true);
    case 'COPY':
    case 'MOVE':
      return copy(c, sub, true);
    case 'EXPUNGE': {
      const set = c.sequenceSet('UID set');
      c.end('UID EXPUNGE');
      return { name: 'EXPUNGE', uid: true, set };
    }
    default:
      return fail(`unknown UID command ${JSON.stringify(sub.slice(0, 30))}`);
  }
}

function authenticate(c: Cursor): Command {
  const mechanism = c.atom('SASL mechanism').toUpperCase();
  // RFC 4959 §3: initial-response = base64 / "=" (empty).
  if (!/^[A-Z0-9_-]{1,20}$/.test(mechanism)) fail('invalid SASL mechanism name');
  if (c.done) return { name: 'AUTHENTICATE', mechanism };
  const t = c.next('initial response');
  const ir = t.type === 'atom' ? t.value : t.type === 'number' ? String(t.value) : fail('the initial response must be base64 or "="');
  c.end('AUTHENTICATE');
  if (ir === '=') return { name: 'AUTHENTICATE', mechanism, initialResponse: '' };
  if (!/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(ir)) fail('the initial response is not valid base64');
  return { name: 'AUTHENTICATE', mechanism, initialResponse: ir };
}

// RFC 2971 §4: at most 30 pairs, keys ≤ 30 octets, values ≤ 1024 octets.
function id(c: Cursor): Command {
  const t = c.next('ID parameters');
  c.end('ID');
  if (t.type === 'nil') return { name: 'ID', params: null };
  if (t.type !== 'list') fail('ID takes a parenthesized list or NIL');
  if (t.items.length % 2 !== 0) fail('ID parameters come in field/value pairs');
  if (t.items.length > 60) fail('more than 30 ID parameters');
  const params: Array<[string, string | null]> = [];
  for (let i = 0; i < t.items.length; i += 2) {
    const k = t.items[i]!;
    const v = t.items[i + 1]!;
    if (k.type !== 'quoted' && k.type !== 'literal') fail('ID field names are strings');
    const key = astringOf(k, 'ID field');
    if (Buffer.byteLength(key) > 30) fail('ID field name longer than 30 octets');
    if (v.type === 'nil') params.push([key, null]);
    else {
      if (v.type !== 'quoted' && v.type !== 'literal') fail('ID values are strings or NIL');
      const value = astringOf(v, 'ID value');
      if (Buffer.byteLength(value) > 1024) fail('ID value longer than 1024 octets');
      params.push([key, value]);
    }
  }
  return { name: 'ID', params };
}

function select(c: Cursor, name: 'SELECT' | 'EXAMINE'): Command {
  const mailbox = c.mailbox();
  const cmd: Command = { name, mailbox, condstore: false };
  if (!c.done) {
    // RFC 4466 §2.1 select-params = "(" select-param *(SP select-param) ")"
    const params = new Cursor(c.list('SELECT parameters'), c.opts);
    while (!params.done) {
      const p = params.atom('SELECT parameter').toUpperCase();
      if (p === 'CONDSTORE') cmd.condstore = true;
      else if (p === 'QRESYNC') {
        if (cmd.qresync) fail('QRESYNC given twice');
        cmd.qresync = qresync(new Cursor(params.list('QRESYNC parameters'), c.opts));
      } else fail(`unknown SELECT parameter ${JSON.stringify(p.slice(0, 30))}`);
    }
  }
  c.end(name);
  return cmd;
}

// RFC 7162 §3.2.5: "QRESYNC" SP "(" uidvalidity SP mod-sequence-value [SP known-uids] [SP seq-match-data] ")"
function qresync(q: Cursor): QresyncParams {
  const uidValidity = q.nzNumber('QRESYNC UIDVALIDITY');
  const modseq = modseqOf(q.next('QRESYNC mod-sequence'), 'QRESYNC mod-sequence', false);
  const r: QresyncParams = { uidValidity, modseq };
  if (!q.done && q.peek()!.type !== 'list') r.knownUids = concrete(q.sequenceSet('known UIDs'), 'known UIDs');
  if (!q.done) {
    const m = new Cursor(q.list('QRESYNC sequence match data'), q.opts);
    const seqs = concrete(m.sequenceSet('known sequence set'), 'known sequence set');
    const uids = concrete(m.sequenceSet('known UID set'), 'known UID set');
    m.end('QRESYNC sequence match data');
    if (count(seqs) !== count(uids)) fail('QRESYNC: the known sequence set and UID set differ in size');
    r.seqMatch = { seqs, uids };
  }
  q.end('QRESYNC');
  return r;
}

/** A sequence set without "$" or "*" where RFC 7162 asks for explicit numbers. */
function concrete(s: ParsedSequenceSet, what: string): SequenceSet {
  if (s.saved) fail(`${what}: "$" is not allowed here`);
  if (s.ranges.some((r) => r.start === '*' || r.end === '*')) fail(`${what}: "*" is not allowed here`);
  return s.ranges;
}

function count(s: SequenceSet): number {
  let n = 0;
  for (const r of s) n += Math.abs((r.end as number) - (r.start as number)) + 1;
  return n;
}

function statusItems(items: readonly Token[]): StatusItem[] {
  const out: StatusItem[] = [];
  for (const t of items) {
    if (t.type !== 'atom') fail(`expected a STATUS item, got ${describe(t)}`);
    const v = t.value.toUpperCase() as StatusItem;
    if (!STATUS_ITEMS.includes(v)) fail(`unknown STATUS item ${JSON.stringify(t.value.slice(0, 30))}`);
    if (!out.includes(v)) out.push(v);
  }
  return out;
}

// RFC 5258 §6: list = "LIST" [SP list-select-opts] SP mailbox SP mbox-or-pat [SP list-return-opts]
function list(c: Cursor): Command {
  const selection: ListSelection = { subscribed: false, remote: false, recursiveMatch: false, specialUse: false };
  const returns: ListReturn = { children: false, subscribed: false, specialUse: false };
  let extended = false;
  if (c.peek()?.type === 'list') {
    extended = true;
    for (const t of c.list('selection options')) {
      if (t.type !== 'atom') fail('LIST selection options are atoms');
      switch (t.value.toUpperCase()) {
        case 'SUBSCRIBED':
          selection.subscribed = true;
          break;
        case 'REMOTE':
          selection.remote = true;
          break;
        case 'RECURSIVEMATCH':
          selection.recursiveMatch = true;
          break;
        case 'SPECIAL-USE':
          selection.specialUse = true;
          break;
        default:
          fail(`unknown LIST selection option ${JSON.stringify(t.value.slice(0, 30))}`);
      }
    }
    // RFC 5258 §3.1: RECURSIVEMATCH alone (or with only REMOTE) is a BAD.
    if (selection.recursiveMatch && !selection.subscribed && !selection.specialUse) fail('RECURSIVEMATCH needs another selection option');
  }
  const reference = patternOf(c.next('reference name'), c.opts, 'reference name');
  const patterns: string[] = [];
  const p = c.next('mailbox pattern');
  if (p.type === 'list') {
    extended = true;
    if (p.items.length === 0) fail('empty pattern list');
    for (const x of p.items) patterns.push(patternOf(x, c.opts));
  } else patterns.push(patternOf(p, c.opts));
  if (!c.done) {
    extended = true;
    if (!c.accept('RETURN')) fail(`unexpected ${describe(c.peek()!)} after LIST arguments`);
    const r = new Cursor(c.list('RETURN options'), c.opts);
    while (!r.done) {
      const o = r.atom('RETURN option').toUpperCase();
      switch (o) {
        case 'CHILDREN':
          returns.children = true;
          break;
        case 'SUBSCRIBED':
          returns.subscribed = true;
          break;
        case 'SPECIAL-USE':
          returns.specialUse = true;
          break;
        case 'STATUS':
          // RFC 5819 §2: "STATUS" SP "(" status-att *(SP status-att) ")"
          returns.status = statusItems(r.list('STATUS items'));
          if (returns.status.length === 0) fail('RETURN STATUS needs at least one item');
          break;
        default:
          fail(`unknown LIST return option ${JSON.stringify(o.slice(0, 30))}`);
      }
    }
  }
  c.end('LIST');
  return { name: 'LIST', reference, patterns, selection, returns, extended };
}

// RFC 9051 §6.3.12 / RFC 3502 / RFC 6855 §4 / RFC 3516 §4.4:
// append = "APPEND" SP mailbox 1*append-message; append-message = [SP flag-list] [SP date-time] SP append-data
// append-data = literal / literal8 / "UTF8" SP "(" literal8 ")"
function append(c: Cursor): Command {
  const mailbox = c.mailbox();
  const messages: AppendMessage[] = [];
  do {
    const m: Partial<AppendMessage> = { flags: [] };
    if (c.peek()?.type === 'list') m.flags = flagListOf(c.list('flag list'), 'APPEND flags');
    if (c.peek()?.type === 'quoted') m.date = dateTimeOf(c.next('date-time'), 'APPEND date-time');
    const t = c.next('message literal');
    if (t.type === 'literal') {
      m.content = t.value;
      m.binary = t.binary;
      m.utf8 = false;
    } else if (t.type === 'atom' && t.value.toUpperCase() === 'UTF8') {
      const inner = c.list('UTF8 data');
      const l = inner[0];
      if (inner.length !== 1 || !l || l.type !== 'literal' || !l.binary) fail('UTF8 takes a parenthesized literal8: UTF8 (~{n}…)');
      m.content = l.value;
      m.binary = true;
      m.utf8 = true;
    } else fail(`APPEND: expected the message as a literal, got ${describe(t)}`);
    messages.push(m as AppendMessage);
  } while (!c.done);
  return { name: 'APPEND', mailbox, messages };
}

// RFC 9051 §6.4.4: "SEARCH" [search-return-opts] SP search-program; search-program = ["CHARSET" SP charset SP] search-key *(SP search-key)
function search(c: Cursor, uid: boolean): Command {
  let returns: SearchReturn | null = null;
  if (c.accept('RETURN')) {
    returns = { min: false, max: false, all: false, count: false, save: false };
    const opts = c.list('RETURN options');
    for (const o of opts) {
      if (o.type !== 'atom') fail('SEARCH RETURN options are atoms');
      const v = o.value.toUpperCase();
      if (v === 'MIN') returns.min = true;
      else if (v === 'MAX') returns.max = true;
      else if (v === 'ALL') returns.all = true;
      else if (v === 'COUNT') returns.count = true;
      else if (v === 'SAVE') returns.save = true;
      else fail(`unknown SEARCH RETURN option ${JSON.stringify(o.value.slice(0, 30))}`);
    }
    // RFC 4731 §3.1: RETURN () means RETURN (ALL).
    if (opts.length === 0) returns.all = true;
  }
  let charset: string | undefined;
  if (c.accept('CHARSET')) {
    charset = c.astring('charset');
    if (!SEARCH_CHARSETS.some((x) => x === charset!.toUpperCase())) {
      // RFC 9051 §6.4.4: an unsupported charset is a tagged NO with [BADCHARSET (…)].
      throw new ArgError(`charset ${JSON.stringify(charset.slice(0, 40))} is not supported`, 'NO', { name: 'BADCHARSET', charsets: [...SEARCH_CHARSETS] });
    }
    charset = charset.toUpperCase();
  }
  const key = parseSearchKeys(c);
  const cmd: Command = { name: 'SEARCH', uid, returns, key };
  if (charset !== undefined) cmd.charset = charset;
  return cmd;
}

// RFC 9051 §6.4.5 + RFC 7162 §3.1.4 / §3.2.6: fetch-modifiers = SP "(" fetch-modifier *(SP fetch-modifier) ")"
function fetch(c: Cursor, uid: boolean): Command {
  const set = c.sequenceSet();
  const items = parseFetchAtts(c);
  const cmd: Command = { name: 'FETCH', uid, set, items, vanished: false };
  if (!c.done) {
    const mods = new Cursor(c.list('FETCH modifiers'), c.opts);
    while (!mods.done) {
      const m = mods.atom('FETCH modifier').toUpperCase();
      if (m === 'CHANGEDSINCE') cmd.changedSince = modseqOf(mods.next('CHANGEDSINCE value'), 'CHANGEDSINCE value');
      else if (m === 'VANISHED') cmd.vanished = true;
      else fail(`unknown FETCH modifier ${JSON.stringify(m.slice(0, 30))}`);
    }
    // RFC 7162 §3.2.6: VANISHED only with UID FETCH and CHANGEDSINCE.
    if (cmd.vanished && !uid) fail('VANISHED is only allowed in UID FETCH');
    if (cmd.vanished && cmd.changedSince === undefined) fail('VANISHED needs CHANGEDSINCE');
  }
  c.end('FETCH');
  return cmd;
}

// RFC 9051 §6.4.6 + RFC 7162 §3.1.3: "STORE" SP sequence-set [SP "(" "UNCHANGEDSINCE" SP mod-sequence-valzer ")"] SP store-att-flags
function store(c: Cursor, uid: boolean): Command {
  const set = c.sequenceSet();
  let unchangedSince: number | undefined;
  if (c.peek()?.type === 'list') {
    const mods = new Cursor(c.list('STORE modifiers'), c.opts);
    while (!mods.done) {
      const m = mods.atom('STORE modifier').toUpperCase();
      if (m !== 'UNCHANGEDSINCE') fail(`unknown STORE modifier ${JSON.stringify(m.slice(0, 30))}`);
      unchangedSince = modseqOf(mods.next('UNCHANGEDSINCE value'), 'UNCHANGEDSINCE value');
    }
  }
  const att = c.atom('STORE data item').toUpperCase();
  // store-att-flags = (["+" / "-"] "FLAGS" [".SILENT"]) SP (flag-list / (flag *(SP flag)))
  const m = /^([+-]?)FLAGS(\.SILENT)?$/.exec(att);
  if (!m) fail(`unknown STORE data item ${JSON.stringify(att.slice(0, 30))}`);
  let flags: string[];
  if (c.peek()?.type === 'list') {
    flags = flagListOf(c.list('flag list'));
    c.end('STORE');
  } else {
    const ts: Token[] = [];
    while (!c.done) ts.push(c.next('flag'));
    if (ts.length === 0) fail('STORE needs flags');
    flags = flagListOf(ts);
  }
  const cmd: Command = { name: 'STORE', uid, set, mode: m[1] === '+' ? 'add' : m[1] === '-' ? 'remove' : 'set', silent: m[2] !== undefined, flags };
  if (unchangedSince !== undefined) cmd.unchangedSince = unchangedSince;
  return cmd;
}

function copy(c: Cursor, name: 'COPY' | 'MOVE', uid: boolean): Command {
  const set = c.sequenceSet();
  const mailbox = c.mailbox();
  c.end(name);
  return { name, uid, set, mailbox };
}

export { sequenceSetOf, mailboxOf };
