// COPY and ADD: finding the sources (in the build context, another stage's rootfs, or an image's)
// and writing them into a step's mounted rootfs.
//
// Confinement (DESIGN.md safety rules): every source path is resolved inside its root as a
// chrooted process would (symlinks followed, `..` clamped at the root, absolute link targets
// taken from the root), so no COPY can read outside the context; a source written with `..` that
// climbs above the context is refused outright, as Docker's legacy builder does. Destination
// paths are resolved the same way inside the step's rootfs, which nothing else touches while the
// step runs. Inside a copied directory, symlinks are copied as symlinks and never followed.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { spawn } from 'node:child_process';
import { chmod, copyFile, lchown, lstat, lutimes, mkdir, readdir, readlink, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { basename, join, posix } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { invalid, notFound } from '../common/errors.ts';
import { Glob, lit, one, star, type GlobStep } from '../common/glob.ts';
import { resolveInRoot } from '../archive/confine.ts';
import { extractTar } from '../archive/extract.ts';
import type { IdMap } from '../common/idmap.ts';

export interface Source {
  /** Host path (resolved inside its root). */
  host: string;
  /** The path as matched, relative to the root (for messages and hashing). */
  rel: string;
  dir: boolean;
}

const WILDCARD = /[*?[]/;

/**
 * Go's filepath.Match as a Glob (`*` and `?` never match `/`; a class `[a-z]`, `[^a]` or `[!a]`
 * is one character; `\x` is x). A Glob runs in linear time, as Go's matcher does: the
 * backtracking regular expression this was before never returned for a pattern with many stars
 * against a long name (see src/common/glob.ts), so a Dockerfile could hang the builder.
 */
export function sourceGlob(pattern: string): Glob {
  const p = Array.from(pattern);
  const steps: GlobStep[] = [];
  for (let i = 0; i < p.length; i++) {
    const c = p[i];
    if (c === '*') steps.push(star(notSlash));
    else if (c === '?') steps.push(one(notSlash));
    else if (c === '\\' && i + 1 < p.length) steps.push(lit(p[++i]));
    else if (c === '[') {
      const end = p.indexOf(']', i + 2);
      // No closing bracket, or an empty class (`[]a]`, `[^]a]`: Go's filepath.Match refuses both).
      if (end < 0 || p[i + 1] === ']' || (/[!^]/.test(p[i + 1]) && p[i + 2] === ']')) throw invalid(`syntax error in pattern: ${pattern}`);
      steps.push(one(classTest(p.slice(i + 1, end))));
      i = end;
    } else steps.push(lit(c));
  }
  return new Glob(steps);
}

const notSlash = (c: string) => c !== '/';

/** A class's members (`^` or `!` first negates; `a-z` ranges; `\x` is x) as a test of one character. */
function classTest(cls: string[]): (c: string) => boolean {
  let i = 0;
  const negate = cls[0] === '^' || cls[0] === '!';
  if (negate) i++;
  const member = () => (cls[i] === '\\' && i + 1 < cls.length ? cls[(i += 2) - 1] : cls[i++]).codePointAt(0)!;
  const ranges: Array<[number, number]> = [];
  while (i < cls.length) {
    const lo = member();
    // A reversed range matches nothing, as in Go (a JavaScript class refused to compile).
    if (cls[i] === '-' && i + 1 < cls.length) { i++; ranges.push([lo, member()]); } else ranges.push([lo, lo]);
  }
  return (c) => {
    const x = c.codePointAt(0)!;
    return ranges.some(([lo, hi]) => lo <= x && x <= hi) !== negate;
  };
}

/**
 * Cleans a source path written in a Dockerfile. `..` that would climb above the root is refused
 * with Docker's message; a leading `/` means the root.
 */
export function cleanSource(src: string): string {
  const out: string[] = [];
  for (const c of src.split('/')) {
    if (c === '' || c === '.') continue;
    if (c === '..') {
      if (out.length === 0) throw invalid(`forbidden path outside the build context: ${src} ()`);
      out.pop();
    } else out.push(c);
  }
  return out.join('/');
}

/** Finds the sources of one COPY/ADD word inside `root` (globs expanded). */
export async function findSources(root: string, src: string, what: 'context' | 'stage'): Promise<Source[]> {
  const clean = what === 'context' ? cleanSource(src) : posix.normalize('/' + src).slice(1);
  if (!WILDCARD.test(clean)) {
    const host = await resolveInRoot(root, clean);
    if (!host) {
      throw notFound(what === 'context'
        ? `file not found in build context or excluded by .dockerignore: stat ${clean || '.'}: file does not exist`
        : `stat ${'/' + clean}: file does not exist`);
    }
    const st = await lstat(host);
    return [{ host, rel: clean, dir: st.isDirectory() }];
  }
  // A glob: the literal directory part is resolved, the rest matched while walking.
  const parts = clean.split('/');
  const firstWild = parts.findIndex((p) => WILDCARD.test(p));
  const base = parts.slice(0, firstWild).join('/');
  const baseHost = await resolveInRoot(root, base);
  const out: Source[] = [];
  if (baseHost) {
    const glob = sourceGlob(parts.slice(firstWild).join('/'));
    const depth = parts.length - firstWild;
    const walk = async (dir: string, rel: string, d: number): Promise<void> => {
      let names: string[];
      try { names = (await readdir(dir)).sort(); } catch { return; }
      for (const n of names) {
        const r = rel ? `${rel}/${n}` : n;
        const host = join(dir, n);
        const st = await lstat(host);
        if (d === depth - 1) {
          if (glob.matches(r)) out.push({ host, rel: base ? `${base}/${r}` : r, dir: st.isDirectory() });
        } else if (st.isDirectory()) await walk(host, r, d + 1);
      }
    };
    await walk(baseHost, '', 0);
  }
  if (out.length === 0) throw notFound(`no source files were specified`);
  return out;
}

/**
 * A digest of what a COPY reads: names, types, modes, sizes, contents and link targets (never
 * mtimes or owners, which differ between checkouts), for the step's cache key.
 */
export async function hashSources(sources: Source[], known?: Map<string, string>): Promise<string> {
  const h = createHash('sha256');
  const fileHash = (p: string) => known?.get(p) ?? new Promise<string>((resolve, reject) => {
    const fh = createHash('sha256');
    createReadStream(p, { highWaterMark: 1 << 20 }).on('error', reject).on('data', (c) => fh.update(c)).on('end', () => resolve(fh.digest('hex')));
  });
  const visit = async (host: string, rel: string): Promise<void> => {
    // A top-level source is already resolved by findSources (a link followed in its root).
    const st = await lstat(host);
    h.update(`${rel}\0${st.mode.toString(8)}\0`);
    if (st.isSymbolicLink()) h.update(`l\0${await readlink(host)}\0`);
    else if (st.isFile()) h.update(`f\0${st.size}\0${await fileHash(host)}\0`);
    else if (st.isDirectory()) {
      h.update('d\0');
      for (const n of (await readdir(host)).sort()) await visit(join(host, n), `${rel}/${n}`);
    }
  };
  for (const s of sources) await visit(s.host, s.rel);
  return `sha256:${h.digest('hex')}`;
}

export interface WriteOptions {
  uid: number;
  gid: number;
  /** --chmod (octal), applied to every file and directory copied. */
  mode?: number;
  /** Keep the source's owner (ADD of an archive without --chown). */
  keepOwner?: boolean;
  /** `--userns-remap`: an archive's owners (container IDs) go to disk as their host IDs. `uid`/`gid` are host IDs already. */
  idMap?: IdMap;
}

/**
 * Creates every missing directory of `dir` (a clean absolute container path) inside `root`,
 * following symlinks within it, and returns the host path. New directories are 0755, owned by
 * uid:gid.
 */
export async function mkdirInRoot(root: string, dir: string, uid = 0, gid = 0): Promise<string> {
  const parts = dir.split('/').filter((c) => c && c !== '.');
  let cur = '';
  for (const c of parts) {
    const next = cur ? `${cur}/${c}` : c;
    const host = await resolveInRoot(root, next);
    if (host) {
      const st = await lstat(host);
      if (!st.isDirectory()) throw invalid(`failed to create directory ${'/' + next}: not a directory`);
      cur = host.slice(root.length + 1) || '';
      continue;
    }
    const parentHost = cur ? join(root, cur) : root;
    const created = join(parentHost, c);
    await mkdir(created, { mode: 0o755 });
    await chmod(created, 0o755);
    await lchown(created, uid, gid);
    cur = created.slice(root.length + 1);
  }
  return cur ? join(root, cur) : root;
}

/** Copies one source to `dest` (a clean absolute path in the rootfs; a directory when `intoDir`). */
export async function copySource(root: string, src: Source, dest: string, intoDir: boolean, o: WriteOptions): Promise<void> {
  if (src.dir) {
    const target = await mkdirInRoot(root, dest, o.uid, o.gid);
    await copyDirContents(src.host, target, o);
    return;
  }
  let destPath = dest;
  if (intoDir) destPath = posix.join(dest, basename(src.rel || src.host));
  else {
    const existing = await resolveInRoot(root, dest);
    if (existing && (await lstat(existing)).isDirectory()) destPath = posix.join(dest, basename(src.rel || src.host));
  }
  const parent = await mkdirInRoot(root, posix.dirname(destPath), o.uid, o.gid);
  const name = posix.basename(destPath);
  // The final component: an existing symlink is followed within the root (Docker's scoped
  // resolution); anything else there is replaced.
  let target = join(parent, name);
  const resolved = await resolveInRoot(root, destPath);
  if (resolved) {
    const st = await lstat(resolved);
    if (st.isDirectory()) throw invalid(`cannot copy to ${destPath}: is a directory`);
    target = resolved;
  }
  await copyEntry(src.host, target, o, true);
}

async function copyDirContents(from: string, to: string, o: WriteOptions): Promise<void> {
  for (const n of (await readdir(from)).sort()) {
    const s = join(from, n);
    const d = join(to, n);
    const st = await lstat(s);
    if (st.isDirectory()) {
      let dst;
      try { dst = await lstat(d); } catch { dst = undefined; }
      if (dst && !dst.isDirectory()) await rm(d, { recursive: true, force: true });
      if (!dst || !dst.isDirectory()) await mkdir(d);
      await copyDirContents(s, d, o);
      await applyMeta(d, st, o);
    } else await copyEntry(s, d, o, false);
  }
}

async function copyEntry(from: string, to: string, o: WriteOptions, top: boolean): Promise<void> {
  const st = await lstat(from);
  let dst;
  try { dst = await lstat(to); } catch { dst = undefined; }
  if (dst && (dst.isDirectory() || dst.isSymbolicLink() || !st.isFile())) await rm(to, { recursive: true, force: true });
  if (st.isSymbolicLink()) {
    if (top) {
      // A top-level symlink source was already resolved by findSources; only nested ones land here.
      throw invalid(`unexpected symlink source ${from}`);
    }
    await symlink(await readlink(from), to);
    await lchown(to, o.keepOwner ? st.uid : o.uid, o.keepOwner ? st.gid : o.gid);
    await lutimes(to, st.atime, st.mtime);
    return;
  }
  if (st.isFile()) {
    await copyFile(from, to);
    await applyMeta(to, st, o);
    return;
  }
  // Devices, fifos and sockets in a context are skipped, as Docker's tar of a context does.
}

async function applyMeta(p: string, st: { mode: number; uid: number; gid: number; atime: Date; mtime: Date }, o: WriteOptions): Promise<void> {
  await lchown(p, o.keepOwner ? st.uid : o.uid, o.keepOwner ? st.gid : o.gid);
  await chmod(p, o.mode ?? (st.mode & 0o7777));
  await utimes(p, st.atime, st.mtime);
}

/** `COPY <<EOF /path`: a file with the heredoc's content, 0644 (or --chmod). */
export async function writeHeredoc(root: string, dest: string, content: string, o: WriteOptions): Promise<void> {
  const parent = await mkdirInRoot(root, posix.dirname(dest), o.uid, o.gid);
  const target = join(parent, posix.basename(dest));
  await rm(target, { recursive: true, force: true });
  await writeFile(target, content);
  await lchown(target, o.uid, o.gid);
  await chmod(target, o.mode ?? 0o644);
}

/** ADD's archive detection: what Docker's `archive.DetectCompression` + tar check accept. */
export type ArchiveKind = 'tar' | 'gzip' | 'bzip2' | 'xz' | 'zstd';
export async function archiveKind(host: string): Promise<ArchiveKind | undefined> {
  const fh = await import('node:fs/promises').then((m) => m.open(host, 'r'));
  try {
    const buf = Buffer.alloc(512);
    const { bytesRead } = await fh.read(buf, 0, 512, 0);
    if (bytesRead >= 2 && buf[0] === 0x1f && buf[1] === 0x8b) return 'gzip';
    if (bytesRead >= 3 && buf.subarray(0, 3).toString('latin1') === 'BZh') return 'bzip2';
    if (bytesRead >= 6 && buf.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))) return 'xz';
    if (bytesRead >= 4 && buf.subarray(0, 4).equals(Buffer.from([0x28, 0xb5, 0x2f, 0xfd]))) return 'zstd';
    if (bytesRead >= 262 && buf.subarray(257, 262).toString('latin1') === 'ustar') return 'tar';
    return undefined;
  } finally {
    await fh.close();
  }
}

