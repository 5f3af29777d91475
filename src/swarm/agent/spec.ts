// A swarm task as a container: its name, its labels and the /containers/create body, from the
// task's ContainerSpec, as moby's executor builds them (daemon/cluster/executor/container,
// container.go: name(), labels(), config(), hostConfig()). Pure, so the whole translation is one
// table-driven unit test.
//
// Worked example: task t1 of service web (s1), slot 2, on node n1,
//   Spec: { ContainerSpec: { Image: 'busybox', Args: ['sleep', '60'], StopGracePeriod: 5e9 },
//           Resources: { Limits: { MemoryBytes: 64 << 20 } } }
//   → name 'web.2.t1'
//   → { Image: 'busybox:latest', Cmd: ['sleep', '60'], StopTimeout: 5, Labels: { 'com.docker.swarm.task.id': 't1', ... },
//       HostConfig: { Memory: 67108864, RestartPolicy: { Name: 'no' }, ... } }
//
// The wire shapes of ContainerSpec, Resources and the endpoint's port configs (spec: TaskSpec,
// EndpointPortConfig) are typed here rather than in api/types/swarm.ts while only the agent reads
// them; the task carries them through TaskSpec's index signature.
import { normalizeTagged } from '../../common/reference.ts';
import type { ContainerCreateBody, HealthConfig, HostConfig, MountSpec, Ulimit } from '../../api/types/container.ts';
import { GWBRIDGE_NETWORK, type NetworkAttachment, type Task } from '../../api/types/swarm.ts';

export interface ContainerSpec {
  Image?: string;
  Labels?: Record<string, string>;
  Command?: string[];
  Args?: string[];
  Hostname?: string;
  Env?: string[];
  Dir?: string;
  User?: string;
  Groups?: string[];
  Init?: boolean | null;
  TTY?: boolean;
  OpenStdin?: boolean;
  ReadOnly?: boolean;
  Mounts?: MountSpec[];
  StopSignal?: string;
  /** Nanoseconds. */
  StopGracePeriod?: number;
  /** Note the wire spelling: ContainerSpec has HealthCheck, ContainerConfig Healthcheck. */
  HealthCheck?: HealthConfig;
  /** hosts(5) lines: "IP_address canonical_hostname [aliases...]". */
  Hosts?: string[];
  DNSConfig?: { Nameservers?: string[]; Search?: string[]; Options?: string[] };
  Sysctls?: Record<string, string>;
  CapabilityAdd?: string[];
  CapabilityDrop?: string[];
  Ulimits?: Ulimit[];
  [k: string]: unknown;
}

export interface ResourceLimits { NanoCPUs?: number; MemoryBytes?: number; Pids?: number }

export interface EndpointPortConfig {
  Name?: string;
  Protocol?: 'tcp' | 'udp' | 'sctp';
  TargetPort?: number;
  PublishedPort?: number;
  PublishMode?: 'ingress' | 'host';
}

/** PortStatus as the API reports it on a task (spec: PortStatus). */
export interface PortStatus { Ports?: EndpointPortConfig[] }

/** The parts of a task the agent reads, typed. */
export function containerSpecOf(task: Task): ContainerSpec {
  return (task.Spec.ContainerSpec ?? {}) as ContainerSpec;
}

function limitsOf(task: Task): ResourceLimits | undefined {
  return (task.Spec.Resources as { Limits?: ResourceLimits } | undefined)?.Limits;
}

/** The endpoint's ports (task.Endpoint.Spec.Ports; the dispatcher copies the service's). */
export function endpointPortsOf(task: Task): EndpointPortConfig[] {
  const ep = task.Endpoint as { Spec?: { Ports?: EndpointPortConfig[] | null } } | undefined;
  return ep?.Spec?.Ports ?? [];
}

/**
 * `<service>.<slot>.<task>`; a global task has no slot and takes its node's ID instead
 * (swarmkit's naming.Task, moby's containerConfig.name).
 */
export function taskContainerName(task: Task, serviceName: string): string {
  const slot = task.Slot ? String(task.Slot) : (task.NodeID ?? '');
  return `${serviceName}.${slot}.${task.ID}`;
}

