// FETCH data items (RFC 9051 §6.4.5, §9 fetch-att; RFC 3501 §6.4.5 for the
// RFC822.* forms; RFC 3516 BINARY; RFC 7162 MODSEQ and the CHANGEDSINCE /
// VANISHED modifiers): parsing the item list (with the ALL/FAST/FULL macros)
// into typed items with a parsed section spec, the name an item is echoed
// under in the FETCH response, and which items set \Seen. Pure.
//
// API:
//   parseFetchAtts(cursor) → FetchAtt[]     (throws ArgError; used by commands.ts)
//   fetchAttResponseName(att) → string       e.g. "BODY[1.HEADER.FIELDS (From)]<0>"
//   setsSeen(att) → boolean                  (RFC 9051 §6.4.5: BODY[…], BINARY[…], RFC822, RFC822.TEXT)
//   sectionSpecString(section) → string      e.g. "1.2.MIME"
import { Cursor, astringOf, describe, fail } from './args.ts';
import type { Token } from './tokenizer.ts';

/** RFC 9051 §9 section-msgtext / section-text. */
export type SectionText = 'HEADER' | 'HEADER.FIELDS' | 'HEADER.FIELDS.NOT' | 'TEXT' | 'MIME';

/**
 * RFC 9051 §9 section-spec: part numbers (section-part, possibly empty) and
 * a text specifier or null; `fields` (as sent) for HEADER.FIELDS[.NOT].
 * `BODY[]` is { part: [], text: null }; `BODY[1.2.MIME]` is { part: [1, 2], text: 'MIME' }.
 * Structurally the same as section.ts's SectionSpec, so it can be passed to fetchSection.
 */
export type SectionSpec = { part: number[]; text: SectionText | null; fields?: string[] };

/** RFC 9051 §9: "<" number "." nz-number ">" — offset and length in octets. */
export type Partial = { offset: number; length: number };

export type SimpleFetchName =
  | 'FLAGS'
  | 'INTERNALDATE'
  | 'RFC822.SIZE'
  | 'ENVELOPE'
  | 'BODYSTRUCTURE'
  | 'BODY'
  | 'UID'
  | 'MODSEQ'
  | 'RFC822'
  | 'RFC822.HEADER'
  | 'RFC822.TEXT';

export type FetchAtt =
  | { name: SimpleFetchName }
  /** BODY[section]<partial> and BODY.PEEK[...]. */
  | { name: 'BODY[]'; peek: boolean; section: SectionSpec; partial?: Partial }
  /** RFC 3516 BINARY[part]<partial> and BINARY.PEEK[...]: decoded content-transfer-encoding. */
  | { name: 'BINARY[]'; peek: boolean; part: number[]; partial?: Partial }
  /** RFC 3516 BINARY.SIZE[part]. */
  | { name: 'BINARY.SIZE'; part: number[] };

const SIMPLE = new Set<string>(['FLAGS', 'INTERNALDATE', 'RFC822.SIZE', 'ENVELOPE', 'BODYSTRUCTURE', 'BODY', 'UID', 'MODSEQ', 'RFC822', 'RFC822.HEADER', 'RFC822.TEXT']);

// RFC 9051 §6.4.5 macros.
const MACROS: Record<string, SimpleFetchName[]> = {
  ALL: ['FLAGS', 'INTERNALDATE', 'RFC822.SIZE', 'ENVELOPE'],
  FAST: ['FLAGS', 'INTERNALDATE', 'RFC822.SIZE'],
  FULL: ['FLAGS', 'INTERNALDATE', 'RFC822.SIZE', 'ENVELOPE', 'BODY'],
};

/** Most part-number components accepted ("1.2.3…"), bounding nesting a client can ask for. */
const MAX_PART_DEPTH = 64;

/** RFC 9051 §9: "FETCH" SP sequence-set SP ("ALL" / "FULL" / "FAST" / fetch-att / "(" fetch-att *(SP fetch-att) ")"). */
export function parseFetchAtts(c: Cursor): FetchAtt[] {
  const t = c.next('FETCH data items');
  if (t.type === 'atom' && MACROS[t.value.toUpperCase()]) return MACROS[t.value.toUpperCase()]!.map((name) => ({ name }));
  if (t.type === 'list') {
    if (t.items.length === 0) fail('empty FETCH item list');
    const out: FetchAtt[] = [];
    for (const item of t.items) out.push(fetchAtt(item));
    return out;
  }
  return [fetchAtt(t)];
}

function fetchAtt(t: Token): FetchAtt {
  if (t.type === 'atom') {
    const name = t.value.toUpperCase();
    if (SIMPLE.has(name)) return { name: name as SimpleFetchName };
    if (MACROS[name]) fail(`the ${name} macro cannot be inside a list`);
    return fail(`unknown FETCH item ${JSON.stringify(t.value.slice(0, 30))}`);
  }
  if (t.type !== 'section') return fail(`expected a FETCH item, got ${describe(t)}`);
  const name = t.name.toUpperCase();
  const partial = t.partial ? partialOf(t.partial) : undefined;
  switch (name) {
    case 'BODY':
    case 'BODY.PEEK': {
      const att: FetchAtt = { name: 'BODY[]', peek: name === 'BODY.PEEK', section: sectionOf(t.section) };
      if (partial) att.partial = partial;
      return att;
    }
    case 'BINARY':
    case 'BINARY.PEEK': {
      const att: FetchAtt = { name: 'BINARY[]', peek: name === 'BINARY.PEEK', part: binaryPartOf(t.section) };
      if (partial) att.partial = partial;
      return att;
    }
    case 'BINARY.SIZE':
      if (t.partial) fail('BINARY.SIZE takes no partial');
      return { name: 'BINARY.SIZE', part: binaryPartOf(t.section) };
    default:
      return fail(`unknown FETCH item ${JSON.stringify(t.name.slice(0, 30) + '[')}`);
  }
}

