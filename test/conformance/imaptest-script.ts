// Dovecot imaptest's scripted-test format (../shared/conformance/imap/imaptest/
// scripted_test.md), re-implemented for our runner: a header of `key: value`
// lines, then command groups (method 1 `ok cmd`, method 2 `cmd` … `ok [code]`,
// method 3 `tagN cmd` … `tagN ok`, a connection number first when there are
// several), expected untagged replies (`*` must, `!` must not, `?` may),
// `{{{ … }}}` multi-line literals (`~{{{` for literal8), `!ifenv`/`!ifnenv`/
// `!else`/`!endif`, `!ordered`, `!sleep`; an argument parser that reads IMAP
// the way Dovecot's does with ATOM_ALLCHARS (so expected and received lines
// split alike); the matcher with `$variables`, `$` wildcards, `$N` relative
// sequences, `$modseqN`, `${case:…}`, and the `$!unordered[=n]`, `$!noextra`,
// `$!ignore=`, `$!ban=` list directives with the defaults for FETCH, FLAGS,
// LIST/LSUB and STATUS; and the mbox reader for `<name>.mbox`. Pure: strings
// in (latin1, so literal lengths are octets), values out; no I/O.

/** An IMAP argument as imaptest sees it. Strings are latin1 (octets). */
export type Arg =
  | { t: 'atom'; v: string }
  | { t: 'string'; v: string }
  | { t: 'literal'; v: string; binary: boolean }
  | { t: 'nil' }
  | { t: 'list'; items: Arg[] };

export type Existence = 'must' | 'mustNot' | 'may';
export type Untagged = { args: Arg[]; existence: Existence; line: number };

export type ScriptCommand = {
  line: number;
  /** The N of `tagN`, 0 when the command is not pipelined. */
  tag: number;
  /** The command text after the reply word, with `{{{` literals turned into `{n}` CRLF data. */
  text: string;
  /** Expected tagged reply (prefix-matched), filled when the reply line is read. */
  reply: Arg[] | null;
};

export type Group = {
  /** 0-based connection index. */
  connection: number;
  commands: ScriptCommand[];
  untagged: Untagged[];
  ordered: boolean;
  sleepMs: number;
  repliesPending: number;
};

export type StartState = 'nonauth' | 'auth' | 'created' | 'appended' | 'selected';

export type Script = {
  name: string;
  capabilities: string[];
  connections: number;
  /** Messages appended at start: a count, or 'all' of the mbox. */
  messages: number | 'all';
  state: StartState;
  ignoreExtraUntagged: boolean;
  groups: Group[];
  /** A group of untagged replies before any command checks the greeting. */
  bannerCheck: boolean;
};

export type ParseScriptResult = { ok: true; script: Script } | { ok: false; error: string };

// ---------------------------------------------------------------------------
// Arguments

/**
 * Parse IMAP arguments like Dovecot's parser with ATOM_ALLCHARS: an atom runs
 * to a space, a line end, or ")" inside a list; "(" starts a list, `"` a quoted
 * string, `{n}`/`{n+}`/`~{n}` CRLF a literal of n octets. NIL is its own type.
 * Never throws: what cannot be parsed ends the list.
 */
export function parseArgs(s: string, start = 0): Arg[] {
  const p = { s, i: start };
  return readList(p, 0, false);
}

