import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  parseMime,
  parseContentType,
  decodeBody,
  decodeQuotedPrintable,
  headerValue,
  findDeliveryStatusParts,
  walkParts,
  parseDeliveryStatus,
  validateDeliveryStatus,
  dsnField,
  unfold,
} from './dsn-parse.ts';

const SAMPLE =
  'From: MAILER-DAEMON@mx.example\n' +
  'Subject: Returned mail\n' +
  'Content-Type: multipart/report; report-type=delivery-status;\n' +
  '\tboundary="b1/x"\n' +
  '\n' +
  'preamble\n' +
  '--b1/x\n' +
  'Content-Type: text/plain\n' +
  '\n' +
  'It bounced.\n' +
  '--b1/x\n' +
  'Content-Type: Message/Delivery-Status (a comment)\n' +
  'Content-Transfer-Encoding: base64\n' +
  '\n' +
  Buffer.from(
    'Reporting-MTA: dns; mx.example\nArrival-Date: Wed, 16 Oct 2013 14:15:34 +0900\n\n' +
      'Final-Recipient: RFC822; a@b.example\nAction: failed\nStatus: 5.1.1 (user unknown)\n' +
      'Diagnostic-Code: smtp; 550 5.1.1 <a@b.example>...\n    User Unknown\n',
  ).toString('base64') +
  '\n' +
  '--b1/x\n' +
  'Content-Type: message/rfc822\n' +
  '\n' +
  'Subject: original\n' +
  'Content-Type: multipart/mixed; boundary=inner\n' +
  '\n' +
  '--inner\n' +
  '\n' +
  'no headers in this part\n' +
  '--inner--\n' +
  '--b1/x--\n' +
  'epilogue\n';

test('parseMime walks multipart/report with LF line ends, nested message/rfc822 and headerless parts', () => {
  const root = parseMime(Buffer.from(SAMPLE));
  assert.equal(root.type, 'multipart/report');
  assert.equal(root.params.boundary, 'b1/x');
  assert.equal(root.params['report-type'], 'delivery-status');
  assert.equal(headerValue(root.headers, 'content-type'), 'multipart/report; report-type=delivery-status;\tboundary="b1/x"');
  assert.deepEqual(root.parts.map((p) => p.type), ['text/plain', 'message/delivery-status', 'message/rfc822']);
  assert.equal(root.parts[0].body, 'It bounced.');
  const inner = root.parts[2].message!;
  assert.equal(headerValue(inner.headers, 'subject'), 'original');
  assert.equal(inner.parts.length, 1);
  assert.equal(inner.parts[0].headers.length, 0);
  assert.equal(inner.parts[0].body, 'no headers in this part');
  assert.equal(walkParts(root).length, 6);

  const ds = findDeliveryStatusParts(root);
  assert.equal(ds.length, 1);
  assert.equal(ds[0].nested, false);
  const st = parseDeliveryStatus(decodeBody(ds[0].part).toString('utf8'));
  assert.equal(dsnField(st.perMessage, 'reporting-mta'), 'dns; mx.example');
  assert.equal(st.recipients.length, 1);
  assert.equal(dsnField(st.recipients[0], 'Diagnostic-Code'), 'smtp; 550 5.1.1 <a@b.example>...    User Unknown');
  const v = validateDeliveryStatus(st);
  assert.equal(v.valid, true, JSON.stringify(v.problems));
  // Status with a trailing comment is allowed (RFC 3464 §2.3.4), "RFC822" is an address type in any case.
  assert.deepEqual(v.problems, []);
});

test('parseMime: a missing close delimiter ends the last part at the end; a delimiter must start a line', () => {
  const root = parseMime('Content-Type: multipart/mixed; boundary=zz\r\n\r\n--zz\r\n\r\none x--zz\r\n--zz\r\n\r\ntwo');
  assert.deepEqual(root.parts.map((p) => p.body), ['one x--zz', 'two']);
});

test('parseMime: mbox From line, a header section without body, folded headers', () => {
  const root = parseMime('From someone Mon Jan  1 00:00:00 2024\nSubject: a\n b\nX: 1');
  assert.equal(headerValue(root.headers, 'subject'), 'a b');
  assert.equal(headerValue(root.headers, 'x'), '1');
  assert.equal(root.body, '');
});