function partialOf(p: { offset: number; length?: number }): Partial {
  // RFC 9051 §9: partial = "<" number64 "." nz-number64 ">"
  if (p.length === undefined) fail('a partial needs an offset and a length: <offset.length>');
  if (p.length === 0) fail('a partial length must not be 0');
  return { offset: p.offset, length: p.length };
}

function partNumbers(parts: string[], what: string): number[] {
  if (parts.length > MAX_PART_DEPTH) fail(`${what}: too many part numbers`);
  return parts.map((p) => {
    if (!/^[1-9][0-9]{0,9}$/.test(p)) fail(`${what}: invalid part number ${JSON.stringify(p.slice(0, 20))}`);
    const n = Number(p);
    if (n > 4294967295) fail(`${what}: part number too large`);
    return n;
  });
}

/** RFC 9051 §9 section-binary = "[" [section-part] "]". */
function binaryPartOf(tokens: Token[]): number[] {
  if (tokens.length === 0) return [];
  const t = tokens[0]!;
  if (tokens.length > 1 || (t.type !== 'atom' && t.type !== 'number')) fail('BINARY: expected part numbers like 1.2');
  return partNumbers(String(t.type === 'atom' ? t.value : t.value).split('.'), 'BINARY section');
}

/** RFC 9051 §9 section = "[" [section-spec] "]"; section-spec = section-msgtext / (section-part ["." section-text]). */
export function sectionOf(tokens: Token[]): SectionSpec {
  if (tokens.length === 0) return { part: [], text: null };
  const head = tokens[0]!;
  if (head.type !== 'atom' && head.type !== 'number') fail('section: expected part numbers or HEADER, TEXT, MIME');
  const comps = String(head.value).split('.');
  let k = 0;
  while (k < comps.length && /^[0-9]/.test(comps[k]!)) k++;
  const part = partNumbers(comps.slice(0, k), 'section');
  const text = comps.slice(k).join('.').toUpperCase();
  if (comps.slice(k).some((x) => x.length === 0)) fail('section: empty component');
  const spec: SectionSpec = { part, text: null };
  if (text === '') {
    if (tokens.length > 1) fail('section: unexpected field list');
    return spec;
  }
  switch (text) {
    case 'HEADER':
    case 'TEXT':
    case 'MIME':
      if (tokens.length > 1) fail(`section: ${text} takes no field list`);
      // RFC 9051 §9: section-text includes "MIME" only after section-part.
      if (text === 'MIME' && part.length === 0) fail('section: MIME needs a part number');
      spec.text = text;
      return spec;
    case 'HEADER.FIELDS':
    case 'HEADER.FIELDS.NOT': {
      const list = tokens[1];
      if (tokens.length !== 2 || !list || list.type !== 'list') fail(`section: ${text} needs a parenthesized field list`);
      if (list.items.length === 0) fail(`section: ${text} needs at least one field name`);
      const fields = list.items.map((f) => {
        const v = astringOf(f, 'header field name');
        // RFC 9051 §9 header-fld-name = astring; RFC 5322 §3.6.8 field-name = 1*ftext.
        if (!/^[\x21-\x39\x3b-\x7e]+$/.test(v)) fail(`section: invalid header field name ${JSON.stringify(v.slice(0, 40))}`);
        return v;
      });
      spec.text = text;
      spec.fields = fields;
      return spec;
    }
    default:
      return fail(`section: unknown section text ${JSON.stringify(text.slice(0, 30))}`);
  }
}

/** "1.2.HEADER.FIELDS (From To)" — the section spec as it is echoed in responses. */
export function sectionSpecString(s: SectionSpec): string {
  const parts: string[] = [];
  if (s.part.length > 0) parts.push(s.part.join('.'));
  if (s.text) parts.push(s.text);
  let out = parts.join('.');
  if (s.fields) out += ` (${s.fields.map((f) => (/^[\x21-\x7e]+$/.test(f) && !/[(){%*"\\\]]/.test(f) ? f : JSON.stringify(f))).join(' ')})`;
  return out;
}

/** The name a FETCH response uses for this item (RFC 9051 §7.5.2): no .PEEK, partial as <origin>. */
export function fetchAttResponseName(att: FetchAtt): string {
  switch (att.name) {
    case 'BODY[]':
      return `BODY[${sectionSpecString(att.section)}]${att.partial ? `<${att.partial.offset}>` : ''}`;
    case 'BINARY[]':
      return `BINARY[${att.part.join('.')}]${att.partial ? `<${att.partial.offset}>` : ''}`;
    case 'BINARY.SIZE':
      return `BINARY.SIZE[${att.part.join('.')}]`;
    default:
      return att.name;
  }
}

/** RFC 9051 §6.4.5: fetching these sets \Seen (unless the mailbox is read-only). */
export function setsSeen(att: FetchAtt): boolean {
  if (att.name === 'BODY[]' || att.name === 'BINARY[]') return !att.peek;
  return att.name === 'RFC822' || att.name === 'RFC822.TEXT';
}
