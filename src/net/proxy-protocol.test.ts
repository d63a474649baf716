// The PROXY protocol parser (net/proxy-protocol.ts): the spec's examples for
// v1 and v2, every way a header can be wrong, byte-at-a-time input, and
// properties — arbitrary bytes never throw, and what we serialize parses
// back to the same addresses with the right length.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { isIPv6 } from 'node:net';
import { parseProxyHeader, serializeProxyV1, serializeProxyV2, V2_SIGNATURE, type ProxyHeader } from './proxy-protocol.ts';

function ok(buf: Buffer): { header: ProxyHeader; length: number } {
  const r = parseProxyHeader(buf);
  assert.equal(r.kind, 'ok', JSON.stringify(r));
  return r as { kind: 'ok'; header: ProxyHeader; length: number };
}

function err(buf: Buffer, re: RegExp): void {
  const r = parseProxyHeader(buf);
  assert.equal(r.kind, 'error', JSON.stringify(r));
  assert.match((r as { reason: string }).reason, re);
}

describe('PROXY protocol v1', () => {
  it('parses TCP4 and TCP6 lines and says how long the header was', () => {
    const line = 'PROXY TCP4 192.0.2.1 198.51.100.2 56324 25\r\n';
    const r = ok(Buffer.from(line + 'EHLO x\r\n'));
    assert.equal(r.length, line.length);
    assert.deepEqual(r.header, {
      version: 1,
      command: 'proxy',
      family: 'tcp4',
      source: { address: '192.0.2.1', port: 56324 },
      destination: { address: '198.51.100.2', port: 25 },
    });
    const r6 = ok(Buffer.from('PROXY TCP6 2001:db8::1 2001:db8::2 65535 0\r\n'));
    assert.deepEqual(r6.header.source, { address: '2001:db8::1', port: 65535 });
  });

  it('UNKNOWN means keep the real addresses, whatever follows', () => {
    assert.equal(ok(Buffer.from('PROXY UNKNOWN\r\n')).header.command, 'local');
    assert.equal(ok(Buffer.from('PROXY UNKNOWN ffff:f...f:ffff ffff:f...f:ffff 65535 65535\r\n')).header.command, 'local');
  });

  it('waits for more bytes, one at a time, until the CRLF', () => {
    const line = Buffer.from('PROXY TCP4 10.0.0.1 10.0.0.2 1 2\r\n');
    for (let i = 0; i < line.length; i++) assert.equal(parseProxyHeader(line.subarray(0, i)).kind, 'incomplete', `at ${i}`);
    assert.equal(parseProxyHeader(line).kind, 'ok');
  });

  it('refuses what the spec does not allow', () => {
    err(Buffer.from('EHLO client.example\r\n'), /no PROXY protocol header/);
    err(Buffer.from('PROXY TCP4 ' + '1'.repeat(120)), /longer than 107/);
    err(Buffer.from('PROXY TCP5 1.2.3.4 1.2.3.4 1 2\r\n'), /TCP4, TCP6 or UNKNOWN/);
    err(Buffer.from('PROXY TCP4 1.2.3.4 1.2.3.4 1\r\n'), /needs/);
    err(Buffer.from('PROXY TCP4 1.2.3.4  1.2.3.4 1 2\r\n'), /needs|not IPv4/);
    err(Buffer.from('PROXY TCP4 2001:db8::1 1.2.3.4 1 2\r\n'), /not IPv4/);
    err(Buffer.from('PROXY TCP6 1.2.3.4 2001:db8::1 1 2\r\n'), /not IPv6/);
    err(Buffer.from('PROXY TCP4 1.2.3.4 1.2.3.4 65536 2\r\n'), /ports/);
    err(Buffer.from('PROXY TCP4 1.2.3.4 1.2.3.4 025 2\r\n'), /leading zeros/);
    err(Buffer.from('PROXY TCP4 1.2.3.4 1.2.3.4 -1 2\r\n'), /ports/);
    // A bare LF does not end the line: it waits for CRLF, then gives up at 107 bytes.
    assert.equal(parseProxyHeader(Buffer.from('PROXY TCP4 1.2.3.4 1.2.3.4 1 2\n')).kind, 'incomplete');
    err(Buffer.from('PROXY TCP4 1.2.3.4 1.2.3.4 1 2\nEHLO ' + 'x'.repeat(100)), /longer than 107/);
    err(Buffer.from('PROXY TCP4 1.2.3.4\t1.2.3.4 1 2\r\n'), /non-printable/);
    err(Buffer.from('PROXY TCP6 fe80::1%eth0 fe80::2 1 2\r\n'), /zone id|not IPv6/);
  });
});

