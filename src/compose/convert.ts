// The validated, canonical, normalised raw tree → the typed model (model.ts); compose-go does
// this step with mapstructure and its decode hooks. Values are parsed here: sizes into bytes
// (`512m`), durations into nanoseconds (`1m30s`, `1d`), commands into words, list-or-mapping
// fields into mappings. The schema has already checked the shapes, so what can still fail is
// a value's own syntax; those errors name the field (`services.web.mem_limit: invalid size: '1x'`).
import { isEngineError } from '../common/errors.ts';
import { parseBytes, parseDuration } from '../common/units.ts';
import { ComposeError } from './errors.ts';
import type {
  Build, Deploy, Dependency, DeviceMapping, DeviceRequest, FileObject, FileReference, Healthcheck, Hook, IpamPool,
  Logging, Network, PortConfig, Resource, RestartPolicy, Service, ServiceNetwork, ServiceVolume, Ulimit, UpdateConfig, Volume, WatchRule,
} from './model.ts';
import { splitShellWords } from './shellwords.ts';
import { goSprint, isDict, type Dict } from './tree.ts';

class At {
  readonly path: string;
  constructor(path: string) {
    this.path = path;
  }
  next(k: string): At {
    return new At(this.path === '' ? k : `${this.path}.${k}`);
  }
  fail(msg: string): never {
    throw new ComposeError(`${this.path}: ${msg}`);
  }
}

function wrap<T>(at: At, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (isEngineError(e) || e instanceof ComposeError) at.fail(e.message);
    throw e;
  }
}

const str = (v: unknown): string | undefined => (v === null || v === undefined ? undefined : goSprint(v));
const bool = (v: unknown): boolean | undefined => (v === null || v === undefined ? undefined : v === true || v === 'true');
const num = (v: unknown, at: At): number | undefined => {
  if (v === null || v === undefined) return undefined;
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(v.trim())) return Number(v);
  return at.fail(`cannot parse ${JSON.stringify(goSprint(v))} as a number`);
};
const int = (v: unknown, at: At): number | undefined => {
  const n = num(v, at);
  if (n !== undefined && !Number.isInteger(n)) at.fail(`expected an integer, got ${goSprint(v)}`);
  return n;
};
const strList = (v: unknown): string[] | undefined => {
  if (v === null || v === undefined) return undefined;
  if (typeof v === 'string') return [v];
  if (Array.isArray(v)) return v.map((e) => goSprint(e));
  return undefined;
};
const strMap = (v: unknown): Record<string, string> | undefined => {
  if (!isDict(v)) return undefined;
  const out: Record<string, string> = {};
  for (const k of Object.keys(v)) out[k] = v[k] === null || v[k] === undefined ? '' : goSprint(v[k]);
  return out;
};
const raw = (v: unknown): Record<string, unknown> | undefined => (isDict(v) ? (v as Record<string, unknown>) : undefined);
const extensions = (d: Dict): Record<string, unknown> | undefined => {
  const x = Object.keys(d).filter((k) => k.startsWith('x-'));
  if (x.length === 0) return undefined;
  const out: Record<string, unknown> = {};
  for (const k of x) out[k] = d[k];
  return out;
};

/** Sizes: an integer, or go-units RAMInBytes (`512m`, `1g`, `1.5GiB`). */
export function bytes(v: unknown, at: At): number | undefined {
  if (v === null || v === undefined) return undefined;
  if (typeof v === 'number') return Number.isInteger(v) ? v : 0;
  const s = goSprint(v);
  if (/^[+-]?\d+$/.test(s)) return Number(s);
  return wrap(at, () => parseBytes(s));
}

