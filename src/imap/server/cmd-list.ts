// LIST (RFC 9051 §6.3.9) with LIST-EXTENDED (RFC 5258: selection options
// SUBSCRIBED, REMOTE, RECURSIVEMATCH, SPECIAL-USE; return options SUBSCRIBED,
// CHILDREN, SPECIAL-USE, STATUS per RFC 5819 LIST-STATUS), SPECIAL-USE
// attributes (RFC 6154), CHILDREN (RFC 3348), and LSUB (RFC 3501 §6.3.9).
// Wildcards: "*" matches across levels, "%" within one level.
import { MAILBOX_SEPARATOR } from '../../store/mailbox-store.ts';
import type { Mailbox } from '../../store/store.ts';
import { decodeMailboxName, isInbox } from '../protocol/mailbox-name.ts';
import type { Token } from '../protocol/tokenizer.ts';
import { ArgError, tokenString, type Args } from './args.ts';
import { ok, type Done } from './commands.ts';
import { mailboxName, utf8Ok } from './format.ts';
import { parseStatusItems, statusData } from './cmd-mailbox.ts';
import type { ImapSession } from './session.ts';

/** A LIST pattern as a RegExp over full names (RFC 9051 §6.3.9). */
export function patternRegExp(pattern: string): RegExp {
  let p = pattern;
  // INBOX is case-insensitive, also as the first level of a pattern.
  if (p.length >= 5 && isInbox(p.slice(0, 5)) && (p.length === 5 || p[5] === MAILBOX_SEPARATOR || p[5] === '*' || p[5] === '%')) p = 'INBOX' + p.slice(5);
  let re = '';
  for (const ch of p) {
    if (ch === '*') re += '.*';
    else if (ch === '%') re += `[^${MAILBOX_SEPARATOR}]*`;
    else re += ch.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  }
  return new RegExp(`^${re}$`, 's');
}

function decodePattern(s: ImapSession, raw: string): string {
  if (utf8Ok(s) && !/^[\x20-\x7e]*$/.test(raw)) return raw;
  const d = decodeMailboxName(raw);
  return d.ok ? d.value : raw;
}

