// `docker cp` path and archive rules shared by the CLI (cli/commands/cp.ts) and the engine
// (engine/container-archive.ts): Docker's CopyInfo rules (moby/go-archive copy.go: trailing `/`
// and `/.`, dir into dir vs new name, rebasing archive entries) and cp's use of the tree writer
// (tree-tar.ts), which never follows a symlink. Learned from go-archive, written for berth.
import { basename, dirname } from 'node:path';
import { Readable } from 'node:stream';
import { cleanPath } from '../common/go-path.ts';
import { openDir } from '../sys/dirfd.ts';
import { TYPEFLAG } from './archive.ts';
import { TarReader } from './tar-reader.ts';
import { encodeTarHeader, tarPad } from './tar-header.ts';
import { treeTarBlocks, type TreeStart, type TreeTarOptions } from './tree-tar.ts';

export interface CopyInfo { path: string; exists: boolean; isDir: boolean; rebaseName?: string }

export const hasTrailingSeparator = (p: string): boolean => p.length > 0 && p.endsWith('/');
export const specifiesCurrentDir = (p: string): boolean => baseOf(p) === '.';
/** Go filepath.Base. */
export function baseOf(p: string): string {
  if (p === '') return '.';
  const t = p.replace(/\/+$/, '');
  if (t === '') return '/';
  return t.slice(t.lastIndexOf('/') + 1);
}
/** Go filepath.Dir. */
export function dirOf(p: string): string {
  const i = p.lastIndexOf('/');
  return cleanPath(i < 0 ? '.' : p.slice(0, i + 1));
}
/** go-archive PreserveTrailingDotOrSeparator. */
export function preserveTrailingDotOrSeparator(cleaned: string, original: string): string {
  if (!specifiesCurrentDir(cleaned) && specifiesCurrentDir(original)) {
    if (!hasTrailingSeparator(cleaned)) cleaned += '/';
    cleaned += '.';
  }
  if (!hasTrailingSeparator(cleaned) && hasTrailingSeparator(original)) cleaned += '/';
  return cleaned;
}
/** go-archive SplitPathDirEntry: `/a/b/` → [`/a`, `b`], `/a/b/.` → [`/a/b`, `.`]. */
export function splitPathDirEntry(p: string): [string, string] {
  let cleaned = cleanPath(p);
  if (specifiesCurrentDir(p)) cleaned += '/.';
  return [dirOf(cleaned), baseOf(cleaned)];
}
/** go-archive GetRebaseName. */
export function getRebaseName(path: string, resolved: string): [string, string | undefined] {
  if (specifiesCurrentDir(path) && !specifiesCurrentDir(resolved)) resolved += '/.';
  if (hasTrailingSeparator(path) && !hasTrailingSeparator(resolved)) resolved += '/';
  return [resolved, baseOf(path) !== baseOf(resolved) ? baseOf(path) : undefined];
}

/** docker-cli splitCpArg: `ctr:path`, unless the argument is absolute or starts with `.`. */
export function splitCpArg(arg: string): [string, string] {
  if (arg.startsWith('/')) return ['', arg];
  const i = arg.indexOf(':');
  if (i < 0 || arg.slice(0, i).startsWith('.')) return ['', arg];
  return [arg.slice(0, i), arg.slice(i + 1)];
}

export class CopyError extends Error {}
export const ERR_CANNOT_COPY_DIR = 'cannot copy directory';
export const ERR_DIR_NOT_EXISTS = 'no such directory';

/**
 * go-archive PrepareArchiveCopy: where to extract the source archive and which base name its
 * entries must be renamed from/to. `rebase` undefined means extract as is.
 */
