// HostConfig checked once, at create, into the model the lower layers take as given.
//
// Every rule a create request's HostConfig must pass that needs no live state is here, with
// Docker's texts as berth has always answered them (clients and tests match on them): user
// namespace modes, restart policy, log driver and options, network mode against the endpoints,
// port bindings' wire shape, UTS mode against a hostname, hostname and working directory,
// cgroup namespace mode, resources, sysctls, security options, the OOM score floor, ulimits,
// capabilities, device cgroup rules, tmpfs, and the -v/--mount/--volumes-from specs. The daemon's
// facts (CPU count, cpusets, its own rlimits and capabilities, AppArmor, whether user networks and
// userns-remap exist) come in as plain data, so the module reads nothing and calls no service.
//
// What stays elsewhere, because it needs live state or Docker checks it at start:
// - a named network exists, endpoint settings fit it (network/service.ts prepare, at create);
// - a `container:<id>` namespace target exists and runs (resolved at start, as Docker does);
// - a legacy link's target exists; the runtime name is known (create, over the engine's records);
// - a --mount bind source exists, the volume driver is known (volume/local.ts resolveMounts);
// - host devices are gathered when the spec is built (Docker's devicesFromPath, at start), and a
//   published port's host address is parsed when the port is allocated (libnetwork, at start).
//
// Worked example — `berth run -m 4m --restart bogus busybox`:
//   validateHostConfig({ config, hostConfig: { Memory: 4 << 20, RestartPolicy: { Name: 'bogus' } } }, facts)
//     → throws InvalidParameter "invalid restart policy: unknown policy 'bogus'; use one of ..."
//   (with `--restart always` it throws "Minimum memory limit allowed is 6MB"; with `-m 64m` it
//   returns { hostConfig, log: { driver: 'json-file', maxFile: 1 }, mounts: { volumesFrom: [], mounts: [] } })
import { isAbsolute, posix } from 'node:path';
import { invalid, notFound } from '../../common/errors.ts';
import type { ContainerConfig, HostConfig, MountSpec } from '../../api/types/container.ts';
import { tweakCapabilities, type CapabilityEnv } from '../../runtime/capabilities.ts';
import { RLIM_INFINITY, mergeTmpfsOptions, parseDeviceCgroupRules, parseSecurityOpts, parseUintList, type HostFacts } from '../../runtime/oci-spec.ts';
import { checkVolumeName, cleanMountDest, type MountRequest, type MountRequests, type VolumesFromRequest } from '../../volume/volume.ts';
import { parseLogConfig, type LogSettings } from '../log-rotation.ts';

/** What the rules need to know about the daemon, as plain data. */
export interface HostConfigFacts {
  /** A network service is wired: named networks may exist (else only the built-in modes do). */
  userNetworks: boolean;
  /** The daemon remaps containers into a user namespace (`--userns-remap`). */
  usernsRemap: boolean;
  ncpu: number;
  cpuset: { cpus: string; mems: string };
  /** The daemon's own rlimits by ulimit name (RLIM_INFINITY for unlimited). */
  limits: Record<string, { soft: number; hard: number }>;
  /** The daemon's oom_score_adj: going below min(this, 0) needs CAP_SYS_RESOURCE. */
  oomScoreAdj: number;
  caps: CapabilityEnv;
  apparmor?: boolean;
}

/** The runtime's host facts plus the engine's own, as the validator takes them. */
export function hostConfigFacts(h: HostFacts, engine: { userNetworks: boolean; usernsRemap: boolean }): HostConfigFacts {
  return { ...engine, ncpu: h.ncpu, cpuset: h.cpuset, limits: h.limits, oomScoreAdj: h.oomScoreAdj, caps: h.caps, apparmor: h.apparmor };
}