function readList(p: { s: string; i: number }, depth: number, inList: boolean): Arg[] {
  const out: Arg[] = [];
  const s = p.s;
  for (;;) {
    while (p.i < s.length && s[p.i] === ' ') p.i++;
    if (p.i >= s.length || s[p.i] === '\r' || s[p.i] === '\n') return out;
    const c = s[p.i]!;
    if (c === ')' && inList) {
      p.i++;
      return out;
    }
    if (c === '(') {
      p.i++;
      out.push({ t: 'list', items: depth > 100 ? [] : readList(p, depth + 1, true) });
      continue;
    }
    if (c === '"') {
      let v = '';
      p.i++;
      while (p.i < s.length && s[p.i] !== '"') {
        if (s[p.i] === '\\' && p.i + 1 < s.length) p.i++;
        v += s[p.i];
        p.i++;
      }
      p.i++;
      out.push({ t: 'string', v });
      continue;
    }
    const lit = /^(~?)\{(\d+)\+?\}\r?\n/.exec(s.slice(p.i, p.i + 30));
    if (lit) {
      const n = Number(lit[2]);
      p.i += lit[0].length;
      out.push({ t: 'literal', v: s.slice(p.i, p.i + n), binary: lit[1] === '~' });
      p.i += n;
      continue;
    }
    const begin = p.i;
    while (p.i < s.length && s[p.i] !== ' ' && s[p.i] !== '\r' && s[p.i] !== '\n' && !(s[p.i] === ')' && inList)) p.i++;
    const v = s.slice(begin, p.i);
    out.push(v.toUpperCase() === 'NIL' ? { t: 'nil' } : { t: 'atom', v });
  }
}

/** Arguments back to text, for messages. */
export function argsToString(args: readonly Arg[]): string {
  return args
    .map((a) => {
      switch (a.t) {
        case 'atom':
          return a.v;
        case 'nil':
          return 'NIL';
        case 'string':
          return JSON.stringify(a.v);
        case 'literal':
          return a.v.length > 60 ? `{${a.v.length}}${JSON.stringify(a.v.slice(0, 60))}…` : `{${a.v.length}}${JSON.stringify(a.v)}`;
        case 'list':
          return `(${argsToString(a.items)})`;
      }
    })
    .join(' ');
}

function cstr(s: string): string {
  const nul = s.indexOf('\0');
  return nul < 0 ? s : s.slice(0, nul);
}

function astringOf(a: Arg | undefined): string | null {
  if (!a) return null;
  return a.t === 'atom' || a.t === 'string' || a.t === 'literal' ? a.v : null;
}

// ---------------------------------------------------------------------------
// Scripts

const HEADER_KEYS = new Set(['capabilities', 'connections', 'ignore_extra_untagged', 'messages', 'state']);