/** Durations as go-str2duration reads them: Go's syntax plus `d` (days) and `w` (weeks). */
export function duration(v: unknown, at: At): number | undefined {
  if (v === null || v === undefined) return undefined;
  const s = goSprint(v);
  if (/[dw]/.test(s) && /^[+-]?(\d+(\.\d*)?(w|d|h|m|s|ms|us|µs|ns))+$/.test(s)) {
    const sign = s.startsWith('-') ? -1 : 1;
    const units: Record<string, number> = { w: 604800e9, d: 86400e9, h: 3600e9, m: 60e9, s: 1e9, ms: 1e6, us: 1e3, 'µs': 1e3, ns: 1 };
    let total = 0;
    for (const m of s.replace(/^[+-]/, '').matchAll(/(\d+(?:\.\d*)?)(ms|us|µs|ns|w|d|h|m|s)/g)) total += Number(m[1]) * units[m[2]];
    return sign * Math.round(total);
  }
  return wrap(at, () => parseDuration(s));
}

function command(v: unknown, at: At): string[] | undefined {
  if (v === null || v === undefined) return undefined;
  if (typeof v === 'string') return wrap(at, () => splitShellWords(v));
  if (Array.isArray(v)) return v.map((e) => goSprint(e));
  return undefined;
}

/** MappingWithEquals: `[K=V, K]` or `{K: V, K: null}` → K → value or null. */
function mappingWithEquals(v: unknown, at: At): Record<string, string | null> | undefined {
  if (v === null || v === undefined) return undefined;
  const out: Record<string, string | null> = {};
  if (isDict(v)) {
    for (const k of Object.keys(v)) out[k] = v[k] === null || v[k] === undefined ? null : goSprint(v[k]);
    return out;
  }
  if (Array.isArray(v)) {
    for (const e of v) {
      const s = goSprint(e);
      const eq = s.indexOf('=');
      const k = eq < 0 ? s : s.slice(0, eq);
      if (k !== '' && /\s$/u.test(k)) throw new ComposeError(`environment variable ${k} is declared with a trailing space`);
      out[k] = eq < 0 ? null : s.slice(eq + 1);
    }
    return out;
  }
  return at.fail(`unexpected value type ${typeof v} for mapping`);
}

/** Labels: `[K=V]` or `{K: V}`; a value-less label is ''. */
function labels(v: unknown): Record<string, string> | undefined {
  if (v === null || v === undefined) return undefined;
  const out: Record<string, string> = {};
  if (isDict(v)) {
    for (const k of Object.keys(v)) out[k] = v[k] === null || v[k] === undefined ? '' : goSprint(v[k]);
    return out;
  }
  if (Array.isArray(v)) {
    for (const e of v) {
      const s = goSprint(e);
      const eq = s.indexOf('=');
      out[eq < 0 ? s : s.slice(0, eq)] = eq < 0 ? '' : s.slice(eq + 1);
    }
    return out;
  }
  return undefined;
}

/** extra_hosts: `[host=ip, host:ip]` or `{host: ip | [ips]}`; `[::1]` loses its brackets. */
function hostsList(v: unknown, at: At): Record<string, string[]> | undefined {
  if (v === null || v === undefined) return undefined;
  const out: Record<string, string[]> = {};
  if (isDict(v)) {
    for (const k of Object.keys(v)) {
      const e = v[k];
      out[k] = Array.isArray(e) ? e.map((x) => goSprint(x)) : [e === null || e === undefined ? '' : goSprint(e)];
    }
  } else if (Array.isArray(v)) {
    for (const e of v) {
      const s = goSprint(e);
      let found = false;
      for (const sep of ['=', ':']) {
        const i = s.indexOf(sep);
        if (i < 0) continue;
        const host = s.slice(0, i);
        (out[host] ??= []).push(...s.slice(i + 1).split(','));
        found = true;
        break;
      }
      if (!found) at.fail(`invalid additional host, missing IP: ${s}`);
    }
  } else return undefined;
  for (const [host, ips] of Object.entries(out)) {
    if (host === '' || /[:=]/.test(host)) throw new ComposeError(`bad host name '${host}'`);
    out[host] = ips.map((ip) => (ip.length > 2 && ip.startsWith('[') && ip.endsWith(']') ? ip.slice(1, -1) : ip));
  }
  return out;
}