/** A create request's HostConfig, checked, with the parsed forms the lower layers use. */
export interface ValidHostConfig {
  /** As recorded: LogConfig with its driver filled in, PortBindings in Docker's wire shape. */
  hostConfig: HostConfig;
  /** What the log rotation does (engine/log-rotation.ts). */
  log: LogSettings;
  /** -v, --mount and --volumes-from, for VolumeService.resolveMounts. */
  mounts: MountRequests;
}

export interface CreateInput {
  /** The merged Config (image's and request's): its Hostname and WorkingDir are checked too. */
  config: ContainerConfig;
  hostConfig: HostConfig;
  /** NetworkingConfig.EndpointsConfig's keys: the networks asked for besides NetworkMode. */
  endpoints?: readonly string[];
}

/** Checks a create request's HostConfig; throws InvalidParameter (or NotFound) with Docker's text. */
export function validateHostConfig(input: CreateInput, facts: HostConfigFacts): ValidHostConfig {
  const { config } = input;
  const hc: HostConfig = { ...input.hostConfig };
  checkUsernsMode(hc, facts.usernsRemap);
  if (hc.RestartPolicy) validateRestartPolicy(hc.RestartPolicy, !!hc.AutoRemove);
  // Docker's texts for bad --log-opt values; inspect shows the driver and options in effect.
  const log = parseLogConfig(hc.LogConfig);
  checkNetworkMode(hc.NetworkMode ?? '', input.endpoints ?? [], facts.userNetworks);
  hc.LogConfig = { Type: hc.LogConfig?.Type || 'json-file', Config: hc.LogConfig?.Config ?? {} };
  // Docker keeps HostConfig as its Go struct, so every port binding has both fields on the wire
  // (`[{"HostPort":"0"}]`, as Testcontainers sends it, reads back with `"HostIp":""`).
  if (hc.PortBindings) {
    hc.PortBindings = Object.fromEntries(Object.entries(hc.PortBindings).map(([k, list]) => {
      if (list !== null && !Array.isArray(list)) throw invalid('json: cannot unmarshal into Go struct field HostConfig.PortBindings of type []nat.PortBinding');
      return [k, list && list.map((b) => ({ HostIp: b?.HostIp ?? '', HostPort: b?.HostPort ?? '' }))];
    }));
  }
  // Docker's runconfig.validateNetMode: a name of its own means nothing in the host's UTS namespace.
  if (hc.UTSMode === 'host' && config.Hostname) throw invalid('conflicting options: hostname and the UTS mode');
  // Bad resources, users, caps, sysctls fail `create` (as Docker), not a later `start`.
  validateRunConfig(config, hc, facts);
  return { hostConfig: hc, log, mounts: parseMountRequests(hc) };
}

// ------------------------------------------------------------------ modes and policies

const VALID_RESTART = new Set(['', 'no', 'always', 'unless-stopped', 'on-failure']);

/** RestartPolicy, at create and at `update` (moby's validateRestartPolicy texts). */
export function validateRestartPolicy(rp: NonNullable<HostConfig['RestartPolicy']>, autoRemove: boolean): void {
  if (!VALID_RESTART.has(rp.Name ?? '')) throw invalid(`invalid restart policy: unknown policy '${rp.Name}'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'`);
  if ((rp.MaximumRetryCount ?? 0) < 0) throw invalid('invalid restart policy: maximum retry count must be a positive integer');
  if (rp.Name !== 'on-failure' && (rp.MaximumRetryCount ?? 0) > 0) throw invalid(`invalid restart policy: maximum retry count can only be used with 'on-failure'`);
  if (autoRemove && rp.Name && rp.Name !== 'no') throw invalid(`can't create 'AutoRemove' container with restart policy`);
}

/**
 * HostConfig.UsernsMode: empty (the daemon's default: the remapped user namespace under
 * `--userns-remap`, else the host's) or `host` (the host's, the one opt-out remapping has).
 * Anything else is refused rather than ignored (dockerd ignores it; the docker CLI refuses values
 * other than `host` with "--userns: invalid USER mode"). A privileged container needs the host's
 * user namespace when remapping is on, with dockerd's words.
 */
