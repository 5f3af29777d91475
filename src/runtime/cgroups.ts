// Which cgroup hierarchy this host has, and which resource knobs it offers. The spec builder
// needs both: Docker's default cgroup namespace differs (host on v1, private on v2), and a
// limit the host cannot enforce (swap without swap accounting, blkio weight without the BFQ/CFQ
// files) must be left out of the spec, or runc fails writing a file that does not exist.
//
// Three layouts exist:
//   v2      /sys/fs/cgroup is cgroup2 (unified)
//   hybrid  /sys/fs/cgroup is a tmpfs of v1 controller mounts, plus cgroup2 at
//           /sys/fs/cgroup/unified holding no controllers (or only a few, like hugetlb here)
//   v1      v1 controller mounts only
// runc decides by the same test (statfs of /sys/fs/cgroup), so berth does too, reading
// /proc/self/mountinfo (Node has statfs, but the mount table also tells where each v1
// controller lives, which co-mounted hierarchies such as `cpu,cpuacct` need).
import { access, readFile } from 'node:fs/promises';
import { join } from 'node:path';

export type CgroupVersion = 'v1' | 'v2' | 'hybrid';

export interface CgroupMounts {
  version: CgroupVersion;
  /** The cgroup filesystem root, normally /sys/fs/cgroup. */
  root: string;
  /** v1 (and hybrid): controller name → mount point (`cpu` and `cpuacct` may share one). */
  v1: Record<string, string>;
  /** v2 mount point: the root on v2, /sys/fs/cgroup/unified on hybrid. */
  unified?: string;
}

/** What the host can enforce; each flag decides whether a HostConfig field reaches the spec. */
export interface CgroupFeatures {
  memory: boolean;
  swap: boolean;
  swappiness: boolean;
  oomKillDisable: boolean;
  cpuShares: boolean;
  cpuCfs: boolean;
  cpuRealtime: boolean;
  cpuset: boolean;
  pids: boolean;
  blkioWeight: boolean;
  /** Where cpuset.cpus/mems of the root live (for "Requested CPUs are not available"). */
  cpusetRoot?: string;
}

export interface CgroupHost extends CgroupMounts {
  features: CgroupFeatures;
  /** Docker's default cgroup namespace mode for this hierarchy. */
  defaultCgroupns: 'host' | 'private';
}

const unescapeMount = (s: string) => s.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8)));

/** Classifies the cgroup mounts of a /proc/<pid>/mountinfo text. */
export function parseCgroupMounts(mountinfo: string, root = '/sys/fs/cgroup'): CgroupMounts {
  const v1: Record<string, string> = {};
  let unified: string | undefined;
  let rootIsV2 = false;
  for (const line of mountinfo.split('\n')) {
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const mountPoint = unescapeMount(line.slice(0, sep).split(' ')[4] ?? '');
    const [fstype, , superOpts = ''] = line.slice(sep + 3).split(' ');
    if (mountPoint !== root && !mountPoint.startsWith(root + '/')) continue;
    if (fstype === 'cgroup2') {
      if (mountPoint === root) rootIsV2 = true;
      unified ??= mountPoint;
    } else if (fstype === 'cgroup') {
      for (const opt of superOpts.split(',')) {
        if (['rw', 'ro'].includes(opt) || opt.includes('=') || opt === 'clone_children' || opt === 'noprefix' || opt === 'xattr') continue;
        v1[opt] ??= mountPoint;
      }
    }
  }
  if (rootIsV2) return { version: 'v2', root, v1: {}, unified: root };
  if (unified) return { version: 'hybrid', root, v1, unified };
  return { version: 'v1', root, v1 };
}

const exists = (p: string) => access(p).then(() => true, () => false);

/** Detects the hierarchy and the features berth maps HostConfig resources onto. */
export async function detectCgroups(o: { root?: string; mountinfo?: string } = {}): Promise<CgroupHost> {
  const root = o.root ?? '/sys/fs/cgroup';
  const info = o.mountinfo ?? (await readFile('/proc/self/mountinfo', 'utf8').catch(() => ''));
  const m = parseCgroupMounts(info, root);
  let f: CgroupFeatures;
  if (m.version === 'v2') {
    // Controllers enabled at the root are what a child cgroup can get (runc enables them on
    // the way down). Swap: memory.swap.max exists on every non-root cgroup when the kernel
    // accounts swap; the root has none, so look at our own cgroup's file, and assume swap
    // accounting (the kernel default) when we sit in the root ourselves.
    const ctl = (await readFile(join(root, 'cgroup.controllers'), 'utf8').catch(() => '')).split(/\s+/);
    const has = (c: string) => ctl.includes(c);
    const self = (await readFile('/proc/self/cgroup', 'utf8').catch(() => '')).split('\n').find((l) => l.startsWith('0::'))?.slice(3) ?? '/';
    const swap = has('memory') && (self === '/' || (await exists(join(root, self, 'memory.swap.max'))));
    f = {
      memory: has('memory'), swap, swappiness: false, oomKillDisable: false,
      cpuShares: has('cpu'), cpuCfs: has('cpu'), cpuRealtime: false,
      cpuset: has('cpuset'), pids: has('pids'), blkioWeight: has('io'),
      cpusetRoot: has('cpuset') ? root : undefined,
    };
  } else {
    const at = (ctrl: string, file: string) => (m.v1[ctrl] ? exists(join(m.v1[ctrl], file)) : Promise.resolve(false));
    f = {
      memory: await at('memory', 'memory.limit_in_bytes'),
      swap: await at('memory', 'memory.memsw.limit_in_bytes'),
      swappiness: await at('memory', 'memory.swappiness'),
      oomKillDisable: await at('memory', 'memory.oom_control'),
      cpuShares: await at('cpu', 'cpu.shares'),
      cpuCfs: await at('cpu', 'cpu.cfs_quota_us'),
      cpuRealtime: await at('cpu', 'cpu.rt_runtime_us'),
      cpuset: await at('cpuset', 'cpuset.cpus'),
      pids: !!m.v1.pids,
      blkioWeight: await at('blkio', 'blkio.weight'),
      cpusetRoot: m.v1.cpuset,
    };
  }
  return { ...m, features: f, defaultCgroupns: m.version === 'v2' ? 'private' : 'host' };
}

/** The CPUs and memory nodes a container may ask for (cpuset root; falls back to sysfs). */
export async function availableCpuset(host: CgroupHost): Promise<{ cpus: string; mems: string }> {
  const read = async (names: string[], fallback: string) => {
    for (const n of names) {
      const v = host.features.cpusetRoot ? await readFile(join(host.features.cpusetRoot, n), 'utf8').catch(() => '') : '';
      if (v.trim()) return v.trim();
    }
    return (await readFile(fallback, 'utf8').catch(() => '')).trim();
  };
  return {
    cpus: await read(['cpuset.cpus.effective', 'cpuset.cpus'], '/sys/devices/system/cpu/online'),
    mems: await read(['cpuset.mems.effective', 'cpuset.mems'], '/sys/devices/system/node/online'),
  };
}
