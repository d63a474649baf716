// X-Spam-Score / X-Spam-Status: what we write reads back, and stays folded.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseSpamStatus, spamHeaders } from './headers.ts';

test('layout', () => {
  const [score, status] = spamHeaders(7.25, 5, [{ name: 'HTML_ONLY', points: 1 }, { name: 'BAYES_99', points: 4 }]);
  assert.equal(score, 'X-Spam-Score: 7.3\r\n');
  assert.equal(status, 'X-Spam-Status: Yes, score=7.3 required=5.0 tests=HTML_ONLY(1.0),BAYES_99(4.0)\r\n');
  assert.match(spamHeaders(0, 5, [])[1], /No, score=0\.0 required=5\.0 tests=none/);
});

test('property: the status reads back, and no line is longer than 78 characters', () => {
  const rule = fc.record({ name: fc.stringMatching(/^[A-Z][A-Z0-9_]{0,30}$/), points: fc.integer({ min: -1000, max: 1000 }).map((n) => n / 10) });
  fc.assert(
    fc.property(fc.array(rule, { maxLength: 30 }), fc.integer({ min: -500, max: 500 }).map((n) => n / 10), (rules, score) => {
      const [, status] = spamHeaders(score, 5, rules);
      for (const line of status.replace(/\r\n$/, '').split('\r\n')) assert.ok(line.length <= 78, line);
      const value = status.replace(/^X-Spam-Status: /, '').replace(/\r\n[ \t]/g, ' ').trim();
      const back = parseSpamStatus(value)!;
      assert.equal(back.spam, Math.round(score * 10) / 10 >= 5 || score >= 5);
      assert.deepEqual(back.rules.map((r) => r.name), rules.map((r) => r.name));
      assert.deepEqual(back.rules.map((r) => r.points), rules.map((r) => Number((Math.round(r.points * 10) / 10).toFixed(1))));
    }),
    { numRuns: 300 },
  );
});
