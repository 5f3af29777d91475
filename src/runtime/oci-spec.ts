// The OCI runtime spec (bundle config.json) for one container, made from Docker's container
// configuration the way dockerd makes it (moby daemon/oci_linux.go over oci/defaults.go):
// Docker's default mounts, masked paths, device rules, capability set and seccomp profile,
// then HostConfig applied on top. HostConfig was checked at create (engine/container/
// host-config.ts); what is left here needs the rootfs or the host at start (the user, devices).
//
// Worked example — `berth run --user nobody -m 64m --pids-limit 20 busybox id`:
//   composeArgs(config)   → ['id'] (Entrypoint + Cmd, Docker's rule)
//   buildSpec({...})      → process.user {uid: 65534, gid: 65534} from the rootfs's /etc/passwd,
//                           resources.memory {limit: 64Mi, swap: 128Mi} (swap defaults to 2×),
//                           resources.pids {limit: 20}, Docker's 14 capabilities, the default
//                           seccomp profile resolved against those capabilities, ...
//   specToJson(spec)      → the bytes for BUNDLE/config.json
//
// Host facts (the daemon's capabilities and rlimits, the cgroup layout) are read on every call:
// a few small /proc and /sys reads, cheaper than keeping module state that could go stale.
import { access, lstat, readdir, readFile, realpath, stat } from 'node:fs/promises';
import { availableParallelism, arch as osArch, release } from 'node:os';
import { isAbsolute, join, posix } from 'node:path';
import { invalid } from '../common/errors.ts';
import type { ContainerConfig, HostConfig } from '../api/types/container.ts';
import { hostCapabilities, tweakCapabilities, type CapabilityEnv } from './capabilities.ts';
import { availableCpuset, detectCgroups, type CgroupHost } from './cgroups.ts';
import { defaultSeccompProfile, loadSeccompOption, nativeArch, resolveSeccompProfile, type OciSeccomp } from './seccomp.ts';
import { resolveUser, type OciUser } from './user.ts';
import type { IdMap, IdRange } from '../common/idmap.ts';

export type { OciUser } from './user.ts';
export type { OciSeccomp } from './seccomp.ts';

// ------------------------------------------------------------------ the runtime-spec types

export interface OciMount { destination: string; type?: string; source?: string; options?: string[] }

/**
 * One POSIX rlimit. Values are uint64 in the spec; RLIM_INFINITY (2^64-1) cannot be a JS number,
 * so it is held as `RLIM_INFINITY` below and written exactly by `specToJson`.
 */
export interface OciRlimit { type: string; soft: number; hard: number }

export interface OciCapabilities { bounding: string[]; effective: string[]; permitted: string[]; inheritable?: string[]; ambient?: string[] }

export interface OciProcess {
  terminal?: boolean;
  consoleSize?: { height: number; width: number };
  user: OciUser;
  args: string[];
  env: string[];
  cwd: string;
  capabilities?: OciCapabilities;
  rlimits?: OciRlimit[];
  noNewPrivileges?: boolean;
  apparmorProfile?: string;
  oomScoreAdj?: number;
  selinuxLabel?: string;
}

export type OciNamespaceType = 'pid' | 'network' | 'mount' | 'ipc' | 'uts' | 'user' | 'cgroup' | 'time';
export interface OciNamespace { type: OciNamespaceType; path?: string }

export interface OciDevice { type: 'c' | 'b' | 'u' | 'p'; path: string; major: number; minor: number; fileMode?: number; uid?: number; gid?: number }

/** A device cgroup rule; major/minor -1 (or absent) mean "any". */
export interface OciDeviceCgroup { allow: boolean; type?: 'a' | 'c' | 'b'; major?: number; minor?: number; access?: string }

export interface OciMemory { limit?: number; reservation?: number; swap?: number; swappiness?: number; disableOOMKiller?: boolean }
export interface OciCpu { shares?: number; quota?: number; period?: number; realtimeRuntime?: number; realtimePeriod?: number; cpus?: string; mems?: string }

export interface OciResources {
  devices?: OciDeviceCgroup[];
  memory?: OciMemory;
  cpu?: OciCpu;
  pids?: { limit: number };
  blockIO?: { weight?: number };
}

export interface OciLinux {
  namespaces: OciNamespace[];
  devices: OciDevice[];
  resources: OciResources;
  cgroupsPath: string;
  sysctl?: Record<string, string>;
  seccomp?: OciSeccomp;
  maskedPaths?: string[];
  readonlyPaths?: string[];
  rootfsPropagation?: string;
  uidMappings?: IdRange[];
  gidMappings?: IdRange[];
}

export interface OciSpec {
  ociVersion: string;
  process: OciProcess;
  root: { path: string; readonly?: boolean };
  hostname?: string;
  domainname?: string;
  mounts: OciMount[];
  linux: OciLinux;
  annotations?: Record<string, string>;
}

