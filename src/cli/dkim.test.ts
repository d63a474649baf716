// `mailroom dkim` and `mailroom dns`: the key life cycle with an injected
// clock (keygen → rotate → pending → active/retiring → retired, activate),
// and the real command as a child process for output, errors and exit codes.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openSqliteStore, type SqliteStore } from '../store/sqlite/index.ts';
import { dkimKeyState } from '../store/dkim-keys.ts';
import { publicKeyOf } from '../policy/dkim-keys.ts';
import { activate, keygen, rotate } from './dkim.ts';
import { txtStrings } from './dns-records.ts';

const MAIN = fileURLToPath(new URL('./main.ts', import.meta.url));
const HOUR = 3600_000;
const TIMING = { publish_delay: 48 * HOUR, retire_delay: 7 * 24 * HOUR };
const T0 = new Date('2026-03-10T12:00:00Z');
const at = (h: number) => new Date(T0.getTime() + h * HOUR);

describe('key life cycle (injected clock)', () => {
  let dir: string;
  let store: SqliteStore;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mailroom-dkim-'));
    store = await openSqliteStore({ dataDir: dir, commitIn: 'main' });
    await store.addDomain('example.org');
  });
  after(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const states = async (now: Date) => Object.fromEntries((await store.listDkimKeys('example.org')).map((k) => [k.selector, dkimKeyState(k, now)]));

  it('keygen: RSA 2048 and Ed25519, active at once, default selectors; a second key of an algorithm is refused', async () => {
    const r = await keygen(store, 'example.org', {}, T0);
    assert.equal(r.selector, 'mr202603');
    assert.equal(r.algorithm, 'rsa-sha256');
    assert.equal(publicKeyOf(r.privateKey), r.publicKey);
    // 2048-bit SubjectPublicKeyInfo: 294 bytes → 392 base64 characters.
    assert.equal(Buffer.from(r.publicKey, 'base64').length, 294);
    const e = await keygen(store, 'example.org', { algorithm: 'ed25519-sha256' }, T0);
    assert.equal(e.selector, 'mr202603e');
    assert.equal(Buffer.from(e.publicKey, 'base64').length, 32);
    assert.deepEqual(await states(T0), { mr202603: 'active', mr202603e: 'active' });
    await assert.rejects(keygen(store, 'example.org', {}, T0), /already has an active rsa key \(mr202603\): use `mailroom dkim rotate example\.org`/);
  });

  it('rotate: new keys pending for publish_delay, then active; old ones retiring for retire_delay, then retired', async () => {
    const done = await rotate(store, 'example.org', {}, TIMING, at(1));
    assert.deepEqual(done.map((d) => [d.added.selector, d.replaced.selector]), [['mr202603-2', 'mr202603'], ['mr202603e-2', 'mr202603e']]);
    assert.deepEqual(await states(at(2)), { mr202603: 'active', mr202603e: 'active', 'mr202603-2': 'pending', 'mr202603e-2': 'pending' });
    assert.deepEqual(await states(at(49)), { mr202603: 'retiring', mr202603e: 'retiring', 'mr202603-2': 'active', 'mr202603e-2': 'active' });
    assert.deepEqual(await states(at(49 + 7 * 24)), { mr202603: 'retired', mr202603e: 'retired', 'mr202603-2': 'active', 'mr202603e-2': 'active' });
    await assert.rejects(rotate(store, 'example.org', {}, TIMING, at(3)), /already pending \(mr202603-2\)/);
  });

  it('activate: the pending key signs now and the old one starts retiring now', async () => {
    await activate(store, 'example.org', 'mr202603-2', TIMING, at(5));
    assert.deepEqual(await states(at(5)), { mr202603: 'retiring', mr202603e: 'active', 'mr202603-2': 'active', 'mr202603e-2': 'pending' });
    const old = (await store.getDkimKey('example.org', 'mr202603'))!;
    assert.equal(old.retireAt?.getTime(), at(5 + 7 * 24).getTime());
    await assert.rejects(activate(store, 'example.org', 'mr202603-2', TIMING, at(6)), /is active, not pending/);
    await assert.rejects(activate(store, 'example.org', 'nope', TIMING, at(6)), /has no DKIM key nope/);
  });

  it('rotate --activate with one algorithm and a chosen selector', async () => {
    const [d] = await rotate(store, 'example.org', { algorithm: 'rsa-sha256', selector: 'Spring2026', activate: true }, TIMING, at(10));
    assert.equal(d!.added.selector, 'spring2026');
    assert.equal(dkimKeyState(d!.added, at(10)), 'active');
    assert.equal(dkimKeyState(d!.replaced, at(10)), 'retiring');
    await assert.rejects(rotate(store, 'example.org', { selector: 'x' }, TIMING, at(11)), /already pending|give --algorithm/);
  });
});

