// The tree writer: one tar writer for every tree berth sends anywhere. Its four uses and the
// options each sets:
//
//   layer diff (commit, build steps)  createTreeTar(upper, { layer: true, omit, idMap })
//                                     (store/snapshots/diff-layer.ts createLayerTar)
//   `export`, a volume's copy-up      createTreeTar(dir, { top?, idMap })
//   `cp` out of a container           treeTarBlocks(start, { top, skipContents, idMap }) (copy.ts treeTar)
//   a build context (CLI, compose)    treeTarBlocks(root, { exclude, owner, replace, context: true })
//                                     (context-tar.ts createContextTar)
//
// Walked by descriptor (sys/dirfd.ts), never by path: the tree may be a live container's (export
// of a running container, cp from one, a commit without pause) or a directory someone else can
// write (a build context), and so may change under the walk. Each directory is opened O_NOFOLLOW
// from its already-open parent and each file O_NOFOLLOW from its directory, so an entry swapped
// for a symlink meanwhile is read as the symlink (or skipped), never followed out of the tree.
//
// The tar writing is our own (tar-header.ts) for the same reason the reader is: xattr values
// are bytes and must go into PAX records as bytes, and every header field must be under our
// control for byte-identical output. Determinism: entries are walked depth-first in byte order of
// names; only mode, uid/gid, size, whole-second mtime, link target and device numbers are
// recorded (no atime/ctime, empty uname/gname, fixed PAX header names), so an identical tree
// always gives the same bytes and a rebuilt layer the same digest. Layer tars feed digests:
// their bytes must not change (diff-layer.test.ts and tree-tar.test.ts pin them).
import { closeSync, constants as FS, fstatSync, read, readSync, type BigIntStats } from 'node:fs';
import { promisify } from 'node:util';
import { resolve } from 'node:path';
import { Readable } from 'node:stream';
import { notImplemented, system } from '../common/errors.ts';
import { batchChunks } from '../common/streams.ts';
import type { IdMap } from '../common/idmap.ts';
import * as sys from '../sys/index.ts';
import { openDir, type Dir } from '../sys/dirfd.ts';
import { TYPEFLAG, type ExcludeMatcher, type TarKind } from './archive.ts';
import { BLOCK, encodeTarHeader, tarPad, type TarHeader } from './tar-header.ts';

/** Where a walk starts: `name` in `dir`, or `dir` itself when `name` is `''`. */
export interface TreeStart { dir: Dir; name: string }

export interface TreeTarOptions {
  /**
   * Names: `undefined` (layers, export, contexts): paths relative to the start, which has no
   * entry of its own. A string (cp): the start's own entry is named `top` and everything under it
   * `top/rel`; `''` gives no start entry and `/rel` names (go-archive's form for the root `/`).
   */
  top?: string;
  /** Overlay upper dir: whiteout devices and opaque dirs become `.wh.` markers. */
  layer?: boolean;
  /** xattrs by absolute path (treeXattrs), put into PAX records; none when absent. */
  xattrs?: Map<string, Map<string, Buffer>>;
  /** The start's host path: the key prefix of `xattrs`, and the paths in `context` errors. */
  base?: string;
  /** Relative paths left out with everything under them (commit: mount targets). */
  omit?: ReadonlySet<string>;
  /** Relative paths (`''`: the start) whose entry is written but not their contents (cp: /proc). */
  skipContents?: (rel: string) => boolean;
  /** `--userns-remap`: owners on disk are host IDs; the tar carries the container's. */
  idMap?: IdMap;
  /**
   * Build contexts (.dockerignore): a matched path is left out, a matched directory with
   * everything under it unless `mayReinclude` says an exception may bring back something inside:
   * then its contents are walked without its own entry (docker's rule).
   */
  exclude?: ExcludeMatcher;
  /** uid/gid recorded for every entry instead of each file's own (build contexts: 0:0). */
  owner?: { uid: number; gid: number };
  /**
   * Build contexts: non-directories written with this content instead of theirs (keeping their
   * mode and times), whatever `exclude` says. Each one written is deleted from the map, so what
   * is left afterwards did not exist in the tree.
   */
  replace?: Map<string, Buffer>;
  /**
   * The docker CLI's context walk (archive.TarWithOptions): a directory it cannot read is skipped;
   * a file it cannot read or stat fails with docker's message; only regular files are recorded as
   * hard links; a name that is not UTF-8 fails naming the context.
   */
  context?: boolean;
}

