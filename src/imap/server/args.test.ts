// Property tests for the session's small parsers: LIST patterns ("*" crosses
// levels, "%" does not, other characters are literal, INBOX is
// case-insensitive), mailbox-name arguments (modified UTF-7 round trip,
// trailing separator, INBOX), and flag lists (system flags canonical, no
// \Recent or invented \-flags, never a throw other than ArgError).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { encodeMailboxName } from '../protocol/mailbox-name.ts';
import type { Token } from '../protocol/tokenizer.ts';
import { ArgError, decodeMailboxArg, parseFlags } from './args.ts';
import { patternRegExp } from './cmd-list.ts';

const level = fc.stringMatching(/^[A-Za-z0-9 ._\-\u00e0-\u00ff\u4e00-\u4e10]{1,8}$/);
const name = fc.array(level, { minLength: 1, maxLength: 4 }).map((l) => l.join('/'));

test('LIST patterns: a name matches itself, "*" matches all, "%" stops at the separator', () => {
  fc.assert(
    fc.property(name, name, (a, b) => {
      assert.ok(patternRegExp(a).test(a));
      assert.ok(patternRegExp('*').test(a));
      assert.equal(patternRegExp('%').test(a), !a.includes('/'));
      const top = a.split('/')[0]!;
      assert.ok(patternRegExp(`${top}*`).test(a));
      assert.equal(patternRegExp(`${top}/%`).test(a), a.split('/').length === 2);
      if (a !== b) assert.equal(patternRegExp(a).test(b), false);
    }),
  );
  assert.ok(patternRegExp('inbox').test('INBOX'));
  assert.ok(patternRegExp('Inbox/%').test('INBOX/Sub'));
  assert.ok(!patternRegExp('a.b').test('axb'), 'regex characters are literal');
  assert.ok(!patternRegExp('(x)').test('x'));
});

test('mailbox name arguments: modified UTF-7 decodes back to the name; UTF-8 clients send it as is', () => {
  fc.assert(
    fc.property(name, (n) => {
      const canonical = n.toUpperCase() === 'INBOX' ? 'INBOX' : n;
      assert.equal(decodeMailboxArg(encodeMailboxName(n), false), canonical);
      assert.equal(decodeMailboxArg(n, true), canonical);
      assert.equal(decodeMailboxArg(n + '/', true), canonical, 'a trailing separator names the same mailbox');
    }),
  );
  assert.equal(decodeMailboxArg('inbox/Sub', true), 'INBOX/Sub');
});

test('flag lists: canonical system flags, keywords kept, \\Recent and invented \\-flags refused, nothing else thrown', () => {
  const atom = fc.stringMatching(/^\\?[!-~]{1,12}$/).map((v): Token => ({ type: 'atom', value: v }));
  fc.assert(
    fc.property(fc.array(fc.oneof(atom, fc.constant<Token>({ type: 'nil' }), fc.constant<Token>({ type: 'quoted', value: 'x' })), { maxLength: 6 }), (toks) => {
      try {
        const flags = parseFlags(toks);
        assert.equal(new Set(flags).size, flags.length, 'no duplicates');
        for (const f of flags) {
          if (f.startsWith('\\')) assert.ok(['\\Answered', '\\Flagged', '\\Deleted', '\\Seen', '\\Draft'].includes(f), f);
          else assert.doesNotMatch(f, /[*%\\\]]/);
        }
      } catch (err) {
        assert.ok(err instanceof ArgError, String(err));
      }
    }),
  );
  assert.deepEqual(parseFlags([{ type: 'atom', value: '\\SEEN' }, { type: 'atom', value: '$Label1' }, { type: 'nil' }]), ['\\Seen', '$Label1', 'NIL']);
  assert.throws(() => parseFlags([{ type: 'atom', value: '\\Recent' }]), ArgError);
});
