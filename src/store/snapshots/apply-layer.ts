// Layer extraction: an OCI/Docker layer tar (already gunzipped) is unpacked into a directory,
// either as an overlayfs lower layer of its own ('overlay') or onto an existing tree ('flatten').
//
// Why a tar reader of our own instead of tar-stream's extract: tar-stream decodes PAX records as
// UTF-8 text, which corrupts binary xattr values (`security.capability` of e.g. newuidmap holds
// bytes >= 0x80), and it reads data blocks after link/device headers that Go's archive/tar (the
// writer of nearly every layer) treats as header-only. The reader below keeps PAX values as bytes
// and follows Go's rules. It is small: ustar, GNU long names, PAX local and global headers.
import {
  chmodSync, closeSync, constants as FS, fchmodSync, fchownSync, futimesSync, lchownSync, linkSync, lstatSync,
  lutimesSync, mkdirSync, openSync, readdirSync, symlinkSync, write, writeSync, type Stats,
} from 'node:fs';
import { promisify } from 'node:util';
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { EngineError, invalid } from '../../common/errors.ts';
import { cleanPath } from '../../common/go-path.ts';
import * as sys from '../../sys/index.ts';
import { FdRoot, SafeRoot, cleanEntryPath, cleanLinkTarget, type ExtractRoot } from './safe-path.ts';
import { fdPath, O_PATH, type Dir } from '../../sys/dirfd.ts';
import type { IdMap } from '../../common/idmap.ts';

export interface ApplyLayerOptions {
  /**
   * 'overlay': `root` is an empty layer directory that will be an overlayfs lowerdir; whiteouts
   * become 0/0 character devices and opaque markers the `trusted.overlay.opaque=y` xattr.
   * 'flatten': the tar is applied onto the existing tree in `root`; whiteouts delete.
   * 'plain': an ordinary archive (a build context, ADD of a local tar): `.wh.` names are files.
   */
  mode: 'overlay' | 'flatten' | 'plain';
  /**
   * When given, the sha256 (hex) of every regular file's data is recorded here by its host
   * path, computed while the file is written (a build hashes its context without reading it again).
   */
  fileHashes?: Map<string, string>;
  /** 'plain' (docker cp): refuse to replace a directory by a non-directory or the reverse. */
  noOverwriteDirNonDir?: boolean;
  /** 'plain' (docker cp -a with a container user): every entry owned by these ids. */
  chown?: { uid: number; gid: number };
  /**
   * 'plain' (docker cp): refuse a relative name that climbs above the root (`../x`, `a/../../x`)
   * as Docker's Unpack does, instead of clamping it; the value names the destination in the
   * error (`"../x" is outside of "/tmp"`). Absolute names stay relative to the root, as in Docker.
   */
  refuseOutside?: string;
  /**
   * `--userns-remap`: the tar's IDs are the container's; each entry is owned by their host IDs
   * (after `chown`, which is in container IDs too). An ID outside the map refuses the tar.
   */
  idMap?: IdMap;
}

/**
 * Unpacks a layer tar into `root` (an existing directory) and returns the total size of the
 * regular files written.
 *
 * Safety (DESIGN.md "Safety rules for the code"): entry names are cleaned lexically from the root
 * (`/etc/x` → `etc/x`, `../../etc/passwd` → `etc/passwd`); a parent directory that is a symlink on
 * disk is never followed: the layer is rejected (InvalidParameter, "layer breakout") before
 * anything is written through it; existing final components are removed before the new entry is
 * created (files with O_CREAT|O_EXCL|O_NOFOLLOW), so nothing is ever written through a symlink;
 * hard link targets must be inside the root and reached without symlinks. Symlink targets are
 * stored exactly as in the tar and never resolved.
 *
 * `root` is a path for trees the daemon owns (a layer directory, a build's scratch tree); an open
 * directory (sys/dirfd.ts) for a tree a container can change meanwhile (docker cp into a
 * container): then every parent is reached by descriptor (safe-path.ts FdRoot).
 *
 * On failure `root` is left partially extracted: the caller must delete it (the snapshotter
 * unpacks into a temp dir and removes it). The input stream is drained to its end on success (so
 * a digest computed over it covers the whole blob) and left alone on failure: the caller owns it.
 */