function ulimits(v: unknown, at: At): Record<string, Ulimit> | undefined {
  if (!isDict(v)) return undefined;
  const out: Record<string, Ulimit> = {};
  for (const k of Object.keys(v)) {
    const e = v[k];
    if (typeof e === 'number') out[k] = { single: e };
    else if (isDict(e)) out[k] = { soft: int(e.soft, at.next(k).next('soft')) ?? 0, hard: int(e.hard, at.next(k).next('hard')) ?? 0 };
  }
  return out;
}

function fileMode(v: unknown, at: At): number | undefined {
  if (v === null || v === undefined) return undefined;
  if (typeof v === 'number') return v;
  const s = goSprint(v);
  if (!/^[+-]?[0-7]+$/.test(s)) at.fail(`strconv.ParseInt: parsing ${JSON.stringify(s)}: invalid syntax`);
  return parseInt(s, 8);
}

function fileRefs(v: unknown, at: At): FileReference[] | undefined {
  if (!Array.isArray(v)) return undefined;
  return v.map((e, i) => {
    const d = isDict(e) ? e : {};
    const a = at.next(String(i));
    const r: FileReference = { source: str(d.source) ?? '' };
    if (d.target !== undefined && d.target !== null) r.target = str(d.target);
    if (d.uid !== undefined && d.uid !== null) r.uid = str(d.uid);
    if (d.gid !== undefined && d.gid !== null) r.gid = str(d.gid);
    const mode = fileMode(d.mode, a.next('mode'));
    if (mode !== undefined) r.mode = mode;
    return r;
  });
}

function deviceRequests(v: unknown, at: At): DeviceRequest[] | undefined {
  if (!Array.isArray(v)) return undefined;
  return v.map((e, i) => {
    const d = isDict(e) ? e : {};
    const r: DeviceRequest = {};
    if (d.capabilities !== undefined) r.capabilities = strList(d.capabilities);
    if (d.driver !== undefined) r.driver = str(d.driver);
    if (d.count !== undefined && d.count !== null) {
      const c = d.count;
      if (typeof c === 'string' && c.toLowerCase() === 'all') r.count = -1;
      else if (typeof c === 'number') r.count = c;
      else if (/^[+-]?\d+$/.test(goSprint(c))) r.count = Number(goSprint(c));
      else at.next(String(i)).fail(`invalid value ${JSON.stringify(goSprint(c))}, the only value allowed is 'all' or a number`);
    }
    if (d.device_ids !== undefined) r.deviceIds = strList(d.device_ids);
    if (d.options !== undefined) r.options = strMap(d.options);
    return r;
  });
}

function hooks(v: unknown, at: At): Hook[] | undefined {
  if (!Array.isArray(v)) return undefined;
  return v.map((e, i) => hook(e, at.next(String(i))));
}

function hook(e: unknown, at: At): Hook {
  const d = isDict(e) ? e : {};
  const h: Hook = {};
  if (d.command !== undefined) h.command = command(d.command, at.next('command'));
  if (d.image !== undefined) h.image = str(d.image);
  if (d.user !== undefined) h.user = str(d.user);
  if (d.privileged !== undefined) h.privileged = bool(d.privileged);
  if (d.working_dir !== undefined) h.workingDir = str(d.working_dir);
  if (d.environment !== undefined) h.environment = mappingWithEquals(d.environment, at.next('environment'));
  return h;
}

