// From directories to tars: the layer of an overlay upper dir (`commit`, build steps), a plain
// tar of a tree (`export`), and Docker's change list (`GET /containers/{id}/changes`).
//
// The tar writer is our own for the same reason the reader is (apply-layer.ts): xattr values are
// bytes and must go into PAX records as bytes, and every header field must be under our control
// for byte-identical output. Determinism: entries are walked depth-first in byte order of names;
// only mode, uid/gid, size, whole-second mtime, link target and device numbers are recorded
// (no atime/ctime, empty uname/gname, fixed PAX header names), so an identical tree always gives
// the same bytes and a rebuilt layer the same digest.
import { closeSync, constants as FS, fstatSync, lstatSync, read, readSync, type BigIntStats } from 'node:fs';
import { promisify } from 'node:util';
import { resolve } from 'node:path';
import { Readable } from 'node:stream';
import { notImplemented, system } from '../../common/errors.ts';
import { batchChunks } from '../../common/streams.ts';
import * as sys from '../../sys/index.ts';
import { openDir, type Dir } from '../../sys/dirfd.ts';
import type { IdMap } from '../../common/idmap.ts';
import type { TarKind } from './apply-layer.ts';
import { BLOCK, encodeTarHeader, tarPad, type TarHeader } from './tar-header.ts';

/**
 * `skip`: paths (relative, no leading slash) left out with everything under them (commit: mount
 * targets). `idMap` (`--userns-remap`): the tree's owners are host IDs, the tar gets the container's.
 */
export interface LayerTarOptions { skip?: ReadonlySet<string>; idMap?: IdMap }

/**
 * An OCI layer tar of an overlay upper directory: 0/0 character devices become `.wh.<name>`
 * files, a directory with `trusted.overlay.opaque=y` gets a `.wh..wh..opq` entry right after its
 * own, and overlay's `trusted.overlay.*` attributes are left out. The stream errors if the walk
 * fails; files that vanish while it runs (a running container) are skipped.
 */
export function createLayerTar(upperDir: string, opts: LayerTarOptions = {}): Readable {
  return Readable.from(writeTree(upperDir, { layer: true, omit: opts.skip, idMap: opts.idMap }), { objectMode: false });
}

/**
 * A plain tar of a directory (for `export`): no whiteout translation, same determinism. `top`
 * gives the directory an entry of its own and `top/`-prefixed names (`.` for a volume's copy-up,
 * whose root takes the source directory's owner and mode).
 */
export function createTreeTar(dir: string, o: { top?: string; idMap?: IdMap } = {}): Readable {
  return Readable.from(writeTree(dir, { layer: false, top: o.top, idMap: o.idMap }), { objectMode: false });
}

export interface Change {
  Path: string;
  /** Docker's ChangeType: 0 Modified, 1 Added, 2 Deleted. */
  Kind: 0 | 1 | 2;
}

/**
 * Docker's change list of an overlay container (moby's overlay `changes`): each path of the upper
 * dir is Deleted if it is a whiteout or an opaque directory, Modified if it exists in some lower
 * layer, else Added. A directory that exists below with the same size, mode and mtime is not
 * itself a change, but the parent of an Added or Deleted path is reported Modified. Sorted by path.
 *
 * Unlike Docker (os.Stat), lower paths are looked up without following symlinks, so a symlink in
 * an image can never make berth look at host files.
 */