test('parseMime: depth and part limits stop the walk instead of failing', () => {
  let msg = 'Subject: leaf\r\n\r\nbody\r\n';
  for (let i = 0; i < 60; i++) msg = `Content-Type: message/rfc822\r\n\r\n${msg}`;
  let depth = 0;
  let p = parseMime(msg);
  while (p.message) {
    p = p.message;
    depth++;
  }
  assert.equal(depth, 32);
  assert.equal(p.truncated, true);
  const many = 'Content-Type: multipart/mixed; boundary=b\r\n\r\n' + '--b\r\n\r\nx\r\n'.repeat(100) + '--b--\r\n';
  const r = parseMime(many, { maxParts: 10 });
  assert.equal(r.parts.length, 9);
  assert.equal(r.truncated, true);
});

test('parseContentType: quoting, comments, RFC 2231 continuations, case', () => {
  assert.deepEqual(parseContentType('Multipart/Report (x); Report-Type="delivery-status"; boundary="a;b\\"c"'), {
    type: 'multipart/report',
    params: Object.assign(Object.create(null), { 'report-type': 'delivery-status', boundary: 'a;b"c' }),
  });
  const p = parseContentType("text/plain; title*0*=utf-8''caf%C3%A9%20; title*1=au; title*2=\" lait\"");
  assert.equal(p.params.title, 'café au lait');
  assert.equal(parseContentType('not a type').type, '');
});

test('decodeQuotedPrintable: soft breaks, hex, malformed kept', () => {
  assert.equal(decodeQuotedPrintable('caf=C3=A9 =\r\nau lait=\r\n\r\n=ZZ').toString('utf8'), 'café au lait\r\n=ZZ');
});

test('parseDeliveryStatus: groups, folding, white-space-only separators, missing per-message group', () => {
  const st = parseDeliveryStatus(
    '\r\nReporting-MTA: dns;\r\n mx.example\r\n \t\r\nFinal-Recipient: rfc822; a@x\r\nAction: delayed\r\nStatus: 4.0.0\r\nWill-Retry-Until: Thu, 6 Mar 2025 08:00:00 +0000\r\n\r\n\r\nFinal-Recipient: rfc822; b@x\r\nAction: Failed\r\nStatus: 5.0.0\r\n',
  );
  assert.equal(dsnField(st.perMessage, 'Reporting-MTA'), 'dns; mx.example');
  assert.equal(st.recipients.length, 2);
  const v = validateDeliveryStatus(st);
  assert.equal(v.valid, true);
  assert.deepEqual(v.problems.map((p) => p.text), ['Action written as "Failed"']);
  assert.equal(validateDeliveryStatus(st, { strict: true }).valid, false);

  const noHead = parseDeliveryStatus('Final-Recipient: rfc822; a@x\nAction: failed\nStatus: 5.1.1\n');
  assert.equal(noHead.perMessage.length, 0);
  assert.equal(noHead.recipients.length, 1);
  assert.deepEqual(
    validateDeliveryStatus(noHead).problems.filter((p) => p.level === 'error').map((p) => p.text),
    ['missing Reporting-MTA'],
  );
});

test('validateDeliveryStatus: required fields and their syntax', () => {
  const errors = (text: string) =>
    validateDeliveryStatus(parseDeliveryStatus(text))
      .problems.filter((p) => p.level === 'error')
      .map((p) => p.text);
  const head = 'Reporting-MTA: dns; mx\n\n';
  assert.deepEqual(errors(head + 'Final-Recipient: rfc822; a@x\nAction: failed\nStatus: 5.1.1\n'), []);
  assert.deepEqual(errors('Reporting-MTA: mx\n\nFinal-Recipient: rfc822; a@x\nAction: failed\nStatus: 5.1.1\n'), [
    'Reporting-MTA is not "type; value": "mx"',
  ]);
  assert.deepEqual(errors(head + 'Final-Recipient: <a@x>\nAction: failed\nStatus: 5.1.1\n'), ['Final-Recipient is not "type; value": "<a@x>"']);
  assert.deepEqual(errors(head + 'Final-Recipient: rfc822; a@x\nAction: bounced\nStatus: 5.1.1\n'), [
    'Action is not one of failed/delayed/delivered/relayed/expanded: "bounced"',
  ]);
  assert.deepEqual(errors(head + 'Final-Recipient: rfc822; a@x\nAction: failed\nStatus: 550\n'), ['Status is not class.subject.detail: "550"']);
  assert.deepEqual(errors(head + 'Final-Recipient: rfc822; a@x\nAction: failed\nStatus: 3.1.1\n'), ['Status is not class.subject.detail: "3.1.1"']);
  assert.deepEqual(errors(head), ['no per-recipient fields']);
  assert.deepEqual(errors(''), ['missing Reporting-MTA', 'no per-recipient fields']);
  // Optional fields only warn.
  const w = validateDeliveryStatus(parseDeliveryStatus(head + 'Final-Recipient: rfc822; a@x\nAction: failed\nStatus: 5.1.1\nLast-Attempt-Date: yesterday\nDiagnostic-Code: oops\n'));
  assert.equal(w.valid, true);
  assert.equal(w.problems.length, 2);
});