function build(v: unknown, at: At): Build | undefined {
  if (!isDict(v)) return undefined;
  const b: Build = { context: str(v.context) ?? '.' };
  if (v.dockerfile !== undefined) b.dockerfile = str(v.dockerfile);
  if (v.dockerfile_inline !== undefined) b.dockerfileInline = str(v.dockerfile_inline);
  if (v.entitlements !== undefined) b.entitlements = strList(v.entitlements);
  if (v.args !== undefined) b.args = mappingWithEquals(v.args, at.next('args'));
  if (v.provenance !== undefined) b.provenance = str(v.provenance);
  if (v.sbom !== undefined) b.sbom = str(v.sbom);
  if (isDict(v.ssh)) {
    b.ssh = {};
    for (const k of Object.keys(v.ssh)) b.ssh[k] = v.ssh[k] === null ? null : goSprint(v.ssh[k]);
  }
  if (v.labels !== undefined) b.labels = labels(v.labels);
  if (v.cache_from !== undefined) b.cacheFrom = strList(v.cache_from);
  if (v.cache_to !== undefined) b.cacheTo = strList(v.cache_to);
  if (v.no_cache !== undefined) b.noCache = bool(v.no_cache);
  if (v.no_cache_filter !== undefined) b.noCacheFilter = strList(v.no_cache_filter);
  if (v.additional_contexts !== undefined) b.additionalContexts = strMap(v.additional_contexts);
  if (v.pull !== undefined) b.pull = bool(v.pull);
  if (v.extra_hosts !== undefined) b.extraHosts = hostsList(v.extra_hosts, at.next('extra_hosts'));
  if (v.isolation !== undefined) b.isolation = str(v.isolation);
  if (v.network !== undefined) b.network = str(v.network);
  if (v.target !== undefined) b.target = str(v.target);
  if (v.secrets !== undefined) b.secrets = fileRefs(v.secrets, at.next('secrets'));
  if (v.shm_size !== undefined) b.shmSize = bytes(v.shm_size, at.next('shm_size'));
  if (v.tags !== undefined) b.tags = strList(v.tags);
  if (v.ulimits !== undefined) b.ulimits = ulimits(v.ulimits, at.next('ulimits'));
  if (v.platforms !== undefined) b.platforms = strList(v.platforms);
  if (v.privileged !== undefined) b.privileged = bool(v.privileged);
  const x = extensions(v);
  if (x) b.extensions = x;
  return b;
}

function healthcheck(v: unknown, at: At): Healthcheck | undefined {
  if (!isDict(v)) return undefined;
  const h: Healthcheck = {};
  if (v.test !== undefined && v.test !== null) {
    h.test = typeof v.test === 'string' ? ['CMD-SHELL', v.test] : strList(v.test);
  }
  if (v.timeout !== undefined) h.timeout = duration(v.timeout, at.next('timeout'));
  if (v.interval !== undefined) h.interval = duration(v.interval, at.next('interval'));
  if (v.retries !== undefined) h.retries = int(v.retries, at.next('retries'));
  if (v.start_period !== undefined) h.startPeriod = duration(v.start_period, at.next('start_period'));
  if (v.start_interval !== undefined) h.startInterval = duration(v.start_interval, at.next('start_interval'));
  if (v.disable !== undefined) h.disable = bool(v.disable);
  return h;
}

function resource(v: unknown, at: At): Resource | undefined {
  if (!isDict(v)) return undefined;
  const r: Resource = {};
  if (v.cpus !== undefined && v.cpus !== null) r.cpus = num(v.cpus, at.next('cpus'));
  if (v.memory !== undefined) r.memory = bytes(v.memory, at.next('memory'));
  if (v.pids !== undefined) r.pids = int(v.pids, at.next('pids'));
  if (v.devices !== undefined) r.devices = deviceRequests(v.devices, at.next('devices'));
  if (Array.isArray(v.generic_resources)) r.genericResources = v.generic_resources;
  return r;
}

