// Test support for the MIME parser and the IMAP FETCH pieces built on it (not
// used at run time): a nested sample message whose BODYSTRUCTURE is written
// out by hand, and a fast-check generator of random MIME trees serialized
// together with the byte offsets every part must get.

import fc from 'fast-check';

const CRLF = '\r\n';

/** The text of the sample message's parts, so tests can compute sizes. */
export const SAMPLE = {
  header:
    '"Joe Q. Public" <john.q.public@example.com>',
  part1Body: 'Hello\r\nworld',
  innerMessage:
    'From: a@b.example\r\n' +
    'Subject: inner\r\n' +
    'Content-Type: multipart/alternative; boundary=inner\r\n' +
    '\r\n' +
    '--inner\r\n' +
    'Content-Type: text/plain\r\n' +
    'Content-Transfer-Encoding: quoted-printable\r\n' +
    '\r\n' +
    'caf=C3=A9\r\n' +
    '--inner\r\n' +
    'Content-Type: text/html; charset=utf-8\r\n' +
    '\r\n' +
    '<p>hi</p>\r\n' +
    '--inner--',
  part3Header:
    'Content-Type: application/octet-stream; name="a.bin"\r\n' +
    'Content-Transfer-Encoding: base64\r\n' +
    'Content-Disposition: attachment; filename="a.bin"\r\n' +
    'Content-Language: en, de\r\n' +
    'Content-Location: http://example.com/a.bin\r\n' +
    'Content-ID: <part3@example.com>\r\n' +
    'Content-Description: some bytes\r\n' +
    '\r\n',
  part3Body: 'AAECAw==',
};

export const SAMPLE_HEADER =
  'From: "Joe Q. Public" <john.q.public@example.com>\r\n' +
  'To: Mary Smith <mary@x.test>, jdoe@example.org\r\n' +
  'Subject: =?ISO-8859-1?Q?Caf=E9?= test\r\n' +
  'Date: Fri, 21 Nov 1997 09:55:06 -0600\r\n' +
  'Message-ID: <1234@local.machine.example>\r\n' +
  'MIME-Version: 1.0\r\n' +
  'Content-Type: multipart/mixed; boundary="outer"\r\n' +
  '\r\n';

/** A multipart/mixed with a text part, a message/rfc822 holding a multipart/alternative, and a base64 attachment. */
export const SAMPLE_MESSAGE =
  SAMPLE_HEADER +
  'preamble\r\n' +
  '--outer\r\n' +
  'Content-Type: text/plain; charset=us-ascii\r\n' +
  '\r\n' +
  SAMPLE.part1Body +
  '\r\n--outer\r\n' +
  'Content-Type: message/rfc822\r\n' +
  '\r\n' +
  SAMPLE.innerMessage +
  '\r\n--outer\r\n' +
  SAMPLE.part3Header +
  SAMPLE.part3Body +
  '\r\n--outer--\r\n' +
  'epilogue\r\n';

/** A generated MIME entity and the offsets it must parse to (relative to its own start). */
export interface GenPart {
  kind: 'leaf' | 'multipart' | 'message';
  text: string;
  headerStart: number;
  bodyStart: number;
  end: number;
  type: string;
  children: GenPart[];
}

type Shape = { kind: 'leaf'; lines: string[]; html: boolean } | { kind: 'multipart'; sub: string; children: Shape[]; preamble: boolean; epilogue: boolean } | { kind: 'message'; inner: Shape };

const line = fc.stringMatching(/^[a-zA-Z0-9 .,;:!?=+_/]{0,30}$/);

export const shapeArb: fc.Arbitrary<Shape> = fc.letrec<{ shape: Shape }>((tie) => ({
  shape: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.record({ kind: fc.constant('leaf' as const), lines: fc.array(line, { maxLength: 4 }), html: fc.boolean() }),
    fc.record({
      kind: fc.constant('multipart' as const),
      sub: fc.constantFrom('mixed', 'alternative', 'related'),
      children: fc.array(tie('shape'), { minLength: 1, maxLength: 3 }),
      preamble: fc.boolean(),
      epilogue: fc.boolean(),
    }),
    fc.record({ kind: fc.constant('message' as const), inner: tie('shape') }),
  ),
})).shape;

let counter = 0;

