// The request bodies of the swarm verbs, built from docker CLI 28's flags exactly as it builds
// them (the oracle: bodies the docker CLI posted to a recording server, kept as literals in
// swarm-spec.test.ts). Pure: no client, no output. Problems are SpecError (a flag's value,
// reported as pflag's `invalid argument "V" for "F" flag: REASON`, exit 125) or a plain
// StatusError (docker's runtime checks, exit 1).
//
//   serviceCreateSpec({ name: 'web', replicas: 3, publish: ['8080:80'] }, ['busybox', 'httpd', '-f'])
//     → { Name: 'web', Labels: {}, TaskTemplate: { ContainerSpec: { Image: 'busybox:latest',
//         Args: ['httpd', '-f'], Init: false, DNSConfig: {} }, … }, Mode: { Replicated: { Replicas: 3 } },
//         EndpointSpec: { Mode: 'vip', Ports: [{ Protocol: 'tcp', TargetPort: 80, PublishedPort: 8080,
//         PublishMode: 'ingress' }] } }
//   serviceUpdateSpec(current.Spec, { envAdd: ['C=3'], force: true })   → the edited copy
import type { NodeSpec, ServiceSpec, SwarmInitRequest, SwarmJoinRequest, SwarmSpec, UpdateConfig } from '../../api/types/swarm.ts';
import { parseBytes, parseCpus, parseDuration } from '../../common/units.ts';
import { parsePortSpec } from '../../common/port-spec.ts';
import { normalizeTagged } from '../../common/reference.ts';
import { splitShellWords } from '../../compose/shellwords.ts';
import { StatusError } from '../context.ts';
import { parseMount } from '../run-config.ts';
import { parseKeyValueFile } from '../env-file.ts';
import { kvMap } from '../args.ts';

/** A bad flag value: main turns it into pflag's message with the usage (exit 125). */
export class SpecError extends Error {
  readonly flag: string;
  readonly value: string;
  constructor(flag: string, value: string, reason: string) {
    super(reason);
    this.flag = flag;
    this.value = value;
  }
}

/** The service flags shared by create and update (values as args.ts stores them). */
export interface ServiceFlags {
  name?: string;
  mode?: string;
  replicas?: string;
  replicasMaxPerNode?: string;
  publish?: string[];
  env?: string[];
  envFile?: string[];
  label?: string[];
  containerLabel?: string[];
  constraint?: string[];
  placementPref?: string[];
  reserveCpu?: string;
  reserveMemory?: string;
  limitCpu?: string;
  limitMemory?: string;
  limitPids?: string;
  restartCondition?: string;
  restartDelay?: string;
  restartMaxAttempts?: string;
  restartWindow?: string;
  updateParallelism?: string;
  updateDelay?: string;
  updateFailureAction?: string;
  updateMonitor?: string;
  updateMaxFailureRatio?: string;
  updateOrder?: string;
  rollbackParallelism?: string;
  rollbackDelay?: string;
  rollbackFailureAction?: string;
  rollbackMonitor?: string;
  rollbackMaxFailureRatio?: string;
  rollbackOrder?: string;
  mount?: string[];
  workdir?: string;
  user?: string;
  hostname?: string;
  entrypoint?: string;
  healthCmd?: string;
  healthInterval?: string;
  healthTimeout?: string;
  healthRetries?: string;
  healthStartPeriod?: string;
  healthStartInterval?: string;
  healthcheck?: boolean;
  stopGracePeriod?: string;
  stopSignal?: string;
  init?: boolean;
  readOnly?: boolean;
  tty?: boolean;
  endpointMode?: string;
  network?: string[];
  // update only
  image?: string;
  args?: string;
  force?: boolean;
  envAdd?: string[];
  envRm?: string[];
  labelAdd?: string[];
  labelRm?: string[];
  containerLabelAdd?: string[];
  containerLabelRm?: string[];
  constraintAdd?: string[];
  constraintRm?: string[];
  placementPrefAdd?: string[];
  placementPrefRm?: string[];
  networkAdd?: string[];
  networkRm?: string[];
  publishAdd?: string[];
  publishRm?: string[];
  mountAdd?: string[];
  mountRm?: string[];
  // secrets and configs (create: --secret/--config; update: the -add/-rm forms)
  secret?: string[];
  config?: string[];
  secretAdd?: string[];
  secretRm?: string[];
  configAdd?: string[];
  configRm?: string[];
}

type Json = Record<string, any>;

// ---------------------------------------------------------------------------------------------
// Value parsers (docker's opts types)

/** strconv.ParseUint(v, 10, 64): the value or a Go-worded error. */
function parseUint(flag: string, v: string): number {
  if (!/^\d+$/.test(v)) throw new SpecError(flag, v, `strconv.ParseUint: parsing ${JSON.stringify(v)}: invalid syntax`);
  const n = Number(v);
  if (!Number.isSafeInteger(n)) throw new SpecError(flag, v, `strconv.ParseUint: parsing ${JSON.stringify(v)}: value out of range`);
  return n;
}

function parseFloat64(flag: string, v: string): number {
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(v)) throw new SpecError(flag, v, `strconv.ParseFloat: parsing ${JSON.stringify(v)}: invalid syntax`);
  return Number(v);
}

