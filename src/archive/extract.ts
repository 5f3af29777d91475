// The extractor: a tar into a directory, entry by entry, never writing through a symlink. Used
// as it is for ordinary archives (`cp` on both sides, a build's context, ADD of a local tar, a
// volume's copy-up) and, with whiteouts on top, for image layers (store/snapshots/apply-layer.ts).
//
// Safety (DESIGN.md "Safety rules for the code"): entry names are cleaned lexically from the root
// (`/etc/x` → `etc/x`, `../../etc/passwd` → `etc/passwd`; confine.ts); a parent directory that is
// a symlink on disk is never followed: the tar is rejected (InvalidParameter, "layer breakout")
// before anything is written through it; existing final components are removed before the new
// entry is created (files with O_CREAT|O_EXCL|O_NOFOLLOW), so nothing is ever written through a
// symlink; hard link targets must be inside the root and reached without symlinks. Symlink
// targets are stored exactly as in the tar and never resolved.
//
// `root` is a path for trees the daemon owns (a layer directory, a build's scratch tree, the CLI's
// destination); an open directory (sys/dirfd.ts) for a tree a container can change meanwhile
// (docker cp into a container): then every parent is reached by descriptor (confine.ts FdRoot).
import {
  chmodSync, closeSync, constants as FS, fchmodSync, fchownSync, futimesSync, lchownSync, linkSync, lstatSync,
  lutimesSync, mkdirSync, openSync, symlinkSync, write, type Stats,
} from 'node:fs';
import { promisify } from 'node:util';
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { EngineError, invalid } from '../common/errors.ts';
import { cleanPath } from '../common/go-path.ts';
import { writeAllSync } from '../common/write-all.ts';
import type { IdMap } from '../common/idmap.ts';
import * as sys from '../sys/index.ts';
import { fdPath, O_PATH, type Dir } from '../sys/dirfd.ts';
import { FdRoot, SafeRoot, cleanEntryPath, cleanLinkTarget, type ExtractRoot } from './confine.ts';
import { TarReader } from './tar-reader.ts';
import type { TarEntry } from './archive.ts';

export interface ExtractOptions {
  /**
   * When given, the sha256 (hex) of every regular file's data is recorded here by its host
   * path, computed while the file is written (a build hashes its context without reading it again).
   */
  fileHashes?: Map<string, string>;
  /** docker cp: refuse to replace a directory by a non-directory or the reverse. */
  noOverwriteDirNonDir?: boolean;
  /** docker cp -a with a container user (and the CLI's side): every entry owned by these ids. */
  chown?: { uid: number; gid: number };
  /**
   * docker cp: refuse a relative name that climbs above the root (`../x`, `a/../../x`) as
   * Docker's Unpack does, instead of clamping it; the value names the destination in the error
   * (`"../x" is outside of "/tmp"`). Absolute names stay relative to the root, as in Docker.
   */
  refuseOutside?: string;
  /**
   * `--userns-remap`: the tar's IDs are the container's; each entry is owned by their host IDs
   * (after `chown`, which is in container IDs too). An ID outside the map refuses the tar.
   */
  idMap?: IdMap;
}

/**
 * Unpacks an ordinary tar (`.wh.` names are plain files) into `root`, an existing directory, and
 * returns the total size of the regular files written. On failure `root` is left partially
 * extracted. The input is drained to its end on success (so a digest computed over it covers
 * the whole blob) and left alone on failure: the caller owns it.
 */
export async function extractTar(root: string | Dir, tar: NodeJS.ReadableStream | Readable, opts: ExtractOptions = {}): Promise<{ size: number }> {
  return runExtractor(new Extractor(root, opts), tar);
}

/** Feeds every entry of `tar` to `x`, then sets directory times and drains the input. */
export async function runExtractor(x: Extractor, tar: NodeJS.ReadableStream | Readable): Promise<{ size: number }> {
  const reader = new TarReader(tar as AsyncIterable<Buffer | string>);
  for (let e = await reader.next(); e; e = await reader.next()) {
    await x.entry(e, reader.body());
  }
  x.finish();
  await reader.drain();
  return { size: x.size };
}