/** Parse a test file (read as latin1). `env` names the variables !ifenv sees. */
export function parseScript(name: string, text: string, env: ReadonlySet<string> = new Set()): ParseScriptResult {
  const script: Script = { name, capabilities: [], connections: 1, messages: 0, state: 'selected', ignoreExtraUntagged: true, groups: [], bannerCheck: false };
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  let header = true;
  let group: Group | null = null;
  const ifenv: Array<{ skip: boolean; elseSeen: boolean }> = [];
  let skip = false;
  // Multi-line literal state.
  let multi: string | null = null;
  let multiStart = 0;
  let multiLastEnd = 0;
  let multiBinary = false;
  let startLine = 0;
  const fail = (n: number, e: string): ParseScriptResult => ({ ok: false, error: `${name} line ${n}: ${e}` });

  for (let idx = 0; idx < lines.length; idx++) {
    const n = idx + 1;
    // Lines keep a CR they may have: a `~{{{` literal8 takes the file's octets as they are.
    let line = lines[idx]!;
    if (multi !== null) {
      if (!line.startsWith('}}}')) {
        multi += line;
        multiLastEnd = multi.length;
        multi += multiBinary ? '\n' : '\r\n';
        continue;
      }
      multi = multi.slice(0, multiLastEnd);
      const len: number = multi.length - multiStart;
      multi = multi.slice(0, multiStart) + `${multiBinary ? '~' : ''}{${len}}\r\n` + multi.slice(multiStart);
      const rest = line.slice(3);
      if (rest.endsWith('{{{')) {
        multiBinary = rest.endsWith('~{{{');
        multi += rest.slice(0, rest.length - (multiBinary ? 4 : 3));
        multiStart = multi.length;
        multiLastEnd = multi.length;
        continue;
      }
      line = multi + rest;
      multi = null;
    } else {
      startLine = n;
      if (line.length === 0) {
        header = false;
        continue;
      }
      if (line.startsWith('#')) continue;
      if (line.endsWith('{{{')) {
        multiBinary = line.endsWith('~{{{');
        multi = line.slice(0, line.length - (multiBinary ? 4 : 3));
        multiStart = multi.length;
        multiLastEnd = multi.length;
        continue;
      }
    }

    if (header) {
      const colon = line.indexOf(':');
      if (colon < 0) return fail(n, "missing ':' in header");
      const key = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      if (key.startsWith('user ')) continue; // per-connection users: every connection uses the test user
      if (!HEADER_KEYS.has(key)) return fail(n, `unknown setting ${key}`);
      if (key === 'capabilities') script.capabilities = value.split(/\s+/).filter(Boolean);
      else if (key === 'connections') {
        script.connections = Number.parseInt(value, 10);
        if (!(script.connections >= 1 && script.connections <= 100)) return fail(n, 'bad connection count');
      } else if (key === 'ignore_extra_untagged') script.ignoreExtraUntagged = value.startsWith('y');
      else if (key === 'messages') script.messages = value === 'all' ? 'all' : Number.parseInt(value, 10) || 0;
      else if (key === 'state') {
        const v = value.toLowerCase();
        if (v !== 'nonauth' && v !== 'auth' && v !== 'created' && v !== 'appended' && v !== 'selected') return fail(n, 'unknown state value');
        script.state = v;
      }
      continue;
    }

    // Preprocessing.
    const envMatch = /^!if(n?)env (.*)$/.exec(line);
    if (envMatch) {
      ifenv.push({ skip, elseSeen: false });
      const has = env.has(envMatch[2]!);
      const want = envMatch[1] === 'n' ? !has : has;
      if (!want) skip = true;
      continue;
    }
    if (line === '!else') {
      const top = ifenv[ifenv.length - 1];
      if (!top) return fail(n, '!else without !ifenv');
      if (top.elseSeen) return fail(n, '!else already seen');
      top.elseSeen = true;
      if (!top.skip) skip = !skip;
      continue;
    }
    if (line === '!endif') {
      const top = ifenv.pop();
      if (!top) return fail(n, '!endif without !ifenv');
      skip = top.skip;
      continue;
    }
    if (skip) continue;

    if (group) {
      if (line.startsWith('!sleep ')) {
        group.sleepMs = Number.parseInt(line.slice(7), 10) || 0;
        continue;
      }
      if (line.startsWith('!output ')) continue;
      if (line === '!ordered') {
        group.ordered = true;
        continue;
      }
      const ex = untaggedExistence(line);
      if (ex) {
        group.untagged.push({ args: withDefaultDirectives(parseArgs(line, 2)), existence: ex, line: startLine });
        continue;
      }
      if (group.repliesPending > 0) {
        let rest = line;
        let conn = 0;
        const cm = /^(\d+) (.*)$/s.exec(rest);
        if (script.connections > 1 && cm && Number(cm[1]) > 0) {
          conn = Number(cm[1]);
          rest = cm[2]!;
        }
        const r = replyPrefix(rest);
        if (r) {
          if (script.connections > 1) {
            if (conn === 0) return fail(n, 'missing client index');
            if (conn - 1 !== group.connection) return fail(n, 'reply for wrong connection');
          }
          const cmd = group.commands.find((c) => c.tag === r.tag);
          if (!cmd) return fail(n, 'reply for unknown tag');
          if (cmd.reply) return fail(n, 'command already has a reply');
          const args = parseArgs(rest);
          cmd.reply = r.tag === 0 ? args : args.slice(1);
          group.repliesPending--;
          continue;
        }
      }
    }

    if (!group || group.repliesPending === 0) {
      group = { connection: 0, commands: [], untagged: [], ordered: false, sleepMs: 0, repliesPending: 0 };
      script.groups.push(group);
    }
    let rest = line;
    if (script.connections > 1) {
      const cm = /^(\d+)(?: (.*))?$/s.exec(rest);
      if (!cm || Number(cm[1]) === 0) return fail(n, 'missing client index');
      const conn = Number(cm[1]);
      if (conn > 100) return fail(n, 'too many connections');
      if (group.commands.length > 0 && group.connection !== conn - 1) return fail(n, 'all pipelined commands must use the same connection');
      group.connection = conn - 1;
      if (script.connections < conn) script.connections = conn;
      rest = cm[2] ?? '';
    }
    const r = replyPrefix(rest);
    const cmd: ScriptCommand = { line: startLine, tag: r?.tag ?? 0, text: r ? r.rest : rest, reply: r?.reply ?? null };
    if (!r) {
      const t = /^tag(\d+) (.*)$/is.exec(rest);
      if (t && Number(t[1]) > 0) {
        cmd.tag = Number(t[1]);
        cmd.text = t[2]!;
      }
    }
    if (cmd.tag === 0) {
      if (group.repliesPending > 0) return fail(n, 'missing reply from previous command group');
    } else if (group.commands.some((c) => c.tag === cmd.tag)) return fail(n, 'tag reused within command group');
    if (group.commands.length === 0) {
      const ex = untaggedExistence(cmd.text);
      if (ex) {
        script.bannerCheck = true;
        group.untagged.push({ args: withDefaultDirectives(parseArgs(cmd.text, 2)), existence: ex, line: startLine });
        continue;
      }
    }
    if (cmd.reply === null) group.repliesPending++;
    group.commands.push(cmd);
  }
  if (multi !== null) return fail(startLine, 'multi-line literal not ended');
  if (ifenv.length > 0) return fail(lines.length, '!ifenv not closed with !endif');
  if (script.groups.length === 0) return { ok: false, error: `${name}: no commands in file` };
  const last = script.groups[script.groups.length - 1]!;
  if (last.repliesPending > 0) return fail(lines.length, 'missing reply from previous command');
  // imaptest ends every test with LOGOUT on the first connection unless it logs out itself.
  const hasLogout = script.groups.some((g) => g.commands.some((c) => c.text.toLowerCase() === 'logout') || g.untagged.some((u) => u.existence === 'must' && /^bye/i.test(astringOf(u.args[0]) ?? '')));
  if (!hasLogout) script.groups.push({ connection: 0, commands: [{ line: 0, tag: 0, text: 'logout', reply: [{ t: 'atom', v: 'ok' }] }], untagged: [], ordered: false, sleepMs: 0, repliesPending: 0 });
  return { ok: true, script };
}