function duration(flag: string, v: string): number {
  try {
    return parseDuration(v);
  } catch (e) {
    throw new SpecError(flag, v, (e as Error).message);
  }
}

function bytes(flag: string, v: string): number {
  try {
    return parseBytes(v);
  } catch (e) {
    throw new SpecError(flag, v, (e as Error).message);
  }
}

/** docker's NanoCPUs opt: a decimal number of CPUs. */
function nanoCpus(flag: string, v: string): number {
  try {
    return parseCpus(v);
  } catch (e) {
    throw new SpecError(flag, v, (e as Error).message);
  }
}


/** The key of a `k=v` (or bare `k`) item, for the --*-rm forms. */
const keyOf = (s: string) => (s.includes('=') ? s.slice(0, s.indexOf('=')) : s);

/** ShellCommandOpt (--entrypoint, --args): shell words. */
function shellWords(flag: string, v: string): string[] {
  try {
    return splitShellWords(v);
  } catch (e) {
    throw new SpecError(flag, v, (e as Error).message);
  }
}

/** The image as docker's service create/update sends it without digest pinning: the familiar
 *  name with `:latest` added when it has neither tag nor digest. */
export function serviceImage(image: string): string {
  try {
    return normalizeTagged(image).familiar();
  } catch {
    // docker sends what it cannot parse as typed; the daemon rejects it with its own message.
    return image;
  }
}

/** One --publish value, short (`8080:80`, `80`, `53:53/udp`, `9000-9001:9000-9001`) or long
 *  (`mode=host,target=80,published=8080,protocol=udp`): docker's PortOpt.Set. */
export function parsePublish(value: string, flag = '-p, --publish'): Json[] {
  const bad = (reason: string) => new SpecError(flag, value, reason);
  if (/\w+=\w+(,\w+=\w+)*/.test(value)) {
    const p: Json = {};
    for (const field of value.split(',').filter((f) => f !== '')) {
      const lower = field.toLowerCase();
      const eq = lower.indexOf('=');
      if (eq <= 0) throw bad(`invalid field: ${field}`);
      const key = lower.slice(0, eq);
      const val = lower.slice(eq + 1);
      switch (key) {
        case 'protocol':
          if (!['tcp', 'udp', 'sctp'].includes(val)) throw bad(`invalid protocol value '${val}'`);
          p.Protocol = val;
          break;
        case 'mode':
          if (val !== 'ingress' && val !== 'host') throw bad(`invalid publish mode value (${val}): must be either 'ingress' or 'host'`);
          p.PublishMode = val;
          break;
        case 'target':
        case 'published': {
          const n = /^\d+$/.test(val) ? Number(val) : NaN;
          if (!(n <= 65535)) throw bad(`strconv.ParseUint: parsing ${JSON.stringify(val)}: ${/^\d+$/.test(val) ? 'value out of range' : 'invalid syntax'}`);
          p[key === 'target' ? 'TargetPort' : 'PublishedPort'] = n;
          break;
        }
        default:
          throw bad(`invalid field key: ${key}`);
      }
    }
    if (!p.TargetPort) throw bad("missing mandatory field 'target'");
    return [{ Protocol: p.Protocol ?? 'tcp', TargetPort: p.TargetPort, ...(p.PublishedPort ? { PublishedPort: p.PublishedPort } : {}), PublishMode: p.PublishMode ?? 'ingress' }];
  }
  let mappings;
  try {
    mappings = parsePortSpec(value);
  } catch (e) {
    throw bad((e as Error).message);
  }
  const out: Json[] = [];
  for (const m of mappings) {
    if (m.hostIp) throw bad('hostip is not supported');
    const [port, proto] = m.port.split('/');
    const pc: Json = { Protocol: proto || 'tcp', TargetPort: Number(port) };
    if (m.hostPort) pc.PublishedPort = Number(m.hostPort);
    pc.PublishMode = 'ingress';
    out.push(pc);
  }
  return out;
}

/** One --network: a name, or `name=N,alias=A,alias=B,driver-opt=k=v` (docker's NetworkOpt).
 *  The Target is the name here; the caller swaps in the network's ID as docker does. */
export function parseNetwork(value: string, flag = '--network'): Json {
  if (!value.includes('=')) return { Target: value };
  const n: Json = {};
  for (const field of value.split(',')) {
    const eq = field.indexOf('=');
    if (eq < 0) throw new SpecError(flag, value, `invalid field '${field}' must be a key=value pair`);
    const key = field.slice(0, eq).trim().toLowerCase();
    const val = field.slice(eq + 1).trim();
    if (key === 'name') n.Target = val;
    else if (key === 'alias') (n.Aliases ??= []).push(val);
    else if (key === 'driver-opt') {
      const e2 = val.indexOf('=');
      if (e2 < 0) throw new SpecError(flag, value, `invalid field value for 'driver-opt', must be a key=value pair`);
      (n.DriverOpts ??= {})[val.slice(0, e2)] = val.slice(e2 + 1);
    } else throw new SpecError(flag, value, `invalid field key ${key}`);
  }
  if (!n.Target) throw new SpecError(flag, value, 'network name/id is not specified');
  return n;
}