function checkUsernsMode(hc: HostConfig, remap: boolean): void {
  const mode = hc.UsernsMode;
  if (mode && mode !== 'host') {
    throw invalid(remap
      ? `invalid userns mode ${JSON.stringify(mode)}: use "host" to opt out of the daemon's user namespace remapping, or leave it empty`
      : `invalid userns mode ${JSON.stringify(mode)}: this daemon has no user namespace remapping (userns-remap), containers run in the host's user namespace; use "host" or leave it empty`);
  }
  if (!remap || mode === 'host') return;
  if (hc.Privileged) throw invalid('privileged mode is incompatible with user namespaces.  You must run the container in the host namespace when running privileged mode');
  // A namespace owned by the host's user namespace cannot be entered from the container's
  // (runc exec joins the user namespace first), as Docker's userns-remap documents.
  for (const [m, what] of [[hc.NetworkMode, 'network'], [hc.PidMode, 'PID'], [hc.IpcMode, 'IPC'], [hc.UTSMode, 'UTS']] as const) {
    if (m === 'host') throw invalid(`Cannot share the host's ${what} namespace when user namespaces are enabled; add --userns=host to run this container in the host's user namespace`);
  }
}

/**
 * NetworkMode against the daemon and the endpoints asked for. Without a network service only
 * the built-in modes exist. `host`, `none` and `container:` take no other network (the network
 * service's prepare, which needs the live networks, checks the rest: that a named one exists).
 */
function checkNetworkMode(nm: string, endpoints: readonly string[], userNetworks: boolean): void {
  if (!userNetworks) {
    if (nm && !['default', 'bridge', 'none', 'host'].includes(nm) && !nm.startsWith('container:')) throw notFound(`network ${nm} not found`);
    return;
  }
  const mode = nm || 'default';
  if (mode !== 'host' && mode !== 'none' && !mode.startsWith('container:')) return;
  const extra = endpoints.filter((k) => k !== mode);
  if (!extra.length) return;
  if (mode.startsWith('container:')) throw invalid('conflicting options: container type network can\'t be used with other networks');
  throw invalid(`Container cannot be connected to network endpoints: ${[mode, ...extra].join(', ')}`);
}

// ------------------------------------------------------------------ what the OCI spec is built from

type NsKind = 'private' | 'host' | 'joined';
const nsKind = (m: string | undefined): NsKind => (m === 'host' ? 'host' : m?.startsWith('container:') ? 'joined' : 'private');

const MIN_MEMORY = 6 * 1024 * 1024; // Docker's floor: room for the runtime's own startup
const MAX_HOSTNAME = 64; // HOST_NAME_MAX
/** go-units' ulimit names (the `--ulimit` vocabulary). */
const ULIMIT_NAMES = new Set([
  'core', 'cpu', 'data', 'fsize', 'locks', 'memlock', 'msgqueue', 'nice', 'nofile', 'nproc', 'rss', 'rtprio', 'rttime', 'sigpending', 'stack',
]);
/** IPC-namespaced sysctls besides the `fs.mqueue.` prefix (runc's list). */
const IPC_SYSCTLS = new Set(['kernel.msgmax', 'kernel.msgmnb', 'kernel.msgmni', 'kernel.sem', 'kernel.shmall', 'kernel.shmmax', 'kernel.shmmni', 'kernel.shm_rmid_forced']);

/**
 * The checks of what runtime/oci-spec.ts builds the spec from, which need no rootfs: for a
 * container at create, and for a build's RUN step (its resources and ulimits) before its spec.
 */
