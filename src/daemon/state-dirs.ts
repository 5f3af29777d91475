// The modes of berthd's state directories, set at every start.
//
// The data root holds every container's and image's files: overlay layers and each container's
// merged rootfs, volumes, logs. Whatever a container made is there as it made it, setuid-root
// binaries and device nodes included, so a host user who can walk to, say,
// `<data-root>/overlay/rw/<id>/merged/tmp/x` can run a setuid binary a container planted and be
// root, or write to a device node a container made (CVE-2021-41091 in Docker). Hence, as Docker
// since 20.10.9:
//
//   <data-root>          0710 root:root   traversable by root's group only (userns-remap will
//                                          make this the remapped group, as Docker does)
//   <data-root>/volumes  0701             Docker's mode (volume/local); each volume's `_data` keeps
//                                          its own mode: containers see it as their files' owner set it
//   every other directory in the data root (content, overlay, containers, images, network,
//   buildcache, build-tmp, pull/load staging, and any other one found there)     0700
//
//   <exec-root>          0700 root:root, or 0710 root:berth when the host has a `berth` group:
//                         the default API socket lives in it (/run/berth/berth.sock) and the
//                         group's members hold the socket, which is root on the host anyway
//   every directory in the exec root (bundles with each container's config.json and conmon's
//   attach socket and fifos, runtime state, exit files, exec state)               0700
//
// With `--userns-remap` (daemon/userns.ts), as dockerd lays it out, the daemon's state moves into
// `<data-root>/<uid>.<gid>` (the remapped root's host IDs) and a container's root, an unprivileged
// host user, must reach its own rootfs (`overlay/rw/<id>/merged`) when runc mounts it:
//
//   <data-root>                0711 root:root   passable, not listable
//   <data-root>/<uid>.<gid>    0710 root:<gid>  the remapped root's group passes
//   .../<uid>.<gid>/overlay    0710 root:<gid>  likewise, on the way to each merged rootfs
//   the rest as above (and every other directory directly in <data-root> 0700)
//
// mkdir leaves an existing directory as it is, and earlier berthd versions made the data root
// 0711 with 0755 directories in it, so modes and owners are applied explicitly, every start,
// before any store opens its directory.
import { chmod, chown, mkdir, readdir, readFile, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { parseGroup } from '../runtime/user.ts';

export const DATA_ROOT_MODE = 0o710;
export const VOLUMES_DIR_MODE = 0o701;
export const PRIVATE_DIR_MODE = 0o700;

/**
 * The data root's directories berthd keeps (made here first, so never with another mode).
 * `build-tmp`, `pull-staging` and `load-staging` come and go; their makers give them 0700.
 */
const DATA_DIRS = ['content', 'overlay', 'containers', 'images', 'network', 'buildcache'];
/** The exec root's directories (conmon's socket dir `s`, exit files, runc's state, exec state). */
const EXEC_DIRS = ['bundles', 'runtimes', 's', 'exits', 'execs'];

/** The group given the API socket and the exec root, as DESIGN.md says: `berth`, when it exists. */
export const SOCKET_GROUP = 'berth';

/** The gid of `name` in the host's /etc/group (as moby looks up its `docker` group), if any. */
export async function hostGroupId(name: string, groupFile = '/etc/group'): Promise<number | undefined> {
  const text = await readFile(groupFile, 'utf8').catch(() => '');
  return parseGroup(text).find((g) => g.name === name)?.gid;
}

/** Makes `dir` (its parents as the umask has them) and gives it exactly `mode`, `uid` and `gid`. */
async function ensureDir(dir: string, mode: number, owner?: { uid: number; gid: number }): Promise<void> {
  await mkdir(dirname(dir), { recursive: true });
  await mkdir(dir, { mode }).catch((e: NodeJS.ErrnoException) => { if (e.code !== 'EEXIST') throw e; });
  const st = await stat(dir);
  if (!st.isDirectory()) throw new Error(`${dir} is not a directory`);
  // Owner before mode: a directory taken over from another owner is never open wider meanwhile.
  if (owner && (st.uid !== owner.uid || st.gid !== owner.gid)) await chown(dir, owner.uid, owner.gid);
  if ((st.mode & 0o7777) !== mode) await chmod(dir, mode);
}

/** Every directory directly in `root` gets `modeOf(name)`; files are left alone (they sit behind it). */
async function restrictChildren(root: string, modeOf: (name: string) => number): Promise<void> {
  for (const e of await readdir(root, { withFileTypes: true })) {
    if (!e.isDirectory()) continue;
    const p = join(root, e.name);
    const mode = modeOf(e.name);
    if (((await stat(p)).mode & 0o7777) !== mode) await chmod(p, mode);
  }
}

const self = () => ({ uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 });

/**
 * The data root and its directories, as the header says; run before any store opens them.
 * `remapGroup`: this is the remapped store of `--userns-remap`, passable by that group.
 */
export async function secureDataRoot(dataRoot: string, remapGroup?: number): Promise<void> {
  const group = remapGroup === undefined ? undefined : { uid: self().uid, gid: remapGroup };
  const modeOf = (name: string) => (name === 'volumes' ? VOLUMES_DIR_MODE : group && name === 'overlay' ? REMAP_DIR_MODE : PRIVATE_DIR_MODE);
  await ensureDir(dataRoot, DATA_ROOT_MODE, group ?? self());
  for (const d of DATA_DIRS) await ensureDir(join(dataRoot, d), modeOf(d), d === 'overlay' ? group : undefined);
  await ensureDir(join(dataRoot, 'volumes'), VOLUMES_DIR_MODE);
  await restrictChildren(dataRoot, modeOf);
}

export const REMAP_DIR_MODE = 0o710;

/**
 * `--userns-remap`: the data root around the remapped store (see the header), which is secured
 * as a data root of its own. Returns the store's path: the daemon's data root from then on.
 */
export async function secureRemappedRoot(dataRoot: string, root: { uid: number; gid: number }): Promise<string> {
  const name = `${root.uid}.${root.gid}`;
  await ensureDir(dataRoot, 0o711, self());
  await restrictChildren(dataRoot, (n) => (n === name ? REMAP_DIR_MODE : PRIVATE_DIR_MODE));
  const store = join(dataRoot, name);
  await secureDataRoot(store, root.gid);
  return store;
}

/** The exec root: root's, or also traversable by the socket group (see the header). */
export async function secureExecRoot(execRoot: string, socketGroup?: number): Promise<void> {
  const owner = self();
  if (socketGroup === undefined) await ensureDir(execRoot, 0o700, owner);
  else await ensureDir(execRoot, 0o710, { uid: owner.uid, gid: socketGroup });
  for (const d of EXEC_DIRS) await ensureDir(join(execRoot, d), PRIVATE_DIR_MODE);
  await restrictChildren(execRoot, () => PRIVATE_DIR_MODE);
}
