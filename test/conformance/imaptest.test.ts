// Conformance: Dovecot's imaptest scripts (../shared/conformance/imap/imaptest/
// tests) run against a real Mailroom server started in-process, over plain TCP
// on loopback (plaintext login allowed there). Each script gets a fresh
// account; the start state (nonauth, auth, created, appended, selected) is
// prepared as imaptest does: LOGIN on every connection, CREATE the mailbox
// "imaptest", APPEND the script's messages from its .mbox (or default.mbox)
// with the From-line date, SELECT on every connection. Then each command group
// is sent (pipelined groups at once, literals as LITERAL+), the untagged and
// tagged replies are matched by imaptest-script.ts, and a script stops at its
// first failure. Scripts whose capabilities we do not advertise are skipped.
// Prints `imaptest: N/M scripts pass` and each failure's reason, and asserts
// a floor. IMAPTEST_ONLY=name,name runs just those scripts; IMAPTEST_VERBOSE=1
// prints every exchange; IMAPTEST_ASSUME=CAP,CAP runs scripts needing those too;
// IMAPTEST_DIR=path runs the scripts of another folder (e.g. tests/broken).
import { conformanceDir } from './location.ts';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { connect, type Socket } from 'node:net';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { hashCredentials } from '../../src/auth/credentials.ts';
import { FULL, Matcher, argsToString, parseArgs, parseMbox, parseScript, type Arg, type MboxMessage, type Script, type ScriptCommand } from './imaptest-script.ts';

const DIR = process.env.IMAPTEST_DIR ?? conformanceDir + '/imap/imaptest/tests/';
/** Scripts that must keep passing: raise it as the server improves. */
const FLOOR = Number(process.env.IMAPTEST_FLOOR ?? 40);
const REPLY_TIMEOUT_MS = 5000;
const MAILBOX = 'imaptest';
const PASSWORD = 'imaptest-pw';
const VERBOSE = process.env.IMAPTEST_VERBOSE === '1';
/** IMAPTEST_ASSUME=BINARY,MULTIAPPEND runs scripts for capabilities not (yet) advertised. */
const ASSUME_CAPS = new Set((process.env.IMAPTEST_ASSUME ?? '').toUpperCase().split(',').filter(Boolean));

type Response = { tag: string; text: string };

/** A raw IMAP client connection: writes latin1 text, reads whole responses (lines plus literals). */
class Conn {
  private readonly sock: Socket;
  private buf = Buffer.alloc(0);
  private scan = 0;
  private readonly queue: Response[] = [];
  private waiter: (() => void) | null = null;
  closed = false;
  exists = 0;
  seenBye = false;
  readonly name: string;