export async function diffChanges(upperDir: string, lowerDirs: string[]): Promise<Change[]> {
  const upper = resolve(upperDir);
  const lowers = lowerDirs.map((l) => resolve(l));
  const opaque = await treeXattrs(upper, '^trusted\\.overlay\\.opaque$');
  const changes: Change[] = [];
  const changedDirs = new Set<string>();

  let seen = 0;
  // `inLower[i]`: the current directory is a real directory in lower i (reached without symlinks).
  // The upper dir is a running container's: walked by descriptor (see "Tree walk" below).
  const walk = async (rel: string, dir: Dir, inLower: boolean[]): Promise<void> => {
    for (const name of sortedNames(dir)) {
      // Synchronous lstats (see walkDir); let the event loop turn now and then on big trees.
      if (++seen % 512 === 0) await new Promise((r) => setImmediate(r));
      const path = `${rel}/${name}`;
      const st = dir.lstat(name, { bigint: true });
      if (!st) continue;
      const isDir = st.isDirectory();
      const deleted = isWhiteout(st) || (isDir && opaque.get(`${upper}${path}`)?.get('trusted.overlay.opaque')?.toString() === 'y');
      let kind: 0 | 1 | 2 = deleted ? 2 : 1;
      let unchangedDir = false;
      let decided = deleted;
      const below: boolean[] = [];
      for (let i = 0; i < lowers.length; i++) {
        const ls = inLower[i] ? lstatSync(`${lowers[i]}${path}`, { bigint: true, throwIfNoEntry: false }) : undefined;
        below.push(!!ls?.isDirectory());
        if (!ls || decided) continue;
        // The top-most lower holding the path decides. A directory that is only on the way to
        // changes (same size, mode, mtime) is not a change itself.
        decided = true;
        if (isDir && ls.isDirectory() && st.size === ls.size && st.mode === ls.mode && sameTime(st.mtimeNs, ls.mtimeNs)) {
          unchangedDir = true;
        } else kind = 0;
      }
      if (!unchangedDir) {
        if (isDir) changedDirs.add(path);
        if (kind !== 0 && rel && !changedDirs.has(rel)) {
          changes.push({ Path: rel, Kind: 0 });
          changedDirs.add(rel);
        }
        changes.push({ Path: path, Kind: kind });
      }
      if (!isDir) continue;
      const sub = openSubdir(dir, name);
      if (!sub) continue;
      try {
        await walk(path, sub, below);
      } finally {
        sub.close();
      }
    }
  };
  let root: Dir;
  try {
    root = openDir(upper);
  } catch (e) {
    if (errnoOf(e) === 'ENOENT') return [];
    throw e;
  }
  try {
    await walk('', root, lowers.map(() => true));
  } finally {
    root.close();
  }
  return changes.sort((a, b) => Buffer.compare(Buffer.from(a.Path), Buffer.from(b.Path)));
}

/** Go's sameFsTime: equal, or equal seconds when one side has no sub-second part. */
function sameTime(a: bigint, b: bigint): boolean {
  const s = 1_000_000_000n;
  return a === b || (a / s === b / s && (a % s === 0n || b % s === 0n));
}

const isWhiteout = (st: BigIntStats) => st.isCharacterDevice() && st.rdev === 0n;

// ---------------------------------------------------------------------------------------------
// Tree walk
//
// By descriptor (sys/dirfd.ts), never by path: the tree may be a live container's (export of a
// running container, cp from one, a commit without pause) and so may change under the walk. Each
// directory is opened O_NOFOLLOW from its already-open parent and each file O_NOFOLLOW from its
// directory, so an entry swapped for a symlink meanwhile is read as the symlink (or skipped),
// never followed out of the tree.

/** Where a walk starts: `name` in `dir`, or `dir` itself when `name` is `''`. */
export interface TreeStart { dir: Dir; name: string }

export interface TreeTarOptions {
  /**
   * Names: `undefined` (layers, export): paths relative to the start, which has no entry of its
   * own. A string (cp): the start's own entry is named `top` and everything under it `top/rel`;
   * `''` gives no start entry and `/rel` names (go-archive's form for the root `/`).
   */
  top?: string;
  /** Overlay upper dir: whiteout devices and opaque dirs become `.wh.` markers. */
  layer?: boolean;
  /** xattrs by absolute path (treeXattrs), put into PAX records; none when absent. */
  xattrs?: Map<string, Map<string, Buffer>>;
  /** The start's host path, the key prefix of `xattrs`. */
  base?: string;
  /** Relative paths left out with everything under them (commit: mount targets). */
  omit?: ReadonlySet<string>;
  /** Relative paths (`''`: the start) whose entry is written but not their contents (cp: /proc). */
  skipContents?: (rel: string) => boolean;
  /** `--userns-remap`: owners on disk are host IDs; the tar carries the container's. */
  idMap?: IdMap;
}

