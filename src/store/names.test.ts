// Tests for canonical domain and address forms, with a property test:
// normalizing never throws and is idempotent (DESIGN convention 2).

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseAddress, parseDomain, requireAliasSource, requireFlag } from './names.ts';

describe('names', () => {
  it('lower-cases domains and converts IDNs to A-labels', () => {
    assert.equal(parseDomain('Mail.Example.COM'), 'mail.example.com');
    assert.equal(parseDomain('bücher.example'), 'xn--bcher-kva.example');
    assert.equal(parseDomain('localhost'), 'localhost');
    for (const bad of ['', '.', 'a..b', 'example.com.', '-a.com', 'a-.com', 'a_b.com', 'a b', '10.0.0.1', 'x'.repeat(64) + '.com']) {
      assert.equal(parseDomain(bad), null, bad);
    }
  });

  it('lower-cases whole addresses and checks the local part', () => {
    assert.equal(parseAddress('John.Doe+tag@Example.COM'), 'john.doe+tag@example.com');
    assert.equal(parseAddress('Ünïcode@bücher.example'), 'ünïcode@xn--bcher-kva.example');
    for (const bad of ['', 'a', '@b.com', 'a@', '.a@b.com', 'a.@b.com', 'a..b@b.com', 'a b@b.com', '"q"@b.com', 'x'.repeat(65) + '@b.com']) {
      assert.equal(parseAddress(bad), null, bad);
    }
  });

  it('accepts catch-all alias sources and IMAP flag atoms', () => {
    assert.equal(requireAliasSource('@Example.com'), '@example.com');
    assert.equal(requireFlag('\\Seen'), '\\Seen');
    assert.equal(requireFlag('$Forwarded'), '$Forwarded');
    for (const bad of ['', 'a b', '\\', '(x)', 'a"b', 'a*']) assert.throws(() => requireFlag(bad), bad);
  });

  it('never throws, and normalizing twice changes nothing (property)', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.emailAddress(), fc.domain()), (s) => {
        const d = parseDomain(s);
        if (d !== null) assert.equal(parseDomain(d), d);
        const a = parseAddress(s);
        if (a !== null) assert.equal(parseAddress(a), a);
      }),
      { numRuns: 2000 },
    );
  });
});