/** The task's addresses on cluster networks (the leader's allocation). */
export const attachmentsOf = (t: Task): NetworkAttachment[] => (Array.isArray(t.NetworksAttachments) ? t.NetworksAttachments : []);

export const TASK_ID_LABEL = 'com.docker.swarm.task.id';

/**
 * The spec's labels, then the task's own (Task.Labels, set by the orchestrator), then the system
 * labels, which override both (moby's containerConfig.labels).
 */
export function taskLabels(task: Task, serviceName: string): Record<string, string> {
  const labels: Record<string, string> = { ...(containerSpecOf(task).Labels ?? {}), ...((task.Labels as Record<string, string> | undefined) ?? {}) };
  Object.assign(labels, {
    'com.docker.swarm.node.id': task.NodeID ?? '',
    'com.docker.swarm.service.id': task.ServiceID,
    'com.docker.swarm.service.name': serviceName,
    'com.docker.swarm.task': '',
    [TASK_ID_LABEL]: task.ID,
    'com.docker.swarm.task.name': taskContainerName(task, serviceName),
  });
  return labels;
}

/**
 * The image reference the container is created from: the familiar form with `:latest` added
 * when neither tag nor digest is given (moby's image(): FamiliarString(TagNameOnly(ref))); a
 * reference that does not parse is passed on as is, for create to refuse in docker's words.
 */
export function taskImage(raw: string): string {
  try { return normalizeTagged(raw).familiar(); } catch { return raw; }
}

function portKey(p: EndpointPortConfig): string {
  return `${p.TargetPort}/${(p.Protocol ?? 'tcp').toLowerCase()}`;
}

/** The ports published in host mode; ingress-mode ports go through the routing mesh (not here). */
export function hostModePorts(task: Task): EndpointPortConfig[] {
  return endpointPortsOf(task).filter((p) => p.PublishMode === 'host' && p.TargetPort);
}