function untaggedExistence(line: string): Existence | null {
  if (line.startsWith('* ')) return 'must';
  if (line.startsWith('! ')) return 'mustNot';
  if (line.startsWith('? ')) return 'may';
  return null;
}

/** `[tagN ]ok|no|bad|"" rest` → the tag, the expected reply and the rest. */
function replyPrefix(line: string): { tag: number; reply: Arg[]; rest: string } | null {
  let tag = 0;
  let rest = line;
  const t = /^tag(\d+) (.*)$/is.exec(rest);
  if (t && Number(t[1]) > 0) {
    tag = Number(t[1]);
    rest = t[2]!;
  }
  const m = /^(ok|no|bad|"")(?: (.*)|$)/is.exec(rest);
  if (!m) return null;
  const word = m[1]!.toLowerCase();
  return { tag, reply: [{ t: 'atom', v: word === '""' ? '' : word }], rest: m[2] ?? '' };
}

function isDirective(a: Arg): boolean {
  return a.t === 'atom' && a.v.startsWith('$!');
}

/** The default list directives for expected untagged replies (scripted_test.md "Directives"). */
export function withDefaultDirectives(args: Arg[]): Arg[] {
  let name = '';
  const a0 = args[0];
  if (a0 && a0.t === 'atom') {
    name = a0.v;
    if (/^[$0-9]/.test(name)) name = args[1] && args[1].t === 'atom' ? args[1].v : '';
  }
  name = name.toLowerCase();
  const atom = (v: string): Arg => ({ t: 'atom', v });
  const addTo = (list: Arg, dirs: string[]): void => {
    if (list.t !== 'list' || (list.items[0] && isDirective(list.items[0]))) return;
    list.items.unshift(...dirs.map(atom));
  };
  if ((name === 'list' || name === 'lsub') && args[1]) addTo(args[1], ['$!unordered']);
  if (name === 'status' && args[2]) addTo(args[2], ['$!unordered=2']);
  if (name === 'fetch' && args[2] && args[2].t === 'list') {
    const fetchList = args[2];
    const hadDirectives = fetchList.items[0] !== undefined && isDirective(fetchList.items[0]);
    let prev = '';
    for (const item of fetchList.items) {
      if (item.t === 'list' && prev === 'flags') addTo(item, ['$!unordered', '$!noextra', '$!ignore=\\recent', '$!ignore=$HasAttachment', '$!ignore=$HasNoAttachment']);
      prev = item.t === 'atom' ? item.v.toLowerCase() : '';
    }
    if (!hadDirectives) fetchList.items.unshift(atom('$!unordered=2'));
  }
  return args;
}

