// A service of the model → the body of POST /containers/create, key for key as compose v2 maps
// it (its create.go: getCreateConfigs, buildContainerVolumes, defaultNetworkSettings, ...).
// Pure: what needs the engine (links to running containers, the previous container's mounts
// and image volumes, the API version) is looked up by the caller and passed in.
//
//   const body = containerCreateBody(project, service, 1, {
//     apiVersion: '1.47', labels: serviceLabels(project, service, { number: 1, hash }),
//     useNetworkAliases: true,
//   });
//   → { Image: 'busybox', Cmd: [...], Labels: {...}, HostConfig: { Binds: ['shop_data:/data:rw'],
//       NetworkMode: 'shop_default', PortBindings: {...}, ... },
//       NetworkingConfig: { EndpointsConfig: { shop_default: { Aliases: ['shop-web-1', 'web'] } } } }
//
// Where compose iterates a Go map (environment, ulimits, mounts) the order here is the model's,
// sorted, or declaration order: the engine does not care, and tests can compare.
import { readFileSync } from 'node:fs';
import { compareVersions } from '../../client/client.ts';
import { ComposeError } from '../errors.ts';
import { COMPOSE_VERSION } from '../version.ts';
import {
  LABELS, containerName, extraHostsList, imageName, networksByPriority,
  type Project, type Service, type ServiceNetwork, type ServiceVolume, type FileReference, type Resource,
} from '../model.ts';
import type { MountSummary } from './api.ts';

type Obj = Record<string, unknown>;

export interface CreateOptions {
  /** The API version requests are made with. */
  apiVersion: string;
  /** The container's labels (serviceLabels()). */
  labels: Record<string, string>;
  /** Service name and aliases on every network (up); run's one-off containers have none. */
  useNetworkAliases: boolean;
  autoRemove?: boolean;
  attachStdin?: boolean;
  /** Legacy links (`container:alias`), as compose's getLinks resolves them. */
  links?: string[];
  /** The container being replaced: its anonymous volumes carry over (-V turns this off). */
  inherit?: { mounts: MountSummary[]; imageVolumes: string[] };
  warn?: (msg: string) => void;
  /** Reads a seccomp profile named in security_opt (tests pass their own). */
  readFile?: (path: string) => string;
}

export interface LabelOptions {
  /** 0 for one-off containers (no number label). */
  number: number;
  /** The config hash (hash.ts serviceHash of the service as it will run). */
  hash: string;
  /** The image ID the service runs (com.docker.compose.image), when known. */
  imageId?: string;
  /** `web-1`: the container this one replaces (com.docker.compose.replace). */
  replace?: string;
  oneoff?: boolean;
}

/**
 * The labels compose puts on a service container: the service's own, then compose's (project,
 * service, version, working dir, config files, one-off, env files, image digest), the config
 * hash, the container number and the dependencies (`db:service_healthy:false`).
 */
export function serviceLabels(project: Project, service: Service, o: LabelOptions): Record<string, string> {
  const labels: Record<string, string> = { ...(service.labels ?? {}) };
  labels[LABELS.project] = project.name;
  labels[LABELS.service] = service.name;
  labels[LABELS.version] = COMPOSE_VERSION;
  labels[LABELS.workingDir] = project.workingDir;
  labels[LABELS.configFiles] = project.composeFiles.join(',');
  labels[LABELS.oneoff] = o.oneoff ? 'True' : 'False';
  if (project.envFiles.length) labels[LABELS.environmentFile] = project.envFiles.join(',');
  if (o.imageId) labels[LABELS.image] = o.imageId;
  if (o.replace) labels[LABELS.replace] = o.replace;
  labels[LABELS.configHash] = o.hash;
  if (o.number > 0) labels[LABELS.containerNumber] = String(o.number);
  labels[LABELS.dependsOn] = Object.keys(service.dependsOn ?? {}).sort()
    .map((d) => `${d}:${service.dependsOn![d].condition}:${service.dependsOn![d].restart}`).join(',');
  return labels;
}