export interface SpecInput {
  id: string;                 // 64-hex container ID
  rootfs: string;             // absolute path of the already-mounted overlay rootfs
  config: ContainerConfig;    // merged container config (image defaults already applied)
  hostConfig: HostConfig;
  args: string[];             // the process args (see composeArgs)
  cgroupsPath: string;        // e.g. "/berth-<instance>/<id>" (cgroupfs style, runc creates it)
  namespaces: {               // '' or undefined = new private namespace; 'host' = share host's; else a path
    network?: string; pid?: string; ipc?: string; uts?: string;
    /** With `idMap`: the user namespace to join (made by the daemon); absent, runc makes one. */
    user?: string;
  };
  extraMounts: OciMount[];    // user mounts, appended after the defaults (they override same-destination defaults)
  initPath?: string;          // host path of tini-static when HostConfig.Init
  /**
   * `--userns-remap` for this container (unset for `--userns=host` or without remap): a user
   * namespace of its own whose root is an unprivileged host ID (see userns() below).
   */
  idMap?: IdMap;
}

// ------------------------------------------------------------------ constants (Docker's facts)

export const OCI_VERSION = '1.0.2';
export const DEFAULT_PATH_ENV = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
/** 2^64 as a double; stands for RLIM_INFINITY (uint64 max) in OciRlimit values. */
export const RLIM_INFINITY = 2 ** 64;
const DEFAULT_SHM_SIZE = 64 * 1024 * 1024;
const INIT_IN_CONTAINER = '/sbin/docker-init';

const DEFAULT_MASKED_PATHS = [
  '/proc/acpi', '/proc/asound', '/proc/interrupts', '/proc/kcore', '/proc/keys', '/proc/latency_stats',
  '/proc/sched_debug', '/proc/scsi', '/proc/timer_list', '/proc/timer_stats',
  '/sys/devices/virtual/powercap', '/sys/firmware',
];
const DEFAULT_READONLY_PATHS = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

/** /proc/<pid>/limits row labels → ulimit names. */
const LIMITS_LABELS: Record<string, string> = {
  'Max cpu time': 'cpu', 'Max file size': 'fsize', 'Max data size': 'data', 'Max stack size': 'stack',
  'Max core file size': 'core', 'Max resident set': 'rss', 'Max processes': 'nproc', 'Max open files': 'nofile',
  'Max locked memory': 'memlock', 'Max address space': 'as', 'Max file locks': 'locks',
  'Max pending signals': 'sigpending', 'Max msgqueue size': 'msgqueue', 'Max nice priority': 'nice',
  'Max realtime priority': 'rtprio', 'Max realtime timeout': 'rttime',
};

/** Sysctls Docker sets in every container with its own network namespace, when the kernel has them. */
const DEFAULT_NET_SYSCTLS: Record<string, string> = {
  // unprivileged ICMP echo sockets (ping without CAP_NET_RAW)
  'net.ipv4.ping_group_range': '0 2147483647',
  // binding ports below 1024 without CAP_NET_BIND_SERVICE
  'net.ipv4.ip_unprivileged_port_start': '0',
};

// ------------------------------------------------------------------ host facts

/** What buildSpec needs to know about the daemon's host and process. */
export interface HostFacts {
  caps: CapabilityEnv;
  cgroups: CgroupHost;
  /** The daemon's own rlimits by ulimit name (RLIM_INFINITY for unlimited). */
  limits: Record<string, { soft: number; hard: number }>;
  /** The daemon's oom_score_adj: going below min(this, 0) needs CAP_SYS_RESOURCE. */
  oomScoreAdj: number;
  ncpu: number;
  cpuset: { cpus: string; mems: string };
  /** Which of Docker's default sysctls exist on this kernel. */
  sysctls: string[];
  /** Extra masked paths: /sys/devices/system/cpu/cpuN/thermal_throttle that exist here. */
  thermalPaths: string[];
  arch: string;
  kernel: string;
  /** AppArmor is enabled in the kernel (containerd's apparmor.HostSupports); absent means no. */
  apparmor?: boolean;
}

export function parseProcLimits(text: string): Record<string, { soft: number; hard: number }> {
  const out: Record<string, { soft: number; hard: number }> = {};
  const num = (s: string) => (s === 'unlimited' ? RLIM_INFINITY : Number(s));
  for (const line of text.split('\n').slice(1)) {
    const cols = line.trim().split(/\s{2,}/);
    const name = LIMITS_LABELS[cols[0]];
    if (name && cols.length >= 3) out[name] = { soft: num(cols[1]), hard: num(cols[2]) };
  }
  return out;
}

/** Parses a cgroup-style list (`0-3,7`); throws Docker's "invalid format" text. */
export function parseUintList(val: string, maximum = 0): Set<number> {
  const out = new Set<number>();
  if (val === '') return out;
  const bad = () => new Error(`invalid format: ${val}`);
  for (const r of val.split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(r);
    if (!m) throw bad();
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    if (hi < lo) throw bad();
    if (maximum && hi > maximum) throw new Error(`value of out range, maximum is ${maximum}`);
    for (let i = lo; i <= hi; i++) out.add(i);
  }
  return out;
}

const exists = (p: string) => access(p).then(() => true, () => false);

/** How long one reading of the host's facts serves (a `docker run` asks three times). */
const HOST_FACTS_TTL_MS = 5000;
let factsCache: { at: number; facts: Promise<HostFacts> } | undefined;

/**
 * The host's facts that specs and checks depend on. One reading (15 or so file system calls,
 * ~2.3 ms) serves every caller for a few seconds, as dockerd reads its sysinfo once; it is
 * frozen, since callers share it. A failed reading is not kept.
 */
