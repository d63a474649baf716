// When the store cannot take a message the client is told to try later, with
// the right code: 452 4.3.1 for a full disk, 451 4.3.0 for any other storage
// failure. Nothing is acknowledged and the session stays usable.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RawSmtp } from '../helpers/smtp-client.ts';
import { inbox, startTestServer, type TestServer } from '../helpers/server.ts';
import { StoreError, type Store } from '../../src/store/store.ts';

let fault: StoreError | Error | null = null;

function faulty(store: Store): Store {
  return new Proxy(store, {
    get(target, prop, receiver) {
      if (prop === 'deliver') {
        return (req: Parameters<Store['deliver']>[0]) => (fault ? Promise.reject(fault) : target.deliver(req));
      }
      const v = Reflect.get(target, prop, receiver);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
}

async function send(ts: TestServer): Promise<string> {
  const c = await RawSmtp.connect(ts.port);
  await c.reply();
  await c.cmd('EHLO client.example');
  await c.cmd('MAIL FROM:<a@sender.example>');
  await c.cmd('RCPT TO:<u@example.org>');
  await c.cmd('DATA');
  c.write('Subject: x\r\n\r\nbody\r\n.\r\n');
  const r = await c.reply();
  assert.equal((await c.cmd('NOOP')).code, 250, 'session still usable');
  c.close();
  return r.text;
}

describe('storage failures', () => {
  let ts: TestServer;
  before(async () => {
    ts = await startTestServer({ users: { 'u@example.org': 'pw' }, wrapStore: faulty });
  });
  after(() => ts.stop());

  it('answers 452 4.3.1 when the disk is full', async () => {
    fault = new StoreError('disk_full', 'ENOSPC');
    assert.match(await send(ts), /^452 4\.3\.1/);
  });

  it('answers 451 4.3.0 for other storage failures', async () => {
    fault = new StoreError('unavailable', 'I/O error');
    assert.match(await send(ts), /^451 4\.3\.0/);
    fault = new Error('unexpected');
    assert.match(await send(ts), /^451 4\.3\.0/);
  });

  it('stores again once the fault is gone, with nothing from the failed attempts', async () => {
    fault = null;
    assert.match(await send(ts), /^250/);
    assert.equal((await inbox(ts, 'u@example.org')).length, 1);
  });
});