function deploy(v: unknown, at: At): Deploy | undefined {
  if (!isDict(v)) return undefined;
  const res = isDict(v.resources) ? v.resources : {};
  const d: Deploy = { resources: {} };
  if (v.mode !== undefined) d.mode = str(v.mode);
  if (v.replicas !== undefined && v.replicas !== null) d.replicas = int(v.replicas, at.next('replicas'));
  if (v.labels !== undefined) d.labels = labels(v.labels);
  const uc = (x: unknown, a: At): UpdateConfig | undefined => {
    if (!isDict(x)) return undefined;
    const u: UpdateConfig = {};
    if (x.parallelism !== undefined && x.parallelism !== null) u.parallelism = int(x.parallelism, a.next('parallelism'));
    if (x.delay !== undefined) u.delay = duration(x.delay, a.next('delay'));
    if (x.failure_action !== undefined) u.failureAction = str(x.failure_action);
    if (x.monitor !== undefined) u.monitor = duration(x.monitor, a.next('monitor'));
    if (x.max_failure_ratio !== undefined) u.maxFailureRatio = num(x.max_failure_ratio, a.next('max_failure_ratio'));
    if (x.order !== undefined) u.order = str(x.order);
    return u;
  };
  d.updateConfig = uc(v.update_config, at.next('update_config'));
  d.rollbackConfig = uc(v.rollback_config, at.next('rollback_config'));
  if (!d.updateConfig) delete d.updateConfig;
  if (!d.rollbackConfig) delete d.rollbackConfig;
  const limits = resource(res.limits, at.next('resources').next('limits'));
  if (limits) d.resources.limits = limits;
  const reservations = resource(res.reservations, at.next('resources').next('reservations'));
  if (reservations) d.resources.reservations = reservations;
  if (isDict(v.restart_policy)) {
    const rp = v.restart_policy;
    const a = at.next('restart_policy');
    const p: RestartPolicy = {};
    if (rp.condition !== undefined) p.condition = str(rp.condition);
    if (rp.delay !== undefined) p.delay = duration(rp.delay, a.next('delay'));
    if (rp.max_attempts !== undefined) p.maxAttempts = int(rp.max_attempts, a.next('max_attempts'));
    if (rp.window !== undefined) p.window = duration(rp.window, a.next('window'));
    d.restartPolicy = p;
  }
  if (isDict(v.placement)) d.placement = v.placement;
  if (v.endpoint_mode !== undefined) d.endpointMode = str(v.endpoint_mode);
  return d;
}

function ports(v: unknown, at: At): PortConfig[] | undefined {
  if (!Array.isArray(v)) return undefined;
  return v.map((e, i) => {
    const d = isDict(e) ? e : {};
    const a = at.next(String(i));
    const p: PortConfig = { mode: str(d.mode) ?? 'ingress', target: int(d.target, a.next('target')) ?? 0, protocol: str(d.protocol) ?? 'tcp' };
    if (d.name !== undefined) p.name = str(d.name);
    if (d.host_ip !== undefined) p.hostIp = str(d.host_ip);
    if (d.published !== undefined && d.published !== null) p.published = goSprint(d.published);
    if (d.app_protocol !== undefined) p.appProtocol = str(d.app_protocol);
    return p;
  });
}

function volumes(v: unknown, at: At): ServiceVolume[] | undefined {
  if (!Array.isArray(v)) return undefined;
  return v.map((e, i) => {
    const d = isDict(e) ? e : {};
    const a = at.next(String(i));
    const sv: ServiceVolume = { type: str(d.type) ?? 'volume', target: str(d.target) ?? '' };
    if (d.source !== undefined && d.source !== null && d.source !== '') sv.source = goSprint(d.source);
    if (d.read_only !== undefined) sv.readOnly = bool(d.read_only);
    if (d.consistency !== undefined) sv.consistency = str(d.consistency);
    if (isDict(d.bind)) {
      const b = d.bind;
      sv.bind = {};
      if (b.create_host_path !== undefined && b.create_host_path !== null) sv.bind.createHostPath = bool(b.create_host_path);
      if (b.selinux !== undefined) sv.bind.selinux = str(b.selinux);
      if (b.propagation !== undefined) sv.bind.propagation = str(b.propagation);
      if (b.recursive !== undefined) sv.bind.recursive = str(b.recursive);
    }
    if (isDict(d.volume)) {
      const vv = d.volume;
      sv.volume = {};
      if (vv.labels !== undefined) sv.volume.labels = labels(vv.labels);
      if (vv.nocopy !== undefined) sv.volume.nocopy = bool(vv.nocopy);
      if (vv.subpath !== undefined) sv.volume.subpath = str(vv.subpath);
    }
    if (isDict(d.tmpfs)) {
      const t = d.tmpfs;
      sv.tmpfs = {};
      if (t.size !== undefined) sv.tmpfs.size = bytes(t.size, a.next('tmpfs').next('size'));
      if (t.mode !== undefined) sv.tmpfs.mode = fileMode(t.mode, a.next('tmpfs').next('mode'));
    }
    if (isDict(d.image)) {
      sv.image = {};
      if (d.image.subpath !== undefined) sv.image.subpath = str(d.image.subpath);
    }
    return sv;
  });
}

