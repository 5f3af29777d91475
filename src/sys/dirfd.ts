// Race-free access to trees the daemon does not own: a live container's root, a volume that a
// running container can write. There a path checked component by component and then used as a
// string can be swapped for a symlink in between (DESIGN.md "Safety rules"), and a cache of
// checked directories turns one swap into a redirect of every later entry.
//
// Node has no openat(2) or openat2(RESOLVE_IN_ROOT). The same guarantee comes from the kernel's
// magic links: `/proc/<pid>/fd/N/name` looks `name` up in exactly the directory that fd N holds
// open (the magic link jumps to the open file itself, it is not re-resolved by path), so with a
// single-component `name` it is `openat(N, name)`. Every call below builds such a path, with the
// final component never followed (O_NOFOLLOW, lstat, readlink, mkdir, symlink, unlink and link all
// leave a final symlink alone). What a Dir holds is an open directory, not a checked path: renaming
// or replacing the directory afterwards cannot redirect it, so Dirs may be kept across entries.
//
// `resolveIn` walks a path the way a process chrooted at the root would (openat2's
// RESOLVE_IN_ROOT): symlinks met on the way are read and resolved again from the root (absolute)
// or from their own directory (relative), `..` is taken from the walk's own stack of open
// directories and never climbs above the root, and the kernel itself never follows a link.
//
// Worked example: copying out `/etc/conf` of a container whose `/etc` is a symlink to `/host`:
//   const root = openDir('/proc/4242/root');           // the container's `/`, by fd
//   const at = resolveIn(root, '/etc/conf', { followLast: false });
//   // `/etc` → readlink → `/host` → resolved from `root` again: `root`/host, never the host's /host
//   const fd = at.dir.openFile(at.name, O_RDONLY);      // O_NOFOLLOW is always added
//   ...; closeSync(fd); at.dir.close(); root.close();
//
// The paths name `/proc/<our pid>/fd/...` rather than `/proc/self/...` so that a helper program we
// spawn (mknod, setfattr, mount) reaches the same descriptors.
import {
  closeSync, constants as FS, fstatSync, linkSync, lstatSync, mkdirSync, openSync, readdirSync, readlinkSync,
  rmdirSync, symlinkSync, unlinkSync, type BigIntStats, type Stats,
} from 'node:fs';
import { invalid } from '../common/errors.ts';

/** O_PATH (Linux): a descriptor that only locates a file; Node's constants do not carry it. */
export const O_PATH = 0o10000000;
const MAX_SYMLINKS = 40; // the kernel's ELOOP bound

const errno = (e: unknown): string | undefined => (e as NodeJS.ErrnoException)?.code;

/** `/proc/<pid>/fd/<fd>[/<name>]`: for this process and the helper programs it spawns. */
export function fdPath(fd: number, name?: string): string {
  return name === undefined ? `/proc/${process.pid}/fd/${fd}` : `/proc/${process.pid}/fd/${fd}/${name}`;
}

function checkName(name: string): string {
  if (name === '' || name === '.' || name === '..' || name.includes('/') || name.includes('\0')) {
    throw new Error(`dirfd: not a single path component: ${JSON.stringify(name)}`);
  }
  return name;
}

/** An open directory (O_PATH). Owns its descriptor: `close()` it. */
export class Dir {
  #fd: number;