export async function applyLayer(root: string | Dir, tar: NodeJS.ReadableStream | Readable, opts: ApplyLayerOptions): Promise<{ size: number }> {
  const reader = new TarReader(tar as AsyncIterable<Buffer | string>);
  const x = new Extractor(root, opts.mode, opts.fileHashes, opts);
  for (let e = await reader.next(); e; e = await reader.next()) {
    await x.entry(e, reader.body());
  }
  x.finish();
  await reader.drain();
  return { size: x.size };
}

// ---------------------------------------------------------------------------------------------
// Extraction

const WH = '.wh.';
const WH_OPAQUE = '.wh..wh..opq';
const WH_META = '.wh..wh.'; // AUFS bookkeeping (.wh..wh.plnk, .wh..wh.aufs): never image content

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
class Extractor {
  size = 0;
  readonly #root: ExtractRoot;
  readonly #mode: 'overlay' | 'flatten' | 'plain';
  /** Directory times are set last: writing children would change them again. */
  readonly #dirTimes = new Map<string, { parts: string[]; atime: number; mtime: number }>();
  /** flatten: every path this tar wrote, with its ancestors; an opaque marker keeps exactly these. */
  readonly #written: Set<string> | undefined;

  readonly #hashes: Map<string, string> | undefined;
  readonly #noOverwrite: boolean;
  readonly #chown: { uid: number; gid: number } | undefined;
  readonly #idMap: IdMap | undefined;

  readonly #refuseOutside: string | undefined;
  constructor(root: string | Dir, mode: 'overlay' | 'flatten' | 'plain', hashes?: Map<string, string>, o: Pick<ApplyLayerOptions, 'noOverwriteDirNonDir' | 'chown' | 'refuseOutside' | 'idMap'> = {}) {
    this.#hashes = hashes;
    this.#refuseOutside = o.refuseOutside;
    this.#noOverwrite = !!o.noOverwriteDirNonDir;
    this.#chown = o.chown;
    this.#idMap = o.idMap;
    this.#root = typeof root === 'string' ? new SafeRoot(root) : new FdRoot(root);
    this.#mode = mode;
    this.#written = mode === 'flatten' ? new Set() : undefined;
  }