export function hostFacts(): Promise<HostFacts> {
  const now = Date.now();
  if (!factsCache || now - factsCache.at > HOST_FACTS_TTL_MS) {
    const facts = readHostFacts().then(deepFreeze);
    factsCache = { at: now, facts };
    facts.catch(() => { if (factsCache?.facts === facts) factsCache = undefined; });
  }
  return factsCache.facts;
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object' && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o)) deepFreeze(v);
  }
  return o;
}

async function readHostFacts(): Promise<HostFacts> {
  const [caps, cgroups, limitsText, oomText, possible] = await Promise.all([
    hostCapabilities(),
    detectCgroups(),
    // Unreadable (as in a restricted /proc or /sys): no inherited limits, oom_score_adj 0, no thermal_throttle paths.
    readFile('/proc/self/limits', 'utf8').catch(() => ''),
    readFile('/proc/self/oom_score_adj', 'utf8').catch(() => '0'),
    readFile('/sys/devices/system/cpu/possible', 'utf8').catch(() => ''),
  ]);
  const sysctls: string[] = [];
  for (const k of Object.keys(DEFAULT_NET_SYSCTLS)) if (await exists(join('/proc/sys', ...k.split('.')))) sysctls.push(k);
  const thermalPaths: string[] = [];
  let cpus: Set<number>;
  try { cpus = parseUintList(possible.trim()); } catch { cpus = new Set(); } // unparsable: no thermal_throttle paths
  for (const n of [...cpus].sort((a, b) => a - b)) {
    const p = `/sys/devices/system/cpu/cpu${n}/thermal_throttle`;
    if (await exists(p)) thermalPaths.push(p);
  }
  return {
    caps,
    cgroups,
    limits: parseProcLimits(limitsText),
    oomScoreAdj: Number(oomText.trim()) || 0,
    ncpu: availableParallelism(),
    cpuset: await availableCpuset(cgroups),
    sysctls,
    thermalPaths,
    arch: nativeArch(osArch()),
    kernel: release(),
    apparmor: await appArmorEnabled(),
  };
}

/**
 * What a container gets for the HostConfig fields it leaves unset, as buildSpec applies them.
 * dockerd writes these into the container's HostConfig at create (adaptContainerSettings,
 * createContainerOSSpecificSettings), so its inspect shows them; berth keeps the request as sent
 * and the API fills them in from here.
 */
export interface SpecDefaults {
  shmSize: number;
  /** Docker's daemon default `default-ipc-mode`. */
  ipcMode: 'private';
  cgroupnsMode: 'host' | 'private';
  /** For an unprivileged container (a privileged one gets none). */
  maskedPaths: string[];
  readonlyPaths: string[];
  /** AppArmor is on in the kernel (an `apparmor=` profile is then applied). */
  apparmor: boolean;
}

export function specDefaultsOf(facts: Pick<HostFacts, 'cgroups' | 'thermalPaths' | 'apparmor'>): SpecDefaults {
  return {
    shmSize: DEFAULT_SHM_SIZE,
    ipcMode: 'private',
    cgroupnsMode: facts.cgroups.defaultCgroupns,
    maskedPaths: [...DEFAULT_MASKED_PATHS, ...facts.thermalPaths],
    readonlyPaths: [...DEFAULT_READONLY_PATHS],
    apparmor: !!facts.apparmor,
  };
}

export async function specDefaults(): Promise<SpecDefaults> {
  return specDefaultsOf(await hostFacts());
}

/** As runc and containerd tell: the securityfs directory exists and the module says `Y`. */
async function appArmorEnabled(): Promise<boolean> {
  if (!(await exists('/sys/kernel/security/apparmor'))) return false;
  return (await readFile('/sys/module/apparmor/parameters/enabled', 'utf8').catch(() => '')).startsWith('Y'); // unreadable: not enabled
}

// ------------------------------------------------------------------ args and env

/**
 * Docker's Entrypoint + Cmd rule: with an entrypoint, the command is its arguments; without,
 * the command is the whole program. (Which Cmd survives a new Entrypoint is the config merge's
 * business: a user Entrypoint drops the image's Cmd before this runs.)
 */
export function composeArgs(config: ContainerConfig): string[] {
  // `--entrypoint ""` arrives as [""]: no entrypoint (dockerd resets it the same way).
  const ep = config.Entrypoint?.length === 1 && config.Entrypoint[0] === '' ? [] : config.Entrypoint ?? [];
  const cmd = config.Cmd ?? [];
  const args = ep.length ? [...ep, ...cmd] : [...cmd];
  if (args.length === 0) throw invalid('No command specified');
  return args;
}

/**
 * Docker's container environment: PATH, HOSTNAME and (with a TTY) TERM defaults, then
 * Config.Env replacing same-named entries; a bare `NAME` (no `=`) removes a default.
 */
export function buildEnv(config: ContainerConfig): string[] {
  const env = [`PATH=${DEFAULT_PATH_ENV}`, `HOSTNAME=${config.Hostname ?? ''}`];
  if (config.Tty) env.push('TERM=xterm');
  const index = new Map(env.map((e, i) => [e.slice(0, e.indexOf('=')), i]));
  const out: (string | undefined)[] = env;
  for (const v of config.Env ?? []) {
    const eq = v.indexOf('=');
    const key = eq < 0 ? v : v.slice(0, eq);
    const i = index.get(key);
    if (eq < 0) {
      if (i !== undefined) out[i] = undefined;
      continue;
    }
    if (i !== undefined && out[i] !== undefined) out[i] = v;
    else {
      index.set(key, out.length);
      out.push(v);
    }
  }
  return out.filter((e): e is string => e !== undefined);
}

