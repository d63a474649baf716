// The Authentication-Results header field (RFC 8601): building ours from the
// method results, and recognising fields that claim our authserv-id so they
// can be removed from mail arriving from outside (RFC 8601 §5: a forged field
// with our id would otherwise be trusted by our own users' clients). Pure.

/** RFC 8601 §2.2: `authserv-id [CFWS version] ; resinfo ; …`. Folded one
 * method per line; lines kept under 998 octets (RFC 5322 §2.1.1). */
export function buildAuthResults(authservId: string, methods: readonly string[]): string {
  const id = /^[\x21-\x7e]+$/.test(authservId) && !/[()<>@,;:\\"/[\]?=]/.test(authservId) ? authservId : quote(authservId);
  const parts = methods.length > 0 ? methods : ['none'];
  // RFC 8601 §2.2: "none" stands alone when no method ran.
  const body = parts.map((m) => oneLine(m)).join(';\r\n\t');
  return `Authentication-Results: ${id};\r\n\t${body}\r\n`;
}

/** A Received-SPF field (RFC 7208 §9.1) from its value. */
export function buildReceivedSpf(value: string): string {
  return `Received-SPF: ${oneLine(value)}\r\n`;
}

function quote(s: string): string {
  return '"' + s.replace(/[\\"]/g, (c) => '\\' + c).replace(/[\r\n]/g, '') + '"';
}

/** Unfolds a method entry and keeps it to one physical line of at most 900 octets. */
function oneLine(m: string): string {
  const flat = m.replace(/\r?\n[ \t]*/g, ' ').replace(/[\r\n]/g, ' ').trim();
  return flat.length > 900 ? flat.slice(0, 900) : flat;
}

/** The authserv-id of an Authentication-Results value (unfolded), lower-cased,
 * or null if there is none. Comments (RFC 5322 §3.2.2) before it are skipped;
 * a quoted-string id is unquoted. Never throws. */
export function authservIdOf(value: string): string | null {
  let i = 0;
  const n = value.length;
  const skipCfws = () => {
    for (;;) {
      while (i < n && /[ \t\r\n]/.test(value[i])) i++;
      if (value[i] !== '(') return;
      let depth = 0;
      while (i < n) {
        const c = value[i++];
        if (c === '\\') i++;
        else if (c === '(') depth++;
        else if (c === ')' && --depth === 0) break;
      }
    }
  };
  skipCfws();
  if (i >= n) return null;
  let id = '';
  if (value[i] === '"') {
    i++;
    while (i < n && value[i] !== '"') {
      if (value[i] === '\\' && i + 1 < n) i++;
      id += value[i++];
    }
  } else {
    while (i < n && !/[ \t\r\n;()]/.test(value[i])) id += value[i++];
  }
  id = id.trim().toLowerCase().replace(/\.$/, '');
  return id === '' ? null : id;
}

/** Does this header field claim to be from `authservId`? (RFC 8601 §5; the
 * comparison is case-insensitive, as for host names.) */
export function claimsAuthservId(name: string, value: string, authservId: string): boolean {
  if (name.toLowerCase() !== 'authentication-results') return false;
  return authservIdOf(value) === authservId.toLowerCase().replace(/\.$/, '');
}
