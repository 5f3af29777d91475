// A ServiceSpec checked and completed as dockerd and swarmkit do on `POST /services/create` and
// `/services/{id}/update` (moby daemon/cluster/convert/service.go, then swarmkit's
// controlapi/service.go validateServiceSpec), with their texts: the conversion's errors are bare
// ("must specify only one service mode"), swarmkit's travel as gRPC statuses and reach the user as
// "rpc error: code = InvalidArgument desc = …", which is what `docker service create` prints.
// What berth cannot run yet (jobs) is a 501
// that says so, after every check dockerd would make.
//
//   normalizeServiceSpec({ Name: 'web', TaskTemplate: { ContainerSpec: { Image: 'nginx' } } })
//     → { Name: 'web', TaskTemplate: { ContainerSpec: { Image: 'nginx' }, ForceUpdate: 0, Runtime: 'container' },
//         Mode: { Replicated: { Replicas: 1 } } }            (the spec as the cluster stores it)
//   withDefaults(stored)  → what `GET /services/{id}?insertDefaults=true` shows (swarmkit's InterpolateService)
//
// Durations are nanoseconds, as on the wire.
import { EngineError, invalid, notImplemented } from '../../common/errors.ts';
import { generateName } from '../../common/names.ts';
import { parseReference } from '../../common/reference.ts';
import type { RestartPolicy, Service, ServiceSpec, TaskSpec, UpdateConfig } from '../../api/types/swarm.ts';
import { parseConstraints } from '../scheduler/constraint.ts';
import { validateRefs } from '../secrets/refs.ts';

/** swarmkit's errors as dockerd passes them on: the gRPC status's text. */
const rpcInvalid = (desc: string) => invalid(`rpc error: code = InvalidArgument desc = ${desc}`);
const rpcUnimplemented = (desc: string) => notImplemented(`rpc error: code = Unimplemented desc = ${desc}`);

/** What berth's swarm cannot do yet: 501, saying what and when. */
export const NOT_YET_JOBS = 'not yet: job services (replicated-job, global-job) are not supported by berth\'s swarm';

// swarmkit's isValidDNSName.
const DNS_NAME = /^[a-zA-Z0-9](?:[-_]*[A-Za-z0-9]+)*$/;
const MS = 1_000_000;
const SECOND = 1_000_000_000;

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Go's decoder refusing a value for a uint64 field (negative, fractional, not a number):
 * `json: cannot unmarshal number -1 into Go struct field ReplicatedService.Mode.Replicated.Replicas of type uint64`.
 */
function checkUint(v: unknown, struct: string, path: string): void {
  if (v === undefined || v === null) return;
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0) return;
  const what = typeof v === 'number' ? `number ${v}` : typeof v === 'string' ? 'string' : Array.isArray(v) ? 'array' : typeof v === 'boolean' ? 'bool' : 'object';
  throw invalid(`json: cannot unmarshal ${what} into Go struct field ${struct}.${path} of type uint64`);
}

/** A duration field (int64 nanoseconds); undefined when absent. */
function duration(v: unknown, struct: string, path: string): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'number' && Number.isInteger(v)) return v;
  const what = typeof v === 'number' ? `number ${v}` : typeof v === 'string' ? 'string' : 'object';
  throw invalid(`json: cannot unmarshal ${what} into Go struct field ${struct}.${path} of type time.Duration`);
}

/** moby's %g for the cpu message (0.0005, 0.001). */
const goFloat = (n: number): string => String(n).replace(/e([+-])(\d)$/, 'e$10$2');

function validateMode(spec: ServiceSpec): void {
  const m = spec.Mode ?? {};
  if (!isObj(m)) throw invalid('json: cannot unmarshal into Go struct field ServiceSpec.Mode of type swarm.ServiceMode');
  const given = ['Global', 'Replicated', 'ReplicatedJob', 'GlobalJob'].filter((k) => m[k] !== undefined && m[k] !== null);
  if (given.length > 1) throw invalid('must specify only one service mode');
  if (isObj(m.Replicated)) checkUint(m.Replicated.Replicas, 'ReplicatedService', 'Mode.Replicated.Replicas');
}

function validateRestart(rp: RestartPolicy | undefined): void {
  if (rp === undefined || rp === null) return;
  if (rp.Condition !== undefined && (rp.Condition as string) !== '' && !['none', 'on-failure', 'any'].includes(rp.Condition)) {
    throw invalid(`invalid RestartCondition: ${JSON.stringify(rp.Condition)}`);
  }
  checkUint(rp.MaxAttempts, 'RestartPolicy', 'TaskTemplate.RestartPolicy.MaxAttempts');
  if ((duration(rp.Delay, 'RestartPolicy', 'TaskTemplate.RestartPolicy.Delay') ?? 0) < 0) throw rpcInvalid('TaskSpec: restart-delay cannot be negative');
  if ((duration(rp.Window, 'RestartPolicy', 'TaskTemplate.RestartPolicy.Window') ?? 0) < 0) throw rpcInvalid('TaskSpec: restart-window cannot be negative');
}