// ------------------------------------------------------------------ security options

export interface SecurityOptions {
  noNewPrivileges: boolean;
  /** The raw `seccomp=` value, when given. */
  seccomp?: string;
  writableCgroups?: boolean;
  /** `systempaths=unconfined` (the docker CLI's way of asking for no masked/read-only paths). */
  unmaskSystemPaths: boolean;
  /** The `apparmor=` profile, when given (`unconfined` included). */
  apparmor?: string;
}

/** Parses HostConfig.SecurityOpt with dockerd's rules and error texts. */
export function parseSecurityOpts(opts: readonly string[] | null | undefined): SecurityOptions {
  const o: SecurityOptions = { noNewPrivileges: false, unmaskSystemPaths: false };
  for (const opt of opts ?? []) {
    if (opt === 'no-new-privileges') { o.noNewPrivileges = true; continue; }
    if (opt === 'writable-cgroups') { o.writableCgroups = true; continue; }
    if (opt === 'disable') continue; // label=disable's short form; no SELinux here
    // `=` is the separator; `:` is the deprecated one dockerd still accepts.
    const sep = opt.includes('=') ? '=' : opt.includes(':') ? ':' : '';
    if (!sep) throw invalid(`invalid --security-opt 1: ${JSON.stringify(opt)}`);
    const i = opt.indexOf(sep);
    const k = opt.slice(0, i);
    const v = opt.slice(i + 1);
    const bool = () => {
      if (/^(1|t|T|TRUE|true|True)$/.test(v)) return true;
      if (/^(0|f|F|FALSE|false|False)$/.test(v)) return false;
      throw invalid(`invalid --security-opt 2: ${JSON.stringify(opt)}`);
    };
    switch (k) {
      case 'label': break; // no SELinux on these hosts: accepted, no effect
      case 'apparmor': o.apparmor = v; break;
      case 'seccomp': o.seccomp = v; break;
      case 'no-new-privileges': o.noNewPrivileges = bool(); break;
      case 'writable-cgroups': o.writableCgroups = bool(); break;
      case 'systempaths':
        if (v !== 'unconfined') throw invalid(`invalid --security-opt 2: ${JSON.stringify(opt)}`);
        o.unmaskSystemPaths = true;
        break;
      default: throw invalid(`invalid --security-opt 2: ${JSON.stringify(opt)}`);
    }
  }
  return o;
}

// ------------------------------------------------------------------ parsed HostConfig fields
//
// HostConfig was checked at create (engine/container/host-config.ts, with Docker's texts): the
// builders below take it as valid. parseSecurityOpts, mergeTmpfsOptions and
// parseDeviceCgroupRules are the parsers that check shares; the rest only map.

type NsKind = 'private' | 'host' | 'joined';
const nsKind = (v: string | undefined): NsKind => (!v ? 'private' : v === 'host' ? 'host' : 'joined');

const fmtList = (v: string[]) => `[${v.map((s) => JSON.stringify(s)).join(' ')}]`; // Go's %q of a []string

/** HostConfig.Tmpfs entries → tmpfs mounts, Docker's default flags first, user options winning. */
export function tmpfsMounts(tmpfs: Record<string, string> | null | undefined): OciMount[] {
  const out: OciMount[] = [];
  for (const [dest, data] of Object.entries(tmpfs ?? {})) {
    const opts = ['noexec', 'nosuid', 'nodev', 'rprivate', ...(data ? data.split(',') : [])];
    out.push({ destination: dest, type: 'tmpfs', source: 'tmpfs', options: mergeTmpfsOptions(opts) });
  }
  return out;
}

const FLAG_KEY: Record<string, string> = {
  ro: 'ro', rw: 'ro', suid: 'nosuid', nosuid: 'nosuid', dev: 'nodev', nodev: 'nodev', exec: 'noexec', noexec: 'noexec',
  sync: 'sync', async: 'sync', dirsync: 'dirsync', remount: 'remount', mand: 'mand', nomand: 'mand',
  atime: 'noatime', noatime: 'noatime', diratime: 'nodiratime', nodiratime: 'nodiratime',
  relatime: 'relatime', norelatime: 'relatime', strictatime: 'strictatime', nostrictatime: 'strictatime',
  // one propagation mode only: they all share a key
  bind: 'propagation', rbind: 'propagation', unbindable: 'propagation', runbindable: 'propagation',
  private: 'propagation', rprivate: 'propagation', shared: 'propagation', rshared: 'propagation',
  slave: 'propagation', rslave: 'propagation',
};
const TMPFS_DATA = new Set(['size', 'mode', 'uid', 'gid', 'nr_inodes', 'nr_blocks', 'mpol']);

