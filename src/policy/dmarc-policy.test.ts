import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decide, trustedArc, type AuthPolicySettings } from './dmarc-policy.ts';
import type { SenderAuthResult } from './sender-auth.ts';

const S: AuthPolicySettings = { dmarc_policy: 'enforce', spf_fail_policy: 'mark', trusted_arc_forwarders: [], temperror_policy: 'defer' };

function res(p: { spf?: string; dmarc?: string; policy?: 'none' | 'quarantine' | 'reject' | null; dkim?: { result: string; aligned: boolean }[]; arc?: string; sealers?: string[] }): SenderAuthResult {
  return {
    spf: { result: (p.spf ?? 'none') as never, domain: 'sender.example', identity: 'mailfrom', explanation: null, comment: '' },
    dkim: (p.dkim ?? []).map((d) => ({ result: d.result as never, domain: 'sender.example', selector: 's', algorithm: 'rsa-sha256', aligned: d.aligned, comment: '' })),
    dmarc: { result: (p.dmarc ?? 'none') as never, fromDomain: 'sender.example', policy: p.policy ?? null, skipped: null, comment: '' },
    arc: { result: (p.arc ?? 'none') as never, instances: p.sealers?.length ?? 0, sealers: p.sealers ?? [], comment: '' },
    methods: [],
    receivedSpf: null,
    timedOut: false,
    summary: '',
  };
}

test('DMARC p=reject failure: 550 5.7.1 naming the domain, decided by dmarc', () => {
  const d = decide(res({ spf: 'fail', dmarc: 'fail', policy: 'reject' }), S);
  assert.equal(d.action, 'reject');
  assert.equal(d.decidedBy, 'dmarc');
  if (d.action !== 'reject') return;
  assert.equal(d.reply.code, 550);
  assert.equal(d.reply.enhanced, '5.7.1');
  assert.match(d.reply.lines[0], /sender\.example/);
});

test('DMARC p=quarantine failure → Junk; dmarc_policy junk turns reject into Junk; mark only records', () => {
  assert.equal(decide(res({ dmarc: 'fail', policy: 'quarantine' }), S).action, 'junk');
  assert.equal(decide(res({ dmarc: 'fail', policy: 'reject' }), { ...S, dmarc_policy: 'junk' }).action, 'junk');
  const m = decide(res({ dmarc: 'fail', policy: 'reject' }), { ...S, dmarc_policy: 'mark' });
  assert.equal(m.action, 'deliver');
  assert.equal(m.decidedBy, 'dmarc');
});

test('a valid ARC chain sealed by a trusted forwarder (or its subdomain) overrides a DMARC failure', () => {
  const r = res({ dmarc: 'fail', policy: 'reject', arc: 'pass', sealers: ['origin.example', 'mx.lists.example.org'] });
  assert.equal(decide(r, S).action, 'reject');
  const d = decide(r, { ...S, trusted_arc_forwarders: ['lists.example.org'] });
  assert.equal(d.action, 'deliver');
  assert.equal(d.decidedBy, 'arc');
  // A failing chain, or a trusted domain that is not the newest sealer, does not vouch.
  assert.equal(trustedArc({ ...r, arc: { ...r.arc, result: 'fail' } }, ['lists.example.org']), null);
  assert.equal(trustedArc(r, ['origin.example']), null);
});

test('temperror: a DMARC failure that may be due to SPF/DKIM temperror is deferred 451 4.7.1 (or accepted)', () => {
  const r = res({ spf: 'temperror', dmarc: 'fail', policy: 'reject' });
  const d = decide(r, S);
  assert.equal(d.action, 'defer');
  if (d.action === 'defer') assert.equal(d.reply.code, 451);
  assert.equal(decide(r, { ...S, temperror_policy: 'accept' }).action, 'reject');
});

test('DMARC record temperror defers unless something passed aligned', () => {
  assert.equal(decide(res({ dmarc: 'temperror' }), S).action, 'defer');
  assert.equal(decide(res({ dmarc: 'temperror', dkim: [{ result: 'pass', aligned: true }] }), S).action, 'deliver');
  assert.equal(decide(res({ dmarc: 'temperror', spf: 'pass' }), S).action, 'deliver');
  assert.equal(decide(res({ dmarc: 'temperror' }), { ...S, temperror_policy: 'accept' }).action, 'deliver');
});

test('SPF fail alone follows spf_fail_policy: mark (default), junk, reject 550 5.7.23; temperror with reject defers 4.7.24', () => {
  assert.equal(decide(res({ spf: 'fail' }), S).action, 'deliver');
  assert.equal(decide(res({ spf: 'fail' }), { ...S, spf_fail_policy: 'junk' }).action, 'junk');
  const r = decide(res({ spf: 'fail' }), { ...S, spf_fail_policy: 'reject' });
  assert.equal(r.action, 'reject');
  if (r.action === 'reject') assert.equal(r.reply.enhanced, '5.7.23');
  const t = decide(res({ spf: 'temperror' }), { ...S, spf_fail_policy: 'reject' });
  assert.equal(t.action, 'defer');
  if (t.action === 'defer') assert.equal(t.reply.enhanced, '4.7.24');
  assert.equal(decide(res({ spf: 'temperror' }), S).action, 'deliver');
});

test('SPF fail with DMARC passing (an aligned DKIM signature, e.g. forwarded mail) is only recorded, whatever spf_fail_policy says', () => {
  const fwd = res({ spf: 'fail', dmarc: 'pass', policy: 'reject', dkim: [{ result: 'pass', aligned: true }] });
  for (const spf_fail_policy of ['mark', 'junk', 'reject'] as const) {
    const d = decide(fwd, { ...S, spf_fail_policy });
    assert.equal(d.action, 'deliver', spf_fail_policy);
    assert.equal(d.decidedBy, 'spf');
  }
  assert.equal(decide(res({ spf: 'temperror', dmarc: 'pass', dkim: [{ result: 'pass', aligned: true }] }), { ...S, spf_fail_policy: 'reject' }).action, 'deliver');
});

test('pass everywhere: deliver, nobody decided', () => {
  const d = decide(res({ spf: 'pass', dmarc: 'pass', policy: 'reject', dkim: [{ result: 'pass', aligned: true }] }), S);
  assert.deepEqual(d, { action: 'deliver', decidedBy: null, reason: null });
});

test('PSL organisational domains (RFC 7489 §3.2): property — never throws, answer is a suffix of the input', async () => {
  const fc = (await import('fast-check')).default;
  const { publicSuffixList } = await import('./psl.ts');
  const psl = publicSuffixList();
  assert.equal(psl.registrableDomain('mail.example.co.uk'), 'example.co.uk');
  assert.equal(psl.orgDomain('co.uk'), 'co.uk');
  fc.assert(
    fc.property(fc.oneof(fc.domain(), fc.string({ maxLength: 40 })), (d) => {
      const r = psl.registrableDomain(d);
      if (r !== null && /^[\x00-\x7f]*$/.test(d)) assert.ok(d.toLowerCase().replace(/\.$/, '').endsWith(r), `${d} → ${r}`);
    }),
  );
});
