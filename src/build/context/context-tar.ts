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

const BLOCK = 512;
const CHUNK = 256 * 1024;
const SYNC_READ_MAX = 1 << 20;
const BATCH = 64 * 1024;
const readAsync = promisify(read);
const pad = (n: number) => (BLOCK - (n % BLOCK)) % BLOCK;
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

// ---------------------------------------------------------------------------------------------
// Tar headers

interface Header {
  name: string;
  /** ustar typeflag: 0 file, 1 hard link, 2 symlink, 3 char, 4 block, 5 dir, 6 fifo. */
  type: '0' | '1' | '2' | '3' | '4' | '5' | '6';
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  linkname?: string;
  devmajor?: number;
  devminor?: number;
}

const MAX_OCT7 = 0o7777777;
const MAX_OCT11 = 0o77777777777;
const ASCII = /^[\x20-\x7e]*$/;

/** ustar's name/prefix split; undefined when only a PAX `path` record can hold the name. */
function splitName(name: string): [prefix: string, name: string] | undefined {
  if (!ASCII.test(name)) return undefined;
  if (name.length <= 100) return ['', name];
  for (let i = Math.min(name.length - 2, 155); i > 0; i--) {
    if (name[i] === '/' && name.length - i - 1 <= 100) return [name.slice(0, i), name.slice(i + 1)];
  }
  return undefined;
}

function paxRecord(key: string, value: string): Buffer {
  const body = ` ${key}=${value}\n`;
  const len = Buffer.byteLength(body);
  // The length counts its own digits.
  let n = len + String(len).length;
  if (String(n).length > String(len).length) n++;
  return Buffer.from(`${n}${body}`);
}

function block(f: {
  name: string; prefix: string; mode: number; uid: number; gid: number; size: number; mtime: number;
  type: string; linkname: string; devmajor: number; devminor: number;
}): Buffer {
  const b = Buffer.alloc(BLOCK);
  const octal = (off: number, len: number, v: number) => b.write(v.toString(8).padStart(len - 1, '0'), off, len - 1, 'latin1');
  b.write(f.name, 0, 100, 'latin1');
  octal(100, 8, f.mode);
  octal(108, 8, f.uid);
  octal(116, 8, f.gid);
  octal(124, 12, f.size);
  octal(136, 12, f.mtime);
  b.write(f.type, 156, 1, 'latin1');
  b.write(f.linkname, 157, 100, 'latin1');
  b.write('ustar\u000000', 257, 8, 'latin1');
  octal(329, 8, f.devmajor);
  octal(337, 8, f.devminor);
  b.write(f.prefix, 345, 155, 'latin1');
  b.fill(0x20, 148, 156);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += b[i];
  b.write(`${sum.toString(8).padStart(6, '0')}\u0000 `, 148, 8, 'latin1');
  return b;
}

/** One entry's header: a PAX extended header first when ustar cannot hold a value, then ustar. */
function encodeHeader(h: Header): Buffer {
  const linkname = h.linkname ?? '';
  const split = splitName(h.name);
  const linkFits = linkname.length <= 100 && ASCII.test(linkname);
  const mtimeFits = h.mtime >= 0 && h.mtime <= MAX_OCT11;
  const recs: Buffer[] = [];
  if (!split) recs.push(paxRecord('path', h.name));
  if (!linkFits) recs.push(paxRecord('linkpath', linkname));
  if (h.size > MAX_OCT11) recs.push(paxRecord('size', String(h.size)));
  if (h.uid > MAX_OCT7) recs.push(paxRecord('uid', String(h.uid)));
  if (h.gid > MAX_OCT7) recs.push(paxRecord('gid', String(h.gid)));
  if (!mtimeFits) recs.push(paxRecord('mtime', String(h.mtime)));
  // A stand-in where only the PAX record holds the full value (readers use the record).
  const cut = (s: string) => s.replace(/[^\x20-\x7e]/g, '_').slice(-100);
  const main = block({
    name: split ? split[1] : cut(h.name), prefix: split ? split[0] : '', mode: h.mode,
    uid: h.uid > MAX_OCT7 ? 0 : h.uid, gid: h.gid > MAX_OCT7 ? 0 : h.gid,
    size: h.size > MAX_OCT11 ? 0 : h.size, mtime: mtimeFits ? h.mtime : 0, type: h.type,
    linkname: linkFits ? linkname : cut(linkname), devmajor: h.devmajor ?? 0, devminor: h.devminor ?? 0,
  });
  if (!recs.length) return main;
  const data = Buffer.concat(recs);
  const pax = block({
    name: 'PaxHeaders.0/entry', prefix: '', mode: 0o644, uid: 0, gid: 0, size: data.length, mtime: 0,
    type: 'x', linkname: '', devmajor: 0, devminor: 0,
  });
  return Buffer.concat([pax, data, Buffer.alloc(pad(data.length)), main]);
}
