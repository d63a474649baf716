// authFromConfig wires the [auth] limits into the throttle: with the
// defaults the 10th failure from one IP is throttled.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultConfig } from '../config/load.ts';
import { silentLogger } from '../log/logger.ts';
import { openSqliteStore } from '../store/sqlite/index.ts';
import { authFromConfig } from './index.ts';

test('authFromConfig: default limits, slowdown through the injected sleep', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'mailroom-authcfg-'));
  const store = await openSqliteStore({ dataDir: dir, commitIn: 'main' });
  try {
    const slept: number[] = [];
    const { authenticator, senderPolicy } = authFromConfig(store, defaultConfig(), silentLogger, { sleep: async (ms) => void slept.push(ms) });
    const ctx = { clientIp: '203.0.113.1', protocol: 'test', sessionId: 's' };
    const reasons: string[] = [];
    for (let i = 0; i < 10; i++) {
      const r = await authenticator.verifyPlain(`u${i}@example.com`, 'x', ctx);
      reasons.push(r.kind === 'failure' ? r.reason : r.kind);
    }
    assert.deepEqual(reasons, [...Array(9).fill('bad_credentials'), 'throttled']);
    assert.deepEqual(slept, [1000, 2000, 3000, 4000, 5000, 5000]);
    assert.equal(authenticator.isBlocked(ctx), true);
    assert.equal(await senderPolicy.canSendAs({ accountId: 1, address: 'a@example.com', appPassword: null }, 'a+x@example.com'), true);
  } finally {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
});
