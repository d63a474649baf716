// The [dns] section: servers is a list of IP addresses with optional ports,
// timeout a duration; bad values name the key and the entry.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, defaultConfig, parseConfig } from './load.ts';
import { isDnsServer } from './dns-servers.ts';

const SRC = 'mailroom.toml';

test('[dns] defaults: system resolvers, 5 s', () => {
  assert.deepEqual(defaultConfig().dns, { servers: [], timeout: 5000 });
});

test('[dns] values parse', () => {
  const c = parseConfig('[dns]\nservers = ["127.0.0.1:5353", "[::1]:53", "192.0.2.53", "2001:db8::53"]\ntimeout = "750ms"\n', SRC);
  assert.deepEqual(c.dns, { servers: ['127.0.0.1:5353', '[::1]:53', '192.0.2.53', '2001:db8::53'], timeout: 750 });
});

test('[dns] bad values name the key', () => {
  const rejects = (text: string, re: RegExp) =>
    assert.throws(() => parseConfig(text, SRC), (e: unknown) => e instanceof ConfigError && re.test(e.message));
  rejects('[dns]\nservers = "127.0.0.1"\n', /^mailroom\.toml: dns\.servers: expected an array of IP addresses/);
  rejects('[dns]\nservers = ["127.0.0.1", "dns.example"]\n', /^mailroom\.toml: dns\.servers\[1\]: expected an IP address .*got "dns\.example"$/);
  rejects('[dns]\ntimeout = 5\n', /^mailroom\.toml: dns\.timeout: /);
  rejects('[dns]\ntimeout = "0s"\n', /^mailroom\.toml: dns\.timeout: /);
});

test('isDnsServer', () => {
  for (const ok of ['127.0.0.1', '127.0.0.1:5353', '::1', '[::1]:53', '[2001:db8::1]:65535']) assert.ok(isDnsServer(ok), ok);
  for (const bad of ['', 'localhost', 'localhost:53', '127.0.0.1:0', '127.0.0.1:65536', '[127.0.0.1]:53', '::1:53x', '[::1]', '1.2.3:53']) {
    assert.ok(!isDnsServer(bad), bad);
  }
});