/** The /containers/create body of the task's container. */
export function containerCreateBody(task: Task, serviceName: string): ContainerCreateBody {
  const s = containerSpecOf(task);
  const body: ContainerCreateBody = {
    Image: taskImage(s.Image ?? ''),
    Labels: taskLabels(task, serviceName),
  };
  // Command replaces the image's whole invocation (Entrypoint, with Args as its Cmd); Args alone
  // are the arguments of the image's entrypoint.
  if (s.Command?.length) {
    body.Entrypoint = [...s.Command];
    body.Cmd = [...(s.Args ?? [])];
  } else if (s.Args?.length) {
    body.Cmd = [...s.Args];
  }
  if (s.Env?.length) body.Env = [...s.Env];
  if (s.Dir) body.WorkingDir = s.Dir;
  if (s.User) body.User = s.User;
  if (s.Hostname) body.Hostname = s.Hostname;
  if (s.TTY) body.Tty = true;
  if (s.OpenStdin) body.OpenStdin = true;
  if (s.StopSignal) body.StopSignal = s.StopSignal;
  if (s.StopGracePeriod !== undefined && s.StopGracePeriod !== null) body.StopTimeout = stopTimeoutSeconds(s.StopGracePeriod);
  if (s.HealthCheck) body.Healthcheck = { ...s.HealthCheck };
  const ports = hostModePorts(task);
  if (ports.length) body.ExposedPorts = Object.fromEntries(ports.map((p) => [portKey(p), {}]));

  // The swarm restarts tasks (with new tasks), never the engine: restart policy 'no'.
  const hc: HostConfig = { RestartPolicy: { Name: 'no' } };
  const limits = limitsOf(task);
  if (limits?.NanoCPUs && limits.NanoCPUs > 0) hc.NanoCpus = limits.NanoCPUs;
  if (limits?.MemoryBytes && limits.MemoryBytes > 0) hc.Memory = limits.MemoryBytes;
  if (limits?.Pids && limits.Pids > 0) hc.PidsLimit = limits.Pids;
  if (s.Groups?.length) hc.GroupAdd = [...s.Groups];
  if (s.Mounts?.length) hc.Mounts = s.Mounts.map((m) => ({ ...m }));
  if (s.ReadOnly) hc.ReadonlyRootfs = true;
  if (s.Init !== undefined && s.Init !== null) hc.Init = s.Init;
  if (s.Sysctls && Object.keys(s.Sysctls).length) hc.Sysctls = { ...s.Sysctls };
  if (s.CapabilityAdd?.length) hc.CapAdd = [...s.CapabilityAdd];
  if (s.CapabilityDrop?.length) hc.CapDrop = [...s.CapabilityDrop];
  if (s.Ulimits?.length) hc.Ulimits = s.Ulimits.map((u) => ({ ...u }));
  if (s.DNSConfig) {
    if (s.DNSConfig.Nameservers?.length) hc.Dns = [...s.DNSConfig.Nameservers];
    if (s.DNSConfig.Search?.length) hc.DnsSearch = [...s.DNSConfig.Search];
    if (s.DNSConfig.Options?.length) hc.DnsOptions = [...s.DNSConfig.Options];
  }
  // hosts(5) "IP name [aliases]" becomes ExtraHosts' "name:IP"; aliases are dropped, as moby does.
  const extra = (s.Hosts ?? []).map((h) => h.trim().split(/\s+/)).filter((f) => f.length > 1).map((f) => `${f[1]}:${f[0]}`);
  if (extra.length) hc.ExtraHosts = extra;
  if (ports.length) {
    hc.PortBindings = Object.fromEntries(ports.map((p) => [portKey(p), [p.PublishedPort ? { HostIp: '', HostPort: String(p.PublishedPort) } : { HostIp: '', HostPort: '' }]]));
  }
  // Cluster networks: an endpoint on each at the address the leader allocated, and the node's
  // docker_gwbridge as the network mode (eth0: the way out and the embedded DNS's address), as
  // moby's executor joins a task's sandbox to docker_gwbridge beside its overlays.
  const atts = attachmentsOf(task).filter((a) => a.Addresses?.[0]);
  if (atts.length) {
    hc.NetworkMode = GWBRIDGE_NETWORK;
    body.NetworkingConfig = {
      EndpointsConfig: {
        [GWBRIDGE_NETWORK]: {},
        ...Object.fromEntries(atts.map((a) => [a.Network.Spec.Name, {
          NetworkID: a.Network.ID, IPAMConfig: { IPv4Address: a.Addresses[0].split('/')[0] }, ...(a.Aliases?.length ? { Aliases: [...a.Aliases] } : {}),
        }])),
      },
    };
  }
  const logDriver = task.Spec.LogDriver as { Name?: string; Options?: Record<string, string> } | undefined;
  if (logDriver?.Name) hc.LogConfig = { Type: logDriver.Name, Config: { ...(logDriver.Options ?? {}) } };
  body.HostConfig = hc;
  return body;
}

/** Docker's default stop grace period (swarmkit's and the engine's): 10 s. */
export const DEFAULT_STOP_GRACE_SECONDS = 10;

/** StopGracePeriod (ns) in whole seconds, rounded up so a sub-second grace is not zero. */
export function stopTimeoutSeconds(ns: number | undefined): number {
  if (ns === undefined || ns === null || !(ns >= 0)) return DEFAULT_STOP_GRACE_SECONDS;
  return Math.ceil(ns / 1e9);
}

/**
 * PortStatus from the container's published ports (inspect's NetworkSettings.Ports) for the
 * task's host-mode ports: the host port really bound, which is how a task published on a random
 * port (PublishedPort 0) reports the one it got (moby's parsePortStatus).
 */
export function portStatusOf(task: Task, bound: Record<string, { HostIp?: string; HostPort?: string }[] | null> | undefined): PortStatus | undefined {
  const want = hostModePorts(task);
  if (!want.length || !bound) return undefined;
  const out: EndpointPortConfig[] = [];
  for (const p of want) {
    for (const b of bound[portKey(p)] ?? []) {
      const hostPort = Number(b.HostPort);
      if (!hostPort) continue;
      // One binding per address family is listed by the engine; report each port once.
      if (out.some((o) => o.TargetPort === p.TargetPort && o.Protocol === (p.Protocol ?? 'tcp') && o.PublishedPort === hostPort)) continue;
      out.push({ ...(p.Name ? { Name: p.Name } : {}), Protocol: p.Protocol ?? 'tcp', TargetPort: p.TargetPort, PublishedPort: hostPort, PublishMode: 'host' });
    }
  }
  return out.length ? { Ports: out } : undefined;
}