describe('PROXY protocol v2', () => {
  it('parses IPv4 and IPv6 PROXY headers, skipping TLVs', () => {
    const tlv = Buffer.from([0x04, 0x00, 0x02, 0xab, 0xcd]); // PP2_TYPE_NOOP-ish, skipped
    const h4 = serializeProxyV2(
      { command: 'proxy', family: 'tcp4', source: { address: '203.0.113.7', port: 40000 }, destination: { address: '10.0.0.1', port: 587 } },
      tlv,
    );
    const r = ok(Buffer.concat([h4, Buffer.from('EHLO')]));
    assert.equal(r.length, h4.length);
    assert.deepEqual(r.header.source, { address: '203.0.113.7', port: 40000 });
    assert.deepEqual(r.header.destination, { address: '10.0.0.1', port: 587 });
    const h6 = serializeProxyV2({
      command: 'proxy',
      family: 'tcp6',
      source: { address: '2001:db8::7', port: 1 },
      destination: { address: '::ffff:10.0.0.1', port: 25 },
    });
    const r6 = ok(h6);
    assert.equal(r6.header.family, 'tcp6');
    assert.equal(r6.header.source!.address, '2001:db8::7');
    assert.ok(isIPv6(r6.header.destination!.address));
  });

  it('LOCAL (health checks) and UNSPEC keep the real addresses', () => {
    const local = serializeProxyV2({ command: 'local', family: 'unspec', source: null, destination: null });
    assert.deepEqual(ok(local).header, { version: 2, command: 'local', family: 'unspec', source: null, destination: null });
    // LOCAL with an address block: ignored (§2.2).
    const withAddr = serializeProxyV2({ command: 'proxy', family: 'tcp4', source: { address: '1.2.3.4', port: 1 }, destination: { address: '5.6.7.8', port: 2 } });
    withAddr[12] = 0x20;
    assert.equal(ok(withAddr).header.command, 'local');
  });

  it('waits for the whole header, byte by byte', () => {
    const h = serializeProxyV2({ command: 'proxy', family: 'tcp6', source: { address: '2001:db8::1', port: 9 }, destination: { address: '2001:db8::2', port: 10 } });
    for (let i = 0; i < h.length; i++) assert.equal(parseProxyHeader(h.subarray(0, i)).kind, 'incomplete', `at ${i}`);
    assert.equal(parseProxyHeader(h).kind, 'ok');
  });

  it('refuses bad versions, commands, families, transports, short blocks and huge headers', () => {
    const base = serializeProxyV2({ command: 'proxy', family: 'tcp4', source: { address: '1.2.3.4', port: 1 }, destination: { address: '5.6.7.8', port: 2 } });
    const edit = (i: number, v: number) => {
      const b = Buffer.from(base);
      b[i] = v;
      return b;
    };
    err(edit(12, 0x11), /version nibble is 1/);
    err(edit(12, 0x22), /command 2/);
    err(edit(13, 0x41), /family 4/);
    err(edit(13, 0x13), /transport 3/);
    err(edit(13, 0x12), /STREAM/);
    const short = Buffer.from(base);
    short.writeUInt16BE(8, 14);
    err(short.subarray(0, 24), /shorter than 12/);
    const huge = Buffer.from(base);
    huge.writeUInt16BE(60000, 14);
    err(huge, /larger than/);
    const six = edit(13, 0x21);
    err(six, /shorter than 36/);
  });
});

describe('PROXY protocol properties', () => {
  it('arbitrary bytes never throw and never claim more than they hold', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.boolean(), (bytes, v2) => {
        const buf = Buffer.from(v2 ? Buffer.concat([V2_SIGNATURE, bytes]) : Buffer.concat([Buffer.from('PROXY '), bytes]));
        const r = parseProxyHeader(buf);
        if (r.kind === 'ok') assert.ok(r.length <= buf.length && r.length > 0);
      }),
      { numRuns: 2000 },
    );
  });

  it('serialized headers parse back (v1 and v2, IPv4 and IPv6)', () => {
    const endpoint4 = fc.record({ address: fc.ipV4(), port: fc.integer({ min: 0, max: 65535 }) });
    const endpoint6 = fc.record({ address: fc.ipV6(), port: fc.integer({ min: 0, max: 65535 }) });
    fc.assert(
      fc.property(
        fc.oneof(
          fc.record({ family: fc.constant('tcp4' as const), source: endpoint4, destination: endpoint4 }),
          fc.record({ family: fc.constant('tcp6' as const), source: endpoint6, destination: endpoint6 }),
        ),
        fc.boolean(),
        fc.uint8Array({ maxLength: 20 }),
        (h, v2, trailing) => {
          const head = v2 ? serializeProxyV2({ command: 'proxy', ...h }) : serializeProxyV1(h);
          const r = parseProxyHeader(Buffer.concat([head, trailing]));
          assert.equal(r.kind, 'ok');
          if (r.kind !== 'ok') return;
          assert.equal(r.length, head.length);
          assert.equal(r.header.family, h.family);
          assert.equal(r.header.source!.port, h.source.port);
          // Same address, whatever its spelling (v2 gives canonical IPv6 text).
          const canon = (a: string) => (h.family === 'tcp6' ? new URL(`http://[${a}]/`).hostname : a);
          assert.equal(canon(r.header.source!.address), canon(h.source.address));
          assert.equal(canon(r.header.destination!.address), canon(h.destination.address));
        },
      ),
      { numRuns: 1000 },
    );
  });
});
