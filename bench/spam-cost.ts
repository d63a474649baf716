// What spam scoring costs the server per message, measured as CPU time (robust
// on a busy machine, unlike msg/s): the same N bench messages (10 KB, from
// bench/smtp-load.ts buildMessage) are sent over S pipelining-free sessions to
// an in-process server with [spam] on and to one with it off (rate limits off
// in both), and the process's CPU time per message is compared. Client and
// server share the process, so the difference is the filter's cost.
//
// Run: node bench/spam-cost.ts [--messages 600] [--sessions 10]

import { parseArgs } from 'node:util';
import { startTestServer } from '../test/helpers/server.ts';
import { RawSmtp } from '../test/helpers/smtp-client.ts';
import { buildMessage } from './smtp-load.ts';

async function run(spam: boolean, messages: number, sessions: number): Promise<{ cpuMsPerMessage: number; wallMs: number }> {
  const ts = await startTestServer({ toml: `[spam]\nenabled = ${spam}\n[rate_limit]\nenabled = false\n`, users: { 'user1@example.org': 'pw' } });
  try {
    const m = buildMessage({ size: 10 * 1024, from: 'load@remote.example', to: 'user1@example.org' });
    const data = m.data; // dot-stuffed, ends with CRLF.CRLF
    const per = Math.ceil(messages / sessions);
    const one = async () => {
      const c = await RawSmtp.connect(ts.port);
      await c.reply();
      await c.cmd('EHLO load.example');
      for (let i = 0; i < per; i++) {
        await c.cmd('MAIL FROM:<load@remote.example>');
        await c.cmd('RCPT TO:<user1@example.org>');
        await c.cmd('DATA');
        c.write(data);
        const r = await c.reply();
        if (r.code !== 250) throw new Error(`refused: ${r.code} ${r.lines.join(' ')}`);
      }
      c.close();
    };
    await Promise.all(Array.from({ length: 2 }, one)); // warm-up
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await Promise.all(Array.from({ length: sessions }, one));
    const cpu = process.cpuUsage(cpu0);
    return { cpuMsPerMessage: (cpu.user + cpu.system) / 1000 / (per * sessions), wallMs: performance.now() - t0 };
  } finally {
    await ts.stop();
  }
}

if (import.meta.main) {
  const { values } = parseArgs({ options: { messages: { type: 'string', default: '600' }, sessions: { type: 'string', default: '10' } } });
  const n = Number(values.messages);
  const s = Number(values.sessions);
  const rows: Array<[string, Awaited<ReturnType<typeof run>>]> = [];
  // Alternate, twice each, so drifting machine load hits both alike.
  for (const spam of [false, true, false, true]) rows.push([spam ? 'spam on' : 'spam off', await run(spam, n, s)]);
  for (const [name, r] of rows) console.log(`${name.padEnd(9)} ${r.cpuMsPerMessage.toFixed(3)} ms CPU/message (client + server), ${r.wallMs.toFixed(0)} ms wall`);
  const avg = (name: string) => rows.filter((r) => r[0] === name).reduce((a, r) => a + r[1].cpuMsPerMessage, 0) / 2;
  console.log(`spam scoring: +${(avg('spam on') - avg('spam off')).toFixed(3)} ms CPU per message (${((avg('spam on') / avg('spam off') - 1) * 100).toFixed(0)}%)`);
}