// ---------------------------------------------------------------------------
// Matching

export const FULL = Number.POSITIVE_INFINITY;

/** Variables and sequence bookkeeping for one test run. */
export class Matcher {
  readonly vars = new Map<string, string>();
  /** Variables set during the current match attempt (reverted when it fails). */
  added: string[] = [];
  /** Initial sequence → current sequence (0 = expunged), for `$N`. */
  seqmap: number[] = [];
  private highestModseqIdx = 0;
  private highestModseqValue = 0;

  resetSeqmap(count: number): void {
    this.seqmap = Array.from({ length: count }, (_, i) => i + 1);
  }

  /** RFC 9051 §7.5.1: an EXPUNGE shifts the later sequence numbers down. */
  expunge(seq: number): void {
    if (seq > this.seqmap.length) return;
    for (let i = seq - 1; i < this.seqmap.length; i++) {
      const v = this.seqmap[i]!;
      if (v === seq) this.seqmap[i] = 0;
      else if (v > seq) this.seqmap[i] = v - 1;
    }
  }

  revertAdded(): void {
    for (const k of this.added) this.vars.delete(k);
    this.added = [];
  }

  private relativeSeq(n: number): string {
    if (n === 0) return '<zero seq>';
    if (n > this.seqmap.length) return '<out of range>';
    const v = this.seqmap[n - 1]!;
    return v === 0 ? '<expunged>' : String(v);
  }

  /** Expand `$var`, `${var}`, `$N` and `$$` in a command line; unknown variables are an error. */
  expandCommand(text: string): { ok: true; text: string } | { ok: false; error: string } {
    let out = '';
    let i = 0;
    while (i < text.length) {
      const c = text[i]!;
      if (c !== '$' || i === text.length - 1) {
        out += c;
        i++;
        continue;
      }
      i++;
      if (text[i] === '$') {
        out += '$';
        i++;
        continue;
      }
      if (text[i] === '!') {
        while (i < text.length && text[i] !== ' ') i++;
        i++;
        continue;
      }
      let name: string;
      if (text[i] === '{') {
        const end = text.indexOf('}', i + 1);
        if (end < 0) return { ok: false, error: "missing '}'" };
        name = text.slice(i + 1, end);
        i = end + 1;
      } else {
        const m = /^[A-Za-z0-9_]*/.exec(text.slice(i))![0];
        name = m;
        i += m.length;
      }
      if (/^\d+$/.test(name)) out += this.relativeSeq(Number(name));
      else {
        const v = this.vars.get(name);
        if (v === undefined) return { ok: false, error: `uninitialized variable: ${name}` };
        out += v;
      }
    }
    return { ok: true, text: out };
  }