  private constructor(sock: Socket, name: string) {
    this.sock = sock;
    this.name = name;
    sock.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.extract();
    });
    const end = (): void => {
      this.closed = true;
      this.wake();
    };
    sock.on('close', end);
    sock.on('error', end);
  }

  static open(port: number, name: string): Promise<Conn> {
    return new Promise((resolve, reject) => {
      const s = connect({ host: '127.0.0.1', port }, () => resolve(new Conn(s, name)));
      s.once('error', reject);
    });
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = null;
    w?.();
  }

  private extract(): void {
    for (;;) {
      const lf = this.buf.indexOf(0x0a, this.scan);
      if (lf < 0) return;
      const tail = this.buf.subarray(Math.max(0, lf - 24), lf).toString('latin1');
      const lit = /~?\{(\d+)\+?\}\r?$/.exec(tail);
      if (lit) {
        const need = lf + 1 + Number(lit[1]);
        if (this.buf.length < need) return;
        this.scan = need;
        continue;
      }
      let text = this.buf.subarray(0, lf).toString('latin1');
      if (text.endsWith('\r')) text = text.slice(0, -1);
      this.buf = this.buf.subarray(lf + 1);
      this.scan = 0;
      const sp = text.indexOf(' ');
      const r = { tag: sp < 0 ? text : text.slice(0, sp), text };
      if (VERBOSE) console.log(`S${this.name}: ${text.length > 300 ? text.slice(0, 300) + '…' : text}`);
      this.queue.push(r);
      this.wake();
    }
  }

  write(text: string): void {
    if (VERBOSE) console.log(`C${this.name}: ${text.length > 300 ? text.slice(0, 300) + '…' : text.trimEnd()}`);
    if (!this.closed) this.sock.write(Buffer.from(text, 'latin1'));
  }

  /** The next response, or null on timeout or when the connection closed with nothing queued. */
  async next(timeoutMs = REPLY_TIMEOUT_MS): Promise<Response | null> {
    const deadline = Date.now() + timeoutMs;
    while (this.queue.length === 0) {
      if (this.closed) return null;
      const left = deadline - Date.now();
      if (left <= 0) return null;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          this.waiter = null;
          resolve();
        }, left);
        this.waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    return this.queue.shift()!;
  }

  /** Send a command and wait for its tagged reply, noting EXISTS on the way. */
  async simple(tag: string, command: string): Promise<{ ok: boolean; text: string; untagged: string[] }> {
    this.write(`${tag} ${command}\r\n`);
    const untagged: string[] = [];
    for (;;) {
      const r = await this.next();
      if (!r) return { ok: false, text: this.closed ? 'connection closed' : 'timeout', untagged };
      if (r.tag === '*') {
        untagged.push(r.text);
        const m = /^\* (\d+) EXISTS/i.exec(r.text);
        if (m) this.exists = Number(m[1]);
        continue;
      }
      if (r.tag === tag) return { ok: /^\S+ OK/i.test(r.text), text: r.text, untagged };
    }
  }

  destroy(): void {
    this.sock.destroy();
  }
}

/** groups: command groups run and passed; failures: the first failure of each failed group. */
type Outcome = { status: 'pass' | 'fail' | 'skip'; reason?: string; groups?: number; groupsPassed?: number; failures?: string[] };

class ScriptFailure extends Error {}

function capsOf(lines: string[]): Set<string> {
  const caps = new Set<string>();
  for (const l of lines) {
    const m = /^\* CAPABILITY (.*)$/i.exec(l) ?? /\[CAPABILITY ([^\]]*)\]/i.exec(l);
    if (m) for (const c of m[1]!.split(' ')) caps.add(c.toUpperCase());
  }
  return caps;
}

/** Does an `append <args>` command carry its own message (mailbox [flags] [date] literal)? */
function appendHasBody(args: string): boolean {
  const a = parseArgs(args);
  let i = 1;
  if (a[i]?.t === 'list') i++;
  if (a[i]?.t === 'string') i++;
  const x = a[i];
  return x !== undefined && (x.t === 'literal' || (x.t === 'atom' && x.v.toLowerCase() === 'catenate'));
}

