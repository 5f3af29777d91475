// The container archive API (`docker cp`): HEAD/GET/PUT /containers/{id}/archive.
//
// Where the files are: a running container is read and written through /proc/<pid>/root, the
// container's own mount namespace, so its volumes, binds and tmpfs mounts are seen exactly as the
// container sees them (Docker mounts the same set for the copy). The container is frozen (cgroup
// freezer, what `pause` uses) for the whole operation unless it is paused already, and thawed even
// on error; a marker left for the freeze lets a daemon that dies meanwhile thaw it at start. A
// stopped container gets a throwaway view: its rw layer over the image, mounted read-write under
// the container's lifecycle lock (no start can mount the same upper dir meanwhile), with its
// volume and bind mounts bound in, privately, and all of it detached afterwards.
//
// Path safety (CVE-2018-15664 class): freezing the target is not enough, since a second running
// container sharing a volume can still swap a directory for a symlink mid-copy. So every access
// goes by file descriptor (sys/dirfd.ts): paths are resolved inside the container's root as a
// chroot would (`resolveIn`: symlinks re-rooted at the container root, `..` stopping there, the
// kernel never following a link itself), the GET walk opens each directory and file O_NOFOLLOW
// from its open parent (diff-layer.ts treeTarBlocks), and the PUT extractor reaches every parent
// by descriptor (apply-layer.ts with safe-path.ts FdRoot). Mount points of the stopped view are
// made and bound the same way (`mount --no-canonicalize` onto /proc/<pid>/fd/N).
import { closeSync, constants as FS, fstatSync, mkdirSync, rmdirSync, statSync, type BigIntStats } from 'node:fs';
import { treeTar } from '../archive/copy.ts';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { EngineError, invalid, notFound } from '../common/errors.ts';
import { generateId } from '../common/names.ts';
import { mountBindAt, mountOverlay, remountReadonlyAt, run, unmount } from '../sys/index.ts';
import { fdPath, openDir, openDirAt, resolveIn, type Dir, type Location } from '../sys/dirfd.ts';
import { extractTar } from '../archive/extract.ts';
import { parsePasswd, parseGroup, readFileIn } from '../runtime/user.ts';
import type { MountPoint } from '../volume/volume.ts';
import type { IdMap } from '../common/idmap.ts';
import type { ContainerRecord } from './container/record.ts';

/** What archive operations need of the containers (ContainerService implements it). */
export interface ArchiveContainers {
  /** Runs `fn` under the container's lifecycle lock with what an archive operation needs. */
  archiveAccess<T>(ref: string, fn: (a: ArchiveAccess) => Promise<T>): Promise<T>;
}

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
  /** `--userns-remap`, for a container in the remapped namespace: its files are owned by host IDs. */
  idMap?: IdMap;
}

/** The stat Docker sends in `X-Docker-Container-Path-Stat` (base64 JSON). */
export interface PathStat { name: string; size: number; mode: number; mtime: string; linkTarget: string }

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
// The container's filesystem view

interface View { root: Dir; release: () => Promise<void> }

const fileNotFound = (path: string, ref: string) => notFound(`Could not find the file ${path} in container ${ref}`);

/** The container's filesystem as the copy sees it: frozen (running) or mounted (stopped). */
async function openView(a: ArchiveAccess): Promise<View> {
  if (a.running && a.rec.State.Pid) {
    const paused = a.rec.State.Paused;
    if (!paused) await a.freeze();
    try {
      // Opening the magic link gives the container's own `/`, in its own mount namespace.
      const root = openDir(`/proc/${a.rec.State.Pid}/root`);
      return { root, release: async () => { root.close(); if (!paused) await a.thaw(); } };
    } catch (e) {
      if (!paused) await a.thaw();
      throw e;
    }
  }
  const dir = join(a.scratchDir, `archive-${generateId().slice(0, 8)}`);
  mkdirSync(dir, { recursive: true });
  let mounted = false;
  let root: Dir | undefined;
  const release = async () => {
    root?.close();
    // One lazy unmount of the view detaches everything bound below it at once; nothing below is
    // named by path, since those paths run through volumes a container may be changing.
    if (mounted) await unmount(dir, { lazy: true });
    // Never recursive: were anything still mounted here, it would be the container's files.
    try { rmdirSync(dir); } catch { /* left for the next start's sweep rather than risk a mount */ }
  };
  try {
    const m = await a.snapMounts();
    // Read-write even to read: a missing mount point is made in the rw layer, as Docker does
    // (and as the container's next start would). The lifecycle lock keeps any start away.
    await mountOverlay(dir, m);
    mounted = true;
    // Nothing mounted below the view may propagate anywhere else.
    await run('mount', ['--make-rprivate', dir]);
    root = openDir(dir);
    for (const mp of sortedMounts(a.rec.Mounts ?? [])) {
      if (mp.Type === 'tmpfs') continue; // its content lives only while the container runs
      await bindInto(root, mp, a);
    }
  } catch (e) {
    await release();
    throw e;
  }
  return { root, release };
}

