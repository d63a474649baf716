import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { createRequire } from 'node:module';
import { serializeEnvelope } from './envelope.ts';
import { resolvePart } from './section.ts';
import { serializeBodyStructure } from './body-structure.ts';
import { summarizeMessage } from '../../message/mime/summary.ts';
import { SAMPLE, SAMPLE_MESSAGE, parseImapValue, shapeArb, build } from '../../message/mime/testing.ts';

const lf = (s: string) => (s.match(/\n/g) ?? []).length;

test('sample: BODYSTRUCTURE byte-exact (RFC 9051 §7.5.2)', () => {
  const s = summarizeMessage(Buffer.from(SAMPLE_MESSAGE));
  const inner = SAMPLE.innerMessage;
  const innerEnvelope = '(NIL "inner" ((NIL NIL "a" "b.example")) ((NIL NIL "a" "b.example")) ((NIL NIL "a" "b.example")) NIL NIL NIL NIL NIL)';
  const expected =
    '(' +
    '("text" "plain" ("charset" "us-ascii") NIL NIL "7BIT" 12 1 NIL NIL NIL NIL)' +
    `("message" "rfc822" NIL NIL NIL "7BIT" ${inner.length} ${innerEnvelope} ` +
    '(("text" "plain" ("charset" "us-ascii") NIL NIL "QUOTED-PRINTABLE" 9 0 NIL NIL NIL NIL)' +
    '("text" "html" ("charset" "utf-8") NIL NIL "7BIT" 9 0 NIL NIL NIL NIL)' +
    ' "alternative" ("boundary" "inner") NIL NIL NIL)' +
    ` ${lf(inner)} NIL NIL NIL NIL)` +
    `("application" "octet-stream" ("name" "a.bin") "<part3@example.com>" "some bytes" "BASE64" ${SAMPLE.part3Body.length} NIL ("attachment" ("filename" "a.bin")) ("en" "de") "http://example.com/a.bin")` +
    ' "mixed" ("boundary" "outer") NIL NIL NIL)';
  assert.equal(serializeBodyStructure(s.body, { extensible: true }), expected);
});

test('sample: BODY (non-extensible) has no extension data', () => {
  const s = summarizeMessage(Buffer.from(SAMPLE_MESSAGE));
  const inner = SAMPLE.innerMessage;
  const innerEnvelope = '(NIL "inner" ((NIL NIL "a" "b.example")) ((NIL NIL "a" "b.example")) ((NIL NIL "a" "b.example")) NIL NIL NIL NIL NIL)';
  const expected =
    '(' +
    '("text" "plain" ("charset" "us-ascii") NIL NIL "7BIT" 12 1)' +
    `("message" "rfc822" NIL NIL NIL "7BIT" ${inner.length} ${innerEnvelope} ` +
    '(("text" "plain" ("charset" "us-ascii") NIL NIL "QUOTED-PRINTABLE" 9 0)("text" "html" ("charset" "utf-8") NIL NIL "7BIT" 9 0) "alternative")' +
    ` ${lf(inner)})` +
    `("application" "octet-stream" ("name" "a.bin") "<part3@example.com>" "some bytes" "BASE64" ${SAMPLE.part3Body.length})` +
    ' "mixed")';
  assert.equal(serializeBodyStructure(s.body, { extensible: false }), expected);
});

test('single-part message: text/plain with defaults', () => {
  const s = summarizeMessage(Buffer.from('Subject: x\r\n\r\nhello\r\n'));
  assert.equal(serializeBodyStructure(s.body, { extensible: true }), '("text" "plain" ("charset" "us-ascii") NIL NIL "7BIT" 7 1 NIL NIL NIL NIL)');
});

test('a multipart without parts gets an empty text/plain child (the grammar needs one)', () => {
  const s = summarizeMessage(Buffer.from('Content-Type: multipart/mixed; boundary=zz\r\n\r\nno parts\r\n'));
  assert.equal(serializeBodyStructure(s.body, { extensible: false }), '(("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 0 0) "mixed")');
});