function serviceNetworks(v: unknown): Record<string, ServiceNetwork | null> | undefined {
  if (!isDict(v)) return undefined;
  const out: Record<string, ServiceNetwork | null> = {};
  for (const k of Object.keys(v)) {
    const n = v[k];
    if (!isDict(n)) { out[k] = null; continue; }
    const sn: ServiceNetwork = {};
    if (n.aliases !== undefined) sn.aliases = strList(n.aliases);
    if (n.driver_opts !== undefined) sn.driverOpts = strMap(n.driver_opts);
    if (n.gw_priority !== undefined) sn.gwPriority = Number(n.gw_priority);
    if (n.interface_name !== undefined) sn.interfaceName = str(n.interface_name);
    if (n.ipv4_address !== undefined) sn.ipv4Address = str(n.ipv4_address);
    if (n.ipv6_address !== undefined) sn.ipv6Address = str(n.ipv6_address);
    if (n.link_local_ips !== undefined) sn.linkLocalIps = strList(n.link_local_ips);
    if (n.mac_address !== undefined) sn.macAddress = str(n.mac_address);
    if (n.priority !== undefined) sn.priority = Number(n.priority);
    out[k] = sn;
  }
  return out;
}

function dependsOn(v: unknown): Record<string, Dependency> | undefined {
  if (!isDict(v)) return undefined;
  const out: Record<string, Dependency> = {};
  for (const k of Object.keys(v)) {
    const d = isDict(v[k]) ? (v[k] as Dict) : {};
    out[k] = {
      condition: (str(d.condition) ?? 'service_started') as Dependency['condition'],
      restart: bool(d.restart) ?? false,
      required: d.required === undefined ? true : bool(d.required) ?? true,
    };
  }
  return out;
}

function develop(v: unknown, at: At): Service['develop'] {
  if (!isDict(v)) return undefined;
  if (!Array.isArray(v.watch)) return {};
  return {
    watch: v.watch.map((e, i) => {
      const d = isDict(e) ? e : {};
      const w: WatchRule = { path: str(d.path) ?? '', action: str(d.action) ?? '' };
      if (d.target !== undefined) w.target = str(d.target);
      if (d.exec !== undefined) w.exec = hook(d.exec, at.next('watch').next(String(i)).next('exec'));
      if (d.include !== undefined) w.include = strList(d.include);
      if (d.ignore !== undefined) w.ignore = strList(d.ignore);
      if (d.initial_sync !== undefined) w.initialSync = bool(d.initial_sync);
      return w;
    }),
  };
}

