// IMAP sequence sets (RFC 9051 §9 `sequence-set`, RFC 3501 §9): message
// sequence numbers or UIDs as comma lists of numbers and ranges, where "*" is
// the largest number in use and a range may be written in either order
// (RFC 9051 §9: "2:4" and "4:2" are equivalent), plus "$" for the saved search
// result (RFC 9051 §6.4.4.1, RFC 5182). Pure parse/serialize, membership and
// bounded expansion; errors are returned, never thrown.

/** RFC 9051 §9: seq-number = nz-number / "*"; "*" is represented by the string '*'. */
export type SeqNumber = number | '*';
export type SeqRange = { start: SeqNumber; end: SeqNumber };
/** A concrete sequence set (the saved "$" resolved by the caller). */
export type SequenceSet = SeqRange[];
export type ParsedSequenceSet = { saved: true } | { saved: false; ranges: SequenceSet };

export type SequenceSetResult = { ok: true; set: ParsedSequenceSet } | { ok: false; error: string };

// RFC 9051 §9: nz-number = digit-nz *DIGIT ; (0 < n < 4,294,967,296)
export const MAX_NZ_NUMBER = 4294967295;

export type SequenceSetLimits = { maxLength?: number; maxRanges?: number };

function parseSeqNumber(s: string): SeqNumber | null {
  if (s === '*') return '*';
  if (!/^[1-9][0-9]{0,9}$/.test(s)) return null;
  const n = Number(s);
  return n <= MAX_NZ_NUMBER ? n : null;
}

export function parseSequenceSet(input: string, limits: SequenceSetLimits = {}): SequenceSetResult {
  const maxLength = limits.maxLength ?? 65536;
  const maxRanges = limits.maxRanges ?? 10000;
  if (typeof input !== 'string') return { ok: false, error: 'not a string' };
  if (input.length > maxLength) return { ok: false, error: `sequence set longer than ${maxLength} characters` };
  if (input === '$') return { ok: true, set: { saved: true } };
  if (input.length === 0) return { ok: false, error: 'empty sequence set' };
  const items = input.split(',');
  if (items.length > maxRanges) return { ok: false, error: `more than ${maxRanges} ranges` };
  const ranges: SequenceSet = [];
  for (const item of items) {
    const colon = item.indexOf(':');
    if (colon < 0) {
      const n = parseSeqNumber(item);
      if (n === null) return { ok: false, error: `invalid sequence number ${JSON.stringify(item.slice(0, 20))}` };
      ranges.push({ start: n, end: n });
    } else {
      const a = parseSeqNumber(item.slice(0, colon));
      const b = parseSeqNumber(item.slice(colon + 1));
      if (a === null || b === null) return { ok: false, error: `invalid range ${JSON.stringify(item.slice(0, 20))}` };
      ranges.push({ start: a, end: b });
    }
  }
  return { ok: true, set: { saved: false, ranges } };
}

function seqToString(n: SeqNumber): string {
  return n === '*' ? '*' : String(n);
}

export function serializeSequenceSet(set: ParsedSequenceSet | SequenceSet): string {
  if (!Array.isArray(set)) {
    if (set.saved) return '$';
    set = set.ranges;
  }
  return set.map((r) => (r.start === r.end ? seqToString(r.start) : `${seqToString(r.start)}:${seqToString(r.end)}`)).join(',');
}

/** Ranges with "*" replaced by max, ordered low to high, sorted and merged. */
export function normalize(set: SequenceSet, max: number): Array<[number, number]> {
  const spans: Array<[number, number]> = set.map((r) => {
    const a = r.start === '*' ? max : r.start;
    const b = r.end === '*' ? max : r.end;
    return a <= b ? [a, b] : [b, a];
  });
  spans.sort((x, y) => x[0] - y[0]);
  const out: Array<[number, number]> = [];
  for (const s of spans) {
    const last = out[out.length - 1];
    if (last && s[0] <= last[1] + 1) last[1] = Math.max(last[1], s[1]);
    else out.push([s[0], s[1]]);
  }
  return out;
}

/** Is n in the set, with "*" standing for max (the largest number in use)? */
export function contains(set: SequenceSet, n: number, max: number): boolean {
  for (const r of set) {
    const a = r.start === '*' ? max : r.start;
    const b = r.end === '*' ? max : r.end;
    if (n >= Math.min(a, b) && n <= Math.max(a, b)) return true;
  }
  return false;
}

/** The largest number the set names (for "no such message" checks on sequence numbers). */
export function largest(set: SequenceSet, max: number): number {
  let m = 0;
  for (const r of set) for (const v of [r.start, r.end]) m = Math.max(m, v === '*' ? max : v);
  return m;
}

export type ExpandResult = { ok: true; values: number[] } | { ok: false; error: string };

/**
 * The numbers in 1..max that the set names, ascending and without duplicates,
 * refusing (never allocating) more than `limit` values. Numbers above max are
 * dropped: for UIDs (RFC 9051 §6.4.8) "n:*" still names the largest UID.
 */
export function expand(set: SequenceSet, max: number, limit: number): ExpandResult {
  const spans = normalize(set, max);
  let count = 0;
  for (const [a, b] of spans) {
    const lo = Math.max(a, 1);
    const hi = Math.min(b, max);
    if (hi >= lo) count += hi - lo + 1;
    if (count > limit) return { ok: false, error: `sequence set names more than ${limit} numbers` };
  }
  const values: number[] = [];
  for (const [a, b] of spans) for (let i = Math.max(a, 1); i <= Math.min(b, max); i++) values.push(i);
  return { ok: true, values };
}