/** --placement-pref spread=<label> (the only strategy docker knows). */
export function parsePlacementPref(value: string, flag = '--placement-pref'): Json {
  const eq = value.indexOf('=');
  if (eq <= 0) throw new SpecError(flag, value, 'placement preference must be of the format "<strategy>=<arg>"');
  const strategy = value.slice(0, eq);
  if (strategy !== 'spread') throw new SpecError(flag, value, `unsupported placement preference ${strategy} (only spread is supported)`);
  return { Spread: { SpreadDescriptor: value.slice(eq + 1) } };
}

/** --mount (the same csv syntax as `run --mount`), as a SpecError on bad input. */
function mount(flag: string, v: string): Json {
  try {
    return parseMount(v);
  } catch (e) {
    const prefix = `invalid argument "${v}" for "--mount" flag: `;
    const msg = (e as Error).message;
    throw new SpecError(flag, v, msg.startsWith(prefix) ? msg.slice(prefix.length) : msg);
  }
}

/**
 * docker's SecretOpt / ConfigOpt: `name`, or csv `source|src=…,target=…,uid=…,gid=…,mode=…`
 * (mode as strconv.ParseUint base 0: `0400` is octal). The reference's ID is left for the
 * caller to fill from the daemon (resolveObjectRefs), as docker's ParseSecrets does.
 */
export function parseObjectRef(kind: 'secret' | 'config', v: string): Json {
  const flag = `--${kind}`;
  const file: Json = { Name: '', UID: '0', GID: '0', Mode: 0o444 };
  let name = '';
  const fields = v.split(',');
  if (fields.length === 1 && !fields[0]!.includes('=')) {
    name = file.Name = fields[0]!;
  } else {
    for (const field of fields) {
      const eq = field.indexOf('=');
      if (eq <= 0) throw new SpecError(flag, v, `invalid field '${field}' must be a key=value pair`);
      const key = field.slice(0, eq).toLowerCase();
      const val = field.slice(eq + 1);
      if (key === 'source' || key === 'src') name = val;
      else if (key === 'target') file.Name = val;
      else if (key === 'uid') file.UID = val;
      else if (key === 'gid') file.GID = val;
      else if (key === 'mode') {
        const m = /^0[xX][0-9a-fA-F]+$/.test(val) ? parseInt(val.slice(2), 16) : /^0[oO]?[0-7]*$/.test(val) ? parseInt(val.replace(/^0[oO]?/, '') || '0', 8) : /^[1-9][0-9]*$/.test(val) ? Number(val) : NaN;
        if (!Number.isInteger(m) || m > 0xffffffff) throw new SpecError(flag, v, `invalid mode specified: strconv.ParseUint: parsing ${JSON.stringify(val)}: invalid syntax`);
        file.Mode = m;
      } else throw new SpecError(flag, v, `invalid field in ${kind} request: ${key}`);
    }
  }
  if (!name) throw new SpecError(flag, v, 'source is required');
  if (!file.Name) file.Name = name;
  return kind === 'secret' ? { File: file, SecretName: name } : { File: file, ConfigName: name };
}

/**
 * docker's getUpdatedSecrets / getUpdatedConfigs: the references whose name --<kind>-rm names
 * go, the --<kind>-add ones (IDs to resolve) are appended; undefined when neither flag is given.
 */
function editObjectRefs(kind: 'secret' | 'config', refs: Json[] | undefined, add: string[] | undefined, rm: string[] | undefined): Json[] | undefined {
  if (!add?.length && !rm?.length) return undefined;
  const removed = new Set(rm ?? []);
  const nameKey = kind === 'secret' ? 'SecretName' : 'ConfigName';
  return [...(refs ?? []).filter((r) => !removed.has(r[nameKey])), ...(add ?? []).map((a) => parseObjectRef(kind, a))];
}

// ---------------------------------------------------------------------------------------------
// Pieces shared by create and update

const UPDATE_DEFAULTS = { Parallelism: 1, FailureAction: 'pause', Monitor: 5e9, MaxFailureRatio: 0, Order: 'stop-first' };

/** Applies --update-* or --rollback-* (prefix) to `base` (docker's defaults when null);
 *  undefined when none of them is given and there is no base. */
function updateConfig(o: ServiceFlags, prefix: 'update' | 'rollback', base: UpdateConfig | undefined): UpdateConfig | undefined {
  const get = (k: string) => (o as Record<string, string | undefined>)[`${prefix}${k}`];
  const keys = ['Parallelism', 'Delay', 'FailureAction', 'Monitor', 'MaxFailureRatio', 'Order'];
  if (!keys.some((k) => get(k) !== undefined)) return base;
  const c: Json = { ...(base ?? UPDATE_DEFAULTS) };
  const f = (k: string) => `--${prefix}-${k}`;
  if (get('Parallelism') !== undefined) c.Parallelism = parseUint(f('parallelism'), get('Parallelism')!);
  if (get('Delay') !== undefined) c.Delay = duration(f('delay'), get('Delay')!);
  if (get('Monitor') !== undefined) c.Monitor = duration(f('monitor'), get('Monitor')!);
  if (get('FailureAction') !== undefined) {
    const v = get('FailureAction')!;
    const allowed = prefix === 'update' ? ['pause', 'continue', 'rollback'] : ['pause', 'continue'];
    if (!allowed.includes(v)) {
      throw new SpecError(f('failure-action'), v, prefix === 'update'
        ? 'failure action must be one of "pause", "continue", or "rollback"'
        : 'failure action must be one of "pause" or "continue"');
    }
    c.FailureAction = v;
  }
  if (get('MaxFailureRatio') !== undefined) c.MaxFailureRatio = parseFloat64(f('max-failure-ratio'), get('MaxFailureRatio')!);
  if (get('Order') !== undefined) {
    const v = get('Order')!;
    if (v !== 'start-first' && v !== 'stop-first') throw new SpecError(f('order'), v, 'order must be one of "start-first" or "stop-first"');
    c.Order = v;
  }
  // Go's omitempty: Delay, Monitor, FailureAction, Order leave out their zero values.
  for (const k of ['Delay', 'Monitor', 'FailureAction', 'Order']) if (!c[k]) delete c[k];
  return c as UpdateConfig;
}