  /** Expand a pattern against the received string, binding unknown variables; null when it cannot match. */
  expandInput(pattern: string, input: string): { out: string; icase: boolean } | null {
    let icase = true;
    let out = '';
    let si = 0;
    let ii = 0;
    while (si < pattern.length) {
      if (pattern[si] !== '$' || pattern[si + 1] === '$') {
        if (pattern[si] === '$') si++;
        if (ii >= input.length || pattern[si]!.toUpperCase() !== input[ii]!.toUpperCase()) return null;
        ii++;
        out += pattern[si++];
        continue;
      }
      si++;
      let name: string;
      if (pattern[si] === '{') {
        const end = pattern.indexOf('}', si + 1);
        if (end < 0) return { out: '', icase };
        name = pattern.slice(si + 1, end);
        si = end + 1;
      } else {
        const m = /^[A-Za-z0-9_]*/.exec(pattern.slice(si))![0];
        name = m;
        si += m.length;
      }
      let value: string;
      if (/^\d+$/.test(name)) value = this.relativeSeq(Number(name));
      else if (name.startsWith('case:')) {
        icase = false;
        value = name.slice(5);
      } else {
        const known = name === '' ? undefined : this.vars.get(name);
        if (known !== undefined) value = known;
        else {
          // The value runs up to the next character the pattern expects.
          const stop = pattern[si] === '$' && pattern[si + 1] !== '$' ? undefined : pattern[si];
          let p = ii;
          if (stop === undefined) p = input.length;
          else while (p < input.length && input[p]!.toUpperCase() !== stop.toUpperCase()) p++;
          value = input.slice(ii, p);
          const ms = /^modseq(\d+)$/.exec(name);
          if (name === '') {
            // "$" alone matches anything and binds nothing.
          } else if (ms) {
            value = this.modseqValue(Number(ms[1]), value);
            this.vars.set(name, value);
          } else {
            this.vars.set(name, value);
            this.added.push(name);
          }
        }
      }
      out += value;
      for (const ch of value) {
        if (input[ii] !== ch) return null;
        ii++;
      }
    }
    return { out, icase };
  }

  // scripted_test.md "Modseq Variables": $modseqN grow at least as fast as their index.
  private modseqValue(idx: number, text: string): string {
    if (!/^\d+$/.test(text)) return '$modseq-not-number';
    const v = Number(text);
    if (this.highestModseqIdx > idx) return '$modseq-order-mismatch';
    const atLeast = this.highestModseqValue + (idx - this.highestModseqIdx);
    this.highestModseqIdx = idx;
    if (v < atLeast) {
      this.highestModseqValue = atLeast;
      return `$modseq-at-least-${atLeast}`;
    }
    this.highestModseqValue = v;
    return text;
  }

  /** How many leading args match (FULL when all do). With prefix, the last pattern need only start the value. */
  matchArgs(match: readonly Arg[], args: readonly Arg[], max = FULL, prefix = false): number {
    let ret = 0;
    let mi = 0;
    let ai = 0;
    for (; mi < match.length && max > 0; mi++, ai++, max--) {
      const m = match[mi]!;
      const a = args[ai];
      if (m.t === 'nil') {
        if (!a || a.t !== 'nil') return ret;
      } else if (m.t === 'list') {
        if (!a || a.t !== 'list') return ret;
        const sub = this.matchList(m.items, a.items);
        if (sub !== FULL) return ret + sub;
      } else {
        if (m.v === '$' && a && a.t === 'list') {
          ret++;
          continue;
        }
        if (m.v === '$]') {
          while (args[ai] && args[ai]!.t === 'atom' && !(args[ai] as { v: string }).v.includes(']')) ai++;
          ret++;
          continue;
        }
        const full = astringOf(a);
        if (full === null) return ret;
        // imaptest compares C strings: a value (or pattern) ends at its first NUL.
        const s = cstr(full);
        const e = this.expandInput(cstr(m.v), s);
        if (!e) return ret;
        const last = prefix && mi === match.length - 1;
        const x = e.icase ? s.toUpperCase() : s;
        const y = e.icase ? e.out.toUpperCase() : e.out;
        if (last ? !x.startsWith(y) : x !== y) return ret;
      }
      ret++;
    }
    return prefix || ai >= args.length || max === 0 ? FULL : ret;
  }

