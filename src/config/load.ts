// Reads the TOML configuration file and turns it into a validated, fully
// defaulted Config, driven by the table in schema.ts. Every problem (TOML
// syntax, unknown key, wrong type, value out of range) is a ConfigError whose
// message starts with the file name and the key path, e.g.
// `mailroom.toml: limits.recipients: expected a whole number ≥ 100, got "x"`.
// With no file at all the built-in defaults apply, including an SMTP listener
// on 0.0.0.0:2525 so that `npm start` works without root.

import { existsSync, readFileSync } from 'node:fs';
import { TomlError, parse } from 'smol-toml';
import type { Config } from './types.ts';
import { SCHEMA, SCHEMA_BY_PATH } from './schema.ts';
import type { SchemaEntry } from './schema.ts';
import { UnitError, show } from './units.ts';

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** The file read when no path is given, if it exists. */
export const DEFAULT_CONFIG_PATH = './mailroom.toml';

/** Which file `loadConfig(path)` reads: the path given, else ./mailroom.toml
 * if it exists, else undefined (built-in defaults). */
export function resolveConfigPath(path: string | undefined): string | undefined {
  if (path !== undefined) return path;
  return existsSync(DEFAULT_CONFIG_PATH) ? DEFAULT_CONFIG_PATH : undefined;
}

/** Loads the configuration file at `path` (see resolveConfigPath). Throws ConfigError. */
export function loadConfig(path: string | undefined): Config {
  const file = resolveConfigPath(path);
  if (file === undefined) return defaultConfig();
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const why = e.code === 'ENOENT' ? 'no such file' : e.code === 'EISDIR' ? 'is a directory' : e.code === 'EACCES' ? 'permission denied' : e.message;
    throw new ConfigError(`${file}: cannot read the configuration file: ${why}`);
  }
  return parseConfig(text, file);
}

/** The configuration used when there is no configuration file at all. */
export function defaultConfig(): Config {
  return build({}, 'built-in defaults', true);
}

/** Parses and validates configuration text; `sourceName` starts every error message. */
export function parseConfig(tomlText: string, sourceName: string): Config {
  let doc: Record<string, unknown>;
  try {
    doc = parse(tomlText);
  } catch (err) {
    if (err instanceof TomlError) {
      const first = err.message.split('\n')[0].replace(/^Invalid TOML document: /, '');
      throw new ConfigError(`${sourceName}: line ${err.line}, column ${err.column}: ${first}`);
    }
    throw err;
  }
  return build(doc, sourceName, false);
}

function build(doc: Record<string, unknown>, source: string, noFile: boolean): Config {
  checkKeys(doc, '', source);
  const out: Record<string, unknown> = {};
  for (const entry of SCHEMA as readonly SchemaEntry[]) {
    ensureSection(out, entry.path);
    const given = lookup(doc, entry.path);
    let raw: unknown;
    if (given !== undefined) raw = given;
    else if (noFile && entry.defaultWithoutFile !== undefined) raw = entry.defaultWithoutFile;
    else if (entry.dynamicDefault) raw = entry.dynamicDefault.get();
    else raw = entry.default;
    if (raw === undefined) continue; // e.g. a listen role that is not started
    let value: unknown;
    try {
      value = entry.type.parse(raw);
    } catch (err) {
      if (!(err instanceof UnitError)) throw err;
      if (given === undefined) {
        // A default that does not validate (e.g. an odd os.hostname()): say so plainly.
        throw new ConfigError(`${source}: ${entry.path}: the default ${show(raw)} is not valid (${err.message}); set ${entry.path} explicitly`);
      }
      throw new ConfigError(`${source}: ${entry.path}${err.at}: ${err.message}`);
    }
    set(out, entry.path, value);
  }
  return out as unknown as Config;
}

/** Rejects keys that are not in the schema and sections that are not tables. */
function checkKeys(table: Record<string, unknown>, prefix: string, source: string): void {
  for (const [key, value] of Object.entries(table)) {
    const path = prefix + key;
    if (SCHEMA_BY_PATH.has(path)) continue; // the value is checked by its type
    const isSection = SCHEMA.some((e) => e.path.startsWith(path + '.'));
    if (!isSection) {
      const guess = suggest(path);
      throw new ConfigError(`${source}: ${path}: unknown key${guess ? ` (did you mean ${guess}?)` : ''}`);
    }
    if (!isTable(value)) throw new ConfigError(`${source}: ${path}: expected a table ([${path}]), got ${show(value)}`);
    checkKeys(value, path + '.', source);
  }
}

function isTable(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === null || proto === Object.prototype; // smol-toml makes null-prototype tables
}

function lookup(doc: Record<string, unknown>, path: string): unknown {
  let cur: unknown = doc;
  for (const part of path.split('.')) {
    if (!isTable(cur) || !Object.hasOwn(cur, part)) return undefined;
    cur = cur[part];
  }
  return cur;
}

function ensureSection(out: Record<string, unknown>, path: string): void {
  const parts = path.split('.');
  let cur = out;
  for (const part of parts.slice(0, -1)) {
    cur[part] ??= {};
    cur = cur[part] as Record<string, unknown>;
  }
}

function set(out: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.split('.');
  let cur = out;
  for (const part of parts.slice(0, -1)) cur = cur[part] as Record<string, unknown>;
  cur[parts[parts.length - 1]] = value;
}

/** The closest known key in the same table, for "did you mean": a typo of
 * at most one edit per three characters (so `imap` does not suggest `smtp`). */
function suggest(path: string): string | undefined {
  const dot = path.lastIndexOf('.');
  const parent = dot < 0 ? '' : path.slice(0, dot + 1);
  const name = path.slice(dot + 1);
  const siblings = new Set<string>();
  for (const e of SCHEMA) {
    if (!e.path.startsWith(parent)) continue;
    siblings.add(e.path.slice(parent.length).split('.')[0]);
  }
  let best: string | undefined;
  let bestDist = Math.min(3, Math.max(1, Math.floor(name.length / 3))) + 1;
  for (const s of siblings) {
    const d = distance(name, s);
    if (d < bestDist) {
      bestDist = d;
      best = parent + s;
    }
  }
  return best;
}

function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return row[b.length];
}
