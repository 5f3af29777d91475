// The build context as the client sends it: a tar of the context directory without what
// .dockerignore excludes, streamed while the directory is walked (never held in memory), as the
// docker CLI's archive.TarWithOptions produces it.
//
//   const tar = createContextTar('/src/app', {
//     excludes: parseDockerignore(readFileSync('/src/app/.dockerignore', 'utf8')),
//     dockerfilePath: 'Dockerfile', owner: { uid: 0, gid: 0 },
//   });
//   tar.pipe(requestBody);
//
// What goes in, and how:
//   - entries in depth-first order, names sorted by their bytes (as Go's filepath.Walk), so the
//     same tree always gives the same tar; directories as `name/`;
//   - lstat only: a symlink is stored as a symlink with its target as it is, never followed;
//     regular files seen again through another hard link become link entries; fifos and devices
//     as such; sockets are left out (tar cannot hold them);
//   - mode (permission, setuid/setgid/sticky bits), uid/gid (or `owner` for all: the docker CLI
//     sends 0:0), whole-second mtime; no atime/ctime, no user or group names, no xattrs;
//   - an excluded file is skipped; an excluded directory is skipped with everything below it,
//     unless an exception pattern names something inside it (docker's rule, see
//     PatternMatcher.mayReinclude): then it is walked and only what is not excluded goes in;
//   - `.dockerignore`, the Dockerfile and its own ignore file are kept whatever the patterns
//     say (docker's TrimBuildFilesFromExcludes): the daemon needs them.
//
// The tar writer is a small one of its own (ustar headers, PAX records where ustar cannot say
// it): the layer writer in store/snapshots is not exported and is made for overlay upper dirs.
import {
  closeSync, constants as FS, fstatSync, lstatSync, openSync, read, readdirSync, readlinkSync, readSync, type Stats,
} from 'node:fs';
import { resolve } from 'node:path';
// Headers come from the store's tar writer: one encoder for layers, exports and contexts.
import { BLOCK, encodeTarHeader as encodeHeader, tarPad } from '../../store/snapshots/tar-header.ts';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { PatternMatcher, trimBuildFilesFromExcludes } from './dockerignore.ts';

export interface ContextTarOptions {
  /** The ignore patterns (parseDockerignore's output); [] sends everything. */
  excludes: string[];
  /**
   * The Dockerfile's path inside the context ('Dockerfile', 'build/app.Dockerfile'): kept even
   * when the patterns exclude it, and so is `<path>.dockerignore`. Leave out when the Dockerfile
   * is not in the context (stdin, outside the directory: see `dockerfile`).
   */
  dockerfilePath?: string;
  /** A Dockerfile from elsewhere, appended under a generated name such as `.dockerfile.<hex>`. */
  dockerfile?: { name: string; content: Buffer };
  /**
   * Files written whatever the patterns say: one that exists in the context is written with this
   * content instead (keeping its mode and times), one that does not is appended at the end. The
   * docker CLI rewrites `.dockerignore` this way to list a generated Dockerfile name.
   */
  files?: Record<string, Buffer>;
  /** uid/gid recorded for every entry; default: each file's own. */
  owner?: { uid: number; gid: number };
  /** mtime (ms) of appended entries; default now. */
  now?: number;
}

/**
 * The context tar of `dir` as a byte stream. Bad patterns throw here, synchronously
 * (`syntax error in pattern`). During the walk, a file that cannot be read fails the stream with
 * docker's `no permission to read from '<path>'`; files vanishing meanwhile are skipped.
 */
export function createContextTar(dir: string, o: ContextTarOptions): Readable {
  const excludes = trimBuildFilesFromExcludes(o.excludes, o.dockerfilePath, o.dockerfilePath === undefined);
  const pm = excludes.length ? new PatternMatcher(excludes) : undefined;
  return Readable.from(generate(resolve(dir), pm, o), { objectMode: false });
}

/** A tar of in-memory files (a context that is only a Dockerfile read from stdin). */
export function tarOfFiles(files: Array<{ name: string; content: Buffer; mode?: number; mtime?: number; uid?: number; gid?: number }>): Buffer {
  const parts: Buffer[] = [];
  for (const f of files) {
    parts.push(encodeHeader({
      name: f.name, type: '0', mode: f.mode ?? 0o644, uid: f.uid ?? 0, gid: f.gid ?? 0,
      size: f.content.length, mtime: Math.floor((f.mtime ?? Date.now()) / 1000),
    }));
    parts.push(f.content, Buffer.alloc(pad(f.content.length)));
  }
  parts.push(Buffer.alloc(2 * BLOCK));
  return Buffer.concat(parts);
}

