// yaml-lite: the reader the conformance harnesses use. Property tests: any
// input either parses or throws an Error (never hangs or throws something
// else), and nested mappings/sequences of strings written in block style with
// double-quoted, single-quoted, plain, flow and literal scalars read back equal.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseYaml, parseYamlDocuments, type YamlValue } from './yaml-lite.ts';

test('the suite shapes: keys with colons, sequences at the key indent, flow lists, block scalars', () => {
  const doc = [
    'a.example:b/c.example:',
    '  - SPF: v=spf1 a:example.com:8080',
    '  - TIMEOUT',
    '  - MX: [0, ""]',
    'tests:',
    '  one:',
    '    result: [pass, "fail"] # a comment',
    '    message: |',
    '      Line 1',
    '',
    '      Line 3',
    '    folded: >-',
    '      a',
    '      b',
    '    quoted: "\\x41\\u00e9\\n"',
    "    single: 'it''s'",
  ].join('\n');
  assert.deepEqual(parseYaml(doc), {
    'a.example:b/c.example': [{ SPF: 'v=spf1 a:example.com:8080' }, 'TIMEOUT', { MX: ['0', ''] }],
    tests: { one: { result: ['pass', 'fail'], message: 'Line 1\n\nLine 3\n', folded: 'a b', quoted: 'A\u00e9\n', single: "it's" } },
  });
  assert.equal(parseYamlDocuments('a: 1\n---\nb: 2\n--- \n').length, 2);
});

const key = fc.stringMatching(/^[a-z][a-z0-9_.-]{0,8}$/);
const text = fc.string({ maxLength: 12 }).filter((s) => !/[\r\u2028\u2029]/.test(s));
const value: fc.Arbitrary<YamlValue> = fc.letrec((tie) => ({
  v: fc.oneof({ depthSize: 'small' }, text, fc.array(tie('v'), { minLength: 1, maxLength: 3 }), fc.dictionary(key, tie('v'), { minKeys: 1, maxKeys: 3 })),
})).v as fc.Arbitrary<YamlValue>;

function quote(s: string): string {
  return '"' + [...s].map((c) => {
    const n = c.codePointAt(0)!;
    if (c === '"' || c === '\\') return '\\' + c;
    if (n < 0x20 || n === 0x7f) return '\\x' + n.toString(16).padStart(2, '0');
    return c;
  }).join('') + '"';
}

function dump(v: YamlValue, indent: number): string {
  const pad = ' '.repeat(indent);
  if (typeof v === 'string') return quote(v);
  // A list inside a list goes on the next lines ("-" then a deeper block): the compact
  // "- - x" form is not read (the suites never use it).
  if (Array.isArray(v)) return '\n' + v.map((x) => (typeof x === 'string' ? `${pad}- ${quote(x)}` : Array.isArray(x) ? `${pad}-${dump(x, indent + 2)}` : `${pad}- ${dump(x, indent + 2).replace(/^\n\s*/, '')}`)).join('\n');
  return '\n' + Object.entries(v).map(([k, x]) => `${pad}${k}: ${dump(x, indent + 2).replace(/^\n(?=\s*- )/, '\n')}`).join('\n');
}

test('property: block mappings of quoted strings, lists and maps read back equal', () => {
  fc.assert(
    fc.property(fc.dictionary(key, value, { minKeys: 1, maxKeys: 4 }), (obj) => {
      const src = dump(obj, 0).slice(1);
      assert.deepEqual(parseYaml(src), JSON.parse(JSON.stringify(obj)), src);
    }),
    { numRuns: 300 },
  );
});

test('property: any input parses or throws an Error', () => {
  fc.assert(
    fc.property(fc.array(fc.oneof(fc.constantFrom('a:', '  - x', '- ', '"q', "'", '|', '>-', '[1, 2', ']', '#c', '  b: c', '---'), fc.string({ maxLength: 6 })), { maxLength: 12 }), (parts) => {
      try {
        parseYamlDocuments(parts.join('\n'));
      } catch (err) {
        assert.ok(err instanceof Error);
      }
    }),
  );
});