/** The last of conflicting options wins (`exec` after the default `noexec`), order kept otherwise. */
export function mergeTmpfsOptions(options: string[]): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (let i = options.length - 1; i >= 0; i--) {
    const o = options[i];
    if (o === 'defaults') continue;
    let key = FLAG_KEY[o];
    if (!key) {
      const eq = o.indexOf('=');
      if (eq < 0 || !TMPFS_DATA.has(o.slice(0, eq))) throw invalid(`invalid tmpfs option ${fmtList(eq < 0 ? [o] : [o.slice(0, eq), o.slice(eq + 1)])}`);
      key = 'data:' + o.slice(0, eq);
    }
    if (seen.has(key)) continue;
    seen.add(key);
    out.unshift(o);
  }
  return out;
}

/** HostConfig.Ulimits → rlimits (checked at create against the daemon's own hard limits). */
export function buildRlimits(ulimits: HostConfig['Ulimits']): OciRlimit[] {
  const val = (n: number) => (n < 0 ? RLIM_INFINITY : n); // -1 is `unlimited` over the API
  return (ulimits ?? []).map((u) => ({ type: `RLIMIT_${u.Name.toUpperCase()}`, soft: val(u.Soft), hard: val(u.Hard) }));
}

// ------------------------------------------------------------------ devices

