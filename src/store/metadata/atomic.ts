// Crash-safe writes (DESIGN.md "metadata"): write a temp file in the same directory, fsync it,
// rename it over the target, then fsync the directory so the rename itself is durable. A reader
// (or a daemon restarted after kill -9) sees either the old document or the new one, never half.
import { open, rename, mkdir, readFile, rm, readdir } from 'node:fs/promises';
import { dirname, join, basename } from 'node:path';
import { randomBytes } from 'node:crypto';

export async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try { await fh.sync(); } finally { await fh.close(); }
}

export async function writeFileAtomic(path: string, data: string | Buffer, mode = 0o600): Promise<void> {
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.tmp-${randomBytes(4).toString('hex')}`);
  const fh = await open(tmp, 'w', mode);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } catch (e) {
    await fh.close().catch(() => {}); // the write's error is what counts; the temp file goes below
    await rm(tmp, { force: true });
    throw e;
  }
  await fh.close();
  try {
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
  await fsyncDir(dir);
}

export async function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  await writeFileAtomic(path, JSON.stringify(value));
}

export async function readJson<T>(path: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as T;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

/**
 * A directory of JSON documents, one per object (`<dir>/<key>.json`), each written atomically.
 * Leftover temp files from a crash are ignored by `loadAll` and removed.
 */
export class JsonDocStore<T> {
  readonly dir: string;
  constructor(dir: string) { this.dir = dir; }
  async init(): Promise<void> { await mkdir(this.dir, { recursive: true }); }
  path(key: string): string { return join(this.dir, `${key}.json`); }
  put(key: string, value: T): Promise<void> { return writeJsonAtomic(this.path(key), value); }
  get(key: string): Promise<T | undefined> { return readJson<T>(this.path(key)); }
  async delete(key: string): Promise<void> {
    await rm(this.path(key), { force: true });
    await fsyncDir(this.dir);
  }
  async loadAll(): Promise<Map<string, T>> {
    const out = new Map<string, T>();
    for (const name of await readdir(this.dir)) {
      if (name.startsWith('.')) {
        if (name.includes('.tmp-')) await rm(join(this.dir, name), { force: true });
        continue;
      }
      if (!name.endsWith('.json')) continue;
      const v = await readJson<T>(join(this.dir, name));
      if (v !== undefined) out.set(name.slice(0, -5), v);
    }
    return out;
  }
}