function validateUpdateConfig(uc: UpdateConfig | undefined, field: 'UpdateConfig' | 'RollbackConfig'): void {
  if (uc === undefined || uc === null) return;
  checkUint(uc.Parallelism, 'UpdateConfig', `${field}.Parallelism`);
  const fa = uc.FailureAction as string | undefined;
  if (fa !== undefined && fa !== '' && !['pause', 'continue', 'rollback'].includes(fa)) throw invalid(`unrecognized update failure action ${fa}`);
  const order = uc.Order as string | undefined;
  if (order !== undefined && order !== '' && !['stop-first', 'start-first'].includes(order)) throw invalid(`unrecognized update order ${order}`);
  duration(uc.Delay, 'UpdateConfig', `${field}.Delay`);
  duration(uc.Monitor, 'UpdateConfig', `${field}.Monitor`);
  if (uc.MaxFailureRatio !== undefined && typeof uc.MaxFailureRatio !== 'number') throw invalid(`json: cannot unmarshal into Go struct field UpdateConfig.${field}.MaxFailureRatio of type float32`);
}

/** swarmkit's validateUpdate (its ranges; it checks the update config only, not the rollback one). */
function validateUpdateRanges(uc: UpdateConfig | undefined): void {
  if (uc === undefined || uc === null) return;
  if ((uc.Delay ?? 0) < 0) throw rpcInvalid('TaskSpec: update-delay cannot be negative');
  if ((uc.Monitor ?? 0) < 0) throw rpcInvalid('TaskSpec: update-monitor cannot be negative');
  const r = uc.MaxFailureRatio ?? 0;
  if (r < 0 || r > 1) throw rpcInvalid('TaskSpec: update-maxfailureratio cannot be less than 0 or bigger than 1');
}

function validateResources(r: unknown): void {
  if (!isObj(r)) return;
  const nano = typeof r.NanoCPUs === 'number' ? r.NanoCPUs : 0;
  if (nano !== 0 && nano < 1e6) throw rpcInvalid(`invalid cpu value ${goFloat(nano / 1e9)}: Must be at least ${goFloat(1e6 / 1e9)}`);
  const mem = typeof r.MemoryBytes === 'number' ? r.MemoryBytes : 0;
  if (mem !== 0 && mem < 4 * 1024 * 1024) throw rpcInvalid(`invalid memory value ${mem}: Must be at least 4MiB`);
}

function validateContainerSpec(c: Obj): void {
  const image = c.Image;
  if (typeof image !== 'string' || image === '') throw rpcInvalid('ContainerSpec: image reference must be provided');
  try {
    parseReference(image);
  } catch {
    throw rpcInvalid(`ContainerSpec: ${JSON.stringify(image)} is not a valid repository/tag`);
  }
  const targets = new Set<string>();
  for (const m of Array.isArray(c.Mounts) ? c.Mounts : []) {
    const t = isObj(m) ? String(m.Target ?? '') : '';
    if (targets.has(t)) throw rpcInvalid(`ContainerSpec: duplicate mount point: ${t}`);
    targets.add(t);
  }
  const hc = c.Healthcheck;
  if (isObj(hc)) {
    for (const k of ['Interval', 'Timeout', 'StartPeriod', 'StartInterval']) {
      const d = duration(hc[k], 'HealthConfig', `TaskTemplate.ContainerSpec.Healthcheck.${k}`) ?? 0;
      if (d !== 0 && d < MS) throw rpcInvalid(`ContainerSpec: ${k} in HealthConfig cannot be less than 1ms`);
    }
    if (typeof hc.Retries === 'number' && hc.Retries < 0) throw rpcInvalid('ContainerSpec: Retries in HealthConfig cannot be negative');
  }
}

function validateTaskSpec(t: TaskSpec): void {
  validateResources(isObj(t.Resources) ? t.Resources.Limits : undefined);
  validateResources(isObj(t.Resources) ? t.Resources.Reservations : undefined);
  validateRestart(t.RestartPolicy);
  const constraints = t.Placement?.Constraints;
  if (Array.isArray(constraints)) {
    try {
      parseConstraints(constraints);
    } catch (e) {
      // swarmkit returns the parser's plain error; gRPC calls it Unknown.
      throw invalid(`rpc error: code = Unknown desc = ${(e as Error).message}`);
    }
  }
}

