// Property tests for the IMAP session on a real loopback server: arbitrary
// bytes, and arbitrary sequences of plausible commands with mangled
// arguments, in any state, never crash the session — every command with a
// valid tag gets exactly one tagged completion (OK, NO or BAD), the server
// keeps answering afterwards, and no exception is logged as a crash.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import fc from 'fast-check';
import { startTestServer, type TestServer } from '../../../test/helpers/server.ts';

class Client {
  socket: net.Socket;
  buf = '';
  closed = false;
  #wake: (() => void) | null = null;
  constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on('data', (d) => {
      this.buf += d.toString('latin1');
      this.#wake?.();
    });
    socket.on('close', () => {
      this.closed = true;
      this.#wake?.();
    });
    socket.on('error', () => {});
  }
  static async open(port: number): Promise<Client> {
    const s = net.connect(port, '127.0.0.1');
    await new Promise((r) => s.once('connect', r));
    const c = new Client(s);
    await c.until((b) => b.includes('\r\n'));
    c.buf = '';
    return c;
  }
  async until(pred: (b: string) => boolean, ms = 5000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!pred(this.buf)) {
      if (this.closed) return;
      if (Date.now() > deadline) throw new Error(`timeout; have ${JSON.stringify(this.buf.slice(-500))}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, 50);
        this.#wake = () => {
          clearTimeout(t);
          r();
        };
      });
    }
  }
}

const VERBS = ['CAPABILITY', 'NOOP', 'LOGIN', 'SELECT', 'EXAMINE', 'CREATE', 'DELETE', 'RENAME', 'LIST', 'LSUB', 'STATUS', 'APPEND', 'FETCH', 'STORE', 'SEARCH', 'COPY', 'MOVE', 'EXPUNGE', 'UID FETCH', 'UID STORE', 'UID SEARCH', 'UID EXPUNGE', 'CLOSE', 'UNSELECT', 'CHECK', 'ENABLE', 'ID', 'NAMESPACE', 'GETQUOTAROOT', 'GETQUOTA', 'SETQUOTA', 'AUTHENTICATE', 'XYZ', 'UID'];
const ARGS = ['INBOX', '"INBOX"', 'Trash', '""', '*', '%', '1', '1:*', '*:1', '0', '4294967296', '$', '(FLAGS)', '(BODY[])', 'BODY.PEEK[1.2.MIME]<0.10>', 'BODY[HEADER.FIELDS (From)]', '+FLAGS', '-FLAGS.SILENT', '(\\Seen)', '(\\Bogus)', '(MESSAGES UIDNEXT)', '(CONDSTORE)', 'NIL', '()', '(', ')', 'CHARSET', 'UTF-8', 'OR', 'NOT', 'ALL', 'RETURN', '(MIN MAX)', 'BODY', '"x"', '&Jjo-', '&bad', 'QRESYNC', 'IMAP4rev2', 'alice@example.org', 'pw', '{3+}\r\nabc', '~{2+}\r\n\0\x01', '"\\"', '[', ']', '<1.2>'];

describe('IMAP session properties', () => {
  let ts: TestServer;
  before(async () => {
    ts = await startTestServer({
      toml: '[listen]\nsmtp = "127.0.0.1:0"\nimap = "127.0.0.1:0"\n[auth]\nallow_plaintext_loopback = true\n[imap]\nmax_line = "4K"\nmax_literal = "4K"\n[limits]\nconnections_per_ip = 200\n',
      users: { 'alice@example.org': 'pw' },
    });
  });
  after(() => ts.stop());

  it('random commands in any state: one tagged completion each, never a crash', async () => {
    const command = fc.tuple(fc.constantFrom(...VERBS), fc.array(fc.constantFrom(...ARGS), { maxLength: 5 })).map(([v, a]) => [v, ...a].join(' '));
    await fc.assert(
      fc.asyncProperty(fc.boolean(), fc.boolean(), fc.array(command, { minLength: 1, maxLength: 12 }), async (login, select, cmds) => {
        const c = await Client.open(ts.imapPort);
        try {
          const prefix: string[] = [];
          if (login) prefix.push('LOGIN alice@example.org pw');
          if (login && select) prefix.push('SELECT INBOX');
          const all = [...prefix, ...cmds].filter((x) => !/^(LOGOUT|AUTHENTICATE|IDLE)/.test(x));
          for (let i = 0; i < all.length; i++) {
            const tag = `t${i}`;
            c.socket.write(`${tag} ${all[i]}\r\n`);
            // A synchronizing literal marker in the mangled args is answered with "+", then we end the line.
            await c.until((b) => new RegExp(`(^|\\r\\n)${tag} (OK|NO|BAD)[^\\r]*\\r\\n`).test(b) || /\+ [^\r]*\r\n$/.test(b) || c.closed);
            if (/\+ [^\r]*\r\n$/.test(c.buf) && !new RegExp(`${tag} (OK|NO|BAD)`).test(c.buf)) {
              c.socket.write('\r\n');
              await c.until((b) => new RegExp(`(^|\\r\\n)${tag} (OK|NO|BAD)`).test(b) || c.closed);
            }
            assert.ok(!c.closed, `the session closed after ${JSON.stringify(all[i])}: ${c.buf.slice(-300)}`);
            assert.equal((c.buf.match(new RegExp(`(^|\\r\\n)${tag} (OK|NO|BAD)`, 'g')) ?? []).length, 1, `one completion for ${JSON.stringify(all[i])}`);
            c.buf = '';
          }
          c.socket.write('z NOOP\r\n');
          await c.until((b) => /(^|\r\n)z OK/.test(b));
        } finally {
          c.socket.destroy();
        }
      }),
      { numRuns: 60 },
    );
    assert.ok(!ts.logs.some((l) => l.msg === 'session failed' || l.msg === 'command failed'), JSON.stringify(ts.logs.filter((l) => l.level === 'error').slice(0, 3)));
  });

  it('arbitrary bytes never crash the server; it still answers afterwards', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 600 }), async (bytes) => {
        const c = await Client.open(ts.imapPort);
        try {
          c.socket.write(bytes);
          // End any line and literal the bytes may have opened, then ask for a NOOP.
          c.socket.write('\r\n');
          await new Promise((r) => setTimeout(r, 5));
        } finally {
          c.socket.destroy();
        }
      }),
      { numRuns: 80 },
    );
    const c = await Client.open(ts.imapPort);
    c.socket.write('a NOOP\r\n');
    await c.until((b) => /a OK/.test(b));
    c.socket.destroy();
    assert.ok(!ts.logs.some((l) => l.msg === 'session failed'), 'no session crashed');
  });
});