export function toService(name: string, d: Dict): Service {
  const at = new At(`services.${name}`);
  const s: Service = { name };
  const set = <K extends keyof Service>(k: K, v: Service[K] | undefined) => {
    if (v !== undefined) s[k] = v;
  };
  set('profiles', strList(d.profiles));
  set('annotations', labels(d.annotations));
  set('attach', bool(d.attach));
  set('build', build(d.build, at.next('build')));
  set('develop', develop(d.develop, at.next('develop')));
  set('blkioConfig', raw(d.blkio_config));
  set('capAdd', strList(d.cap_add));
  set('capDrop', strList(d.cap_drop));
  set('cgroupParent', str(d.cgroup_parent));
  set('cgroup', str(d.cgroup));
  set('cpuCount', int(d.cpu_count, at.next('cpu_count')));
  set('cpuPercent', num(d.cpu_percent, at.next('cpu_percent')));
  set('cpuPeriod', int(d.cpu_period, at.next('cpu_period')));
  set('cpuQuota', int(d.cpu_quota, at.next('cpu_quota')));
  set('cpuRtPeriod', d.cpu_rt_period === undefined ? undefined : typeof d.cpu_rt_period === 'string' ? duration(d.cpu_rt_period, at.next('cpu_rt_period'))! / 1000 : int(d.cpu_rt_period, at.next('cpu_rt_period')));
  set('cpuRtRuntime', d.cpu_rt_runtime === undefined ? undefined : typeof d.cpu_rt_runtime === 'string' ? duration(d.cpu_rt_runtime, at.next('cpu_rt_runtime'))! / 1000 : int(d.cpu_rt_runtime, at.next('cpu_rt_runtime')));
  set('cpus', num(d.cpus, at.next('cpus')));
  set('cpuset', str(d.cpuset));
  set('cpuShares', int(d.cpu_shares, at.next('cpu_shares')));
  set('command', command(d.command, at.next('command')));
  set('configs', fileRefs(d.configs, at.next('configs')));
  set('containerName', str(d.container_name));
  set('credentialSpec', raw(d.credential_spec));
  set('dependsOn', dependsOn(d.depends_on));
  set('deploy', deploy(d.deploy, at.next('deploy')));
  set('deviceCgroupRules', strList(d.device_cgroup_rules));
  if (Array.isArray(d.devices)) {
    s.devices = d.devices.map((e): DeviceMapping => {
      const m = isDict(e) ? e : {};
      return { source: str(m.source) ?? '', target: str(m.target) ?? '', permissions: str(m.permissions) ?? 'rwm' };
    });
  }
  set('dns', strList(d.dns));
  set('dnsOpt', strList(d.dns_opt));
  set('dnsSearch', strList(d.dns_search));
  set('domainname', str(d.domainname));
  set('entrypoint', command(d.entrypoint, at.next('entrypoint')));
  set('environment', mappingWithEquals(d.environment, at.next('environment')));
  set('expose', strList(d.expose));
  set('externalLinks', strList(d.external_links));
  set('extraHosts', hostsList(d.extra_hosts, at.next('extra_hosts')));
  set('groupAdd', strList(d.group_add));
  set('gpus', deviceRequests(d.gpus, at.next('gpus')));
  set('hostname', str(d.hostname));
  set('healthcheck', healthcheck(d.healthcheck, at.next('healthcheck')));
  set('image', str(d.image));
  set('init', bool(d.init));
  set('ipc', str(d.ipc));
  set('isolation', str(d.isolation));
  set('labels', labels(d.labels));
  set('links', strList(d.links));
  if (isDict(d.logging)) {
    const l: Logging = {};
    if (d.logging.driver !== undefined) l.driver = str(d.logging.driver);
    if (d.logging.options !== undefined) l.options = strMap(d.logging.options);
    s.logging = l;
  }
  set('macAddress', str(d.mac_address));
  set('memLimit', bytes(d.mem_limit, at.next('mem_limit')));
  set('memReservation', bytes(d.mem_reservation, at.next('mem_reservation')));
  set('memswapLimit', bytes(d.memswap_limit, at.next('memswap_limit')));
  set('memSwappiness', bytes(d.mem_swappiness, at.next('mem_swappiness')));
  set('networkMode', str(d.network_mode));
  set('networks', serviceNetworks(d.networks));
  set('oomKillDisable', bool(d.oom_kill_disable));
  set('oomScoreAdj', int(d.oom_score_adj, at.next('oom_score_adj')));
  set('pid', str(d.pid));
  set('pidsLimit', int(d.pids_limit, at.next('pids_limit')));
  set('platform', str(d.platform));
  set('ports', ports(d.ports, at.next('ports')));
  set('privileged', bool(d.privileged));
  set('pullPolicy', str(d.pull_policy));
  set('readOnly', bool(d.read_only));
  set('restart', str(d.restart));
  set('runtime', str(d.runtime));
  set('scale', int(d.scale, at.next('scale')));
  set('secrets', fileRefs(d.secrets, at.next('secrets')));
  set('securityOpt', strList(d.security_opt));
  set('shmSize', bytes(d.shm_size, at.next('shm_size')));
  set('stdinOpen', bool(d.stdin_open));
  set('stopGracePeriod', duration(d.stop_grace_period, at.next('stop_grace_period')));
  set('stopSignal', str(d.stop_signal));
  set('storageOpt', strMap(d.storage_opt));
  set('sysctls', labels(d.sysctls));
  set('tmpfs', strList(d.tmpfs));
  set('tty', bool(d.tty));
  set('ulimits', ulimits(d.ulimits, at.next('ulimits')));
  set('useApiSocket', bool(d.use_api_socket));
  set('user', str(d.user));
  set('usernsMode', str(d.userns_mode));
  set('uts', str(d.uts));
  set('volumeDriver', str(d.volume_driver));
  set('volumes', volumes(d.volumes, at.next('volumes')));
  set('volumesFrom', strList(d.volumes_from));
  set('workingDir', str(d.working_dir));
  set('postStart', hooks(d.post_start, at.next('post_start')));
  set('preStop', hooks(d.pre_stop, at.next('pre_stop')));
  set('extensions', extensions(d));
  return s;
}

