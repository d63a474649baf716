import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { missingSubmissionHeaders } from './submission-fixups.ts';

const opts = { hostname: 'mx.example.org', now: new Date(Date.UTC(2026, 10, 27, 12, 0, 0)) };
const m = (s: string) => [Buffer.from(s)];

describe('missingSubmissionHeaders (RFC 6409 §8)', () => {
  it('adds Date and Message-ID when both are missing', () => {
    const out = missingSubmissionHeaders(m('Subject: x\r\n\r\nbody\r\n'), opts);
    assert.match(out, /^Date: Fri, 27 Nov 2026 12:00:00 \+0000\r\nMessage-ID: <[^>]+@mx\.example\.org>\r\n$/);
  });
  it('adds nothing when both are present, whatever their case', () => {
    assert.equal(missingSubmissionHeaders(m('DATE: x\r\nmessage-id: <a@b>\r\n\r\nbody\r\n'), opts), '');
  });
  it('does not look into the body', () => {
    const out = missingSubmissionHeaders(m('Subject: x\r\n\r\nDate: not a header\r\nMessage-ID: <no>\r\n'), opts);
    assert.match(out, /^Date: .*\r\nMessage-ID: /);
  });
  it('finds headers split across chunks', () => {
    assert.equal(missingSubmissionHeaders([Buffer.from('Da'), Buffer.from('te: x\r\nMessage-'), Buffer.from('ID: <a@b>\r\n\r\n')], opts), '');
  });
  it('never throws and returns well-formed lines', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 200 }), { maxLength: 5 }), (chunks) => {
        const out = missingSubmissionHeaders(chunks.map((c) => Buffer.from(c)), opts);
        assert.match(out, /^((Date|Message-ID): [^\r\n]+\r\n)*$/);
      }),
    );
  });
});