/** The task runtime (moby's convert): container (also when empty), else refused. */
function validateRuntime(t: TaskSpec): void {
  const rt = t.Runtime ?? '';
  if (rt === 'container' || rt === '') {
    // A container runtime without a ContainerSpec cannot become a task.
    if (!isObj(t.ContainerSpec)) throw invalid('mismatched Runtime and *Spec fields');
    return;
  }
  if (rt === 'plugin') throw notImplemented('runtime type "plugin" only supported in experimental');
  throw invalid('unsupported runtime');
}

interface PortConfig { Name?: string; Protocol?: string; TargetPort?: number; PublishedPort?: number; PublishMode?: string }

function validateEndpoint(ep: unknown): PortConfig[] {
  if (ep === undefined || ep === null) return [];
  if (!isObj(ep)) throw invalid('json: cannot unmarshal into Go struct field ServiceSpec.EndpointSpec of type swarm.EndpointSpec');
  const mode = (ep.Mode ?? '') as string;
  if (mode !== '' && mode !== 'vip' && mode !== 'dnsrr') throw invalid(`invalid resolution mode: ${JSON.stringify(mode)}`);
  const ports = (Array.isArray(ep.Ports) ? ep.Ports : []) as PortConfig[];
  for (const p of ports) {
    checkUint(p.TargetPort, 'PortConfig', 'EndpointSpec.Ports.TargetPort');
    checkUint(p.PublishedPort, 'PortConfig', 'EndpointSpec.Ports.PublishedPort');
  }
  return ports;
}

/** swarmkit's validateEndpointSpec: ingress ports need VIP mode; a published port/protocol once. */
function validateEndpointRanges(ep: ServiceSpec['EndpointSpec'], ports: readonly PortConfig[]): void {
  const mode = isObj(ep) ? ep.Mode ?? '' : '';
  const seen = new Set<string>();
  for (const p of ports) {
    const publishMode = p.PublishMode || 'ingress';
    if (mode === 'dnsrr' && publishMode === 'ingress') throw rpcInvalid('EndpointSpec: port published with ingress mode can\'t be used with dnsrr mode');
    if (!p.PublishedPort) continue;
    const key = `${p.PublishedPort}/${p.Protocol || 'tcp'}`;
    if (seen.has(key)) throw rpcInvalid('EndpointSpec: duplicate published ports provided');
    seen.add(key);
  }
}

/**
 * Checks a spec as dockerd does on create and returns it as the cluster stores it (what
 * `docker service inspect` shows): a generated name when none was given (moby's convert does
 * that), the mode defaulted to one replica, the container runtime and ForceUpdate spelled out,
 * RestartPolicy's condition, UpdateConfig's failure action and order, and EndpointSpec's mode
 * filled when their objects are present. Throws an EngineError with dockerd's text.
 */
export function normalizeServiceSpec(input: ServiceSpec, o: { generateName?: () => string } = {}): ServiceSpec {
  if (!isObj(input)) throw invalid('json: cannot unmarshal into Go value of type swarm.ServiceSpec');
  const spec = structuredClone(input);
  // The conversion (moby's convert.ServiceSpecToGRPC) comes first.
  if (spec.Name === undefined || spec.Name === '') spec.Name = (o.generateName ?? generateName)();
  const t: TaskSpec = isObj(spec.TaskTemplate) ? spec.TaskTemplate : {};
  spec.TaskTemplate = t;
  validateRuntime(t);
  validateRestart(t.RestartPolicy);
  validateUpdateConfig(spec.UpdateConfig, 'UpdateConfig');
  validateUpdateConfig(spec.RollbackConfig, 'RollbackConfig');
  const ports = validateEndpoint(spec.EndpointSpec);
  validateMode(spec);
  // swarmkit's validateServiceSpec: annotations, task spec, mode, update, endpoint.
  if (typeof spec.Name !== 'string' || !DNS_NAME.test(spec.Name)) throw rpcInvalid('name must be valid as a DNS name component');
  if (spec.Name.length > 63) throw rpcInvalid('name must be 63 characters or fewer');
  validateTaskSpec(t);
  validateContainerSpec(t.ContainerSpec as Obj);
  // The references' shape; that the objects exist is the store's check (secret-objects.ts).
  validateRefs(t.ContainerSpec);
  validateUpdateRanges(spec.UpdateConfig);
  validateEndpointRanges(spec.EndpointSpec, ports);
  // What berth does not run yet, once the spec is otherwise valid.
  const m = spec.Mode ?? {};
  if (m.ReplicatedJob || m.GlobalJob) throw notImplemented(NOT_YET_JOBS);

  // The spec as stored.
  if (m.Global) spec.Mode = { Global: {} };
  else spec.Mode = { Replicated: { Replicas: isObj(m.Replicated) && typeof m.Replicated.Replicas === 'number' ? m.Replicated.Replicas : 1 } };
  t.Runtime = 'container';
  t.ForceUpdate = t.ForceUpdate ?? 0;
  if (isObj(t.RestartPolicy) && !t.RestartPolicy.Condition) t.RestartPolicy.Condition = 'any';
  for (const uc of [spec.UpdateConfig, spec.RollbackConfig]) {
    if (!isObj(uc)) continue;
    if (!uc.FailureAction) uc.FailureAction = 'pause';
    if (!uc.Order) uc.Order = 'stop-first';
  }
  if (isObj(spec.EndpointSpec) && !spec.EndpointSpec.Mode) spec.EndpointSpec.Mode = 'vip';
  return spec;
}