test('RFC 2231 parameters: continuations joined, extended value kept for the client', () => {
  const s = summarizeMessage(
    Buffer.from("Content-Type: application/x-stuff;\r\n title*0*=us-ascii'en'This%20is%20;\r\n title*1*=fun\r\nContent-Disposition: attachment; filename*=UTF-8''%E2%82%AC.pdf\r\n\r\nx"),
  );
  assert.equal(
    serializeBodyStructure(s.body, { extensible: true }),
    `("application" "x-stuff" ("title*" "us-ascii'en'This%20is%20fun") NIL NIL "7BIT" 1 NIL ("attachment" ("filename*" "UTF-8''%E2%82%AC.pdf")) NIL NIL)`,
  );
});

test('8-bit parameter values: a literal unless the client accepts UTF-8', () => {
  const s = summarizeMessage(Buffer.from('Content-Type: text/plain; name="café.txt"\r\n\r\nx'));
  assert.match(serializeBodyStructure(s.body, { extensible: false }), / "name" \{9\}\r\ncafé\.txt\)/);
  assert.match(serializeBodyStructure(s.body, { extensible: false, utf8: true }), / "name" "café\.txt"\)/);
});

test('message/rfc822 that is base64-encoded: all-NIL envelope and an empty body', () => {
  const s = summarizeMessage(Buffer.from('Content-Type: message/rfc822\r\nContent-Transfer-Encoding: base64\r\n\r\nU3ViamVjdDogeA0KDQp5\r\n'));
  assert.equal(
    serializeBodyStructure(s.body, { extensible: false }),
    '("message" "rfc822" NIL NIL NIL "BASE64" 22 (NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL) ("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 0 0) 1)',
  );
});

test('property: BODYSTRUCTURE of arbitrary input re-parses as one IMAP list', () => {
  fc.assert(
    fc.property(
      fc.array(fc.oneof(fc.constantFrom('\r\n', '--b', '--b--', 'Content-Type: multipart/mixed; boundary=b\r\n', 'Content-Type: message/rfc822\r\n', 'Content-Disposition: inline; filename="a\\"b"\r\n', 'Content-Language: en\r\n', '\r\n\r\n', 'é', '"', '\\', '('), fc.string({ maxLength: 6 })), { maxLength: 40 }),
      fc.boolean(),
      fc.boolean(),
      (pieces, extensible, utf8) => {
        const s = summarizeMessage(Buffer.from(pieces.join('')));
        const text = serializeBodyStructure(s.body, { extensible, utf8 });
        assert.ok(Array.isArray(parseImapValue(text)), text);
      },
    ),
    { numRuns: 500 },
  );
});

test('property: BODYSTRUCTURE of generated MIME trees is well-formed and mirrors the tree', () => {
  const count = (v: unknown): number => {
    // A multipart is a list whose first item is a list; count the leaves.
    if (!Array.isArray(v)) return 0;
    if (Array.isArray(v[0])) {
      // The children come first, up to the subtype string.
      let n = 0;
      for (const x of v) {
        if (!Array.isArray(x)) break;
        n += count(x);
      }
      return n;
    }
    if (v[0] === 'message' && (v[1] === 'rfc822' || v[1] === 'global')) return count(v[8]);
    return 1;
  };
  const leaves = (p: { parts?: unknown[]; message?: { body: unknown } }): number =>
    p.parts !== undefined ? (p.parts.length === 0 ? 1 : p.parts.reduce((n: number, c) => n + leaves(c as typeof p), 0)) : p.message !== undefined ? leaves(p.message.body as typeof p) : 1;
  fc.assert(
    fc.property(shapeArb, fc.boolean(), (shape, extensible) => {
      const g = build(shape, 0);
      const s = summarizeMessage(Buffer.from(g.text));
      const v = parseImapValue(serializeBodyStructure(s.body, { extensible }));
      assert.equal(count(v), leaves(s.body));
    }),
    { numRuns: 300 },
  );
});