function restartPolicy(o: ServiceFlags, base: Json | undefined): Json | undefined {
  if (o.restartCondition === undefined && o.restartDelay === undefined && o.restartMaxAttempts === undefined && o.restartWindow === undefined) return base;
  const r: Json = { ...(base ?? { Condition: 'any', Delay: 5e9, MaxAttempts: 0 }) };
  if (o.restartCondition !== undefined) {
    if (!['none', 'on-failure', 'any'].includes(o.restartCondition)) {
      throw new SpecError('--restart-condition', o.restartCondition, 'invalid restart condition: must be one of "none", "on-failure", or "any"');
    }
    r.Condition = o.restartCondition;
  }
  if (o.restartDelay !== undefined) r.Delay = duration('--restart-delay', o.restartDelay);
  if (o.restartMaxAttempts !== undefined) r.MaxAttempts = parseUint('--restart-max-attempts', o.restartMaxAttempts);
  if (o.restartWindow !== undefined) r.Window = duration('--restart-window', o.restartWindow);
  return r;
}

const HEALTH_KEYS = ['healthCmd', 'healthInterval', 'healthTimeout', 'healthRetries', 'healthStartPeriod', 'healthStartInterval'] as const;

/** --health-* and --no-healthcheck onto `base` (the current Healthcheck for update). */
function healthcheck(o: ServiceFlags, base: Json | undefined): Json | undefined {
  const any = HEALTH_KEYS.some((k) => o[k] !== undefined);
  if (o.healthcheck === false) {
    if (any) throw new StatusError('--no-healthcheck conflicts with --health-* options', 1);
    return { Test: ['NONE'] };
  }
  if (!any) return base;
  const h: Json = { ...(base ?? {}) };
  if (h.Test?.[0] === 'NONE') delete h.Test;
  if (o.healthCmd !== undefined) h.Test = o.healthCmd === '' ? undefined : ['CMD-SHELL', o.healthCmd];
  if (o.healthInterval !== undefined) h.Interval = duration('--health-interval', o.healthInterval);
  if (o.healthTimeout !== undefined) h.Timeout = duration('--health-timeout', o.healthTimeout);
  if (o.healthStartPeriod !== undefined) h.StartPeriod = duration('--health-start-period', o.healthStartPeriod);
  if (o.healthStartInterval !== undefined) h.StartInterval = duration('--health-start-interval', o.healthStartInterval);
  if (o.healthRetries !== undefined) h.Retries = parseUint('--health-retries', o.healthRetries);
  for (const k of ['Interval', 'Timeout', 'StartPeriod', 'StartInterval', 'Retries']) if (!h[k]) delete h[k];
  if (h.Test === undefined) delete h.Test;
  return h;
}

/** --reserve-* and --limit-* onto Resources (created as docker does: both maps present). */
function resources(o: ServiceFlags, base: Json | undefined, always: boolean): Json | undefined {
  const given = [o.limitCpu, o.limitMemory, o.limitPids, o.reserveCpu, o.reserveMemory].some((v) => v !== undefined);
  if (!given && !always) return base;
  const r: Json = { Limits: { ...(base?.Limits ?? {}) }, Reservations: { ...(base?.Reservations ?? {}) } };
  if (o.limitCpu !== undefined) r.Limits.NanoCPUs = nanoCpus('--limit-cpu', o.limitCpu);
  if (o.limitMemory !== undefined) r.Limits.MemoryBytes = bytes('--limit-memory', o.limitMemory);
  if (o.limitPids !== undefined) r.Limits.Pids = parseUint('--limit-pids', o.limitPids);
  if (o.reserveCpu !== undefined) r.Reservations.NanoCPUs = nanoCpus('--reserve-cpu', o.reserveCpu);
  if (o.reserveMemory !== undefined) r.Reservations.MemoryBytes = bytes('--reserve-memory', o.reserveMemory);
  for (const part of [r.Limits, r.Reservations]) for (const k of Object.keys(part)) if (!part[k]) delete part[k];
  return r;
}

