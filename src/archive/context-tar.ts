// The build context as the client sends it: a tar of the context directory without what
// .dockerignore excludes, streamed while the directory is walked (never held in memory), as the
// docker CLI's archive.TarWithOptions produces it.
//
//   const tar = createContextTar('/src/app', {
//     exclude: contextExcludes(parseDockerignore(readFileSync('/src/app/.dockerignore', 'utf8')), 'Dockerfile'),
//     owner: { uid: 0, gid: 0 },
//   });
//   tar.pipe(requestBody);
//
// (contextExcludes, PatternMatcher and the pattern syntax are build/context/dockerignore.ts's:
// this module only takes a matcher, so archive does not depend on build.)
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
//     say (docker's TrimBuildFilesFromExcludes, done by contextExcludes): the daemon needs them.
//
// The walk is the tree writer's (tree-tar.ts, by descriptor: a context directory is not the
// daemon's and may change under the walk), with its `context` rules.
import { resolve } from 'node:path';
import { Readable } from 'node:stream';
import { batchChunks } from '../common/streams.ts';
import { openDir, type Dir } from '../sys/dirfd.ts';
import type { ExcludeMatcher } from './archive.ts';
import { BLOCK, encodeTarHeader as encodeHeader, tarPad } from './tar-header.ts';
import { treeTarEntries } from './tree-tar.ts';

export interface ContextTarOptions {
  /**
   * What .dockerignore leaves out (build/context/dockerignore.ts contextExcludes, which also
   * keeps the Dockerfile and the ignore files); absent sends everything.
   */
  exclude?: ExcludeMatcher;
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
 * The context tar of `dir` as a byte stream. During the walk, a file that cannot be read fails
 * the stream with docker's `no permission to read from '<path>'`; files vanishing meanwhile are
 * skipped.
 */
export function createContextTar(dir: string, o: ContextTarOptions): Readable {
  return Readable.from(batchChunks(generate(resolve(dir), o), BATCH), { objectMode: false });
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

const BATCH = 64 * 1024;
const pad = tarPad;

async function* generate(root: string, o: ContextTarOptions): AsyncGenerator<Buffer> {
  const replace = new Map(Object.entries(o.files ?? {}));
  let dir: Dir | undefined;
  try {
    dir = openDir(root);
  } catch (e) {
    // As a directory that cannot be read: docker's walk skips it (the CLI checked the context before).
    if (!['EACCES', 'EPERM', 'ENOENT', 'ENOTDIR'].includes((e as NodeJS.ErrnoException).code ?? '')) throw e;
  }
  if (dir) {
    try {
      yield* treeTarEntries({ dir, name: '' }, { base: root, exclude: o.exclude, owner: o.owner, replace, context: true });
    } finally {
      dir.close();
    }
  }
  const mtime = Math.floor((o.now ?? Date.now()) / 1000);
  const extra: Array<[string, Buffer]> = [];
  if (o.dockerfile) extra.push([o.dockerfile.name, o.dockerfile.content]);
  // What `files` named and the walk did not meet, in byte order.
  extra.push(...[...replace].sort(([a], [b]) => Buffer.compare(Buffer.from(a), Buffer.from(b))));
  for (const [name, content] of extra) {
    // docker writes these with mode 0600.
    const h = encodeHeader({ name, type: '0', mode: 0o600, uid: o.owner?.uid ?? 0, gid: o.owner?.gid ?? 0, size: content.length, mtime });
    yield Buffer.concat([h, content, Buffer.alloc(pad(content.length))]);
  }
  yield Buffer.alloc(2 * BLOCK); // end of archive
}