function devNumbers(rdev: bigint): { major: number; minor: number } {
  // glibc's gnu_dev_major/minor layout
  const major = ((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn);
  const minor = (rdev & 0xffn) | ((rdev >> 12n) & ~0xffn);
  return { major: Number(major), minor: Number(minor) };
}

/** A device node's spec entry, or undefined if `path` is not a char/block device. */
async function deviceFromPath(path: string, inContainer: string): Promise<OciDevice | undefined> {
  const st = await lstat(path, { bigint: true });
  const type = st.isCharacterDevice() ? 'c' : st.isBlockDevice() ? 'b' : undefined;
  if (!type) return undefined;
  return { type, path: inContainer, ...devNumbers(st.rdev), fileMode: Number(st.mode & 0o7777n), uid: Number(st.uid), gid: Number(st.gid) };
}

/**
 * One `--device HOST[:CONTAINER[:PERMS]]` mapping: a device node, or a directory whose device
 * nodes are all added (Docker's rule). A symlink on the host (e.g. /dev/disk/by-id/...) is
 * followed to the node it names.
 */
export async function devicesFromPath(onHost: string, inContainer: string, perms: string): Promise<{ devices: OciDevice[]; rules: OciDeviceCgroup[] }> {
  const fail = (why: string) => invalid(`error gathering device information while adding custom device ${JSON.stringify(onHost)}: ${why}`);
  let resolved = onHost;
  try {
    if ((await lstat(onHost)).isSymbolicLink()) resolved = await realpath(onHost);
  } catch (e) {
    throw fail((e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : (e as Error).message);
  }
  const devices: OciDevice[] = [];
  const one = await deviceFromPath(resolved, inContainer);
  if (one) devices.push(one);
  else if ((await stat(resolved)).isDirectory()) {
    // As moby's DevicesFromPath walk: an entry that cannot be read is not a device, and is skipped.
    const walk = async (dir: string): Promise<void> => {
      for (const ent of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
        const p = join(dir, ent.name);
        if (ent.isDirectory()) await walk(p);
        else {
          const d = await deviceFromPath(p, inContainer + p.slice(resolved.length)).catch(() => undefined);
          if (d) devices.push(d);
        }
      }
    };
    await walk(resolved);
  }
  if (!devices.length) throw fail('not a device node');
  return { devices, rules: devices.map((d) => ({ allow: true, type: d.type as 'c' | 'b', major: d.major, minor: d.minor, access: perms })) };
}

/** Every device node of the host's /dev, for privileged containers (containerd's HostDevices). */
export async function hostDevices(root = '/dev'): Promise<OciDevice[]> {
  const skipDirs = new Set(['pts', 'shm', 'fd', 'mqueue', '.lxc', '.lxd-mounts', '.udev']);
  const out: OciDevice[] = [];
  // /dev changes under us (hotplug): a directory or node that vanished or cannot be read is left out.
  const walk = async (dir: string): Promise<void> => {
    for (const ent of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
      const p = join(dir, ent.name);
      if (ent.isDirectory()) {
        if (!skipDirs.has(ent.name)) await walk(p);
        continue;
      }
      if (ent.name === 'console' || !(ent.isCharacterDevice() || ent.isBlockDevice())) continue;
      const d = await deviceFromPath(p, p).catch(() => undefined);
      if (d) out.push(d);
    }
  };
  await walk(root);
  return out;
}

const DEVICE_RULE = /^([acb]) (\d+|\*):(\d+|\*) ([rwm]{1,3})$/;

/** HostConfig.DeviceCgroupRules (`c 13:* rwm`) → cgroup rules, Docker's text on a bad one. */
export function parseDeviceCgroupRules(rules: readonly string[] | null | undefined): OciDeviceCgroup[] {
  return (rules ?? []).map((r) => {
    const m = DEVICE_RULE.exec(r);
    if (!m) throw invalid(`invalid device cgroup rule format: '${r}'`);
    return {
      allow: true,
      type: m[1] as 'a' | 'c' | 'b',
      major: m[2] === '*' ? -1 : Number(m[2]),
      minor: m[3] === '*' ? -1 : Number(m[3]),
      access: m[4],
    };
  });
}

/**
 * Docker's default device rules: deny everything, allow the devices every container has, keep
 * /dev/fuse denied. runc appends its own implicit rules after these (mknod of any node, full,
 * ptmx, /dev/pts/*); they are listed here as well so the spec stands on its own for other
 * runtimes. Order matters on cgroup v1: runc's rule emulator cannot deny one device inside an
 * already allowed wildcard ("cannot punch hole"), so the fuse deny comes before the wildcards.
 */
function defaultDeviceRules(): OciDeviceCgroup[] {
  const c = (major: number, minor: number, access = 'rwm'): OciDeviceCgroup => ({ allow: true, type: 'c', major, minor, access });
  return [
    { allow: false, access: 'rwm' },
    c(1, 5), // zero
    c(1, 3), // null
    c(1, 9), // urandom
    c(1, 8), // random
    c(5, 0), // tty
    c(5, 1), // console
    { allow: false, type: 'c', major: 10, minor: 229, access: 'rwm' }, // fuse
    // runc's implicit ones
    { allow: true, type: 'c', major: -1, minor: -1, access: 'm' },
    { allow: true, type: 'b', major: -1, minor: -1, access: 'm' },
    c(1, 7), // full
    c(5, 2), // ptmx
    c(136, -1), // /dev/pts/*
  ];
}

const VALID_PERMS = /^(?!.*(.).*\1)[rwm]{1,3}$/;

// ------------------------------------------------------------------ the spec

/**
 * Mounts a process in a user namespace runc makes cannot make as the defaults say, when it
 * joins a network namespace made before (a build's RUN step on the daemon's bridge): sysfs may
 * only be mounted by the user namespace that owns the network namespace, so /sys is the host's
 * bound read-only, as for `--network host`; and the cgroup mount is left writable (moby clears
 * the flag for user namespaces too). Containers join a user namespace the daemon made with their
 * network namespace inside it (sys/namespaces.ts) and need none of this.
 */
function usernsMounts(mounts: OciMount[]): void {
  for (const [i, m] of mounts.entries()) {
    if (m.type === 'sysfs') mounts[i] = { destination: m.destination, type: 'bind', source: '/sys', options: ['rbind', 'nosuid', 'noexec', 'nodev', 'ro'] };
    else if (m.type === 'cgroup') m.options = m.options?.filter((o) => o !== 'ro');
  }
}

export async function buildSpec(input: SpecInput): Promise<OciSpec> {
  return buildSpecWith(input, await hostFacts());
}

/** buildSpec over given host facts (tests pass their own). */
export async function buildSpecWith(input: SpecInput, facts: HostFacts): Promise<OciSpec> {
  const { config, hostConfig: hc } = input;
  const ns = { network: nsKind(input.namespaces.network), pid: nsKind(input.namespaces.pid), ipc: nsKind(input.namespaces.ipc), uts: nsKind(input.namespaces.uts) };
  if (!input.args.length) throw invalid('No command specified');
  const sec = parseSecurityOpts(hc.SecurityOpt);
  const privileged = !!hc.Privileged;
  const cg = facts.cgroups;

  // process
  const caps = tweakCapabilities({ capAdd: hc.CapAdd, capDrop: hc.CapDrop, privileged }, facts.caps);
  const user = await resolveUser(input.rootfs, config.User, hc.GroupAdd);
  // Like Docker, the init only goes in when the container has its own PID namespace: in the
  // host's or another container's there already is a PID 1 that reaps.
  const useInit = !!input.initPath && ns.pid === 'private';
  const process: OciProcess = {
    terminal: !!config.Tty,
    user,
    args: useInit ? [INIT_IN_CONTAINER, '--', ...input.args] : [...input.args],
    env: buildEnv(config),
    cwd: config.WorkingDir ? posix.normalize(config.WorkingDir).replace(/(.)\/+$/, '$1') : '/',
    capabilities: { bounding: caps, effective: [...caps], permitted: [...caps] },
    oomScoreAdj: hc.OomScoreAdj ?? 0,
  };
  const consoleSize = hc.ConsoleSize;
  if (config.Tty && Array.isArray(consoleSize) && consoleSize.length === 2 && consoleSize.every((n) => Number.isInteger(n) && n > 0)) {
    process.consoleSize = { height: consoleSize[0] as number, width: consoleSize[1] as number };
  }
  const rlimits = buildRlimits(hc.Ulimits);
  if (rlimits.length) process.rlimits = rlimits;
  if (sec.noNewPrivileges) process.noNewPrivileges = true;
  // runc applies it (create refused a profile on a host without AppArmor).
  if (sec.apparmor !== undefined && facts.apparmor) process.apparmorProfile = sec.apparmor;

  // mounts: Docker's defaults, minus those a user mount replaces, then the init, then user mounts
  const shmSize = hc.ShmSize || DEFAULT_SHM_SIZE;
  const defaults: OciMount[] = [
    { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
    { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'] },
    { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
    { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['ro', 'nosuid', 'noexec', 'nodev'] },
    { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', `size=${shmSize}`] },
  ];
  const userMounts = [...input.extraMounts, ...tmpfsMounts(hc.Tmpfs)];
  // --ipc=host shares the host's /dev/shm (dockerd binds it the same way).
  if (hc.IpcMode === 'host' && !userMounts.some((m) => cleanDest(m.destination) === '/dev/shm')) {
    userMounts.push({ destination: '/dev/shm', type: 'bind', source: '/dev/shm', options: ['rbind', 'rprivate'] });
  }
  const userDests = new Set(userMounts.map((m) => cleanDest(m.destination)));
  const userDev = userDests.has('/dev');
  const mounts: OciMount[] = [];
  for (const m of defaults) {
    if (userDests.has(m.destination)) continue;
    if (userDev && m.destination.startsWith('/dev/')) continue;
    if (m.destination === '/dev/shm' && hc.IpcMode === 'none') continue;
    mounts.push(m);
  }
  if (useInit) mounts.push({ destination: INIT_IN_CONTAINER, type: 'bind', source: input.initPath!, options: ['bind', 'ro'] });
  if (hc.ReadonlyRootfs) {
    for (const m of mounts) {
      if (['/proc', '/dev/pts', '/dev/shm', '/dev/mqueue', '/dev'].includes(m.destination)) continue;
      if (!m.options?.includes('ro')) m.options = [...(m.options ?? []), 'ro'];
    }
  }
  const writableCgroups = sec.writableCgroups ?? privileged;
  for (const m of mounts) {
    if ((privileged && m.destination === '/sys') || (writableCgroups && m.type === 'cgroup')) m.options = m.options?.filter((o) => o !== 'ro');
  }
  // A user namespace runc makes itself does not own a network namespace made before it.
  if (input.idMap && !input.namespaces.user && input.namespaces.network) usernsMounts(mounts);
  // Parents before children (a volume at /data and another at /data/sub), stable otherwise.
  const depth = (m: OciMount) => cleanDest(m.destination).split('/').length;
  mounts.push(...userMounts.map((m, i) => ({ m, i })).sort((a, b) => depth(a.m) - depth(b.m) || a.i - b.i).map(({ m }) => ({ ...m, options: m.options ? [...m.options] : undefined })));

  // namespaces (Docker's order), `path` to join, absent to share the host's
  const namespaces: OciNamespace[] = [{ type: 'mount' }];
  const add = (type: OciNamespaceType, v: string | undefined) => {
    if (v === 'host') return;
    namespaces.push(v ? { type, path: v } : { type });
  };
  add('network', input.namespaces.network);
  add('uts', input.namespaces.uts);
  add('pid', input.namespaces.pid);
  add('ipc', input.namespaces.ipc);
  // Docker's default follows the hierarchy: the host's cgroup namespace on v1, a private one on v2.
  const cgns = hc.CgroupnsMode || cg.defaultCgroupns;
  if (cgns === 'private') namespaces.push({ type: 'cgroup' });

  // devices: gathered (and their mappings checked) here, at start, as Docker's spec builder does
  let devices: OciDevice[] = [];
  let deviceRules: OciDeviceCgroup[];
  if (privileged) {
    devices = await hostDevices();
    for (const d of hc.Devices ?? []) {
      const dest = d.PathInContainer || d.PathOnHost;
      if (dest === d.PathOnHost) continue; // already there with every host device
      devices.push(...(await devicesFromPath(d.PathOnHost, dest, 'rwm')).devices);
    }
    deviceRules = [{ allow: true, access: 'rwm' }];
  } else {
    deviceRules = defaultDeviceRules();
    for (const d of hc.Devices ?? []) {
      const perms = d.CgroupPermissions || 'rwm';
      if (!VALID_PERMS.test(perms)) throw invalid(`bad mode specified: ${perms}`);
      const dest = d.PathInContainer || d.PathOnHost;
      if (!isAbsolute(d.PathOnHost) || !posix.isAbsolute(dest)) throw invalid(`bad format for path: ${!isAbsolute(d.PathOnHost) ? d.PathOnHost : dest}`);
      const r = await devicesFromPath(d.PathOnHost, dest, perms);
      devices.push(...r.devices);
      deviceRules.push(...r.rules);
    }
    deviceRules.push(...parseDeviceCgroupRules(hc.DeviceCgroupRules));
  }

  // resources: what the host cannot enforce is left out, as dockerd discards it with a warning
  const f = cg.features;
  const resources: OciResources = { devices: deviceRules };
  const memory: OciMemory = {};
  const mem = hc.Memory ?? 0;
  if (f.memory) {
    if (mem > 0) memory.limit = mem;
    if ((hc.MemoryReservation ?? 0) > 0) memory.reservation = hc.MemoryReservation;
    // MemorySwap is memory+swap; unset with a memory limit means twice the limit (Docker's
    // default), -1 means unlimited swap (nothing to write: a new cgroup is unlimited).
    if (f.swap && mem > 0) {
      const swap = hc.MemorySwap ?? 0;
      if (swap > 0) memory.swap = swap;
      else if (swap === 0) memory.swap = mem * 2;
    }
    if (f.swappiness && hc.MemorySwappiness != null && hc.MemorySwappiness >= 0) memory.swappiness = hc.MemorySwappiness;
    if (f.oomKillDisable && hc.OomKillDisable != null) memory.disableOOMKiller = hc.OomKillDisable;
  }
  if (Object.keys(memory).length) resources.memory = memory;
  const cpu: OciCpu = {};
  if (f.cpuShares && (hc.CpuShares ?? 0) > 0) cpu.shares = hc.CpuShares;
  if (f.cpuset && hc.CpusetCpus) cpu.cpus = hc.CpusetCpus;
  if (f.cpuset && hc.CpusetMems) cpu.mems = hc.CpusetMems;
  if (f.cpuCfs) {
    const nano = hc.NanoCpus ?? 0;
    if (nano > 0) {
      cpu.period = 100000; // 100 ms, the kernel's default CFS period
      cpu.quota = Math.trunc((nano * cpu.period) / 1e9);
    }
    if (hc.CpuPeriod) cpu.period = hc.CpuPeriod;
    if (hc.CpuQuota) cpu.quota = hc.CpuQuota;
  }
  if (f.cpuRealtime) {
    if (hc.CpuRealtimePeriod) cpu.realtimePeriod = hc.CpuRealtimePeriod;
    if (hc.CpuRealtimeRuntime) cpu.realtimeRuntime = hc.CpuRealtimeRuntime;
  }
  if (Object.keys(cpu).length) resources.cpu = cpu;
  // PidsLimit: null leaves it alone; 0 and -1 both mean unlimited (runc wants -1).
  if (f.pids && hc.PidsLimit != null) resources.pids = { limit: hc.PidsLimit > 0 ? hc.PidsLimit : -1 };
  if (f.blkioWeight && (hc.BlkioWeight ?? 0) > 0) resources.blockIO = { weight: hc.BlkioWeight };

  // sysctls: Docker's network defaults (own network namespace only), the domain name (no OCI
  // field in runtime-spec 1.0; the sysctl has the same effect), then the user's, which win.
  const sysctl: Record<string, string> = {};
  if (ns.network === 'private') for (const k of facts.sysctls) sysctl[k] = DEFAULT_NET_SYSCTLS[k];
  // Only in a UTS namespace of its own: in a joined one it would rename the other container.
  if (config.Domainname && ns.uts === 'private') sysctl['kernel.domainname'] = config.Domainname;
  Object.assign(sysctl, hc.Sysctls ?? {});

  // seccomp: none for privileged containers unless a profile is named explicitly (Docker's rule)
  let seccomp: OciSeccomp | undefined;
  const named = sec.seccomp !== undefined;
  if (!(privileged && !named)) {
    const profile = named ? await loadSeccompOption(sec.seccomp!) : defaultSeccompProfile();
    if (profile !== 'unconfined') seccomp = resolveSeccompProfile(profile, { capabilities: caps, arch: facts.arch, kernel: facts.kernel });
  }

  if (input.idMap) namespaces.push(input.namespaces.user ? { type: 'user', path: input.namespaces.user } : { type: 'user' });
  const linux: OciLinux = { namespaces, devices, resources, cgroupsPath: input.cgroupsPath };
  if (input.idMap) {
    linux.uidMappings = input.idMap.uids.map((r) => ({ ...r }));
    linux.gidMappings = input.idMap.gids.map((r) => ({ ...r }));
  }
  if (Object.keys(sysctl).length) linux.sysctl = sysctl;
  if (seccomp) linux.seccomp = seccomp;
  // Explicit MaskedPaths/ReadonlyPaths override the defaults (even when privileged: dockerd
  // applies them after clearing); otherwise the defaults, unless privileged or systempaths=unconfined.
  const confined = !privileged && !sec.unmaskSystemPaths;
  const paths = specDefaultsOf(facts);
  const masked = hc.MaskedPaths ?? (confined ? paths.maskedPaths : []);
  const ro = hc.ReadonlyPaths ?? (confined ? paths.readonlyPaths : []);
  if (masked.length) linux.maskedPaths = [...masked];
  if (ro.length) linux.readonlyPaths = [...ro];

  const spec: OciSpec = {
    ociVersion: OCI_VERSION,
    process,
    root: { path: input.rootfs, readonly: !!hc.ReadonlyRootfs },
    mounts,
    linux,
  };
  // A hostname needs a UTS namespace (runc refuses one otherwise), and one of the container's
  // own: runc sets it in a joined namespace too (UTSMode container:<id>), which would rename the
  // container that namespace belongs to. Joining it means taking its name.
  if (ns.uts === 'private') {
    if (config.Hostname) spec.hostname = config.Hostname;
    if (config.Domainname) spec.domainname = config.Domainname;
  }
  const ann = hc.Annotations;
  if (ann && typeof ann === 'object' && Object.keys(ann).length) spec.annotations = { ...(ann as Record<string, string>) };
  return spec;
}

function cleanDest(p: string): string {
  const c = posix.normalize(p);
  return c.length > 1 ? c.replace(/\/+$/, '') : c;
}

/**
 * The spec as config.json text. Use this rather than JSON.stringify: an unlimited rlimit is
 * uint64 max, which no JS number can spell (JSON.stringify writes 18446744073709552000, which
 * Go's decoder rejects as out of range).
 */
export function specToJson(spec: OciSpec): string {
  const TOKEN = '"__berth_rlim_infinity__"';
  const text = JSON.stringify(spec, function (this: unknown, key, value) {
    if ((key === 'soft' || key === 'hard') && value === RLIM_INFINITY) return TOKEN.slice(1, -1);
    return value;
  });
  return text.replaceAll(TOKEN, '18446744073709551615');
}
