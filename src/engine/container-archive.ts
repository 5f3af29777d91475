// The container archive API (`docker cp`): HEAD/GET/PUT /containers/{id}/archive.
//
// Where the files are: a running container is read and written through /proc/<pid>/root, the
// container's own mount namespace, so its volumes, binds and tmpfs mounts are seen exactly as the
// container sees them (Docker mounts the same set for the copy). The container is frozen (cgroup
// freezer, what `pause` uses) for the whole operation unless it is paused already, and thawed even
// on error: nothing inside can swap a checked directory for a symlink while we use it. A stopped
// container gets a throwaway view: its rw layer over the image, mounted read-write under the
// container's lifecycle lock (no start can mount the same upper dir meanwhile), with its volume
// and bind mounts bound in, privately, and all of it unmounted afterwards.
//
// Path safety (CVE-2018-15664 class): every container path is resolved component by component
// like a chroot (`resolveContainerPath`): symlinks are read and re-rooted at the container root,
// `..` stops at the root, and the kernel never follows a link itself. The PUT tar goes through
// apply-layer.ts's extractor (names cleaned from the root, parents lstat'ed, no write through a
// symlink). The GET walk (common/archive-copy.ts treeTar) never follows a symlink and does not
// descend into /proc, /sys, /dev.
import { closeSync, constants as FS, lstatSync, mkdirSync, openSync, readlinkSync, rmdirSync, type BigIntStats, type Stats } from 'node:fs';
import { SafeRoot } from '../store/snapshots/safe-path.ts';
import { treeTar } from '../common/archive-copy.ts';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { EngineError, invalid, notFound } from '../common/errors.ts';
import { generateId } from '../common/names.ts';
import { mountBind, mountOverlay, run, unmount } from '../sys/index.ts';
import { applyLayer } from '../store/snapshots/apply-layer.ts';
import { readRootfsFile, parsePasswd, parseGroup, resolveInRoot } from '../runtime/user.ts';
import type { MountPoint } from '../volume/volume.ts';
import type { ContainerRecord, ContainerService } from './containers.ts';
import type { ArchiveBackend } from '../api/routers/containers/archive-routes.ts';

/** What the container service lends an archive operation (ContainerService.archiveAccess). */
export interface ArchiveAccess {
  rec: ContainerRecord;
  /** Running (or paused) with a live init process. */
  running: boolean;
  /** The directory of the container's stopped view is created under here. */
  scratchDir: string;
  /** Overlay mount data of the container (upper/work/lower, relative to cwd). */
  snapMounts: () => Promise<{ cwd: string; lower: string[]; upper?: string; work?: string }>;
  freeze: () => Promise<void>;
  thaw: () => Promise<void>;
  volumePath: (name: string) => Promise<string>;
}

/** The stat Docker sends in `X-Docker-Container-Path-Stat` (base64 JSON). */
export interface PathStat { name: string; size: number; mode: number; mtime: string; linkTarget: string }

const MAX_SYMLINKS = 255;
const PSEUDO = new Set(['/proc', '/sys', '/dev']);
const errno = (e: unknown): string | undefined => (e as NodeJS.ErrnoException)?.code;

// ---------------------------------------------------------------------------------------------
// Pure helpers

/** Go os.FileMode bits of an lstat mode (what docker-cli tests with ModeDir, ModeSymlink, ...). */
export function goFileMode(mode: number): number {
  let m = mode & 0o777;
  const t = mode & 0o170000;
  if (t === 0o040000) m += 2 ** 31;
  else if (t === 0o120000) m += 2 ** 27;
  else if (t === 0o060000) m += 2 ** 26;
  else if (t === 0o020000) m += 2 ** 26 + 2 ** 21;
  else if (t === 0o010000) m += 2 ** 25;
  else if (t === 0o140000) m += 2 ** 24;
  if (mode & 0o4000) m += 2 ** 23;
  if (mode & 0o2000) m += 2 ** 22;
  if (mode & 0o1000) m += 2 ** 20;
  return m;
}