interface WalkContext extends TreeTarOptions {
  /** "dev:ino" of multiply-linked non-directories → the tar name of their first entry. */
  links: Map<string, string>;
  prefix: string;
}

/** A tar of a tree, walked by descriptor, with the end-of-archive blocks. */
export async function* treeTarBlocks(start: TreeStart, o: TreeTarOptions): AsyncGenerator<Buffer> {
  const ctx: WalkContext = { ...o, links: new Map(), prefix: o.top === undefined ? '' : o.top === '' ? '/' : `${o.top}/` };
  yield* batchChunks(walkStart(ctx, start), BATCH);
  yield Buffer.alloc(2 * BLOCK); // end-of-archive
}

/** A tar of the tree at `base` with its xattrs (one getfattr walk first). */
async function* writeTree(base: string, o: Omit<TreeTarOptions, 'xattrs' | 'base'>): AsyncGenerator<Buffer> {
  const root = openDir(resolve(base));
  try {
    yield* treeTarBlocks({ dir: root, name: '' }, { ...o, xattrs: await treeXattrs(base, '-'), base: resolve(base) });
  } finally {
    root.close();
  }
}

/** The names of an open directory, in byte order (as Go sorts: independent of locale and UTF-16). */
function sortedNames(dir: Dir): string[] {
  let raw: Buffer[];
  try {
    raw = dir.readdir();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return [];
    throw e;
  }
  raw.sort(Buffer.compare);
  // Paths are strings here; a name that is not UTF-8 would be lost silently. Refuse instead.
  return raw.map((b) => {
    const n = b.toString('utf8');
    if (!Buffer.from(n).equals(b)) throw notImplemented(`file name ${JSON.stringify(n)} is not valid UTF-8`);
    return n;
  });
}

const seconds = (ns: bigint): number => {
  const s = ns / 1_000_000_000n;
  return Number(ns < 0n && ns % 1_000_000_000n !== 0n ? s - 1n : s);
};

const errnoOf = (e: unknown) => (e as NodeJS.ErrnoException)?.code;
/** The object at a name changed or went away between two calls: skip it, as a vanished file. */
const vanished = (e: unknown) => ['ENOENT', 'ELOOP', 'ENOTDIR', 'EINVAL'].includes(errnoOf(e) ?? '');

/** The directory `name` of `dir`, or undefined when it is no longer a directory (changed mid-walk). */
function openSubdir(dir: Dir, name: string): Dir | undefined {
  try {
    return dir.openDir(name);
  } catch (e) {
    if (vanished(e)) return undefined;
    throw e;
  }
}

async function* walkStart(ctx: WalkContext, start: TreeStart): AsyncGenerator<Buffer> {
  if (start.name !== '') {
    yield* walkEntry(ctx, start.dir, start.name, '', ctx.base ?? '');
    return;
  }
  const st = fstatSync(start.dir.fd, { bigint: true });
  if (ctx.top) yield encodeEntry({ ...metaOf(ctx, st), name: `${ctx.top}/`, kind: 'dir', xattrs: ctx.xattrs?.get(ctx.base ?? '') });
  if (!ctx.skipContents?.('')) yield* walkDir(ctx, start.dir, ctx.base ?? '', '');
}

function metaOf(ctx: WalkContext, st: BigIntStats): { uid: number; gid: number; mode: number; mtime: number } {
  const ids = ctx.idMap ? ctx.idMap.toContainer(Number(st.uid), Number(st.gid)) : { uid: Number(st.uid), gid: Number(st.gid) };
  return { ...ids, mode: Number(st.mode & 0o7777n), mtime: seconds(st.mtimeNs) };
}

