// A minimal stand-in for the runtime's container creation, so `compose run` (and its
// dependencies) can be written now: the create body of a service's container as compose's
// getCreateConfigs builds it, the project's networks and volumes made when missing, and the
// dependencies of a one-off started and waited for. The runtime (create/up, recreate, scale)
// owns the full mapping; at the merge, createServiceContainer and startDependencies should call
// the runtime's own functions and this file should shrink to those two signatures.
//
//   await ensureNetworks(client, project, progress);
//   await ensureVolumes(client, project, progress);
//   const id = await createServiceContainer(client, project, project.services.web, {
//     name: 'shop-web-run-0123456789ab', number: 0, labels: { 'com.docker.compose.oneoff': 'True' }, apiVersion: '1.47',
//   });
//
// What the body covers: image, command/entrypoint, environment (KEY alone for an unset
// value), labels (compose's, the config hash, depends_on), user, working_dir, hostname,
// domainname, tty/stdin_open, ports and expose, volumes (named, bind with create_host_path,
// anonymous, tmpfs; read_only, nocopy), tmpfs, networks (every one in NetworkingConfig from
// API 1.44, the container name and, with useNetworkAliases, the service name and aliases as
// aliases; ipv4_address), network_mode, healthcheck, restart, cap_add/cap_drop, privileged,
// init, read_only, extra_hosts, dns, dns_search, dns_opt, security_opt, sysctls, ulimits,
// shm_size, pids_limit, mem_limit, cpus, logging, stop_signal, stop_grace_period, group_add.
// Not covered: secrets and configs, volumes_from, links, devices, service:/container: modes.
import type { ApiClient } from '../../client/client.ts';
import { ApiError, compareVersions } from '../../client/client.ts';
import { ComposeError } from '../errors.ts';
import { serviceHash } from '../hash.ts';
import {
  extraHostsList, imageName, LABELS, networksByPriority, serviceScale, type Project, type Service, type ServiceVolume,
} from '../model.ts';
import { dependencyOrder } from '../project.ts';
import { COMPOSE_VERSION } from '../version.ts';
import { containerNumber, getContainers, isOneOff, isService, type ContainerSummary } from '../query.ts';
import type { Progress } from '../progress-lite.ts';

type Obj = Record<string, unknown>;

export interface CreateServiceOptions {
  /** The container's name (`<project>-<service>-<n>`, or a one-off's). */
  name: string;
  /** The container number label; 0 for a one-off (compose does not number them). */
  number: number;
  /** Labels added to compose's (oneoff, slug, `run -l`). */
  labels?: Record<string, string>;
  autoRemove?: boolean;
  /** `run` attaches stdin: AttachStdin, and StdinOnce with stdin_open. */
  attachStdin?: boolean;
  /** The service name and its network aliases as aliases too (up: yes; run: --use-aliases). */
  useNetworkAliases?: boolean;
  /** The negotiated API version: from 1.44 every network goes in NetworkingConfig. */
  apiVersion: string;
  /** The image's ID, for the com.docker.compose.image label. */
  imageId?: string;
}

/** compose's container labels: the project's custom labels, the service's own, the hash. */
export function containerLabels(project: Project, s: Service, o: Pick<CreateServiceOptions, 'number' | 'labels' | 'imageId'>): Record<string, string> {
  const labels: Record<string, string> = {
    ...(s.labels ?? {}),
    [LABELS.project]: project.name,
    [LABELS.service]: s.name,
    [LABELS.version]: COMPOSE_VERSION,
    [LABELS.oneoff]: 'False',
    [LABELS.workingDir]: project.workingDir,
    [LABELS.configFiles]: project.composeFiles.join(','),
    ...(project.envFiles.length ? { [LABELS.environmentFile]: project.envFiles.join(',') } : {}),
    ...(o.imageId ? { [LABELS.image]: o.imageId } : {}),
    ...(o.labels ?? {}),
  };
  labels[LABELS.configHash] = serviceHash(s);
  if (o.number > 0) labels[LABELS.containerNumber] = String(o.number);
  labels[LABELS.dependsOn] = Object.entries(s.dependsOn ?? {}).map(([d, c]) => `${d}:${c.condition}:${c.restart}`).join(',');
  return labels;
}

