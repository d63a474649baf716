// A small reader for the YAML subset the conformance suites use (the OpenSPF
// RFC 7208 suite and the ValiMail ARC suites): documents separated by `---`,
// `#` comments, block mappings and sequences by indentation (a sequence may
// sit at its key's indentation), `- key: value` items, plain scalars (folded
// over several lines), single- and double-quoted scalars (with \xHH, \uHHHH,
// \n, \t, \r, \0, \\ and \" escapes), flow sequences `[a, "b"]`, and block
// scalars `|`, `|-`, `|+`, `>`, `>-`, `>+`. Not read: anchors and aliases,
// tags, flow mappings, and the compact nested sequence `- - x` (write "-" and
// the inner list on the next, deeper lines). Every scalar is a string (no
// number, boolean or null typing: the harnesses interpret values). Anything
// else throws with the line number. No package for YAML is installed, and this
// is all the suites need.

export type YamlValue = string | YamlValue[] | { [key: string]: YamlValue };

interface Line {
  indent: number;
  text: string; // without indentation
  raw: string; // the whole line
  no: number; // 1-based
}

/** All documents of a multi-document stream. Empty documents are skipped. */
export function parseYamlDocuments(src: string): YamlValue[] {
  const docs: string[][] = [[]];
  const lines = src.replace(/\r\n/g, '\n').split('\n');
  const starts: number[] = [1];
  lines.forEach((l, i) => {
    if (/^---\s*$/.test(l)) {
      docs.push([]);
      starts.push(i + 2);
    } else docs[docs.length - 1].push(l);
  });
  const out: YamlValue[] = [];
  docs.forEach((d, i) => {
    const v = parseYaml(d.join('\n'), starts[i]);
    if (v !== '') out.push(v);
  });
  return out;
}

/** One document. */
export function parseYaml(src: string, firstLine = 1): YamlValue {
  const p = new Parser(src.split('\n'), firstLine);
  return p.document();
}

class Parser {
  readonly #raw: string[];
  readonly #first: number;
  #i = 0;

  constructor(raw: string[], first: number) {
    this.#raw = raw;
    this.#first = first;
  }

  document(): YamlValue {
    const l = this.#peek();
    if (!l) return '';
    return this.#node(l.indent);
  }

  /** The next meaningful line (skips blank lines and comment lines). */
  #peek(): Line | null {
    while (this.#i < this.#raw.length) {
      const raw = this.#raw[this.#i];
      const t = raw.trimStart();
      if (t === '' || t.startsWith('#')) {
        this.#i++;
        continue;
      }
      return { indent: raw.length - t.length, text: t.trimEnd(), raw, no: this.#first + this.#i };
    }
    return null;
  }

