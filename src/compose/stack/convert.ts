// A compose project (as berth's loader gives it: load.ts, model.ts) → what `stack deploy` sends
// to a swarm manager: one ServiceSpec per service and one network create body per network,
// the way docker CLI 28's cli/compose/convert does it. Pure: no engine, no files.
//
//   const s = convertStack(project, 'shop')
//   s.services.web   → { Name: 'shop_web', Labels: { 'com.docker.stack.image': 'nginx', 'com.docker.stack.namespace': 'shop' }, ... }
//   s.networks       → [{ Name: 'shop_default', Driver: 'overlay', Labels: { namespace }, ... }]  (to create if missing)
//   s.externalNetworks → names that must already exist
//   s.secrets, s.configs → [{ Name: 'shop_pw', Labels: { namespace }, file: '/srv/app/pw.txt' }]  (created or updated)
//   s.unsupported    → ['build', ...]: docker's "Ignoring unsupported options: build"
//
// Names are `<stack>_<key>` unless the file gives a `name:` (or the object is external). The
// image is sent with `:latest` added (docker's deploy does that), its image label as written; the CLI
// pins digests (--resolve-image). A service's secret and config references carry only names: the
// CLI resolves their IDs once the objects exist (docker's ParseSecrets/ParseConfigs).
import type { ServiceSpec } from '../../api/types/swarm.ts';
import { normalizeTagged } from '../../common/reference.ts';
import type { FileObject, FileReference, Healthcheck, Network, PortConfig, Project, Resource, Service, ServiceVolume, UpdateConfig } from '../model.ts';

export const NAMESPACE_LABEL = 'com.docker.stack.namespace';
export const IMAGE_LABEL = 'com.docker.stack.image';

type Json = Record<string, unknown>;

export interface NetworkCreate {
  Name: string;
  Driver: string;
  Scope: string;
  IPAM: Json | null;
  Internal: boolean;
  Attachable: boolean;
  Ingress: boolean;
  ConfigOnly: boolean;
  ConfigFrom: null;
  Options: Record<string, string> | null;
  Labels: Record<string, string>;
}

/** A secret or config the stack creates (or whose labels it updates): its data comes from a file or is given. */
export interface ObjectCreate {
  Name: string;
  Labels: Record<string, string>;
  /** Absolute path of the file holding the data (`file:`; the loader made it absolute). */
  file?: string;
  /** The data itself (a config's `content:`). */
  content?: string;
  /** The variable `environment:` names: the CLI reads its value from its own environment (the loader's). */
  environment?: string;
}

export interface StackSpec {
  services: Record<string, ServiceSpec>;
  /** Networks the stack creates when they do not exist, by engine name (sorted). */
  networks: NetworkCreate[];
  /** External networks the services use: they must exist (swarm scope). */
  externalNetworks: string[];
  /** Service keys docker ignores in a stack, sorted ("Ignoring unsupported options: ..."). */
  unsupported: string[];
  /** docker's deprecated keys with their explanations ("Ignoring deprecated options: ..."). */
  deprecated: Array<[string, string]>;
  /** The top-level secrets and configs that are not external, by engine name (all of them, used or not, as docker). */
  secrets: ObjectCreate[];
  configs: ObjectCreate[];
  /** What berth cannot deploy (secret drivers, templating), as `secrets.<key>.driver`: the CLI refuses before any request. */
  notSupported: string[];
}

/**
 * The sentinel project name the CLI loads stacks under (a stack's name need not be a valid
 * compose project name): a top-level object whose engine name is `<sentinel>_<key>` had no
 * `name:` of its own, and gets `<stack>_<key>` instead.
 */
export const LOAD_NAME = 'berth-stack-load';

export function scoped(stack: string, name: string): string {
  return `${stack}_${name}`;
}

/** An object's engine name: its own `name:`, or the stack-scoped key. */
function objectName(stack: string, key: string, o: { name: string; external?: boolean }): string {
  if (o.external) return o.name;
  return o.name === `${LOAD_NAME}_${key}` ? scoped(stack, key) : o.name;
}

function withNamespace(stack: string, labels: Record<string, string> | undefined): Record<string, string> {
  return sortKeys({ ...(labels ?? {}), [NAMESPACE_LABEL]: stack });
}

