// Commands valid in any state (RFC 9051 §6.1): CAPABILITY, NOOP, LOGOUT,
// plus ID (RFC 2971) and ENABLE (RFC 5161; authenticated state).
import { tokenString } from './args.ts';
import type { Args } from './args.ts';
import { ok, bad, type Done } from './commands.ts';
import { str } from './format.ts';
import { capabilityList, type ImapSession } from './session.ts';

export function capability(s: ImapSession, _tag: string, a: Args): Done {
  a.end();
  s.untagged(`CAPABILITY ${capabilityList(s)}`);
  return ok('CAPABILITY completed');
}

/** RFC 9051 §6.1.2: NOOP does nothing but lets pending updates out (the dispatcher sends them). */
export function noop(_s: ImapSession, _tag: string, a: Args): Done {
  a.end();
  return ok('NOOP completed');
}

export function logout(s: ImapSession, tag: string, a: Args): Done {
  a.end();
  // RFC 9051 §6.1.3: BYE first, then the tagged OK, then close.
  s.untagged('BYE Logging out');
  s.tagged(tag, 'OK', 'LOGOUT completed');
  s.close();
  return null;
}

/** RFC 2971: the client's ID is logged; ours is a fixed list without version details. */
export function id(s: ImapSession, _tag: string, a: Args): Done {
  const t = a.next('ID parameters');
  a.end();
  if (t.type === 'list') {
    const fields: Record<string, string> = {};
    for (let i = 0; i + 1 < t.items.length && i < 60; i += 2) {
      const k = tokenString(t.items[i]);
      const v = tokenString(t.items[i + 1]);
      if (k) fields[k.slice(0, 30).toLowerCase()] = (v ?? '').slice(0, 200);
    }
    s.log.info('client id', { id: fields });
  } else if (t.type !== 'nil') {
    return bad('ID: expected a list or NIL');
  }
  s.untagged(`ID ("name" ${str(s, 'Mailroom')})`);
  return ok('ID completed');
}

/** RFC 5161 §3.1: ENABLE lists what it turned on; unknown extensions are ignored. */
export function enable(s: ImapSession, _tag: string, a: Args): Done {
  if (a.done) return bad('ENABLE: missing capability names');
  const turned: string[] = [];
  while (!a.done) {
    const c = a.atom('capability');
    const on = (x: string) => {
      if (!s.enabled.has(x)) {
        s.enabled.add(x);
        turned.push(x);
      }
    };
    if (c === 'CONDSTORE') on('CONDSTORE');
    else if (c === 'QRESYNC') {
      // RFC 7162 §3.2.3: QRESYNC implies CONDSTORE.
      on('QRESYNC');
      on('CONDSTORE');
    } else if (c === 'UTF8=ACCEPT') on('UTF8=ACCEPT');
    else if (c === 'IMAP4REV2') on('IMAP4rev2');
  }
  s.untagged(`ENABLED${turned.map((x) => ' ' + x).join('')}`);
  return ok('ENABLE completed');
}
