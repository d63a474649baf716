// Tests for SMTP paths: RFC 5321 §4.1.2 syntax (dot-strings, quoted local
// parts, source routes, address literals, the <postmaster> form), the length
// limits of §4.5.3.1, RFC 6531 UTF-8 addresses, formatting, canonical keys,
// and property tests (never throws; format → parse round-trips).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { canonicalAddress, formatAddress, isAddressLiteral, isDomain, parsePath, type MailAddress } from './address.ts';

function ok(s: string): { address: MailAddress; utf8: boolean } {
  const r = parsePath(s);
  assert.ok(r.ok, `expected ${JSON.stringify(s)} to parse, got ${!r.ok ? r.error : ''}`);
  return { address: r.address, utf8: r.utf8 };
}
function bad(s: string, error?: RegExp): void {
  const r = parsePath(s);
  assert.equal(r.ok, false, `expected ${JSON.stringify(s)} to be rejected`);
  if (error && !r.ok) assert.match(r.error, error);
}

describe('parsePath: RFC 5321 examples', () => {
  it('parses a plain mailbox', () => {
    assert.deepEqual(ok('<Smith@bar.com>'), { address: { local: 'Smith', domain: 'bar.com' }, utf8: false });
  });

  it('accepts and ignores a source route (RFC 5321 §4.1.2, §C)', () => {
    assert.deepEqual(ok('<@hosta.int,@jkl.org:userc@d.bar.org>').address, { local: 'userc', domain: 'd.bar.org' });
    assert.deepEqual(ok('<@a:u@d.org>').address, { local: 'u', domain: 'd.org' });
    bad('<@a,b:u@d.org>', /source route/);
    bad('<@a u@d.org>', /source route/);
    bad('<@-a:u@d.org>', /source route/);
  });

  it('accepts <postmaster> without domain, case-insensitively (RFC 5321 §4.1.1.3)', () => {
    for (const p of ['<postmaster>', '<Postmaster>', '<POSTMASTER>']) {
      assert.deepEqual(ok(p), { address: { local: 'postmaster', domain: '' }, utf8: false });
    }
    assert.deepEqual(ok('<Postmaster@example.com>').address, { local: 'Postmaster', domain: 'example.com' });
  });

  it('accepts the atext specials in a dot-string', () => {
    const local = "a!#$%&'*+-/=?^_`{|}~b.c";
    assert.equal(ok(`<${local}@example.com>`).address.local, local);
  });
});

describe('parsePath: quoted local parts', () => {
  it('removes quotes and unescapes quoted-pairs', () => {
    assert.equal(ok('<"john doe"@example.com>').address.local, 'john doe');
    assert.equal(ok('<"a\\"b"@x.org>').address.local, 'a"b');
    assert.equal(ok('<"a\\\\b"@x.org>').address.local, 'a\\b');
    assert.equal(ok('<"\\a"@x.org>').address.local, 'a');
    assert.equal(ok('<"a@b>c"@x.org>').address.local, 'a@b>c');
    assert.equal(ok('<""@x.org>').address.local, '');
    assert.equal(ok('<"a..b"@x.org>').address.local, 'a..b');
  });

  it('rejects broken quoted strings', () => {
    bad('<"abc@x.org>', /unterminated/);
    bad('<"a\tb"@x.org>', /control/);
    bad('<"a\\\tb"@x.org>', /quoted-pair/);
    bad('<"ab"c@x.org>', /local part/);
    bad('<"ab"@>', /missing domain/);
  });
});

describe('parsePath: UTF-8 (RFC 6531)', () => {
  it('accepts UTF-8 local parts and U-label domains and flags utf8', () => {
    assert.deepEqual(ok('<用户@例子.广告>'), { address: { local: '用户', domain: '例子.广告' }, utf8: true });
    assert.deepEqual(ok('<jörg@example.com>').address, { local: 'jörg', domain: 'example.com' });
    assert.equal(ok('<user@münchen.de>').utf8, true);
    assert.equal(ok('<"jö rg"@example.com>').utf8, true);
    assert.equal(ok('<user@xn--mnchen-3ya.de>').utf8, false);
    assert.equal(ok('<😀@example.com>').address.local, '😀');
  });

  it('rejects invalid Unicode', () => {
    bad('<a\ufffdb@example.com>', /invalid character/);
    bad('<a\ud800@example.com>', /invalid character/);
    bad('<a\u0085@example.com>', /invalid character/);
    bad('<a@ex\u00a0ample.com>', /bad domain/);
    bad('<a@例子。广告>', /bad domain/); // ideographic full stop is not a label separator here
    bad('<a@ex!ämple.com>', /bad domain/);
  });
});