  #fail(msg: string, l: Line | null): never {
    throw new Error(`yaml-lite: ${msg} at line ${l ? l.no : 'end'}`);
  }

  /** A block node starting at the current line, at indentation `indent`. */
  #node(indent: number): YamlValue {
    const l = this.#peek()!;
    if (l.text.startsWith('- ') || l.text === '-') return this.#sequence(l.indent);
    if (this.#isKey(l.text)) return this.#mapping(l.indent);
    // A bare scalar document or item.
    this.#i++;
    return this.#scalarWithContinuation(l.text, indent, l);
  }

  #isKey(text: string): boolean {
    return keySplit(text) !== null;
  }

  #mapping(indent: number): YamlValue {
    const out: { [k: string]: YamlValue } = {};
    for (;;) {
      const l = this.#peek();
      if (!l || l.indent < indent) break;
      if (l.indent > indent) this.#fail('unexpected indentation', l);
      const kv = keySplit(l.text);
      if (!kv) break;
      this.#i++;
      out[kv.key] = this.#valueAfterKey(kv.rest, indent, l);
    }
    return out;
  }

  /** The value after `key:` on line `l` whose key sits at `indent`. */
  #valueAfterKey(rest: string, indent: number, l: Line): YamlValue {
    const r = stripComment(rest).trim();
    if (r === '') {
      const next = this.#peek();
      if (!next) return '';
      // A nested block, or a sequence at the key's own indentation.
      if (next.indent > indent) return this.#node(next.indent);
      if (next.indent === indent && (next.text.startsWith('- ') || next.text === '-')) return this.#sequence(indent);
      return '';
    }
    if (/^[|>][+-]?\d*$/.test(r)) return this.#blockScalar(r, indent);
    return this.#scalarWithContinuation(rest.trim(), indent, l);
  }

  #sequence(indent: number): YamlValue {
    const out: YamlValue[] = [];
    for (;;) {
      const l = this.#peek();
      if (!l || l.indent !== indent || !(l.text.startsWith('- ') || l.text === '-')) {
        if (l && l.indent > indent) this.#fail('unexpected indentation in sequence', l);
        break;
      }
      const after = l.text === '-' ? '' : l.text.slice(2);
      const itemIndent = indent + 2 + (after.length - after.trimStart().length);
      const body = after.trimStart();
      if (body === '') {
        this.#i++;
        const next = this.#peek();
        out.push(next && next.indent > indent ? this.#node(next.indent) : '');
        continue;
      }
      const kv = keySplit(body);
      if (kv && !/^["'[]/.test(body)) {
        // `- key: value` starts a mapping whose keys sit at itemIndent.
        this.#i++;
        const m: { [k: string]: YamlValue } = {};
        m[kv.key] = this.#valueAfterKey(kv.rest, itemIndent, l);
        for (;;) {
          const n = this.#peek();
          if (!n || n.indent !== itemIndent) break;
          const kv2 = keySplit(n.text);
          if (!kv2) break;
          this.#i++;
          m[kv2.key] = this.#valueAfterKey(kv2.rest, itemIndent, n);
        }
        out.push(m);
        continue;
      }
      if (/^[|>][+-]?\d*$/.test(body)) {
        this.#i++;
        out.push(this.#blockScalar(body, indent));
        continue;
      }
      this.#i++;
      out.push(this.#scalarWithContinuation(body, indent, l));
    }
    return out;
  }

  /** A flow or quoted or plain scalar starting with `text`; plain scalars continue on more-indented lines. */
  #scalarWithContinuation(text: string, indent: number, l: Line): YamlValue {
    if (text.startsWith('[')) return parseFlowSequence(stripComment(text).trim(), l);
    if (text.startsWith('"') || text.startsWith("'")) {
      let t = text;
      // A quoted scalar may continue on the next lines (folded with spaces).
      while (!quotedComplete(t)) {
        const n = this.#raw[this.#i];
        if (n === undefined) this.#fail('unterminated quoted scalar', l);
        this.#i++;
        t += ' ' + n.trim();
      }
      const { value, end } = parseQuoted(t, l);
      const tail = stripComment(t.slice(end)).trim();
      if (tail !== '') this.#fail(`text after a quoted scalar: ${tail}`, l);
      return value;
    }
    const parts = [stripComment(text).trim()];
    // YAML 1.2 §7.3.3: a plain scalar may span lines; line breaks fold to spaces.
    for (;;) {
      const raw = this.#raw[this.#i];
      if (raw === undefined) break;
      const t = raw.trimStart();
      if (t === '' || t.startsWith('#')) break;
      const ind = raw.length - t.length;
      if (ind <= indent) break;
      if (keySplit(t) && ind <= indent) break;
      parts.push(stripComment(t).trim());
      this.#i++;
    }
    return parts.join(' ');
  }

  /** YAML 1.2 §8.1: literal (|) and folded (>) block scalars with chomping. */
  #blockScalar(header: string, parentIndent: number): string {
    const chomp = header.includes('-') ? 'strip' : header.includes('+') ? 'keep' : 'clip';
    const folded = header.startsWith('>');
    const explicit = /\d/.exec(header);
    const lines: string[] = [];
    let contentIndent = explicit ? parentIndent + Number(explicit[0]) : -1;
    while (this.#i < this.#raw.length) {
      const raw = this.#raw[this.#i];
      const t = raw.trimStart();
      const ind = raw.length - t.length;
      if (t === '') {
        lines.push('');
        this.#i++;
        continue;
      }
      if (contentIndent < 0) {
        if (ind <= parentIndent) break;
        contentIndent = ind;
      }
      if (ind < contentIndent) break;
      lines.push(raw.slice(contentIndent));
      this.#i++;
    }
    // Trailing blank lines belong to chomping.
    let trailing = 0;
    while (lines.length > 0 && lines[lines.length - 1] === '') {
      lines.pop();
      trailing++;
    }
    let body: string;
    if (!folded) body = lines.join('\n');
    else {
      body = '';
      for (let k = 0; k < lines.length; k++) {
        const cur = lines[k];
        if (k === 0) body = cur;
        else if (cur === '' || /^\s/.test(cur) || lines[k - 1] === '' || /^\s/.test(lines[k - 1])) body += '\n' + cur;
        else body += ' ' + cur;
      }
      // Blank lines between folded lines stand for newlines: "a\n\nb" → "a\nb".
      body = body.replace(/\n\n(?=\S)/g, '\n');
    }
    if (lines.length === 0) return chomp === 'keep' ? '\n'.repeat(trailing) : '';
    if (chomp === 'strip') return body;
    if (chomp === 'clip') return body + '\n';
    return body + '\n' + '\n'.repeat(trailing);
  }
}