interface WalkContext extends TreeTarOptions {
  /** "dev:ino" of multiply-linked non-directories → the tar name of their first entry. */
  links: Map<string, string>;
  prefix: string;
}

/** A tar of a tree, walked by descriptor, with the end-of-archive blocks. */
export async function* treeTarBlocks(start: TreeStart, o: TreeTarOptions): AsyncGenerator<Buffer> {
  yield* batchChunks(treeTarEntries(start, o), BATCH);
  yield Buffer.alloc(2 * BLOCK); // end-of-archive
}

/** The entries of treeTarBlocks, unbatched and without the end-of-archive blocks (to append more). */
export function treeTarEntries(start: TreeStart, o: TreeTarOptions): AsyncGenerator<Buffer> {
  const ctx: WalkContext = { ...o, links: new Map(), prefix: o.top === undefined ? '' : o.top === '' ? '/' : `${o.top}/` };
  return walkStart(ctx, start);
}

/**
 * A tar of the directory at `dir` (a trusted path: the daemon's own, such as an overlay upper
 * dir or a container's rootfs) with its xattrs (one getfattr walk first). `layer`: an OCI layer
 * of an overlay upper dir: 0/0 character devices become `.wh.<name>` files, a directory with
 * `trusted.overlay.opaque=y` gets a `.wh..wh..opq` entry right after its own, and overlay's
 * `trusted.overlay.*` attributes are left out. `top` gives the directory an entry of its own and
 * `top/`-prefixed names (`.` for a volume's copy-up, whose root takes the source directory's
 * owner and mode). The stream errors if the walk fails; files that vanish while it runs (a
 * running container) are skipped.
 */
export function createTreeTar(dir: string, o: Pick<TreeTarOptions, 'layer' | 'top' | 'omit' | 'idMap'> = {}): Readable {
  return Readable.from(writeTree(dir, o), { objectMode: false });
}

async function* writeTree(base: string, o: Omit<TreeTarOptions, 'xattrs' | 'base'>): AsyncGenerator<Buffer> {
  const root = openDir(resolve(base));
  try {
    yield* treeTarBlocks({ dir: root, name: '' }, { ...o, xattrs: await treeXattrs(base, '-'), base: resolve(base) });
  } finally {
    root.close();
  }
}

/** The names of an open directory, in byte order (as Go sorts: independent of locale and UTF-16). */
export function sortedNames(dir: Dir): string[] {
  return namesOf(dir, undefined, '');
}

function namesOf(dir: Dir, ctx: WalkContext | undefined, absDir: string): string[] {
  let raw: Buffer[];
  try {
    raw = dir.readdir();
  } catch (e) {
    const code = errnoOf(e);
    if (code === 'ENOENT' || code === 'ENOTDIR') return [];
    // docker skips a context directory it cannot read (the walk logs it and goes on).
    if (ctx?.context && (code === 'EACCES' || code === 'EPERM')) return [];
    throw e;
  }
  raw.sort(Buffer.compare);
  // Paths are strings here; a name that is not UTF-8 would be lost silently. Refuse instead.
  return raw.map((b) => {
    const n = b.toString('utf8');
    if (Buffer.from(n).equals(b)) return n;
    if (ctx?.context) throw new Error(`can't add '${absDir}/${n}' to the build context: the file name is not valid UTF-8`);
    throw notImplemented(`file name ${JSON.stringify(n)} is not valid UTF-8`);
  });
}

const seconds = (ns: bigint): number => {
  const s = ns / 1_000_000_000n;
  return Number(ns < 0n && ns % 1_000_000_000n !== 0n ? s - 1n : s);
};

const errnoOf = (e: unknown) => (e as NodeJS.ErrnoException)?.code;
/** The object at a name changed or went away between two calls: skip it, as a vanished file. */
const vanished = (e: unknown) => ['ENOENT', 'ELOOP', 'ENOTDIR', 'EINVAL'].includes(errnoOf(e) ?? '');

/** An overlay whiteout: a 0/0 character device. */
export const isWhiteout = (st: BigIntStats) => st.isCharacterDevice() && st.rdev === 0n;