describe('parsePath: address literals', () => {
  it('accepts IPv4 and IPv6 literals and keeps them bracketed', () => {
    assert.deepEqual(ok('<user@[192.0.2.1]>').address, { local: 'user', domain: '[192.0.2.1]' });
    for (const lit of [
      '[IPv6:2001:db8::1]',
      '[IPv6:::1]',
      '[IPv6:::]',
      '[ipv6:2001:DB8:0:0:0:0:0:1]',
      '[IPv6:::ffff:192.0.2.1]',
      '[IPv6:1:2:3:4:5:6:192.0.2.1]',
      '[IPv6:1::192.0.2.1]',
      '[IPv6:1:2:3:4:5:6::]',
      '[0.0.0.0]',
      '[255.255.255.255]',
    ]) {
      assert.equal(ok(`<u@${lit}>`).address.domain, lit);
      assert.ok(isAddressLiteral(lit), lit);
    }
  });

  it('rejects bad literals', () => {
    for (const lit of [
      '[256.1.1.1]',
      '[1.2.3]',
      '[1.2.3.4.5]',
      '[1.2.3.x]',
      '[1234.1.1.1]',
      '[IPv6:1::2::3]',
      '[IPv6:zz::1]',
      '[IPv6:1:2:3:4:5:6:7:8:9]',
      '[IPv6:1:2:3:4:5:6:7]',
      '[IPv6:1:2:3:4:5:6:7::]', // RFC 5321 §4.1.3: at most 6 groups besides "::"
      '[IPv6:1:2:3:4:5::1.2.3.4]', // at most 4 groups besides "::" and the IPv4 part
      '[IPv6:12345::1]',
      '[IPv6:fe80::1%eth0]',
      '[IPv6:]',
      '[x-tag:foo]', // General-address-literal: no registered tags
      '[]',
      '[192.0.2.1',
      '[ 192.0.2.1]',
    ]) {
      bad(`<u@${lit}>`);
      assert.equal(isAddressLiteral(lit), false, lit);
    }
  });
});

describe('parsePath: errors', () => {
  it('requires angle brackets', () => {
    bad('user@example.com', /enclosed/);
    bad('<user@example.com', /enclosed/);
    bad('user@example.com>', /enclosed/);
    bad('', /enclosed/);
    bad('<', /enclosed/);
  });

  it('rejects the empty path (the caller handles <>)', () => {
    bad('<>', /empty/);
  });

  it('requires a domain (except <postmaster>)', () => {
    bad('<user>', /missing domain/);
    bad('<user@>', /missing domain/);
    bad('<@example.com>');
    bad('<postmaster@>', /missing domain/);
  });

  it('rejects bad dot-strings', () => {
    for (const l of ['.a', 'a.', 'a..b', 'a b', 'a(b)', 'a,b', 'a[b', 'a\\b', 'a"b']) bad(`<${l}@example.com>`);
  });

  it('rejects invalid domains', () => {
    for (const d of ['-a.com', 'a-.com', 'a..com', 'a_b.com', 'example.com.', '.example.com', 'a b.com', 'a%41.com', 'exa$mple.com']) {
      bad(`<u@${d}>`, /domain/);
      assert.equal(isDomain(d), false, d);
    }
    assert.ok(isDomain('a-b.c0m'));
    assert.ok(isDomain('1.2.3.4')); // syntactically a domain in RFC 5321
    assert.ok(isDomain('x'));
  });

  it('limits a label to 63 octets (RFC 1035 §2.3.4)', () => {
    ok(`<u@${'a'.repeat(63)}.com>`);
    bad(`<u@${'a'.repeat(64)}.com>`, /domain/);
  });

  it('limits the local part to 64 octets (RFC 5321 §4.5.3.1.1)', () => {
    ok(`<${'a'.repeat(64)}@example.com>`);
    bad(`<${'a'.repeat(65)}@example.com>`, /local part too long/);
    bad(`<${'é'.repeat(33)}@example.com>`, /local part too long/); // 66 octets
    ok(`<"${'a'.repeat(62)}"@example.com>`);
    bad(`<"${'a'.repeat(63)}"@example.com>`, /local part too long/);
  });

  it('limits the domain to 255 octets (RFC 5321 §4.5.3.1.2)', () => {
    const d255 = Array(4).fill('a'.repeat(63)).join('.'); // 4*63 + 3 = 255
    assert.equal(d255.length, 255);
    assert.equal(isDomain(d255), true);
    assert.equal(isDomain(d255 + 'a'), false); // its last label would be 64 octets anyway
    assert.equal(isDomain(Array(5).fill('a'.repeat(51)).join('.')), false); // 259 octets, labels fine
    bad(`<u@${d255}>`, /too long/);
  });

  it('limits the path to 256 octets (RFC 5321 §4.5.3.1.3)', () => {
    const domain = Array(4).fill('a'.repeat(60)).join('.'); // 243
    ok(`<${'b'.repeat(9)}@${domain}>`); // 2 + 9 + 1 + 243 = 255
    ok(`<${'b'.repeat(10)}@${domain}>`); // 256
    bad(`<${'b'.repeat(11)}@${domain}>`, /address too long/); // 257
  });
});

