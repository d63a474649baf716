// Limits and timeouts with their reply codes: connections in total and per
// IP (421 4.7.0), command timeout and a trickling client (421 4.4.2), DATA
// minimum rate, junk commands, and graceful shutdown (421 4.3.2).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RawSmtp } from '../helpers/smtp-client.ts';
import { inbox, startTestServer } from '../helpers/server.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('limits and timeouts', () => {
  it('refuses connections past the per-IP limit with 421 4.7.0', async () => {
    const ts = await startTestServer({ toml: '[limits]\nconnections_per_ip = 2\n' });
    try {
      const a = await RawSmtp.connect(ts.port);
      const b = await RawSmtp.connect(ts.port);
      assert.equal((await a.reply()).code, 220);
      assert.equal((await b.reply()).code, 220);
      const c = await RawSmtp.connect(ts.port);
      assert.match((await c.reply()).text, /^421 4\.7\.0/);
      await c.closed();
      a.close();
      await sleep(50);
      const d = await RawSmtp.connect(ts.port);
      assert.equal((await d.reply()).code, 220, 'a freed slot is reusable');
      b.close();
      d.close();
    } finally {
      await ts.stop();
    }
  });

  it('refuses connections past the total limit with 421 4.7.0', async () => {
    const ts = await startTestServer({ toml: '[limits]\nconnections = 1\n' });
    try {
      const a = await RawSmtp.connect(ts.port);
      assert.equal((await a.reply()).code, 220);
      const b = await RawSmtp.connect(ts.port);
      assert.match((await b.reply()).text, /^421 4\.7\.0/);
      a.close();
    } finally {
      await ts.stop();
    }
  });

  it('cuts off a client that trickles a command a byte at a time (421 4.4.2)', async () => {
    const ts = await startTestServer({ toml: '[timeouts]\ncommand = "400ms"\n' });
    try {
      const c = await RawSmtp.connect(ts.port);
      await c.reply();
      const started = Date.now();
      for (const ch of 'EHLO slow.example') {
        if (c.ended || c.pending) break;
        c.write(ch);
        await sleep(60);
      }
      assert.match((await c.reply()).text, /^421 4\.4\.2/);
      assert.ok(Date.now() - started < 1500, 'deadline is per command, not per read');
      await c.closed();
    } finally {
      await ts.stop();
    }
  });

  it('cuts off a DATA transfer below the minimum rate (421 4.4.2) and stores nothing', async () => {
    const ts = await startTestServer({ users: { 'u@example.org': 'pw' }, toml: '[timeouts]\ndata_min_rate = 1000\ndata_rate_grace = "200ms"\n' });
    try {
      const c = await RawSmtp.connect(ts.port);
      await c.reply();
      await c.cmd('EHLO slow.example');
      await c.cmd('MAIL FROM:<s@slow.example>');
      await c.cmd('RCPT TO:<u@example.org>');
      await c.cmd('DATA');
      for (let i = 0; i < 30 && !c.ended && !c.pending; i++) {
        c.write('x');
        await sleep(50);
      }
      assert.match((await c.reply()).text, /^421 4\.4\.2/);
      assert.equal((await inbox(ts, 'u@example.org')).length, 0);
    } finally {
      await ts.stop();
    }
  });

  it('refuses a message with a text line over limits.text_line (550 5.5.2), and stores nothing', async () => {
    const ts = await startTestServer({ users: { 'u@example.org': 'pw' }, toml: '[limits]\ntext_line = 1000\n' });
    try {
      const c = await RawSmtp.connect(ts.port);
      await c.reply();
      await c.cmd('EHLO long.example');
      await c.cmd('MAIL FROM:<s@long.example>');
      await c.cmd('RCPT TO:<u@example.org>');
      await c.cmd('DATA');
      c.write('Subject: long line\r\n\r\n' + 'x'.repeat(998) + '\r\n.\r\n'); // 1000 octets with CRLF: allowed
      assert.equal((await c.reply()).code, 250);
      await c.cmd('MAIL FROM:<s@long.example>');
      await c.cmd('RCPT TO:<u@example.org>');
      await c.cmd('DATA');
      c.write('Subject: too long\r\n\r\n' + 'x'.repeat(999) + '\r\n.\r\n'); // 1001 octets
      assert.match((await c.reply()).text, /^550 5\.5\.2 .*line/);
      assert.equal((await c.cmd('NOOP')).code, 250, 'the session goes on');
      c.close();
      assert.equal((await inbox(ts, 'u@example.org')).length, 1);
    } finally {
      await ts.stop();
    }
  });

  it('ends a session that outlives timeouts.session, whatever it does (421 4.4.2)', async () => {
    const ts = await startTestServer({ toml: '[timeouts]\nsession = "600ms"\n' });
    try {
      const c = await RawSmtp.connect(ts.port);
      await c.reply();
      const started = Date.now();
      let last = 0;
      // Keep the session busy; the 421 may already be waiting when the connection is closed.
      while (Date.now() - started < 3000) {
        const r = await c.cmd('NOOP').catch(() => null);
        if (!r) break;
        last = r.code;
        if (r.code === 421) {
          assert.match(r.text, /^421 4\.4\.2/);
          break;
        }
        await sleep(50);
      }
      assert.equal(last, 421);
      assert.ok(Date.now() - started < 2000);
    } finally {
      await ts.stop();
    }
  });

  it('closes after too many junk commands (421 4.7.0)', async () => {
    const ts = await startTestServer({ toml: '[limits]\njunk_commands = 3\n' });
    try {
      const c = await RawSmtp.connect(ts.port);
      await c.reply();
      c.write('FOO\r\nBAR\r\nBAZ\r\nQUX\r\n');
      const codes = [(await c.reply()).code, (await c.reply()).code, (await c.reply()).code];
      assert.deepEqual(codes, [500, 500, 500]);
      assert.match((await c.reply()).text, /^421 4\.7\.0/);
      await c.closed();
    } finally {
      await ts.stop();
    }
  });

  it('shuts down gracefully: idle sessions get 421 4.3.2, DATA in flight finishes', async () => {
    const ts = await startTestServer({ users: { 'u@example.org': 'pw' }, toml: '[timeouts]\nshutdown_grace = "5s"\n' });
    const idle = await RawSmtp.connect(ts.port);
    await idle.reply();
    const busy = await RawSmtp.connect(ts.port);
    await busy.reply();
    await busy.cmd('EHLO busy.example');
    await busy.cmd('MAIL FROM:<s@busy.example>');
    await busy.cmd('RCPT TO:<u@example.org>');
    await busy.cmd('DATA');
    busy.write('Subject: in flight\r\n\r\nfirst half\r\n');
    const closing = ts.server.close('test');
    assert.match((await idle.reply()).text, /^421 4\.3\.2/);
    await sleep(100);
    busy.write('second half\r\n.\r\n');
    assert.equal((await busy.reply()).code, 250, 'the transaction in DATA completes');
    assert.match((await busy.reply()).text, /^421 4\.3\.2/);
    await closing;
    await ts.stop();
  });
});