const O_NEWFILE = FS.O_WRONLY | FS.O_CREAT | FS.O_EXCL | FS.O_NOFOLLOW;
/** Files up to this size are written with writeSync; larger ones with async writes (see below). */
const SYNC_WRITE_MAX = 1 << 20;
const writeAsync = promisify(write);

const errno = (e: unknown): string | undefined => (e as NodeJS.ErrnoException)?.code;

/**
 * Applies entries one at a time, in tar order.
 *
 * Why synchronous fs calls: a layer holds tens of thousands of small files, each needing open,
 * write, fchown, fchmod, futimes and close. Through the libuv thread pool every one of those is a
 * round trip (~60 µs each on these machines: a 54k-file tar took 25 s, GNU tar 4 s), while the
 * syscalls themselves take microseconds on a local disk. Done synchronously, an entry blocks the
 * event loop for tens of microseconds, and the loop still turns whenever the next input chunk is
 * awaited. Only data of large files is written asynchronously, so slow disk writeback cannot
 * stall the daemon; spawns (whiteouts, devices, xattrs) stay async.
 */
export class Extractor {
  size = 0;
  protected readonly root: ExtractRoot;
  /** Directory times are set last: writing children would change them again. */
  readonly #dirTimes = new Map<string, { parts: string[]; atime: number; mtime: number }>();
  /**
   * Every path this tar wrote, with its ancestors, when a subclass asks for it (a flattened
   * layer's opaque marker keeps exactly these).
   */
  protected written: Set<string> | undefined;

  readonly #hashes: Map<string, string> | undefined;
  readonly #noOverwrite: boolean;
  readonly #chown: { uid: number; gid: number } | undefined;
  readonly #idMap: IdMap | undefined;

  readonly #refuseOutside: string | undefined;
  constructor(root: string | Dir, o: ExtractOptions = {}) {
    this.#hashes = o.fileHashes;
    this.#refuseOutside = o.refuseOutside;
    this.#noOverwrite = !!o.noOverwriteDirNonDir;
    this.#chown = o.chown;
    this.#idMap = o.idMap;
    this.root = typeof root === 'string' ? new SafeRoot(root) : new FdRoot(root);
  }

  /**
   * An entry a subclass handles itself before the generic path (a layer's whiteouts): `parts`
   * is the cleaned name. True when it was handled.
   */
  protected special(_parts: string[], _e: TarEntry): Promise<boolean> | boolean {
    return false;
  }

