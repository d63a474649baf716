// The value type of `store.url`: empty (the embedded SQLite store in
// data_dir) or a postgres:// / postgresql:// URL, checked when the
// configuration loads so a typo names the key instead of failing at start.

import type { ValueType } from './values.ts';
import { UnitError, show } from './units.ts';

const HELP = '"" or a PostgreSQL URL such as "postgres://mailroom:secret@db.internal:5432/mailroom"';

export function storeUrl(): ValueType<string> {
  return {
    expected: HELP,
    parse(raw) {
      if (typeof raw !== 'string') throw new UnitError(`expected ${HELP}, got ${show(raw)}`);
      const v = raw.trim();
      if (v === '') return '';
      let u: URL;
      try {
        u = new URL(v);
      } catch {
        throw new UnitError(`expected ${HELP}, got a value that is not a URL`);
      }
      if (u.protocol !== 'postgres:' && u.protocol !== 'postgresql:') {
        throw new UnitError(`expected ${HELP}; only PostgreSQL is supported, got "${u.protocol}//…"`);
      }
      if (!u.hostname && !u.searchParams.get('host')) throw new UnitError(`expected ${HELP}: the URL names no host`);
      return v;
    },
  };
}