export async function list(s: ImapSession, _tag: string, a: Args): Promise<Done> {
  const sel = new Set<string>();
  const ret = new Set<string>();
  let statusItems: string[] | null = null;
  if (a.peek()?.type === 'list') {
    for (const t of a.list('selection options')) {
      const v = t.type === 'atom' ? t.value.toUpperCase() : '';
      if (!['SUBSCRIBED', 'REMOTE', 'RECURSIVEMATCH', 'SPECIAL-USE'].includes(v)) throw new ArgError('Unknown LIST selection option');
      sel.add(v);
    }
    // RFC 5258 §3: RECURSIVEMATCH alone is an error.
    if (sel.has('RECURSIVEMATCH') && sel.size === 1 + (sel.has('REMOTE') ? 1 : 0)) throw new ArgError('RECURSIVEMATCH needs another selection option');
  }
  const reference = decodePattern(s, a.astring('reference'));
  const patTok = a.next('mailbox pattern');
  const patterns: string[] = [];
  if (patTok.type === 'list') {
    for (const t of patTok.items) patterns.push(decodePattern(s, tokenString(t) ?? ''));
  } else {
    const v = tokenString(patTok);
    if (v === null) throw new ArgError('Expected a mailbox pattern');
    patterns.push(decodePattern(s, v));
  }
  if (a.accept('RETURN')) {
    const opts = a.list('return options');
    for (let i = 0; i < opts.length; i++) {
      const t = opts[i]!;
      const v = t.type === 'atom' ? t.value.toUpperCase() : '';
      if (v === 'STATUS') {
        const items = opts[i + 1];
        if (items?.type !== 'list') throw new ArgError('STATUS return option needs a list');
        statusItems = parseStatusItems(items.items as { type: string; value?: unknown }[]);
        i++;
      } else if (['SUBSCRIBED', 'CHILDREN', 'SPECIAL-USE'].includes(v)) ret.add(v);
      else throw new ArgError('Unknown LIST return option');
    }
  }
  a.end();
  // RFC 9051 §6.3.9: an empty pattern asks for the hierarchy delimiter.
  if (patterns.length === 1 && patterns[0] === '' && sel.size === 0) {
    s.untagged(`LIST (\\Noselect) "${MAILBOX_SEPARATOR}" ""`);
    return ok('LIST completed');
  }
  const all = await s.services.store.listMailboxes(s.user!.accountId);
  const regs = patterns.filter((p) => p !== '').map((p) => patternRegExp(reference + p));
  const names = new Set(all.map((m) => m.name));
  const hasChildren = (name: string) => {
    const prefix = name + MAILBOX_SEPARATOR;
    for (const n of names) if (n.startsWith(prefix)) return true;
    return false;
  };
  const subscribedOnly = sel.has('SUBSCRIBED');
  const showSubscribed = subscribedOnly || ret.has('SUBSCRIBED');
  const out: { mb: Mailbox; attrs: string[]; childinfo: boolean }[] = [];
  for (const mb of all) {
    if (!regs.some((r) => r.test(mb.name))) continue;
    let childinfo = false;
    if (subscribedOnly && !mb.subscribed) {
      // RFC 5258 §3.5: with RECURSIVEMATCH, a parent of a subscribed mailbox is listed with CHILDINFO.
      if (!sel.has('RECURSIVEMATCH')) continue;
      const prefix = mb.name + MAILBOX_SEPARATOR;
      if (!all.some((m) => m.subscribed && m.name.startsWith(prefix))) continue;
      childinfo = true;
    }
    if (sel.has('SPECIAL-USE') && !mb.specialUse) continue;
    const attrs: string[] = [];
    attrs.push(hasChildren(mb.name) ? '\\HasChildren' : '\\HasNoChildren');
    if (mb.specialUse) attrs.push(mb.specialUse);
    if (showSubscribed && mb.subscribed) attrs.push('\\Subscribed');
    out.push({ mb, attrs, childinfo });
  }
  out.sort((x, y) => (x.mb.name === 'INBOX' ? -1 : y.mb.name === 'INBOX' ? 1 : x.mb.name < y.mb.name ? -1 : x.mb.name > y.mb.name ? 1 : 0));
  for (const { mb, attrs, childinfo } of out) {
    const ext = childinfo ? ' ("CHILDINFO" ("SUBSCRIBED"))' : '';
    s.untagged(`LIST (${attrs.join(' ')}) "${MAILBOX_SEPARATOR}" ${mailboxName(s, mb.name)}${ext}`);
    if (statusItems && statusItems.length > 0) s.untagged(`STATUS ${mailboxName(s, mb.name)} ${await statusData(s, mb.id, statusItems)}`);
  }
  return ok('LIST completed');
}

/** RFC 3501 §6.3.9: LSUB lists subscribed mailboxes matching the pattern. */
export async function lsub(s: ImapSession, _tag: string, a: Args): Promise<Done> {
  const reference = decodePattern(s, a.astring('reference'));
  const pattern = decodePattern(s, a.astring('mailbox pattern'));
  a.end();
  if (pattern === '') {
    s.untagged(`LSUB (\\Noselect) "${MAILBOX_SEPARATOR}" ""`);
    return ok('LSUB completed');
  }
  const re = patternRegExp(reference + pattern);
  const all = await s.services.store.listMailboxes(s.user!.accountId);
  const listed = new Set<string>();
  for (const mb of all) {
    if (!mb.subscribed || !re.test(mb.name)) continue;
    listed.add(mb.name);
    s.untagged(`LSUB () "${MAILBOX_SEPARATOR}" ${mailboxName(s, mb.name)}`);
  }
  // RFC 3501 §6.3.9: with "%", an unsubscribed parent of a subscribed mailbox
  // the pattern does not reach is listed with \Noselect.
  for (const mb of all) {
    if (!mb.subscribed) continue;
    const levels = mb.name.split(MAILBOX_SEPARATOR);
    for (let i = 1; i < levels.length; i++) {
      const parent = levels.slice(0, i).join(MAILBOX_SEPARATOR);
      if (listed.has(parent) || !re.test(parent)) continue;
      listed.add(parent);
      s.untagged(`LSUB (\\Noselect) "${MAILBOX_SEPARATOR}" ${mailboxName(s, parent)}`);
    }
  }
  return ok('LSUB completed');
}

export type { Token };
