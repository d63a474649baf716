import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseDate, dateToEpochMs } from './date.ts';

test('RFC 5322 §3.3 and obsolete forms (§4.3)', () => {
  assert.deepEqual(parseDate('Fri, 21 Nov 1997 09:55:06 -0600'), { year: 1997, month: 11, day: 21, hour: 9, minute: 55, second: 6, zone: -360 });
  assert.equal(parseDate('21 Nov 97 09:55:06 GMT')!.year, 1997);
  assert.equal(parseDate('1 Jan 49 00:00 +0000')!.year, 2049);
  assert.equal(parseDate('1 Jan 103 00:00 +0000')!.year, 2003);
  assert.equal(parseDate('Thu,\r\n 13\r\n Feb\r\n 1969\r\n 23:32\r\n -0330 (Newfoundland Time)')!.zone, -210);
  assert.equal(parseDate('Sun, 27 Oct 2002 23:57:07 EST')!.zone, -300);
  assert.equal(parseDate('Tue, 1 Jul 2003 (comment) 10:52:37 +0200')!.hour, 10);
  assert.equal(parseDate('by x with SMTP id y; Mon, 10 Oct 2022 10:31:15 -0700 (PDT)')!.day, 10);
  assert.equal(parseDate('13 zzz 2021 09:55:06 +0200'), null);
  assert.equal(parseDate('not a date'), null);
  assert.equal(parseDate(''), null);
});

test('dateToEpochMs applies the zone', () => {
  assert.equal(dateToEpochMs(parseDate('Fri, 21 Nov 1997 09:55:06 -0600')!), Date.UTC(1997, 10, 21, 15, 55, 6));
});

test('property: never throws; formatted dates parse back', () => {
  fc.assert(fc.property(fc.string({ maxLength: 80 }), (s) => void parseDate(s)), { numRuns: 2000 });
  fc.assert(
    fc.property(fc.date({ min: new Date('1970-01-01'), max: new Date('2099-12-31'), noInvalidDate: true }), (d) => {
      const t = Math.floor(d.getTime() / 1000) * 1000;
      const p = parseDate(new Date(t).toUTCString().replace('GMT', '+0000'));
      assert.ok(p);
      assert.equal(dateToEpochMs(p), t);
    }),
    { numRuns: 500 },
  );
});