export function prepareArchiveCopy(src: CopyInfo, dst: CopyInfo): { dstDir: string; rebase?: [string, string] } {
  const [dstDir, dstBase] = splitPathDirEntry(dst.path);
  let [, srcBase] = splitPathDirEntry(src.path);
  if (dst.exists && dst.isDir) return { dstDir: dst.path };
  if (dst.exists && src.isDir) throw new CopyError(ERR_CANNOT_COPY_DIR);
  const assertsDir = hasTrailingSeparator(dst.path) || specifiesCurrentDir(dst.path);
  if (!dst.exists && !src.isDir && assertsDir) throw new CopyError(ERR_DIR_NOT_EXISTS);
  if (src.rebaseName) srcBase = src.rebaseName;
  return { dstDir, rebase: [srcBase, dstBase] };
}

/**
 * The rename RebaseArchiveEntries applies to an entry name: `oldBase` replaced at the start of the
 * name on a component boundary; an `oldBase` of `/` puts `newBase/` before every name.
 */
export function rebaseName(name: string, oldBase: string, newBase: string): string {
  const o = oldBase.replace(/\/+$/, '');
  const n = newBase.replace(/\/+$/, '');
  if (o === '') {
    const bare = name.replace(/^\/+/, '');
    return n === '' ? bare : `${n}/${bare}`;
  }
  if (!name.startsWith(o)) return name;
  const suffix = name.slice(o.length);
  if (suffix !== '' && !suffix.startsWith('/')) return name;
  return n + suffix;
}

/** A tar stream with every entry (and hard link target) renamed as RebaseArchiveEntries does. */
export function rebaseArchive(tar: AsyncIterable<Buffer>, oldBase: string, newBase: string): Readable {
  return Readable.from((async function* () {
    const r = new TarReader(tar);
    for (let e = await r.next(); e; e = await r.next()) {
      let name = rebaseName(e.name, oldBase, newBase);
      if (e.kind === 'dir' && !name.endsWith('/')) name += '/';
      yield encodeTarHeader({
        name, type: TYPEFLAG[e.kind], mode: e.mode, uid: e.uid, gid: e.gid, mtime: Math.floor(e.mtime), size: e.size,
        linkname: e.kind === 'link' ? rebaseName(e.linkname, oldBase, newBase) : e.linkname,
        devmajor: e.devmajor, devminor: e.devminor, xattrs: e.xattrs.size ? e.xattrs : undefined,
      });
      if (e.size) {
        for await (const c of r.body()) yield Buffer.from(c);
        const pad = tarPad(e.size);
        if (pad) yield Buffer.alloc(pad);
      }
    }
    await r.drain();
    yield Buffer.alloc(1024);
  })());
}

/**
 * docker 28.2's summary line (cp.go): the bytes of the tar that went over the wire, in
 * units.HumanSizeWithPrecision(n, 3). (Later docker-cli versions report the content size.)
 */
export function copySummary(transferred: number, dest: string, human: (n: number) => string): string {
  return `Successfully copied ${human(transferred)} to ${dest}\n`;
}

// ---------------------------------------------------------------------------------------------
// Tree tar

/**
 * A tar of `host` (a path, or an entry of an open directory) that never follows a symlink, walked
 * by descriptor (tree-tar.ts treeTarBlocks), the top entry named `top` (`.`
 * gives `./`-prefixed names; `''` no top entry and `/`-rooted names, for the root `/`: what both
 * go-archive rebasers, old and new, turn into `newBase/...`). Hard links inside the walk become
 * link entries. `skipContents(rel)` (rel: `''` for the top, else `a/b`) keeps a directory's
 * contents out; `idMap` (a remapped container's files) gives the tar the container's IDs.
 */
export async function* treeTar(host: string | TreeStart, top: string, o: Pick<TreeTarOptions, 'skipContents' | 'idMap'> = {}): AsyncGenerator<Buffer> {
  if (typeof host !== 'string') {
    yield* treeTarBlocks(host, { ...o, top });
    return;
  }
  const name = basename(host);
  const parent = openDir(name ? dirname(host) : host);
  try {
    yield* treeTarBlocks({ dir: parent, name }, { ...o, top });
  } finally {
    parent.close();
  }
}