test('unfold keeps Unicode spaces that are content', () => {
  assert.equal(unfold(' a\r\n b\u3000'), 'a b\u3000');
});

// --- properties: never throws ----------------------------------------------

const fragments = fc.constantFrom(
  '\r\n',
  '\n',
  '\r',
  '--',
  '--b',
  '--b--',
  'Content-Type: multipart/mixed; boundary=b\r\n',
  'Content-Type: multipart/report; boundary="b"\r\n',
  'Content-Type: message/rfc822\r\n',
  'Content-Type: message/global\r\n',
  'Content-Type: message/delivery-status\r\n',
  'Content-Transfer-Encoding: base64\r\n',
  'Content-Transfer-Encoding: quoted-printable\r\n',
  'Content-Type: text/plain; name*0*=x%; name*1="\r\n',
  ' folded\r\n',
  'Reporting-MTA: dns; x\r\n',
  'Final-Recipient: rfc822; a@b\r\n',
  'Action: failed\r\n',
  'Status: 5.1.1\r\n',
  '=\r\n',
  '=4',
  '(',
  '"',
  ';',
);

const mimeish = fc.array(fc.oneof(fragments, fc.string({ maxLength: 8 }), fc.string({ unit: 'binary', maxLength: 8 })), { maxLength: 80 }).map((xs) => xs.join(''));

test('property: parseMime and the delivery-status functions never throw on arbitrary bytes', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 2000 }), (bytes) => {
      const root = parseMime(bytes);
      for (const { part } of walkParts(root)) decodeBody(part);
      const st = parseDeliveryStatus(Buffer.from(bytes).toString('utf8'));
      validateDeliveryStatus(st, { strict: true });
    }),
    { numRuns: 500 },
  );
});

test('property: MIME-like input never throws and every part is reachable', () => {
  fc.assert(
    fc.property(mimeish, (text) => {
      const root = parseMime(text);
      const all = walkParts(root);
      assert.ok(all.length >= 1);
      for (const { part } of all) {
        assert.equal(typeof part.type, 'string');
        const body = decodeBody(part);
        if (part.type.endsWith('delivery-status')) validateDeliveryStatus(parseDeliveryStatus(body.toString('utf8')));
      }
      parseContentType(text);
      decodeQuotedPrintable(text);
    }),
    { numRuns: 1000 },
  );
});

test('property: serialized delivery-status fields parse back unchanged', () => {
  const name = fc.stringMatching(/^[A-Za-z][A-Za-z0-9-]{0,20}$/);
  const value = fc
    .array(fc.stringMatching(/^[!-~\u00e9\u4e2d]{1,12}$/), { minLength: 1, maxLength: 12 })
    .map((ws) => ws.join(' '));
  const group = fc.array(fc.record({ name, value }), { minLength: 1, maxLength: 6 });
  fc.assert(
    fc.property(fc.array(group, { minLength: 1, maxLength: 5 }), fc.boolean(), fc.nat(), (groups, crlf, seed) => {
      const nl = crlf ? '\r\n' : '\n';
      // Fold some values at some spaces, as a writer might.
      const foldAt = (words: string[]) => words.map((w, i) => (i === 0 ? w : ((seed >> i % 30) & 1 ? ' ' : `${nl} `) + w)).join('');
      const text = groups.map((g) => g.map((f) => `${f.name}: ${foldAt(f.value.split(' '))}${nl}`).join('')).join(nl);
      const withHead = [{ name: 'Reporting-MTA', value: 'dns; mx' }];
      const st = parseDeliveryStatus(`Reporting-MTA: dns; mx${nl}${nl}${text}`);
      assert.deepEqual(st.perMessage, withHead);
      assert.deepEqual(st.recipients, groups.map((g) => g.map((f) => ({ name: f.name, value: f.value }))));
    }),
    { numRuns: 300 },
  );
});
