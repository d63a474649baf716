// The combined score over a real store: lists, per-user learning, bands.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SpamFilter, allowableSenders, bayesRule, listHit, matchesSender, fromAddress } from './filter.ts';
import { trainMessage, lessonForMove } from './training.ts';
import { authFromVerdicts } from './hook.ts';
import { openSqliteStore } from '../store/sqlite/index.ts';
import { tempDir } from '../../test/helpers/temp-dir.ts';

test('sender patterns and list precedence', () => {
  assert.ok(matchesSender('@example.org', 'a@example.org'));
  assert.ok(matchesSender('@example.org', 'a@mail.example.org'));
  assert.ok(!matchesSender('@example.org', 'a@badexample.org'));
  assert.ok(matchesSender('Bob@Example.org', 'bob@example.org'));
  const rules = [
    { accountId: 1, pattern: '@example.org', action: 'allow' as const },
    { accountId: 1, pattern: 'spam@example.org', action: 'block' as const },
  ];
  assert.equal(listHit(rules, ['spam@example.org'])!.name, 'USER_BLOCKLIST');
  assert.equal(listHit(rules, ['friend@example.org'])!.name, 'USER_ALLOWLIST');
  assert.equal(listHit(rules, ['x@other.example']), null);
  assert.equal(fromAddress('"Bob" <Bob@Example.org>'), 'bob@example.org');
});

test('an allow entry matches only a sender identity that authentication vouched for; block entries match any', () => {
  const rules = [{ accountId: 1, pattern: '@bank.example', action: 'allow' as const }];
  const forged = { envelope: 'x@spammer.example', from: 'ceo@bank.example' };
  // Checks ran and nothing passed: a forged From of an allowed domain earns nothing.
  const none = allowableSenders(forged.envelope, forged.from, { spf: 'fail', dmarc: 'fail' });
  assert.deepEqual(none, []);
  assert.equal(listHit(rules, [forged.envelope, forged.from], none), null);
  // DMARC pass: the From address is the sender's; SPF pass: the envelope sender is.
  assert.deepEqual(allowableSenders('x@spammer.example', 'ceo@bank.example', { spf: 'pass', dmarc: 'pass' }), ['x@spammer.example', 'ceo@bank.example']);
  assert.deepEqual(allowableSenders('b@bank.example', 'ceo@bank.example', { spf: 'pass', dmarc: 'none' }), ['b@bank.example']);
  assert.equal(listHit(rules, ['b@bank.example', 'ceo@bank.example'], ['b@bank.example'])!.name, 'USER_ALLOWLIST');
  // Without results (checks off) both identities count, as before.
  assert.deepEqual(allowableSenders('a@x.example', 'b@y.example', undefined), ['a@x.example', 'b@y.example']);
  assert.deepEqual(allowableSenders(null, 'b@y.example', {}), ['b@y.example']);
  // A block entry matches the forged identity all the same.
  const block = [{ accountId: 1, pattern: '@bank.example', action: 'block' as const }];
  assert.equal(listHit(block, [forged.envelope, forged.from], none)!.name, 'USER_BLOCKLIST');
});

test('SpamFilter: a forged From of an allowlisted domain, with DMARC failing, is not allowlisted', async () => {
  const tmp = await tempDir();
  const store = await openSqliteStore({ dataDir: tmp.dir, commitIn: 'main' });
  try {
    await store.addDomain('example.org');
    const a = await store.addAccount({ address: 'a@example.org', passwordHash: 'x', quotaBytes: 0 });
    await store.addSenderRule({ accountId: a.id, pattern: '@bank.example', action: 'allow' });
    const filter = new SpamFilter({ store, bayesMinMessages: 1 });
    const content = Buffer.from('From: ceo@bank.example\r\nSubject: wire\r\nDate: Mon, 5 Jan 2026 09:00:00 +0000\r\nMessage-ID: <1@bank.example>\r\n\r\npay now\r\n');
    const now = new Date('2026-01-05T10:00:00Z');
    const forged = await filter.score({ content, envelopeFrom: 'x@spammer.example', auth: { spf: 'pass', dmarc: 'fail' }, now, accountIds: [a.id] });
    assert.ok(!forged.perAccount.get(a.id)!.hits.some((h) => h.name === 'USER_ALLOWLIST'), JSON.stringify(forged.perAccount.get(a.id)!.hits));
    const real = await filter.score({ content, envelopeFrom: 'bounce@bank.example', auth: { spf: 'pass', dmarc: 'pass' }, now, accountIds: [a.id] });
    assert.ok(real.perAccount.get(a.id)!.hits.some((h) => h.name === 'USER_ALLOWLIST'));
  } finally {
    await store.close();
    await tmp.remove();
  }
});

test('bayes bands', () => {
  assert.equal(bayesRule(0.9995).name, 'BAYES_999');
  assert.equal(bayesRule(0.995).name, 'BAYES_99');
  assert.equal(bayesRule(0.5).points, 0);
  assert.ok(bayesRule(0.001).points < 0);
});