describe('formatAddress', () => {
  it('writes dot-strings as they are', () => {
    assert.equal(formatAddress({ local: 'john.doe', domain: 'example.com' }), 'john.doe@example.com');
    assert.equal(formatAddress({ local: '用户', domain: '例子.广告' }), '用户@例子.广告');
    assert.equal(formatAddress({ local: 'u', domain: '[192.0.2.1]' }), 'u@[192.0.2.1]');
  });

  it('quotes when needed, escaping only " and \\', () => {
    assert.equal(formatAddress({ local: 'john doe', domain: 'example.com' }), '"john doe"@example.com');
    assert.equal(formatAddress({ local: 'a"b', domain: 'x.org' }), '"a\\"b"@x.org');
    assert.equal(formatAddress({ local: 'a\\b', domain: 'x.org' }), '"a\\\\b"@x.org');
    assert.equal(formatAddress({ local: '', domain: 'x.org' }), '""@x.org');
    assert.equal(formatAddress({ local: 'a..b', domain: 'x.org' }), '"a..b"@x.org');
    assert.equal(formatAddress({ local: '.a', domain: 'x.org' }), '".a"@x.org');
  });

  it('writes the postmaster form without @', () => {
    assert.equal(formatAddress({ local: 'postmaster', domain: '' }), 'postmaster');
  });
});

describe('canonicalAddress', () => {
  it('lower-cases local part and domain', () => {
    assert.equal(canonicalAddress({ local: 'John.Doe', domain: 'Example.COM' }), 'john.doe@example.com');
  });

  it('normalizes the local part to NFC', () => {
    assert.equal(canonicalAddress({ local: 'Jose\u0301', domain: 'x.org' }), 'jos\u00e9@x.org');
    assert.equal(
      canonicalAddress({ local: 'jos\u00e9', domain: 'x.org' }),
      canonicalAddress({ local: 'JOSE\u0301', domain: 'X.org' }),
    );
  });

  it('converts IDN domains to A-labels', () => {
    assert.equal(canonicalAddress({ local: '用户', domain: '例子.广告' }), '用户@xn--fsqu00a.xn--4rr70v');
    assert.equal(canonicalAddress({ local: 'a', domain: 'MÜNCHEN.de' }), 'a@xn--mnchen-3ya.de');
    assert.equal(canonicalAddress({ local: 'a', domain: 'xn--mnchen-3ya.de' }), 'a@xn--mnchen-3ya.de');
  });

  it('keeps literals bracketed and lower-cased, and re-quotes the local part', () => {
    assert.equal(canonicalAddress({ local: 'u', domain: '[IPv6:2001:DB8::1]' }), 'u@[ipv6:2001:db8::1]');
    assert.equal(canonicalAddress({ local: 'John Doe', domain: 'x.org' }), '"john doe"@x.org');
    assert.equal(canonicalAddress({ local: 'postmaster', domain: '' }), 'postmaster');
  });
});