export function validateRunConfig(config: ContainerConfig, hc: HostConfig, facts: Omit<HostConfigFacts, 'userNetworks' | 'usernsRemap'>): void {
  if ((config.Hostname ?? '').length > MAX_HOSTNAME) {
    throw invalid(`hostname ${JSON.stringify(config.Hostname)} is too long (maximum ${MAX_HOSTNAME} bytes)`);
  }
  if (config.WorkingDir && !posix.isAbsolute(config.WorkingDir)) {
    throw invalid(`the working directory '${config.WorkingDir}' is invalid, it needs to be an absolute path`);
  }
  const cgns = hc.CgroupnsMode ?? '';
  if (!['', 'private', 'host'].includes(cgns)) throw invalid(`invalid cgroup namespace mode: ${cgns}`);
  validateResources(hc, facts);
  validateSysctls(hc.Sysctls, { network: nsKind(hc.NetworkMode), ipc: nsKind(hc.IpcMode), uts: nsKind(hc.UTSMode) });
  checkAppArmor(parseSecurityOpts(hc.SecurityOpt).apparmor, !!facts.apparmor);
  const oom = hc.OomScoreAdj ?? 0;
  const floor = Math.min(facts.oomScoreAdj, 0);
  if (oom < floor && facts.caps.available && !facts.caps.available.includes('CAP_SYS_RESOURCE')) {
    throw invalid(`Invalid value ${oom} for oom score adj: going below ${floor} needs CAP_SYS_RESOURCE, which the daemon does not have`);
  }
  validateUlimits(hc.Ulimits, facts.limits);
  tweakCapabilities({ capAdd: hc.CapAdd, capDrop: hc.CapDrop, privileged: hc.Privileged }, facts.caps);
  parseDeviceCgroupRules(hc.DeviceCgroupRules);
  validateTmpfs(hc.Tmpfs);
}

/**
 * `--security-opt apparmor=PROFILE` where AppArmor is off would run the container without the
 * confinement it asked for: dockerd ignores it silently (saveAppArmorConfig), berth refuses it.
 * `apparmor=unconfined` asks for nothing and stays accepted (compose files carry it).
 */
function checkAppArmor(profile: string | undefined, enabled: boolean): void {
  if (profile === undefined || profile === 'unconfined' || enabled) return;
  throw invalid(`invalid --security-opt: ${JSON.stringify(`apparmor=${profile}`)}: AppArmor is not enabled on this host, so the profile cannot be applied (only apparmor=unconfined is accepted)`);
}

/** runc accepts `net/ipv4/ip_forward` for `net.ipv4.ip_forward`; compare in dotted form. */
function dottedSysctl(k: string): string {
  const i = k.search(/[./]/);
  if (i < 0 || k[i] === '.') return k;
  return k.replace(/[./]/g, (c) => (c === '.' ? '/' : '.'));
}

/**
 * A sysctl is only safe to set when the kernel namespaces it and the container has its own
 * namespace of that kind (runc's rules and texts): IPC ones need a private IPC namespace, net.*
 * a network namespace that is not the host's, kernel.domainname a private UTS namespace.
 */
export function validateSysctls(sysctls: Record<string, string> | null | undefined, ns: { network: NsKind; ipc: NsKind; uts: NsKind }): void {
  for (const raw of Object.keys(sysctls ?? {})) {
    const s = dottedSysctl(raw);
    if (IPC_SYSCTLS.has(s) || s.startsWith('fs.mqueue.')) {
      if (ns.ipc === 'host') throw invalid(`sysctl ${JSON.stringify(s)} is not allowed in the hosts ipc namespace`);
      continue;
    }
    if (s.startsWith('net.')) {
      if (ns.network === 'host') throw invalid(`sysctl ${JSON.stringify(s)} not allowed in host network namespace`);
      continue;
    }
    if (ns.uts !== 'host') {
      if (s === 'kernel.domainname') continue;
      if (s === 'kernel.hostname') throw invalid(`sysctl ${JSON.stringify(s)} is not allowed as it conflicts with the OCI "hostname" field`);
    }
    throw invalid(`sysctl ${JSON.stringify(s)} is not in a separate kernel namespace`);
  }
}

/**
 * Docker's resource checks (daemon_unix.go verifyPlatformContainerResources), with its texts:
 * at create, and for `update` over the HostConfig the update would leave.
 */