/** Environment as the engine wants it: `K=V`, or `K` alone when the value is unset. */
export function envList(env: Record<string, string | null> | undefined): string[] | undefined {
  if (!env) return undefined;
  return Object.keys(env).sort().map((k) => (env[k] === null ? k : `${k}=${env[k]}`));
}

function mount(project: Project, v: ServiceVolume): Obj {
  const m: Obj = { Type: v.type, Target: v.target, ReadOnly: Boolean(v.readOnly) };
  if (v.type === 'volume') {
    if (v.source) m.Source = project.volumes[v.source]?.name ?? v.source;
    if (v.volume?.nocopy || v.volume?.subpath) m.VolumeOptions = { NoCopy: Boolean(v.volume?.nocopy), ...(v.volume?.subpath ? { Subpath: v.volume.subpath } : {}) };
  } else if (v.type === 'bind') {
    m.Source = v.source;
    const b: Obj = {};
    if (v.bind?.propagation) b.Propagation = v.bind.propagation;
    if (v.bind?.createHostPath) b.CreateMountpoint = true;
    if (Object.keys(b).length) m.BindOptions = b;
  } else if (v.type === 'tmpfs') {
    const t: Obj = {};
    if (v.tmpfs?.size) t.SizeBytes = v.tmpfs.size;
    if (v.tmpfs?.mode) t.Mode = v.tmpfs.mode;
    if (Object.keys(t).length) m.TmpfsOptions = t;
  } else if (v.source) m.Source = v.source;
  return m;
}

function endpoint(project: Project, s: Service, key: string, o: CreateServiceOptions): Obj {
  const cfg = s.networks?.[key] ?? undefined;
  const aliases = [s.containerName ?? o.name];
  if (o.useNetworkAliases) aliases.push(s.name, ...(cfg?.aliases ?? []));
  const ep: Obj = { Aliases: aliases };
  if (cfg?.ipv4Address || cfg?.ipv6Address) ep.IPAMConfig = { IPv4Address: cfg.ipv4Address ?? '', IPv6Address: cfg.ipv6Address ?? '' };
  if (cfg?.macAddress) ep.MacAddress = cfg.macAddress;
  if (cfg?.driverOpts) ep.DriverOpts = cfg.driverOpts;
  return ep;
}

