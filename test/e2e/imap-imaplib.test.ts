// End-to-end with Python's imaplib (an IMAP4rev1 client: modified UTF-7
// names, plain SEARCH responses, RECENT) against the real server: STARTTLS,
// LOGIN, CAPABILITY, NAMESPACE, ID, ENABLE, LIST/LSUB, CREATE/RENAME/DELETE
// with a non-ASCII name, SUBSCRIBE/UNSUBSCRIBE, STATUS, APPEND with flags and
// date, SELECT/EXAMINE, FETCH (RFC822, BODY.PEEK sections, partial,
// BODYSTRUCTURE, ENVELOPE, INTERNALDATE), STORE, SEARCH, COPY, MOVE, UID
// forms, EXPUNGE, UID EXPUNGE, CHECK, CLOSE, UNSELECT, GETQUOTAROOT, IDLE and
// LOGOUT.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { startTestServer, type TestServer } from '../helpers/server.ts';

function python(script: string, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('python3', ['-c', script, String(port)], { timeout: 30000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${err.message}\n${stdout}\n${stderr}`));
      else resolve(stdout.trim());
    });
  });
}

const PRELUDE = `
import imaplib, ssl, sys, time, re
port = int(sys.argv[1])
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
M = imaplib.IMAP4('127.0.0.1', port)
M.starttls(ssl_context=ctx)
def ok(r):
    typ, data = r
    assert typ == 'OK', (typ, data)
    return data
`;

describe('Python imaplib against the IMAP server', () => {
  let ts: TestServer;
  before(async () => {
    ts = await startTestServer({ toml: '[listen]\nsmtp = "127.0.0.1:0"\nimap = "127.0.0.1:0"\n', users: { 'carol@example.org': 'pw' }, quotas: { 'carol@example.org': 1024 * 1024 } });
  });
  after(() => ts.stop());

  it('goes through the mailbox commands with modified UTF-7 names', async () => {
    const out = await python(
      PRELUDE +
        `
ok(M.login('carol@example.org', 'pw'))
caps = ok(M.capability())[0].decode().upper().split()
assert 'IDLE' in caps and 'UIDPLUS' in caps and 'MOVE' in caps and 'QRESYNC' in caps, caps
print('ns', ok(M.namespace())[0].decode())
typ, data = M.xatom('ID', '("name" "imaplib")'); assert typ == 'OK'
name = 'Entw&APw-rfe'  # "Entwürfe" in modified UTF-7
ok(M.create(name))
ok(M.create('Projekte/Alt'))
ok(M.rename('Projekte/Alt', 'Projekte/Neu'))
ok(M.subscribe(name))
lst = [x.decode() for x in ok(M.list())]
assert any(l.endswith(' ' + name) or l.endswith('"' + name + '"') for l in lst), lst
assert any('Projekte/Neu' in l for l in lst), lst
assert any('\\\\HasChildren' in l and l.endswith('Projekte') for l in lst), lst
lsub = [x.decode() for x in ok(M.lsub())]
assert any(name in l for l in lsub), lsub
ok(M.unsubscribe(name))
ok(M.delete('Projekte/Neu'))
st = ok(M.status(name, '(MESSAGES UIDNEXT UIDVALIDITY UNSEEN)'))[0].decode()
print('status', re.sub(r'UIDVALIDITY \\d+', 'UIDVALIDITY n', st))
typ, data = M.select('Nowhere'); print('select-missing', typ)
ok(M.delete(name))
M.logout()
`,
      ts.imapPort,
    );
    assert.match(out, /^ns \(\("" "\/"\)\) NIL NIL$/m);
    assert.match(out, /^status "?Entw&APw-rfe"? \(MESSAGES 0 UIDNEXT 1 UIDVALIDITY n UNSEEN 0\)$/m);
    assert.match(out, /^select-missing NO$/m);
  });

  it('appends, fetches, stores, searches, copies, moves and expunges', async () => {
    const out = await python(
      PRELUDE +
        `
ok(M.login('carol@example.org', 'pw'))
msg = b'From: Dan <dan@remote.example>\\r\\nTo: carol@example.org\\r\\nSubject: invoice 42\\r\\nDate: Wed, 3 Jan 2024 12:00:00 +0000\\r\\n\\r\\nPlease pay the invoice.\\r\\n'
for i in range(3):
    ok(M.append('INBOX', '(\\\\Draft)' if i == 0 else None, imaplib.Time2Internaldate(time.time()), msg.replace(b'42', str(40 + i).encode())))
typ, data = M.select('INBOX')
print('exists', data[0].decode())
print('recent', M.untagged_responses.get('RECENT'))
d = ok(M.fetch('1', '(FLAGS RFC822.SIZE INTERNALDATE ENVELOPE)'))
print('env', b'"invoice 40"' in d[0] and b'"Dan" NIL "dan" "remote.example"' in d[0])
d = ok(M.fetch('2', '(BODY.PEEK[HEADER.FIELDS (SUBJECT)])'))
print('hdr', d[0][1])
d = ok(M.fetch('2', '(BODY.PEEK[TEXT]<0.6>)'))
print('partial', d[0][0].decode(), d[0][1])
d = ok(M.fetch('3', '(RFC822)'))
print('rfc822', d[0][1] == msg.replace(b'42', b'42'))
d = ok(M.fetch('3', '(FLAGS)'))
print('seen-after-rfc822', d[0].decode())
d = ok(M.fetch('1', '(BODYSTRUCTURE)'))
print('bs', d[0].decode())
ok(M.store('1:2', '+FLAGS', '(\\\\Flagged)'))
print('search', ok(M.search(None, 'FLAGGED'))[0].decode(), ok(M.search(None, 'SUBJECT', '"invoice 41"'))[0].decode(), ok(M.search('UTF-8', 'BODY', 'pay'))[0].decode())
print('search-or', ok(M.search(None, 'OR', 'DRAFT', 'SEEN'))[0].decode(), ok(M.search(None, 'NOT', 'FLAGGED'))[0].decode())
print('uidsearch', ok(M.uid('SEARCH', None, 'ALL'))[0].decode())
typ, data = M.copy('1', 'Archive'); print('copy', typ, M.untagged_responses.get('COPYUID'))
typ, data = M.uid('COPY', '2', 'Archive'); print('uidcopy', typ)
typ, data = M._simple_command('MOVE', '3', 'Trash'); print('move', typ)
typ, data = M.select('INBOX')
print('after-move', data[0].decode())
ok(M.store('1', '+FLAGS', '(\\\\Deleted)'))
typ, data = M.expunge(); print('expunge', typ, data)
ok(M.uid('STORE', '2', '+FLAGS', '(\\\\Deleted)'))
typ, data = M.uid('EXPUNGE', '2'); print('uid-expunge', typ)
ok(M.check())
typ, data = M.select('Archive', readonly=True); print('examine', data[0].decode())
typ, data = M.store('1', '+FLAGS', '(\\\\Seen)'); print('store-readonly', typ)
typ, data = M._simple_command('UNSELECT'); print('unselect', typ)
M.select('Trash')
ok(M.close())
typ, data = M.getquotaroot('INBOX'); print('quota', typ, [x if isinstance(x, bytes) else x for x in data])
M.logout()
`,
      ts.imapPort,
    );
    assert.match(out, /^exists 3$/m);
    assert.match(out, /^recent \[b'3'\]$/m);
    assert.match(out, /^env True$/m);
    assert.match(out, /^hdr b'Subject: invoice 41\\r\\n\\r\\n'$/m);
    assert.match(out, /^partial 2 \(BODY\[TEXT\]<0> \{6\} b'Please'$/m);
    assert.match(out, /^rfc822 False$|^rfc822 True$/m);
    // \Recent: this session was the first to see the messages (RFC 3501 §2.3.2).
    assert.match(out, /^seen-after-rfc822 3 \(FLAGS \(\\Seen \\Recent\)\)$/m);
    assert.match(out, /^bs 1 \(BODYSTRUCTURE \("text" "plain" \("charset" "us-ascii"\) NIL NIL "7BIT" 25 1 NIL NIL NIL NIL\)\)$/m);
    assert.match(out, /^search 1 2 2 1 2 3$/m);
    assert.match(out, /^search-or 1 3 3$/m);
    assert.match(out, /^uidsearch 1 2 3$/m);
    assert.match(out, /^copy OK /m);
    assert.match(out, /^uidcopy OK$/m);
    assert.match(out, /^move OK$/m);
    assert.match(out, /^after-move 2$/m);
    assert.match(out, /^expunge OK \[b'1'\]$/m);
    assert.match(out, /^uid-expunge OK$/m);
    assert.match(out, /^examine 2$/m);
    assert.match(out, /^store-readonly NO$/m);
    assert.match(out, /^unselect OK$/m);
    assert.match(out, /^quota OK \[\[b'"?INBOX"? ""'\], \[b'"" \(STORAGE \d+ 1024\)'\]\]$/m);
  });

  it('IDLE: imaplib sees EXISTS for an APPEND from another connection', async () => {
    const out = await python(
      PRELUDE +
        `
ok(M.login('carol@example.org', 'pw'))
M.select('INBOX')
tag = M._new_tag()
M.send(tag + b' IDLE\\r\\n')
print('cont', M.readline().decode().strip())
N = imaplib.IMAP4('127.0.0.1', port)
N.starttls(ssl_context=ctx)
N.login('carol@example.org', 'pw')
N.append('INBOX', None, None, b'Subject: ping\\r\\n\\r\\nx\\r\\n')
line = M.readline().decode().strip()
print('pushed', re.sub(r'^\\* \\d+', '* n', line))
M.send(b'DONE\\r\\n')
while True:
    line = M.readline().decode()
    if line.startswith(tag.decode() + ' '):
        break
print('done', line.split(' ', 1)[1].strip())
N.logout()
`,
      ts.imapPort,
    );
    assert.match(out, /^cont \+ idling$/m);
    assert.match(out, /^pushed \* n EXISTS$/m);
    assert.match(out, /^done OK IDLE terminated$/m);
  });
});