/** compose's ToMobyEnv: `K=V`, or `K` alone for a variable without a value. */
export function mobyEnv(env: Record<string, string | null> | undefined): string[] | undefined {
  if (!env) return undefined;
  return Object.keys(env).sort().map((k) => (env[k] === null ? k : `${k}=${env[k]}`));
}

/** `3000`, `3000/udp`, `8000-8002` → `3000/tcp`, `3000/udp`, `8000/tcp`, `8001/tcp`, `8002/tcp`. */
export function exposedPorts(s: Pick<Service, 'expose' | 'ports'>): Record<string, object> | undefined {
  const out: Record<string, object> = {};
  for (const e of s.expose ?? []) {
    const [range, proto = 'tcp'] = e.split('/');
    const m = /^(\d+)(?:-(\d+))?$/.exec(range);
    if (!m) { out[e] = {}; continue; }
    const a = Number(m[1]);
    const b = m[2] ? Number(m[2]) : a;
    for (let p = a; p <= b && p - a < 65536; p++) out[`${p}/${proto}`] = {};
  }
  for (const p of s.ports ?? []) out[`${p.target}/${p.protocol}`] = {};
  return Object.keys(out).length ? out : undefined;
}

export function portBindings(s: Pick<Service, 'ports'>): Record<string, Array<{ HostIp: string; HostPort: string }>> | undefined {
  if (!s.ports?.length) return undefined;
  const out: Record<string, Array<{ HostIp: string; HostPort: string }>> = {};
  for (const p of s.ports) (out[`${p.target}/${p.protocol}`] ??= []).push({ HostIp: p.hostIp ?? '', HostPort: p.published ?? '' });
  return out;
}

/** compose's getRestartPolicy: `restart:`, overridden by deploy.restart_policy. */
export function restartPolicy(s: Pick<Service, 'restart' | 'deploy'>): { Name: string; MaximumRetryCount: number } | undefined {
  const map = (c: string) => (c === 'none' || c === 'no' ? 'no' : c === 'any' || c === 'always' ? 'always' : c);
  let r: { Name: string; MaximumRetryCount: number } | undefined;
  if (s.restart) {
    const [name, n] = s.restart.split(':');
    r = { Name: map(name), MaximumRetryCount: n !== undefined && /^\d+$/.test(n) ? Number(n) : 0 };
  }
  const p = s.deploy?.restartPolicy;
  if (p) r = { Name: map(p.condition ?? ''), MaximumRetryCount: p.maxAttempts ?? 0 };
  return r;
}

/** Healthcheck → HealthConfig (nanoseconds; zero fields left out, as Go's omitempty does). */
export function healthConfig(s: Pick<Service, 'healthcheck'>, apiVersion: string): Obj | undefined {
  const h = s.healthcheck;
  if (!h) return undefined;
  const out: Obj = {};
  const test = h.disable ? ['NONE'] : h.test;
  if (test?.length) out.Test = test;
  if (h.interval) out.Interval = h.interval;
  if (h.timeout) out.Timeout = h.timeout;
  if (h.startPeriod) out.StartPeriod = h.startPeriod;
  if (h.startInterval !== undefined) {
    if (compareVersions(apiVersion, '1.44') < 0) throw new ComposeError("can't set healthcheck.start_interval as feature require Docker Engine v25 or later");
    if (h.startPeriod === undefined) throw new ComposeError('healthcheck.start_interval requires healthcheck.start_period to be set');
    if (h.startInterval) out.StartInterval = h.startInterval;
  }
  if (h.retries) out.Retries = h.retries;
  return out;
}

const ulimitsOf = (u: Service['ulimits']) => (u ? Object.keys(u).sort().map((name) => {
  const x = u[name];
  return { Name: name, Soft: x.soft || x.single || 0, Hard: x.hard || x.single || 0 };
}) : undefined);

