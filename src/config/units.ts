// Human-friendly sizes and durations for the configuration file and the CLI.
// Sizes are bytes with optional 1024-based units ("512K", "50M", "2G", "1T",
// also "50MB"/"50MiB"); a bare integer or numeric string is bytes. Durations
// are one or more number+unit parts ("250ms", "30s", "5m", "1h", "2d",
// "1h30m"); "0" alone means zero. Both parsers throw a UnitError whose message
// says what was expected and what was given, so callers only prefix the key.

export class UnitError extends Error {
  /** Where inside a structured value the problem is, appended to the key
   * path in the message, e.g. `[1].key` → `tls.certificates[1].key: …`. */
  readonly at: string;
  constructor(message: string, at = '') {
    super(message);
    this.name = 'UnitError';
    this.at = at;
  }
}

const SIZE_UNITS: Record<string, number> = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 };
const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

export const SIZE_HELP = 'a size like "512K", "50M" or "2G" (1024-based; a bare number is bytes)';
export const DURATION_HELP = 'a duration like "250ms", "30s", "5m", "1h" or "2d"';

/** Shows a value the way it was written, for error messages. */
export function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return 'an array';
  if (value instanceof Date) return 'a date';
  if (value === null || value === undefined) return 'nothing';
  if (typeof value === 'object') return Object.prototype.toString.call(value) === '[object Object]' ? 'a table' : 'a date';
  return typeof value;
}

/** Bytes from a size; throws UnitError. */
export function parseSize(value: unknown): number {
  if (typeof value === 'bigint') value = Number(value);
  if (typeof value === 'number') {
    if (Number.isSafeInteger(value) && value >= 0) return value;
    throw new UnitError(`expected ${SIZE_HELP}, got ${show(value)}`);
  }
  if (typeof value !== 'string') throw new UnitError(`expected ${SIZE_HELP}, got ${show(value)}`);
  const s = value.trim();
  // number part: digits with at most one dot
  let i = 0;
  while (i < s.length && ((s[i] >= '0' && s[i] <= '9') || s[i] === '.')) i++;
  const num = s.slice(0, i);
  let unit = s.slice(i).trim().toUpperCase();
  if (unit.endsWith('IB')) unit = unit.slice(0, -2);
  else if (unit.endsWith('B')) unit = unit.slice(0, -1);
  const factor = SIZE_UNITS[unit];
  if (!isNumber(num) || factor === undefined) {
    throw new UnitError(`expected ${SIZE_HELP}, got ${show(value)}`);
  }
  const bytes = Number(num) * factor;
  if (!Number.isInteger(bytes)) throw new UnitError(`${show(value)} is not a whole number of bytes`);
  if (!Number.isSafeInteger(bytes)) throw new UnitError(`${show(value)} is too large`);
  return bytes;
}

/** Milliseconds from a duration; throws UnitError. */
export function parseDuration(value: unknown): number {
  if (value === 0 || value === '0') return 0;
  if (typeof value !== 'string') {
    const hint = typeof value === 'number' ? ' (write the unit, e.g. "30s")' : '';
    throw new UnitError(`expected ${DURATION_HELP}${hint}, got ${show(value)}`);
  }
  const s = value.trim();
  if (s === '') throw new UnitError(`expected ${DURATION_HELP}, got ${show(value)}`);
  let total = 0;
  let i = 0;
  while (i < s.length) {
    const start = i;
    while (i < s.length && ((s[i] >= '0' && s[i] <= '9') || s[i] === '.')) i++;
    const num = s.slice(start, i);
    const unitStart = i;
    while (i < s.length && s[i] >= 'a' && s[i] <= 'z') i++;
    const unit = s.slice(unitStart, i);
    const factor = Object.hasOwn(DURATION_UNITS, unit) ? DURATION_UNITS[unit] : undefined;
    if (!isNumber(num) || factor === undefined) {
      const hint = unit === '' && isNumber(num) ? ' (write the unit, e.g. "30s")' : '';
      throw new UnitError(`expected ${DURATION_HELP}${hint}, got ${show(value)}`);
    }
    total += Number(num) * factor;
  }
  const ms = Math.round(total);
  if (!Number.isSafeInteger(ms)) throw new UnitError(`${show(value)} is too large`);
  return ms;
}

/** Shortest exact spelling of a byte count: 52428800 → "50M", 1500 → "1500". */
export function formatSize(bytes: number): string {
  for (const unit of ['T', 'G', 'M', 'K'] as const) {
    const f = SIZE_UNITS[unit];
    if (bytes >= f && bytes % f === 0) return `${bytes / f}${unit}`;
  }
  return String(bytes);
}

/** Rounded human spelling of a byte count for listings: 1536 → "1.5K". */
export function formatSizeApprox(bytes: number): string {
  for (const unit of ['T', 'G', 'M', 'K'] as const) {
    const f = SIZE_UNITS[unit];
    if (bytes >= f) {
      const v = bytes / f;
      return `${v >= 100 || Number.isInteger(v) ? Math.round(v) : Number(v.toFixed(1))}${unit}`;
    }
  }
  return String(bytes);
}

/** Shortest exact spelling of milliseconds: 300000 → "5m", 1500 → "1500ms". */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0';
  for (const unit of ['d', 'h', 'm', 's'] as const) {
    const f = DURATION_UNITS[unit];
    if (ms % f === 0) return `${ms / f}${unit}`;
  }
  return `${ms}ms`;
}

function isNumber(s: string): boolean {
  if (s === '' || s === '.' || s.startsWith('.') || s.endsWith('.')) return false;
  return s.indexOf('.') === s.lastIndexOf('.');
}
