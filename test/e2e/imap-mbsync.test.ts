// End-to-end with mbsync (Debian's isync): a Maildir synchronized with an
// account both ways. Server → local: delivered messages, flags set by another
// IMAP session, a new server-side mailbox. Local → server: a message dropped
// into a local folder (APPEND), a new local folder (CREATE), flags changed
// locally (STORE), a locally deleted message (STORE \Deleted + EXPUNGE).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { tempDir } from '../helpers/temp-dir.ts';

const haveMbsync = spawnSync('mbsync', ['-v'], { encoding: 'utf8' }).status === 0 || spawnSync('mbsync', ['--version']).status === 0;

function mbsync(rc: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('mbsync', ['-c', rc, '-a'], { timeout: 30000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`mbsync failed: ${err.message}\n${stdout}\n${stderr}`));
      else resolve(stdout + stderr);
    });
  });
}

/** Files of a Maildir folder (new and cur), as name → flags ("FS" etc.). */
function maildir(root: string, folder: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const sub of ['new', 'cur']) {
    let names: string[] = [];
    try {
      names = readdirSync(join(root, folder, sub));
    } catch {
      continue;
    }
    for (const n of names) out.set(join(sub, n), /:2,([A-Z]*)$/.exec(n)?.[1] ?? '');
  }
  return out;
}

describe('mbsync synchronizes a Maildir with the server both ways', { skip: haveMbsync ? false : 'mbsync (isync) is not installed' }, () => {
  let ts: TestServer;
  let tmp: { dir: string; remove(): Promise<void> };
  let rc: string;
  let mail: string;
  let accountId: number;

  before(async () => {
    ts = await startTestServer({ toml: '[listen]\nsmtp = "127.0.0.1:0"\nimap = "127.0.0.1:0"\n[auth]\nallow_plaintext_loopback = true\n', users: { 'alice@example.org': 'pw' } });
    tmp = await tempDir();
    mail = join(tmp.dir, 'mail');
    mkdirSync(mail, { recursive: true });
    rc = join(tmp.dir, 'mbsyncrc');
    // Plaintext on loopback (auth.allow_plaintext_loopback): the test has no certificate mbsync would trust.
    writeFileSync(
      rc,
      `IMAPAccount t\nHost 127.0.0.1\nPort ${ts.imapPort}\nUser alice@example.org\nPass pw\nSSLType None\nAuthMechs LOGIN\n\n` +
        `IMAPStore remote\nAccount t\n\nMaildirStore local\nPath ${mail}/\nInbox ${mail}/INBOX\nSubFolders Verbatim\n\n` +
        `Channel c\nFar :remote:\nNear :local:\nPatterns *\nCreate Both\nExpunge Both\nSyncState *\n`,
    );
    accountId = (await ts.server.store.getAccount('alice@example.org'))!.id;
  });
  after(async () => {
    await ts.stop();
    await tmp.remove();
  });

  async function serverBox(name: string) {
    const mb = await ts.server.store.getMailbox(accountId, name);
    if (!mb) return null;
    return ts.server.store.listMessages(mb.id);
  }

  it('pulls the account, then pushes local changes and pulls server changes', async () => {
    for (let i = 0; i < 3; i++) {
      await ts.server.store.deliver({ content: [Buffer.from(`Subject: m${i}\r\nMessage-ID: <m${i}@x>\r\n\r\nbody ${i}\r\n`)], internalDate: new Date(), recipients: [{ accountId }] });
    }
    await mbsync(rc);
    assert.deepEqual(readdirSync(mail).sort(), ['Archive', 'Drafts', 'INBOX', 'Junk', 'Sent', 'Trash']);
    const inbox = [...maildir(mail, 'INBOX').keys()].sort();
    assert.equal(inbox.length, 3);

    // Local changes: flag one (seen + flagged), delete one, file a new message
    // into Archive, and make a new folder with a message.
    const [first, second] = inbox;
    renameSync(join(mail, 'INBOX', first!), join(mail, 'INBOX', 'cur', first!.split('/')[1]!.replace(/:2,.*$/, ':2,FS')));
    rmSync(join(mail, 'INBOX', second!));
    writeFileSync(join(mail, 'Archive', 'new', `${Date.now()}.local1.host`), 'Subject: filed locally\r\n\r\nlocal body\r\n');
    for (const sub of ['cur', 'new', 'tmp']) mkdirSync(join(mail, 'Local', sub), { recursive: true });
    writeFileSync(join(mail, 'Local', 'new', `${Date.now()}.local2.host`), 'Subject: in a new folder\r\n\r\nx\r\n');
    await mbsync(rc);

    const inboxNow = (await serverBox('INBOX'))!;
    assert.equal(inboxNow.length, 2, 'the locally deleted message was expunged on the server');
    assert.ok(inboxNow.some((m) => m.flags.includes('\\Seen') && m.flags.includes('\\Flagged')), 'local flags reached the server');
    const archive = (await serverBox('Archive'))!;
    assert.equal(archive.length, 1);
    assert.match((await ts.server.store.readBlob(archive[0]!.blobId)).toString(), /filed locally/);
    assert.equal((await serverBox('Local'))?.length, 1, 'the new local folder was created on the server');

    // Server-side changes reach the Maildir: a new delivery, a flag, a new mailbox.
    const inboxId = (await ts.server.store.getMailbox(accountId, 'INBOX'))!.id;
    const unflagged = inboxNow.find((m) => !m.flags.includes('\\Flagged'))!;
    await ts.server.store.updateFlags(inboxId, [unflagged.uid], 'add', ['\\Answered']);
    await ts.server.store.deliver({ content: [Buffer.from('Subject: late\r\n\r\nlate\r\n')], internalDate: new Date(), recipients: [{ accountId }] });
    await ts.server.store.createMailbox(accountId, 'FromServer');
    await mbsync(rc);
    const local = maildir(mail, 'INBOX');
    assert.equal(local.size, 3);
    assert.ok([...local.values()].some((f) => f.includes('R')), 'the server-side \\Answered became the Maildir R flag');
    assert.ok(readdirSync(mail).includes('FromServer'));
  });
});
