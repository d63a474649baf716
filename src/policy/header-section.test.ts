import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { headerEnd, headerFields, removeHeaderFields, unfold } from './header-section.ts';

const msg = Buffer.from('Authentication-Results: mx.example; spf=pass\r\n  smtp.mailfrom=a@b\r\nFrom: a@b\r\nauthentication-results: other; dkim=none\r\n\r\nbody\r\nAuthentication-Results: x\r\n');

test('fields are listed with folding kept; the body is not header', () => {
  const f = headerFields(msg);
  assert.deepEqual(f.map((x) => x.name), ['Authentication-Results', 'From', 'authentication-results']);
  assert.equal(unfold(f[0].value), 'mx.example; spf=pass  smtp.mailfrom=a@b');
  assert.equal(headerEnd(msg), msg.indexOf('body'));
});

test('removal drops only matching fields, keeping every other byte', () => {
  const r = removeHeaderFields([msg.subarray(0, 20), msg.subarray(20)], (n, v) => n.toLowerCase() === 'authentication-results' && v.startsWith('mx.example'));
  assert.equal(r.removed, 1);
  assert.equal(Buffer.concat(r.content).toString(), 'From: a@b\r\nauthentication-results: other; dkim=none\r\n\r\nbody\r\nAuthentication-Results: x\r\n');
});

test('property: never throws; removing nothing is identity; removing all leaves the body', () => {
  fc.assert(
    fc.property(fc.array(fc.oneof(fc.constantFrom('A: 1\r\n', ' folded\r\n', 'B:\r\n', '\r\n', 'x\r\n', ':\r\n', 'C : v\r\n'), fc.string()), { maxLength: 12 }), (parts) => {
      const m = Buffer.from(parts.join(''), 'latin1');
      const fields = headerFields(m);
      for (const f of fields) assert.ok(f.start < f.end && f.end <= m.length);
      const same = removeHeaderFields([m], () => false);
      assert.deepEqual(Buffer.concat(same.content), m);
      const all = removeHeaderFields([m], () => true);
      assert.equal(all.removed, fields.length);
      const last = fields.at(-1);
      if (last) assert.deepEqual(Buffer.concat(all.content), m.subarray(last.end));
    }),
  );
});
