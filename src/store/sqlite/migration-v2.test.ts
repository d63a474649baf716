// Upgrading a version-1 database (before authentication) to version 2: the
// accounts keep their argon2id hashes and get no SCRAM keys, and the new
// app-password and sender-grant tables work on them.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { applyMigrations, MIGRATIONS, schemaVersion } from './migrations.ts';
import { openSqliteStore } from './sqlite-store.ts';

test('a version-1 database upgrades: accounts keep their hash and have no SCRAM keys', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'mailroom-migrate-'));
  try {
    const db = new DatabaseSync(join(dataDir, 'mailroom.db'));
    applyMigrations(db, MIGRATIONS.slice(0, 1));
    assert.equal(schemaVersion(db), 1);
    db.prepare('INSERT INTO domains (name, created_at) VALUES (?, ?)').run('example.com', 0);
    db.prepare(
      'INSERT INTO accounts (domain_id, address, password_hash, quota_bytes, used_bytes, created_at) VALUES (1, ?, ?, 0, 0, 0)',
    ).run('old@example.com', '$argon2id$old');
    db.close();

    const s = await openSqliteStore({ dataDir, commitIn: 'main' });
    try {
      const a = (await s.getAccount('old@example.com'))!;
      assert.equal(a.passwordHash, '$argon2id$old');
      assert.equal(a.scram, null);
      await s.addAppPassword(a.id, 'phone', 'h', null);
      await s.addSenderGrant(a.id, '@example.com');
      assert.equal((await s.listAppPasswords(a.id)).length, 1);
      assert.deepEqual(await s.listSenderGrants(a.id), ['@example.com']);
    } finally {
      await s.close();
    }
    const after = new DatabaseSync(join(dataDir, 'mailroom.db'));
    assert.equal(schemaVersion(after), MIGRATIONS.length);
    after.close();
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
});
