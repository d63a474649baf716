// Checks mailroom.example.toml against the schema: it is the generated text,
// names every key, parses, and gives the same configuration as no file.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { SCHEMA, keyOf, sectionOf } from './schema.ts';
import { renderExampleToml } from './example.ts';
import { defaultConfig, parseConfig } from './load.ts';

const text = readFileSync(new URL('../../mailroom.example.toml', import.meta.url), 'utf8');

test('mailroom.example.toml is up to date (regenerate: node src/cli/main.ts config example > mailroom.example.toml)', () => {
  assert.equal(text, renderExampleToml());
});

test('every schema key appears in its section of the example', () => {
  let section = '';
  const seen = new Set<string>();
  for (const line of text.split('\n')) {
    const header = /^\[([a-z_.0-9]+)\]$/.exec(line);
    if (header) section = header[1];
    const key = /^#?([a-z_0-9]+) = /.exec(line);
    if (key) seen.add(section ? `${section}.${key[1]}` : key[1]);
  }
  for (const e of SCHEMA) {
    assert.ok(seen.has(e.path), `${e.path} (key ${keyOf(e.path)} in [${sectionOf(e.path)}]) missing from mailroom.example.toml`);
  }
});

test('the example parses, and copied as is it gives the defaults', () => {
  assert.deepEqual(parseConfig(text, 'mailroom.example.toml'), defaultConfig());
});

test('uncommenting every key gives the same defaults (hostname aside)', () => {
  const uncommented = text.replace(/^#([a-z_]+ = )/gm, '$1');
  const c = parseConfig(uncommented, 'mailroom.example.toml');
  assert.deepEqual({ ...c, hostname: '' }, { ...defaultConfig(), hostname: '' });
});