describe('mailroom dkim / dns (child process)', () => {
  let dir: string;
  let config: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'mailroom-dkim-cli-'));
    config = join(dir, 'mailroom.toml');
    writeFileSync(
      config,
      `hostname = "mx.example.org"\ndata_dir = ${JSON.stringify(join(dir, 'data'))}\npublic_addresses = ["192.0.2.25", "2001:db8::25"]\n` +
        `[listen]\nsmtp = "127.0.0.1:25"\nsubmission = "127.0.0.1:587"\nsubmissions = "127.0.0.1:465"\n[dns]\nservers = ["127.0.0.1:9"]\ntimeout = "200ms"\n`,
    );
  });
  after(() => rmSync(dir, { recursive: true, force: true }));
  const cli = (...args: string[]) => {
    const r = spawnSync(process.execPath, [MAIN, '--config', config, ...args], { encoding: 'utf8', timeout: 30_000 });
    return { code: r.status, out: r.stdout, err: r.stderr };
  };

  it('keygen, list, rotate, remove, with their errors', () => {
    assert.equal(cli('domain', 'add', 'example.org').code, 0);
    let r = cli('dkim', 'keygen', 'example.org', '--algorithm', 'ed25519', '--selector', 'ed1');
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /created DKIM key ed1 \(ed25519-sha256\) for example\.org/);
    assert.match(r.out, /^ed1\._domainkey\.example\.org\.\t3600\tIN\tTXT\t"v=DKIM1; k=ed25519; p=[A-Za-z0-9+/]{43}="$/m);
    r = cli('dkim', 'keygen', 'example.org');
    assert.equal(r.code, 0, r.err);
    // RSA 2048 record is longer than 255 octets: two quoted strings.
    assert.match(r.out, /IN\tTXT\t\( "v=DKIM1; k=rsa; p=[^"]{200,}"\n\t+"[^"]+" \)/);
    r = cli('dkim', 'list');
    assert.equal(r.code, 0);
    assert.match(r.out, /^DOMAIN +SELECTOR +ALG +STATE/);
    assert.match(r.out, /^example\.org +ed1 +ed25519 +active /m);

    assert.equal(cli('dkim', 'keygen', 'example.org', '--algorithm', 'dsa').code, 2);
    assert.equal(cli('dkim', 'keygen', 'example.org', '--bits', '1024').code, 2);
    assert.equal(cli('dkim', 'keygen', 'nope.example').code, 1);
    assert.match(cli('dkim', 'keygen', 'nope.example').err, /domain nope\.example is not configured/);
    assert.equal(cli('dkim', 'bogus').code, 2);
    const bad = cli('dkim', 'keygen', 'example.org', '--selector', 'bad sel!', '--algorithm', 'rsa');
    assert.equal(bad.code, 2);
    assert.match(bad.err, /invalid selector "bad sel!"/);

    r = cli('dkim', 'rotate', 'example.org', '--algorithm', 'ed25519', '--selector', 'ed2');
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /new DKIM key ed2 \(ed25519-sha256\) for example\.org: signs from \d{4}-/);
    assert.match(r.out, /old key ed1: stops signing at .*; keep its record until/);
    assert.match(cli('dkim', 'list', 'example.org').out, /^example\.org +ed2 +ed25519 +pending /m);
    r = cli('dkim', 'remove', 'example.org', 'ed1');
    assert.equal(r.code, 1);
    assert.match(r.err, /ed1 of example\.org is active: mail is signed with it; rotate first, or pass --force/);
    assert.equal(cli('dkim', 'activate', 'example.org', 'ed2').code, 0);
    assert.match(cli('dkim', 'list').out, /^example\.org +ed1 +ed25519 +retiring /m);
    assert.equal(cli('dkim', 'remove', 'example.org', 'ed1', '--force').code, 0);
    assert.doesNotMatch(cli('dkim', 'list').out, / ed1 /);
  });

  it('dns prints every record in zone syntax and as a table', () => {
    const r = cli('dns', 'example.org');
    assert.equal(r.code, 0, r.err);
    const out = r.out;
    assert.match(out, /^example\.org\.\t3600\tIN\tMX\t10 mx\.example\.org\.$/m);
    assert.match(out, /^example\.org\.\t3600\tIN\tTXT\t"v=spf1 mx ip4:192\.0\.2\.25 ip6:2001:db8::25 -all"$/m);
    assert.match(out, /^ed2\._domainkey\.example\.org\.\t3600\tIN\tTXT\t"v=DKIM1; k=ed25519; p=/m);
    assert.match(out, /^mr\d{6}\._domainkey\.example\.org\.\t3600\tIN\tTXT\t\( "v=DKIM1; k=rsa; /m);
    assert.match(out, /^_dmarc\.example\.org\.\t3600\tIN\tTXT\t"v=DMARC1; p=quarantine; rua=mailto:postmaster@example\.org; adkim=r; aspf=r"$/m);
    assert.match(out, /^_mta-sts\.example\.org\.\t3600\tIN\tTXT\t"v=STSv1; id=[0-9a-f]{20}"$/m);
    assert.match(out, /^_smtp\._tls\.example\.org\.\t3600\tIN\tTXT\t"v=TLSRPTv1; rua=mailto:postmaster@example\.org"$/m);
    assert.match(out, /^_submission\._tcp\.example\.org\.\t3600\tIN\tSRV\t0 1 587 mx\.example\.org\.$/m);
    assert.match(out, /^_submissions\._tcp\.example\.org\.\t3600\tIN\tSRV\t0 1 465 mx\.example\.org\.$/m);
    assert.match(out, /^_imap\._tcp\.example\.org\.\t3600\tIN\tSRV\t0 0 0 \.$/m);
    assert.match(out, /^_pop3s\._tcp\.example\.org\.\t3600\tIN\tSRV\t0 0 0 \.$/m);
    assert.match(out, /^;   mode: testing$/m);
    const t = cli('dns', 'example.org', '--format', 'table', '--mta-sts', 'enforce', '--dmarc', 'reject');
    assert.equal(t.code, 0, t.err);
    assert.match(t.out, /^NAME +TYPE +VALUE$/m);
    assert.match(t.out, /^_dmarc\.example\.org +TXT +v=DMARC1; p=reject;/m);
    assert.match(t.out, /^  mode: enforce$/m);
    assert.equal(cli('dns', 'example.org', '--format', 'json').code, 2);
    assert.equal(cli('dns').code, 2);
    assert.equal(cli('dns', 'other.example').code, 1);
  });

  it('TXT strings are at most 255 octets', () => {
    assert.deepEqual(txtStrings('a'.repeat(600)).map((s) => s.length), [255, 255, 90]);
    assert.deepEqual(txtStrings(''), ['']);
  });
});
