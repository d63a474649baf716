// Pure helpers over a message's header section (RFC 5322 §2.2, §3.5): find
// where it ends, list its fields (unfolded name and raw value), and drop the
// fields a predicate selects while leaving every other byte as received (so
// DKIM signatures over the rest still verify). No I/O; used by the session to
// apply `removeHeaders` verdicts and by policy hooks to read header fields.

export interface HeaderField {
  /** Field name as written (case kept). */
  name: string;
  /** Everything after the colon, folding kept, without the final CRLF. */
  value: string;
  /** Byte offsets of the whole field (name to final CRLF inclusive) in the message. */
  start: number;
  end: number;
}

/** Offset just past the blank line that ends the header section (or the
 * message length when there is none: a message of headers only). A message
 * that starts with the empty line has an empty header section (0 → 2). */
export function headerEnd(msg: Buffer): number {
  if (msg.length >= 2 && msg[0] === 13 && msg[1] === 10) return 2;
  const i = msg.indexOf('\r\n\r\n');
  return i < 0 ? msg.length : i + 4;
}

/** The header fields in order. Lines that are neither a field nor a
 * continuation (RFC 5322 §2.2: a field name is printable ASCII except ':')
 * end the header section, as most parsers treat them. At most `max` fields. */
export function headerFields(msg: Buffer, max = 10_000): HeaderField[] {
  const end = headerEnd(msg);
  const text = msg.subarray(0, end).toString('latin1');
  const out: HeaderField[] = [];
  let pos = 0;
  while (pos < text.length && out.length < max) {
    let lineEnd = text.indexOf('\r\n', pos);
    if (lineEnd < 0) lineEnd = text.length;
    if (lineEnd === pos) break; // the empty line
    const line = text.slice(pos, lineEnd);
    const m = /^([\x21-\x39\x3b-\x7e]+)[ \t]*:/.exec(line);
    if (!m) break;
    // RFC 5322 §2.2.3: continuation lines start with WSP.
    let fieldEnd = lineEnd;
    while (fieldEnd + 2 < text.length && (text[fieldEnd + 2] === ' ' || text[fieldEnd + 2] === '\t')) {
      const next = text.indexOf('\r\n', fieldEnd + 2);
      fieldEnd = next < 0 ? text.length : next;
    }
    const stop = Math.min(fieldEnd + 2, text.length);
    out.push({ name: m[1], value: text.slice(pos + m[0].length, fieldEnd), start: pos, end: stop });
    pos = stop;
  }
  return out;
}

/** The content with every header field the predicate selects removed; the
 * same pieces (no copy) when nothing matched. Values are given unfolded. */
export function removeHeaderFields(content: readonly Buffer[], match: (name: string, value: string) => boolean): { content: Buffer[]; removed: number } {
  const msg = content.length === 1 ? content[0] : Buffer.concat(content as Buffer[]);
  const drop = headerFields(msg).filter((f) => match(f.name, unfold(f.value)));
  if (drop.length === 0) return { content: content.slice(), removed: 0 };
  const parts: Buffer[] = [];
  let at = 0;
  for (const f of drop) {
    if (f.start > at) parts.push(msg.subarray(at, f.start));
    at = f.end;
  }
  parts.push(msg.subarray(at));
  return { content: parts, removed: drop.length };
}

/** RFC 5322 §2.2.3: unfolding removes each CRLF that precedes WSP; the value's leading WSP goes too. */
export function unfold(value: string): string {
  return value.replace(/\r\n(?=[ \t])/g, '').trim();
}