/** The directory `name` of `dir`, or undefined when it is no longer a directory (changed mid-walk). */
export function openSubdir(dir: Dir, name: string): Dir | undefined {
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
  const ids = ctx.owner ?? (ctx.idMap ? ctx.idMap.toContainer(Number(st.uid), Number(st.gid)) : { uid: Number(st.uid), gid: Number(st.gid) });
  return { uid: ids.uid, gid: ids.gid, mode: Number(st.mode & 0o7777n), mtime: seconds(st.mtimeNs) };
}

/**
 * The walk uses synchronous fs calls, as the extractor does (extract.ts): a thread-pool round
 * trip per lstat/open/read/close made a 54k-file tar take 18 s against GNU tar's 2 s. Contents of
 * files above SYNC_READ_MAX are read asynchronously so a cold disk cannot stall the daemon.
 */
async function* walkDir(ctx: WalkContext, dir: Dir, absDir: string, relDir: string): AsyncGenerator<Buffer> {
  for (const name of namesOf(dir, ctx, absDir)) {
    const rel = relDir ? `${relDir}/${name}` : name;
    if (ctx.omit?.has(rel)) continue;
    yield* walkEntry(ctx, dir, name, rel, absDir === '/' ? `/${name}` : `${absDir}/${name}`);
  }
}

/** One entry `name` of `dir` (`rel` from the start, `''` for the start itself) and what is under it. */
async function* walkEntry(ctx: WalkContext, dir: Dir, name: string, rel: string, abs: string): AsyncGenerator<Buffer> {
  let st: BigIntStats | undefined;
  try {
    st = dir.lstat(name, { bigint: true });
  } catch (e) {
    if (ctx.context && errnoOf(e) === 'EACCES') throw new Error(`can't stat '${abs}'`);
    throw e;
  }
  if (!st) return;
  const tarName = rel === '' ? ctx.top ?? name : ctx.prefix + rel;
  const relDir = rel.includes('/') ? rel.slice(0, rel.lastIndexOf('/')) : '';
  const xattrs = ctx.xattrs?.get(abs);
  const meta = metaOf(ctx, st);

  const replacement = st.isDirectory() ? undefined : ctx.replace?.get(rel);
  if (replacement) {
    ctx.replace!.delete(rel);
    yield Buffer.concat([encodeEntry({ ...meta, name: tarName, kind: 'file', size: replacement.length }), replacement, Buffer.alloc(pad(replacement.length))]);
    return;
  }
  let ownEntry = true;
  if (ctx.exclude?.matches(rel)) {
    // An excluded directory is walked only when an exception may re-include something in it;
    // the directory's own entry stays out (as docker does).
    if (!st.isDirectory() || !ctx.exclude.mayReinclude(rel)) return;
    ownEntry = false;
  }

  if (st.isDirectory()) {
    const sub = openSubdir(dir, name);
    if (!sub) return;
    try {
      if (ownEntry && (rel !== '' || ctx.top)) yield encodeEntry({ ...meta, name: `${tarName}/`, kind: 'dir', xattrs });
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
  // The docker CLI's context walk records only regular files as hard links.
  const key = st.nlink > 1n && (!ctx.context || st.isFile()) ? `${st.dev}:${st.ino}` : undefined;
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
      if (ctx.context && (errnoOf(e) === 'EACCES' || errnoOf(e) === 'EPERM')) throw new Error(`no permission to read from '${abs}'`);
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
export async function treeXattrs(dir: string, pattern: string): Promise<Map<string, Map<string, Buffer>>> {
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
// Tar writing (ustar headers, PAX extended headers where ustar cannot say it: tar-header.ts)

const CHUNK = 256 * 1024;
const SYNC_READ_MAX = 1 << 20;
/** Small entries are gathered into chunks of about this size (one write per header costs more than making it). */
const BATCH = 64 * 1024;
const readAsync = promisify(read);
const pad = tarPad;

interface OutHeader extends Omit<TarHeader, 'type'> { kind: TarKind }

/** One entry's header blocks (tar-header.ts), typed by kind. */
function encodeEntry(h: OutHeader): Buffer {
  const { kind, ...rest } = h;
  return encodeTarHeader({ ...rest, type: TYPEFLAG[kind] });
}