/** The container fields both create and update set from plain flags. */
function containerScalars(o: ServiceFlags, c: Json): void {
  if (o.hostname !== undefined) c.Hostname = o.hostname;
  if (o.workdir !== undefined) c.Dir = o.workdir;
  if (o.user !== undefined) c.User = o.user;
  if (o.entrypoint !== undefined) c.Command = shellWords('--entrypoint', o.entrypoint);
  if (o.stopSignal !== undefined) c.StopSignal = o.stopSignal;
  if (o.stopGracePeriod !== undefined) c.StopGracePeriod = duration('--stop-grace-period', o.stopGracePeriod);
  if (o.tty !== undefined) c.TTY = o.tty;
  if (o.readOnly !== undefined) c.ReadOnly = o.readOnly;
  for (const k of ['Hostname', 'Dir', 'User', 'StopSignal', 'TTY', 'ReadOnly']) if (!c[k]) delete c[k];
  if (Array.isArray(c.Command) && !c.Command.length) delete c.Command;
}

// ---------------------------------------------------------------------------------------------
// service create

/**
 * POST /services/create's body from `service create`'s flags and its IMAGE [COMMAND] [ARG...]
 * (docker's serviceOptions.ToService; image digest pinning is the caller's business).
 */
export function serviceCreateSpec(o: ServiceFlags, positional: string[], readFile: (kind: 'env', path: string) => string[] = (k, p) => parseKeyValueFile(p, k)): ServiceSpec {
  const [image, ...args] = positional;
  const mode = o.mode ?? 'replicated';
  let Mode: Json;
  if (mode === 'replicated') {
    Mode = { Replicated: o.replicas !== undefined ? { Replicas: parseUint('--replicas', o.replicas) } : {} };
  } else if (mode === 'global') {
    if (o.replicas !== undefined) throw new StatusError('replicas can only be used with replicated or replicated-job mode', 1);
    Mode = { Global: {} };
  } else {
    throw new StatusError(`unknown mode: ${mode}, only replicated and global supported`, 1);
  }
  if (o.replicasMaxPerNode !== undefined && mode !== 'replicated') {
    throw new StatusError('replicas-max-per-node can only be used with replicated or replicated-job mode', 1);
  }

  const c: Json = { Image: serviceImage(image) };
  const cLabels = kvMap(o.containerLabel);
  if (Object.keys(cLabels).length) c.Labels = cLabels;
  if (args.length) c.Args = args;
  const env = [...(o.envFile ?? []).flatMap((f) => readFile('env', f)), ...(o.env ?? [])];
  if (env.length) c.Env = env;
  containerScalars(o, c);
  c.Init = Boolean(o.init);
  if (o.mount?.length) c.Mounts = o.mount.map((m) => mount('--mount', m));
  if (o.secret?.length) c.Secrets = o.secret.map((x) => parseObjectRef('secret', x));
  if (o.config?.length) c.Configs = o.config.map((x) => parseObjectRef('config', x));
  // docker's create counts health settings by value: an empty --health-cmd is no setting.
  const hc = healthcheck(o.healthCmd === '' ? { ...o, healthCmd: undefined } : o, undefined);
  if (hc) c.Healthcheck = hc;
  c.DNSConfig = {};

  const placement: Json = {};
  if (o.constraint?.length) placement.Constraints = [...o.constraint];
  if (o.placementPref?.length) placement.Preferences = o.placementPref.map((p) => parsePlacementPref(p));
  if (o.replicasMaxPerNode !== undefined) {
    const n = parseUint('--replicas-max-per-node', o.replicasMaxPerNode);
    if (n) placement.MaxReplicas = n;
  }

  const task: Json = { ContainerSpec: c, Resources: resources(o, undefined, true) };
  const rp = restartPolicy(o, undefined);
  if (rp) task.RestartPolicy = rp;
  task.Placement = placement;
  if (o.network?.length) task.Networks = o.network.map((n) => parseNetwork(n));
  task.ForceUpdate = 0;

  const spec: Json = {};
  if (o.name) spec.Name = o.name;
  spec.Labels = kvMap(o.label);
  spec.TaskTemplate = task;
  spec.Mode = Mode;
  const uc = updateConfig(o, 'update', undefined);
  if (uc) spec.UpdateConfig = uc;
  const rc = updateConfig(o, 'rollback', undefined);
  if (rc) spec.RollbackConfig = rc;
  const endpointMode = o.endpointMode ?? 'vip';
  if (endpointMode !== 'vip' && endpointMode !== 'dnsrr') throw new SpecError('--endpoint-mode', endpointMode, `invalid endpoint mode: ${endpointMode}`);
  const ports = (o.publish ?? []).flatMap((p) => parsePublish(p));
  spec.EndpointSpec = { Mode: endpointMode, ...(ports.length ? { Ports: ports } : {}) };
  return spec as ServiceSpec;
}

// ---------------------------------------------------------------------------------------------
// service update

const UPDATE_ONLY = ['image', 'args', 'force', 'envAdd', 'envRm', 'labelAdd', 'labelRm', 'containerLabelAdd', 'containerLabelRm',
  'constraintAdd', 'constraintRm', 'placementPrefAdd', 'placementPrefRm', 'publishAdd', 'publishRm', 'mountAdd', 'mountRm', 'networkAdd', 'networkRm',
  'secretAdd', 'secretRm', 'configAdd', 'configRm'] as const;