  async entry(e: TarEntry, body: AsyncIterable<Buffer>): Promise<void> {
    if (this.#refuseOutside !== undefined) {
      const rel = cleanPath(e.name);
      if (rel === '..' || rel.startsWith('../')) {
        throw new EngineError('System', `${JSON.stringify(rel)} is outside of ${JSON.stringify(this.#refuseOutside)}`);
      }
    }
    const parts = cleanEntryPath(e.name);
    if (await this.special(parts, e)) return;
    if (parts.length === 0 && e.kind !== 'dir') throw invalid(`invalid layer: ${JSON.stringify(e.name)} would replace the root directory`);
    if (this.written) this.#noteWritten(parts);
    if (this.#chown) e = { ...e, uid: this.#chown.uid, gid: this.#chown.gid };
    if (this.#idMap) e = { ...e, ...this.#idMap.toHost(e.uid, e.gid) };
    if (this.#noOverwrite && parts.length && this.root.parents(parts, e.name, { create: false })) {
      let st: Stats | undefined;
      try { st = lstatSync(this.root.abs(parts)); } catch (err) { if (errno(err) !== 'ENOENT') throw err; }
      const shown = `/${parts.join('/')}`;
      if (st?.isDirectory() && e.kind !== 'dir') throw invalid(`cannot overwrite directory "${shown}" with non-directory "${shown}"`);
      if (st && !st.isDirectory() && e.kind === 'dir') throw invalid(`cannot overwrite non-directory "${shown}" with directory "${shown}"`);
    }

    switch (e.kind) {
      case 'file': return this.#file(parts, e, body);
      case 'dir': return this.#dir(parts, e);
      case 'symlink': return this.#symlink(parts, e);
      case 'link': return this.#hardlink(parts, e);
      case 'char': case 'block': case 'fifo': return this.#node(parts, e);
    }
  }

  finish(): void {
    for (const { parts, atime, mtime } of this.#dirTimes.values()) {
      // Removals drop their pending entries, so every dir here still exists behind real dirs;
      // checking again costs little (cached) and keeps lutimes from ever crossing a symlink.
      if (!this.root.parents(parts, parts.join('/'), { create: false })) continue;
      const p = this.root.abs(parts);
      try {
        if (!lstatSync(p).isDirectory()) continue;
        lutimesSync(p, atime, mtime);
      } catch (err) {
        if (errno(err) !== 'ENOENT') throw err;
      }
    }
  }

  #noteWritten(parts: string[]): void {
    let rel = '';
    for (const c of parts) {
      rel = rel ? `${rel}/${c}` : c;
      this.written!.add(rel);
    }
  }

  async #file(parts: string[], e: TarEntry, body: AsyncIterable<Buffer>): Promise<void> {
    this.root.parents(parts, e.name, { create: true });
    const p = this.root.abs(parts);
    let fd: number;
    try {
      fd = openSync(p, O_NEWFILE, 0o600);
    } catch (err) {
      if (errno(err) !== 'EEXIST') throw err;
      this.remove(parts);
      fd = openSync(p, O_NEWFILE, 0o600);
    }
    try {
      const big = e.size > SYNC_WRITE_MAX;
      const h = this.#hashes ? createHash('sha256') : undefined;
      // Large files: positional writes, several in flight, so the disk and the input overlap.
      const inflight: Promise<void>[] = [];
      let pos = 0;
      const writeAt = async (chunk: Buffer, at: number) => {
        for (let off = 0; off < chunk.length; ) off += (await writeAsync(fd, chunk, off, chunk.length - off, at + off)).bytesWritten;
      };
      try {
        for await (const chunk of body) {
          h?.update(chunk);
          if (big) {
            inflight.push(writeAt(chunk, pos));
            pos += chunk.length;
            if (inflight.length >= 8) await inflight.shift();
          } else {
            writeAllSync(fd, chunk);
          }
        }
      } finally {
        await Promise.all(inflight);
      }
      if (h) this.#hashes!.set(p, h.digest('hex'));
      // chown before chmod: chown clears setuid/setgid on regular files.
      fchownSync(fd, e.uid, e.gid);
      fchmodSync(fd, e.mode);
      futimesSync(fd, e.atime, e.mtime);
    } finally {
      closeSync(fd);
    }
    this.size += e.size;
    // After chown, which would clear security.capability. setxattr leaves mtime alone.
    if (e.xattrs.size) await this.#xattrs(p, e);
  }