export function toNetwork(d: Dict): Network {
  const n: Network = { name: str(d.name) ?? '' };
  if (d.driver !== undefined) n.driver = str(d.driver);
  if (d.driver_opts !== undefined) n.driverOpts = strMap(d.driver_opts);
  if (isDict(d.ipam)) {
    const ipam: NonNullable<Network['ipam']> = {};
    if (d.ipam.driver !== undefined) ipam.driver = str(d.ipam.driver);
    if (Array.isArray(d.ipam.config)) {
      ipam.config = d.ipam.config.map((c): IpamPool => {
        const p = isDict(c) ? c : {};
        const pool: IpamPool = {};
        if (p.subnet !== undefined) pool.subnet = str(p.subnet);
        if (p.gateway !== undefined) pool.gateway = str(p.gateway);
        if (p.ip_range !== undefined) pool.ipRange = str(p.ip_range);
        if (p.aux_addresses !== undefined) pool.auxAddresses = strMap(p.aux_addresses);
        return pool;
      });
    }
    if (d.ipam.options !== undefined) ipam.options = strMap(d.ipam.options);
    n.ipam = ipam;
  }
  if (d.external !== undefined) n.external = bool(d.external);
  if (d.internal !== undefined) n.internal = bool(d.internal);
  if (d.attachable !== undefined) n.attachable = bool(d.attachable);
  if (d.labels !== undefined) n.labels = labels(d.labels);
  if (d.enable_ipv4 !== undefined) n.enableIpv4 = bool(d.enable_ipv4);
  if (d.enable_ipv6 !== undefined) n.enableIpv6 = bool(d.enable_ipv6);
  const x = extensions(d);
  if (x) n.extensions = x;
  return n;
}

export function toVolume(d: Dict): Volume {
  const v: Volume = { name: str(d.name) ?? '' };
  if (d.driver !== undefined) v.driver = str(d.driver);
  if (d.driver_opts !== undefined) v.driverOpts = strMap(d.driver_opts);
  if (d.external !== undefined) v.external = bool(d.external);
  if (d.labels !== undefined) v.labels = labels(d.labels);
  const x = extensions(d);
  if (x) v.extensions = x;
  return v;
}

export function toFileObject(d: Dict): FileObject {
  const f: FileObject = { name: str(d.name) ?? '' };
  if (d.file !== undefined) f.file = str(d.file);
  if (d.environment !== undefined) f.environment = str(d.environment);
  if (d.content !== undefined) f.content = str(d.content);
  if (d.external !== undefined) f.external = bool(d.external);
  if (d.labels !== undefined) f.labels = labels(d.labels);
  if (d.driver !== undefined) f.driver = str(d.driver);
  if (d.driver_opts !== undefined) f.driverOpts = strMap(d.driver_opts);
  if (d.template_driver !== undefined) f.templateDriver = str(d.template_driver);
  const x = extensions(d);
  if (x) f.extensions = x;
  return f;
}

export { At };