/** Go's RFC3339Nano in UTC: fraction without trailing zeros. */
export function rfc3339Nano(sec: bigint, nsec: bigint): string {
  const base = new Date(Number(sec) * 1000).toISOString().slice(0, 19);
  const frac = nsec === 0n ? '' : `.${nsec.toString().padStart(9, '0').replace(/0+$/, '')}`;
  return `${base}${frac}Z`;
}

/** Docker's absolute container path: joined to `/`, a trailing `/` or `/.` kept. */
export function absContainerPath(p: string): string {
  const parts: string[] = [];
  for (const c of p.split('/')) {
    if (c === '' || c === '.') continue;
    if (c === '..') parts.pop();
    else parts.push(c);
  }
  let abs = `/${parts.join('/')}`;
  if (p.endsWith('/.') || p === '.') abs = abs === '/' ? '/.' : `${abs}/.`;
  else if (p.endsWith('/') && abs !== '/') abs += '/';
  return abs;
}

/** Go filepath.Base of an absolute path with Docker's trailing forms (`/a/.` → `.`, `/a/` → `a`). */
export function baseName(abs: string): string {
  if (abs.endsWith('/.')) return '.';
  const t = abs.replace(/\/+$/, '');
  return t === '' ? '/' : t.slice(t.lastIndexOf('/') + 1);
}

// ---------------------------------------------------------------------------------------------
// Resolution inside a container root

export interface Resolved {
  /** Host path of the resolved location (under the root; components checked, none a symlink but maybe the last). */
  host: string;
  /** Clean container path of the resolved location. */
  ctr: string;
}

/**
 * Resolves a container path inside `root` as a chroot would. Symlinks met on the way are read and
 * their targets resolved again from the container root (absolute) or their directory (relative);
 * `..` never climbs above the root. The last component is followed only when `followLast` is set
 * (Docker follows it when the path ends in `/` or `/.`). Missing components end the walk: the
 * rest is appended lexically (the caller's lstat then reports ENOENT).
 */
export function resolveContainerPath(root: string, path: string, followLast: boolean): Resolved {
  const pending = path.split('/').filter((c) => c !== '' && c !== '.');
  const done: string[] = [];
  let links = 0;
  let missing = false;
  while (pending.length) {
    const c = pending.shift()!;
    if (c === '..') { done.pop(); continue; }
    if (missing || (!followLast && pending.length === 0)) { done.push(c); continue; }
    let st: Stats;
    try {
      st = lstatSync(join(root, ...done, c));
    } catch (e) {
      if (errno(e) !== 'ENOENT' && errno(e) !== 'ENOTDIR') throw e;
      missing = true;
      done.push(c);
      continue;
    }
    if (st.isSymbolicLink()) {
      if (++links > MAX_SYMLINKS) throw invalid(`too many links resolving ${path}`);
      const target = readlinkSync(join(root, ...done, c));
      if (target.startsWith('/')) done.length = 0;
      pending.unshift(...target.split('/').filter((t) => t !== '' && t !== '.'));
      continue;
    }
    done.push(c);
  }
  return { host: done.length ? join(root, ...done) : root, ctr: `/${done.join('/')}` };
}

function lstatOrUndef(p: string): BigIntStats | undefined {
  try {
    return lstatSync(p, { bigint: true });
  } catch (e) {
    if (errno(e) === 'ENOENT' || errno(e) === 'ENOTDIR') return undefined;
    throw e;
  }
}

const fileNotFound = (path: string, ref: string) => notFound(`Could not find the file ${path} in container ${ref}`);

// ---------------------------------------------------------------------------------------------
// The container's filesystem view

interface View { root: string; release: () => Promise<void> }