/** `key: rest` → { key, rest }, or null. Keys are plain or quoted. */
function keySplit(text: string): { key: string; rest: string } | null {
  if (text.startsWith('- ') || text.startsWith('[')) return null;
  if (text.startsWith('"') || text.startsWith("'")) {
    try {
      const { value, end } = parseQuoted(text, null);
      const m = /^\s*:(\s|$)/.exec(text.slice(end));
      return m ? { key: value, rest: text.slice(end + m[0].length) } : null;
    } catch {
      return null;
    }
  }
  // A plain key may contain ':' not followed by a space ("foo:bar/baz.example.com:").
  const m = /^([^\s#:][^]*?)\s*:(\s|$)/.exec(text);
  if (!m) return null;
  return { key: m[1], rest: text.slice(m[0].length) };
}

/** Removes a ` #` comment from a plain value (not inside quotes). */
function stripComment(s: string): string {
  let q: string | null = null;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (q) {
      if (c === '\\' && q === '"') i++;
      else if (c === q) q = null;
    } else if (c === '"' || c === "'") {
      if (i === 0 || /[\s[,]/.test(s[i - 1])) q = c;
    } else if (c === '#' && (i === 0 || /\s/.test(s[i - 1]))) return s.slice(0, i);
  }
  return s;
}

function quotedComplete(t: string): boolean {
  try {
    parseQuoted(t, null);
    return true;
  } catch {
    return false;
  }
}

/** A quoted scalar at the start of `t`: its value and the index after the closing quote. */
function parseQuoted(t: string, l: Line | null): { value: string; end: number } {
  const q = t[0];
  let out = '';
  let i = 1;
  for (;;) {
    if (i >= t.length) throw new Error(`yaml-lite: unterminated quoted scalar at line ${l?.no ?? '?'}`);
    const c = t[i];
    if (q === "'") {
      if (c === "'") {
        if (t[i + 1] === "'") {
          out += "'";
          i += 2;
          continue;
        }
        return { value: out, end: i + 1 };
      }
      out += c;
      i++;
      continue;
    }
    if (c === '"') return { value: out, end: i + 1 };
    if (c !== '\\') {
      out += c;
      i++;
      continue;
    }
    const e = t[i + 1];
    const hex = (n: number) => {
      const h = t.slice(i + 2, i + 2 + n);
      if (!new RegExp(`^[0-9a-fA-F]{${n}}$`).test(h)) throw new Error(`yaml-lite: bad escape at line ${l?.no ?? '?'}`);
      out += String.fromCodePoint(parseInt(h, 16));
      i += 2 + n;
    };
    switch (e) {
      case 'x':
        hex(2);
        continue;
      case 'u':
        hex(4);
        continue;
      case 'U':
        hex(8);
        continue;
      case 'n':
        out += '\n';
        break;
      case 't':
        out += '\t';
        break;
      case 'r':
        out += '\r';
        break;
      case '0':
        out += '\0';
        break;
      case ' ':
        out += ' ';
        break;
      case '/':
        out += '/';
        break;
      case '\\':
        out += '\\';
        break;
      case '"':
        out += '"';
        break;
      default:
        throw new Error(`yaml-lite: unknown escape \\${e} at line ${l?.no ?? '?'}`);
    }
    i += 2;
  }
}

/** `[a, "b", 'c']` (no nesting needed by the suites, but nested lists work). */
function parseFlowSequence(t: string, l: Line): YamlValue[] {
  let i = 0;
  const fail = (m: string): never => {
    throw new Error(`yaml-lite: ${m} in flow sequence at line ${l.no}`);
  };
  const ws = () => {
    while (i < t.length && /\s/.test(t[i])) i++;
  };
  const seq = (): YamlValue[] => {
    if (t[i] !== '[') fail('expected [');
    i++;
    const out: YamlValue[] = [];
    ws();
    if (t[i] === ']') {
      i++;
      return out;
    }
    for (;;) {
      ws();
      if (t[i] === '[') out.push(seq());
      else if (t[i] === '"' || t[i] === "'") {
        const { value, end } = parseQuoted(t.slice(i), l);
        out.push(value);
        i += end;
      } else {
        let j = i;
        while (j < t.length && t[j] !== ',' && t[j] !== ']') j++;
        out.push(t.slice(i, j).trim());
        i = j;
      }
      ws();
      if (t[i] === ',') {
        i++;
        continue;
      }
      if (t[i] === ']') {
        i++;
        return out;
      }
      fail('expected , or ]');
    }
  };
  const v = seq();
  ws();
  if (i !== t.length) fail('text after ]');
  return v;
}