async function runScript(script: Script, mbox: MboxMessage[], port: number, user: string, caps: { pre: Set<string>; post: Set<string> }): Promise<Outcome> {
  const have = script.state === 'nonauth' ? caps.pre : caps.post;
  const missing = script.capabilities.filter((c) => !have.has(c.toUpperCase()) && !ASSUME_CAPS.has(c.toUpperCase()));
  if (missing.length > 0) return { status: 'skip', reason: `needs ${missing.join(' ')}` };

  const m = new Matcher();
  const [local, domain] = user.split('@') as [string, string];
  for (const [k, v] of Object.entries({ user, username: local, domain, password: PASSWORD, mailbox: MAILBOX, mailbox_url: MAILBOX })) m.vars.set(k, v);
  let source = 0;
  const nextMessage = (): MboxMessage => {
    const msg = mbox[source % mbox.length]!;
    source++;
    return msg;
  };
  const conns: Conn[] = [];
  let counter = 0;
  const fail = (why: string): never => {
    throw new ScriptFailure(why);
  };
  // Like imaptest, a failed group is reported and the script goes on with the next group;
  // only a lost connection, a timeout or a failed setup ends it.
  const failures: string[] = [];
  let groupFailure: string | null = null;
  const softFail = (why: string): void => {
    if (groupFailure === null) groupFailure = why;
  };
  let groupsRun = 0;
  let groupsPassed = 0;
  try {
    for (let i = 0; i < script.connections; i++) conns.push(await Conn.open(port, String(i + 1)));
    // The greeting: matched against a banner-check group, else just consumed.
    const greetings: Array<Response | null> = [];
    for (const c of conns) greetings.push(await c.next());
    if (greetings.some((g) => !g)) fail('no greeting');
    let firstGroup = 0;
    if (script.bannerCheck) {
      const g = script.groups[0]!;
      const args = parseArgs(greetings[g.connection]!.text, 2);
      const found = g.untagged.map((u) => m.matchArgs(u.args, args, FULL, true) === FULL);
      g.untagged.forEach((u, i) => {
        if (u.existence === 'must' && !found[i]) fail(`line ${u.line}: greeting ${argsToString(args)} does not match ${argsToString(u.args)}`);
        if (u.existence === 'mustNot' && found[i]) fail(`line ${u.line}: greeting matches ${argsToString(u.args)}`);
      });
      firstGroup = 1;
    }
    // The start state, as imaptest prepares it.
    if (script.state !== 'nonauth') {
      for (const c of conns) {
        const r = await c.simple('L', `LOGIN "${user}" "${PASSWORD}"`);
        if (!r.ok) fail(`setup LOGIN failed: ${r.text}`);
      }
      const c0 = conns[0]!;
      if (script.state !== 'auth') {
        const r = await c0.simple('C', `CREATE "${MAILBOX}"`);
        if (!r.ok) fail(`setup CREATE failed: ${r.text}`);
      }
      if (script.state === 'appended' || script.state === 'selected') {
        const count = script.messages === 'all' ? mbox.length : script.messages;
        for (let i = 0; i < count; i++) {
          const msg = nextMessage();
          const r = await c0.simple('A', `APPEND "${MAILBOX}" "${msg.date}" {${msg.content.length}+}\r\n${msg.content}`);
          if (!r.ok) fail(`setup APPEND failed: ${r.text}`);
        }
      }
      if (script.state === 'selected') {
        for (const c of conns) {
          const r = await c.simple('S', `SELECT "${MAILBOX}"`);
          if (!r.ok) fail(`setup SELECT failed: ${r.text}`);
        }
      }
    }

    for (let gi = firstGroup; gi < script.groups.length; gi++) {
      const g = script.groups[gi]!;
      const conn = conns[g.connection]!;
      m.resetSeqmap(conn.exists);
      groupsRun++;
      groupFailure = null;
      const byTag = new Map<string, ScriptCommand>();
      let firstTag = '';
      const where = `line ${g.commands[0]?.line ?? '?'}`;
      for (const cmd of g.commands) {
        const ex = m.expandCommand(cmd.text);
        if (!ex.ok) {
          softFail(`${where}: ${ex.error}`);
          break;
        }
        let text = ex.text;
        if (/^append$/i.test(text)) {
          const msg = nextMessage();
          text = `APPEND "${MAILBOX}" "${msg.date}" {${msg.content.length}}\r\n${msg.content}`;
        } else if (/^append /i.test(text) && !appendHasBody(text.slice(7))) {
          const msg = nextMessage();
          text = `${text} {${msg.content.length}}\r\n${msg.content}`;
        }
        // Every literal as LITERAL+ (advertised), so pipelined groups need no continuations.
        text = text.replace(/(~?\{\d+)\}\r\n/g, '$1+}\r\n');
        const tag = `${g.connection + 1}.${++counter}`;
        if (!firstTag) firstTag = tag;
        byTag.set(tag, cmd);
        conn.write(`${tag} ${text}\r\n`);
      }
      const found = new Array<boolean>(g.untagged.length).fill(false);
      const best = new Array<{ n: number; text: string }>(g.untagged.length).fill({ n: -1, text: '' });
      let extra: string | null = null;
      let mismatches = 0;
      const expectsBye = g.untagged.some((u) => u.existence === 'must' && u.args[0]?.t === 'atom' && /^bye$/i.test(u.args[0].v));
      while (byTag.size > 0) {
        const r: Response | null = await conn.next();
        if (r === null) {
          if (conn.closed && expectsBye && conn.seenBye && [...byTag.values()].every((c) => c.reply?.length === 1 && c.reply[0]!.t === 'atom' && c.reply[0].v === '')) break;
          return fail(`${where}: ${conn.closed ? 'unexpected disconnection' : 'no tagged reply within the timeout'} (${[...byTag.values()].map((c) => c.text.slice(0, 60)).join('; ')})`);
        }
        if (r.tag === '+') continue;
        if (r.tag === '*') {
          const args = parseArgs(r.text, 2);
          const first = args[0]?.t === 'atom' ? args[0].v.toUpperCase() : '';
          const prefix = first === 'OK' || first === 'NO' || first === 'BAD' || first === 'BYE';
          if (first === 'BYE') conn.seenBye = true;
          let some = false;
          for (let i = 0; i < g.untagged.length; i++) {
            if (found[i]) continue;
            const u = g.untagged[i]!;
            m.added = [];
            m.vars.set('tag', firstTag);
            const n = m.matchArgs(u.args, args, FULL, prefix);
            m.vars.delete('tag');
            if (n === FULL) {
              if (u.existence === 'mustNot') softFail(`line ${u.line}: unexpected untagged match: ${argsToString(u.args)} — reply: ${r.text.slice(0, 200)}`);
              found[i] = true;
              some = true;
              m.added = [];
              if (g.ordered) break;
              continue;
            }
            if (n > best[i]!.n) best[i] = { n, text: r.text };
            m.revertAdded();
            if (g.ordered && u.existence === 'must') break;
          }
          if (!some) {
            mismatches++;
            if (!script.ignoreExtraUntagged && extra === null) extra = r.text;
          }
          const a1 = args[1]?.t === 'atom' ? args[1].v.toUpperCase() : '';
          if (a1 === 'EXISTS') conn.exists = Number(first);
          if (a1 === 'EXPUNGE') {
            m.expunge(Number(first));
            conn.exists = Math.max(0, conn.exists - 1);
          }
          continue;
        }
        const cmd = byTag.get(r.tag);
        if (!cmd) continue;
        byTag.delete(r.tag);
        const args = parseArgs(r.text, r.tag.length + 1);
        m.vars.set('tag', r.tag);
        const n = m.matchArgs(cmd.reply ?? [], args, FULL, true);
        m.vars.delete('tag');
        if (n !== FULL) softFail(`line ${cmd.line}: ${cmd.text.slice(0, 80)} — expected tagged ${argsToString(cmd.reply ?? [])}, got: ${r.text.slice(r.tag.length + 1, r.tag.length + 200)}`);
      }
      g.untagged.forEach((u, i) => {
        if (u.existence === 'must' && !found[i]) {
          softFail(`line ${u.line}: ${g.commands[0]?.text.slice(0, 80) ?? ''} — missing untagged ${argsToString(u.args)} (${mismatches} other replies; best match: ${best[i]!.text.slice(0, 200) || 'none'})`);
        }
      });
      if (extra !== null) softFail(`${where}: unexpected untagged reply: ${extra.slice(0, 200)}`);
      if (groupFailure !== null) failures.push(groupFailure);
      else groupsPassed++;
      if (g.sleepMs > 0) await new Promise((r) => setTimeout(r, Math.min(g.sleepMs, 1000)));
    }
    const counts = { groups: groupsRun, groupsPassed, failures };
    return failures.length === 0 ? { status: 'pass', ...counts } : { status: 'fail', reason: failures[0], ...counts };
  } catch (e) {
    const why = e instanceof ScriptFailure ? e.message : `runner error: ${(e as Error).message}`;
    failures.push(why);
    return { status: 'fail', reason: failures[0], groups: groupsRun, groupsPassed, failures };
  } finally {
    for (const c of conns) c.destroy();
  }
}