/** The container's filesystem as the copy sees it; frozen (running) or mounted (stopped). */
async function openView(a: ArchiveAccess): Promise<View> {
  if (a.running && a.rec.State.Pid) {
    const paused = a.rec.State.Paused;
    if (!paused) await a.freeze();
    // The trailing `/.` makes even the root itself the directory, never the magic link.
    return { root: `/proc/${a.rec.State.Pid}/root/.`, release: async () => { if (!paused) await a.thaw(); } };
  }
  const dir = join(a.scratchDir, `archive-${generateId().slice(0, 8)}`);
  mkdirSync(dir, { recursive: true });
  const mounted: string[] = [];
  const release = async () => {
    for (const m of mounted.reverse()) await unmount(m).catch(() => unmount(m, { lazy: true }));
    // Never recursive: were anything still mounted here, it would be the container's files.
    try { rmdirSync(dir); } catch { /* left for the next cleanup rather than risk a mount */ }
  };
  try {
    const m = await a.snapMounts();
    // Read-write even to read: a missing mount point is made in the rw layer, as Docker does
    // (and as the container's next start would). The lifecycle lock keeps any start away.
    await mountOverlay(dir, m);
    mounted.push(dir);
    // Nothing mounted below the view may propagate anywhere else.
    await run('mount', ['--make-rprivate', dir]);
    for (const mp of sortedMounts(a.rec.Mounts ?? [])) {
      if (mp.Type === 'tmpfs') continue; // its content lives only while the container runs
      let source: string | undefined = mp.Source;
      if (mp.Type === 'volume') {
        source = await a.volumePath(mp.Name!);
        // A subpath is resolved inside the volume (volume/local.ts does the same at start).
        if (mp.subpath) source = await resolveInRoot(source, mp.subpath);
        if (!source) continue;
      }
      const sst = lstatOrUndef(source);
      if (!sst) continue;
      const target = resolveContainerPath(dir, mp.Destination, true);
      let st = lstatOrUndef(target.host);
      if (!st) {
        // Made through the checked resolution: every parent is a real directory of the view.
        const parts = target.ctr.split('/').filter(Boolean);
        const root = new SafeRoot(dir);
        if (sst.isDirectory()) root.dir(parts, mp.Destination, { create: true });
        else {
          root.parents(parts, mp.Destination, { create: true });
          closeSync(openSync(target.host, FS.O_WRONLY | FS.O_CREAT | FS.O_EXCL | FS.O_NOFOLLOW, 0o755));
        }
        st = lstatOrUndef(target.host);
      }
      if (!st || st.isDirectory() !== sst.isDirectory() || st.isSymbolicLink()) continue;
      await mountBind(source, target.host, { readonly: !mp.RW, recursive: false });
      mounted.push(target.host);
    }
  } catch (e) {
    await release();
    throw e;
  }
  return { root: dir, release };
}

function sortedMounts(ms: MountPoint[]): MountPoint[] {
  return [...ms].sort((x, y) => x.Destination.split('/').length - y.Destination.split('/').length);
}

async function withView<T>(a: ArchiveAccess, fn: (v: View) => Promise<T>): Promise<T> {
  const v = await openView(a);
  try {
    return await fn(v);
  } finally {
    await v.release();
  }
}

function statOf(root: string, abs: string, ref: string): { stat: PathStat; resolved: Resolved; st: BigIntStats } {
  const follow = abs.endsWith('/') || abs.endsWith('/.');
  const resolved = resolveContainerPath(root, abs, follow);
  const st = lstatOrUndef(resolved.host);
  if (!st) throw fileNotFound(abs, ref);
  let linkTarget = '';
  if (st.isSymbolicLink()) linkTarget = resolveContainerPath(root, resolved.ctr, true).ctr;
  return {
    stat: { name: baseName(abs), size: Number(st.size), mode: goFileMode(Number(st.mode)), mtime: rfc3339Nano(st.mtimeNs / 1_000_000_000n, st.mtimeNs % 1_000_000_000n), linkTarget },
    resolved,
    st,
  };
}

// ---------------------------------------------------------------------------------------------
// The three operations

export async function statPath(a: ArchiveAccess, ref: string, path: string): Promise<PathStat> {
  const abs = absContainerPath(path);
  return withView(a, async (v) => statOf(v.root, abs, ref).stat);
}

/**
 * GET: a tar of `path` whose top entry is named after the path's base name (Docker's rebase),
 * handed to `sink` with the stat while the view is open.
 */
