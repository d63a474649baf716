// The X-Spam-Score and X-Spam-Status header fields that explain a verdict to
// the user: the total, the threshold, and every rule that fired with its
// points (SpamAssassin's familiar layout). Folded at commas so no line
// exceeds 78 characters (RFC 5322 §2.1.1, §2.2.3). Pure.

export interface ScoredRule {
  name: string;
  points: number;
}

export function formatPoints(n: number): string {
  return (Math.round(n * 10) / 10).toFixed(1);
}

/** Both fields, each CRLF-terminated. Rule names are sanitised to [A-Z0-9_]. */
export function spamHeaders(score: number, junkThreshold: number, rules: readonly ScoredRule[]): string[] {
  const isSpam = score >= junkThreshold;
  const tests = rules.map((r) => `${r.name.toUpperCase().replace(/[^A-Z0-9_]/g, '_').slice(0, 40)}(${formatPoints(r.points)})`);
  const head = `X-Spam-Status: ${isSpam ? 'Yes' : 'No'}, score=${formatPoints(score)} required=${formatPoints(junkThreshold)}`;
  const lines: string[] = [];
  let line = head + (tests.length ? ' tests=' : ' tests=none');
  tests.forEach((t, i) => {
    const piece = t + (i < tests.length - 1 ? ',' : '');
    if (line.length + piece.length > 78 && line.trim() !== '') {
      lines.push(line);
      line = '\t' + piece;
    } else line += piece;
  });
  lines.push(line);
  return [`X-Spam-Score: ${formatPoints(score)}\r\n`, lines.join('\r\n') + '\r\n'];
}

/** Reads an X-Spam-Status value back: the rule names and points (for tests and tools). */
export function parseSpamStatus(value: string): { spam: boolean; score: number; rules: ScoredRule[] } | null {
  const m = /^\s*(Yes|No),\s*score=(-?\d+(?:\.\d+)?)\s+required=-?\d+(?:\.\d+)?\s+tests=([\s\S]*)$/.exec(value);
  if (!m) return null;
  const rules: ScoredRule[] = [];
  for (const t of m[3].replace(/\s+/g, '').split(',')) {
    const r = /^([A-Z0-9_]+)\((-?\d+(?:\.\d+)?)\)$/.exec(t);
    if (r) rules.push({ name: r[1], points: Number(r[2]) });
  }
  return { spam: m[1] === 'Yes', score: Number(m[2]), rules };
}