/** POST /containers/create's body for a service's container (compose's getCreateConfigs). */
export function containerCreateBody(project: Project, s: Service, o: CreateServiceOptions): Obj {
  const exposed: Record<string, object> = {};
  for (const e of s.expose ?? []) exposed[e.includes('/') ? e : `${e}/tcp`] = {};
  const bindings: Record<string, Array<{ HostIp: string; HostPort: string }>> = {};
  for (const p of s.ports ?? []) {
    const k = `${p.target}/${p.protocol || 'tcp'}`;
    exposed[k] = {};
    (bindings[k] ??= []).push({ HostIp: p.hostIp ?? '', HostPort: p.published ?? '' });
  }
  const hc = s.healthcheck;
  const health = hc && (hc.disable ? { Test: ['NONE'] } : {
    Test: hc.test, Interval: hc.interval ?? 0, Timeout: hc.timeout ?? 0, Retries: hc.retries ?? 0, StartPeriod: hc.startPeriod ?? 0, StartInterval: hc.startInterval ?? 0,
  });
  let networkMode = s.networkMode;
  let endpoints: Record<string, Obj> | undefined;
  if (!networkMode) {
    const keys = networksByPriority(s);
    if (Object.keys(project.networks).length === 0) networkMode = 'none';
    else {
      const primary = keys[0] ?? 'default';
      networkMode = project.networks[primary]?.name ?? primary;
      endpoints = { [networkMode]: endpoint(project, s, primary, o) };
      // From API 1.44 every network arrives at create; before, the others are connected after.
      if (compareVersions(o.apiVersion, '1.44') >= 0) for (const k of keys.slice(1)) endpoints[project.networks[k]?.name ?? k] = endpoint(project, s, k, o);
    }
  }
  const limits = s.deploy?.resources.limits;
  const ulimits = Object.entries(s.ulimits ?? {}).map(([Name, u]) => ({ Name, Soft: u.single ?? u.soft ?? 0, Hard: u.single ?? u.hard ?? 0 }));
  const restart = s.restart && s.restart !== 'no'
    ? { Name: s.restart.split(':')[0], MaximumRetryCount: Number(s.restart.split(':')[1] ?? 0) }
    : s.deploy?.restartPolicy?.condition
      ? { Name: s.deploy.restartPolicy.condition === 'any' ? 'always' : s.deploy.restartPolicy.condition, MaximumRetryCount: s.deploy.restartPolicy.maxAttempts ?? 0 }
      : undefined;
  const hostConfig: Obj = {
    NetworkMode: networkMode,
    PortBindings: Object.keys(bindings).length ? bindings : undefined,
    Mounts: (s.volumes ?? []).map((v) => mount(project, v)),
    Tmpfs: s.tmpfs?.length ? Object.fromEntries(s.tmpfs.map((t) => { const i = t.indexOf(':'); return i < 0 ? [t, ''] : [t.slice(0, i), t.slice(i + 1)]; })) : undefined,
    // compose sends an empty policy when the service has none.
    RestartPolicy: restart ?? { Name: '', MaximumRetryCount: 0 },
    AutoRemove: Boolean(o.autoRemove),
    CapAdd: s.capAdd, CapDrop: s.capDrop, Privileged: Boolean(s.privileged), Init: s.init,
    ReadonlyRootfs: Boolean(s.readOnly),
    ExtraHosts: s.extraHosts ? extraHostsList(s.extraHosts) : undefined,
    Dns: s.dns, DnsSearch: s.dnsSearch, DnsOptions: s.dnsOpt,
    SecurityOpt: s.securityOpt, Sysctls: s.sysctls, GroupAdd: s.groupAdd,
    Ulimits: ulimits.length ? ulimits : undefined,
    ShmSize: s.shmSize, PidsLimit: s.pidsLimit ?? limits?.pids,
    Memory: s.memLimit ?? limits?.memory, NanoCpus: (s.cpus ?? limits?.cpus) ? Math.round((s.cpus ?? limits!.cpus!) * 1e9) : undefined,
    LogConfig: s.logging ? { Type: s.logging.driver ?? '', Config: s.logging.options ?? {} } : undefined,
    OomScoreAdj: s.oomScoreAdj, IpcMode: s.ipc, PidMode: s.pid, CgroupParent: s.cgroupParent,
  };
  const body: Obj = {
    Hostname: s.hostname, Domainname: s.domainname, User: s.user,
    ExposedPorts: Object.keys(exposed).length ? exposed : undefined,
    Tty: Boolean(s.tty), OpenStdin: Boolean(s.stdinOpen), StdinOnce: Boolean(o.attachStdin && s.stdinOpen),
    AttachStdin: Boolean(o.attachStdin), AttachStdout: true, AttachStderr: true,
    Cmd: s.command, Entrypoint: s.entrypoint,
    Env: envList(s.environment),
    Image: imageName(project, s),
    WorkingDir: s.workingDir,
    Labels: containerLabels(project, s, o),
    Healthcheck: health,
    StopSignal: s.stopSignal,
    StopTimeout: s.stopGracePeriod !== undefined ? Math.floor(s.stopGracePeriod / 1e9) : undefined,
    HostConfig: hostConfig,
    NetworkingConfig: endpoints ? { EndpointsConfig: endpoints } : undefined,
  };
  return JSON.parse(JSON.stringify(body)) as Obj;
}