export async function getArchive(a: ArchiveAccess, ref: string, path: string, sink: (stat: PathStat, tar: Readable) => Promise<void>): Promise<void> {
  const abs = absContainerPath(path);
  await withView(a, async (v) => {
    const { stat, resolved } = statOf(v.root, abs, ref);
    const top = baseName(abs);
    const dests = new Set((a.rec.Mounts ?? []).map((m) => m.Destination.replace(/\/+$/, '')));
    // /proc, /sys and /dev are the kernel's, not the container's files: archived empty.
    const skip = (rel: string) => {
      const ctr = rel === '' ? resolved.ctr : resolved.ctr === '/' ? `/${rel}` : `${resolved.ctr}/${rel}`;
      return PSEUDO.has(ctr) && !dests.has(ctr);
    };
    await sink(stat, Readable.from(treeTar(resolved.host, top === '/' ? '' : top, skip)));
  });
}

export interface PutOptions { noOverwriteDirNonDir: boolean; copyUIDGID: boolean }

/** PUT: extract a tar at the directory `path` (moby's extractToDir rules and errors). */
export async function putArchive(a: ArchiveAccess, ref: string, path: string, tar: Readable, o: PutOptions): Promise<void> {
  const abs = absContainerPath(path);
  await withView(a, async (v) => {
    // Unlike stat and GET, the last element is followed too (an archive may be extracted at a
    // symlink to a directory), as moby's extractToDir does.
    const resolved = resolveContainerPath(v.root, abs, true);
    const st = lstatOrUndef(resolved.host);
    if (!st) throw fileNotFound(abs, ref);
    if (!st.isDirectory()) throw invalid('extraction point is not a directory');
    const mount = mountOf(a.rec.Mounts ?? [], resolved.ctr);
    if (mount && !mount.RW) throw new EngineError('Forbidden', 'mounted volume is marked read-only');
    if (!mount && a.rec.HostConfig.ReadonlyRootfs) throw new EngineError('Forbidden', 'container rootfs is marked read-only');
    let chown: { uid: number; gid: number } | undefined;
    if (o.copyUIDGID && a.rec.Config.User) chown = await userIds(v.root, a.rec.Config.User);
    try {
      await applyLayer(resolved.host, tar, { mode: 'plain', noOverwriteDirNonDir: o.noOverwriteDirNonDir, chown, refuseOutside: resolved.ctr });
    } catch (e) {
      if (errno(e) === 'EROFS') throw new EngineError('Forbidden', 'container rootfs is marked read-only');
      throw e;
    }
  });
}

/** The mount (longest destination) that holds container path `p`, if any. */
function mountOf(ms: MountPoint[], p: string): MountPoint | undefined {
  let best: MountPoint | undefined;
  for (const m of ms) {
    const d = m.Destination.replace(/\/+$/, '') || '/';
    if (p === d || p.startsWith(d === '/' ? '/' : `${d}/`)) {
      if (!best || d.length > best.Destination.length) best = m;
    }
  }
  return best;
}

async function userIds(root: string, user: string): Promise<{ uid: number; gid: number }> {
  const [u, g] = user.split(':');
  const passwd = await readRootfsFile(root, '/etc/passwd').catch(() => null);
  const group = await readRootfsFile(root, '/etc/group').catch(() => null);
  const pw = passwd ? parsePasswd(passwd) : null;
  let uid: number; let gid: number;
  if (/^\d+$/.test(u)) {
    uid = Number(u);
    gid = pw?.find((e) => e.uid === uid)?.gid ?? 0;
  } else {
    const e = pw?.find((x) => x.name === u);
    if (!e) throw notFound(`unable to find user ${u}: no matching entries in passwd file`);
    uid = e.uid; gid = e.gid;
  }
  if (g !== undefined) {
    if (/^\d+$/.test(g)) gid = Number(g);
    else {
      const e = (group ? parseGroup(group) : []).find((x) => x.name === g);
      if (!e) throw notFound(`unable to find group ${g}: no matching entries in group file`);
      gid = e.gid;
    }
  }
  return { uid, gid };
}

/** The routes' backend over the container service (wired in daemon/main.ts). */
export function archiveBackend(c: ContainerService): ArchiveBackend {
  return {
    stat: (ref, path) => c.archiveAccess(ref, (a) => statPath(a, ref, path)),
    get: (ref, path, sink) => c.archiveAccess(ref, (a) => getArchive(a, ref, path, sink)),
    put: (ref, path, tar, o) => c.archiveAccess(ref, (a) => putArchive(a, ref, path, tar, o)),
  };
}
