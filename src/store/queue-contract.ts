// The outbound queue's part of the Store contract (run by storeContract in
// contract.ts, so every backend passes it): enqueueing with deliver() (local
// copies and queue rows all-or-nothing, one blob), leasing due recipients per
// (message, domain), outcomes and stale owners, the operator's calls, and
// concurrent claims never sharing a recipient. Time is a fixed fake clock
// passed to each call, never the wall clock.

import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  StoreError,
  type Account,
  type OutboundRecipientRequest,
  type OutboundRequest,
  type QueueClaim,
  type Store,
} from './store.ts';

type OpenStore = () => Promise<{ store: Store; cleanup: () => Promise<void> }>;

const HASH = '$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHQ$aGFzaGhhc2hoYXNoaGFzaA';
const T0 = Date.parse('2030-01-02T03:04:05.000Z');
const LEASE = 60_000;

/** The fake clock: T0 + ms. */
function at(ms = 0): Date {
  return new Date(T0 + ms);
}

async function rejectsWith(p: Promise<unknown>, code: StoreError['code']): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof StoreError, `expected StoreError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    return true;
  });
}

function content(id: string): Buffer {
  return Buffer.from(`Subject: ${id}\r\nMessage-ID: <${id}@test>\r\n\r\nhello ${id}\r\n`);
}

function ids(claims: QueueClaim[]): number[] {
  return claims.flatMap((c) => c.message.recipients.map((r) => r.id)).sort((a, b) => a - b);
}

export function queueContract(name: string, open: OpenStore): void {
  describe(`Store contract (outbound queue): ${name}`, () => {
    let store: Store;
    let cleanup: () => Promise<void>;
    beforeEach(async () => {
      ({ store, cleanup } = await open());
    });
    afterEach(() => cleanup());

    async function account(address: string): Promise<Account> {
      const domain = address.slice(address.indexOf('@') + 1);
      if (!(await store.hasDomain(domain))) await store.addDomain(domain);
      return store.addAccount({ address, passwordHash: HASH, quotaBytes: 0 });
    }

    function request(queueId: string, rcpts: Array<string | OutboundRecipientRequest>, extra: Partial<OutboundRequest> = {}): OutboundRequest {
      return {
        queueId,
        sender: 'sender@here.example',
        recipients: rcpts.map((r) => (typeof r === 'string' ? { address: r } : r)),
        smtputf8: false,
        eightBit: false,
        notBefore: at(),
        ...extra,
      };
    }

    /** Queues a message for remote recipients only. */
    async function enqueue(queueId: string, rcpts: Array<string | OutboundRecipientRequest>, extra: Partial<OutboundRequest> = {}) {
      const copies = await store.deliver({
        content: [content(queueId)],
        internalDate: at(),
        recipients: [],
        outbound: request(queueId, rcpts, extra),
      });
      assert.deepEqual(copies, []);
      return (await store.getQueued(queueId))!;
    }

    function claim(owner: string, nowMs: number, limit = 100, domain?: string): Promise<QueueClaim[]> {
      return store.claimDue({ now: at(nowMs), limit, leaseMs: LEASE, owner, domain });
    }

    describe('enqueueing with deliver', () => {
      it('stores local copies and queue rows in one call, sharing one blob', async () => {
        const a = await account('a@here.example');
        const bytes = content('Q1');
        const copies = await store.deliver({
          content: [bytes.subarray(0, 10), bytes.subarray(10)],
          internalDate: at(-5000),
          recipients: [{ accountId: a.id }],
          outbound: request(
            'Q1',
            [
              { address: 'Bob@Remote.Example', notify: ['DELAY', 'FAILURE'], orcpt: 'rfc822;Bob@Remote.Example' },
              { address: 'carol@bücher.example', notify: ['NEVER'] },
              'dave@[192.0.2.7]',
            ],
            { envid: 'env-1', ret: 'HDRS', smtputf8: true, eightBit: true, notBefore: at(1000) },
          ),
        });
        assert.equal(copies.length, 1);
        const [local] = await store.listMessages(copies[0]!.mailboxId);
        const q = await store.getQueued('Q1');
        assert.ok(q);
        assert.equal(q.blobId, local!.blobId, 'mailbox row and queue row share the blob');
        assert.deepEqual(await store.readBlob(q.blobId), bytes);
        assert.equal(q.size, bytes.length);
        assert.equal(q.sender, 'sender@here.example');
        assert.equal(q.createdAt.getTime(), at(-5000).getTime(), 'createdAt is the arrival time');
        assert.equal(q.envid, 'env-1');
        assert.equal(q.ret, 'HDRS');
        assert.equal(q.smtputf8, true);
        assert.equal(q.eightBit, true);
        assert.deepEqual(
          q.recipients.map((r) => [r.address, r.domain, r.notify, r.orcpt]),
          [
            ['Bob@Remote.Example', 'remote.example', ['FAILURE', 'DELAY'], 'rfc822;Bob@Remote.Example'],
            ['carol@bücher.example', 'xn--bcher-kva.example', ['NEVER'], null],
            ['dave@[192.0.2.7]', '[192.0.2.7]', null, null],
          ],
        );
        for (const r of q.recipients) {
          assert.equal(r.queueId, 'Q1');
          assert.equal(r.state, 'pending');
          assert.equal(r.attempts, 0);
          assert.equal(r.nextAttemptAt.getTime(), at(1000).getTime());
          assert.equal(r.lastAttemptAt, null);
          assert.equal(r.lastReply, null);
          assert.equal(r.lastStatus, null);
          assert.equal(r.lastHost, null);
          assert.equal(r.delayWarned, false);
          assert.ok(Number.isSafeInteger(r.id));
        }
        assert.equal(new Set(q.recipients.map((r) => r.id)).size, 3);
        assert.deepEqual((await store.listQueue()).map((m) => m.queueId), ['Q1']);
      });

      it('queues an outbound-only message (no local recipients), null sender allowed', async () => {
        const q = await enqueue('Q2', ['x@remote.example', 'x@remote.example'], { sender: '' });
        assert.equal(q.sender, '');
        assert.equal(q.recipients.length, 1, 'the same address twice is one recipient');
        assert.equal(q.envid, null);
        assert.equal(q.ret, null);
        assert.deepEqual(await store.readBlob(q.blobId), content('Q2'));
      });

      it('is all-or-nothing: a bad local recipient stores no queue rows, a taken queue id no local copy', async () => {
        const a = await account('a@here.example');
        await rejectsWith(
          store.deliver({
            content: [content('Q3')],
            internalDate: at(),
            recipients: [{ accountId: a.id + 999 }],
            outbound: request('Q3', ['x@remote.example']),
          }),
          'not_found',
        );
        assert.equal(await store.getQueued('Q3'), null);
        await enqueue('Q4', ['x@remote.example']);
        await rejectsWith(
          store.deliver({
            content: [content('Q4b')],
            internalDate: at(),
            recipients: [{ accountId: a.id }],
            outbound: request('Q4', ['y@remote.example']),
          }),
          'exists',
        );
        assert.equal((await store.getMailbox(a.id, 'INBOX'))!.messageCount, 0);
        assert.deepEqual((await store.getQueued('Q4'))!.recipients.map((r) => r.address), ['x@remote.example']);
      });

      it('refuses invalid outbound requests', async () => {
        const bad: Array<Partial<OutboundRequest>> = [
          { recipients: [] },
          { recipients: [{ address: 'no-at-sign' }] },
          { recipients: [{ address: 'x@bad..example' }] },
          { recipients: [{ address: 'x@remote.example', notify: ['NEVER', 'FAILURE'] }] },
          { recipients: [{ address: 'x@remote.example', notify: [] }] },
          { recipients: [{ address: 'x@remote.example', notify: ['SOMETIMES' as 'NEVER'] }] },
          { queueId: '' },
          { queueId: 'has space' },
          { sender: 'x\r\n@y' },
          { ret: 'ALL' as 'FULL' },
          { notBefore: new Date(NaN) },
        ];
        for (const b of bad) {
          await rejectsWith(
            store.deliver({
              content: [content('bad')],
              internalDate: at(),
              recipients: [],
              outbound: { ...request('QBAD', ['x@remote.example']), ...b },
            }),
            'invalid',
          );
        }
        await rejectsWith(store.deliver({ content: [content('none')], internalDate: at(), recipients: [] }), 'invalid');
        assert.deepEqual(await store.listQueue({ all: true }), []);
      });
    });

    describe('claimDue', () => {
      it('leases only due recipients', async () => {
        await enqueue('LATER', ['x@remote.example'], { notBefore: at(30_000) });
        await enqueue('NOW', ['y@remote.example']);
        const c = await claim('n1', 0);
        assert.deepEqual(c.map((x) => x.message.queueId), ['NOW']);
        assert.deepEqual(await claim('n1', 29_999), []);
        const later = await claim('n1', 30_000);
        assert.deepEqual(later.map((x) => x.message.queueId), ['LATER']);
      });

      it('groups one claim per (message, domain) with only the claimed recipients', async () => {
        await enqueue('M1', ['a1@a.example', 'b1@b.example', 'a2@A.EXAMPLE', 'b2@b.example', 'c1@c.example']);
        await enqueue('M2', ['a3@a.example']);
        const claims = await claim('n1', 0);
        const shape = claims
          .map((c) => [c.message.queueId, c.domain, c.message.recipients.map((r) => r.address)] as const)
          .sort((x, y) => (x[0] + x[1]).localeCompare(y[0] + y[1]));
        assert.deepEqual(shape, [
          ['M1', 'a.example', ['a1@a.example', 'a2@A.EXAMPLE']],
          ['M1', 'b.example', ['b1@b.example', 'b2@b.example']],
          ['M1', 'c.example', ['c1@c.example']],
          ['M2', 'a.example', ['a3@a.example']],
        ]);
        const m1 = claims.find((c) => c.message.queueId === 'M1')!.message;
        assert.equal(m1.sender, 'sender@here.example');
        assert.deepEqual(await store.readBlob(m1.blobId), content('M1'));
        for (const c of claims) for (const r of c.message.recipients) assert.equal(r.domain, c.domain);
      });

      it('respects the limit, oldest due first, and the domain filter', async () => {
        await enqueue('OLD', ['o1@a.example', 'o2@b.example'], { notBefore: at(-2000) });
        await enqueue('MID', ['m1@b.example', 'm2@a.example'], { notBefore: at(-1000) });
        await enqueue('NEW', ['n1@a.example', 'n2@a.example']);
        const first = await claim('n1', 0, 3);
        assert.equal(ids(first).length, 3);
        assert.deepEqual(
          first.flatMap((c) => c.message.recipients.map((r) => r.address)).sort(),
          ['m1@b.example', 'o1@a.example', 'o2@b.example'],
        );
        const onlyA = await claim('n1', 0, 10, 'A.example');
        assert.deepEqual(
          onlyA.flatMap((c) => c.message.recipients.map((r) => r.address)).sort(),
          ['m2@a.example', 'n1@a.example', 'n2@a.example'],
        );
        assert.ok(onlyA.every((c) => c.domain === 'a.example'));
        assert.deepEqual(await claim('n1', 0, 10), [], 'everything is leased now');
        assert.deepEqual(await claim('n1', 0, 10, 'nowhere.example'), []);
        await rejectsWith(claim('n1', 0, 0), 'invalid');
        await rejectsWith(store.claimDue({ now: at(), limit: 1, leaseMs: 0, owner: 'n1' }), 'invalid');
        await rejectsWith(store.claimDue({ now: at(), limit: 1, leaseMs: LEASE, owner: '' }), 'invalid');
      });

      it('does not hand leased recipients to anyone until the lease expires', async () => {
        await enqueue('L1', ['x@remote.example', 'y@remote.example']);
        const mine = await claim('n1', 0);
        assert.equal(ids(mine).length, 2);
        assert.deepEqual(await claim('n2', 1000), []);
        assert.deepEqual(await claim('n1', LEASE - 1), [], 'not even to the same owner');
        // n1 died: at lease expiry n2 takes over.
        const taken = await claim('n2', LEASE);
        assert.deepEqual(ids(taken), ids(mine));
        // n1's late report is stale and changes nothing.
        const late = await store.recordOutcomes(
          'n1',
          ids(mine).map((id) => ({ recipientId: id, result: 'delivered' as const, reply: '250 ok', status: '2.0.0', host: 'mx', at: at(LEASE + 1) })),
        );
        assert.deepEqual(late, { applied: [], stale: ids(mine) });
        const q = (await store.getQueued('L1'))!;
        assert.ok(q.recipients.every((r) => r.state === 'pending' && r.attempts === 0));
        const done = await store.recordOutcomes(
          'n2',
          ids(taken).map((id) => ({ recipientId: id, result: 'delivered' as const, reply: '250 ok', status: '2.0.0', host: 'mx', at: at(LEASE + 2) })),
        );
        assert.deepEqual(done, { applied: ids(taken), stale: [] });
      });

      it('never gives one recipient to two owners across 50 interleaved claims', async () => {
        for (let m = 0; m < 20; m++) {
          await enqueue(`C${m}`, Array.from({ length: 5 }, (_, i) => `r${i}@d${(m + i) % 4}.example`));
        }
        const owners = ['east', 'west'];
        const results = await Promise.all(
          Array.from({ length: 50 }, (_, i) =>
            claim(owners[i % 2]!, i, 3, i % 5 === 0 ? `d${i % 4}.example` : undefined).then((c) => ({ owner: owners[i % 2]!, c })),
          ),
        );
        const seen = new Map<number, string>();
        for (const { owner, c } of results) {
          for (const id of ids(c)) {
            assert.ok(!seen.has(id), `recipient ${id} claimed by ${seen.get(id)} and ${owner}`);
            seen.set(id, owner);
          }
          assert.ok(ids(c).length <= 3);
        }
        const total = (await store.listQueue()).reduce((n, m) => n + m.recipients.length, 0);
        assert.equal(total, 100);
        assert.equal(seen.size, 100, '50 claims of up to 3 leased every recipient exactly once');
        // Each owner's outcomes apply only to its own recipients.
        const all = [...seen.keys()];
        const r = await store.recordOutcomes(
          'east',
          all.map((id) => ({ recipientId: id, result: 'delivered' as const, reply: null, status: null, host: null, at: at(100) })),
        );
        assert.deepEqual(r.applied.sort((a, b) => a - b), all.filter((id) => seen.get(id) === 'east').sort((a, b) => a - b));
        assert.deepEqual(r.stale.sort((a, b) => a - b), all.filter((id) => seen.get(id) === 'west').sort((a, b) => a - b));
      });
    });

    describe('recordOutcomes', () => {
      it('records delivered, failed and deferred; deferred comes back when due', async () => {
        await enqueue('R1', ['ok@remote.example', 'gone@remote.example', 'later@remote.example']);
        const [c] = await claim('n1', 0);
        const [ok, gone, later] = c!.message.recipients;
        const res = await store.recordOutcomes('n1', [
          { recipientId: ok!.id, result: 'delivered', reply: '250 2.0.0 queued as X', status: '2.0.0', host: 'mx1.remote.example [192.0.2.1]', at: at(10) },
          { recipientId: gone!.id, result: 'failed', reply: '550-5.1.1 no such user\n550 5.1.1 really', status: '5.1.1', host: 'mx1.remote.example [192.0.2.1]', at: at(10) },
          { recipientId: later!.id, result: 'deferred', reply: '450 4.7.1 greylisted', status: '4.7.1', host: 'mx1.remote.example [192.0.2.1]', at: at(10), nextAttemptAt: at(300_000) },
        ]);
        assert.deepEqual(res, { applied: [ok!.id, gone!.id, later!.id], stale: [] });
        const q = (await store.getQueued('R1'))!;
        const by = new Map(q.recipients.map((r) => [r.address, r]));
        const okR = by.get('ok@remote.example')!;
        assert.equal(okR.state, 'delivered');
        assert.equal(okR.attempts, 1);
        assert.equal(okR.lastAttemptAt?.getTime(), at(10).getTime());
        assert.equal(okR.lastReply, '250 2.0.0 queued as X');
        assert.equal(okR.lastStatus, '2.0.0');
        assert.equal(okR.lastHost, 'mx1.remote.example [192.0.2.1]');
        const goneR = by.get('gone@remote.example')!;
        assert.equal(goneR.state, 'failed');
        assert.equal(goneR.lastReply, '550-5.1.1 no such user\n550 5.1.1 really', 'multi-line reply kept verbatim');
        assert.equal(goneR.lastStatus, '5.1.1');
        const laterR = by.get('later@remote.example')!;
        assert.equal(laterR.state, 'pending');
        assert.equal(laterR.attempts, 1);
        assert.equal(laterR.nextAttemptAt.getTime(), at(300_000).getTime());
        assert.equal(laterR.lastStatus, '4.7.1');
        // The lease is gone, but the retry is not due yet.
        assert.deepEqual(await claim('n2', 299_999), []);
        const again = await claim('n2', 300_000);
        assert.deepEqual(ids(again), [later!.id]);
        await store.recordOutcomes('n2', [
          { recipientId: later!.id, result: 'deferred', reply: null, status: null, host: null, at: at(300_001), nextAttemptAt: at(900_000) },
        ]);
        const r2 = (await store.getQueued('R1'))!.recipients.find((r) => r.id === later!.id)!;
        assert.equal(r2.attempts, 2);
        assert.equal(r2.lastReply, null, 'last* describe the last attempt');
        assert.equal(r2.lastHost, null);
      });

      it('treats unknown, unleased and already-final recipients as stale', async () => {
        await enqueue('R2', ['a@remote.example', 'b@remote.example']);
        const q = (await store.getQueued('R2'))!;
        const [a, b] = q.recipients;
        const o = (id: number) => ({ recipientId: id, result: 'delivered' as const, reply: null, status: null, host: null, at: at(1) });
        assert.deepEqual(await store.recordOutcomes('n1', [o(a!.id)]), { applied: [], stale: [a!.id] }, 'never leased');
        await claim('n1', 0);
        assert.deepEqual(await store.recordOutcomes('n1', [o(a!.id), o(999_999)]), { applied: [a!.id], stale: [999_999] });
        assert.deepEqual(await store.recordOutcomes('n1', [o(a!.id)]), { applied: [], stale: [a!.id] }, 'reported twice');
        assert.deepEqual(await store.recordOutcomes('n1', [o(b!.id)]), { applied: [b!.id], stale: [] });
        assert.deepEqual(await store.recordOutcomes('n1', []), { applied: [], stale: [] });
      });

      it('refuses invalid outcomes', async () => {
        const base = { recipientId: 1, reply: null, status: null, host: null, at: at() };
        await rejectsWith(store.recordOutcomes('n1', [{ ...base, result: 'deferred' }]), 'invalid');
        await rejectsWith(store.recordOutcomes('n1', [{ ...base, result: 'lost' as 'failed' }]), 'invalid');
        await rejectsWith(store.recordOutcomes('n1', [{ ...base, result: 'failed' }, { ...base, result: 'failed' }]), 'invalid');
        await rejectsWith(store.recordOutcomes('', [{ ...base, result: 'failed' }]), 'invalid');
      });

      it('drops a finished message from listQueue but keeps it for getQueued and all: true until purged', async () => {
        await enqueue('D1', ['a@remote.example', 'b@other.example']);
        await enqueue('D2', ['c@remote.example']);
        const claims = await claim('n1', 0);
        const d1 = claims.filter((c) => c.message.queueId === 'D1');
        const first = d1[0]!.message.recipients[0]!;
        await store.recordOutcomes('n1', [{ recipientId: first.id, result: 'delivered', reply: '250 ok', status: null, host: 'mx', at: at(5) }]);
        assert.deepEqual((await store.listQueue()).map((m) => m.queueId), ['D1', 'D2'], 'one recipient still pending');
        const rest = d1.flatMap((c) => c.message.recipients).filter((r) => r.id !== first.id);
        await store.recordOutcomes(
          'n1',
          rest.map((r) => ({ recipientId: r.id, result: 'failed' as const, reply: '550 no', status: '5.0.0', host: 'mx', at: at(7) })),
        );
        assert.deepEqual((await store.listQueue()).map((m) => m.queueId), ['D2']);
        const all = await store.listQueue({ all: true });
        assert.deepEqual(all.map((m) => m.queueId), ['D1', 'D2']);
        assert.deepEqual(all[0]!.recipients.map((r) => r.state).sort(), ['delivered', 'failed']);
        assert.equal((await store.getQueued('D1'))!.recipients.length, 2);
        // Purge removes finished messages that finished before the cut-off, only.
        assert.equal(await store.purgeQueue(at(7)), 0);
        assert.equal(await store.purgeQueue(at(8)), 1);
        assert.equal(await store.getQueued('D1'), null);
        assert.deepEqual((await store.listQueue({ all: true })).map((m) => m.queueId), ['D2']);
      });
    });

    describe('operator calls', () => {
      it('retryQueued makes pending recipients due now, one message or all', async () => {
        await enqueue('T1', ['a@remote.example', 'b@remote.example'], { notBefore: at(3_600_000) });
        await enqueue('T2', ['c@remote.example'], { notBefore: at(7_200_000) });
        assert.deepEqual(await claim('n1', 0), []);
        assert.equal(await store.retryQueued('T1', at(10)), 2);
        assert.deepEqual((await store.getQueued('T1'))!.recipients.map((r) => r.nextAttemptAt.getTime()), [at(10).getTime(), at(10).getTime()]);
        assert.deepEqual((await claim('n1', 10)).map((c) => c.message.queueId), ['T1']);
        assert.equal(await store.retryQueued('NOPE', at(10)), 0);
        assert.equal(await store.retryQueued(null, at(20)), 3, 'leased recipients count too; the lease still holds');
        assert.deepEqual((await claim('n1', 20)).map((c) => c.message.queueId), ['T2']);
      });

      it('deleteQueued removes the message and its recipients; their outcomes become stale', async () => {
        await enqueue('X1', ['a@remote.example']);
        await enqueue('X2', ['b@remote.example']);
        const c = await claim('n1', 0);
        const x1 = c.find((x) => x.message.queueId === 'X1')!.message.recipients[0]!;
        assert.equal(await store.deleteQueued('X1'), true);
        assert.equal(await store.deleteQueued('X1'), false);
        assert.equal(await store.getQueued('X1'), null);
        assert.deepEqual((await store.listQueue({ all: true })).map((m) => m.queueId), ['X2']);
        const r = await store.recordOutcomes('n1', [{ recipientId: x1.id, result: 'delivered', reply: null, status: null, host: null, at: at(1) }]);
        assert.deepEqual(r, { applied: [], stale: [x1.id] });
      });

      it('failQueued fails every pending recipient now, including leased ones, and returns them', async () => {
        await enqueue('F1', ['a@remote.example', 'b@remote.example', 'c@other.example']);
        const [first] = await claim('n1', 0, 1);
        const a = first!.message.recipients[0]!;
        await store.recordOutcomes('n1', [{ recipientId: a.id, result: 'delivered', reply: '250 ok', status: '2.0.0', host: 'mx', at: at(1) }]);
        const leased = ids(await claim('n1', 2, 1));
        const failed = await store.failQueued('F1', 'Given up by the operator', '5.0.0', at(50));
        assert.deepEqual(failed.map((r) => r.address), ['b@remote.example', 'c@other.example']);
        for (const r of failed) {
          assert.equal(r.state, 'failed');
          assert.equal(r.queueId, 'F1');
          assert.equal(r.lastReply, 'Given up by the operator');
          assert.equal(r.lastStatus, '5.0.0');
          assert.equal(r.lastAttemptAt?.getTime(), at(50).getTime());
        }
        assert.equal((await store.getQueued('F1'))!.recipients.find((r) => r.id === a.id)!.state, 'delivered');
        const late = await store.recordOutcomes('n1', leased.map((id) => ({ recipientId: id, result: 'delivered' as const, reply: null, status: null, host: null, at: at(60) })));
        assert.deepEqual(late, { applied: [], stale: leased });
        assert.deepEqual(await store.listQueue(), []);
        assert.deepEqual(await store.failQueued('F1', 'again', '5.0.0', at(70)), []);
        await rejectsWith(store.failQueued('NOPE', 'x', '5.0.0', at()), 'not_found');
      });

      it('nextQueueWakeup is the earliest time something becomes claimable', async () => {
        assert.equal(await store.nextQueueWakeup(), null);
        await enqueue('W1', ['a@remote.example'], { notBefore: at(50_000) });
        await enqueue('W2', ['b@remote.example'], { notBefore: at(20_000) });
        assert.equal((await store.nextQueueWakeup())?.getTime(), at(20_000).getTime());
        // Leased: not before its lease runs out.
        const c = await claim('n1', 20_000);
        assert.equal((await store.nextQueueWakeup())?.getTime(), at(50_000).getTime());
        const c2 = await claim('n1', 50_000);
        assert.deepEqual(c2.map((x) => x.message.queueId), ['W1']);
        assert.equal((await store.nextQueueWakeup())?.getTime(), at(20_000 + LEASE).getTime(), "W2's lease expiry");
        await store.recordOutcomes('n1', ids(c).map((id) => ({ recipientId: id, result: 'deferred' as const, reply: null, status: null, host: null, at: at(1), nextAttemptAt: at(400_000) })));
        assert.equal((await store.nextQueueWakeup())?.getTime(), at(50_000 + LEASE).getTime(), "W1's lease expiry");
        await store.recordOutcomes('n1', ids(c2).map((id) => ({ recipientId: id, result: 'failed' as const, reply: null, status: null, host: null, at: at(2) })));
        assert.equal((await store.nextQueueWakeup())?.getTime(), at(400_000).getTime());
        await store.deleteQueued('W2');
        assert.equal(await store.nextQueueWakeup(), null);
      });

      it('releaseLeases frees one owner’s leases at once', async () => {
        await enqueue('S1', ['a@one.example', 'b@two.example']);
        const mine = await claim('n1', 0, 1);
        const theirs = await claim('n2', 0, 1);
        await store.releaseLeases('n1');
        assert.deepEqual(ids(await claim('n3', 1)), ids(mine));
        assert.deepEqual(await claim('n3', 1), [], "n2's lease holds");
        assert.equal(ids(theirs).length, 1);
        await store.releaseLeases('nobody');
      });

      it('markDelayWarned flags recipients', async () => {
        const q = await enqueue('DW', ['a@remote.example', 'b@remote.example']);
        await store.markDelayWarned([q.recipients[1]!.id, 424242]);
        assert.deepEqual((await store.getQueued('DW'))!.recipients.map((r) => r.delayWarned), [false, true]);
        await store.markDelayWarned([]);
        await rejectsWith(store.markDelayWarned([1.5]), 'invalid');
      });

      it('refuses queue calls after close', async () => {
        await store.close();
        await rejectsWith(store.listQueue(), 'unavailable');
        await rejectsWith(claim('n1', 0), 'unavailable');
        await rejectsWith(store.recordOutcomes('n1', []), 'unavailable');
      });
    });
  });
}