/** Creates the service's container and connects the networks an older engine did not take at create. */
export async function createServiceContainer(client: ApiClient, project: Project, s: Service, o: CreateServiceOptions): Promise<{ id: string; warnings: string[] }> {
  const body = containerCreateBody(project, s, o);
  const r = await client.json<{ Id: string; Warnings?: string[] | null }>('POST', '/containers/create', { query: { name: o.name }, body });
  if (compareVersions(o.apiVersion, '1.44') < 0 && !s.networkMode) {
    for (const k of networksByPriority(s).slice(1)) {
      await client.call('POST', `/networks/${encodeURIComponent(project.networks[k]?.name ?? k)}/connect`, { body: { Container: r.Id, EndpointConfig: endpoint(project, s, k, o) } });
    }
  }
  return { id: r.Id, warnings: r.Warnings ?? [] };
}

// ------------------------------------------------------------------------------ networks, volumes

const isNotFound = (e: unknown) => e instanceof ApiError && e.status === 404;

/** Creates the project's networks that do not exist (external ones must). */
export async function ensureNetworks(client: ApiClient, project: Project, p: Progress): Promise<void> {
  for (const key of Object.keys(project.networks).sort()) {
    const n = project.networks[key];
    try {
      await client.json('GET', `/networks/${encodeURIComponent(n.name)}`);
      continue;
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
    if (n.external) throw new ComposeError(`network ${n.name} declared as external, but could not be found`);
    const id = `Network ${n.name}`;
    p.event({ id, status: 'working', text: 'Creating' });
    await client.json('POST', '/networks/create', {
      body: {
        Name: n.name, Driver: n.driver ?? 'bridge', Options: n.driverOpts ?? {}, Internal: Boolean(n.internal), Attachable: Boolean(n.attachable),
        EnableIPv6: n.enableIpv6, CheckDuplicate: true,
        Labels: { ...(n.labels ?? {}), [LABELS.network]: key, [LABELS.project]: project.name, [LABELS.version]: COMPOSE_VERSION },
        IPAM: n.ipam ? { Driver: n.ipam.driver ?? 'default', Options: n.ipam.options ?? {}, Config: (n.ipam.config ?? []).map((c) => ({ Subnet: c.subnet, Gateway: c.gateway, IPRange: c.ipRange, AuxiliaryAddresses: c.auxAddresses })) } : undefined,
      },
    });
    p.event({ id, status: 'done', text: 'Created' });
  }
}

/** Creates the project's volumes that do not exist (external ones must). */
export async function ensureVolumes(client: ApiClient, project: Project, p: Progress): Promise<void> {
  for (const key of Object.keys(project.volumes).sort()) {
    const v = project.volumes[key];
    try {
      await client.json('GET', `/volumes/${encodeURIComponent(v.name)}`);
      continue;
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
    if (v.external) throw new ComposeError(`external volume ${JSON.stringify(v.name)} not found`);
    const id = `Volume ${JSON.stringify(v.name)}`;
    p.event({ id, status: 'working', text: 'Creating' });
    await client.json('POST', '/volumes/create', {
      body: { Name: v.name, Driver: v.driver ?? 'local', DriverOpts: v.driverOpts ?? {}, Labels: { ...(v.labels ?? {}), [LABELS.volume]: key, [LABELS.project]: project.name, [LABELS.version]: COMPOSE_VERSION } },
    });
    p.event({ id, status: 'done', text: 'Created' });
  }
}

// ---------------------------------------------------------------------- a one-off's dependencies

interface Inspected { Name: string; Config: { Healthcheck?: unknown }; State: { Status: string; ExitCode: number; Running: boolean; Health?: { Status: string } | null } }

/**
 * `run`'s startDependencies, minimal: networks and volumes, then every other active service of
 * the project (run loads the service and what it depends on) in dependency order: a stopped
 * container started, a missing one created (`<project>-<service>-1`, ...) and started; and each
 * service's own depends_on conditions waited for before it starts. No recreate of changed
 * containers (the runtime's convergence does that).
 */
export async function startDependencies(client: ApiClient, project: Project, target: string, p: Progress): Promise<void> {
  await ensureNetworks(client, project, p);
  await ensureVolumes(client, project, p);
  const apiVersion = await client.version();
  for (const name of dependencyOrder(project)) {
    if (name === target) continue;
    const s = project.services[name];
    await waitDependencies(client, project, name, p);
    const existing = (await getContainers(client, project.name, 'exclude', true, [name])).filter(isService(name));
    const want = serviceScale(s);
    for (let n = 1; existing.length < want; n++) {
      if (existing.some((c) => containerNumber(c) === n)) continue;
      const cname = s.containerName ?? `${project.name}-${name}-${n}`;
      p.event({ id: `Container ${cname}`, status: 'working', text: 'Creating' });
      const { id } = await createServiceContainer(client, project, s, { name: cname, number: n, apiVersion, useNetworkAliases: true });
      p.event({ id: `Container ${cname}`, status: 'done', text: 'Created' });
      existing.push({ Id: id, Names: [`/${cname}`], State: 'created' } as ContainerSummary);
    }
    for (const c of existing) {
      if (c.State === 'running') continue;
      const cname = c.Names[0].replace(/^\//, '');
      p.event({ id: `Container ${cname}`, status: 'working', text: 'Starting' });
      await client.call('POST', `/containers/${c.Id}/start`);
      p.event({ id: `Container ${cname}`, status: 'done', text: 'Started' });
    }
  }
}

/** compose's waitDependencies for one service: service_healthy, service_completed_successfully. */
export async function waitDependencies(client: ApiClient, project: Project, dependant: string, p: Progress, timeoutMs = 0): Promise<void> {
  const deps = project.services[dependant]?.dependsOn ?? {};
  const start = Date.now();
  await Promise.all(Object.entries(deps).map(async ([dep, cfg]) => {
    if (cfg.condition === 'service_started' || !project.services[dep] || serviceScale(project.services[dep]) === 0) return;
    const waitingFor = (await getContainers(client, project.name, 'include', true, [dep])).filter((c) => !isOneOff(c));
    if (waitingFor.length === 0) {
      if (cfg.required) throw new ComposeError(`${dependant} is missing dependency ${dep}`);
      return;
    }
    for (const c of waitingFor) p.event({ id: `Container ${c.Names[0].replace(/^\//, '')}`, status: 'working', text: 'Waiting' });
    for (;;) {
      await new Promise((r) => setTimeout(r, 500));
      if (timeoutMs > 0 && Date.now() - start > timeoutMs) throw new ComposeError(`timeout waiting for dependency ${dep}`);
      const states = await Promise.all(waitingFor.map((c) => client.json<Inspected>('GET', `/containers/${c.Id}/json`)));
      if (cfg.condition === 'service_healthy') {
        let healthy = true;
        for (const st of states) {
          const n = st.Name.slice(1);
          const fail = (m: string) => {
            if (!cfg.required) return undefined;
            return new ComposeError(`dependency failed to start: ${m}`);
          };
          if (st.State.Status === 'exited') { const e = fail(`container ${n} exited (${st.State.ExitCode})`); if (e) throw e; return; }
          if (!st.State.Health) { const e = fail(`container ${n} has no healthcheck configured`); if (e) throw e; return; }
          if (st.State.Health.Status === 'unhealthy') { const e = fail(`container ${n} is unhealthy`); if (e) throw e; return; }
          if (st.State.Health.Status !== 'healthy') healthy = false;
        }
        if (healthy) {
          for (const c of waitingFor) p.event({ id: `Container ${c.Names[0].replace(/^\//, '')}`, status: 'done', text: 'Healthy' });
          return;
        }
      } else if (cfg.condition === 'service_completed_successfully') {
        const exited = states.find((st) => st.State.Status === 'exited');
        if (exited) {
          if (exited.State.ExitCode === 0) return;
          const msg = `${JSON.stringify(dep)} didn't complete successfully: exit ${exited.State.ExitCode}`;
          if (!cfg.required) return;
          throw new ComposeError(`service ${msg}`);
        }
      } else return;
    }
  }));
}