describe('imaptest conformance', () => {
  it('runs every imaptest script whose capabilities we advertise', async (t) => {
    if (!existsSync(DIR)) {
      t.skip(`no imaptest scripts at ${DIR}`);
      return;
    }
    let ts: TestServer;
    try {
      ts = await startTestServer({ toml: '[listen]\nsmtp = "127.0.0.1:0"\nimap = "127.0.0.1:0"\n[auth]\nallow_plaintext_loopback = true\n' });
    } catch (e) {
      t.skip(`the IMAP listener could not start: ${(e as Error).message}`);
      return;
    }
    try {
      if (!ts.imapPort) {
        t.skip('the server has no IMAP listener yet (listen.imap)');
        return;
      }
      const { passwordHash, scram } = await hashCredentials(PASSWORD);
      const store = ts.server.store;
      await store.addAccount({ address: 'probe@example.org', passwordHash, scram, quotaBytes: 0 });
      // The capabilities before and after login (imaptest checks the list of the state it starts in).
      const probe = await Conn.open(ts.imapPort, 'p');
      const greeting = await probe.next();
      const pre = capsOf([...(greeting ? [greeting.text] : []), ...(await probe.simple('p1', 'CAPABILITY')).untagged]);
      const login = await probe.simple('p2', `LOGIN "probe@example.org" "${PASSWORD}"`);
      const post = capsOf([login.text, ...login.untagged, ...(await probe.simple('p3', 'CAPABILITY')).untagged]);
      probe.destroy();
      assert.ok(login.ok, `probe LOGIN failed: ${login.text}`);

      const only = process.env.IMAPTEST_ONLY ? new Set(process.env.IMAPTEST_ONLY.split(',')) : null;
      const names = readdirSync(DIR)
        .filter((n) => !n.startsWith('.') && !n.endsWith('.mbox') && statSync(join(DIR, n)).isFile())
        .filter((n) => !only || only.has(n))
        .sort();
      const defaultPath = existsSync(join(DIR, 'default.mbox')) ? join(DIR, 'default.mbox') : conformanceDir + '/imap/imaptest/tests/default.mbox';
      const defaultMbox = existsSync(defaultPath) ? parseMbox(readFileSync(defaultPath, 'latin1')) : [];
      const results: Array<{ name: string } & Outcome> = [];
      let n = 0;
      for (const name of names) {
        const parsed = parseScript(name, readFileSync(join(DIR, name), 'latin1'));
        if (!parsed.ok) {
          results.push({ name, status: 'fail', reason: `script parse error: ${parsed.error}` });
          continue;
        }
        const mboxPath = join(DIR, `${name}.mbox`);
        const mbox = existsSync(mboxPath) ? parseMbox(readFileSync(mboxPath, 'latin1')) : defaultMbox;
        const user = `t${++n}@example.org`;
        await store.addAccount({ address: user, passwordHash, scram, quotaBytes: 0 });
        results.push({ name, ...(await runScript(parsed.script, mbox, ts.imapPort, user, { pre, post })) });
      }
      const ran = results.filter((r) => r.status !== 'skip');
      const passed = ran.filter((r) => r.status === 'pass');
      const groups = ran.reduce((a, r) => a + (r.groups ?? 0), 0);
      const groupsPassed = ran.reduce((a, r) => a + (r.groupsPassed ?? 0), 0);
      const lines = [
        `imaptest: ${passed.length}/${ran.length} scripts pass (${results.length - ran.length} skipped: capabilities we do not advertise); ${groupsPassed}/${groups} command groups pass`,
      ];
      for (const r of results) {
        if (r.status !== 'fail') continue;
        lines.push(`  FAIL ${r.name} (${r.groupsPassed ?? 0}/${r.groups ?? 0} groups): ${r.reason}`);
        for (const f of (r.failures ?? []).slice(1)) lines.push(`       also: ${f}`);
      }
      for (const r of results) if (r.status === 'skip') lines.push(`  skip ${r.name}: ${r.reason}`);
      console.log(lines.join('\n'));
      if (!only && !process.env.IMAPTEST_DIR) assert.ok(passed.length >= FLOOR, `imaptest: ${passed.length} scripts pass, the floor is ${FLOOR}`);
    } finally {
      await ts.stop();
    }
  });
});