const COMPRESSED_MAGIC = [
  [0x1f, 0x8b, 0x08], // gzip
  [0x42, 0x5a, 0x68], // bzip2 "BZh"
  [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00], // xz
  [0x28, 0xb5, 0x2f, 0xfd], // zstd
];

/**
 * docker's build.IsArchive on the first bytes of stdin: a compressed stream (gzip, bzip2, xz,
 * zstd), or a first 512-byte block that is a tar header with a valid checksum. Anything else is
 * taken for a Dockerfile.
 */
export function isArchive(head: Buffer): boolean {
  if (COMPRESSED_MAGIC.some((m) => head.length >= m.length && m.every((b, i) => head[i] === b))) return true;
  if (head.length < BLOCK) return false;
  const h = head.subarray(0, BLOCK);
  if (h.every((b) => b === 0)) return false;
  const field = h.subarray(148, 156).toString('latin1').replace(/[\0 ]+$/g, '').replace(/^[\0 ]+/g, '');
  if (!/^[0-7]+$/.test(field)) return false;
  const stored = parseInt(field, 8);
  // Unsigned and signed sums over the header with the checksum field as spaces (Go accepts both).
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const b = i >= 148 && i < 156 ? 0x20 : h[i];
    unsigned += b;
    signed += (b << 24) >> 24;
  }
  return stored === unsigned || stored === signed;
}

// ---------------------------------------------------------------------------------------------
// Walk

interface Walk {
  pm: PatternMatcher | undefined;
  owner: { uid: number; gid: number } | undefined;
  /** Replacements not yet written (see ContextTarOptions.files). */
  files: Map<string, Buffer>;
  /** "dev:ino" of multiply-linked regular files → the name of their first entry. */
  links: Map<string, string>;
}

const CHUNK = 256 * 1024;
const SYNC_READ_MAX = 1 << 20;
const BATCH = 64 * 1024;
const readAsync = promisify(read);
const pad = tarPad;
const errno = (e: unknown) => (e as NodeJS.ErrnoException)?.code;

async function* generate(root: string, pm: PatternMatcher | undefined, o: ContextTarOptions): AsyncGenerator<Buffer> {
  const w: Walk = { pm, owner: o.owner, files: new Map(Object.entries(o.files ?? {})), links: new Map() };
  // Small entries are gathered into chunks of about BATCH bytes (one write per header would cost
  // more than producing it).
  let batch: Buffer[] = [];
  let batched = 0;
  const flush = () => {
    const b = Buffer.concat(batch, batched);
    batch = [];
    batched = 0;
    return b;
  };
  for await (const b of walkDir(w, root, '')) {
    if (b.length >= BATCH && batched === 0) { yield b; continue; }
    batch.push(b);
    batched += b.length;
    if (batched >= BATCH) yield flush();
  }
  const mtime = Math.floor((o.now ?? Date.now()) / 1000);
  const extra: Array<[string, Buffer]> = [];
  if (o.dockerfile) extra.push([o.dockerfile.name, o.dockerfile.content]);
  extra.push(...[...w.files].sort(([a], [b]) => Buffer.compare(Buffer.from(a), Buffer.from(b))));
  for (const [name, content] of extra) {
    // docker writes these with mode 0600.
    const h = encodeHeader({ name, type: '0', mode: 0o600, uid: o.owner?.uid ?? 0, gid: o.owner?.gid ?? 0, size: content.length, mtime });
    batch.push(h, content, Buffer.alloc(pad(content.length)));
    batched += h.length + content.length + pad(content.length);
  }
  batch.push(Buffer.alloc(2 * BLOCK)); // end of archive
  batched += 2 * BLOCK;
  yield flush();
}

function sortedNames(dir: string): string[] {
  const raw = readdirSync(dir, { encoding: 'buffer' });
  // Byte order, as Go sorts: independent of locale and of JavaScript's UTF-16 order.
  raw.sort(Buffer.compare);
  return raw.map((b) => {
    const n = b.toString('utf8');
    if (!Buffer.from(n).equals(b)) throw new Error(`can't add '${dir}/${n}' to the build context: the file name is not valid UTF-8`);
    return n;
  });
}

