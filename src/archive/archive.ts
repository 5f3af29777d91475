// src/archive: berth's tar code, in one place. Everything that turns a tree into a tar, a tar
// into a tree, or confines a path to a root lives here; the snapshotter (layers), the engine
// (`cp`, `export`), the builder (contexts, COPY/ADD), volumes (copy-up) and the CLI (`cp`,
// `build`) are its users.
//
//   archive.ts      this file: the vocabulary (entry kinds, a read entry, where a walk starts)
//   tar-header.ts   the header writer: ustar blocks, PAX records where ustar cannot say it
//   tar-reader.ts   the streaming reader (TarReader): Go archive/tar's rules, PAX values as bytes
//   tree-tar.ts     the one tree writer: a tree walked by descriptor (sys/dirfd.ts), never
//                   following a symlink, with options for its four uses: layer diffs, `export`,
//                   `cp` out of a container, build contexts
//   context-tar.ts  the build context as the client sends it (tree-tar.ts with an ignore matcher)
//   copy.ts         docker cp's path rules (go-archive CopyInfo) and archive rebasing
//   extract.ts      the extractor: a tar into a root, never writing through a symlink
//   confine.ts      path confinement: tar entry names, in-root path resolution, extraction roots
//
// Dependencies: archive imports only `common/` and `sys/` (and node). `store/`, `build/`,
// `volume/`, `engine/` and `cli/` import archive; nothing under `common/` or `sys/` does, so the
// import graph stays acyclic (`common` ← `sys` ← `archive` ← `store`/`build`/`volume`/`engine`/`cli`).

/** What a tar entry is (ustar typeflags '0'–'6'). */
export type TarKind = 'file' | 'dir' | 'symlink' | 'link' | 'char' | 'block' | 'fifo';

/** The ustar typeflag of each kind. */
export const TYPEFLAG: Record<TarKind, string> = { file: '0', link: '1', symlink: '2', char: '3', block: '4', dir: '5', fifo: '6' };

/** One entry as TarReader reads it. */
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

/**
 * Which paths of a tree a writer leaves out (a build context's .dockerignore: build/context's
 * PatternMatcher has this shape). `matches(rel)`: left out; `mayReinclude(rel)`: an excluded
 * directory is still walked, because an exception may bring back something inside it.
 */
export interface ExcludeMatcher {
  matches(rel: string): boolean;
  mayReinclude(rel: string): boolean;
}