/** True when any spec-changing flag is set (docker refuses them next to --rollback). */
export function anySpecFlag(o: ServiceFlags): boolean {
  const keys = [...UPDATE_ONLY, 'replicas', 'replicasMaxPerNode', 'reserveCpu', 'reserveMemory', 'limitCpu', 'limitMemory', 'limitPids',
    'restartCondition', 'restartDelay', 'restartMaxAttempts', 'restartWindow', 'workdir', 'user', 'hostname', 'entrypoint',
    'stopGracePeriod', 'stopSignal', 'init', 'readOnly', 'tty', 'endpointMode', ...HEALTH_KEYS,
    'updateParallelism', 'updateDelay', 'updateFailureAction', 'updateMonitor', 'updateMaxFailureRatio', 'updateOrder',
    'rollbackParallelism', 'rollbackDelay', 'rollbackFailureAction', 'rollbackMonitor', 'rollbackMaxFailureRatio', 'rollbackOrder'] as const;
  return keys.some((k) => (o as Record<string, unknown>)[k] !== undefined && (o as Record<string, unknown>)[k] !== false) || o.healthcheck === false;
}

/** Removes the `rm` keys from a map, then sets the `add` items (docker's updateLabels). */
function editMap(m: Record<string, string> | undefined, add: string[] | undefined, rm: string[] | undefined): Record<string, string> | undefined {
  if (!add?.length && !rm?.length) return m;
  const out: Record<string, string> = { ...(m ?? {}) };
  for (const k of rm ?? []) delete out[k];
  Object.assign(out, kvMap(add));
  return out;
}

/** --env-rm by key, then --env-add replacing same-key entries in place (docker rebuilds a Go
 *  map here, so its order is random; this keeps the existing order and appends new keys). */
function editEnv(env: string[] | undefined, add: string[] | undefined, rm: string[] | undefined): string[] | undefined {
  if (!add?.length && !rm?.length) return env;
  const removed = new Set(rm ?? []);
  let out = (env ?? []).filter((e) => !removed.has(keyOf(e)));
  for (const a of add ?? []) {
    const i = out.findIndex((e) => keyOf(e) === keyOf(a));
    if (i >= 0) out[i] = a;
    else out = [...out, a];
  }
  return out;
}

const portKey = (p: Json) => `${p.PublishedPort ?? 0}:${p.TargetPort}/${p.Protocol ?? ''}/${p.PublishMode ?? ''}`;

/** docker's updatePorts: drop --publish-rm matches (target, protocol, mode), add --publish-add,
 *  sorted by their `published:target/proto/mode` text. */
function editPorts(ports: Json[] | undefined, add: string[] | undefined, rm: string[] | undefined): Json[] | undefined {
  if (!add?.length && !rm?.length) return ports;
  const seen = new Map<string, Json>();
  for (const p of ports ?? []) if (!seen.has(portKey(p))) seen.set(portKey(p), p);
  const removals = (rm ?? []).flatMap((r) => parsePublish(r, '--publish-rm'));
  const out = [...seen.values()].filter((p) => !removals.some((r) => (r.Protocol || 'tcp') === (p.Protocol || 'tcp')
    && r.TargetPort === p.TargetPort && (r.PublishMode || 'ingress') === (p.PublishMode || 'ingress')));
  for (const a of (add ?? []).flatMap((x) => parsePublish(x, '--publish-add'))) if (!seen.has(portKey(a))) out.push(a);
  return out.sort((a, b) => (portKey(a) < portKey(b) ? -1 : portKey(a) > portKey(b) ? 1 : 0));
}

/** docker's updateMounts: --mount-add replaces by target, --mount-rm drops by target, sorted by
 *  source then target. */
function editMounts(mounts: Json[] | undefined, add: string[] | undefined, rm: string[] | undefined): Json[] | undefined {
  if (!add?.length && !rm?.length) return mounts;
  const byTarget = new Map<string, Json>();
  for (const a of add ?? []) {
    const m = mount('--mount-add', a);
    if (byTarget.has(m.Target)) throw new StatusError('duplicate mount target', 1);
    byTarget.set(m.Target, m);
  }
  for (const m of mounts ?? []) if (!byTarget.has(m.Target)) byTarget.set(m.Target, m);
  const removed = new Set(rm ?? []);
  const cmp = (x: string, y: string) => (x < y ? -1 : x > y ? 1 : 0);
  return [...byTarget.values()].filter((m) => !removed.has(m.Target))
    .sort((a, b) => (a.Source ?? '') === (b.Source ?? '') ? cmp(a.Target, b.Target) : cmp(a.Source ?? '', b.Source ?? ''));
}

/**
 * The edited copy of a service's spec for `service update` (docker's updateService): only the
 * flags given change anything. `--rollback` is the caller's (it sends the spec unchanged with
 * ?rollback=previous).
 */
