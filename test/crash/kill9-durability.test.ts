// Durability (DESIGN convention 5): `kill -9` at any moment never loses a
// message that was answered 250 and never leaves half a message visible.
// The server runs as a child process; clients send a stream of messages with
// unique ids; the process is killed mid-stream, during DATA and right after
// the terminator; after restart every acknowledged message is present and
// byte-exact, and every stored message is complete.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RawSmtp } from '../helpers/smtp-client.ts';
import { runCli, startChildServer, writeConfig, type ChildServer } from '../helpers/child-server.ts';
import { tempDir } from '../helpers/temp-dir.ts';
import { openSqliteStore } from '../../src/store/sqlite/index.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function body(id: string): string {
  const filler = ('The quick brown fox jumps over the lazy dog. ' + id + '\r\n').repeat(40);
  return `Message-ID: <${id}@test>\r\nSubject: ${id}\r\n\r\n${filler}END ${id}\r\n`;
}

async function storedBodies(dataDir: string): Promise<Map<string, string>> {
  const store = await openSqliteStore({ dataDir });
  try {
    const acc = (await store.getAccount('u@example.org'))!;
    const mb = (await store.getMailbox(acc.id, 'INBOX'))!;
    const out = new Map<string, string>();
    for (const m of await store.listMessages(mb.id)) {
      const text = (await store.readBlob(m.blobId)).toString('utf8');
      const id = /Subject: (\S+)/.exec(text)?.[1] ?? '?';
      out.set(id, text);
    }
    return out;
  } finally {
    await store.close();
  }
}

function kill9(s: ChildServer): Promise<unknown> {
  s.proc.kill('SIGKILL');
  return s.exited;
}

describe('kill -9 durability', () => {
  let tmp: { dir: string; remove: () => Promise<void> };
  let config: string;
  let dataDir: string;
  before(async () => {
    tmp = await tempDir();
    config = await writeConfig(tmp.dir);
    dataDir = tmp.dir + '/data';
    assert.equal((await runCli(['domain', 'add', 'example.org', '--config', config])).code, 0);
    const u = await runCli(['user', 'add', 'u@example.org', '--password-stdin', '--config', config], 'secret\n');
    assert.equal(u.code, 0, u.stderr);
  });
  after(() => tmp.remove());

  it('loses no acknowledged message when killed under load', async () => {
    const server = await startChildServer(config);
    const acked = new Set<string>();
    let stop = false;
    const worker = async (w: number) => {
      let c: RawSmtp;
      try {
        c = await RawSmtp.connect(server.port);
        await c.reply();
        await c.cmd('EHLO load.example');
      } catch {
        return;
      }
      for (let i = 0; !stop; i++) {
        const id = `w${w}m${i}`;
        try {
          c.write('MAIL FROM:<load@sender.example>\r\nRCPT TO:<u@example.org>\r\nDATA\r\n');
          await c.reply();
          await c.reply();
          if ((await c.reply()).code !== 354) return;
          c.write(body(id).replace(/^\./gm, '..') + '.\r\n');
          const r = await c.reply();
          if (r.code === 250) acked.add(id);
        } catch {
          return; // killed
        }
      }
    };
    const workers = Array.from({ length: 8 }, (_, w) => worker(w));
    // Kill once the load is really flowing (a loaded machine may take longer
    // than any fixed wait to acknowledge the first message), then a little later
    // so that transactions are in flight at the moment of the kill.
    for (const deadline = Date.now() + 30_000; acked.size < 5 && Date.now() < deadline; ) await sleep(20);
    await sleep(150);
    await kill9(server);
    stop = true;
    await Promise.all(workers);
    assert.ok(acked.size > 0, 'some messages were acknowledged before the kill');
    const stored = await storedBodies(dataDir);
    for (const id of acked) {
      assert.ok(stored.has(id), `acknowledged message ${id} lost`);
    }
    for (const [id, text] of stored) assert.ok(text.endsWith(body(id)), `stored message ${id} is complete`);
  });

  it('shows nothing of a message killed during DATA, and survives restart', async () => {
    const server = await startChildServer(config);
    const c = await RawSmtp.connect(server.port);
    await c.reply();
    await c.cmd('EHLO x.example');
    await c.cmd('MAIL FROM:<x@sender.example>');
    await c.cmd('RCPT TO:<u@example.org>');
    await c.cmd('DATA');
    c.write(body('half').slice(0, 500));
    await sleep(100);
    await kill9(server);
    c.close();
    assert.equal((await storedBodies(dataDir)).has('half'), false);
  });

  it('keeps a message acknowledged right before the kill (terminator then kill)', async () => {
    for (let round = 0; round < 3; round++) {
      const server = await startChildServer(config);
      const c = await RawSmtp.connect(server.port);
      await c.reply();
      await c.cmd('EHLO x.example');
      await c.cmd('MAIL FROM:<x@sender.example>');
      await c.cmd('RCPT TO:<u@example.org>');
      await c.cmd('DATA');
      const id = `edge${round}`;
      c.write(body(id) + '.\r\n');
      let acked = false;
      const replied = c.reply(2000).then((r) => (acked = r.code === 250), () => {});
      await sleep(round * 2); // kill at slightly different moments around the commit
      await kill9(server);
      await replied;
      c.close();
      const stored = await storedBodies(dataDir);
      if (acked) assert.ok(stored.has(id), `${id} acknowledged but lost`);
      if (stored.has(id)) assert.ok(stored.get(id)!.endsWith(body(id)));
    }
    // After all the kills the server still starts and takes mail.
    const server = await startChildServer(config);
    const c = await RawSmtp.connect(server.port);
    await c.reply();
    await c.cmd('EHLO x.example');
    await c.cmd('MAIL FROM:<x@sender.example>');
    await c.cmd('RCPT TO:<u@example.org>');
    await c.cmd('DATA');
    c.write(body('after') + '.\r\n');
    assert.equal((await c.reply()).code, 250);
    c.close();
    server.proc.kill('SIGTERM');
    assert.equal(await server.exited, 0, 'SIGTERM exits cleanly');
    assert.ok((await storedBodies(dataDir)).has('after'));
  });
});
