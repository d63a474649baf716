// The value type of domain lists such as `[auth_checks] trusted_arc_forwarders`:
// an array of DNS domain names, returned lower-cased without a trailing dot.
import type { ValueType } from './values.ts';
import { isHostName } from './values.ts';
import { UnitError, show } from './units.ts';

export const DOMAIN_LIST_HELP = 'an array of domain names, e.g. ["lists.example.org"]';

export function domainList(): ValueType<string[]> {
  return {
    expected: DOMAIN_LIST_HELP,
    parse(raw) {
      if (!Array.isArray(raw)) throw new UnitError(`expected ${DOMAIN_LIST_HELP}, got ${show(raw)}`);
      return raw.map((item: unknown, i) => {
        const d = typeof item === 'string' ? item.replace(/\.$/, '').toLowerCase() : '';
        if (!isHostName(d)) throw new UnitError(`expected a domain name such as "lists.example.org", got ${show(item)}`, `[${i}]`);
        return d;
      });
    },
  };
}