async function* walkDir(w: Walk, absDir: string, relDir: string): AsyncGenerator<Buffer> {
  let names: string[];
  try {
    names = sortedNames(absDir);
  } catch (e) {
    // docker skips a directory it cannot read (the walk logs it and goes on).
    if (['EACCES', 'EPERM', 'ENOENT', 'ENOTDIR'].includes(errno(e) ?? '')) return;
    throw e;
  }
  for (const name of names) {
    const abs = `${absDir === '/' ? '' : absDir}/${name}`;
    const rel = relDir ? `${relDir}/${name}` : name;
    let st: Stats;
    try {
      st = lstatSync(abs);
    } catch (e) {
      if (errno(e) === 'ENOENT') continue;
      if (errno(e) === 'EACCES') throw new Error(`can't stat '${abs}'`);
      throw e;
    }
    const meta = {
      uid: w.owner?.uid ?? st.uid, gid: w.owner?.gid ?? st.gid, mode: st.mode & 0o7777, mtime: Math.floor(st.mtimeMs / 1000),
    };
    const replacement = st.isDirectory() ? undefined : w.files.get(rel);
    if (replacement) {
      w.files.delete(rel);
      yield Buffer.concat([encodeHeader({ ...meta, name: rel, type: '0', size: replacement.length }), replacement, Buffer.alloc(pad(replacement.length))]);
      continue;
    }
    if (w.pm?.matches(rel)) {
      // An excluded directory is walked only when an exception may re-include something in it;
      // the directory's own entry stays out (as docker does).
      if (st.isDirectory() && w.pm.mayReinclude(rel)) yield* walkDir(w, abs, rel);
      continue;
    }
    if (st.isDirectory()) {
      yield encodeHeader({ ...meta, name: `${rel}/`, type: '5', size: 0 });
      yield* walkDir(w, abs, rel);
      continue;
    }
    if (st.isFile()) {
      yield* fileEntry(w, abs, rel, st, meta);
      continue;
    }
    if (st.isSymbolicLink()) {
      let target: string;
      try {
        target = readlinkSync(abs);
      } catch (e) {
        if (errno(e) === 'ENOENT') continue;
        throw e;
      }
      yield encodeHeader({ ...meta, name: rel, type: '2', size: 0, linkname: target });
      continue;
    }
    const type = st.isFIFO() ? '6' : st.isCharacterDevice() ? '3' : st.isBlockDevice() ? '4' : undefined;
    if (!type) continue; // a socket
    const rdev = BigInt(st.rdev);
    yield encodeHeader({
      ...meta, name: rel, type, size: 0,
      // Linux's dev_t encoding (glibc major()/minor()).
      devmajor: type === '6' ? 0 : Number(((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn)),
      devminor: type === '6' ? 0 : Number((rdev & 0xffn) | ((rdev >> 12n) & ~0xffn)),
    });
  }
}

async function* fileEntry(w: Walk, abs: string, rel: string, st: Stats, meta: { uid: number; gid: number; mode: number; mtime: number }): AsyncGenerator<Buffer> {
  const key = st.nlink > 1 ? `${st.dev}:${st.ino}` : undefined;
  const first = key && w.links.get(key);
  if (first) {
    yield encodeHeader({ ...meta, name: rel, type: '1', size: 0, linkname: first });
    return;
  }
  let fd: number;
  try {
    // O_NONBLOCK: should the path have turned into a fifo since lstat, open must not hang.
    fd = openSync(abs, FS.O_RDONLY | FS.O_NOFOLLOW | FS.O_NONBLOCK);
  } catch (e) {
    if (errno(e) === 'ENOENT' || errno(e) === 'ELOOP') return;
    if (errno(e) === 'EACCES' || errno(e) === 'EPERM') throw new Error(`no permission to read from '${abs}'`);
    throw e;
  }
  try {
    const fst = fstatSync(fd);
    if (!fst.isFile()) return;
    const size = fst.size;
    if (key) w.links.set(key, rel);
    const header = encodeHeader({ ...meta, name: rel, type: '0', size, mode: fst.mode & 0o7777, mtime: Math.floor(fst.mtimeMs / 1000) });
    if (size <= SYNC_READ_MAX) {
      const buf = Buffer.alloc(header.length + size + pad(size));
      header.copy(buf);
      for (let got = 0; got < size;) {
        const n = readSync(fd, buf, header.length + got, size - got, got);
        if (n === 0) break; // shrank meanwhile: zeros keep the tar well-formed
        got += n;
      }
      yield buf;
      return;
    }
    yield header;
    // Exactly `size` bytes whatever happens to the file meanwhile.
    let left = size;
    while (left > 0) {
      const buf = Buffer.allocUnsafe(Math.min(left, CHUNK));
      const { bytesRead } = await readAsync(fd, buf, 0, buf.length, size - left);
      if (bytesRead === 0) { yield Buffer.alloc(left); break; }
      yield bytesRead === buf.length ? buf : buf.subarray(0, bytesRead);
      left -= bytesRead;
    }
    if (pad(size)) yield Buffer.alloc(pad(size));
  } finally {
    closeSync(fd);
  }
}
