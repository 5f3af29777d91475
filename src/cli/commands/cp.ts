// `berth cp`: files between a container and the host over the archive API, with docker-cli's
// rules (cp.go + go-archive copy.go; see archive/copy.ts). Host-side extraction goes
// through the path-safe extractor (archive/extract.ts): entry names are confined to
// the destination and nothing is written through a symlink, whatever the container's tar holds.
import type { OptionsOf, CONTAINER_COMMANDS } from '../spec.ts';
import { lstatSync, readlinkSync, realpathSync, statSync } from 'node:fs';
import { resolve as resolvePath } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  baseOf, CopyError, copySummary, dirOf, getRebaseName, hasTrailingSeparator, prepareArchiveCopy, preserveTrailingDotOrSeparator,
  rebaseArchive, splitCpArg, splitPathDirEntry, treeTar, type CopyInfo,
} from '../../archive/copy.ts';
import { humanSize } from '../../common/units.ts';
import { extractTar } from '../../archive/extract.ts';
import type { Response } from '../../client/client.ts';
import { StatusError, type Ctx } from '../context.ts';


interface PathStat { name: string; size: number; mode: number; mtime: string; linkTarget: string }
const MODE_DIR = 2 ** 31;
const MODE_SYMLINK = 2 ** 27;
const MODE_DEVICE = 2 ** 26;
const MODE_IRREGULAR = 2 ** 19;
const isDirMode = (m: number) => m >= MODE_DIR;
const hasBit = (m: number, bit: number) => Math.floor(m / bit) % 2 === 1;

export async function cp(ctx: Ctx, args: string[], o: OptionsOf<typeof CONTAINER_COMMANDS.cp>): Promise<number> {
  const [source, destination] = args;
  if (source === '') throw new StatusError('source can not be empty', 1);
  if (destination === '') throw new StatusError('destination can not be empty', 1);
  const [srcCtr, srcPath] = splitCpArg(source);
  const [dstCtr, dstPath] = splitCpArg(destination);
  const quiet = o.quiet === true || !process.stdout.isTTY;
  const cfg = { followLink: !!o.followLink, copyUIDGID: !!o.archive, quiet };
  try {
    if (srcCtr && dstCtr) throw new StatusError('copying between containers is not supported', 1);
    if (srcCtr) return await fromContainer(ctx, srcCtr, srcPath, dstPath, cfg);
    if (dstCtr) return await toContainer(ctx, dstCtr, srcPath, dstPath, cfg);
    throw new StatusError('must specify at least one container source', 1);
  } catch (e) {
    if (e instanceof CopyError) throw new StatusError(e.message, 1);
    const err = e as NodeJS.ErrnoException;
    // Go's wording: EvalSymlinks and Lstat both fail as `lstat PATH: …`.
    if (err?.code && err.syscall && err.path) throw new StatusError(`${err.syscall === 'realpath' ? 'lstat' : err.syscall} ${err.path}: ${osText(err.code)}`, 1);
    throw e;
  }
}

function osText(code: string): string {
  return ({ ENOENT: 'no such file or directory', ENOTDIR: 'not a directory', EACCES: 'permission denied', EEXIST: 'file exists' } as Record<string, string>)[code] ?? code;
}

type Cfg = { followLink: boolean; copyUIDGID: boolean; quiet: boolean };

function resolveLocalPath(p: string): string {
  return preserveTrailingDotOrSeparator(resolvePath(p), p);
}

async function statPath(ctx: Ctx, ctr: string, path: string): Promise<PathStat | undefined> {
  let res: Response;
  try {
    res = await ctx.client.containers.statPath(ctr, path);
  } catch {
    return undefined; // docker-cli ignores stat errors: the copy itself reports them
  }
  res.resume();
  return decodeStat(res.headers['x-docker-container-path-stat']);
}

function decodeStat(h: string | string[] | undefined): PathStat | undefined {
  const v = Array.isArray(h) ? h[0] : h;
  if (!v) return undefined;
  try { return JSON.parse(Buffer.from(v, 'base64').toString()) as PathStat; } catch { return undefined; }
}

/** docker-cli ValidateOutputPath. */
function validateOutputPath(path: string): void {
  const dir = dirOf(cleanLocal(path));
  if (dir !== '' && dir !== '.') {
    try { statSync(dir); } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new StatusError(`invalid output path: directory "${dir}" does not exist`, 1);
    }
  }
  let st;
  try { st = statSync(path); } catch { return; /* not there yet: the copy creates it */ }
  if (st.isDirectory() || st.isFile()) return;
  if (st.isBlockDevice() || st.isCharacterDevice()) throw new StatusError(`invalid output path: "${path}" must be a directory or a regular file: got a device`, 1);
}
const cleanLocal = (p: string) => resolvePath(p);

/** go-archive CopyInfoDestinationPath (follows a final symlink, up to 10 times). */
function copyInfoDestinationPath(path: string): CopyInfo {
  let st = lstatOr(path);
  for (let n = 0; st?.isSymbolicLink(); n++) {
    if (n > 10) throw new StatusError(`too many symlinks in ${path}`, 1);
    let target = readlinkSync(path);
    if (!target.startsWith('/')) target = resolvePath(splitPathDirEntry(path)[0], target);
    path = target;
    st = lstatOr(path);
  }
  if (!st) {
    const parent = splitPathDirEntry(path)[0];
    const pst = statSync(parent);
    if (!pst.isDirectory()) throw new StatusError('not a directory', 1);
    return { path, exists: false, isDir: false };
  }
  return { path, exists: true, isDir: st.isDirectory() };
}

