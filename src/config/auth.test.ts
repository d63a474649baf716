// The [auth] section: brute-force limits parse to counts and milliseconds,
// allow_plaintext_loopback is a real boolean, and bad values name the key.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, parseConfig } from './load.ts';

const SRC = 'mailroom.toml';

test('[auth] values parse to counts, milliseconds and a boolean', () => {
  const c = parseConfig(
    `[auth]
max_failures_per_ip = 5
max_failures_per_account = 50
failure_window = "1h"
lockout = "30m"
slowdown = "500ms"
slowdown_after = 0
slowdown_max = "2s"
allow_plaintext_loopback = true
`,
    SRC,
  );
  assert.deepEqual(c.auth, {
    max_failures_per_ip: 5,
    max_failures_per_account: 50,
    failure_window: 3_600_000,
    lockout: 1_800_000,
    slowdown: 500,
    slowdown_after: 0,
    slowdown_max: 2000,
    allow_plaintext_loopback: true,
  });
});

test('[auth] errors name the key', () => {
  const bad: Array<[string, RegExp]> = [
    ['max_failures_per_ip = 0', /^mailroom\.toml: auth\.max_failures_per_ip: must be at least 1/],
    ['failure_window = "0s"', /^mailroom\.toml: auth\.failure_window: /],
    ['allow_plaintext_loopback = "yes"', /^mailroom\.toml: auth\.allow_plaintext_loopback: expected true or false, got "yes"/],
    ['lockut = "1m"', /^mailroom\.toml: auth\.lockut: unknown key \(did you mean auth\.lockout\?\)/],
  ];
  for (const [line, re] of bad) {
    assert.throws(() => parseConfig(`[auth]\n${line}\n`, SRC), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.match(err.message, re);
      return true;
    });
  }
});
