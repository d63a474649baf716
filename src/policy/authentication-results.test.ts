import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { authservIdOf, buildAuthResults, claimsAuthservId } from './authentication-results.ts';
import { headerFields, unfold } from './header-section.ts';

test('authserv-id: plain, with version, after comments, quoted, case-insensitive', () => {
  assert.equal(authservIdOf(' mx.example.org; spf=pass'), 'mx.example.org');
  assert.equal(authservIdOf('MX.Example.org 1; none'), 'mx.example.org');
  assert.equal(authservIdOf(' (comment (nested)) mx.example.org;dkim=pass'), 'mx.example.org');
  assert.equal(authservIdOf('"mx.example.org"; none'), 'mx.example.org');
  assert.equal(authservIdOf('   '), null);
  assert.ok(claimsAuthservId('authentication-results', 'mx.example.org.; none', 'MX.example.org'));
  assert.ok(!claimsAuthservId('Authentication-Results', 'mx.example.org.evil; none', 'mx.example.org'));
  assert.ok(!claimsAuthservId('ARC-Authentication-Results', 'i=1; mx.example.org; none', 'mx.example.org'));
});

test('built field: one method per folded line, CRLF-terminated, parses back with our id', () => {
  const f = buildAuthResults('mx.example.org', ['spf=pass smtp.mailfrom=a@b', 'dkim=none\r\n (not signed)']);
  assert.equal(f, 'Authentication-Results: mx.example.org;\r\n\tspf=pass smtp.mailfrom=a@b;\r\n\tdkim=none (not signed)\r\n');
  const [field] = headerFields(Buffer.from(f + '\r\n'));
  assert.ok(claimsAuthservId(field.name, unfold(field.value), 'mx.example.org'));
  assert.equal(buildAuthResults('mx.example.org', []), 'Authentication-Results: mx.example.org;\r\n\tnone\r\n');
});

test('property: authservIdOf never throws; built fields always carry our id and no bare CR/LF', () => {
  fc.assert(fc.property(fc.string(), (s) => void authservIdOf(s)));
  fc.assert(
    fc.property(fc.array(fc.string(), { maxLength: 5 }), (methods) => {
      const f = buildAuthResults('mx.example.org', methods);
      assert.ok(f.endsWith('\r\n'));
      assert.doesNotMatch(f.replace(/\r\n\t/g, '').slice(0, -2), /[\r\n]/);
      const [field] = headerFields(Buffer.from(f + '\r\n', 'utf8'));
      assert.equal(authservIdOf(unfold(field.value)), 'mx.example.org');
    }),
  );
});