function deviceRequest(d: { capabilities?: string[]; driver?: string; count?: number; deviceIds?: string[]; options?: Record<string, string> }, extraCap?: string): Obj {
  return {
    Driver: d.driver ?? '', Count: d.count ?? 0, DeviceIDs: d.deviceIds ?? null,
    Capabilities: [extraCap ? [...(d.capabilities ?? []), extraCap] : (d.capabilities ?? [])], Options: d.options ?? null,
  };
}

/** compose's getDeployResources: the service's own limits, then deploy.resources. */
export function resources(s: Service): Obj {
  const r: Obj = {};
  const set = (k: string, v: unknown) => { if (v !== undefined && v !== 0 && v !== '' && !(Array.isArray(v) && v.length === 0)) r[k] = v; };
  set('CgroupParent', s.cgroupParent);
  set('Memory', s.memLimit);
  set('MemorySwap', s.memswapLimit);
  if (s.memSwappiness) r.MemorySwappiness = s.memSwappiness;
  set('MemoryReservation', s.memReservation);
  r.OomKillDisable = Boolean(s.oomKillDisable);
  set('CpuCount', s.cpuCount);
  set('CpuPeriod', s.cpuPeriod);
  set('CpuQuota', s.cpuQuota);
  set('CpuRealtimePeriod', s.cpuRtPeriod);
  set('CpuRealtimeRuntime', s.cpuRtRuntime);
  set('CpuShares', s.cpuShares);
  // Go computes float32 × 1e9 in float32 and truncates.
  if (s.cpus) r.NanoCpus = Math.trunc(Math.fround(Math.fround(s.cpus) * 1e9));
  if (s.cpuPercent) r.CpuPercent = Math.trunc(s.cpuPercent * 100);
  set('CpusetCpus', s.cpuset);
  set('DeviceCgroupRules', s.deviceCgroupRules);
  if (s.pidsLimit) r.PidsLimit = s.pidsLimit;
  const blkio = s.blkioConfig as { weight?: number; weight_device?: Array<{ path: string; weight: number }>; device_read_bps?: Array<{ path: string; rate: number }>; device_read_iops?: Array<{ path: string; rate: number }>; device_write_bps?: Array<{ path: string; rate: number }>; device_write_iops?: Array<{ path: string; rate: number }> } | undefined;
  if (blkio) {
    set('BlkioWeight', blkio.weight);
    const thr = (l?: Array<{ path: string; rate: number }>) => l?.map((b) => ({ Path: b.path, Rate: b.rate }));
    set('BlkioWeightDevice', blkio.weight_device?.map((b) => ({ Path: b.path, Weight: b.weight })));
    set('BlkioDeviceReadBps', thr(blkio.device_read_bps));
    set('BlkioDeviceReadIOps', thr(blkio.device_read_iops));
    set('BlkioDeviceWriteBps', thr(blkio.device_write_bps));
    set('BlkioDeviceWriteIOps', thr(blkio.device_write_iops));
  }
  const limits: Resource | undefined = s.deploy?.resources.limits;
  if (limits) {
    if (limits.memory) r.Memory = limits.memory;
    if (limits.cpus) r.NanoCpus = Math.trunc(Math.fround(Math.fround(limits.cpus) * 1e9));
    if (limits.pids && limits.pids > 0) r.PidsLimit = limits.pids;
  }
  const requests: Obj[] = [];
  const reservations = s.deploy?.resources.reservations;
  if (reservations) {
    if (reservations.memory) r.MemoryReservation = reservations.memory;
    for (const d of reservations.devices ?? []) requests.push(deviceRequest(d));
  }
  const devices: Obj[] = [];
  const cdi: string[] = [];
  for (const d of s.devices ?? []) {
    // A CDI name (vendor.com/class=name) alone is a device request, not a path.
    if (d.source === d.target && /^[a-z0-9.-]+\/[a-zA-Z0-9_.-]+=[a-zA-Z0-9_.:-]+$/.test(d.source)) { cdi.push(d.source); continue; }
    devices.push({ PathOnHost: d.source, PathInContainer: d.target, CgroupPermissions: d.permissions });
  }
  if (devices.length) r.Devices = devices;
  if (cdi.length) requests.push({ Driver: 'cdi', DeviceIDs: cdi });
  for (const g of s.gpus ?? []) requests.push(deviceRequest(g, 'gpu'));
  if (requests.length) r.DeviceRequests = requests;
  const ul = ulimitsOf(s.ulimits);
  if (ul?.length) r.Ulimits = ul;
  return r;
}