test('moves: into Junk is spam, out of Junk is ham, to Trash nothing', () => {
  const junk = { name: 'Junk', specialUse: '\\Junk' };
  const inbox = { name: 'INBOX', specialUse: null };
  assert.equal(lessonForMove(inbox, junk), 'spam');
  assert.equal(lessonForMove(null, junk), 'spam');
  assert.equal(lessonForMove(junk, inbox), 'ham');
  assert.equal(lessonForMove(junk, { name: 'Trash', specialUse: '\\Trash' }), null);
  assert.equal(lessonForMove(inbox, { name: 'Archive', specialUse: '\\Archive' }), null);
});

test('SPF/DKIM/DMARC are read from the sender-authentication verdicts', () => {
  assert.deepEqual(
    authFromVerdicts([
      { kind: 'note', fields: { auth: 'spf=softfail dkim=fail dkim=pass dmarc=none arc=none' } },
      { kind: 'headers', fields: ['Authentication-Results: mx; spf=pass smtp.mailfrom=a@b'] },
    ]),
    { spf: 'softfail', dkim: 'pass', dmarc: 'none' },
  );
});

test('per-user learning and lists change only that user\'s score', async () => {
  const tmp = await tempDir();
  const store = await openSqliteStore({ dataDir: tmp.dir, commitIn: 'main' });
  try {
    await store.addDomain('example.org');
    const a = await store.addAccount({ address: 'a@example.org', passwordHash: 'x', quotaBytes: 0 });
    const b = await store.addAccount({ address: 'b@example.org', passwordHash: 'x', quotaBytes: 0 });
    const filter = new SpamFilter({ store, bayesMinMessages: 1 });
    const msg = (n: number) => Buffer.from(`From: x@promo.example\r\nSubject: offer ${n}\r\nDate: Mon, 5 Jan 2026 09:00:00 +0000\r\nMessage-ID: <${n}@promo.example>\r\n\r\nexclusive platinum membership rewards upgrade today\r\n`);
    const now = new Date('2026-01-05T10:00:00Z');
    const before = await filter.score({ content: msg(1), envelopeFrom: 'x@promo.example', now, accountIds: [a.id, b.id] });
    assert.equal(before.perAccount.get(a.id)!.score, before.perAccount.get(b.id)!.score);
    // Only user a learns (trainSpam on a's scope alone, not the global one).
    await store.trainSpam(a.id, 'k1', before.tokens, 'spam', 1);
    await store.addSenderRule({ accountId: b.id, pattern: '@promo.example', action: 'allow' });
    const after = await filter.score({ content: msg(2), envelopeFrom: 'x@promo.example', now, accountIds: [a.id, b.id] });
    const sa = after.perAccount.get(a.id)!;
    const sb = after.perAccount.get(b.id)!;
    assert.ok(sa.hits.some((h) => h.name.startsWith('BAYES_99')), JSON.stringify(sa.hits));
    assert.ok(sb.hits.some((h) => h.name === 'USER_ALLOWLIST'));
    assert.ok(!after.shared.hits.some((h) => h.name.startsWith('BAYES')), 'the global model has learnt nothing');
    // trainMessage teaches the global model too.
    assert.equal(await trainMessage(store, msg(3), 'ham', { accountId: a.id, now }), true);
    assert.equal(await trainMessage(store, msg(3), 'ham', { accountId: a.id, now }), false);
    assert.deepEqual(await store.getSpamTotals(0), { spam: 0, ham: 1 });
  } finally {
    await store.close();
    await tmp.remove();
  }
});

test('MoveLearner: into Junk learns spam, back out relabels it ham, Trash teaches nothing, never throws', async () => {
  const { MoveLearner } = await import('./training.ts');
  const { createLogger } = await import('../log/logger.ts');
  const tmp = await tempDir();
  const store = await openSqliteStore({ dataDir: tmp.dir, commitIn: 'main' });
  try {
    await store.addDomain('example.org');
    const a = await store.addAccount({ address: 'a@example.org', passwordHash: 'x', quotaBytes: 0 });
    const blobs = new Map([['b1', Buffer.from('Subject: deal\r\n\r\nplatinum membership upgrade\r\n')]]);
    const logs: string[] = [];
    const learner = new MoveLearner({ store, readBlob: async (id) => { const b = blobs.get(id); if (!b) throw new Error('gone'); return b; }, now: () => new Date(), log: createLogger({ level: 'info', write: (l) => void logs.push(l) }) });
    const inbox = { name: 'INBOX', specialUse: null };
    const junk = { name: 'Junk', specialUse: '\\Junk' };
    await learner.onMessagesMoved({ accountId: a.id, from: inbox, to: junk, blobIds: ['b1'] });
    assert.deepEqual(await store.getSpamTotals(a.id), { spam: 1, ham: 0 });
    assert.deepEqual(await store.getSpamTotals(0), { spam: 1, ham: 0 });
    await learner.onMessagesMoved({ accountId: a.id, from: junk, to: inbox, blobIds: ['b1'] });
    assert.deepEqual(await store.getSpamTotals(a.id), { spam: 0, ham: 1 });
    await learner.onMessagesMoved({ accountId: a.id, from: inbox, to: { name: 'Trash', specialUse: '\\Trash' }, blobIds: ['b1'] });
    assert.deepEqual(await store.getSpamTotals(0), { spam: 0, ham: 1 });
    await learner.onMessagesMoved({ accountId: a.id, from: inbox, to: junk, blobIds: ['missing'] });
    assert.ok(logs.some((l) => l.includes('spam training failed')));
  } finally {
    await store.close();
    await tmp.remove();
  }
});
