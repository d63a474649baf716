import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { NetworkSet } from './networks.ts';

describe('NetworkSet', () => {
  it('matches IPv4 and IPv6 networks and single addresses', () => {
    const n = new NetworkSet(['192.0.2.0/24', '2001:db8::/32', '198.51.100.7']);
    assert.ok(n.has('192.0.2.200'));
    assert.ok(n.has('::ffff:192.0.2.1'));
    assert.ok(!n.has('192.0.3.1'));
    assert.ok(n.has('2001:db8:1::5'));
    assert.ok(!n.has('2001:db9::1'));
    assert.ok(n.has('198.51.100.7'));
    assert.ok(!n.has('198.51.100.8'));
    assert.ok(!n.has('not-an-ip'));
  });
  it('trusts nothing by default, not even loopback', () => {
    assert.ok(!new NetworkSet([]).has('127.0.0.1'));
  });
  it('rejects malformed entries with a message naming them', () => {
    for (const bad of ['10.0.0.0/33', 'example.org', '10.0.0.0/8/1', '10.0.0.0/x', '::/129', '']) {
      assert.throws(() => new NetworkSet([bad]), /not an IP network/);
    }
  });
  it('never throws on arbitrary client addresses', () => {
    const n = new NetworkSet(['10.0.0.0/8']);
    fc.assert(fc.property(fc.string(), (s) => typeof n.has(s) === 'boolean'));
  });
});
