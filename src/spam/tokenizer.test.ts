// The classifier's tokens: which features come out, and that any message
// gives a bounded, deterministic set.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { addressDomain, tokenize, MAX_TOKENS } from './tokenizer.ts';
import { viewMessage } from './message-view.ts';

test('subject words are marked, body words lower-cased, sender domain and link hosts as features', () => {
  const t = tokenize(viewMessage('From: Shop <deals@mail.shop.example>\r\nSubject: Big SALE\r\nContent-Type: text/html\r\n\r\n<p>Great Prices at <a href="http://x.shop.example/a">our shop</a> 1234567</p>'));
  for (const want of ['from:shop.example', 'subject:big', 'subject:sale', 'url:shop.example', 'trait:html-only', 'great', 'prices', 'shop']) assert.ok(t.includes(want), want);
  assert.ok(!t.includes('1234567'), 'long digit runs are dropped');
  assert.ok(!t.includes('at'), 'short words are dropped');
});

test('addressDomain', () => {
  assert.equal(addressDomain('"A, B" <a@Example.COM>'), 'example.com');
  assert.equal(addressDomain('nobody'), null);
  assert.equal(addressDomain(null), null);
});

test('property: bounded, unique, deterministic', () => {
  fc.assert(
    fc.property(fc.string({ maxLength: 3000 }), fc.array(fc.string({ minLength: 3, maxLength: 12 }), { maxLength: 1500 }), (s, words) => {
      const msg = `Subject: ${s.slice(0, 100)}\r\n\r\n${s} ${words.join(' ')}`;
      const a = tokenize(viewMessage(msg));
      assert.ok(a.length <= MAX_TOKENS);
      assert.equal(new Set(a).size, a.length);
      assert.ok(a.every((t) => t.length <= 40));
      assert.deepEqual(tokenize(viewMessage(msg)), a);
    }),
    { numRuns: 100 },
  );
});
