// Renders mailroom.example.toml from the schema table: every key with its doc
// and default. Keys are commented out, so a copy of the file behaves exactly
// like having no file — except [listen], whose SMTP line is live because in a
// configuration file a role that is left out is not started. The file in the
// repository is generated with `node src/cli/main.ts config example` and a
// test checks that it is up to date.

import { SCHEMA, SECTIONS, keyOf, sectionOf } from './schema.ts';
import type { SchemaEntry } from './schema.ts';

const HEADER = [
  '# Mailroom configuration.',
  '#',
  '# Copy this file to mailroom.toml (read from the working directory) or pass',
  '# `--config FILE` to any mailroom command. Every key is shown with its',
  '# default; commented-out keys keep that default. An unknown key or a bad value',
  '# stops the program with a message naming the key.',
  '#',
  '# Sizes are bytes: a number, or "512K", "50M", "2G", "1T" (1024-based).',
  '# Durations: "250ms", "30s", "5m", "1h", "2d", or combined like "1h30m".',
  '#',
  '# Generated from src/config/schema.ts by `node src/cli/main.ts config example`.',
];

export function renderExampleToml(): string {
  const lines: string[] = [...HEADER];
  for (const section of SECTIONS) {
    const entries = (SCHEMA as readonly SchemaEntry[]).filter((e) => sectionOf(e.path) === section.name);
    if (entries.length === 0) continue;
    lines.push('');
    if (section.name !== '') {
      for (const d of section.doc) lines.push(`# ${d}`);
      lines.push(`[${section.name}]`);
    }
    for (const [i, entry] of entries.entries()) {
      if (i > 0) lines.push('');
      lines.push(...renderEntry(entry));
    }
  }
  return lines.join('\n') + '\n';
}

function renderEntry(e: SchemaEntry): string[] {
  const out = [`# ${e.doc}`];
  for (const n of e.notes ?? []) out.push(`# ${n}`);
  out.push(`# Value: ${e.type.expected}.`);
  const key = keyOf(e.path);
  if (e.defaultWithoutFile !== undefined) {
    // Live line: copying the file gives the same listeners as having no file.
    out.push(`${key} = ${toToml(e.defaultWithoutFile)}`);
  } else if (e.dynamicDefault) {
    out.push(`# Default: ${e.dynamicDefault.shown}.`);
    out.push(`#${key} = ${toToml(e.example ?? '')}`);
  } else if (e.default === undefined) {
    out.push('# Default: not set.');
    out.push(`#${key} = ${toToml(e.example ?? '')}`);
  } else {
    out.push(`#${key} = ${toToml(e.default)}`);
  }
  return out;
}

function toToml(v: string | number | boolean | readonly unknown[]): string {
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return `[${v.map((x) => JSON.stringify(x)).join(', ')}]`;
  return JSON.stringify(v);
}