  async entry(e: TarEntry, body: AsyncIterable<Buffer>): Promise<void> {
    if (this.#refuseOutside !== undefined) {
      const rel = cleanPath(e.name);
      if (rel === '..' || rel.startsWith('../')) {
        throw new EngineError('System', `${JSON.stringify(rel)} is outside of ${JSON.stringify(this.#refuseOutside)}`);
      }
    }
    const parts = cleanEntryPath(e.name);
    const base = parts.length ? parts[parts.length - 1] : '';
    if (this.#mode !== 'plain') {
      if (base === WH_OPAQUE) return this.#opaque(parts.slice(0, -1), e.name);
      if (parts.length && parts[0].startsWith(WH_META)) return;
      if (base.startsWith(WH)) return this.#whiteout(parts, e.name);
    }
    if (parts.length === 0 && e.kind !== 'dir') throw invalid(`invalid layer: ${JSON.stringify(e.name)} would replace the root directory`);
    if (this.#written) this.#noteWritten(parts);
    if (this.#chown) e = { ...e, uid: this.#chown.uid, gid: this.#chown.gid };
    if (this.#idMap) e = { ...e, ...this.#idMap.toHost(e.uid, e.gid) };
    if (this.#noOverwrite && parts.length && this.#root.parents(parts, e.name, { create: false })) {
      let st: Stats | undefined;
      try { st = lstatSync(this.#root.abs(parts)); } catch (err) { if (errno(err) !== 'ENOENT') throw err; }
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
      if (!this.#root.parents(parts, parts.join('/'), { create: false })) continue;
      const p = this.#root.abs(parts);
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
      this.#written!.add(rel);
    }
  }

  async #file(parts: string[], e: TarEntry, body: AsyncIterable<Buffer>): Promise<void> {
    this.#root.parents(parts, e.name, { create: true });
    const p = this.#root.abs(parts);
    let fd: number;
    try {
      fd = openSync(p, O_NEWFILE, 0o600);
    } catch (err) {
      if (errno(err) !== 'EEXIST') throw err;
      this.#remove(parts);
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
            for (let off = 0; off < chunk.length; ) off += writeSync(fd, chunk, off);
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
    if (parts.length) this.#root.parents(parts, e.name, { create: true });
    const p = this.#root.abs(parts);
    if (parts.length) {
      try {
        mkdirSync(p, 0o700);
      } catch (err) {
        if (errno(err) !== 'EEXIST') throw err;
        // An existing directory is kept (its metadata updated); anything else is replaced.
        if (!lstatSync(p).isDirectory()) {
          this.#remove(parts);
          mkdirSync(p, 0o700);
        }
      }
      this.#root.noteDir(parts);
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
    this.#root.parents(parts, e.name, { create: true });
    const p = this.#root.abs(parts);
    try {
      symlinkSync(e.linkname, p);
    } catch (err) {
      if (errno(err) !== 'EEXIST') throw err;
      this.#remove(parts);
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
    if (!this.#root.parents(target, e.name, { create: false })) throw missing();
    const tp = this.#root.abs(target);
    let tst: Stats;
    try {
      tst = lstatSync(tp);
    } catch (err) {
      if (errno(err) === 'ENOENT') throw missing();
      throw err;
    }
    if (tst.isDirectory()) throw invalid(`invalid layer: hard link ${JSON.stringify(e.name)} points to a directory`);
    this.#root.parents(parts, e.name, { create: true });
    const p = this.#root.abs(parts);
    try {
      linkSync(tp, p);
    } catch (err) {
      if (errno(err) !== 'EEXIST') throw err;
      const st = lstatSync(p);
      if (st.ino === tst.ino && st.dev === tst.dev) return; // already that file (also: a link to itself)
      this.#remove(parts);
      linkSync(tp, p);
    }
  }

  async #node(parts: string[], e: TarEntry): Promise<void> {
    this.#root.parents(parts, e.name, { create: true });
    const p = this.#root.abs(parts);
    this.#remove(parts);
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

  /** `.wh.<name>`: delete `<name>` of the layers below. The marker itself is never written. */
  async #whiteout(parts: string[], entry: string): Promise<void> {
    const name = parts[parts.length - 1].slice(WH.length);
    if (name === '' || name === '.' || name === '..') throw invalid(`invalid layer: bad whiteout ${JSON.stringify(entry)}`);
    const target = [...parts.slice(0, -1), name];
    if (this.#mode === 'overlay') {
      this.#root.parents(target, entry, { create: true });
      this.#remove(target);
      await sys.mknodWhiteout(this.#root.abs(target));
      return;
    }
    if (!this.#root.parents(target, entry, { create: false })) return;
    this.#remove(target);
  }

  /** `<dir>/.wh..wh..opq`: hide everything the layers below have in `<dir>`. */
  async #opaque(dir: string[], entry: string): Promise<void> {
    if (this.#mode === 'overlay') {
      this.#root.dir(dir, entry, { create: true });
      await sys.markOpaque(this.#root.abs(dir));
      return;
    }
    if (!this.#root.dir(dir, entry, { create: false })) return;
    this.#prune(dir);
  }

  /** flatten: removes what is under `dir` that this tar did not write (so far). */
  #prune(dir: string[]): void {
    for (const name of readdirSync(this.#root.abs(dir))) {
      const child = [...dir, name];
      if (!this.#written!.has(child.join('/'))) this.#remove(child);
      else if (lstatSync(this.#root.abs(child)).isDirectory()) this.#prune(child);
    }
  }

  /** Removes whatever is at `parts` (recursively for a directory, never following a symlink). */
  #remove(parts: string[]): void {
    const p = this.#root.abs(parts);
    let st: Stats;
    try {
      st = lstatSync(p);
    } catch (err) {
      if (errno(err) === 'ENOENT') return;
      throw err;
    }
    this.#root.remove(parts);
    if (!st.isDirectory()) return;
    // The directory may come back as a symlink: cached checks and pending times below it are void.
    this.#root.forget();
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

// ---------------------------------------------------------------------------------------------
// Tar reading

export type TarKind = 'file' | 'dir' | 'symlink' | 'link' | 'char' | 'block' | 'fifo';

export interface TarEntry {
  name: string;
  linkname: string;
  kind: TarKind;
  /** Permission bits with setuid/setgid/sticky (type bits masked off). */
  mode: number;
  uid: number;
  gid: number;
  /** Data size; 0 for every kind but 'file'. */
  size: number;
  /** Seconds since the epoch, fractional when a PAX record says so. */
  mtime: number;
  atime: number;
  devmajor: number;
  devminor: number;
  xattrs: Map<string, Buffer>;
}

const BLOCK = 512;
/**
 * Upper bound for one PAX ('x', 'g') or GNU long-name ('L', 'K') payload: metadata, never file
 * data. Go's archive/tar (maxSpecialFileSize, which every layer Docker unpacks goes through)
 * refuses larger ones with ErrFieldTooLong.
 */
export const MAX_META = 1 << 20;
const EMPTY = Buffer.alloc(0);
const pad = (n: number) => (BLOCK - (n % BLOCK)) % BLOCK;

const KINDS: Record<string, TarKind> = {
  '0': 'file', '\0': 'file', '7': 'file', '1': 'link', '2': 'symlink',
  '3': 'char', '4': 'block', '5': 'dir', '6': 'fifo',
};

/**
 * A pull-style streaming tar reader: `next()` gives the next entry header, `body()` its data.
 * Data not read by the caller is skipped by the following `next()`.
 *
 * Metadata headers follow Go's archive/tar (Reader.next), so that memory stays bounded whatever a
 * tar holds: each is at most MAX_META bytes, and a header *replaces* the one of its kind before
 * it instead of adding to it. Before one entry, five 'x' headers leave only the fifth's records
 * (at most 1 MiB of them), two 'L' headers only the second name. A global 'g' header is read
 * (and checked) and then ignored, as Docker's unpacker ignores it ("PAX Global Extended Headers
 * found and ignored"): Go hands it back as an entry of its own, so it applies to no later entry
 * and drops the local headers read before it. So one entry's metadata is at most three payloads
 * of MAX_META, and nothing is kept from one entry to the next.
 */
export class TarReader {
  readonly #it: AsyncIterator<Buffer | string>;
  #chunk: Buffer = EMPTY;
  #pos = 0;
  #eof = false;
  #data = 0; // unread data bytes of the current entry
  #pad = 0;

  constructor(src: AsyncIterable<Buffer | string>) {
    this.#it = src[Symbol.asyncIterator]();
  }

  async #fill(): Promise<boolean> {
    while (this.#pos >= this.#chunk.length) {
      if (this.#eof) return false;
      const r = await this.#it.next();
      if (r.done) {
        this.#eof = true;
        return false;
      }
      this.#chunk = typeof r.value === 'string' ? Buffer.from(r.value) : r.value;
      this.#pos = 0;
    }
    return true;
  }

  /** Exactly n bytes; undefined at a clean end of stream before the first byte. */
  async #read(n: number): Promise<Buffer | undefined> {
    if (!(await this.#fill())) return undefined;
    if (this.#chunk.length - this.#pos >= n) {
      const b = this.#chunk.subarray(this.#pos, this.#pos + n);
      this.#pos += n;
      return b;
    }
    const parts: Buffer[] = [];
    for (let got = 0; got < n; ) {
      if (!(await this.#fill())) throw invalid('invalid tar: unexpected end of stream');
      const take = Math.min(n - got, this.#chunk.length - this.#pos);
      parts.push(this.#chunk.subarray(this.#pos, this.#pos + take));
      this.#pos += take;
      got += take;
    }
    return Buffer.concat(parts, n);
  }

  async #skip(n: number): Promise<void> {
    while (n > 0) {
      if (!(await this.#fill())) throw invalid('invalid tar: unexpected end of stream');
      const take = Math.min(n, this.#chunk.length - this.#pos);
      this.#pos += take;
      n -= take;
    }
  }

  /** The data of the current entry, as slices of the input chunks (no copy, no buffering). */
  async *body(): AsyncGenerator<Buffer> {
    while (this.#data > 0) {
      if (!(await this.#fill())) throw invalid('invalid tar: unexpected end of stream');
      const take = Math.min(this.#data, this.#chunk.length - this.#pos);
      const b = this.#chunk.subarray(this.#pos, this.#pos + take);
      this.#pos += take;
      this.#data -= take;
      yield b;
    }
  }

  /** Reads to the end of the input (end-of-archive blocks, record padding, anything after). */
  async drain(): Promise<void> {
    this.#pos = this.#chunk.length;
    while (await this.#fill()) this.#pos = this.#chunk.length;
  }

  async next(): Promise<TarEntry | undefined> {
    await this.#skip(this.#data);
    // The end of the stream where the last entry's padding would start is a clean end, as in Go
    // (tryReadFull of the padding): the docker CLI's `build -f <file outside the context>` sends
    // such a context (its rewritten tar has neither that padding nor the end-of-archive blocks).
    const padding = this.#pad;
    this.#data = this.#pad = 0;
    if (padding) {
      if (!(await this.#fill())) return undefined;
      await this.#skip(padding);
    }
    let pax: Map<string, Buffer> | undefined;
    let longName: string | undefined;
    let longLink: string | undefined;
    for (;;) {
      const h = await this.#read(BLOCK);
      // End of the stream at a header boundary is accepted without the two zero blocks, as Go does.
      if (!h) return undefined;
      if (isZero(h)) return undefined;
      checkChecksum(h);
      const flag = String.fromCharCode(h[156]);
      const size = octal(h, 124, 12, 'size');
      if (flag === 'x' || flag === 'g' || flag === 'L' || flag === 'K') {
        if (size > MAX_META) {
          throw invalid(`invalid tar: header field too long: a ${size}-byte ${META_NAMES[flag]} header (at most ${MAX_META} bytes)`);
        }
        const data = size ? await this.#read(size) : EMPTY;
        if (!data) throw invalid('invalid tar: unexpected end of stream');
        await this.#skip(pad(size));
        // Each replaces the previous one of its kind (Go: `paxHdrs, err = parsePAX(tr)`).
        if (flag === 'x') pax = parsePax(data);
        else if (flag === 'L') longName = cString(data);
        else if (flag === 'K') longLink = cString(data);
        else {
          parsePax(data); // malformed records are an error, as in Go
          pax = longName = longLink = undefined;
        }
        continue;
      }
      const entry = this.#entry(h, flag, size, pax, longName, longLink);
      this.#data = entry.size;
      this.#pad = pad(entry.size);
      return entry;
    }
  }

  #entry(h: Buffer, flag: string, size: number, local: Map<string, Buffer> | undefined, longName?: string, longLink?: string): TarEntry {
    const pax = local ?? new Map<string, Buffer>();
    const ustar = h.toString('latin1', 257, 263) === 'ustar\0';
    let name = cString(h.subarray(0, 100));
    if (ustar && h[345] !== 0) name = `${cString(h.subarray(345, 500))}/${name}`;
    // Go: the PAX path replaces the header's name, and a GNU long name (when not empty) both.
    name = (longName || undefined) ?? paxString(pax, 'path') ?? name;
    let kind = KINDS[flag];
    if (!kind) {
      throw invalid(`invalid layer: unsupported tar entry type ${JSON.stringify(flag)} for ${JSON.stringify(name)}`);
    }
    // Pre-POSIX tars mark directories with a trailing slash only.
    if ((flag === '\0' || flag === '0') && name.endsWith('/')) kind = 'dir';
    for (const k of pax.keys()) {
      if (k.startsWith('GNU.sparse.')) throw invalid(`invalid layer: sparse file ${JSON.stringify(name)} is not supported`);
    }
    const mtime = paxNumber(pax, 'mtime') ?? octal(h, 136, 12, 'mtime');
    const uid = paxNumber(pax, 'uid') ?? octal(h, 108, 8, 'uid');
    const gid = paxNumber(pax, 'gid') ?? octal(h, 116, 8, 'gid');
    const dataSize = paxNumber(pax, 'size') ?? size;
    for (const [what, v] of [['uid', uid], ['gid', gid], ['size', dataSize]] as const) {
      // IDs are 32-bit on Linux (and to chown): a bigger one from PAX or base-256 is refused, not a RangeError later.
      if (!Number.isSafeInteger(v) || v < 0 || (what !== 'size' && v > 0xffffffff)) throw invalid(`invalid tar header: bad ${what} for ${JSON.stringify(name)}`);
    }
    const xattrs = new Map<string, Buffer>();
    for (const [k, v] of pax) {
      if (k.startsWith('SCHILY.xattr.')) xattrs.set(k.slice(13), v);
    }
    for (const [k, v] of pax) {
      // bsdtar's spelling: URL-encoded name, base64 value.
      if (!k.startsWith('LIBARCHIVE.xattr.')) continue;
      let xn: string;
      try { xn = decodeURIComponent(k.slice(17)); } catch { continue; }
      if (!xattrs.has(xn)) xattrs.set(xn, Buffer.from(v.toString('latin1'), 'base64'));
    }
    return {
      name,
      linkname: (longLink || undefined) ?? paxString(pax, 'linkpath') ?? cString(h.subarray(157, 257)),
      kind,
      mode: octal(h, 100, 8, 'mode') & 0o7777,
      uid,
      gid,
      // Header-only types carry no data whatever their size field says (Go's archive/tar rule).
      size: kind === 'file' ? dataSize : 0,
      mtime,
      atime: paxNumber(pax, 'atime') ?? mtime,
      devmajor: octal(h, 329, 8, 'devmajor'),
      devminor: octal(h, 337, 8, 'devminor'),
      xattrs,
    };
  }
}

function isZero(b: Buffer): boolean {
  for (let i = 0; i < b.length; i++) if (b[i] !== 0) return false;
  return true;
}

function checkChecksum(h: Buffer): void {
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const c = i >= 148 && i < 156 ? 0x20 : h[i];
    unsigned += c;
    signed += c > 127 ? c - 256 : c;
  }
  const want = octal(h, 148, 8, 'checksum');
  if (want !== unsigned && want !== signed) throw invalid('invalid tar header: checksum mismatch');
}

/** A numeric header field: octal text (NUL/space padded) or GNU base-256. */
function octal(h: Buffer, off: number, len: number, what: string): number {
  if (h[off] & 0x80) {
    if (h[off] === 0xff) throw invalid(`invalid tar header: negative ${what}`);
    let v = h[off] & 0x7f;
    for (let i = 1; i < len; i++) v = v * 256 + h[off + i];
    if (!Number.isSafeInteger(v)) throw invalid(`invalid tar header: ${what} out of range`);
    return v;
  }
  let end = h.indexOf(0, off);
  if (end < 0 || end > off + len) end = off + len;
  const s = h.toString('latin1', off, end).trim();
  if (s === '') return 0;
  if (!/^[0-7]+$/.test(s)) throw invalid(`invalid tar header: bad ${what} field`);
  return parseInt(s, 8);
}

function cString(b: Buffer): string {
  const end = b.indexOf(0);
  return b.toString('utf8', 0, end < 0 ? b.length : end);
}

const META_NAMES: Record<string, string> = { x: 'PAX', g: 'PAX global', L: 'GNU long name', K: 'GNU long link' };
const PAX_NAMES = new Set(['path', 'linkpath', 'uname', 'gname']);

/** PAX records: "<len> <key>=<value>\n"; values stay bytes (xattrs are binary). */
function parsePax(buf: Buffer): Map<string, Buffer> {
  const into = new Map<string, Buffer>();
  let off = 0;
  while (off < buf.length && buf[off] !== 0) {
    const sp = buf.indexOf(0x20, off);
    const len = sp < 0 ? NaN : Number(buf.toString('latin1', off, sp));
    if (!Number.isSafeInteger(len) || len <= sp - off + 1 || off + len > buf.length || buf[off + len - 1] !== 0x0a) {
      throw invalid('invalid tar: malformed PAX header');
    }
    const rec = buf.subarray(sp + 1, off + len - 1);
    const eq = rec.indexOf(0x3d);
    if (eq <= 0) throw invalid('invalid tar: malformed PAX record');
    // Go's validPAXRecord: no NUL in a key (an xattr name), nor in a path, link or owner name.
    const key = rec.subarray(0, eq);
    const value = rec.subarray(eq + 1);
    if (key.includes(0) || (PAX_NAMES.has(key.toString('latin1')) && value.includes(0))) throw invalid('invalid tar: malformed PAX record');
    into.set(key.toString('utf8'), Buffer.from(value));
    off += len;
  }
  return into;
}

function paxString(pax: Map<string, Buffer>, key: string): string | undefined {
  const v = pax.get(key);
  return v && v.length ? v.toString('utf8') : undefined;
}

function paxNumber(pax: Map<string, Buffer>, key: string): number | undefined {
  const s = paxString(pax, key);
  if (s === undefined) return undefined;
  const n = Number(s);
  if (!/^-?[0-9]+(\.[0-9]*)?$/.test(s) || !Number.isFinite(n)) throw invalid(`invalid tar: bad PAX ${key} ${JSON.stringify(s)}`);
  return n;
}