// A real client's reading of our output: imapflow's response parser and its
// BODYSTRUCTURE/ENVELOPE decoding (imapflow numbers the parts itself; the
// numbers must name the same parts our section.ts resolves).
const requireCjs = createRequire(import.meta.url);
const imapParser = requireCjs('imapflow/lib/handler/imap-parser.js') as (b: Buffer) => Promise<unknown>;
const imapTools = requireCjs('imapflow/lib/tools.js') as { formatMessageResponse(r: unknown, m: object): Promise<ImapflowMessage> };
interface ImapflowNode {
  part?: string;
  type: string;
  childNodes?: ImapflowNode[];
  size?: number;
  envelope?: unknown;
}
interface ImapflowMessage {
  envelope?: { subject?: string; from?: { name?: string; address?: string }[]; to?: { name?: string; address?: string }[]; messageId?: string };
  bodyStructure?: ImapflowNode;
}

async function viaImapflow(summary: ReturnType<typeof summarizeMessage>): Promise<ImapflowMessage> {
  const line = `* 1 FETCH (ENVELOPE ${serializeEnvelope(summary.envelope, { utf8: true })} BODYSTRUCTURE ${serializeBodyStructure(summary.body, { extensible: true, utf8: true })})`;
  return imapTools.formatMessageResponse(await imapParser(Buffer.from(line)), {});
}

test('imapflow reads the sample ENVELOPE and BODYSTRUCTURE', async () => {
  const s = summarizeMessage(Buffer.from(SAMPLE_MESSAGE));
  const m = await viaImapflow(s);
  assert.equal(m.envelope?.subject, 'Café test');
  assert.deepEqual(m.envelope?.from, [{ name: 'Joe Q. Public', address: 'john.q.public@example.com' }]);
  assert.equal(m.envelope?.to?.length, 2);
  assert.equal(m.envelope?.messageId, '<1234@local.machine.example>');
  const parts: string[] = [];
  const walk = (n: ImapflowNode) => {
    parts.push(`${n.part ?? '-'} ${n.type}`);
    n.childNodes?.forEach(walk);
  };
  walk(m.bodyStructure!);
  assert.deepEqual(parts, ['- multipart/mixed', '1 text/plain', '2 message/rfc822', '2 multipart/alternative', '2.1 text/plain', '2.2 text/html', '3 application/octet-stream']);
});

test('property: imapflow parses BODYSTRUCTURE of generated trees; its part numbers resolve to the same parts', async () => {
  await fc.assert(
    fc.asyncProperty(shapeArb, async (shape) => {
      // imapflow's own numbering goes wrong for a message/rfc822 directly in
      // another (or at the top): those shapes are not compared.
      type S = typeof shape;
      const msgInMsg = (x: S, parentIsMessage: boolean): boolean =>
        x.kind === 'message' ? parentIsMessage || msgInMsg(x.inner, true) : x.kind === 'multipart' ? x.children.some((c) => msgInMsg(c, false)) : false;
      fc.pre(!msgInMsg(shape, true));
      const g = build(shape, 0);
      const s = summarizeMessage(Buffer.from(g.text));
      const m = await viaImapflow(s);
      // imapflow gives the non-multipart body of a message/rfc822 part the
      // part's own number; RFC 9051 §6.4.5 numbers it N.1.
      const check = (n: ImapflowNode, inMessage: boolean) => {
        if (n.part !== undefined && !n.type.startsWith('multipart/')) {
          const path = n.part.split('.').map(Number);
          const p = resolvePart(s, inMessage ? [...path, 1] : path);
          assert.ok(p, `part ${n.part}`);
          assert.equal(`${p.type}/${p.subtype}`, n.type, `part ${n.part}`);
          assert.equal(p.size, n.size, `size of ${n.part}`);
        }
        n.childNodes?.forEach((c) => check(c, n.type === 'message/rfc822'));
      };
      check(m.bodyStructure!, false);
    }),
    { numRuns: 200 },
  );
});

test('property: ENVELOPE and BODYSTRUCTURE of arbitrary bytes are well-formed, with and without UTF-8', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 500 }), fc.boolean(), (u, utf8) => {
      const s = summarizeMessage(Buffer.from(u));
      assert.ok(Array.isArray(parseImapValue(serializeBodyStructure(s.body, { extensible: true, utf8 }))));
      const env = parseImapValue(serializeEnvelope(s.envelope, { utf8 }));
      assert.ok(Array.isArray(env) && env.length === 10);
    }),
    { numRuns: 1000 },
  );
});