export function serviceUpdateSpec(current: ServiceSpec, o: ServiceFlags): ServiceSpec {
  const spec: Json = structuredClone(current);
  const task: Json = (spec.TaskTemplate ??= {});
  const c: Json = (task.ContainerSpec ??= {});

  if (o.image !== undefined) c.Image = serviceImage(o.image);
  if (o.args !== undefined) {
    const a = shellWords('--args', o.args);
    if (a.length) c.Args = a;
    else delete c.Args;
  }
  containerScalars(o, c);
  if (o.init !== undefined) c.Init = o.init;
  const env = editEnv(c.Env, o.envAdd, o.envRm);
  if (env !== undefined) c.Env = env;
  const cl = editMap(c.Labels, o.containerLabelAdd, o.containerLabelRm);
  if (cl !== undefined) c.Labels = cl;
  const mounts = editMounts(c.Mounts, o.mountAdd, o.mountRm);
  if (mounts !== undefined) c.Mounts = mounts;
  const secrets = editObjectRefs('secret', c.Secrets, o.secretAdd, o.secretRm);
  if (secrets !== undefined) c.Secrets = secrets;
  const configs = editObjectRefs('config', c.Configs, o.configAdd, o.configRm);
  if (configs !== undefined) c.Configs = configs;
  const hc = healthcheck(o, c.Healthcheck);
  if (hc !== undefined) c.Healthcheck = hc;

  const labels = editMap(spec.Labels, o.labelAdd, o.labelRm);
  if (labels !== undefined) spec.Labels = labels;

  const res = resources(o, task.Resources, false);
  if (res !== undefined) task.Resources = res;
  const rp = restartPolicy(o, task.RestartPolicy);
  if (rp !== undefined) task.RestartPolicy = rp;

  if (o.constraintAdd?.length || o.constraintRm?.length || o.placementPrefAdd?.length || o.placementPrefRm?.length || o.replicasMaxPerNode !== undefined) {
    const placement: Json = (task.Placement ??= {});
    if (o.constraintAdd?.length || o.constraintRm?.length) {
      const removed = new Set(o.constraintRm ?? []);
      placement.Constraints = [...(placement.Constraints ?? []), ...(o.constraintAdd ?? [])].filter((x: string) => !removed.has(x)).sort();
    }
    if (o.placementPrefAdd?.length || o.placementPrefRm?.length) {
      const removed = new Set(o.placementPrefRm ?? []);
      const kept = (placement.Preferences ?? []).filter((p: Json) => !removed.has(`spread=${p.Spread?.SpreadDescriptor}`));
      placement.Preferences = [...kept, ...(o.placementPrefAdd ?? []).map((p) => parsePlacementPref(p, '--placement-pref-add'))];
    }
    if (o.replicasMaxPerNode !== undefined) {
      if (!spec.Mode?.Replicated) throw new StatusError('replicas-max-per-node can only be used with replicated or replicated-job mode', 1);
      placement.MaxReplicas = parseUint('--replicas-max-per-node', o.replicasMaxPerNode);
      if (!placement.MaxReplicas) delete placement.MaxReplicas;
    }
  }

  if (o.replicas !== undefined) {
    if (!spec.Mode?.Replicated) throw new StatusError('replicas can only be used with replicated or replicated-job mode', 1);
    spec.Mode.Replicated.Replicas = parseUint('--replicas', o.replicas);
  }
  const uc = updateConfig(o, 'update', spec.UpdateConfig);
  if (uc !== undefined) spec.UpdateConfig = uc;
  const rc = updateConfig(o, 'rollback', spec.RollbackConfig);
  if (rc !== undefined) spec.RollbackConfig = rc;

  if (o.endpointMode !== undefined) (spec.EndpointSpec ??= {}).Mode = o.endpointMode;
  const ports = editPorts(spec.EndpointSpec?.Ports, o.publishAdd, o.publishRm);
  if (ports !== undefined) {
    spec.EndpointSpec ??= {};
    if (ports.length) spec.EndpointSpec.Ports = ports;
    else delete spec.EndpointSpec.Ports;
  }

  if (o.force) task.ForceUpdate = (task.ForceUpdate ?? 0) + 1;
  return spec as ServiceSpec;
}

/**
 * `service scale web=5`: SERVICE=REPLICAS. A malformed argument is docker's usage-style error
 * (checked for all arguments before anything is sent); a bad number is that service's error.
 */
export function parseScaleArg(arg: string): { service: string; replicas: number } | { usage: string } | { service: string; error: string } {
  const eq = arg.indexOf('=');
  const service = eq < 0 ? arg : arg.slice(0, eq);
  const n = eq < 0 ? '' : arg.slice(eq + 1);
  if (eq < 0 || service === '' || n === '') {
    return { usage: `invalid scale specifier '${arg}'.\nSee 'berth service scale --help'.\n\nUsage:  berth service scale SERVICE=REPLICAS [SERVICE=REPLICAS...]\n\nScale one or multiple replicated services` };
  }
  if (!/^\d+$/.test(n) || !Number.isSafeInteger(Number(n))) {
    return { service, error: `invalid replicas value ${n}: strconv.ParseUint: parsing ${JSON.stringify(n)}: ${/^\d+$/.test(n) ? 'value out of range' : 'invalid syntax'}` };
  }
  return { service, replicas: Number(n) };
}

/** The scaled spec: Replicas set; a non-replicated service is docker's error. */
export function scaleSpec(current: ServiceSpec, replicas: number): ServiceSpec {
  const spec: Json = structuredClone(current);
  if (!spec.Mode?.Replicated) throw new StatusError('scale can only be used with replicated or replicated-job mode', 1);
  spec.Mode.Replicated.Replicas = replicas;
  return spec as ServiceSpec;
}

// ---------------------------------------------------------------------------------------------
// node update / promote / demote