export function validateResources(hc: HostConfig, facts: Pick<HostConfigFacts, 'ncpu' | 'cpuset'>): void {
  const mem = hc.Memory ?? 0;
  const swap = hc.MemorySwap ?? 0;
  const res = hc.MemoryReservation ?? 0;
  if (mem !== 0 && mem < MIN_MEMORY) throw invalid('Minimum memory limit allowed is 6MB');
  if (mem > 0 && swap > 0 && swap < mem) throw invalid('Minimum memoryswap limit should be larger than memory limit, see usage');
  if (mem === 0 && swap > 0) throw invalid('You should always set the Memory limit when using Memoryswap limit, see usage');
  const swappiness = hc.MemorySwappiness;
  if (swappiness != null && swappiness !== -1 && (swappiness < 0 || swappiness > 100)) {
    throw invalid(`Invalid value: ${swappiness}, valid memory swappiness range is 0-100`);
  }
  if (res > 0 && res < MIN_MEMORY) throw invalid('Minimum memory reservation allowed is 6MB');
  if (mem > 0 && res > 0 && mem < res) throw invalid('Minimum memory limit can not be less than memory reservation limit, see usage');

  const nano = hc.NanoCpus ?? 0;
  const period = hc.CpuPeriod ?? 0;
  const quota = hc.CpuQuota ?? 0;
  if (nano > 0 && period > 0) throw invalid('Conflicting options: Nano CPUs and CPU Period cannot both be set');
  if (nano > 0 && quota > 0) throw invalid('Conflicting options: Nano CPUs and CPU Quota cannot both be set');
  if (nano !== 0 && (nano < 0 || nano > facts.ncpu * 1e9)) {
    throw invalid(`range of CPUs is from 0.01 to ${facts.ncpu}.00, as there are only ${facts.ncpu} CPUs available`);
  }
  if ((hc.CpuShares ?? 0) < 0) throw invalid(`invalid CPU shares (${hc.CpuShares}): value must be a positive integer`);
  if (period !== 0 && (period < 1000 || period > 1000000)) throw invalid('CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)');
  if (quota > 0 && quota < 1000) throw invalid('CPU cfs quota can not be less than 1ms (i.e. 1000)');
  const rtp = hc.CpuRealtimePeriod ?? 0;
  const rtr = hc.CpuRealtimeRuntime ?? 0;
  if (rtp !== 0 && rtr !== 0 && rtr > rtp) throw invalid('cpu real-time runtime cannot be higher than cpu real-time period');

  for (const [field, val, avail, what] of [
    ['cpus', hc.CpusetCpus ?? '', facts.cpuset.cpus, 'CPUs'],
    ['mems', hc.CpusetMems ?? '', facts.cpuset.mems, 'memory nodes'],
  ] as const) {
    if (!val) continue;
    let available: Set<number>;
    let provided: Set<number>;
    try {
      available = parseUintList(avail);
      // 8192 is Linux's usual CPU maximum; accept more only when the host has more.
      provided = parseUintList(val, Math.max(8192, ...available));
    } catch (e) {
      throw invalid(`Invalid value ${val} for cpuset ${field}: ${(e as Error).message}`);
    }
    if (avail && [...provided].some((n) => !available.has(n))) {
      throw invalid(`Requested ${what} are not available - requested ${val}, available: ${avail}`);
    }
  }
  const w = hc.BlkioWeight ?? 0;
  if (w > 0 && (w < 10 || w > 1000)) throw invalid('Range of blkio weight is from 10 to 1000');
  if ((hc.ShmSize ?? 0) < 0) throw invalid('SHM size can not be less than 0');
  const oom = hc.OomScoreAdj ?? 0;
  if (oom < -1000 || oom > 1000) throw invalid(`Invalid value ${oom}, range for oom score adj is [-1000, 1000]`);
}

