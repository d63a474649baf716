// kill -9 during mailbox writes: a child process APPENDs from several loops
// while others MOVE, EXPUNGE and flag messages, printing each write once it
// has resolved (the moment IMAP would say OK and POP3 +OK). After SIGKILL the
// store is reopened: every acknowledged write is there, UIDs are unique and
// each removed UID is remembered for VANISHED, and quota usage matches the
// messages that exist.

import { it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { openSqliteStore } from './sqlite-store.ts';

const HASH = '$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHQ$aGFzaGhhc2hoYXNoaGFzaA';
const STORE_MODULE = new URL('./sqlite-store.ts', import.meta.url).href;

it('loses no acknowledged APPEND, MOVE, EXPUNGE or flag change after kill -9', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'mailroom-mbcrash-'));
  try {
    const setup = await openSqliteStore({ dataDir });
    await setup.addDomain('example.com');
    const a = await setup.addAccount({ address: 'a@example.com', passwordHash: HASH, quotaBytes: 0 });
    const inbox = (await setup.getMailbox(a.id, 'INBOX'))!.id;
    const archive = (await setup.getMailbox(a.id, 'Archive'))!.id;
    await setup.close();
    const script = `
      import { openSqliteStore } from ${JSON.stringify(STORE_MODULE)};
      const s = await openSqliteStore({ dataDir: ${JSON.stringify(dataDir)}, inlineMaxBytes: 8192 });
      const out = (l) => process.stdout.write(l + '\\n');
      const pause = () => new Promise((r) => setTimeout(r, 1));
      let n = 0;
      async function appender() {
        for (;;) {
          const i = n++;
          const size = i % 4 === 0 ? 30000 : 1500;
          const r = await s.append(${inbox}, { content: [Buffer.from('Subject: m' + i + '\\r\\n\\r\\n'), Buffer.alloc(size, 'x')], flags: [], internalDate: new Date() });
          out('A ' + r.uid);
        }
      }
      async function remover() {
        for (;;) {
          const msgs = await s.listMessages(${inbox});
          if (msgs.length < 5) { await pause(); continue; }
          const u = msgs[0].uid;
          if (u % 2) {
            const r = await s.moveMessages(${inbox}, [u], ${archive});
            if (r.mapping.length) out('M ' + u + ' ' + r.mapping[0].destUid);
          } else {
            const r = await s.expunge(${inbox}, { uids: [u], onlyDeleted: false });
            if (r.length) out('X ' + u);
          }
        }
      }
      async function flagger() {
        for (;;) {
          const msgs = await s.listMessages(${inbox});
          if (msgs.length === 0) { await pause(); continue; }
          const u = msgs[msgs.length - 1].uid;
          const r = await s.updateFlags(${inbox}, [u], 'add', ['\\\\Seen']);
          if (r.updated.length) out('F ' + u);
          else await pause();
        }
      }
      for (let w = 0; w < 8; w++) appender();
      for (let w = 0; w < 2; w++) remover();
      flagger();`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise((r) => child.on('exit', r));
    const count = (p: string) => out.split('\n').filter((l) => l.startsWith(p)).length;
    await Promise.race([
      exited,
      new Promise<void>((resolve) => {
        const check = () => (count('A ') > 300 && count('X ') + count('M ') > 20 ? resolve() : setTimeout(check, 10));
        check();
      }),
    ]);
    child.kill('SIGKILL');
    await exited;
    const lines = out.split('\n').filter((l) => /^[AXMF] \d+( \d+)?$/.test(l)).map((l) => l.split(' '));
    const acked = (k: string) => lines.filter((l) => l[0] === k);
    assert.ok(acked('A').length > 300, `only ${acked('A').length} appends acknowledged`);

    const s = await openSqliteStore({ dataDir });
    try {
      const inMsgs = await s.listMessages(inbox);
      const arMsgs = await s.listMessages(archive);
      const inUids = new Set(inMsgs.map((m) => m.uid));
      const arUids = new Set(arMsgs.map((m) => m.uid));
      const vanished = new Set((await s.changesSince(inbox, 0)).expunged);
      assert.equal(inUids.size, inMsgs.length, 'INBOX UIDs unique');
      for (const u of inUids) assert.ok(!vanished.has(u), `UID ${u} both present and expunged`);
      for (const [, u] of acked('A')) assert.ok(inUids.has(Number(u)) || vanished.has(Number(u)), `acknowledged APPEND ${u} lost`);
      for (const [, u] of acked('X')) assert.ok(!inUids.has(Number(u)) && vanished.has(Number(u)), `acknowledged EXPUNGE ${u} undone`);
      for (const [, u, d] of acked('M')) {
        assert.ok(!inUids.has(Number(u)) && vanished.has(Number(u)), `acknowledged MOVE ${u} still in INBOX`);
        assert.ok(arUids.has(Number(d)), `moved message ${d} missing in Archive`);
      }
      for (const [, u] of acked('F')) {
        const m = inMsgs.find((x) => x.uid === Number(u));
        if (m) assert.ok(m.flags.includes('\\Seen'), `acknowledged flag change on ${u} lost`);
      }
      for (const m of [...inMsgs, ...arMsgs]) assert.equal((await s.readBlob(m.blobId)).length, m.size);
      const used = (await s.getAccountById(a.id))!.usedBytes;
      assert.equal(used, [...inMsgs, ...arMsgs].reduce((n, m) => n + m.size, 0), 'usage matches the messages stored');
      const mb = (await s.getMailboxById(inbox))!;
      assert.ok(mb.uidNext > Math.max(0, ...inUids, ...vanished), 'UIDNEXT above every UID handed out');
    } finally {
      await s.close();
    }
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
});