function lstatOr(p: string) {
  try { return lstatSync(p); } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

/** A pass-through that counts bytes (docker's "transferred" figure). */
function counter(): Transform & { total: number } {
  const t = new Transform({ transform(chunk: Buffer, _enc, cb) { (t as any).total += chunk.length; cb(null, chunk); } }) as Transform & { total: number };
  t.total = 0;
  return t;
}

async function fromContainer(ctx: Ctx, ctr: string, srcPath: string, dstArg: string, cfg: Cfg): Promise<number> {
  let dstPath = dstArg;
  if (dstPath !== '-') {
    dstPath = resolveLocalPath(dstPath);
    validateOutputPath(dstPath);
  }
  let rebase: string | undefined;
  if (cfg.followLink) {
    const st = await statPath(ctx, ctr, srcPath);
    if (st && hasBit(st.mode, MODE_SYMLINK)) {
      let target = st.linkTarget;
      if (!target.startsWith('/')) target = joinPosix(splitPathDirEntry(srcPath)[0], target);
      [srcPath, rebase] = getRebaseName(srcPath, target);
    }
  }
  const res = await ctx.client.containers.getArchive(ctr, srcPath);
  if (dstPath === '-') {
    await pipeline(res, process.stdout);
    return 0;
  }
  const stat = decodeStat(res.headers['x-docker-container-path-stat']);
  const src: CopyInfo = { path: srcPath, exists: true, isDir: stat ? isDirMode(stat.mode) : false, rebaseName: rebase };
  const count = counter();
  let content: Readable = res.pipe(count);
  if (rebase) content = rebaseArchive(content, splitPathDirEntry(src.path)[1], rebase);
  const dst = copyInfoDestinationPath(dstPath);
  const prep = prepareArchiveCopy(src, dst);
  if (prep.rebase) content = rebaseArchive(content, prep.rebase[0], prep.rebase[1]);
  await extractTar(prep.dstDir, content, {
    noOverwriteDirNonDir: true,
    // NoLchown: what is copied out belongs to whoever runs the copy.
    chown: { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 },
  });
  if (!cfg.quiet) process.stderr.write(copySummary(count.total, dstPath, (n) => humanSize(n, 3)));
  return 0;
}

/** Go filepath.Join for container paths. */
function joinPosix(a: string, b: string): string {
  return resolvePath('/', a, b);
}

/** go-archive ResolveHostSourcePath + CopyInfoSourcePath. */
function copyInfoSourcePath(path: string, followLink: boolean): CopyInfo {
  let resolved: string;
  let rebase: string | undefined;
  if (followLink) {
    [resolved, rebase] = getRebaseName(path, realpathSync(path));
  } else {
    const slash = path.lastIndexOf('/');
    const dir = path.slice(0, slash + 1);
    const base = path.slice(slash + 1);
    resolved = `${realpathSync(dir || '.').replace(/\/$/, '')}/${base}`;
    if (hasTrailingSeparator(path) && baseOf(path) !== baseOf(resolved)) rebase = baseOf(path);
  }
  const st = lstatSync(resolved);
  return { path: resolved, exists: true, isDir: st.isDirectory(), rebaseName: rebase };
}

async function toContainer(ctx: Ctx, ctr: string, srcArg: string, dstPath: string, cfg: Cfg): Promise<number> {
  const srcPath = srcArg === '-' ? '-' : resolveLocalPath(srcArg);
  const dst: CopyInfo = { path: dstPath, exists: false, isDir: false };
  let st = await statPath(ctx, ctr, dstPath);
  if (st && hasBit(st.mode, MODE_SYMLINK)) {
    let target = st.linkTarget;
    if (!target.startsWith('/')) target = joinPosix(splitPathDirEntry(dstPath)[0], target);
    dst.path = target;
    st = await statPath(ctx, ctr, target);
  }
  if (st) {
    if (hasBit(st.mode, MODE_DEVICE)) throw new StatusError(`destination "${ctr}:${dstPath}" must be a directory or a regular file: got a device`, 1);
    if (hasBit(st.mode, MODE_IRREGULAR)) throw new StatusError(`destination "${ctr}:${dstPath}" must be a directory or a regular file: got an irregular file`, 1);
    dst.exists = true;
    dst.isDir = isDirMode(st.mode);
  }
  let content: Readable;
  let resolvedDst: string;
  const count = counter();
  if (srcPath === '-') {
    if (!dst.isDir) throw new StatusError(`destination "${ctr}:${dstPath}" must be a directory`, 1);
    content = process.stdin;
    resolvedDst = dst.path;
  } else {
    const src = copyInfoSourcePath(srcPath, cfg.followLink);
    const [dir, base] = splitPathDirEntry(src.path);
    let tar: Readable = Readable.from(treeTar(`${dir}/${base}`.replace(/\/\.$/, ''), base));
    if (src.rebaseName) tar = rebaseArchive(tar, base, src.rebaseName);
    const prep = prepareArchiveCopy(src, dst);
    if (prep.rebase) tar = rebaseArchive(tar, prep.rebase[0], prep.rebase[1]);
    resolvedDst = prep.dstDir;
    content = tar;
  }
  await ctx.client.containers.putArchive(ctr, { path: resolvedDst, noOverwriteDirNonDir: 'true', copyUIDGID: cfg.copyUIDGID ? 'true' : undefined }, content.pipe(count));
  if (!cfg.quiet) process.stderr.write(copySummary(count.total, `${ctr}:${dst.path}`, (n) => humanSize(n, 3)));
  return 0;
}
