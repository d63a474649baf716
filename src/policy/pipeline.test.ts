import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PolicyPipeline, verdict, folderFor } from './pipeline.ts';
import { R, reply } from '../smtp/protocol/reply.ts';
import { createLogger } from '../log/logger.ts';
import type { PolicyHook } from './types.ts';

const log = createLogger({ write: () => {} });
const base = { sessionId: 's', clientIp: '192.0.2.1', role: 'smtp' as const, trust: 'none' as const, tls: null, hostname: 'mx.example', now: new Date(0) };

test('no hooks: has() is false for every stage and run accepts', async () => {
  const p = new PolicyPipeline([], log);
  for (const s of ['connect', 'mail', 'rcpt', 'data'] as const) assert.equal(p.has(s), false);
  const out = await p.run('connect', base);
  assert.equal(out.action, 'accept');
});

test('hooks run in order; the first reject ends the stage and names its hook', async () => {
  const seen: string[] = [];
  const hooks: PolicyHook[] = [
    { name: 'a', async connect() { seen.push('a'); return verdict.score({ name: 'A', score: 1.5 }); } },
    { name: 'b', async connect(ctx) { seen.push('b'); assert.equal(ctx.verdicts.length, 1); return verdict.reject(R.senderRejected, 'bad'); } },
    { name: 'c', async connect() { seen.push('c'); } },
  ];
  const out = await new PolicyPipeline(hooks, log).run('connect', base);
  assert.deepEqual(seen, ['a', 'b']);
  assert.equal(out.action, 'reject');
  assert.equal(out.decidedBy, 'b');
  assert.equal(out.reason, 'bad');
  assert.equal(out.score, 1.5);
});

test('inbound hooks are skipped for trusted clients; scope all is not', async () => {
  const seen: string[] = [];
  const hooks: PolicyHook[] = [
    { name: 'in', async connect() { seen.push('in'); } },
    { name: 'all', scope: 'all', async connect() { seen.push('all'); } },
  ];
  await new PolicyPipeline(hooks, log).run('connect', { ...base, trust: 'authenticated' });
  assert.deepEqual(seen, ['all']);
});

test('a throwing hook defers with 451 by default, or is skipped with onError continue', async () => {
  const boom = async () => { throw new Error('boom'); };
  let out = await new PolicyPipeline([{ name: 'x', connect: boom }], log).run('connect', base);
  assert.equal(out.action, 'defer');
  assert.equal(out.reply?.code, 451);
  out = await new PolicyPipeline([{ name: 'x', onError: 'continue', connect: boom }], log).run('connect', base);
  assert.equal(out.action, 'accept');
});

test('headers accumulate as CRLF-terminated fields; folders per recipient and for all', async () => {
  const hooks: PolicyHook[] = [
    { name: 'h', async connect() { return [verdict.headers('X-A: 1', 'X-B: 2\r\n'), verdict.folder('Junk', 'q', [1])]; } },
  ];
  const out = await new PolicyPipeline(hooks, log).run('connect', base);
  assert.deepEqual(out.headers, ['X-A: 1\r\n', 'X-B: 2\r\n']);
  assert.equal(folderFor(out, 0), null);
  assert.equal(folderFor(out, 1), 'Junk');
  const all = await new PolicyPipeline([{ name: 'f', async connect() { return [verdict.folder('Spam', 'one', [0]), verdict.folder('Junk', 'all')]; } }], log).run('connect', base);
  assert.equal(folderFor(all, 0), 'Junk');
  assert.equal(folderFor(all, 5), 'Junk');
});

test('verdict.reject and verdict.defer check the reply class', () => {
  assert.throws(() => verdict.reject(reply(451, '4.7.1', 'x'), 'r'));
  assert.throws(() => verdict.defer(reply(550, '5.7.1', 'x'), 'r'));
});
