// The IMAP session state machine (RFC 9051 §3, §6): one table says which
// commands each state allows; a command outside its state, an unknown command
// or malformed arguments get a tagged BAD, a failed operation a tagged NO, and
// no exception reaches the connection. Before a command runs and before its
// tagged completion the selected mailbox is brought up to date (notify.ts),
// with EXPUNGE held back during FETCH, STORE, SEARCH, COPY and MOVE by
// sequence number (RFC 9051 §7.5.1). Handlers live one file per group.
import type { Token } from '../protocol/tokenizer.ts';
import { StoreError } from '../../store/store.ts';
import { Args, ArgError } from './args.ts';
import { ArgError as GrammarArgError } from '../protocol/args.ts';
import type { ImapSession, ImapState } from './session.ts';
import { syncSelected } from './notify.ts';
import { capability, noop, logout, id, enable } from './cmd-any.ts';
import { starttls, login, authenticate } from './cmd-auth.ts';
import { create, del, rename, subscribe, unsubscribe, namespace, status, getquota, getquotaroot, setquota } from './cmd-mailbox.ts';
import { list, lsub } from './cmd-list.ts';
import { select, examine, close, unselect, check, expunge, idle } from './cmd-select.ts';
import { append } from './cmd-append.ts';
import { fetch } from './cmd-fetch.ts';
import { store } from './cmd-store.ts';
import { copy, move } from './cmd-copy.ts';
import { search } from './cmd-search.ts';

export { continueAuthenticate } from './cmd-auth.ts';
export { continueIdle } from './cmd-select.ts';

/** A tagged completion; null when the handler already wrote it (or switched input mode). */
export type Done = { status: 'OK' | 'NO' | 'BAD'; text: string; code?: string } | null;
export type Handler = (s: ImapSession, tag: string, a: Args, uid: boolean) => Promise<Done> | Done;

export const ok = (text: string, code?: string): Done => ({ status: 'OK', text, code });
export const no = (text: string, code?: string): Done => ({ status: 'NO', text, code });
export const bad = (text: string, code?: string): Done => ({ status: 'BAD', text, code });

const ANY: ImapState[] = ['not_authenticated', 'authenticated', 'selected'];
const NOT_AUTH: ImapState[] = ['not_authenticated'];
const AUTH: ImapState[] = ['authenticated', 'selected'];
const SELECTED: ImapState[] = ['selected'];

interface CommandSpec {
  states: ImapState[];
  run: Handler;
  /** Uses message sequence numbers: no EXPUNGE may be sent while it runs (RFC 9051 §7.5.1). */
  bySequence?: boolean;
  /** Has a UID form. */
  uid?: boolean;
}

const COMMANDS: Record<string, CommandSpec> = {
  CAPABILITY: { states: ANY, run: capability },
  NOOP: { states: ANY, run: noop },
  LOGOUT: { states: ANY, run: logout },
  ID: { states: ANY, run: id },
  ENABLE: { states: AUTH, run: enable },
  STARTTLS: { states: NOT_AUTH, run: starttls },
  LOGIN: { states: NOT_AUTH, run: login },
  AUTHENTICATE: { states: NOT_AUTH, run: authenticate },
  SELECT: { states: AUTH, run: select },
  EXAMINE: { states: AUTH, run: examine },
  CREATE: { states: AUTH, run: create },
  DELETE: { states: AUTH, run: del },
  RENAME: { states: AUTH, run: rename },
  SUBSCRIBE: { states: AUTH, run: subscribe },
  UNSUBSCRIBE: { states: AUTH, run: unsubscribe },
  LIST: { states: AUTH, run: list },
  LSUB: { states: AUTH, run: lsub },
  NAMESPACE: { states: AUTH, run: namespace },
  STATUS: { states: AUTH, run: status },
  APPEND: { states: AUTH, run: append },
  IDLE: { states: AUTH, run: idle },
  GETQUOTA: { states: AUTH, run: getquota },
  GETQUOTAROOT: { states: AUTH, run: getquotaroot },
  SETQUOTA: { states: AUTH, run: setquota },
  CHECK: { states: SELECTED, run: check },
  CLOSE: { states: SELECTED, run: close },
  UNSELECT: { states: SELECTED, run: unselect },
  EXPUNGE: { states: SELECTED, run: expunge, uid: true },
  SEARCH: { states: SELECTED, run: search, bySequence: true, uid: true },
  FETCH: { states: SELECTED, run: fetch, bySequence: true, uid: true },
  STORE: { states: SELECTED, run: store, bySequence: true, uid: true },
  COPY: { states: SELECTED, run: copy, bySequence: true, uid: true },
  MOVE: { states: SELECTED, run: move, bySequence: true, uid: true },
};

export async function runCommand(s: ImapSession, tag: string, tokens: Token[]): Promise<void> {
  const first = tokens[0];
  if (!first || first.type !== 'atom') {
    s.tagged(tag, 'BAD', 'Missing command name');
    return;
  }
  let name = first.value.toUpperCase();
  let uid = false;
  let pos = 1;
  if (name === 'UID') {
    const sub = tokens[1];
    if (!sub || sub.type !== 'atom') {
      s.tagged(tag, 'BAD', 'UID needs a command: FETCH, STORE, COPY, MOVE, SEARCH or EXPUNGE');
      return;
    }
    name = sub.value.toUpperCase();
    uid = true;
    pos = 2;
  }
  const spec = COMMANDS[name];
  if (!spec || (uid && !spec.uid)) {
    s.tagged(tag, 'BAD', `Unknown command ${uid ? 'UID ' : ''}${name.slice(0, 30)}`);
    return;
  }
  if (!spec.states.includes(s.state)) {
    const why = s.state === 'not_authenticated' ? 'Log in first' : s.state === 'authenticated' && spec.states.includes('selected') ? 'Select a mailbox first' : 'Not allowed in this state';
    s.tagged(tag, 'BAD', `${name}: ${why}`);
    return;
  }
  const bySeq = spec.bySequence === true && !uid;
  let done: Done;
  try {
    if (s.selected) await syncSelected(s, { expunge: !bySeq });
    done = await spec.run(s, tag, new Args(tokens, pos), uid);
    if (s.selected && done && done.status !== 'BAD') await syncSelected(s, { expunge: !bySeq });
  } catch (err) {
    done = failure(s, name, err);
  }
  if (done) s.tagged(tag, done.status, done.text, done.code);
}

/** A thrown error as a tagged completion: BAD for arguments, NO for the rest (RFC 5530 codes). */
export function failure(s: ImapSession, name: string, err: unknown): Done {
  if (err instanceof ArgError) return bad(`${name}: ${err.message}`);
  if (err instanceof GrammarArgError) {
    const code = err.code && 'name' in err.code && Object.keys(err.code).length === 1 ? err.code.name : undefined;
    return { status: err.status, text: `${name}: ${err.text}`, code };
  }
  if (err instanceof StoreError) {
    switch (err.code) {
      case 'not_found':
        return no(`${name}: No such mailbox or message`, 'NONEXISTENT');
      case 'exists':
        return no(`${name}: Mailbox already exists`, 'ALREADYEXISTS');
      case 'invalid':
        return no(`${name}: ${err.message}`, 'CANNOT');
      case 'disk_full':
        return no(`${name}: Server storage is full, try again later`, 'SERVERBUG');
      case 'unavailable':
        return no(`${name}: Storage temporarily unavailable, try again later`, 'UNAVAILABLE');
    }
  }
  s.log.error('command failed', { command: name, error: err });
  return no(`${name}: Internal server error`, 'SERVERBUG');
}