  constructor(fd: number) { this.#fd = fd; }

  get fd(): number {
    if (this.#fd < 0) throw new Error('dirfd: use after close');
    return this.#fd;
  }

  /** The magic-link path of this directory, or of `name` in it. */
  path(name?: string): string { return fdPath(this.fd, name === undefined ? undefined : checkName(name)); }

  close(): void {
    if (this.#fd >= 0) closeSync(this.#fd);
    this.#fd = -1;
  }

  /** A second descriptor of the same directory. */
  reopen(): Dir { return new Dir(openSync(this.path(), O_PATH | FS.O_DIRECTORY)); }

  stat(): Stats { return fstatSync(this.fd); }

  /** lstat of `name` here; undefined when it does not exist. */
  lstat(name: string): Stats | undefined;
  lstat(name: string, o: { bigint: true }): BigIntStats | undefined;
  lstat(name: string, o?: { bigint: true }): Stats | BigIntStats | undefined {
    try {
      return o ? lstatSync(this.path(name), o) : lstatSync(this.path(name));
    } catch (e) {
      if (errno(e) === 'ENOENT') return undefined;
      throw e;
    }
  }

  /** The directory `name` here; a symlink (ELOOP) or a non-directory (ENOTDIR) is an error. */
  openDir(name: string): Dir {
    return new Dir(openSync(this.path(name), O_PATH | FS.O_DIRECTORY | FS.O_NOFOLLOW));
  }

  /** open(2) of `name` here, never following a final symlink (O_NOFOLLOW is added). */
  openFile(name: string, flags: number, mode = 0o600): number {
    return openSync(this.path(name), flags | FS.O_NOFOLLOW, mode);
  }

  /** A descriptor that only locates `name` (a symlink itself, a device without opening it). */
  openPath(name: string): number { return openSync(this.path(name), O_PATH | FS.O_NOFOLLOW); }

  /** The names in this directory (raw bytes: a name need not be UTF-8). */
  readdir(): Buffer[] { return readdirSync(this.path(), { encoding: 'buffer' }); }

  readlink(name: string): string { return readlinkSync(this.path(name)); }

  mkdir(name: string, mode: number): void { mkdirSync(this.path(name), mode); }

  symlink(target: string, name: string): void { symlinkSync(target, this.path(name)); }

  /** A hard link `name` here to `fromName` in `from` (link(2) does not follow a final symlink). */
  link(from: Dir, fromName: string, name: string): void { linkSync(from.path(fromName), this.path(name)); }

  unlink(name: string): void { unlinkSync(this.path(name)); }

  /**
   * Removes `name` whatever it is, a directory with everything under it, descending by
   * descriptor: a subdirectory swapped for a symlink meanwhile is unlinked, never followed.
   */
  removeAll(name: string, tries = 0): void {
    const st = this.lstat(name);
    if (!st) return;
    if (!st.isDirectory()) {
      try { this.unlink(name); } catch (e) { if (errno(e) !== 'ENOENT') throw e; }
      return;
    }
    let sub: Dir;
    try {
      sub = this.openDir(name);
    } catch (e) {
      // Replaced by something else since the lstat: look again.
      if ((errno(e) === 'ELOOP' || errno(e) === 'ENOTDIR') && tries < MAX_SYMLINKS) return this.removeAll(name, tries + 1);
      if (errno(e) === 'ENOENT') return;
      throw e;
    }
    try {
      for (const n of sub.readdir()) sub.removeAll(nameOf(n));
    } finally {
      sub.close();
    }
    try { rmdirSync(this.path(name)); } catch (e) { if (errno(e) !== 'ENOENT') throw e; }
  }
}

/** A directory name as Node paths carry it: only UTF-8 names are representable. */
function nameOf(raw: Buffer): string {
  const n = raw.toString('utf8');
  if (!Buffer.from(n).equals(raw)) throw invalid(`file name ${JSON.stringify(n)} is not valid UTF-8`);
  return n;
}

/** Opens a trusted directory path (the root of a walk): the path itself may be followed. */
export function openDir(path: string): Dir {
  return new Dir(openSync(path, O_PATH | FS.O_DIRECTORY));
}

/**
 * Where a path led inside a root: the open directory holding the last component, and its name
 * (`''`: the directory itself is the result, e.g. for `/` or `a/..`). The caller owns `dir`.
 */
export interface Location {
  dir: Dir;
  name: string;
  /** The clean in-root path of the result (`/a/b`). */
  path: string;
}

/** lstat of what a Location names (the directory itself when `name` is empty). */
export function statAt(at: Location): Stats | undefined {
  return at.name === '' ? at.dir.stat() : at.dir.lstat(at.name);
}

/** The directory a Location names, opened (a new Dir the caller owns). */
export function openDirAt(at: Location): Dir {
  return at.name === '' ? at.dir.reopen() : at.dir.openDir(at.name);
}

export interface ResolveOptions {
  /** Follow a symlink in the last component too (Docker does for paths ending in `/` or `/.`). */
  followLast: boolean;
  /** Create missing directories on the way (0755; the last component is never created). */
  mkdirs?: boolean;
}

/**
 * Resolves `path` inside `root` as a chroot at `root` would (openat2 RESOLVE_IN_ROOT), by
 * descriptor at every step. Returns undefined when a component before the last is missing or is
 * not a directory (ENOENT/ENOTDIR); a missing last component is returned (its `dir` exists).
 */
export function resolveIn(root: Dir, path: string, o: ResolveOptions): Location | undefined {
  if (path.includes('\0')) throw invalid(`invalid path ${JSON.stringify(path)}: contains NUL`);
  const split = (p: string) => p.split('/').filter((c) => c !== '' && c !== '.');
  const pending = split(path);
  const stack: Dir[] = [];
  const names: string[] = [];
  const cur = () => (stack.length ? stack[stack.length - 1] : root);
  let links = 0;
  const loop = () => {
    if (++links > MAX_SYMLINKS) throw invalid(`too many levels of symbolic links resolving ${path}`);
  };
  const result = (name: string): Location => {
    const path = `/${[...names, name].filter(Boolean).join('/')}`;
    return { dir: stack.length ? stack.pop()! : root.reopen(), name, path };
  };
  try {
    while (pending.length) {
      const c = pending.shift()!;
      if (c === '..') {
        if (stack.length) { stack.pop()!.close(); names.pop(); }
        continue;
      }
      const last = pending.length === 0;
      const st = cur().lstat(c);
      if (!st) {
        if (last) return result(c);
        if (!o.mkdirs) return undefined;
        try {
          cur().mkdir(c, 0o755);
        } catch (e) {
          if (errno(e) !== 'EEXIST') throw e;
        }
        // Whatever is there now (ours, or something raced in) is looked at again.
        pending.unshift(c);
        loop();
        continue;
      }
      if (st.isSymbolicLink() && (!last || o.followLast)) {
        loop();
        let target: string;
        try {
          target = cur().readlink(c);
        } catch (e) {
          // No longer a symlink (EINVAL) or gone: look again.
          if (errno(e) === 'EINVAL' || errno(e) === 'ENOENT') { pending.unshift(c); continue; }
          throw e;
        }
        if (target.startsWith('/')) {
          for (const d of stack) d.close();
          stack.length = 0;
          names.length = 0;
        }
        pending.unshift(...split(target));
        continue;
      }
      if (last) return result(c);
      if (!st.isDirectory()) return undefined;
      let d: Dir;
      try {
        d = cur().openDir(c);
      } catch (e) {
        const code = errno(e);
        // Swapped since the lstat: look at it again (bounded like symlinks).
        if (code === 'ELOOP' || code === 'ENOTDIR' || code === 'ENOENT') { loop(); pending.unshift(c); continue; }
        throw e;
      }
      stack.push(d);
      names.push(c);
    }
    return result('');
  } finally {
    for (const d of stack) d.close();
  }
}