/**
 * ADD of a local archive: unpacked into the destination directory (path-safe extraction).
 * gzip is Node's own; bzip2, xz and zstd go through Debian's decompressors (argument arrays).
 */
export async function extractArchive(root: string, host: string, kind: ArchiveKind, dest: string, o: WriteOptions): Promise<void> {
  const target = await mkdirInRoot(root, dest, o.uid, o.gid);
  if (kind === 'tar' || kind === 'gzip') {
    const raw = createReadStream(host);
    const tar: Readable = kind === 'gzip' ? raw.pipe(createGunzip()) : raw;
    if (kind === 'gzip') raw.on('error', (e) => tar.destroy(e));
    await extractTar(target, tar, { idMap: o.idMap });
    return;
  }
  const prog = { bzip2: 'bzip2', xz: 'xz', zstd: 'zstd' }[kind];
  const child = spawn(prog, ['-dc', '--', host], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (c: Buffer) => { err += c.toString(); });
  const exited = new Promise<number>((res, rej) => { child.once('error', rej); child.once('close', (c) => res(c ?? 1)); });
  try {
    // Piped at once: Node discards a child's stdout that has no reader when the child exits.
    await extractTar(target, child.stdout!.pipe(new PassThrough()), { idMap: o.idMap });
  } catch (e) {
    child.kill();
    await exited.catch(() => 1);
    throw e;
  }
  const code = await exited;
  if (code !== 0) throw invalid(`failed to decompress ${kind} archive: ${err.trim() || `${prog} exited ${code}`}`);
}