/** compose's parseSecurityOpts: seccomp profiles read (relative to the project) and compacted. */
export function securityOpts(project: Pick<Project, 'workingDir'>, opts: string[] | undefined, read: (p: string) => string): { opts?: string[]; unconfined: boolean } {
  if (!opts) return { opts: undefined, unconfined: false };
  let unconfined = false;
  const out: string[] = [];
  for (const opt of opts) {
    if (opt === 'systempaths=unconfined') { unconfined = true; continue; }
    let con = opt.split(/=(.*)/s, 2);
    if (!opt.includes('=') && opt !== 'no-new-privileges') {
      if (opt.includes(':')) con = [opt.slice(0, opt.indexOf(':')), opt.slice(opt.indexOf(':') + 1)];
      else throw new ComposeError(`invalid security-opt: ${JSON.stringify(opt)}`);
    }
    if (con[0] === 'seccomp' && con[1] !== 'unconfined' && con[1] !== 'builtin') {
      const path = con[1].startsWith('/') ? con[1] : `${project.workingDir}/${con[1]}`;
      let text: string;
      try { text = read(path); } catch (e) { throw new ComposeError(`opening seccomp profile (${con[1]}) failed: ${(e as Error).message}`); }
      let compact: string;
      try { compact = JSON.stringify(JSON.parse(text)); } catch (e) { throw new ComposeError(`compacting json for seccomp profile (${con[1]}) failed: ${(e as Error).message}`); }
      out.push(`seccomp=${compact}`);
    } else out.push(opt);
  }
  return { opts: out, unconfined };
}

// ---------------------------------------------------------------------------------------------
// Mounts

interface Mount {
  Type: string;
  Source?: string;
  Target: string;
  ReadOnly?: boolean;
  Consistency?: string;
  BindOptions?: Obj;
  VolumeOptions?: Obj;
  TmpfsOptions?: Obj;
  ImageOptions?: Obj;
}

function bindOptions(b: ServiceVolume['bind']): Obj | undefined {
  if (!b) return undefined;
  const o: Obj = {};
  if (b.propagation) o.Propagation = b.propagation;
  if (b.createHostPath) o.CreateMountpoint = true;
  if (b.recursive === 'disabled') o.NonRecursive = true;
  if (b.recursive === 'writable') o.ReadOnlyNonRecursive = true;
  if (b.recursive === 'readonly') o.ReadOnlyForceRecursive = true;
  return o;
}

