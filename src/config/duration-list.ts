// The value type of `queue.retry_schedule`: durations separated by spaces or
// commas ("1m 5m 15m 30m 1h 2h 4h"), each more than zero; the last repeats.

import type { ValueType } from './values.ts';
import { UnitError, parseDuration, show } from './units.ts';

export function durationList(): ValueType<number[]> {
  const expected = 'durations separated by spaces, e.g. "1m 5m 15m 1h"';
  return {
    expected,
    parse(raw) {
      if (typeof raw !== 'string') throw new UnitError(`expected ${expected}, got ${show(raw)}`);
      const parts = raw.split(/[\s,]+/).filter(Boolean);
      if (parts.length === 0) throw new UnitError(`expected at least one duration, got ${show(raw)}`);
      return parts.map((p) => {
        const ms = parseDuration(p);
        if (ms <= 0) throw new UnitError(`each step must be more than 0, got ${show(p)}`);
        return ms;
      });
    },
  };
}
