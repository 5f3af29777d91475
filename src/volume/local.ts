// The local volume driver and the container-mount rules around it (see volume.ts).
//
// Layout: <data-root>/volumes/<name>/_data holds the data; <name>/volume.json the record,
// written atomically after the data directory exists (the record is the commit point). Names
// are checked against Docker's pattern, which has no `/` and cannot be `.` or `..`, so a name
// can never point outside the volumes directory.
import { randomBytes } from 'node:crypto';
import { chown, lstat, mkdir, readdir, rm, rmdir, stat, unlink as unlinkAsync } from 'node:fs/promises';
import { closeSync, constants as FS, fstatSync, mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { conflict, invalid, notFound } from '../common/errors.ts';
import type { Filters } from '../common/filters.ts';
import { readJson, writeJsonAtomic, fsyncDir } from '../store/metadata/atomic.ts';
import { duSize } from '../store/snapshots/overlay.ts';
import { isMountPoint, mountBindAt, mountDevice, unmount } from '../sys/index.ts';
import { fdPath, O_PATH, openDir, resolveIn, type Location } from '../sys/dirfd.ts';
import { extractTar } from '../archive/extract.ts';
import { createTreeTar } from '../archive/tree-tar.ts';
import { resolveInRoot } from '../archive/confine.ts';
import type { ContainerConfig } from '../api/types/container.ts';
import type { OciMount } from '../runtime/oci-spec.ts';
import { ANONYMOUS_LABEL, checkVolumeName, cleanMountDest, isVolumeName, type CreateVolumeOptions, type MountPoint, type MountRequest, type MountRequests, type Volume } from './volume.ts';

/** Receives Docker's volume events: action, volume name ('' for prune), attributes. */
export type VolumeEventSink = (action: string, name: string, attributes: Record<string, string>) => void;
const LOCAL_OPTS = new Set(['type', 'device', 'o', 'size']);

interface VolumeRecord {
  name: string;
  createdAt: string;
  labels: Record<string, string>;
  options: Record<string, string> | null;
}

export class VolumeService {
  readonly root: string;
  #vols = new Map<string, VolumeRecord>();
  /** Set by the engine: the IDs of the containers (any state) whose mounts name a volume. */
  usedBy: (name: string) => string[] = () => [];

  readonly #owner: { uid: number; gid: number } | undefined;
  readonly #event: VolumeEventSink;
  /**
   * `owner`: `--userns-remap`'s root, who owns a new volume's data directory (as in dockerd).
   * `event`: where the volume events go (the engine's event bus: create, destroy, prune here;
   * mount and unmount come from the container lifecycle).
   */
  constructor(dataRoot: string, o: { owner?: { uid: number; gid: number }; event?: VolumeEventSink } = {}) {
    this.root = join(dataRoot, 'volumes');
    this.#owner = o.owner;
    this.#event = o.event ?? (() => {});
  }

  async init(): Promise<void> {
    await mkdir(this.root, { recursive: true, mode: 0o701 });
    for (const name of await readdir(this.root)) {
      if (!isVolumeName(name)) continue;
      const rec = await readJson<VolumeRecord>(join(this.root, name, 'volume.json'));
      // A directory without a record is a create that did not commit: it is not a volume.
      if (rec && rec.name === name) this.#vols.set(name, rec);
    }
  }

  #dataPath(name: string): string { return join(this.root, name, '_data'); }

  #view(r: VolumeRecord): Volume {
    return { CreatedAt: r.createdAt, Driver: 'local', Labels: Object.keys(r.labels).length ? r.labels : null, Mountpoint: this.#dataPath(r.name), Name: r.name, Options: r.options, Scope: 'local' };
  }

  has(name: string): boolean { return this.#vols.has(name); }

  isAnonymous(name: string): boolean { return ANONYMOUS_LABEL in (this.#vols.get(name)?.labels ?? {}); }

  get(name: string): Volume {
    const r = this.#vols.get(name);
    if (!r) throw notFound(`get ${name}: no such volume`);
    return this.#view(r);
  }

  async create(o: CreateVolumeOptions): Promise<Volume> {
    const driver = o.Driver || 'local';
    if (driver !== 'local') throw notFound(`error looking up volume plugin ${driver}: plugin "${driver}" not found`);
    // Docker 23+: a volume created without a name is anonymous (the label says so), and
    // `volume prune` without all=true removes only those.
    const name = o.Name || randomBytes(32).toString('hex');
    const labels = o.Name ? { ...(o.Labels ?? {}) } : { ...(o.Labels ?? {}), [ANONYMOUS_LABEL]: '' };
    checkVolumeName(name);
    const opts = o.DriverOpts && Object.keys(o.DriverOpts).length ? { ...o.DriverOpts } : null;
    for (const k of Object.keys(opts ?? {})) if (!LOCAL_OPTS.has(k)) throw invalid(`invalid option: "${k}"`);
    if (opts && opts.type === undefined && (opts.device !== undefined || opts.o !== undefined)) throw invalid('missing "type" option');
    if (opts?.type && opts.type !== 'tmpfs' && opts.type !== 'none' && !opts.device) throw invalid('missing "device" option');
    if (opts?.type === 'none' && !/\bbind\b/.test(opts.o ?? '')) throw invalid('the "none" type needs o=bind');
    const existing = this.#vols.get(name);
    if (existing) return this.#view(existing); // Docker: creating an existing volume returns it
    const dir = join(this.root, name);
    await mkdir(join(dir, '_data'), { recursive: true, mode: 0o755 });
    if (this.#owner) await chown(join(dir, '_data'), this.#owner.uid, this.#owner.gid);
    const rec: VolumeRecord = { name, createdAt: new Date().toISOString().replace(/\.\d+Z$/, 'Z'), labels, options: opts };
    await writeJsonAtomic(join(dir, 'volume.json'), rec);
    this.#vols.set(name, rec);
    this.#event('create', name, { driver: 'local' });
    return this.#view(rec);
  }

  list(f: Filters): Volume[] {
    const out: Volume[] = [];
    for (const r of this.#vols.values()) {
      if (f.has('name') && !f.get('name').some((n) => r.name.includes(n))) continue;
      if (f.has('driver') && !f.get('driver').includes('local')) continue;
      if (f.has('label') && !f.matchKVList('label', r.labels)) continue;
      if (f.has('dangling')) {
        const d = f.get('dangling')[0];
        if (!['true', 'false', '1', '0'].includes(d)) throw invalid(`invalid filter 'dangling=${d}'`);
        if ((d === 'true' || d === '1') !== (this.usedBy(r.name).length === 0)) continue;
      }
      out.push(this.#view(r));
    }
    return out.sort((a, b) => a.Name.localeCompare(b.Name));
  }

  async remove(name: string, o: { force?: boolean } = {}): Promise<void> {
    const r = this.#vols.get(name);
    if (!r) {
      if (o.force) return;
      throw notFound(`get ${name}: no such volume`);
    }
    const users = this.usedBy(name);
    if (users.length) throw conflict(`remove ${name}: volume is in use - [${users.join(', ')}]`);
    const data = this.#dataPath(name);
    if (await isMountPoint(data)) await unmount(data);
    // The record goes first: a crash after it leaves only a directory init() ignores.
    await rm(join(this.root, name, 'volume.json'), { force: true });
    // Durability only: the record is gone whatever this returns; a power loss could bring it back.
    await fsyncDir(join(this.root, name)).catch(() => {});
    this.#vols.delete(name);
    await rm(join(this.root, name), { recursive: true, force: true });
    this.#event('destroy', name, { driver: 'local' });
  }

  /**
   * `volume prune`: unused anonymous volumes (all unused ones with `all=true`), label filters.
   * As moby: volumes with mount options (`-o type=…`) are left alone (nothing local to reclaim),
   * and a prune event says how much was freed.
   */
  async prune(f: Filters): Promise<{ VolumesDeleted: string[]; SpaceReclaimed: number }> {
    const allValues = f.get('all');
    if (allValues.length > 1) throw invalid(`invalid filter 'all=[${allValues.join(' ')}]': only one value is expected`);
    const all = allValues.length === 1 && parseGoBool(allValues[0], (v) => `invalid filter 'all': strconv.ParseBool: parsing ${JSON.stringify(v)}: invalid syntax`);
    const deleted: string[] = [];
    let space = 0;
    for (const r of [...this.#vols.values()]) {
      if (!all && !(ANONYMOUS_LABEL in r.labels)) continue;
      if (r.options && Object.keys(r.options).length) continue;
      if (f.has('label') && !f.matchKVList('label', r.labels)) continue;
      if (f.has('label!') && f.matchKVList('label!', r.labels)) continue;
      if (this.usedBy(r.name).length) continue;
      const size = await this.size(r.name);
      await this.remove(r.name);
      deleted.push(r.name);
      space += size;
    }
    this.#event('prune', '', { reclaimed: String(space) });
    return { VolumesDeleted: deleted, SpaceReclaimed: space };
  }

  async size(name: string): Promise<number> {
    try { return await duSize(this.#dataPath(name)); } catch { return 0; } // removed meanwhile or unreadable: only a figure shown
  }

  /** The host path of a volume's data, its device mounted first for `-o type=...` volumes. */
  async mountpoint(name: string): Promise<string> {
    const r = this.#vols.get(name);
    if (!r) throw notFound(`get ${name}: no such volume`);
    const data = this.#dataPath(name);
    const o = r.options;
    if (o?.type && !(await isMountPoint(data))) {
      let opts = o.o ?? '';
      if (o.size) opts = opts ? `${opts},size=${o.size}` : `size=${o.size}`;
      const device = o.type === 'tmpfs' ? (o.device || 'tmpfs') : o.device!;
      try {
        await mountDevice(o.type, device, data, opts);
      } catch (e) {
        throw invalid(`error while mounting volume '${data}': failed to mount local volume: mount ${device}:${data}, flags: ${opts}: ${(e as Error).message.split(': ').pop()}`);
      }
    }
    return data;
  }

  // ----------------------------------------------------------------- container mounts

  /**
   * A container's mount points from its create request, in Docker's order: --volumes-from,
   * then -v binds and volumes, then --mount, then anonymous volumes for the remaining
   * Config.Volumes (the image's VOLUME lines and `-v /path`). Volumes named here are created.
   * The requests were checked at create (engine/container/host-config.ts); what is checked here
   * needs live state: a --mount bind source must exist, the volume driver must be known.
   */
  async resolveMounts(config: ContainerConfig, req: MountRequests, volumesFrom: (ref: string) => MountPoint[]): Promise<MountPoint[]> {
    const byDest = new Map<string, MountPoint>();
    for (const { ref, mode } of req.volumesFrom) {
      for (const m of volumesFrom(ref)) {
        if (m.Type === 'tmpfs') continue;
        byDest.set(m.Destination, { ...m, RW: mode ? mode === 'rw' : m.RW, Mode: mode || m.Mode, noCopy: true });
      }
    }
    for (const m of req.mounts) byDest.set(m.Destination, await this.#mountPoint(m));
    for (const dest of Object.keys(config.Volumes ?? {})) {
      const d = cleanMountDest(dest);
      if (byDest.has(d)) continue;
      const v = await this.create({ Labels: { [ANONYMOUS_LABEL]: '' } });
      byDest.set(d, { Type: 'volume', Name: v.Name, Source: v.Mountpoint, Destination: d, Driver: 'local', Mode: '', RW: true, Propagation: '' });
    }
    return [...byDest.values()].sort((a, b) => a.Destination.localeCompare(b.Destination));
  }

  async #mountPoint(m: MountRequest): Promise<MountPoint> {
    switch (m.Type) {
      case 'bind': {
        // -v creates a missing host directory, as Docker does (an existing file, or anything
        // else there, is bound as it is); --mount only with CreateMountpoint.
        try { await stat(m.Source); } catch {
          if (m.ifMissing === 'create') await mkdir(m.Source, { recursive: true });
          else throw invalid(`invalid mount config for type "bind": bind source path does not exist: ${m.Source}`);
        }
        const { ifMissing: _, ...rest } = m;
        return rest;
      }
      case 'volume': {
        const v = m.Name
          ? await this.create({ Name: m.Name, Driver: m.Driver, DriverOpts: m.DriverOpts, Labels: m.Labels ?? {} })
          : await this.create({ Driver: m.Driver, DriverOpts: m.DriverOpts, Labels: { ...(m.Labels ?? {}), [ANONYMOUS_LABEL]: '' } });
        return { Type: 'volume', Name: v.Name, Source: v.Mountpoint, Destination: m.Destination, Driver: 'local', Mode: m.Mode, RW: m.RW, Propagation: '', noCopy: m.noCopy, subpath: m.subpath };
      }
      case 'tmpfs':
        return { Type: 'tmpfs', Source: '', Destination: m.Destination, Mode: '', RW: m.RW, Propagation: '', tmpfsOptions: m.tmpfsOptions };
    }
  }

  /**
   * The OCI mounts for a starting container whose rootfs is mounted at `rootfs`. A volume that
   * is empty gets the image's content at its destination first (once, unless `nocopy`).
   *
   * A volume subpath is resolved inside the volume, which a running container may be changing:
   * handed to runc as a path string, it could be swapped for a symlink between our check and
   * runc's mount (the host's /etc then mounted into the container). So it is opened by
   * descriptor, bound onto `<staging>/<n>` (a directory of the daemon's) through its
   * /proc/<pid>/fd path, and runc gets the staging path. `release()` detaches the staging mounts
   * once the runtime has made its own (after create), on success and on failure alike.
   */
  async setUp(mounts: MountPoint[], rootfs: string, staging: string): Promise<{ mounts: OciMount[]; release: () => Promise<void> }> {
    const out: OciMount[] = [];
    const staged: string[] = [];
    const release = async () => {
      for (const p of staged.splice(0)) await releaseStaged(p);
    };
    try {
      for (const m of mounts) {
        if (m.Type === 'tmpfs') {
          out.push({ destination: m.Destination, type: 'tmpfs', source: 'tmpfs', options: m.tmpfsOptions ?? ['nosuid', 'nodev', 'noexec'] });
          continue;
        }
        let source = m.Source;
        if (m.Type === 'volume') {
          source = await this.mountpoint(m.Name!);
          if (!m.noCopy) {
            await this.#copyUp(rootfs, m.Destination, source);
            m.noCopy = true; // the copy happens once, on the first start (the record is saved by the caller)
          }
          if (m.subpath) {
            await mkdir(staging, { recursive: true, mode: 0o700 });
            source = await stageSubpath(source, m, join(staging, String(staged.length)), staged);
          }
        } else {
          try { await lstat(source); } catch {
            if (m.createSource) await mkdir(source, { recursive: true });
            else throw invalid(`invalid mount config for type "bind": bind source path does not exist: ${source}`);
          }
        }
        const opts = ['rbind', m.RW ? 'rw' : 'ro'];
        opts.push(m.Propagation || 'rprivate');
        out.push({ destination: m.Destination, type: 'bind', source, options: opts });
      }
    } catch (e) {
      await release();
      throw e;
    }
    return { mounts: out, release };
  }

  /**
   * Docker's copy of the image's content into an empty volume on its first use. The volume may be
   * shared with a running container that races the copy, so it is written as `docker cp` writes
   * into a container: a tar of the source (the starting container's rootfs, which nothing runs in)
   * extracted into the volume by descriptor (apply-layer.ts with an open directory), the volume's
   * own root taking the owner and mode of the source directory.
   */
  async #copyUp(rootfs: string, dest: string, volume: string): Promise<void> {
    if ((await readdir(volume)).length > 0) return;
    const src = await resolveInRoot(rootfs, dest);
    if (!src) return;
    const st = await lstat(src);
    if (!st.isDirectory() || (await readdir(src)).length === 0) return;
    const vol = openDir(volume);
    try {
      await extractTar(vol, createTreeTar(src, { top: '.' }));
    } finally {
      vol.close();
    }
  }

  /** `rm -v`: the container's anonymous volumes that no other container uses. */
  async removeAnonymous(mounts: MountPoint[], containerId: string): Promise<void> {
    for (const m of mounts) {
      if (m.Type !== 'volume' || !m.Name || !this.isAnonymous(m.Name)) continue;
      if (this.usedBy(m.Name).some((id) => id !== containerId)) continue;
      // The container's removal goes on, as in moby; a volume that fails to go stays, listed and
      // removable by hand.
      await this.remove(m.Name).catch(() => {});
    }
  }
}


/** Go's strconv.ParseBool, which moby's filters use; `error` words the refusal. */
function parseGoBool(v: string, error: (v: string) => string): boolean {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(v)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(v)) return false;
  throw invalid(error(v));
}


/**
 * Binds `m.subpath` of the volume at `volumeData` onto `target` by descriptor (see setUp) and
 * records the staging path in `staged` before mounting, so a failure still detaches it.
 */
async function stageSubpath(volumeData: string, m: MountPoint, target: string, staged: string[]): Promise<string> {
  const missing = () => invalid(`cannot access path ${m.subpath} in volume ${m.Name}: no such file or directory`);
  const vol = openDir(volumeData);
  let at: Location | undefined;
  let fd = -1;
  try {
    at = resolveIn(vol, m.subpath!, { followLast: true });
    if (!at) throw missing();
    try {
      fd = at.name ? at.dir.openPath(at.name) : openSync(at.dir.path(), O_PATH | FS.O_DIRECTORY);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw missing();
      throw e;
    }
    const st = fstatSync(fd);
    // A symlink here was put in after the walk resolved it: refuse rather than let mount follow it.
    if (!st.isDirectory() && !st.isFile()) throw invalid(`cannot access path ${m.subpath} in volume ${m.Name}: not a directory or a regular file (it changed while being mounted)`);
    if (st.isDirectory()) mkdirSync(target, 0o700);
    else closeSync(openSync(target, FS.O_WRONLY | FS.O_CREAT | FS.O_EXCL | FS.O_NOFOLLOW, 0o600));
    staged.push(target);
    await mountBindAt(fdPath(fd), target);
    return target;
  } finally {
    if (fd >= 0) closeSync(fd);
    at?.dir.close();
    vol.close();
  }
}

/**
 * Detaches a staging mount and removes its mount point, never recursively: were the mount still
 * there, a recursive removal would delete the volume's files.
 */
export async function releaseStaged(p: string): Promise<void> {
  // Not mounted (the bind failed half-way) is no error here: the rmdir below finds out what is left.
  await unmount(p, { lazy: true }).catch(() => {});
  await rmdir(p).catch(() => unlinkAsync(p)).catch(() => { /* still mounted: left for the start-up sweep */ });
}