/** compose's buildMount: a service volume as a Mount (named volumes by their engine name). */
export function buildMount(project: Pick<Project, 'volumes'>, v: ServiceVolume, warn?: (m: string) => void): Mount {
  let source = v.source;
  if (v.type === 'volume' && v.source && project.volumes[v.source]) source = project.volumes[v.source].name;
  if (v.type !== 'bind' && v.bind) warn?.(`mount of type \`${v.type}\` should not define \`bind\` option`);
  if (v.type !== 'volume' && v.volume) warn?.(`mount of type \`${v.type}\` should not define \`volume\` option`);
  if (v.type !== 'tmpfs' && v.tmpfs) warn?.(`mount of type \`${v.type}\` should not define \`tmpfs\` option`);
  if (v.type !== 'image' && v.image) warn?.(`mount of type \`${v.type}\` should not define \`image\` option`);
  const m: Mount = { Type: v.type, Target: v.target };
  if (source) m.Source = source;
  if (v.readOnly) m.ReadOnly = true;
  if (v.consistency) m.Consistency = v.consistency;
  if (v.type === 'bind' && v.bind) m.BindOptions = bindOptions(v.bind);
  if (v.type === 'volume' && v.volume) {
    const o: Obj = {};
    if (v.volume.nocopy) o.NoCopy = true;
    if (v.volume.subpath) o.Subpath = v.volume.subpath;
    if (v.volume.labels && Object.keys(v.volume.labels).length) o.Labels = v.volume.labels;
    m.VolumeOptions = o;
  }
  if (v.type === 'tmpfs' && v.tmpfs) {
    const o: Obj = {};
    if (v.tmpfs.size) o.SizeBytes = v.tmpfs.size;
    if (v.tmpfs.mode) o.Mode = v.tmpfs.mode;
    m.TmpfsOptions = o;
  }
  if (v.type === 'image' && v.image) m.ImageOptions = v.image.subpath ? { Subpath: v.image.subpath } : {};
  return m;
}

const isAbs = (p: string) => p.startsWith('/') || /^[a-zA-Z]:[\\/]/.test(p);

/** Where a secret (`/run/secrets/<name>`) or config (`/<name>`) lands in the container. */
export function fileTarget(ref: FileReference, kind: 'secret' | 'config'): string {
  const base = kind === 'secret' ? '/run/secrets/' : '/';
  if (!ref.target) return base + ref.source;
  return isAbs(ref.target) ? ref.target : base + ref.target;
}

/** File-based secrets and configs, bind-mounted read-only (content ones are copied in at start). */
function fileMounts(project: Project, s: Service, kind: 'secret' | 'config', warn?: (m: string) => void): Mount[] {
  const refs = (kind === 'secret' ? s.secrets : s.configs) ?? [];
  const defs = kind === 'secret' ? project.secrets : project.configs;
  const out: Mount[] = [];
  const Kind = kind === 'secret' ? 'secrets' : 'configs';
  for (const ref of refs) {
    const def = defs[ref.source];
    if (!def) continue;
    if (def.external) throw new ComposeError(`unsupported external ${kind} ${def.name}`);
    if (def.driver) throw new ComposeError(`Docker Compose does not support ${Kind}.*.driver`);
    if (def.templateDriver) throw new ComposeError(`Docker Compose does not support ${Kind}.*.template_driver`);
    if (def.environment || (kind === 'config' && def.content !== undefined)) continue;
    if (ref.uid || ref.gid || ref.mode !== undefined) warn?.(`${kind === 'secret' ? 'secrets' : 'config'} \`uid\`, \`gid\` and \`mode\` are not supported, they will be ignored`);
    out.push({ Type: 'bind', Source: def.file, Target: fileTarget(ref, kind), ReadOnly: true, ...(kind === 'secret' ? { BindOptions: {} } : {}) });
  }
  return out;
}

function bindRequiresMountApi(b: ServiceVolume['bind']): boolean {
  if (!b) return false;
  return !b.createHostPath || !!b.propagation || !!b.recursive;
}

function volumeRequiresMountApi(v: ServiceVolume['volume']): boolean {
  if (!v) return false;
  return (v.labels !== undefined && Object.keys(v.labels).length > 0) || !!v.subpath || !!v.nocopy;
}

function bindString(name: string, v: ServiceVolume): string {
  const opts = [v.readOnly ? 'ro' : 'rw'];
  if (v.bind?.selinux) opts.push(v.bind.selinux);
  if (v.bind?.propagation) opts.push(v.bind.propagation);
  if (v.volume?.nocopy) opts.push('nocopy');
  return `${name}:${v.target}:${opts.join(',')}`;
}

/**
 * compose's buildContainerVolumes: mounts by target (what the replaced container had as
 * anonymous volumes first, then the service's volumes, then secrets and configs), then split
 * into `Binds` (the plain forms: a bind that may create its source, a named volume without
 * options) and `Mounts` (the rest).
 */
