// The value type of `relay.trusted_networks`: a list of IP networks in CIDR
// form ("192.0.2.0/24", "2001:db8::/32", or a single address). Validated with
// the same NetworkSet the server uses, so what loads is what matches.

import type { ValueType } from './values.ts';
import { UnitError, show } from './units.ts';
import { NetworkSet } from '../net/networks.ts';

const HELP = 'an array of IP networks, e.g. ["192.0.2.0/24", "2001:db8::/32"]';

export function networkList(): ValueType<string[]> {
  return {
    expected: HELP,
    parse(raw) {
      if (!Array.isArray(raw)) throw new UnitError(`expected ${HELP}, got ${show(raw)}`);
      return raw.map((item: unknown, i) => {
        if (typeof item !== 'string') throw new UnitError(`expected a network such as "192.0.2.0/24", got ${show(item)}`, `[${i}]`);
        try {
          new NetworkSet([item]);
        } catch (err) {
          throw new UnitError((err as Error).message, `[${i}]`);
        }
        return item.trim();
      });
    },
  };
}