/**
 * The walk uses synchronous fs calls, as the extractor does (apply-layer.ts): a thread-pool round
 * trip per lstat/open/read/close made a 54k-file tar take 18 s against GNU tar's 2 s. Contents of
 * files above SYNC_READ_MAX are read asynchronously so a cold disk cannot stall the daemon.
 */
async function* walkDir(ctx: WalkContext, dir: Dir, absDir: string, relDir: string): AsyncGenerator<Buffer> {
  for (const name of sortedNames(dir)) {
    const rel = relDir ? `${relDir}/${name}` : name;
    if (ctx.omit?.has(rel)) continue;
    yield* walkEntry(ctx, dir, name, rel, absDir === '/' ? `/${name}` : `${absDir}/${name}`);
  }
}

/** One entry `name` of `dir` (`rel` from the start, `''` for the start itself) and what is under it. */
async function* walkEntry(ctx: WalkContext, dir: Dir, name: string, rel: string, abs: string): AsyncGenerator<Buffer> {
  const st = dir.lstat(name, { bigint: true });
  if (!st) return;
  const tarName = rel === '' ? ctx.top ?? name : ctx.prefix + rel;
  const relDir = rel.includes('/') ? rel.slice(0, rel.lastIndexOf('/')) : '';
  const xattrs = ctx.xattrs?.get(abs);
  const meta = metaOf(ctx, st);

  if (st.isDirectory()) {
    const sub = openSubdir(dir, name);
    if (!sub) return;
    try {
      if (rel !== '' || ctx.top) yield encodeEntry({ ...meta, name: `${tarName}/`, kind: 'dir', xattrs });
      if (ctx.layer && xattrs?.get('trusted.overlay.opaque')?.toString() === 'y') {
        yield encodeEntry({ ...marker(meta), name: `${tarName}/.wh..wh..opq` });
      }
      if (!ctx.skipContents?.(rel)) yield* walkDir(ctx, sub, abs, rel);
    } finally {
      sub.close();
    }
    return;
  }
  if (st.isSocket()) return; // tar cannot hold sockets; Docker skips them too
  // Checked before hard links: overlay shares one whiteout inode among many whiteouts.
  if (ctx.layer && isWhiteout(st)) {
    yield encodeEntry({ ...marker(meta), name: `${ctx.prefix}${relDir ? `${relDir}/` : ''}.wh.${name}` });
    return;
  }
  const key = st.nlink > 1n ? `${st.dev}:${st.ino}` : undefined;
  const first = key && ctx.links.get(key);
  if (first) {
    yield encodeEntry({ ...meta, name: tarName, kind: 'link', linkname: first });
    return;
  }
  if (st.isFile()) {
    let fd: number;
    try {
      // O_NONBLOCK: should the name have turned into a fifo since lstat, open must not hang.
      fd = dir.openFile(name, FS.O_RDONLY | FS.O_NONBLOCK);
    } catch (e) {
      if (vanished(e)) return;
      throw e;
    }
    try {
      const fst = fstatSync(fd, { bigint: true });
      if (!fst.isFile()) return;
      const size = Number(fst.size);
      if (key) ctx.links.set(key, tarName);
      const header = encodeEntry({ ...meta, mode: Number(fst.mode & 0o7777n), mtime: seconds(fst.mtimeNs), name: tarName, kind: 'file', size, xattrs });
      if (size <= SYNC_READ_MAX) {
        // Header, data and padding in one buffer: one push for a small file.
        const buf = Buffer.alloc(header.length + size + pad(size));
        header.copy(buf);
        for (let got = 0; got < size; ) {
          const n = readSync(fd, buf, header.length + got, size - got, got);
          if (n === 0) break; // shrank meanwhile: the rest stays zeros, the tar stays well-formed
          got += n;
        }
        yield buf;
      } else {
        yield header;
        // Exactly `size` bytes whatever happens to the file meanwhile: the tar must stay well-formed.
        let left = size;
        while (left > 0) {
          const buf = Buffer.allocUnsafe(Math.min(left, CHUNK));
          const { bytesRead } = await readAsync(fd, buf, 0, buf.length, size - left);
          if (bytesRead === 0) {
            yield Buffer.alloc(left);
            break;
          }
          yield bytesRead === buf.length ? buf : buf.subarray(0, bytesRead);
          left -= bytesRead;
        }
        if (pad(size)) yield Buffer.alloc(pad(size));
      }
    } finally {
      closeSync(fd);
    }
    return;
  }
  if (key) ctx.links.set(key, tarName);
  if (st.isSymbolicLink()) {
    let target: string;
    try {
      target = dir.readlink(name);
    } catch (e) {
      if (vanished(e)) return;
      throw e;
    }
    yield encodeEntry({ ...meta, name: tarName, kind: 'symlink', linkname: target, xattrs });
    return;
  }
  const kind: TarKind | undefined = st.isCharacterDevice() ? 'char' : st.isBlockDevice() ? 'block' : st.isFIFO() ? 'fifo' : undefined;
  if (!kind) return;
  const rdev = st.rdev;
  yield encodeEntry({
    ...meta,
    name: tarName,
    kind,
    xattrs,
    // Linux's dev_t encoding (glibc major()/minor()).
    devmajor: kind === 'fifo' ? 0 : Number(((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn)),
    devminor: kind === 'fifo' ? 0 : Number((rdev & 0xffn) | ((rdev >> 12n) & ~0xffn)),
  });
}

/** Whiteout and opaque markers: empty files with the owner and permissions of what they stand for, mtime 0. */
function marker(meta: { uid: number; gid: number; mode: number }): Omit<OutHeader, 'name'> {
  return { kind: 'file', uid: meta.uid, gid: meta.gid, mode: meta.mode & 0o777, mtime: 0 };
}

/**
 * All xattrs under a tree in one `getfattr -R` run (one spawn per tree, not per file), keyed by
 * absolute path; `-P -h`: never follow a symlink. Files vanishing during the walk are not errors.
 * TODO(lead): a `getxattrsTree(dir, pattern)` in src/sys/index.ts would be the proper home.
 */
async function treeXattrs(dir: string, pattern: string): Promise<Map<string, Map<string, Buffer>>> {
  const r = await sys.run('getfattr', ['-R', '-P', '-h', '-d', '-m', pattern, '-e', 'hex', '--absolute-names', dir], { allowFail: true });
  if (r.code !== 0) {
    const other = r.stderr.split('\n').filter((l) => l.trim() && !/No such file or directory/.test(l));
    if (other.length) throw system(`getfattr ${dir}: ${other.join('; ')}`);
  }
  // getfattr escapes backslash, newline and CR in names as \ooo.
  const unescape = (s: string) => s.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8)));
  const out = new Map<string, Map<string, Buffer>>();
  let cur: Map<string, Buffer> | undefined;
  for (const line of r.stdout.split('\n')) {
    if (line.startsWith('# file: ')) {
      cur = new Map();
      out.set(unescape(line.slice(8)), cur);
      continue;
    }
    const m = /^(.+)=0x([0-9a-f]*)$/.exec(line);
    if (m && cur) cur.set(unescape(m[1]), Buffer.from(m[2], 'hex'));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Tar writing (ustar headers, PAX extended headers where ustar cannot say it)

const CHUNK = 256 * 1024;
const SYNC_READ_MAX = 1 << 20;
const BATCH = 64 * 1024;
const readAsync = promisify(read);
const pad = tarPad;

const TYPEFLAG: Record<TarKind, string> = { file: '0', link: '1', symlink: '2', char: '3', block: '4', dir: '5', fifo: '6' };

interface OutHeader extends Omit<TarHeader, 'type'> { kind: TarKind }

/** One entry's header blocks (tar-header.ts), typed by kind. */
function encodeEntry(h: OutHeader): Buffer {
  const { kind, ...rest } = h;
  return encodeTarHeader({ ...rest, type: TYPEFLAG[kind] });
}