/** HostConfig.Ulimits: known names, soft ≤ hard, never above the daemon's own hard limit. */
export function validateUlimits(ulimits: HostConfig['Ulimits'], limits: HostConfigFacts['limits']): void {
  const val = (n: number) => (n < 0 ? RLIM_INFINITY : n); // -1 is `unlimited` over the API
  for (const u of ulimits ?? []) {
    if (!ULIMIT_NAMES.has(u.Name)) throw invalid(`invalid ulimit type: ${u.Name}`);
    const soft = val(u.Soft);
    const hard = val(u.Hard);
    if (soft > hard) throw invalid(`ulimit soft limit must be less than or equal to hard limit: ${u.Soft} > ${u.Hard}`);
    // No CAP_SYS_RESOURCE (DESIGN.md): a hard limit can only ever go down from the daemon's,
    // and runc would fail with a bare EPERM. Say which limit and why instead.
    const cur = limits[u.Name]?.hard;
    if (cur !== undefined && cur !== RLIM_INFINITY && hard > cur) {
      throw invalid(`ulimit ${u.Name}: hard limit ${u.Hard < 0 ? 'unlimited' : u.Hard} is above the daemon's own hard limit ${cur}; berth never raises a hard limit`);
    }
  }
}

/** HostConfig.Tmpfs: absolute destinations other than `/`, options tmpfs knows. */
export function validateTmpfs(tmpfs: Record<string, string> | null | undefined): void {
  for (const [dest, data] of Object.entries(tmpfs ?? {})) {
    if (posix.normalize(dest.replaceAll('\\', '/')).replace(/\/+$/, '') === '') throw invalid("invalid specification: destination can't be '/'");
    if (!posix.isAbsolute(dest)) throw invalid(`invalid mount path: '${dest}' mount path must be absolute`);
    mergeTmpfsOptions(['noexec', 'nosuid', 'nodev', 'rprivate', ...(data ? data.split(',') : [])]);
  }
}

// ------------------------------------------------------------------ mounts

const BIND_MODES = new Set(['ro', 'rw', 'z', 'Z', 'nocopy', 'shared', 'slave', 'private', 'rshared', 'rslave', 'rprivate', 'consistent', 'cached', 'delegated']);
const PROPAGATIONS = new Set(['shared', 'slave', 'private', 'rshared', 'rslave', 'rprivate']);

/**
 * HostConfig.VolumesFrom, Binds and Mounts → the requests VolumeService.resolveMounts makes
 * mount points of, with Docker's texts for a bad spec and for two mounts at one destination.
 */
export function parseMountRequests(hc: HostConfig): MountRequests {
  const volumesFrom: VolumesFromRequest[] = (hc.VolumesFrom ?? []).map((spec) => {
    const [ref, mode = ''] = spec.split(':');
    if (mode && mode !== 'ro' && mode !== 'rw') throw invalid(`invalid mode for volumes-from: ${mode}`);
    return { ref, mode: mode as VolumesFromRequest['mode'] };
  });
  const mounts: MountRequest[] = [];
  const seen = new Set<string>();
  const add = (m: MountRequest) => {
    if (seen.has(m.Destination)) throw invalid(`Duplicate mount point: ${m.Destination}`);
    seen.add(m.Destination);
    mounts.push(m);
  };
  for (const b of hc.Binds ?? []) add(parseBind(b));
  for (const m of hc.Mounts ?? []) add(parseMount(m));
  return { volumesFrom, mounts };
}