/** Serialize a shape starting at `base` (absolute offset), returning the text and expected offsets. */
export function build(shape: Shape, base: number, eol = CRLF): GenPart {
  const id = ++counter;
  if (shape.kind === 'leaf') {
    const type = shape.html ? 'text/html' : 'text/plain';
    const header = `Content-Type: ${type}; charset=utf-8${eol}X-Id: ${id}${eol}${eol}`;
    const body = shape.lines.join(eol);
    return { kind: 'leaf', text: header + body, headerStart: base, bodyStart: base + header.length, end: base + header.length + body.length, type, children: [] };
  }
  if (shape.kind === 'message') {
    const header = `Content-Type: message/rfc822${eol}${eol}`;
    const inner = build(shape.inner, base + header.length, eol);
    // The encapsulated message's header: the inner entity's Content-Type plus a Subject.
    return { kind: 'message', text: header + inner.text, headerStart: base, bodyStart: base + header.length, end: inner.end, type: 'message/rfc822', children: [inner] };
  }
  const boundary = `b${id}_${'x'.repeat(id % 5)}=_`;
  const header = `Content-Type: multipart/${shape.sub}; boundary="${boundary}"${eol}${eol}`;
  let text = header;
  const children: GenPart[] = [];
  if (shape.preamble) text += `preamble ${id}${eol}`;
  for (const c of shape.children) {
    text += `--${boundary}${eol}`;
    const child = build(c, base + text.length, eol);
    children.push(child);
    text += child.text + eol;
  }
  text += `--${boundary}--`;
  if (shape.epilogue) text += `${eol}epilogue ${id}`;
  return { kind: 'multipart', text, headerStart: base, bodyStart: base + header.length, end: base + text.length, type: `multipart/${shape.sub}`, children };
}

/** A value of an IMAP response (RFC 9051 §9): nested lists of strings, numbers and NIL. */
export type ImapValue = string | number | null | ImapValue[];

/**
 * Parse one IMAP response value (a parenthesized list, quoted string,
 * literal, NIL or number) from `text`, which must hold exactly that value.
 * Items in a list are separated by one SP, or adjacent after a ")" (the
 * 1*body and 1*address rules). Throws on anything else: tests use it to check
 * that what we serialize is well-formed.
 */
export function parseImapValue(text: string | Buffer): ImapValue {
  const b = typeof text === 'string' ? Buffer.from(text, 'utf8') : text;
  let i = 0;
  const fail = (why: string): never => {
    throw new Error(`${why} at ${i}: ${JSON.stringify(b.toString('utf8'))}`);
  };
  const value = (): ImapValue => {
    const c = b[i];
    if (c === 0x28) {
      i++;
      const items: ImapValue[] = [];
      while (b[i] !== 0x29) {
        if (items.length > 0) {
          if (b[i] === 0x20) i++;
          else if (b[i - 1] !== 0x29) fail('expected SP');
        }
        items.push(value());
        if (i >= b.length) fail('unclosed list');
      }
      i++;
      return items;
    }
    if (c === 0x22) {
      i++;
      const out: number[] = [];
      while (b[i] !== 0x22) {
        if (i >= b.length) fail('unclosed string');
        if (b[i] === 0x0d || b[i] === 0x0a || b[i] === 0) fail('CR/LF/NUL in a quoted string');
        if (b[i] === 0x5c) {
          i++;
          if (b[i] !== 0x22 && b[i] !== 0x5c) fail('bad escape');
        }
        out.push(b[i++]!);
      }
      i++;
      return Buffer.from(out).toString('utf8');
    }
    if (c === 0x7b) {
      const close = b.indexOf('}\r\n', i);
      if (close < 0) fail('bad literal');
      const n = Number(b.subarray(i + 1, close).toString('latin1'));
      if (!Number.isInteger(n)) fail('bad literal length');
      const start = close + 3;
      if (start + n > b.length) fail('short literal');
      i = start + n;
      return b.subarray(start, start + n).toString('utf8');
    }
    if (b.subarray(i, i + 3).toString('latin1') === 'NIL') {
      i += 3;
      return null;
    }
    const m = /^[0-9]+/.exec(b.subarray(i, i + 20).toString('latin1'));
    if (m === null) fail('unexpected character');
    i += m![0].length;
    return Number(m![0]);
  };
  const v = value();
  if (i !== b.length) fail('trailing text');
  return v;
}
