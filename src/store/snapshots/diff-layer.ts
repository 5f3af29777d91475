// From directories to change lists and layers: Docker's change list
// (`GET /containers/{id}/changes`) and the layer of an overlay upper dir (`commit`, build
// steps). Writing the tar is archive/tree-tar.ts's (the one tree writer, walked by descriptor);
// what is overlay's own stays here: which upper-dir entries are changes, and the layer options.
import { lstatSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { openDir, type Dir } from '../../sys/dirfd.ts';
import type { IdMap } from '../../common/idmap.ts';
import { createTreeTar, isWhiteout, openSubdir, sortedNames, treeXattrs } from '../../archive/tree-tar.ts';

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
  return createTreeTar(upperDir, { layer: true, omit: opts.skip, idMap: opts.idMap });
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
  // The upper dir is a running container's: walked by descriptor (see archive/tree-tar.ts).
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

const errnoOf = (e: unknown) => (e as NodeJS.ErrnoException)?.code;

