// Value kinds of the abuse-defence sections ([dnsbl], [spam]): DNS list zones
// with their action ("zen.spamhaus.org:reject", "bl.example:score=2.5",
// "list.dnswl.org:allow") and spam points (decimal numbers). Pure; the
// parsers return errors as values or throw UnitError like the other kinds.

import type { ValueType } from './values.ts';
import { UnitError, show } from './units.ts';

export type ZoneAction = { kind: 'reject' } | { kind: 'score'; points: number } | { kind: 'allow'; points: number };

export interface ZoneSpec {
  zone: string;
  action: ZoneAction;
}

const ZONE_NAME = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** Parses "zone", "zone:reject", "zone:score=2.5", "zone:allow" or "zone:allow=-2".
 * `defaultAction` applies to a bare zone. Returns an error text instead of throwing. */
export function parseZoneSpec(spec: string, defaultAction: ZoneAction['kind']): ZoneSpec | { error: string } {
  if (typeof spec !== 'string') return { error: 'expected a string' };
  const [rawZone, rawAction, ...rest] = spec.trim().split(':');
  if (rest.length > 0) return { error: `too many ":" in ${JSON.stringify(spec)}` };
  const zone = rawZone.toLowerCase().replace(/\.$/, '');
  if (!ZONE_NAME.test(zone)) return { error: `${JSON.stringify(rawZone)} is not a DNS zone name` };
  const a = (rawAction ?? defaultAction).trim().toLowerCase();
  const m = /^(reject|score|allow)(?:=(-?\d{1,4}(?:\.\d{1,3})?))?$/.exec(a);
  if (!m) return { error: `unknown action ${JSON.stringify(rawAction)} (use reject, score=N or allow)` };
  const points = m[2] === undefined ? undefined : Number(m[2]);
  if (m[1] === 'reject') {
    if (points !== undefined) return { error: 'reject takes no points' };
    return { zone, action: { kind: 'reject' } };
  }
  if (m[1] === 'score') return { zone, action: { kind: 'score', points: points ?? 3 } };
  return { zone, action: { kind: 'allow', points: points ?? -1 } };
}

/** A list of zone specs (TOML array of strings). */
export function zoneList(defaultAction: ZoneAction['kind']): ValueType<ZoneSpec[]> {
  const expected = `a list of DNS zones, each "zone" or "zone:reject" / "zone:score=N" / "zone:allow" (bare: ${defaultAction})`;
  return {
    expected,
    parse(raw) {
      if (!Array.isArray(raw)) throw new UnitError(`expected ${expected}, got ${show(raw)}`);
      return raw.map((item, i) => {
        if (typeof item !== 'string') throw new UnitError(`item ${i + 1}: expected a string, got ${show(item)}`);
        const z = parseZoneSpec(item, defaultAction);
        if ('error' in z) throw new UnitError(`item ${i + 1}: ${z.error}`);
        return z;
      });
    },
  };
}

/** Spam points: a decimal number (TOML integer or float) of at least `min`. */
export function points(min: number): ValueType<number> {
  const expected = `a number ≥ ${min}`;
  return {
    expected,
    parse(raw) {
      const n = typeof raw === 'bigint' ? Number(raw) : raw;
      if (typeof n !== 'number' || !Number.isFinite(n)) throw new UnitError(`expected ${expected}, got ${show(raw)}`);
      if (n < min) throw new UnitError(`must be at least ${min}, got ${show(raw)}`);
      return n;
    },
  };
}