// Generators of valid addresses for the round-trip property.
const ATEXT = "abcXYZ019!#$%&'*+-/=?^_`{|}~".split('');
const UNI = ['é', 'ü', '用', '户', 'ж', '😀'];
const atom = fc.string({ unit: fc.constantFrom(...ATEXT, ...UNI), minLength: 1, maxLength: 8 });
const dotString = fc.array(atom, { minLength: 1, maxLength: 4 }).map((a) => a.join('.'));
const quotedValue = fc.string({ unit: fc.constantFrom(' ', '"', '\\', '.', '@', '<', '>', 'a', ',', ':', 'é', '~'), maxLength: 20 });
const ldhLabel = fc
  .tuple(
    fc.constantFrom(...'abcxyzABC019'.split('')),
    fc.string({ unit: fc.constantFrom(...'abc-09'.split('')), maxLength: 10 }),
    fc.constantFrom(...'az09'.split('')),
  )
  .map(([a, b, c]) => a + b + c);
const uLabel = fc.constantFrom('例子', '广告', 'münchen', 'пример', 'bücher', 'ñandú');
const domainName = fc.array(fc.oneof(ldhLabel, uLabel), { minLength: 1, maxLength: 4 }).map((l) => l.join('.'));
const literal = fc.oneof(
  fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((a) => `[${a.join('.')}]`),
  fc.array(fc.nat(0xffff), { minLength: 8, maxLength: 8 }).map((g) => `[IPv6:${g.map((x) => x.toString(16)).join(':')}]`),
  fc.tuple(fc.nat(0xffff), fc.nat(0xffff)).map(([a, b]) => `[IPv6:${a.toString(16)}::${b.toString(16)}]`),
);
const validAddress = fc
  .record({ local: fc.oneof(dotString, quotedValue), domain: fc.oneof(domainName, literal) })
  .filter((a) => {
    const written = formatAddress(a);
    const local = written.slice(0, written.length - a.domain.length - 1);
    return Buffer.byteLength(local) <= 64 && Buffer.byteLength(written) + 2 <= 256;
  });

describe('address properties', () => {
  it('parsePath never throws on arbitrary input', () => {
    const wrapped = fc.string({ unit: 'binary', maxLength: 300 }).map((s) => `<${s}>`);
    const smtpish = fc
      .array(fc.constantFrom('<', '>', '@', '"', '\\', '.', ':', ',', '[', ']', 'IPv6:', 'a', '1', 'é', ' ', '\0', '-', 'postmaster'), {
        maxLength: 40,
      })
      .map((a) => a.join(''));
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'binary' }), wrapped, smtpish), (s) => {
        const r = parsePath(s);
        if (r.ok) {
          assert.equal(typeof r.address.local, 'string');
          assert.ok(Buffer.byteLength(s) <= 256);
        } else {
          assert.equal(typeof r.error, 'string');
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('formatAddress → parsePath round-trips', () => {
    fc.assert(
      fc.property(validAddress, (a) => {
        const r = parsePath(`<${formatAddress(a)}>`);
        assert.ok(r.ok, `${formatAddress(a)}: ${!r.ok ? r.error : ''}`);
        assert.deepEqual(r.address, { local: a.local, domain: a.domain });
        assert.equal(r.utf8, /[^\x00-\x7f]/.test(a.local + a.domain));
      }),
      { numRuns: 1000 },
    );
  });

  it('canonicalAddress is idempotent through parsing', () => {
    fc.assert(
      fc.property(validAddress, (a) => {
        const c = canonicalAddress(a);
        fc.pre(Buffer.byteLength(c) + 2 <= 256);
        const r = parsePath(`<${c}>`);
        assert.ok(r.ok, c);
        assert.equal(canonicalAddress(r.address), c);
      }),
      { numRuns: 500 },
    );
  });
});
