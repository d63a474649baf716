// Link extraction and the host tricks the URL rules look for.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { baseDomain, extractLinks, hostInText, isIpHost, parseLink, MAX_URLS } from './urls.ts';
import { viewMessage } from './message-view.ts';

test('parseLink: userinfo, ports, IPv6 literals, case', () => {
  assert.deepEqual(parseLink('http://paypal.com@evil.example:8080/x'), { url: 'http://paypal.com@evil.example:8080/x', host: 'evil.example', userinfo: true });
  assert.equal(parseLink('https://[2001:db8::1]/a').host, '2001:db8::1');
  assert.equal(parseLink('HTTP://WWW.Example.COM./').host, 'www.example.com');
  assert.equal(parseLink('mailto:x@y').host, '');
});

test('extractLinks: anchors with their text, plain-text URLs without trailing punctuation', () => {
  const v = viewMessage('Content-Type: text/html\r\n\r\n<a href="https://evil.example/login">www.bank.example</a> see http://a.example/x.');
  const links = extractLinks(v);
  assert.deepEqual(links[0], { url: 'https://evil.example/login', host: 'evil.example', userinfo: false, text: 'www.bank.example' });
  assert.ok(links.some((l) => l.url === 'http://a.example/x'));
});

test('hosts: IP forms, base domains, host in link text', () => {
  assert.ok(isIpHost('192.0.2.1') && isIpHost('3232235777') && isIpHost('0x7f000001') && isIpHost('2001:db8::1'));
  assert.ok(!isIpHost('example.com'));
  assert.equal(baseDomain('a.b.example.co.uk'), 'example.co.uk');
  assert.equal(baseDomain('mail.example.com'), 'example.com');
  assert.equal(hostInText('https://www.paypal.com/login'), 'www.paypal.com');
  assert.equal(hostInText('click here'), null);
});

test('property: extraction is bounded and never throws', () => {
  fc.assert(
    fc.property(fc.array(fc.oneof(fc.string(), fc.constantFrom('http://', 'https://a.b/', '<a href=', '">', '</a>', '@', ':99', '[')), { maxLength: 300 }), (parts) => {
      const v = viewMessage('Content-Type: text/html\r\n\r\n' + parts.join(''));
      const links = extractLinks(v);
      assert.ok(links.length <= MAX_URLS);
      for (const l of links) assert.equal(typeof l.host, 'string');
    }),
    { numRuns: 200 },
  );
});

test('anchors are read in one pass: 1 MiB of unclosed anchors or tags does not stall (was quadratic or worse)', () => {
  for (const unit of ['<a href=x>', '<a href="', "<a href='http://a.example/' title=", '<a href=http://b.example/>t']) {
    const html = unit.repeat(Math.floor((1024 * 1024) / unit.length));
    const v = viewMessage(Buffer.from(`Content-Type: text/html\r\n\r\n${html}\r\n`));
    const t = performance.now();
    const links = extractLinks(v);
    const ms = performance.now() - t;
    assert.ok(links.length <= MAX_URLS);
    // Measured ~120 ms for the worst of these; the old pattern took seconds to minutes.
    assert.ok(ms < 3000, `${JSON.stringify(unit)}: ${ms.toFixed(0)} ms`);
  }
  // The text of an unclosed anchor ends at the next anchor; nested markup is dropped.
  const v = viewMessage('Content-Type: text/html\r\n\r\n<a href="https://x.example/">www.bank.example<a HREF=\'https://y.example/\'><b>y</b></A >');
  assert.deepEqual(extractLinks(v).filter((l) => l.text !== undefined).map((l) => [l.host, l.text]), [['x.example', 'www.bank.example'], ['y.example', 'y']]);
});
