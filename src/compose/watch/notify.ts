// File changes under a set of paths, as absolute paths (compose's naive watcher): every
// directory under a watched path gets an inotify watch of its own (node's fs.watch, one per
// directory); a directory created later is watched in turn and the files already in it are
// reported; a watched path that is a file is watched through its directory. `skipDir` keeps whole
// ignored trees (node_modules, say) out of the watches, as compose does for ignored directories.
//
//   const w = new TreeWatcher(['/srv/app/src'], (p) => batcher.push(p), { skipDir: (d) => d.endsWith('/node_modules') });
//   await w.start();
//   … editing /srv/app/src/index.js → onChange('/srv/app/src/index.js')
//   w.close();
import { watch, type FSWatcher } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { isChild } from './rules.ts';

export interface TreeWatcherOptions {
  skipDir?: (dir: string) => boolean;
  onError?: (e: Error) => void;
}

export class TreeWatcher {
  readonly #roots: string[];
  readonly #onChange: (path: string) => void;
  readonly #o: TreeWatcherOptions;
  readonly #watchers = new Map<string, FSWatcher>();
  #closed = false;

  constructor(paths: string[], onChange: (path: string) => void, o: TreeWatcherOptions = {}) {
    this.#roots = paths.map((p) => resolve(p));
    this.#onChange = onChange;
    this.#o = o;
  }

  async start(): Promise<void> {
    for (const root of this.#roots) {
      const st = await stat(root).catch(() => undefined /* not there yet: handled below */);
      if (st?.isDirectory()) await this.#addTree(root, false);
      // A file, or a path not there yet: its nearest existing directory, filtered to the path.
      else {
        let d = st ? dirname(root) : root;
        while (!(await stat(d).then((s) => s.isDirectory(), () => false)) && d !== '/') d = dirname(d);
        this.#addDir(d);
      }
    }
  }

  /** Whether a path is one the watcher reports: under a watched directory root, or a watched file itself. */
  #wanted(p: string): boolean {
    return this.#roots.some((r) => isChild(r, p));
  }

  #addDir(dir: string): void {
    if (this.#closed || this.#watchers.has(dir)) return;
    let w: FSWatcher;
    try {
      w = watch(dir, { persistent: true }, (_event, name) => {
        if (name === null) return;
        const p = join(dir, name.toString());
        if (!this.#wanted(p)) return;
        this.#onChange(p);
        // A new directory: watch it, and report what it already holds (created before the watch).
        void stat(p).then((s) => { if (s.isDirectory() && !this.#watchers.has(p)) return this.#addTree(p, true); }, () => {
          // Gone: a watched directory removed takes its watch (and those below it) along.
          for (const [d, x] of this.#watchers) if (isChild(p, d)) { x.close(); this.#watchers.delete(d); }
        }).catch((e) => this.#o.onError?.(e as Error));
      });
    } catch (e) {
      // Removed in between, or not a directory any more: nothing to watch.
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT' && (e as NodeJS.ErrnoException).code !== 'ENOTDIR') this.#o.onError?.(e as Error);
      return;
    }
    w.on('error', (e) => {
      w.close();
      this.#watchers.delete(dir);
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') this.#o.onError?.(e);
    });
    this.#watchers.set(dir, w);
  }

  async #addTree(dir: string, report: boolean): Promise<void> {
    if (this.#o.skipDir?.(dir)) return;
    this.#addDir(dir);
    let entries;
    try { entries = await readdir(dir, { withFileTypes: true }); } catch { return; /* removed meanwhile: nothing to watch */ }
    for (const e of entries) {
      const p = join(dir, e.name);
      if (e.isDirectory()) await this.#addTree(p, report);
      if (report && this.#wanted(p)) this.#onChange(p);
    }
  }

  /** How many directories are watched (for tests). */
  get watchedDirs(): number { return this.#watchers.size; }

  close(): void {
    this.#closed = true;
    for (const w of this.#watchers.values()) w.close();
    this.#watchers.clear();
  }
}