export function containerVolumes(project: Project, s: Service, o: Pick<CreateOptions, 'inherit' | 'warn'>): { binds?: string[]; mounts?: Mount[] } {
  const byTarget = new Map<string, Mount>();
  let volumes = s.volumes ?? [];
  if (o.inherit) {
    for (const m of o.inherit.mounts) {
      if (m.Type === 'tmpfs') continue;
      const src = m.Type === 'volume' ? (m.Name ?? m.Source) : m.Source;
      const inherited: Mount = { Type: m.Type, Source: src, Target: m.Destination, ...(m.RW ? {} : { ReadOnly: true }) };
      // A VOLUME of the image, or an anonymous volume of the service: the same data again.
      if (o.inherit.imageVolumes.includes(m.Destination)) byTarget.set(m.Destination, inherited);
      if (volumes.some((v) => v.target === m.Destination && !v.source)) {
        byTarget.set(m.Destination, inherited);
        volumes = volumes.filter((v) => !(v.target === m.Destination && !v.source));
      }
    }
  }
  for (const v of volumes) byTarget.set(v.target, buildMount(project, v, o.warn));
  for (const m of [...fileMounts(project, s, 'secret', o.warn), ...fileMounts(project, s, 'config', o.warn)]) {
    if (!byTarget.has(m.Target)) byTarget.set(m.Target, m);
  }
  const binds: string[] = [];
  const mounts: Mount[] = [];
  const declared = s.volumes ?? [];
  for (const m of byTarget.values()) {
    const v = declared.find((x) => x.target === m.Target);
    if (m.Type === 'bind' && v) {
      if (!bindRequiresMountApi(v.bind)) { binds.push(bindString(m.Source ?? '', v)); continue; }
    } else if (m.Type === 'volume' && v) {
      const vol = Object.values(project.volumes).find((x) => x.name === m.Source);
      if (vol && !volumeRequiresMountApi(v.volume)) { binds.push(bindString(vol.name, v)); continue; }
    }
    mounts.push(m);
  }
  return { binds: binds.length ? binds : undefined, mounts: mounts.length ? mounts : undefined };
}

// ---------------------------------------------------------------------------------------------
// Networks

/** The container's DNS names on a network: its name, then (up) the service name and aliases. */
export function aliases(project: Pick<Project, 'name'>, s: Service, number: number, cfg: ServiceNetwork | null | undefined, useNetworkAliases: boolean): string[] {
  const out = [containerName(project, s, number)];
  if (useNetworkAliases) {
    out.push(s.name);
    if (cfg?.aliases) out.push(...cfg.aliases);
  }
  return out;
}

const IFNAME = 'com.docker.network.endpoint.ifname';

export function endpointSettings(project: Project, s: Service, number: number, key: string, links: string[] | undefined, useNetworkAliases: boolean, warn?: (m: string) => void): Obj {
  const cfg = s.networks?.[key] ?? null;
  const ep: Obj = { Aliases: aliases(project, s, number, cfg, useNetworkAliases) };
  if (links?.length) ep.Links = links;
  if (cfg) {
    const ipam: Obj = {};
    if (cfg.ipv4Address) ipam.IPv4Address = cfg.ipv4Address;
    if (cfg.ipv6Address) ipam.IPv6Address = cfg.ipv6Address;
    if (cfg.linkLocalIps?.length) ipam.LinkLocalIPs = cfg.linkLocalIps;
    ep.IPAMConfig = ipam;
    if (cfg.macAddress) ep.MacAddress = cfg.macAddress;
    let driverOpts = cfg.driverOpts;
    if (cfg.interfaceName) {
      driverOpts = { ...(driverOpts ?? {}) };
      if (driverOpts[IFNAME] !== undefined && driverOpts[IFNAME] !== cfg.interfaceName) {
        warn?.(`ignoring services.${s.name}.networks.${key}.interface_name as ${IFNAME} driver_opts is already declared`);
      }
      driverOpts[IFNAME] = cfg.interfaceName;
    }
    if (driverOpts && Object.keys(driverOpts).length) ep.DriverOpts = driverOpts;
    if (cfg.gwPriority) ep.GwPriority = cfg.gwPriority;
  }
  return ep;
}