/**
 * Binds one volume or bind mount of a stopped container into its view, by descriptor at both
 * ends: the source (a volume subpath is resolved inside the volume, which running containers may
 * share) and the target (inside the view, possibly under an earlier volume). A missing mount point
 * is created like the runtime would; one of the wrong kind leaves the mount out.
 */
async function bindInto(root: Dir, mp: MountPoint, a: ArchiveAccess): Promise<void> {
  const fds: number[] = [];
  const dirs: Dir[] = [];
  try {
    let source: string;
    if (mp.Type === 'volume') {
      const vol = openDir(await a.volumePath(mp.Name!));
      dirs.push(vol);
      if (mp.subpath) {
        const at = resolveIn(vol, mp.subpath, { followLast: true });
        if (!at) return;
        dirs.push(at.dir);
        if (!at.name) source = vol.path();
        else {
          try { fds.push(at.dir.openPath(at.name)); } catch (e) { if (errno(e) === 'ENOENT') return; throw e; }
          source = fdPath(fds[fds.length - 1]);
        }
      } else source = vol.path();
    } else {
      source = mp.Source; // a host path the user named for the bind, as Docker takes it
    }
    let sst;
    // stat follows: a bind source as Docker takes it, a /proc/<pid>/fd path to the open object.
    try { sst = statSync(source); } catch (e) { if (errno(e) === 'ENOENT' || errno(e) === 'ENOTDIR') return; throw e; }
    const at = resolveIn(root, mp.Destination, { followLast: true, mkdirs: true });
    if (!at) return;
    dirs.push(at.dir);
    if (at.name) {
      try {
        if (sst.isDirectory()) at.dir.mkdir(at.name, 0o755);
        else closeSync(at.dir.openFile(at.name, FS.O_WRONLY | FS.O_CREAT | FS.O_EXCL, 0o755));
      } catch (e) { if (errno(e) !== 'EEXIST') throw e; }
    }
    const target = at.name ? at.dir.openPath(at.name) : at.dir.reopen().fd;
    fds.push(target);
    const tst = fstatSync(target);
    if (tst.isDirectory() !== sst.isDirectory() || tst.isSymbolicLink()) return;
    await mountBindAt(source, fdPath(target), { recursive: false });
    if (!mp.RW) {
      // The target's descriptor names what lies under the new mount; looked up again by name
      // from its open parent, it crosses into the mount just made.
      const over = at.name ? at.dir.openPath(at.name) : openDirAt(at).fd;
      fds.push(over);
      await remountReadonlyAt(fdPath(over));
    }
  } finally {
    for (const fd of fds) closeSync(fd);
    for (const d of dirs) d.close();
  }
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

/** lstat (bigint) of what a Location names; undefined when it does not exist. */
function lstatAt(at: Location): BigIntStats | undefined {
  return at.name === '' ? fstatSync(at.dir.fd, { bigint: true }) : at.dir.lstat(at.name, { bigint: true });
}

/** Resolves `abs` (Docker's rules: the last element followed only for `/` and `/.` endings); 404 when missing. */
function locate(root: Dir, abs: string, ref: string, followLast = abs.endsWith('/') || abs.endsWith('/.')): { at: Location; st: BigIntStats } {
  const at = resolveIn(root, abs, { followLast });
  if (!at) throw fileNotFound(abs, ref);
  let st: BigIntStats | undefined;
  try {
    st = lstatAt(at);
  } catch (e) {
    at.dir.close();
    throw e;
  }
  if (!st) {
    at.dir.close();
    throw fileNotFound(abs, ref);
  }
  return { at, st };
}

function pathStat(root: Dir, abs: string, at: Location, st: BigIntStats): PathStat {
  let linkTarget = '';
  if (st.isSymbolicLink()) {
    // Where the link leads, as a container path (resolved inside the root like everything else).
    const to = resolveIn(root, at.path, { followLast: true });
    linkTarget = to ? to.path : at.path;
    to?.dir.close();
  }
  return { name: baseName(abs), size: Number(st.size), mode: goFileMode(Number(st.mode)), mtime: rfc3339Nano(st.mtimeNs / 1_000_000_000n, st.mtimeNs % 1_000_000_000n), linkTarget };
}

// ---------------------------------------------------------------------------------------------
// The three operations

export async function statPath(a: ArchiveAccess, ref: string, path: string): Promise<PathStat> {
  const abs = absContainerPath(path);
  return withView(a, async (v) => {
    const { at, st } = locate(v.root, abs, ref);
    try {
      return pathStat(v.root, abs, at, st);
    } finally {
      at.dir.close();
    }
  });
}

/**
 * GET: a tar of `path` whose top entry is named after the path's base name (Docker's rebase),
 * handed to `sink` with the stat while the view is open.
 */
export async function getArchive(a: ArchiveAccess, ref: string, path: string, sink: (stat: PathStat, tar: Readable) => Promise<void>): Promise<void> {
  const abs = absContainerPath(path);
  await withView(a, async (v) => {
    const { at, st } = locate(v.root, abs, ref);
    try {
      const stat = pathStat(v.root, abs, at, st);
      const top = baseName(abs);
      const dests = new Set((a.rec.Mounts ?? []).map((m) => m.Destination.replace(/\/+$/, '')));
      // /proc, /sys and /dev are the kernel's, not the container's files: archived empty.
      const skip = (rel: string) => {
        const ctr = rel === '' ? at.path : at.path === '/' ? `/${rel}` : `${at.path}/${rel}`;
        return PSEUDO.has(ctr) && !dests.has(ctr);
      };
      await sink(stat, Readable.from(treeTar(at, top === '/' ? '' : top, { skipContents: skip, idMap: a.idMap })));
    } finally {
      at.dir.close();
    }
  });
}

export interface PutOptions { noOverwriteDirNonDir: boolean; copyUIDGID: boolean }

/** PUT: extract a tar at the directory `path` (moby's extractToDir rules and errors). */
export async function putArchive(a: ArchiveAccess, ref: string, path: string, tar: Readable, o: PutOptions): Promise<void> {
  const abs = absContainerPath(path);
  await withView(a, async (v) => {
    // Unlike stat and GET, the last element is followed too (an archive may be extracted at a
    // symlink to a directory), as moby's extractToDir does.
    const { at, st } = locate(v.root, abs, ref, true);
    let dest: Dir | undefined;
    try {
      if (!st.isDirectory()) throw invalid('extraction point is not a directory');
      const mount = mountOf(a.rec.Mounts ?? [], at.path);
      if (mount && !mount.RW) throw new EngineError('Forbidden', 'mounted volume is marked read-only');
      if (!mount && a.rec.HostConfig.ReadonlyRootfs) throw new EngineError('Forbidden', 'container rootfs is marked read-only');
      let chown: { uid: number; gid: number } | undefined;
      if (o.copyUIDGID && a.rec.Config.User) chown = userIds(v.root, a.rec.Config.User);
      dest = openDirAt(at);
      await extractTar(dest, tar, { noOverwriteDirNonDir: o.noOverwriteDirNonDir, chown, refuseOutside: at.path, idMap: a.idMap });
    } catch (e) {
      if (errno(e) === 'EROFS') throw new EngineError('Forbidden', 'container rootfs is marked read-only');
      throw e;
    } finally {
      dest?.close();
      at.dir.close();
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

function userIds(root: Dir, user: string): { uid: number; gid: number } {
  const [u, g] = user.split(':');
  const read = (p: string) => { try { return readFileIn(root, p); } catch { return null; } };
  const passwd = read('/etc/passwd');
  const group = read('/etc/group');
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

/** `docker cp` over the container service: what the archive routes' backend asks for (wired in daemon/main.ts). */
export interface ContainerArchive {
  stat(ref: string, path: string): Promise<PathStat>;
  get(ref: string, path: string, sink: (stat: PathStat, tar: Readable) => Promise<void>): Promise<void>;
  put(ref: string, path: string, tar: Readable, o: { noOverwriteDirNonDir: boolean; copyUIDGID: boolean }): Promise<void>;
}

export function archiveBackend(c: ArchiveContainers): ContainerArchive {
  return {
    stat: (ref, path) => c.archiveAccess(ref, (a) => statPath(a, ref, path)),
    get: (ref, path, sink) => c.archiveAccess(ref, (a) => getArchive(a, ref, path, sink)),
    put: (ref, path, tar, o) => c.archiveAccess(ref, (a) => putArchive(a, ref, path, tar, o)),
  };
}
