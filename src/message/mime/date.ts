// RFC 5322 §3.3 date-time, with the obsolete forms of §4.3 (two- and
// three-digit years, alphabetic zones, military zones as +0000) and comments
// anywhere. Used for SEARCH SENTBEFORE/SENTON/SENTSINCE (RFC 9051 §6.4.4) and
// the SORT-friendly sent date. Pure; returns null for what is not a date.

export interface ParsedDate {
  year: number;
  month: number; // 1-12
  day: number;
  hour: number;
  minute: number;
  second: number;
  /** Zone offset east of UTC, in minutes. */
  zone: number;
}

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
// RFC 5322 §4.3 obs-zone.
const ZONES: Record<string, number> = {
  ut: 0, utc: 0, gmt: 0, z: 0,
  edt: -4 * 60, est: -5 * 60, cdt: -5 * 60, cst: -6 * 60,
  mdt: -6 * 60, mst: -7 * 60, pdt: -7 * 60, pst: -8 * 60,
};

function stripComments(s: string): string | null {
  let out = '';
  let depth = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '\\' && depth > 0) {
      i++;
      continue;
    }
    if (c === '(') depth++;
    else if (c === ')') {
      if (depth === 0) return null;
      depth--;
      if (depth === 0) out += ' ';
    } else if (depth === 0) out += c;
  }
  return depth === 0 ? out : null;
}

/** Parse a Date: field value; null when it is not recognisably a date. */
export function parseDate(value: string): ParsedDate | null {
  if (value.length > 1000) value = value.slice(0, 1000);
  const d = parseDateOnly(value);
  // A Received-style value: the date follows the last ";".
  const semi = value.lastIndexOf(';');
  return d === null && semi >= 0 ? parseDateOnly(value.slice(semi + 1)) : d;
}

function parseDateOnly(value: string): ParsedDate | null {
  const s = stripComments(value);
  if (s === null) return null;
  const toks = s.split(/[\s,]+/).filter((t) => t !== '');
  let i = 0;
  if (toks[i] !== undefined && /^[a-z]{3,}$/i.test(toks[i]!) && MONTHS.indexOf(toks[i]!.slice(0, 3).toLowerCase()) < 0) i++; // day-of-week
  const dayTok = toks[i++];
  const monTok = toks[i++];
  const yearTok = toks[i++];
  const timeTok = toks[i++];
  const zoneTok = toks[i];
  if (dayTok === undefined || monTok === undefined || yearTok === undefined || timeTok === undefined) return null;
  if (!/^\d{1,2}$/.test(dayTok)) return null;
  const day = Number(dayTok);
  let month: number;
  if (/^\d{1,2}$/.test(monTok)) month = Number(monTok);
  else {
    const m = MONTHS.indexOf(monTok.toLowerCase());
    if (m < 0) return null;
    month = m + 1;
  }
  if (!/^\d{2,4}$/.test(yearTok)) return null;
  let year = Number(yearTok);
  // RFC 5322 §4.3: two digits → 1950-2049; three digits → + 1900.
  if (yearTok.length === 2) year += year < 50 ? 2000 : 1900;
  else if (yearTok.length === 3) year += 1900;
  const tm = /^(\d{1,2}):(\d{1,2})(?::(\d{1,2}))?$/.exec(timeTok);
  if (tm === null) return null;
  const hour = Number(tm[1]);
  const minute = Number(tm[2]);
  const second = tm[3] === undefined ? 0 : Number(tm[3]);
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) return null;
  let zone = 0;
  if (zoneTok !== undefined) {
    const z = /^([+-])(\d{2})(\d{2})$/.exec(zoneTok);
    if (z !== null) zone = (z[1] === '-' ? -1 : 1) * (Number(z[2]) * 60 + Number(z[3]));
    else {
      const alpha = /^[a-z]+/i.exec(zoneTok);
      zone = alpha !== null ? (ZONES[alpha[0].toLowerCase()] ?? 0) : 0;
    }
  }
  return { year, month, day, hour, minute, second, zone };
}

/** Milliseconds since the epoch (UTC) for a parsed date. */
export function dateToEpochMs(d: ParsedDate): number {
  return Date.UTC(d.year, d.month - 1, d.day, d.hour, d.minute, d.second) - d.zone * 60_000;
}