/**
 * An update's spec against the service it replaces: the create checks, then swarmkit's update
 * rules: the name is fixed ("renaming services is not supported", so an update without a name
 * fails too, as on Docker, where the conversion names it at random), and so is the mode's kind.
 */
export function normalizeServiceUpdate(current: Pick<Service, 'Spec'>, input: ServiceSpec, o: { generateName?: () => string } = {}): ServiceSpec {
  const spec = normalizeServiceSpec(input, o);
  if (spec.Name !== current.Spec.Name) throw rpcUnimplemented('renaming services is not supported');
  const kind = (s: ServiceSpec) => (s.Mode?.Global ? 'global' : 'replicated');
  if (kind(spec) !== kind(current.Spec)) throw rpcUnimplemented('service mode change is not allowed');
  return spec;
}

/** `rollback=previous` on a service without a PreviousSpec (swarmkit's FailedPrecondition, a 400 through dockerd). */
export function noPreviousSpec(serviceId: string): EngineError {
  return invalid(`rpc error: code = FailedPrecondition desc = service ${serviceId} does not have a previous spec`);
}

/** swarmkit's defaults.Service for an update or rollback config. */
const DEFAULT_UPDATE: Required<Pick<UpdateConfig, 'Parallelism' | 'Delay' | 'FailureAction' | 'Monitor' | 'MaxFailureRatio' | 'Order'>> = {
  Parallelism: 1, Delay: 0, FailureAction: 'pause', Monitor: 5 * SECOND, MaxFailureRatio: 0, Order: 'stop-first',
};

/**
 * The spec with the defaults swarmkit's InterpolateService fills, in the API's shape (what
 * `GET /services/{id}?insertDefaults=true` returns and `docker service update --rollback` and
 * `docker stack deploy` compare against): StopGracePeriod 10s and an empty DNSConfig in the
 * ContainerSpec, empty Resources and Placement, RestartPolicy any/5s, UpdateConfig and
 * RollbackConfig (parallelism 1, pause, monitor 5s, stop-first; a Monitor of 0 becomes 5s),
 * ForceUpdate 0, Runtime container, EndpointSpec mode vip. Pure: the argument is not changed.
 */
export function withDefaults(input: ServiceSpec): ServiceSpec {
  const spec = structuredClone(input);
  const t: TaskSpec = isObj(spec.TaskTemplate) ? spec.TaskTemplate : {};
  spec.TaskTemplate = t;
  if (isObj(t.ContainerSpec)) {
    const c = t.ContainerSpec;
    if (c.StopGracePeriod === undefined) c.StopGracePeriod = 10 * SECOND;
    if (c.DNSConfig === undefined) c.DNSConfig = {};
  }
  if (t.Resources === undefined) t.Resources = {};
  if (t.RestartPolicy === undefined) t.RestartPolicy = { Condition: 'any', Delay: 5 * SECOND, MaxAttempts: 0 };
  else if (t.RestartPolicy.Delay === undefined) t.RestartPolicy = { ...t.RestartPolicy, Delay: 5 * SECOND };
  if (t.Placement === undefined) t.Placement = {};
  if (t.ForceUpdate === undefined) t.ForceUpdate = 0;
  if (t.Runtime === undefined) t.Runtime = 'container';
  for (const k of ['UpdateConfig', 'RollbackConfig'] as const) {
    const uc = spec[k];
    if (uc === undefined || uc === null) spec[k] = { ...DEFAULT_UPDATE };
    else if (!uc.Monitor) spec[k] = { ...uc, Monitor: DEFAULT_UPDATE.Monitor };
  }
  if (!isObj(spec.EndpointSpec)) spec.EndpointSpec = { Mode: 'vip' };
  else if (!spec.EndpointSpec.Mode) spec.EndpointSpec = { ...spec.EndpointSpec, Mode: 'vip' };
  if (spec.Mode === undefined) spec.Mode = { Replicated: { Replicas: 1 } };
  return spec;
}