/** One `-v SRC:DST[:MODES]`: a bind when SRC is absolute, else a named volume. */
export function parseBind(spec: string): MountRequest {
  const parts = spec.split(':');
  if (parts.length < 2 || parts.length > 3 || parts[0] === '' || parts[1] === '') throw invalid(`invalid volume specification: '${spec}'`);
  const [src, dst, mode = ''] = parts;
  if (!isAbsolute(dst)) throw invalid(`invalid volume specification: '${spec}': invalid mount config for type "${isAbsolute(src) ? 'bind' : 'volume'}": invalid mount path: '${dst}' mount path must be absolute`);
  const modes = mode ? mode.split(',') : [];
  for (const m of modes) if (!BIND_MODES.has(m)) throw invalid(`invalid mode: ${mode}`);
  const rw = !modes.includes('ro');
  const propagation = modes.find((m) => PROPAGATIONS.has(m));
  if (isAbsolute(src)) {
    if (modes.includes('nocopy')) throw invalid(`invalid mode: ${mode}`);
    return { Type: 'bind', Source: posix.normalize(src), Destination: cleanMountDest(dst), Mode: mode, RW: rw, Propagation: propagation ?? 'rprivate', ifMissing: 'create', createSource: true };
  }
  checkVolumeName(src);
  return { Type: 'volume', Name: src, Destination: cleanMountDest(dst), Mode: mode || 'z', RW: rw, ...(modes.includes('nocopy') ? { noCopy: true } : {}) };
}

/** One `--mount` (HostConfig.Mounts entry), moby's volume/mounts validator's texts. */
export function parseMount(m: MountSpec): MountRequest {
  const type = m.Type;
  if (!m.Target) throw invalid(`invalid mount config for type "${type}": field Target must not be empty`);
  if (!isAbsolute(m.Target)) throw invalid(`invalid mount config for type "${type}": invalid mount path: '${m.Target}' mount path must be absolute`);
  const dest = cleanMountDest(m.Target);
  const rw = !m.ReadOnly;
  switch (type) {
    case 'bind': {
      if (!m.Source) throw invalid('invalid mount config for type "bind": field Source must not be empty');
      if (!isAbsolute(m.Source)) throw invalid(`invalid mount config for type "bind": invalid mount path: '${m.Source}' bind source path must be absolute`);
      if (m.VolumeOptions) throw invalid('invalid mount config for type "bind": field VolumeOptions must not be specified');
      const prop = m.BindOptions?.Propagation || 'rprivate';
      if (!PROPAGATIONS.has(prop)) throw invalid(`invalid mount config for type "bind": invalid propagation mode: ${prop}`);
      return { Type: 'bind', Source: posix.normalize(m.Source), Destination: dest, Mode: '', RW: rw, Propagation: prop, ifMissing: m.BindOptions?.CreateMountpoint ? 'create' : 'fail' };
    }
    case 'volume': {
      if (m.BindOptions) throw invalid('invalid mount config for type "volume": field BindOptions must not be specified');
      if (m.Source) checkVolumeName(m.Source);
      const sub = m.VolumeOptions?.Subpath;
      if (sub && (isAbsolute(sub) || sub.split('/').includes('..'))) throw invalid(`invalid mount config for type "volume": subpath must be a relative path within the volume`);
      const drv = m.VolumeOptions?.DriverConfig;
      return {
        Type: 'volume', ...(m.Source ? { Name: m.Source } : {}), Destination: dest, Mode: 'z', RW: rw,
        Driver: drv?.Name, DriverOpts: drv?.Options, Labels: m.VolumeOptions?.Labels ?? {},
        ...(m.VolumeOptions?.NoCopy ? { noCopy: true as const } : {}), ...(sub ? { subpath: sub } : {}),
      };
    }
    case 'tmpfs': {
      if (m.Source) throw invalid('invalid mount config for type "tmpfs": field Source must not be specified');
      const opts = ['nosuid', 'nodev', 'noexec'];
      if (m.TmpfsOptions?.SizeBytes) opts.push(`size=${m.TmpfsOptions.SizeBytes}`);
      if (m.TmpfsOptions?.Mode) opts.push(`mode=${m.TmpfsOptions.Mode.toString(8)}`);
      if (!rw) opts.push('ro');
      return { Type: 'tmpfs', Destination: dest, RW: rw, tmpfsOptions: opts };
    }
    default:
      throw invalid(`mount type unknown: "${type}"`);
  }
}