export interface NodeFlags { availability?: string; role?: string; labelAdd?: string[]; labelRm?: string[] }

/** The node's edited spec (docker's updateNodes): availability, role, labels. */
export function nodeUpdateSpec(current: NodeSpec, o: NodeFlags): NodeSpec {
  const spec: Json = structuredClone(current);
  // docker sends --availability and --role as typed; the daemon judges them.
  if (o.availability !== undefined) spec.Availability = o.availability;
  if (o.role !== undefined) spec.Role = o.role;
  if (o.labelAdd?.length || o.labelRm?.length) {
    const labels: Record<string, string> = { ...(spec.Labels ?? {}) };
    Object.assign(labels, kvMap(o.labelAdd));
    for (const k of o.labelRm ?? []) {
      if (!(k in labels)) throw new StatusError(`key ${k} doesn't exist in node's labels`, 1);
      delete labels[k];
    }
    spec.Labels = labels;
  }
  return spec as NodeSpec;
}

// ---------------------------------------------------------------------------------------------
// swarm init / join / update

export interface SwarmFlags {
  advertiseAddr?: string;
  listenAddr?: string;
  dataPathAddr?: string;
  dataPathPort?: string;
  forceNewCluster?: boolean;
  autolock?: boolean;
  availability?: string;
  taskHistoryLimit?: string;
  certExpiry?: string;
  dispatcherHeartbeat?: string;
  snapshotInterval?: string;
  maxSnapshots?: string;
  defaultAddrPool?: string[];
  defaultAddrPoolMaskLength?: string;
  token?: string;
}

/** The SwarmSpec fields the swarm flags set (docker's swarmOptions.mergeSwarmSpec). */
function mergeSwarmSpec(spec: Json, o: SwarmFlags): void {
  if (o.taskHistoryLimit !== undefined) (spec.Orchestration ??= {}).TaskHistoryRetentionLimit = parseUint('--task-history-limit', o.taskHistoryLimit);
  if (o.dispatcherHeartbeat !== undefined) (spec.Dispatcher ??= {}).HeartbeatPeriod = duration('--dispatcher-heartbeat', o.dispatcherHeartbeat);
  if (o.certExpiry !== undefined) (spec.CAConfig ??= {}).NodeCertExpiry = duration('--cert-expiry', o.certExpiry);
  if (o.maxSnapshots !== undefined) (spec.Raft ??= {}).KeepOldSnapshots = parseUint('--max-snapshots', o.maxSnapshots);
  if (o.snapshotInterval !== undefined) (spec.Raft ??= {}).SnapshotInterval = parseUint('--snapshot-interval', o.snapshotInterval);
  if (o.autolock !== undefined) (spec.EncryptionConfig ??= {}).AutoLockManagers = o.autolock;
}

function availability(v: string | undefined): string {
  if (v === undefined) return '';
  const a = v.toLowerCase();
  if (!['active', 'pause', 'drain'].includes(a)) throw new StatusError(`invalid availability "${v}", only active, pause and drain are supported`, 1);
  return a;
}

/** A --listen-addr host[:port] with docker's default port 2377 (docker's NodeAddrOption). */
function listenAddr(v: string | undefined): string {
  if (v === undefined) return '0.0.0.0:2377';
  return /:\d+$/.test(v) || v.startsWith('[') && v.includes(']:') ? v : `${v}:2377`;
}

export function swarmInitBody(o: SwarmFlags): SwarmInitRequest & Record<string, unknown> {
  const spec: Json = { Labels: null, Orchestration: {}, Raft: { ElectionTick: 0, HeartbeatTick: 0 }, Dispatcher: {}, CAConfig: {}, TaskDefaults: {}, EncryptionConfig: { AutoLockManagers: false } };
  mergeSwarmSpec(spec, o);
  const pool = o.defaultAddrPool ?? [];
  return {
    ListenAddr: listenAddr(o.listenAddr),
    AdvertiseAddr: o.advertiseAddr ?? '',
    DataPathAddr: o.dataPathAddr ?? '',
    DataPathPort: o.dataPathPort !== undefined ? parseUint('--data-path-port', o.dataPathPort) : 0,
    ForceNewCluster: Boolean(o.forceNewCluster),
    Spec: spec as SwarmSpec,
    AutoLockManagers: Boolean(o.autolock),
    Availability: availability(o.availability),
    DefaultAddrPool: pool,
    SubnetSize: o.defaultAddrPoolMaskLength !== undefined ? parseUint('--default-addr-pool-mask-length', o.defaultAddrPoolMaskLength) : 24,
  };
}

export function swarmJoinBody(o: SwarmFlags, remote: string): SwarmJoinRequest & Record<string, unknown> {
  return {
    ListenAddr: listenAddr(o.listenAddr),
    AdvertiseAddr: o.advertiseAddr ?? '',
    DataPathAddr: o.dataPathAddr ?? '',
    RemoteAddrs: [remote],
    JoinToken: o.token ?? '',
    Availability: availability(o.availability),
  };
}

/** `swarm update`: the current spec with the given flags merged. */
export function swarmUpdateSpec(current: SwarmSpec, o: SwarmFlags): SwarmSpec {
  const spec: Json = structuredClone(current);
  mergeSwarmSpec(spec, o);
  return spec as SwarmSpec;
}
