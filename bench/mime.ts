// MIME parsing throughput: summarize N messages (default 10,000) the way
// delivery and APPEND do (summarizeMessage + serializeSummary), then the FETCH
// side (parseSummary + BODYSTRUCTURE + ENVELOPE) and SEARCH text extraction,
// over a mix of shapes: a plain 2 KB text message, multipart/alternative
// (text + HTML), multipart/mixed with a 100 KB base64 attachment, and a
// forwarded message/rfc822 in a multipart. Prints one line per step.
//
// Run: node bench/mime.ts [--messages 10000]

import { parseArgs } from 'node:util';
import { summarizeMessage, serializeSummary, parseSummary, searchableText } from '../src/message/mime/index.ts';
import { serializeBodyStructure } from '../src/imap/protocol/body-structure.ts';
import { serializeEnvelope } from '../src/imap/protocol/envelope.ts';

const { values } = parseArgs({ options: { messages: { type: 'string', default: '10000' } } });
const n = Number(values.messages);

function header(i: number, extra: string): string {
  return (
    `Return-Path: <sender${i}@example.com>\r\n` +
    `Received: from mx.example.com (mx.example.com [192.0.2.1]) by mail.example.org with ESMTPS id ${i}; Sat, 28 Nov 2026 00:00:00 +0000\r\n` +
    `From: =?UTF-8?Q?Sender_N=C2=B0${i}?= <sender${i}@example.com>\r\n` +
    `To: "User One" <user1@example.org>, user2@example.org\r\n` +
    `Subject: Message number ${i} =?UTF-8?B?w6nDqMOg?=\r\n` +
    `Date: Sat, 28 Nov 2026 00:00:00 +0000\r\n` +
    `Message-ID: <${i}.bench@example.com>\r\n` +
    `MIME-Version: 1.0\r\n` +
    extra
  );
}

const para = 'The quick brown fox jumps over the lazy dog. '.repeat(2) + '\r\n';
const text2k = para.repeat(Math.ceil(2048 / para.length));
const attachment = Buffer.alloc(100 * 1024, 7).toString('base64').replace(/.{76}/g, '$&\r\n');

function message(i: number): Buffer {
  switch (i % 4) {
    case 0:
      return Buffer.from(header(i, 'Content-Type: text/plain; charset=utf-8\r\n\r\n') + text2k);
    case 1:
      return Buffer.from(
        header(i, 'Content-Type: multipart/alternative; boundary="alt"\r\n\r\n') +
          `--alt\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n${text2k}\r\n` +
          `--alt\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<html><body><p>${text2k}</p></body></html>\r\n--alt--\r\n`,
      );
    case 2:
      return Buffer.from(
        header(i, 'Content-Type: multipart/mixed; boundary="mix"\r\n\r\n') +
          `--mix\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n${text2k}\r\n` +
          `--mix\r\nContent-Type: application/pdf; name="report.pdf"\r\nContent-Disposition: attachment; filename*=UTF-8''r%C3%A9port.pdf\r\nContent-Transfer-Encoding: base64\r\n\r\n${attachment}\r\n--mix--\r\n`,
      );
    default:
      return Buffer.from(
        header(i, 'Content-Type: multipart/mixed; boundary="fwd"\r\n\r\n') +
          `--fwd\r\nContent-Type: text/plain\r\n\r\nSee below.\r\n` +
          `--fwd\r\nContent-Type: message/rfc822\r\n\r\n${header(i + 1, 'Content-Type: text/plain\r\n\r\n')}${text2k}\r\n--fwd--\r\n`,
      );
  }
}

const msgs = Array.from({ length: n }, (_, i) => message(i));
const bytes = msgs.reduce((s, m) => s + m.length, 0);

// Wall time, and CPU time of this process (less sensitive to a busy machine).
function step(name: string, fn: () => void): void {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  fn();
  const ms = performance.now() - t0;
  const c = process.cpuUsage(c0);
  const cpuMs = (c.user + c.system) / 1000;
  console.log(
    `${name.padEnd(46)} ${ms.toFixed(0).padStart(6)} ms  ${((n / ms) * 1000).toFixed(0).padStart(7)} msg/s  ${(bytes / 1048576 / (ms / 1000)).toFixed(0).padStart(5)} MB/s  (CPU ${cpuMs.toFixed(0)} ms)`,
  );
}

console.log(`${n} messages, ${(bytes / 1048576).toFixed(1)} MB (plain, alternative, 100 KB attachment, forwarded; 1/4 each)`);
const stored: string[] = [];
step('summarizeMessage + serializeSummary (delivery)', () => {
  for (const m of msgs) stored.push(serializeSummary(summarizeMessage(m)));
});
console.log(`${''.padEnd(46)} meta: ${(stored.reduce((s, x) => s + x.length, 0) / n).toFixed(0)} bytes/message on average`);
step('parseSummary + ENVELOPE + BODYSTRUCTURE (FETCH)', () => {
  for (const s of stored) {
    const p = parseSummary(s)!;
    serializeEnvelope(p.envelope);
    serializeBodyStructure(p.body, { extensible: true });
  }
});
step('searchableText (SEARCH TEXT)', () => {
  for (let i = 0; i < n; i++) searchableText(msgs[i]!, parseSummary(stored[i]!)!);
});