/**
 * compose's defaultNetworkSettings: network_mode as given; otherwise the highest-priority network
 * is the NetworkMode, and from API 1.44 on every network's endpoint goes in at create (older
 * engines get the others through /networks/{id}/connect before the start).
 */
export function networkSettings(project: Project, s: Service, number: number, o: Pick<CreateOptions, 'links' | 'useNetworkAliases' | 'apiVersion' | 'warn'>, macAddress?: string): { mode: string; config?: Obj } {
  if (s.networkMode) return { mode: s.networkMode };
  if (Object.keys(project.networks).length === 0) return { mode: 'none' };
  const keys = s.networks && Object.keys(s.networks).length ? networksByPriority(s) : ['default'];
  const primary = keys[0];
  const primaryName = project.networks[primary].name;
  const primaryEp = endpointSettings(project, s, number, primary, o.links, o.useNetworkAliases, o.warn);
  const endpoints: Record<string, Obj> = {};
  if (compareVersions(o.apiVersion, '1.44') >= 0) {
    for (const k of keys.slice(1)) endpoints[project.networks[k].name] = endpointSettings(project, s, number, k, o.links, o.useNetworkAliases, o.warn);
    if (!primaryEp.MacAddress && macAddress) primaryEp.MacAddress = macAddress;
  }
  if (compareVersions(o.apiVersion, '1.49') < 0) {
    for (const c of Object.values(s.networks ?? {})) {
      if (c?.interfaceName) throw new ComposeError('interface_name requires Docker Engine v28.1 or later');
    }
  }
  endpoints[primaryName] = primaryEp;
  return { mode: primaryName, config: { EndpointsConfig: endpoints } };
}

/** compose's prepareContainerMACAddress: the container-wide MAC address (empty from API 1.44). */
export function containerMac(s: Service, apiVersion: string): string | undefined {
  const keys = s.networks && Object.keys(s.networks).length ? networksByPriority(s) : [];
  const main = keys.length ? s.networks![keys[0]] : null;
  const mac = s.macAddress;
  if (mac && main?.macAddress && main.macAddress !== mac) {
    throw new ComposeError(`the service-level mac_address should have the same value as network ${keys[0]}`);
  }
  if (compareVersions(apiVersion, '1.44') >= 0) return undefined;
  const withMac = keys.filter((k) => s.networks![k]?.macAddress);
  if (withMac.length > 1) throw new ComposeError(`a MAC address is specified for multiple networks (${withMac.join(', ')}), but this feature requires Docker Engine v25 or later`);
  return main?.macAddress || mac || undefined;
}

// ---------------------------------------------------------------------------------------------
// The body

