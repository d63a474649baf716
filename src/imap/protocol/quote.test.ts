// Tests for response string serialization (RFC 9051 §4.3): atom, quoted and
// literal choices, escapes, UTF-8 handling, and the property that whatever we
// serialize reads back through the command reader as the same string and never
// puts CR or LF inside a quoted string.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { isAtom, serializeAstring, serializeNstring, serializeString } from './quote.ts';
import { CommandReader, type Token } from './tokenizer.ts';

function reparse(wire: string): Token | undefined {
  const evs = new CommandReader({ nonSyncLiterals: 'plus' }).push(new TextEncoder().encode(`t X ${wire}\r\n`));
  const cmd = evs.find((e) => e.type === 'command');
  return cmd && cmd.type === 'command' ? cmd.tokens[1] : undefined;
}
function tokenText(t: Token | undefined): string | undefined {
  if (!t) return undefined;
  if (t.type === 'atom' || t.type === 'quoted') return t.value;
  if (t.type === 'number') return String(t.value);
  if (t.type === 'literal') return new TextDecoder().decode(t.value);
  return undefined;
}

describe('response strings', () => {
  it('chooses atom, quoted or literal', () => {
    assert.equal(serializeAstring('INBOX'), 'INBOX');
    assert.equal(serializeAstring('NIL'), '"NIL"');
    assert.equal(serializeAstring(''), '""');
    assert.equal(serializeAstring('a b'), '"a b"');
    assert.equal(serializeAstring('a]'), '"a]"');
    assert.equal(serializeString('Fred'), '"Fred"');
    assert.equal(serializeString('say "hi" \\o/'), '"say \\"hi\\" \\\\o/"');
    assert.equal(serializeString('two\r\nlines'), '{10}\r\ntwo\r\nlines');
    assert.equal(serializeString('Grüße'), '"Grüße"');
    assert.equal(serializeString('Grüße', { utf8: false }), '{7}\r\nGrüße');
    assert.equal(serializeString('x'.repeat(5), { maxQuoted: 4 }), '{5}\r\nxxxxx');
    assert.equal(serializeNstring(null), 'NIL');
    assert.equal(serializeNstring('NIL'), '"NIL"');
    assert.equal(isAtom('\\Seen'), false);
  });
});

describe('response string properties', () => {
  it('never CR/LF inside quotes; re-parses to the same string', () => {
    const str = fc.oneof(fc.string({ unit: 'binary', maxLength: 30 }), fc.string({ unit: fc.constantFrom('a', ' ', '"', '\\', '\r', '\n', 'é', '{', '}', '(', ']', 'N', 'I', 'L', '1', '0'), maxLength: 12 }));
    fc.assert(fc.property(str, fc.boolean(), (s, utf8) => {
      for (const wire of [serializeAstring(s, { utf8 }), serializeString(s, { utf8 })]) {
        if (wire.startsWith('"')) assert.doesNotMatch(wire, /[\r\n\0]/);
        if (!utf8 && wire.startsWith('"')) assert.match(wire, /^[\x00-\x7f]*$/);
        if (s.includes('\0')) continue; // NUL only travels in literal8 (RFC 9051 §4.3.1)
        const t = tokenText(reparse(wire));
        assert.equal(t, s, JSON.stringify(wire));
      }
    }), { numRuns: 2000 });
  });
});
