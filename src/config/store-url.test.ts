// `[store] url` and `[proxy_protocol]` in the configuration: empty means the
// embedded SQLite store; a postgres:// URL is accepted as it is; anything
// else is refused with a message naming the key. The PROXY protocol list is
// CIDR networks like relay.trusted_networks.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from './load.ts';

test('[store] url: empty, postgres:// and postgresql:// are accepted', () => {
  assert.equal(parseConfig('[store]\nurl = ""\n', 't.toml').store.url, '');
  assert.equal(parseConfig('', 't.toml').store.url, '');
  const u = 'postgres://mailroom:secret@db.internal:5432/mailroom?schema=mail';
  assert.equal(parseConfig(`[store]\nurl = "${u}"\n`, 't.toml').store.url, u);
  assert.equal(parseConfig('[store]\nurl = "postgresql://db/mail"\npool_size = 3\n', 't.toml').store.pool_size, 3);
});

test('[store] url: other schemes, non-URLs and host-less URLs are refused, naming the key', () => {
  for (const [bad, re] of [
    ['mysql://db/mail', /store\.url: .*only PostgreSQL/],
    ['not a url', /store\.url: .*not a URL/],
    ['postgres:///mail', /store\.url: .*names no host/],
  ] as const) {
    assert.throws(() => parseConfig(`[store]\nurl = "${bad}"\n`, 't.toml'), re);
  }
  assert.throws(() => parseConfig('[store]\npool_size = 0\n', 't.toml'), /store\.pool_size/);
});

test('[proxy_protocol] trusted takes CIDR networks; the timeout is a duration', () => {
  const c = parseConfig('[proxy_protocol]\ntrusted = ["10.0.0.5/32", "2001:db8::/64"]\ntimeout = "2s"\n', 't.toml');
  assert.deepEqual(c.proxy_protocol, { trusted: ['10.0.0.5/32', '2001:db8::/64'], timeout: 2000 });
  assert.throws(() => parseConfig('[proxy_protocol]\ntrusted = ["10.0.0.300/8"]\n', 't.toml'), /proxy_protocol\.trusted/);
});