  matchList(match: readonly Arg[], args: readonly Arg[]): number {
    let unordered = false;
    let chain = 1;
    let noextra = -1;
    const ignores: string[] = [];
    const bans: string[] = [];
    let k = 0;
    for (; k < match.length && isDirective(match[k]!); k++) {
      const d = (match[k] as { v: string }).v.slice(2);
      if (d.startsWith('unordered')) {
        unordered = true;
        if (noextra === -1) noextra = 0;
        if (d[9] === '=') chain = Number.parseInt(d.slice(10), 10) || 1;
      } else if (d === 'ordered') unordered = false;
      else if (d === 'extra') noextra = 0;
      else if (d === 'noextra') noextra = 1;
      else if (d.startsWith('ignore=')) ignores.push(d.slice(7).toUpperCase());
      else if (d.startsWith('ban=')) bans.push(d.slice(4).toUpperCase());
    }
    if (noextra === -1) noextra = 1;
    const rest = match.slice(k);
    if (!unordered) return this.matchArgs(rest, args);
    if (args.length % chain !== 0) return 0;
    const matched = new Array<boolean>(args.length).fill(false);
    let ret = 0;
    for (let mi = 0; mi < rest.length; mi += chain, ret++) {
      let found = false;
      for (let i = 0; i < args.length; i += chain) {
        if (this.matchArgs(rest.slice(mi), args.slice(i), chain) === FULL) {
          matched[i] = true;
          found = true;
          break;
        }
      }
      if (!found) return ret;
    }
    for (let i = 0; i < args.length; i += chain) {
      if (matched[i]) continue;
      const s = astringOf(args[i]);
      if (s === null) continue;
      if (noextra > 0 && !ignores.includes(s.toUpperCase())) return ret;
      if (noextra <= 0 && bans.includes(s.toUpperCase())) return ret;
    }
    return FULL;
  }
}

// ---------------------------------------------------------------------------
// mbox

export type MboxMessage = { content: string; date: string };

const FROM_LINE = /^From \S+\s+(?:[A-Za-z]{3} )?([A-Za-z]{3})\s+(\d{1,2}) (\d\d):(\d\d):(\d\d) (\d{4})(?: ([+-]\d{4}))?/;

/**
 * Messages of an mbox file (read as latin1): each starts at a "From " line; the
 * lines up to the next From line become the message with CRLF line ends. The
 * From line's time becomes the APPEND date-time ("+0000" when it has no zone).
 */
export function parseMbox(text: string): MboxMessage[] {
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  const out: MboxMessage[] = [];
  let cur: { lines: string[]; date: string } | null = null;
  for (const raw of lines) {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    const m = FROM_LINE.exec(line);
    if (m && (!cur || cur.lines.length > 0)) {
      if (cur) out.push({ content: cur.lines.map((l) => l + '\r\n').join(''), date: cur.date });
      cur = { lines: [], date: `${m[2]!.padStart(2, ' ')}-${m[1]}-${m[6]} ${m[3]}:${m[4]}:${m[5]} ${m[7] ?? '+0000'}` };
      continue;
    }
    if (cur) cur.lines.push(line);
  }
  if (cur && cur.lines.length > 0) out.push({ content: cur.lines.map((l) => l + '\r\n').join(''), date: cur.date });
  return out;
}