export function containerCreateBody(project: Project, s: Service, number: number, o: CreateOptions): Obj {
  const read = o.readFile ?? ((p: string) => readFileSync(p, 'utf8'));
  const mac = containerMac(s, o.apiVersion);
  const tmpfs: Record<string, string> = {};
  for (const t of s.tmpfs ?? []) {
    const i = t.indexOf(':');
    if (i >= 0) tmpfs[t.slice(0, i)] = t.slice(i + 1);
    else tmpfs[t] = '';
  }
  const { binds, mounts } = containerVolumes(project, s, o);
  const net = networkSettings(project, s, number, o, s.macAddress);
  const sec = securityOpts(project, s.securityOpt, read);
  const stdinOpen = Boolean(s.stdinOpen);
  const hostConfig: Obj = {
    Binds: binds ?? null,
    NetworkMode: net.mode,
    PortBindings: portBindings(s) ?? {},
    AutoRemove: Boolean(o.autoRemove),
    VolumeDriver: s.volumeDriver ?? '',
    VolumesFrom: s.volumesFrom ?? null,
    CapAdd: s.capAdd ?? null,
    CapDrop: s.capDrop ?? null,
    CgroupnsMode: s.cgroup ?? '',
    Dns: s.dns ?? null,
    DnsOptions: s.dnsOpt ?? null,
    DnsSearch: s.dnsSearch ?? null,
    ExtraHosts: s.extraHosts ? extraHostsList(s.extraHosts, ':') : null,
    GroupAdd: s.groupAdd ?? null,
    IpcMode: s.ipc ?? '',
    Links: o.links?.length ? o.links : null,
    OomScoreAdj: s.oomScoreAdj ?? 0,
    PidMode: s.pid ?? '',
    Privileged: Boolean(s.privileged),
    ReadonlyRootfs: Boolean(s.readOnly),
    SecurityOpt: sec.opts ?? null,
    UTSMode: s.uts ?? '',
    UsernsMode: s.usernsMode ?? '',
    ShmSize: s.shmSize ?? 0,
    Runtime: s.runtime ?? '',
    Isolation: s.isolation ?? '',
    ...resources(s),
  };
  if (mounts) hostConfig.Mounts = mounts;
  if (s.annotations && Object.keys(s.annotations).length) hostConfig.Annotations = s.annotations;
  if (s.init !== undefined) hostConfig.Init = s.init;
  const rp = restartPolicy(s);
  if (rp) hostConfig.RestartPolicy = rp;
  if (s.sysctls && Object.keys(s.sysctls).length) hostConfig.Sysctls = s.sysctls;
  if (s.storageOpt && Object.keys(s.storageOpt).length) hostConfig.StorageOpt = s.storageOpt;
  if (Object.keys(tmpfs).length) hostConfig.Tmpfs = tmpfs;
  if (s.logging && (s.logging.driver || s.logging.options)) hostConfig.LogConfig = { Type: s.logging.driver ?? '', Config: s.logging.options ?? {} };
  if (sec.unconfined) { hostConfig.MaskedPaths = []; hostConfig.ReadonlyPaths = []; }

  const body: Obj = {
    Hostname: s.hostname ?? '',
    Domainname: s.domainname ?? '',
    User: s.user ?? '',
    AttachStdin: Boolean(o.attachStdin),
    AttachStdout: true,
    AttachStderr: true,
    Tty: Boolean(s.tty),
    OpenStdin: stdinOpen,
    StdinOnce: Boolean(o.attachStdin) && stdinOpen,
    Env: mobyEnv(s.environment) ?? null,
    Cmd: s.command ?? null,
    Image: imageName(project, s),
    WorkingDir: s.workingDir ?? '',
    Entrypoint: s.entrypoint ?? null,
    Labels: o.labels,
    HostConfig: hostConfig,
  };
  const exposed = exposedPorts(s);
  if (exposed) body.ExposedPorts = exposed;
  const hc = healthConfig(s, o.apiVersion);
  if (hc) body.Healthcheck = hc;
  if (s.networkMode === 'disabled') body.NetworkDisabled = true;
  if (mac) body.MacAddress = mac;
  if (s.stopSignal) body.StopSignal = s.stopSignal;
  // stop_grace_period in whole seconds (Go's int(Duration.Seconds())).
  if (s.stopGracePeriod !== undefined) body.StopTimeout = Math.trunc(s.stopGracePeriod / 1e9);
  if (net.config) body.NetworkingConfig = net.config;
  return body;
}

/** The platform query parameter: the service's, else DOCKER_DEFAULT_PLATFORM of the project. */
export function createPlatform(project: Pick<Project, 'environment'>, s: Pick<Service, 'platform'>): string | undefined {
  return s.platform || project.environment.DOCKER_DEFAULT_PLATFORM || undefined;
}