  async #dir(parts: string[], e: TarEntry): Promise<void> {
    // Missing parents are made first (a tar need not list them: moby's Unpack makes them too), so
    // that a root resolving by descriptor finds the directory above.
    if (parts.length) this.root.parents(parts, e.name, { create: true });
    const p = this.root.abs(parts);
    if (parts.length) {
      try {
        mkdirSync(p, 0o700);
      } catch (err) {
        if (errno(err) !== 'EEXIST') throw err;
        // An existing directory is kept (its metadata updated); anything else is replaced.
        if (!lstatSync(p).isDirectory()) {
          this.remove(parts);
          mkdirSync(p, 0o700);
        }
      }
      this.root.noteDir(parts);
    }
    // Owner and mode through a descriptor of the directory itself (O_NOFOLLOW): were it swapped
    // for a symlink since, the open fails rather than chmod following the link.
    const fd = openSync(p, FS.O_RDONLY | FS.O_DIRECTORY | FS.O_NOFOLLOW);
    try {
      fchownSync(fd, e.uid, e.gid);
      fchmodSync(fd, e.mode);
    } finally {
      closeSync(fd);
    }
    if (e.xattrs.size) await this.#xattrs(p, e);
    this.#dirTimes.set(parts.join('/'), { parts, atime: e.atime, mtime: e.mtime });
  }

  async #symlink(parts: string[], e: TarEntry): Promise<void> {
    if (!e.linkname) throw invalid(`invalid layer: symbolic link ${JSON.stringify(e.name)} has no target`);
    this.root.parents(parts, e.name, { create: true });
    const p = this.root.abs(parts);
    try {
      symlinkSync(e.linkname, p);
    } catch (err) {
      if (errno(err) !== 'EEXIST') throw err;
      this.remove(parts);
      symlinkSync(e.linkname, p);
    }
    lchownSync(p, e.uid, e.gid);
    if (e.xattrs.size) await this.#xattrs(p, e);
    lutimesSync(p, e.atime, e.mtime);
  }

  /**
   * A hard link shares the inode of an entry already extracted; its own header metadata is not
   * applied (the inode got it from its first entry). link(2) does not follow a final symlink, so
   * a link to a symlink is a second name of the symlink itself.
   */
  #hardlink(parts: string[], e: TarEntry): void {
    const target = cleanLinkTarget(e.linkname, e.name);
    const missing = () => invalid(`invalid layer: hard link ${JSON.stringify(e.name)} points to ${JSON.stringify(e.linkname)}, which does not exist`);
    if (!this.root.parents(target, e.name, { create: false })) throw missing();
    const tp = this.root.abs(target);
    let tst: Stats;
    try {
      tst = lstatSync(tp);
    } catch (err) {
      if (errno(err) === 'ENOENT') throw missing();
      throw err;
    }
    if (tst.isDirectory()) throw invalid(`invalid layer: hard link ${JSON.stringify(e.name)} points to a directory`);
    this.root.parents(parts, e.name, { create: true });
    const p = this.root.abs(parts);
    try {
      linkSync(tp, p);
    } catch (err) {
      if (errno(err) !== 'EEXIST') throw err;
      const st = lstatSync(p);
      if (st.ino === tst.ino && st.dev === tst.dev) return; // already that file (also: a link to itself)
      this.remove(parts);
      linkSync(tp, p);
    }
  }

  async #node(parts: string[], e: TarEntry): Promise<void> {
    this.root.parents(parts, e.name, { create: true });
    const p = this.root.abs(parts);
    this.remove(parts);
    const type = e.kind === 'char' ? 'c' : e.kind === 'block' ? 'b' : 'p';
    await sys.mknod(p, type, e.devmajor, e.devminor, e.mode);
    lchownSync(p, e.uid, e.gid);
    // chmod(2) follows links: it goes through an O_PATH descriptor of the node just made (the
    // magic link leads to exactly that inode), never through its name.
    const fd = openSync(p, O_PATH | FS.O_NOFOLLOW);
    try {
      chmodSync(fdPath(fd), e.mode);
    } finally {
      closeSync(fd);
    }
    if (e.xattrs.size) await this.#xattrs(p, e);
    lutimesSync(p, e.atime, e.mtime);
  }

  /** Removes whatever is at `parts` (recursively for a directory, never following a symlink). */
  protected remove(parts: string[]): void {
    const p = this.root.abs(parts);
    let st: Stats;
    try {
      st = lstatSync(p);
    } catch (err) {
      if (errno(err) === 'ENOENT') return;
      throw err;
    }
    this.root.remove(parts);
    if (!st.isDirectory()) return;
    // The directory may come back as a symlink: cached checks and pending times below it are void.
    this.root.forget();
    const rel = parts.join('/');
    for (const k of this.#dirTimes.keys()) {
      if (rel === '' || k === rel || k.startsWith(`${rel}/`)) this.#dirTimes.delete(k);
    }
  }

  async #xattrs(p: string, e: TarEntry): Promise<void> {
    for (const [name, value] of e.xattrs) {
      // Overlay's own attributes are the snapshotter's business, never an image's.
      if (name.startsWith('trusted.overlay.')) continue;
      try {
        await sys.setxattr(p, name, value);
      } catch (err) {
        // As Docker: a filesystem or object that cannot hold the attribute (ENOTSUP, EPERM,
        // e.g. user.* on a symlink) does not fail the layer.
        if (/Operation not supported|Operation not permitted/.test((err as Error).message)) continue;
        throw err;
      }
    }
  }
}
