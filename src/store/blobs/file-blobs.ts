// Message bytes too large to keep inline in the database, stored as files
// named by their sha256 under `<root>/ab/cd/<sha256>`. A write is durable and
// atomic before it returns: temp file in `<root>/tmp` (same file system) →
// fsync → rename into place → fsync the directory (and the parents of any
// directory just created). The caller commits the rows that reference a blob
// only after write() resolves, so a crash leaves at most an orphan temp or
// blob file, never a row pointing at missing or half-written bytes.

import { mkdir, open, readdir, readFile, rename, rm, stat, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { StoreError } from '../store.ts';
import { toStoreError } from '../errors.ts';

const ID = /^[0-9a-f]{64}$/;

export interface FileBlobsOptions {
  now?: () => Date;
  /** Temp files older than this are leftovers of a crash and are removed at open. */
  sweepTempOlderThanMs?: number;
}

export async function fsyncDir(path: string): Promise<void> {
  const fh = await open(path, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

function errCode(err: unknown): unknown {
  return (err as { code?: unknown } | null)?.code;
}

export class FileBlobs {
  readonly root: string;
  readonly #tmp: string;
  /** Directories known to exist with their own entry fsynced in the parent. */
  readonly #dirs = new Map<string, Promise<void>>();
  /** Writes in progress, so identical concurrent content is written once. */
  readonly #writing = new Map<string, Promise<void>>();

  constructor(root: string) {
    this.root = root;
    this.#tmp = join(root, 'tmp');
  }

  /** Creates the layout (durably) and sweeps crash leftovers from tmp/. */
  static async open(root: string, opts: FileBlobsOptions = {}): Promise<FileBlobs> {
    const fb = new FileBlobs(root);
    try {
      await fb.#ensureDir(fb.#tmp);
      await fb.sweepTemp((opts.now ?? (() => new Date()))(), opts.sweepTempOlderThanMs ?? 3600_000);
    } catch (err) {
      throw toStoreError(err, `opening blob directory ${root}`);
    }
    return fb;
  }

  path(id: string): string {
    if (!ID.test(id)) throw new StoreError('invalid', `invalid blob id: ${JSON.stringify(id)}`);
    return join(this.root, id.slice(0, 2), id.slice(2, 4), id);
  }

  /** Removes temp files last modified before now − maxAge. Younger ones may
   * belong to a write in progress (ours, or another process's). */
  async sweepTemp(now: Date, maxAgeMs: number): Promise<number> {
    let removed = 0;
    for (const name of await readdir(this.#tmp)) {
      const p = join(this.#tmp, name);
      try {
        const st = await stat(p);
        if (st.isFile() && now.getTime() - st.mtimeMs > maxAgeMs) {
          await unlink(p);
          removed++;
        }
      } catch (err) {
        if (errCode(err) !== 'ENOENT') throw err; // swept by another process
      }
    }
    return removed;
  }

  async exists(id: string): Promise<boolean> {
    try {
      await stat(this.path(id));
      return true;
    } catch (err) {
      if (errCode(err) === 'ENOENT') return false;
      throw toStoreError(err, 'checking blob');
    }
  }

  /** Stores the bytes under `id` (the caller's sha256 of them) durably.
   * An existing file with that id is reused: it was renamed into place only
   * after being complete and fsynced. */
  write(id: string, pieces: readonly Buffer[]): Promise<void> {
    const pending = this.#writing.get(id);
    if (pending) return pending;
    const p = this.#write(id, pieces).finally(() => this.#writing.delete(id));
    this.#writing.set(id, p);
    return p;
  }

  async #write(id: string, pieces: readonly Buffer[]): Promise<void> {
    const final = this.path(id);
    if (await this.exists(id)) {
      // Complete (renamed into place only after fsync), but its directory
      // entries may come from a process that died before fsyncing them.
      try {
        await this.#ensureDir(dirname(final));
        await fsyncDir(dirname(final));
      } catch (err) {
        throw toStoreError(err, 'syncing blob directory');
      }
      return;
    }
    const tmp = join(this.#tmp, `${id.slice(0, 16)}.${process.pid}.${randomBytes(6).toString('hex')}`);
    try {
      const fh = await open(tmp, 'wx', 0o640);
      try {
        await writeAll(fh, pieces);
        // fdatasync flushes the data and the size, which is all a new file needs.
        await fh.datasync();
      } finally {
        await fh.close();
      }
      await this.#ensureDir(dirname(final));
      await rename(tmp, final);
      // The rename is durable only once the directory entry is.
      await fsyncDir(dirname(final));
    } catch (err) {
      await rm(tmp, { force: true }).catch(() => {});
      throw toStoreError(err, 'writing blob');
    }
  }

  async read(id: string): Promise<Buffer> {
    try {
      return await readFile(this.path(id));
    } catch (err) {
      // A referenced blob file that is missing is damage, not a bad request.
      throw toStoreError(err, `reading blob ${id}`);
    }
  }

  /** For the garbage collector: only after the rows referencing it are gone. */
  async remove(id: string): Promise<void> {
    await rm(this.path(id), { force: true });
  }

  /** mkdir -p whose entries survive a power loss: the first time this process
   * relies on a directory, its entry is fsynced in its parent, even if it
   * already existed (a crashed process may have created it and died before
   * the fsync). Cached, so that is one extra fsync per directory per process. */
  #ensureDir(dir: string): Promise<void> {
    let p = this.#dirs.get(dir);
    if (!p) {
      p = (async () => {
        const parent = dirname(dir);
        if (dir === this.root) await mkdir(dir, { recursive: true });
        else {
          await this.#ensureDir(parent);
          await mkdir(dir).catch((err: unknown) => {
            if (errCode(err) !== 'EEXIST') throw err;
          });
        }
        await fsyncDir(parent);
      })();
      p.catch(() => this.#dirs.delete(dir));
      this.#dirs.set(dir, p);
    }
    return p;
  }
}

async function writeAll(fh: import('node:fs/promises').FileHandle, pieces: readonly Buffer[]): Promise<void> {
  // writev may write less than asked (as write(2) may); continue from there.
  let rest = pieces.filter((b) => b.length > 0);
  while (rest.length > 0) {
    let { bytesWritten } = await fh.writev(rest);
    while (rest.length > 0 && bytesWritten >= rest[0]!.length) bytesWritten -= rest.shift()!.length;
    if (bytesWritten > 0) rest[0] = rest[0]!.subarray(bytesWritten);
  }
}