function sortKeys<T>(m: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(m).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

// docker's cli/compose/loader: keys a stack does not honour, and those it calls deprecated.
const UNSUPPORTED: Array<[keyof Service, string]> = [
  ['build', 'build'], ['cgroupParent', 'cgroup_parent'], ['devices', 'devices'], ['domainname', 'domainname'],
  ['externalLinks', 'external_links'], ['ipc', 'ipc'], ['links', 'links'], ['macAddress', 'mac_address'],
  ['networkMode', 'network_mode'], ['pid', 'pid'], ['privileged', 'privileged'], ['restart', 'restart'],
  ['securityOpt', 'security_opt'], ['shmSize', 'shm_size'], ['usernsMode', 'userns_mode'],
];
const DEPRECATED: Array<[keyof Service, string, string]> = [
  ['containerName', 'container_name', 'Setting the container name is not supported.'],
  ['expose', 'expose', 'Exposing ports is unnecessary - services on the same network can access each other\'s containers on any port.'],
];

export function convertStack(project: Project, stack: string): StackSpec {
  const unsupported = new Set<string>();
  const deprecated = new Map<string, string>();
  const notSupported = new Set<string>();
  const usedNetworks = new Set<string>();
  const services: Record<string, ServiceSpec> = {};
  for (const name of Object.keys(project.services).sort()) {
    const svc = project.services[name];
    for (const [k, key] of UNSUPPORTED) if (svc[k] !== undefined && !(Array.isArray(svc[k]) && (svc[k] as unknown[]).length === 0)) unsupported.add(key);
    for (const [k, key, why] of DEPRECATED) if (svc[k] !== undefined) deprecated.set(key, why);
    for (const n of Object.keys(svc.networks ?? { default: null })) usedNetworks.add(n);
    services[name] = convertService(project, stack, svc);
  }
  const networks: NetworkCreate[] = [];
  const externalNetworks: string[] = [];
  for (const key of [...usedNetworks].sort()) {
    const n: Network = project.networks[key] ?? { name: `${LOAD_NAME}_${key}` };
    if (n.external) { externalNetworks.push(n.name); continue; }
    networks.push(networkCreate(stack, key, n));
  }
  networks.sort((a, b) => (a.Name < b.Name ? -1 : a.Name > b.Name ? 1 : 0));
  const objects = (kind: 'secrets' | 'configs'): ObjectCreate[] => {
    const out: ObjectCreate[] = [];
    for (const key of Object.keys(project[kind]).sort()) {
      const o = project[kind][key];
      if (o.external) continue;
      // docker would send a secret's Driver and a Templating driver; berth's manager has neither.
      if (o.driver) notSupported.add(`${kind}.${key}.driver`);
      if (o.templateDriver) notSupported.add(`${kind}.${key}.template_driver`);
      out.push(objectCreate(stack, key, o));
    }
    return out.sort((a, b) => (a.Name < b.Name ? -1 : a.Name > b.Name ? 1 : 0));
  };
  const secrets = objects('secrets');
  const configs = objects('configs');
  return {
    services, networks, externalNetworks: externalNetworks.sort(),
    unsupported: [...unsupported].sort(), deprecated: [...deprecated.entries()].sort(), secrets, configs, notSupported: [...notSupported],
  };
}

/** docker's fileObjectConfig: the engine name, the namespace label added to the file's labels, where the data is. */
function objectCreate(stack: string, key: string, o: FileObject): ObjectCreate {
  const out: ObjectCreate = { Name: objectName(stack, key, o), Labels: withNamespace(stack, o.labels) };
  if (o.file !== undefined) out.file = o.file;
  else if (o.content !== undefined) out.content = o.content;
  if (o.environment !== undefined) out.environment = o.environment;
  return out;
}

/** docker's convertNetworks: overlay unless the file says otherwise, the namespace label added. */
function networkCreate(stack: string, key: string, n: Network): NetworkCreate {
  let ipam: Json | null = null;
  if (n.ipam && (n.ipam.driver || n.ipam.config?.length)) {
    ipam = {
      Driver: n.ipam.driver ?? '',
      Options: null,
      Config: (n.ipam.config ?? []).map((c) => ({ Subnet: c.subnet ?? '', ...(c.ipRange ? { IPRange: c.ipRange } : {}), ...(c.gateway ? { Gateway: c.gateway } : {}), ...(c.auxAddresses ? { AuxiliaryAddresses: c.auxAddresses } : {}) })),
    };
  }
  return {
    Driver: n.driver || 'overlay',
    Scope: '',
    IPAM: ipam,
    Internal: Boolean(n.internal),
    Attachable: Boolean(n.attachable),
    Ingress: false,
    ConfigOnly: false,
    ConfigFrom: null,
    Options: n.driverOpts && Object.keys(n.driverOpts).length ? n.driverOpts : null,
    Labels: withNamespace(stack, n.labels),
    Name: objectName(stack, key, n),
  };
}

/** docker's convertService: one compose service → ServiceSpec, keys in docker's JSON order. */
export function convertService(project: Project, stack: string, svc: Service): ServiceSpec {
  const d = svc.deploy;
  const container: Json = {
    Image: taggedImage(svc.image ?? ''),
    Labels: withNamespace(stack, svc.labels),
    Command: svc.entrypoint,
    Args: svc.command,
    Hostname: svc.hostname || undefined,
    Env: environment(svc.environment),
    Dir: svc.workingDir || undefined,
    User: svc.user || undefined,
    Privileges: { CredentialSpec: null, SELinuxContext: null, NoNewPrivileges: false },
    Init: svc.init,
    TTY: svc.tty || undefined,
    OpenStdin: svc.stdinOpen || undefined,
    ReadOnly: svc.readOnly || undefined,
    Mounts: mounts(project, stack, svc.volumes),
    StopGracePeriod: svc.stopGracePeriod,
    StopSignal: svc.stopSignal || undefined,
    Healthcheck: healthcheck(svc.healthcheck),
    Hosts: hosts(svc.extraHosts),
    DNSConfig: dnsConfig(svc),
    Secrets: fileRefs(project.secrets, stack, svc.secrets, 'secret'),
    Configs: fileRefs(project.configs, stack, svc.configs, 'config'),
    Isolation: svc.isolation || undefined,
    Sysctls: svc.sysctls && Object.keys(svc.sysctls).length ? svc.sysctls : undefined,
    CapabilityAdd: capabilities(svc.capAdd),
    CapabilityDrop: capabilities(svc.capDrop),
    Ulimits: ulimits(svc.ulimits),
  };
  const spec: Json = {
    Name: scoped(stack, svc.name),
    Labels: sortKeys({ ...(d?.labels ?? {}), [IMAGE_LABEL]: svc.image ?? '', [NAMESPACE_LABEL]: stack }),
    TaskTemplate: dropUndefined({
      ContainerSpec: dropUndefined(container),
      Resources: resources(d?.resources),
      RestartPolicy: restartPolicy(svc),
      Placement: placement(d?.placement),
      Networks: networkAttachments(project, stack, svc),
      LogDriver: svc.logging?.driver ? dropUndefined({ Name: svc.logging.driver, Options: svc.logging.options && Object.keys(svc.logging.options).length ? svc.logging.options : undefined }) : undefined,
      ForceUpdate: 0,
    }),
    Mode: d?.mode === 'global' ? { Global: {} } : { Replicated: dropUndefined({ Replicas: d?.replicas ?? svc.scale }) },
    UpdateConfig: updateConfig(d?.updateConfig),
    RollbackConfig: updateConfig(d?.rollbackConfig),
    EndpointSpec: endpointSpec(d?.endpointMode, svc.ports),
  };
  return dropUndefined(spec) as ServiceSpec;
}

/** The familiar name with `:latest` when it has neither tag nor digest (what docker's deploy sends). */
export function taggedImage(image: string): string {
  try {
    return normalizeTagged(image).familiar();
  } catch {
    return image;
  }
}

function dropUndefined<T extends Json>(o: T): T {
  for (const k of Object.keys(o)) if (o[k] === undefined) delete o[k];
  return o;
}

/** docker's convertExtraHosts: `IP host` (the hosts-file order the engine's API wants). */
function hosts(h: Service['extraHosts']): string[] | undefined {
  if (!h || Object.keys(h).length === 0) return undefined;
  return Object.entries(h).flatMap(([host, ips]) => ips.map((ip) => `${ip} ${host}`));
}

function dnsConfig(svc: Service): Json | undefined {
  if (!svc.dns?.length && !svc.dnsSearch?.length && !svc.dnsOpt?.length) return undefined;
  return dropUndefined({ Nameservers: svc.dns?.length ? svc.dns : undefined, Search: svc.dnsSearch?.length ? svc.dnsSearch : undefined, Options: svc.dnsOpt?.length ? svc.dnsOpt : undefined });
}

/** docker normalises capability names: upper case, `CAP_` prefixed (ALL stays ALL). */
function capabilities(caps: string[] | undefined): string[] | undefined {
  if (!caps?.length) return undefined;
  return caps.map((c) => {
    const u = c.toUpperCase();
    return u === 'ALL' || u.startsWith('CAP_') ? u : `CAP_${u}`;
  });
}

/** docker's convertUlimits: sorted by name; a single value is both soft and hard. */
function ulimits(u: Service['ulimits']): Json[] | undefined {
  if (!u || Object.keys(u).length === 0) return undefined;
  return Object.keys(u).sort().map((name) => {
    const l = u[name];
    return l.single !== undefined ? { Name: name, Hard: l.single, Soft: l.single } : { Name: name, Hard: l.hard, Soft: l.soft };
  });
}

/** docker's convertEnvironment: `K=V` (or `K` alone when unset), sorted. */
function environment(env: Record<string, string | null> | undefined): string[] | undefined {
  if (!env || Object.keys(env).length === 0) return undefined;
  return Object.entries(env).map(([k, v]) => (v === null ? k : `${k}=${v}`)).sort();
}

function healthcheck(h: Healthcheck | undefined): Json | undefined {
  if (!h) return undefined;
  if (h.disable) return { Test: ['NONE'] };
  return dropUndefined({
    Test: h.test, Interval: h.interval, Timeout: h.timeout, StartPeriod: h.startPeriod,
    StartInterval: h.startInterval, Retries: h.retries,
  });
}

function resources(r: { limits?: Resource; reservations?: Resource } | undefined): Json {
  const out: Json = {};
  const one = (x: Resource | undefined, limits: boolean): Json | undefined => {
    if (!x) return undefined;
    const o: Json = {};
    if (x.cpus !== undefined) o.NanoCPUs = Math.round(x.cpus * 1e9);
    if (x.memory !== undefined) o.MemoryBytes = x.memory;
    if (limits && x.pids !== undefined) o.Pids = x.pids;
    return Object.keys(o).length ? o : undefined;
  };
  const l = one(r?.limits, true);
  const res = one(r?.reservations, false);
  if (l) out.Limits = l;
  if (res) out.Reservations = res;
  return out;
}

/** deploy.restart_policy, else the service's `restart:` as docker maps it (always/unless-stopped → any). */
function restartPolicy(svc: Service): Json | undefined {
  const p = svc.deploy?.restartPolicy;
  if (p) return dropUndefined({ Condition: p.condition, Delay: p.delay, MaxAttempts: p.maxAttempts, Window: p.window });
  const r = svc.restart;
  if (!r) return undefined;
  if (r === 'always' || r === 'unless-stopped') return { Condition: 'any' };
  if (r === 'no') return { Condition: 'none' };
  const m = /^on-failure(?::(\d+))?$/.exec(r);
  if (m) return dropUndefined({ Condition: 'on-failure', MaxAttempts: m[1] !== undefined ? Number(m[1]) : undefined });
  return undefined;
}

function placement(p: Record<string, unknown> | undefined): Json {
  const out: Json = {};
  if (!p) return out;
  const c = p.constraints as string[] | undefined;
  if (c?.length) out.Constraints = c;
  const prefs = p.preferences as Array<{ spread?: string }> | undefined;
  if (prefs?.length) out.Preferences = prefs.map((x) => ({ Spread: { SpreadDescriptor: x.spread ?? '' } }));
  const max = p.max_replicas_per_node ?? p.maxReplicasPerNode;
  if (typeof max === 'number' && max > 0) out.MaxReplicas = max;
  return out;
}

/** docker's convertServiceNetworks: each network by engine name, its aliases then the service key, sorted by target. */
function networkAttachments(project: Project, stack: string, svc: Service): Json[] {
  const nets = svc.networks ?? { default: null };
  const out = Object.entries(nets).map(([key, cfg]) => {
    const n = project.networks[key] ?? { name: `${LOAD_NAME}_${key}` };
    const aliases = [...(cfg?.aliases ?? []), svc.name];
    return dropUndefined({ Target: objectName(stack, key, n), Aliases: aliases, DriverOpts: cfg?.driverOpts && Object.keys(cfg.driverOpts).length ? cfg.driverOpts : undefined });
  });
  return out.sort((a, b) => ((a.Target as string) < (b.Target as string) ? -1 : 1));
}

function updateConfig(u: UpdateConfig | undefined): Json | undefined {
  if (!u) return undefined;
  return dropUndefined({
    Parallelism: u.parallelism ?? 1, Delay: u.delay || undefined, FailureAction: u.failureAction || undefined,
    Monitor: u.monitor || undefined, MaxFailureRatio: u.maxFailureRatio ?? 0, Order: u.order ?? '',
  });
}

function endpointSpec(mode: string | undefined, ports: PortConfig[] | undefined): Json {
  const out: Json = {};
  if (mode) out.Mode = mode;
  if (ports?.length) {
    // A published range for one target (`9000-9002:90`) is one port config per published port, as docker sends it.
    const published = (p: PortConfig): Array<number | undefined> => {
      const r = /^(\d+)-(\d+)$/.exec(p.published ?? '');
      if (!r) return [p.published !== undefined && p.published !== '' ? Number(p.published) : undefined];
      return Array.from({ length: Math.max(0, Number(r[2]) - Number(r[1]) + 1) }, (_, i) => Number(r[1]) + i);
    };
    out.Ports = ports.flatMap((p) => published(p).map((pub) => dropUndefined({
      Name: p.name || undefined, Protocol: p.protocol || 'tcp', TargetPort: p.target,
      PublishedPort: pub, PublishMode: p.mode || 'ingress',
    }))).sort((a, b) => ((a.PublishedPort as number) ?? 0) - ((b.PublishedPort as number) ?? 0));
  }
  return out;
}

/** docker's convertVolumeToMount: named volumes scoped to the stack and labelled, binds as given. */
function mounts(project: Project, stack: string, vols: ServiceVolume[] | undefined): Json[] | undefined {
  if (!vols?.length) return undefined;
  return vols.map((v) => {
    const m: Json = { Type: v.type, Source: v.source, Target: v.target, ReadOnly: v.readOnly || undefined };
    if (v.type === 'volume' && v.source) {
      const top = project.volumes[v.source];
      if (top) {
        m.Source = objectName(stack, v.source, top);
        if (!top.external) {
          const o: Json = { NoCopy: v.volume?.nocopy || undefined, Labels: withNamespace(stack, { ...(top.labels ?? {}), ...(v.volume?.labels ?? {}) }) };
          if (top.driver || (top.driverOpts && Object.keys(top.driverOpts).length)) o.DriverConfig = dropUndefined({ Name: top.driver || undefined, Options: top.driverOpts });
          if (v.volume?.subpath) o.Subpath = v.volume.subpath;
          m.VolumeOptions = dropUndefined(o);
        }
      }
    } else if (v.type === 'volume' && v.volume?.nocopy) {
      m.VolumeOptions = { NoCopy: true };
    }
    if (v.type === 'bind' && v.bind?.propagation) m.BindOptions = { Propagation: v.bind.propagation };
    if (v.type === 'tmpfs' && v.tmpfs) m.TmpfsOptions = dropUndefined({ SizeBytes: v.tmpfs.size, Mode: v.tmpfs.mode });
    return dropUndefined(m);
  });
}

/**
 * docker's convertServiceSecrets / convertServiceConfigObjs: each reference names its object by
 * engine name; the file is the target or else the source key, uid and gid "0", mode 0444; sorted by
 * object name (docker sorts so that a redeploy does not restart a service over the order).
 */
function fileRefs(objects: Record<string, FileObject>, stack: string, refs: FileReference[] | undefined, kind: 'secret' | 'config'): Json[] | undefined {
  if (!refs?.length) return undefined;
  const nameKey = kind === 'secret' ? 'SecretName' : 'ConfigName';
  const out = refs.map((r) => {
    const o = objects[r.source] ?? { name: `${LOAD_NAME}_${r.source}` };
    // The compose loader fills a secret's target with /run/secrets/<source> (compose-go's default);
    // docker's stack loader leaves it empty and sends the source as the file name.
    const target = r.target && !(kind === 'secret' && r.target === `/run/secrets/${r.source}`) ? r.target : r.source;
    return { File: { Name: target, UID: r.uid || '0', GID: r.gid || '0', Mode: r.mode ?? 0o444 }, [nameKey]: objectName(stack, r.source, o) };
  });
  return out.sort((a, b) => ((a[nameKey] as string) < (b[nameKey] as string) ? -1 : (a[nameKey] as string) > (b[nameKey] as string) ? 1 : 0));
}
