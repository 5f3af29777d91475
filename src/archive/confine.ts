// Path confinement: keeping what an untrusted name or symlink says inside a root
// (DESIGN.md "Safety rules for the code"). One module for the three shapes it takes:
//
// - tar entry names and hard link targets, cleaned lexically (cleanEntryPath, cleanLinkTarget);
// - extraction roots behind one interface (ExtractRoot), used by extract.ts:
//   - SafeRoot, for trees the daemon owns (a layer being unpacked, a build's context): "resolve-
//     then-check on every component": every parent of an entry is lstat'ed and must be a real
//     directory, never a symlink, and checked directories are cached. This is sound only because
//     nothing but the extractor itself changes such a tree while it runs, one entry at a time.
//   - FdRoot, for trees a container can change while we write (docker cp into a container, whose
//     volumes other running containers share): every parent is opened by descriptor from the one
//     above it (sys/dirfd.ts), and the path handed back for the final operation is
//     `/proc/<pid>/fd/<parent>/<name>`, which the kernel looks up in exactly that open directory.
//     What it keeps between entries are open directories, not checked path strings: a directory
//     swapped for a symlink later cannot redirect an open descriptor, so nothing is "cached" that
//     a race could invalidate.
// - a path resolved as a chroot at a root would (resolveInRoot: the build's COPY destinations and
//   context lookups, a volume's copy-up source).
//
// Why here and not in sys/: sys/dirfd.ts is the kernel-facing primitive (open by descriptor,
// resolveIn); what this file adds is tar and extraction policy (clamping `..`, "layer breakout"
// errors, which directories get created 0755), which is archive's business. It depends only on
// common/errors.ts and sys/dirfd.ts, and neither imports archive, so the graph stays acyclic. (It
// was store/snapshots/safe-path.ts and runtime/user.ts's resolveInRoot: the builder, volumes and
// the engine had to import store or runtime for a path helper.)
//
// The calls are synchronous for the reason given in extract.ts (thread-pool round trips).
import { chmodSync, fchmodSync, closeSync, constants as FS, lstatSync, mkdirSync, openSync, rmSync, unlinkSync } from 'node:fs';
import { lstat, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { invalid } from '../common/errors.ts';
import type { Dir } from '../sys/dirfd.ts';

/** What the extractor asks of its root (extract.ts): see SafeRoot for each call's contract. */
export interface ExtractRoot {
  /**
   * The path of `parts` for one final operation that never follows a last symlink (lstat,
   * open O_NOFOLLOW, mkdir, symlink, link, unlink, lchown, lutimes, lsetxattr, mknod). Valid only
   * after `parents(parts, ...)` answered true, and until the next removal.
   */
  abs(parts: readonly string[]): string;
  parents(parts: readonly string[], entry: string, opts: ParentOptions): boolean;
  dir(parts: readonly string[], entry: string, opts: ParentOptions): boolean;
  noteDir(parts: readonly string[]): void;
  /** Removes whatever is at `parts`, a directory with everything under it, following no symlink. */
  remove(parts: readonly string[]): void;
  /** After a removal: nothing known about the tree below the root still holds. */
  forget(): void;
}

export interface ParentOptions { create: boolean; onCreate?: (rel: string) => void }

const errno = (e: unknown): string | undefined => (e as NodeJS.ErrnoException)?.code;
const breakout = (entry: string, rel: string) => invalid(`layer breakout: ${JSON.stringify(entry)} goes through the symbolic link ${JSON.stringify(rel)}`);
const notDir = (entry: string, rel: string) => invalid(`invalid layer: ${JSON.stringify(entry)}: ${JSON.stringify(rel)} is not a directory`);

/**
 * Cleans a tar entry name lexically, as if it were rooted at the extraction root, and returns its
 * components. Absolute names become relative (`/etc/x` → `etc/x`) and a `..` that would climb
 * above the root stays at the root (`../../etc/passwd` → `etc/passwd`). This is what Docker's
 * layer apply does in effect: it unpacks inside a chroot of the layer dir, where
 * `filepath.Join("/", name)` clamps at `/` the same way. `[]` means the root itself (`./`).
 */
export function cleanEntryPath(name: string): string[] {
  if (name.includes('\0')) throw invalid(`invalid tar entry name ${JSON.stringify(name)}: contains NUL`);
  const out: string[] = [];
  for (const c of name.split('/')) {
    if (c === '' || c === '.') continue;
    if (c === '..') out.pop();
    else out.push(c);
  }
  return out;
}

/**
 * Cleans a hard link target. Unlike entry names, a target that climbs above the root is rejected,
 * not clamped: no honest tar writer produces one, and silently re-pointing a link at another
 * file would be worse than refusing the layer. A leading `/` is dropped (targets are root-relative).
 */
export function cleanLinkTarget(target: string, entry: string): string[] {
  if (target.includes('\0')) throw invalid(`invalid hard link target in ${JSON.stringify(entry)}: contains NUL`);
  const out: string[] = [];
  for (const c of target.split('/')) {
    if (c === '' || c === '.') continue;
    if (c === '..') {
      if (out.length === 0) throw invalid(`layer breakout: hard link ${JSON.stringify(entry)} points outside the root (${JSON.stringify(target)})`);
      out.pop();
    } else out.push(c);
  }
  if (out.length === 0) throw invalid(`invalid hard link ${JSON.stringify(entry)}: target is the root`);
  return out;
}

/**
 * An extraction root in which parent directories are checked component by component with lstat.
 * Directories already verified (or created) are cached; call `forget()` after removing anything,
 * since a removed directory may come back as a symlink.
 */
export class SafeRoot implements ExtractRoot {
  readonly root: string;
  #dirs = new Set<string>();

  constructor(root: string) {
    this.root = root;
  }

  /** Absolute path of clean components (no `..`, no `/` inside a component, so join cannot escape). */
  abs(parts: readonly string[]): string {
    return parts.length === 0 ? this.root : join(this.root, ...parts);
  }

  /** Records that `parts` is now a real directory created or verified by the caller. */
  noteDir(parts: readonly string[]): void {
    if (parts.length) this.#dirs.add(parts.join('/'));
  }

  forget(): void {
    this.#dirs.clear();
  }

  remove(parts: readonly string[]): void {
    const p = this.abs(parts);
    let st;
    try {
      st = lstatSync(p);
    } catch (e) {
      if (errno(e) === 'ENOENT') return;
      throw e;
    }
    if (st.isDirectory()) rmSync(p, { recursive: true, force: true }); // rm unlinks symlinks inside, never follows them
    else unlinkSync(p);
  }

  /**
   * Checks that every parent of `parts` (all components but the last) is a real directory.
   * A symlink anywhere on the way rejects the entry as a breakout (`entry` names it in the
   * message). Missing parents are created 0755 root-owned when `create` is set, as Docker does;
   * otherwise `false` is returned. `onCreate` sees each directory made here.
   */
  parents(parts: readonly string[], entry: string, opts: { create: boolean; onCreate?: (rel: string) => void }): boolean {
    return this.#walk(parts, parts.length - 1, entry, opts);
  }

  /** Like `parents`, but the whole path must be a directory too (the target of an opaque marker). */
  dir(parts: readonly string[], entry: string, opts: { create: boolean; onCreate?: (rel: string) => void }): boolean {
    return this.#walk(parts, parts.length, entry, opts);
  }

  #walk(parts: readonly string[], count: number, entry: string, opts: { create: boolean; onCreate?: (rel: string) => void }): boolean {
    let rel = '';
    for (let i = 0; i < count; i++) {
      rel = i === 0 ? parts[0] : `${rel}/${parts[i]}`;
      if (this.#dirs.has(rel)) continue;
      const p = join(this.root, rel);
      let st;
      try {
        st = lstatSync(p);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
        if (!opts.create) return false;
        mkdirSync(p);
        chmodSync(p, 0o755); // exact, whatever the daemon's umask
        opts.onCreate?.(rel);
        this.#dirs.add(rel);
        continue;
      }
      if (st.isSymbolicLink()) throw breakout(entry, rel);
      if (!st.isDirectory()) throw notDir(entry, rel);
      this.#dirs.add(rel);
    }
    return true;
  }
}

/** Directories kept open between entries; past this many, all are closed and reopened on demand. */
const MAX_OPEN_DIRS = 256;

/**
 * An extraction root inside a tree that may change under us (see the file's header): parents are
 * opened by descriptor, O_NOFOLLOW, from the directory above them. `root` stays the caller's.
 */
export class FdRoot implements ExtractRoot {
  readonly #root: Dir;
  readonly #open = new Map<string, Dir>();

  constructor(root: Dir) {
    this.#root = root;
  }

  abs(parts: readonly string[]): string {
    // The root itself: `.` below the magic link, so that a final-component call (lchown, lstat,
    // open O_NOFOLLOW) acts on the directory and not on the /proc link.
    if (parts.length === 0) return `${this.#root.path()}/.`;
    const parent = this.#walk(parts, parts.length - 1, parts.join('/'), { create: false });
    if (!parent) throw invalid(`invalid layer: ${JSON.stringify(parts.join('/'))}: a parent directory is missing`);
    return parent.path(parts[parts.length - 1]);
  }

  parents(parts: readonly string[], entry: string, opts: ParentOptions): boolean {
    return this.#walk(parts, parts.length - 1, entry, opts) !== undefined;
  }

  dir(parts: readonly string[], entry: string, opts: ParentOptions): boolean {
    return this.#walk(parts, parts.length, entry, opts) !== undefined;
  }

  noteDir(): void { /* directories are opened when next needed */ }

  remove(parts: readonly string[]): void {
    if (parts.length === 0) throw invalid('invalid layer: would remove the root directory');
    const parent = this.#walk(parts, parts.length - 1, parts.join('/'), { create: false });
    parent?.removeAll(parts[parts.length - 1]);
  }

  forget(): void {
    for (const d of this.#open.values()) d.close();
    this.#open.clear();
  }

  /** The open directory of `parts[0..count)`, created on the way when asked; undefined if missing. */
  #walk(parts: readonly string[], count: number, entry: string, opts: ParentOptions): Dir | undefined {
    let cur = this.#root;
    let rel = '';
    for (let i = 0; i < count; i++) {
      const c = parts[i];
      rel = i === 0 ? c : `${rel}/${c}`;
      const known = this.#open.get(rel);
      if (known) { cur = known; continue; }
      let d: Dir;
      try {
        d = cur.openDir(c);
      } catch (e) {
        if (errno(e) === 'ELOOP' || errno(e) === 'ENOTDIR') throw notADir(cur, c, entry, rel);
        if (errno(e) !== 'ENOENT') throw e;
        if (!opts.create) return undefined;
        try {
          cur.mkdir(c, 0o700);
        } catch (err) {
          if (errno(err) !== 'EEXIST') throw err;
        }
        // Opened again by descriptor: whatever is there now is checked like any other parent.
        d = this.#openCreated(cur, c, entry, rel);
        opts.onCreate?.(rel);
      }
      if (this.#open.size >= MAX_OPEN_DIRS) this.forget();
      this.#open.set(rel, d);
      cur = d;
    }
    return cur;
  }

  #openCreated(parent: Dir, name: string, entry: string, rel: string): Dir {
    let d: Dir;
    try {
      d = parent.openDir(name);
    } catch (e) {
      if (errno(e) === 'ELOOP' || errno(e) === 'ENOTDIR') throw notADir(parent, name, entry, rel);
      throw e;
    }
    // 0755 exactly, whatever the umask (as SafeRoot does), on the directory we hold.
    const fd = openSync(`${d.path()}/.`, FS.O_RDONLY | FS.O_DIRECTORY);
    try { fchmodSync(fd, 0o755); } finally { closeSync(fd); }
    return d;
  }
}

/** The error for a parent that could not be opened as a directory: a symlink is a breakout. */
function notADir(parent: Dir, name: string, entry: string, rel: string): Error {
  return parent.lstat(name)?.isSymbolicLink() ? breakout(entry, rel) : notDir(entry, rel);
}

// ---------------------------------------------------------------------------------------------
// In-root resolution

const MAX_SYMLINKS = 40; // as the kernel (ELOOP)

/**
 * Resolves `path` inside `root` as a process chrooted at `root` would, following symlinks
 * without ever leaving `root`. Returns a host path whose every component below `root` is a real
 * directory or, for the last one, whatever is there (or nothing: `undefined` if it is missing).
 * For a tree a container can change meanwhile, use sys/dirfd.ts resolveIn (by descriptor).
 */
export async function resolveInRoot(root: string, path: string): Promise<string | undefined> {
  const pending = path.split('/').filter((c) => c !== '' && c !== '.');
  const done: string[] = [];
  let links = 0;
  while (pending.length) {
    const c = pending.shift()!;
    if (c === '..') {
      done.pop(); // at the root, `..` is the root
      continue;
    }
    const host = join(root, ...done, c);
    let st;
    try {
      st = await lstat(host);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined;
      throw e;
    }
    if (st.isSymbolicLink()) {
      if (++links > MAX_SYMLINKS) throw invalid(`too many levels of symbolic links resolving ${path} in the container's root filesystem`);
      const target = await readlink(host);
      if (target.startsWith('/')) done.length = 0;
      pending.unshift(...target.split('/').filter((t) => t !== '' && t !== '.'));
      continue;
    }
    if (pending.length && !st.isDirectory()) return undefined;
    done.push(c);
  }
  return join(root, ...done);
}
