// `run`/`create` flags → the body of POST /containers/create (Config + HostConfig +
// NetworkingConfig), built the way the docker CLI builds it (cli/command/container/opts.go), so
// the daemon sees the same request from `berth run` as from `docker run`.
//
//   const { body, query } = buildCreateRequest(['busybox', 'echo', 'hi'], { env: ['A=1'], rm: true, ... }, ctx)
//   → body.Image 'busybox', body.Cmd ['echo', 'hi'], body.Env ['A=1'], body.HostConfig.AutoRemove true
//
// Errors are thrown as StatusError with docker's texts (flag errors exit 125).
import type { OptionsOf, CONTAINER_COMMANDS } from './spec.ts';
import { readFileSync } from 'node:fs';
import { resolve as resolvePath } from 'node:path';
import { parseBytes, parseCpus, parseDuration } from '../common/units.ts';
import { parsePortRange, parsePortSpec as parsePortSpecCommon, type PortMapping } from '../common/port-spec.ts';
import { EngineError } from '../common/errors.ts';
import { StatusError, flagError, type Ctx } from './context.ts';
import { resolveEnv, parseKeyValueFile } from './env-file.ts';

/** run's flags: create's and --detach, --sig-proxy (create's options object is one without them). */
type Opts = OptionsOf<typeof CONTAINER_COMMANDS.run>;

export interface CreateRequest {
  body: Record<string, any>;
  query: { name?: string; platform?: string };
  /** What the foreground run attaches to. */
  attach: { stdin: boolean; stdout: boolean; stderr: boolean };
}

const err125 = (msg: string) => new StatusError(msg, 125);


// ---------------------------------------------------------------------------------------------
// Ports (go-connections nat.ParsePortSpec, shared with compose in common/port-spec.ts)

export type { PortMapping };

export function parsePortSpec(raw: string): PortMapping[] {
  try {
    return parsePortSpecCommon(raw);
  } catch (e) {
    if (e instanceof EngineError) throw err125(e.message);
    throw e;
  }
}

function parseExpose(raw: string): string[] {
  let proto = 'tcp';
  let ports = raw;
  const slash = raw.indexOf('/');
  if (slash >= 0) { proto = raw.slice(slash + 1); ports = raw.slice(0, slash); }
  // `--expose` accepts a bare container port or range only.
  const r = parsePortRange(ports);
  if (!r) throw err125(`invalid range format for --expose: ${raw}, error: invalid containerPort: ${ports}`);
  const out: string[] = [];
  for (let p = r[0]; p <= r[1]; p++) out.push(`${p}/${proto.toLowerCase()}`);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Mounts

/** `--mount type=bind,source=/a,target=/b,readonly` → a HostConfig.Mounts entry. */
export function parseMount(spec: string): Record<string, any> {
  const m: Record<string, any> = { Type: 'volume' };
  const bindOpts: Record<string, any> = {};
  const volOpts: Record<string, any> = {};
  const tmpfsOpts: Record<string, any> = {};
  const fields = splitCsv(spec);
  const bad = (msg: string) => err125(`invalid argument "${spec}" for "--mount" flag: ${msg}`);
  for (const f of fields) {
    const eq = f.indexOf('=');
    const key = (eq < 0 ? f : f.slice(0, eq)).trim().toLowerCase();
    const val = eq < 0 ? undefined : f.slice(eq + 1);
    const boolVal = () => {
      if (val === undefined) return true;
      if (/^(1|t|true)$/i.test(val)) return true;
      if (/^(0|f|false)$/i.test(val)) return false;
      throw bad(`invalid value for ${key}: ${val}`);
    };
    if (val === undefined && !['readonly', 'ro', 'volume-nocopy', 'bind-nonrecursive'].includes(key)) {
      throw bad(`invalid field '${f}' must be a key=value pair`);
    }
    switch (key) {
      case 'type': m.Type = val!.toLowerCase(); break;
      case 'source': case 'src': m.Source = val; break;
      case 'target': case 'dst': case 'destination': m.Target = val; break;
      case 'readonly': case 'ro': m.ReadOnly = boolVal(); break;
      case 'consistency': m.Consistency = val; break;
      case 'bind-propagation': bindOpts.Propagation = val!.toLowerCase(); break;
      case 'bind-nonrecursive': bindOpts.NonRecursive = boolVal(); break;
      case 'bind-create-host-path': bindOpts.CreateMountpoint = boolVal(); break;
      case 'volume-nocopy': volOpts.NoCopy = boolVal(); break;
      case 'volume-subpath': volOpts.Subpath = val; break;
      case 'volume-label': {
        const [k, ...v] = val!.split('=');
        (volOpts.Labels ??= {})[k] = v.join('=');
        break;
      }
      case 'volume-driver': (volOpts.DriverConfig ??= {}).Name = val; break;
      case 'volume-opt': {
        const [k, ...v] = val!.split('=');
        ((volOpts.DriverConfig ??= {}).Options ??= {})[k] = v.join('=');
        break;
      }
      case 'tmpfs-size': try { tmpfsOpts.SizeBytes = parseBytes(val!); } catch (e) { throw bad((e as Error).message); } break;
      case 'tmpfs-mode': {
        const mode = parseInt(val!, 8);
        if (Number.isNaN(mode)) throw bad(`invalid value for ${key}: ${val}`);
        tmpfsOpts.Mode = mode;
        break;
      }
      default: throw bad(`unexpected key '${key}' in '${f}'`);
    }
  }
  if (!m.Target) throw bad('target is required');
  if (Object.keys(bindOpts).length) { if (m.Type !== 'bind') throw bad(`cannot mix 'bind-*' options with mount type '${m.Type}'`); m.BindOptions = bindOpts; }
  if (Object.keys(volOpts).length) { if (m.Type !== 'volume') throw bad(`cannot mix 'volume-*' options with mount type '${m.Type}'`); m.VolumeOptions = volOpts; }
  if (Object.keys(tmpfsOpts).length) { if (m.Type !== 'tmpfs') throw bad(`cannot mix 'tmpfs-*' options with mount type '${m.Type}'`); m.TmpfsOptions = tmpfsOpts; }
  return m;
}

/** encoding/csv for one line: commas split, double quotes group. */
function splitCsv(s: string): string[] {
  const out: string[] = [];
  let cur = '';
  let q = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (q) {
      if (c === '"' && s[i + 1] === '"') { cur += '"'; i++; } else if (c === '"') q = false; else cur += c;
    } else if (c === '"' && cur === '') q = true;
    else if (c === ',') { out.push(cur); cur = ''; } else cur += c;
  }
  out.push(cur);
  return out.filter((x) => x !== '');
}

// ---------------------------------------------------------------------------------------------
// Small parsers

function keyValueMap(items: string[] | undefined, what: string): Record<string, string> | undefined {
  if (!items?.length) return undefined;
  const out: Record<string, string> = {};
  for (const it of items) {
    const eq = it.indexOf('=');
    if (eq <= 0) throw err125(`invalid ${what}: ${it}`);
    out[it.slice(0, eq)] = it.slice(eq + 1);
  }
  return out;
}

export function parseUlimit(s: string): { Name: string; Hard: number; Soft: number } {
  const eq = s.indexOf('=');
  if (eq <= 0) throw err125(`invalid ulimit argument: ${s}`);
  const name = s.slice(0, eq);
  const [soft, hard, extra] = s.slice(eq + 1).split(':');
  if (extra !== undefined) throw err125(`too many limit value arguments - ${s.slice(eq + 1)}, can only have up to two, \`soft[:hard]\``);
  const num = (v: string) => {
    if (!/^-?\d+$/.test(v)) throw err125(`invalid ulimit argument: ${s}`);
    return Number(v);
  };
  const sv = num(soft);
  const hv = hard === undefined ? sv : num(hard);
  if (sv > hv) throw err125(`ulimit soft limit must be less than or equal to hard limit: ${sv} > ${hv}`);
  return { Name: name, Hard: hv, Soft: sv };
}

export function parseDevice(s: string): { PathOnHost: string; PathInContainer: string; CgroupPermissions: string } {
  const arr = s.split(':');
  let src = '';
  let dst = '';
  let perms = 'rwm';
  const validMode = (m: string) => m.length > 0 && m.length <= 3 && /^[rwm]+$/.test(m) && new Set(m).size === m.length;
  switch (arr.length) {
    case 3: perms = arr[2]; // falls through
    case 2: if (validMode(arr[1])) perms = arr[1]; else dst = arr[1]; // falls through
    case 1: src = arr[0]; break;
    default: throw err125(`invalid device specification: ${s}`);
  }
  if (!validMode(perms)) throw err125(`invalid device mode: ${perms}`);
  return { PathOnHost: src, PathInContainer: dst || src, CgroupPermissions: perms };
}

export function parseRestart(s: string): { Name: string; MaximumRetryCount: number } {
  if (s === '') return { Name: 'no', MaximumRetryCount: 0 };
  const [name, count, extra] = s.split(':');
  if (extra !== undefined) throw err125(`invalid restart policy format: ${s}`);
  if (count === undefined) return { Name: name, MaximumRetryCount: 0 };
  if (name !== 'on-failure') throw err125(`invalid restart policy format: maximum retry count can only be used with 'on-failure'`);
  if (!/^-?\d+$/.test(count)) throw err125('invalid restart policy format: maximum retry count must be an integer');
  return { Name: name, MaximumRetryCount: Number(count) };
}

/** docker's EffectiveCapAddCapDrop normalisation: upper case, CAP_ prefix (except ALL), unique, sorted. */
export function normalizeCaps(caps: string[] | undefined): string[] | null {
  if (!caps?.length) return null;
  const set = new Set<string>();
  for (let c of caps) {
    c = c.trim().toUpperCase();
    if (c === '') continue;
    if (c !== 'ALL' && !c.startsWith('CAP_')) c = `CAP_${c}`;
    set.add(c);
  }
  return [...set].sort();
}

function durationFlag(ctx: Ctx, flag: string, v: string | undefined): number {
  if (v === undefined) return 0;
  let ns: number;
  try { ns = parseDuration(v); } catch (e) { throw flagError(ctx, flag, v, (e as Error).message); }
  return ns;
}

function bytesFlag(ctx: Ctx, flag: string, v: string | undefined): number {
  if (v === undefined || v === '') return 0;
  try { return parseBytes(v); } catch (e) { throw flagError(ctx, flag, v, (e as Error).message); }
}

// ---------------------------------------------------------------------------------------------

export function buildCreateRequest(args: string[], o: Opts, ctx: Ctx, detached: boolean): CreateRequest {
  const [image, ...cmd] = args;

  // Attach streams: -a picks them; -i always adds stdin; default stdout+stderr.
  const attachList: string[] = (o.attach ?? []).map((s: string) => s.toLowerCase());
  for (const a of attachList) {
    if (!['stdin', 'stdout', 'stderr'].includes(a)) throw err125('valid streams are STDIN, STDOUT and STDERR');
  }
  const attach = {
    stdin: attachList.includes('stdin') || Boolean(o.interactive),
    stdout: attachList.length === 0 || attachList.includes('stdout'),
    stderr: attachList.length === 0 || attachList.includes('stderr'),
  };

  const env: string[] = [];
  for (const f of o.envFile ?? []) env.push(...parseKeyValueFile(f, 'env'));
  for (const e of o.env ?? []) env.push(resolveEnv(e));

  const labels: Record<string, string> = {};
  const labelItems: string[] = [];
  for (const f of o.labelFile ?? []) labelItems.push(...parseKeyValueFile(f, 'label'));
  labelItems.push(...(o.label ?? []));
  for (const l of labelItems) {
    const eq = l.indexOf('=');
    if (eq === 0) throw err125(`invalid label: ${l}`);
    if (eq < 0) labels[l] = ''; else labels[l.slice(0, eq)] = l.slice(eq + 1);
  }

  // Ports.
  const exposed: Record<string, object> = {};
  const bindings: Record<string, Array<{ HostIp: string; HostPort: string }>> = {};
  for (const p of o.publish ?? []) {
    for (const m of parsePortSpec(p)) {
      exposed[m.port] = {};
      (bindings[m.port] ??= []).push({ HostIp: m.hostIp, HostPort: m.hostPort });
    }
  }
  for (const e of o.expose ?? []) for (const p of parseExpose(e)) exposed[p] = {};

  // Volumes: with a source they are binds (or named volumes); a bare path is anonymous.
  const volumes: Record<string, object> = {};
  const binds: string[] = [];
  for (const v of o.volume ?? []) {
    const parts = v.split(':');
    if (parts.length === 1) { volumes[v] = {}; continue; }
    if (parts.length > 3 || parts[1] === '') throw err125(`invalid volume specification: '${v}'`);
    let host = parts[0];
    // Relative host paths are made absolute, as docker does for `./dir` and `.`.
    if (host === '.' || host.startsWith('./') || host.startsWith('../') || host === '..') host = resolvePath(host);
    binds.push([host, ...parts.slice(1)].join(':'));
  }
  const mounts = (o.mount ?? []).map(parseMount);
  let tmpfs: Record<string, string> | undefined;
  for (const t of o.tmpfs ?? []) {
    const c = t.indexOf(':');
    (tmpfs ??= {})[c < 0 ? t : t.slice(0, c)] = c < 0 ? '' : t.slice(c + 1);
  }

  // The docker CLI's own check (UsernsMode.Valid): the host's namespace or none named.
  if (o.userns && o.userns !== 'host') throw err125('--userns: invalid USER mode');

  // Restart and removal.
  const restart = parseRestart(o.restart ?? 'no');
  if (o.rm && restart.Name !== 'no' && restart.Name !== '') throw err125('conflicting options: cannot specify both --restart and --rm');

  // Resources.
  const memory = bytesFlag(ctx, '-m, --memory', o.memory);
  let memorySwap = 0;
  if (o.memorySwap !== undefined) memorySwap = o.memorySwap === '-1' ? -1 : bytesFlag(ctx, '--memory-swap', o.memorySwap);
  const memoryReservation = bytesFlag(ctx, '--memory-reservation', o.memoryReservation);
  let nanoCpus = 0;
  if (o.cpus !== undefined) {
    try { nanoCpus = parseCpus(o.cpus); } catch (e) { throw flagError(ctx, '--cpus', o.cpus, (e as Error).message); }
  }
  const shmSize = bytesFlag(ctx, '--shm-size', o.shmSize);

  // Security options: a seccomp profile path is sent as the profile's JSON text.
  let maskedPaths: string[] | null = null;
  let readonlyPaths: string[] | null = null;
  const securityOpt: string[] = [];
  for (const opt of o.securityOpt ?? []) {
    let key: string;
    let value: string | undefined;
    if (opt.includes('=')) [key, value] = [opt.slice(0, opt.indexOf('=')), opt.slice(opt.indexOf('=') + 1)];
    else if (opt.includes(':')) [key, value] = [opt.slice(0, opt.indexOf(':')), opt.slice(opt.indexOf(':') + 1)];
    else { securityOpt.push(opt); continue; }
    if (key === 'seccomp' && value !== 'unconfined' && value !== 'builtin') {
      let text: string;
      try { text = readFileSync(value!, 'utf8'); } catch (e) { throw err125(`opening seccomp profile (${value}) failed: ${(e as Error).message}`); }
      try { text = JSON.stringify(JSON.parse(text)); } catch (e) { throw err125(`compacting json for seccomp profile (${value}) failed: ${(e as Error).message}`); }
      securityOpt.push(`seccomp=${text}`);
    } else if (key === 'systempaths' && value === 'unconfined') {
      maskedPaths = [];
      readonlyPaths = [];
    } else {
      securityOpt.push(`${key}=${value}`);
    }
  }

  // Health check.
  const healthSet = (['healthCmd', 'healthInterval', 'healthTimeout', 'healthStartPeriod', 'healthStartInterval', 'healthRetries'] as const).some((k) => o[k] !== undefined);
  let healthcheck: Record<string, any> | undefined;
  if (o.healthcheck === false) {
    if (healthSet) throw err125('--no-healthcheck conflicts with --health-* options');
    healthcheck = { Test: ['NONE'] };
  } else if (healthSet) {
    const interval = durationFlag(ctx, '--health-interval', o.healthInterval);
    const timeout = durationFlag(ctx, '--health-timeout', o.healthTimeout);
    const startPeriod = durationFlag(ctx, '--health-start-period', o.healthStartPeriod);
    const startInterval = durationFlag(ctx, '--health-start-interval', o.healthStartInterval);
    if (interval < 0) throw err125('--health-interval cannot be negative');
    if (timeout < 0) throw err125('--health-timeout cannot be negative');
    if (o.healthRetries !== undefined && o.healthRetries < 0) throw err125('--health-retries cannot be negative');
    if (startPeriod < 0) throw err125('--health-start-period cannot be negative');
    if (startInterval < 0) throw err125('--health-start-interval cannot be negative');
    healthcheck = {
      Test: o.healthCmd !== undefined ? ['CMD-SHELL', o.healthCmd] : undefined,
      Interval: interval, Timeout: timeout, StartPeriod: startPeriod, StartInterval: startInterval,
      Retries: o.healthRetries ?? 0,
    };
    if (!healthcheck.Test) delete healthcheck.Test;
    if (!startInterval) delete healthcheck.StartInterval;
  }

  const pull = o.pull ?? 'missing';
  if (!['always', 'missing', 'never'].includes(pull)) {
    throw err125(`invalid pull option: '${pull}': must be one of "always", "missing" or "never"`);
  }

  // Networks: docker sends an endpoint entry for the chosen network (not for none/host/container:).
  const networks: string[] = o.network ?? [];
  const networkMode = networks[0] ?? 'default';
  const endpoints: Record<string, any> = {};
  if (!['none', 'host'].includes(networkMode) && !networkMode.startsWith('container:')) {
    const ep: Record<string, any> = {};
    if (o.networkAlias?.length) ep.Aliases = o.networkAlias;
    if (o.ip || o.ip6) ep.IPAMConfig = { IPv4Address: o.ip ?? '', IPv6Address: o.ip6 ?? '' };
    if (o.macAddress) ep.MacAddress = o.macAddress;
    endpoints[networkMode] = ep;
    for (const extra of networks.slice(1)) endpoints[extra] = {};
  }

  let entrypoint: string[] | null = null;
  if (o.entrypoint !== undefined) entrypoint = o.entrypoint === '' ? [''] : [o.entrypoint];

  const extraHosts = (o.addHost ?? []).map((h: string) => {
    const eq = h.indexOf('=');
    const c = h.indexOf(':');
    if (eq > 0 && (c < 0 || eq < c)) return `${h.slice(0, eq)}:${h.slice(eq + 1)}`;
    if (c <= 0) throw err125(`bad format for add-host: "${h}"`);
    return h;
  });

  const stdinOpen = Boolean(o.interactive);
  const tty = Boolean(o.tty);
  const body: Record<string, any> = {
    Hostname: o.hostname ?? '',
    Domainname: o.domainname ?? '',
    User: o.user ?? '',
    AttachStdin: detached ? false : attach.stdin,
    AttachStdout: detached ? false : attach.stdout,
    AttachStderr: detached ? false : attach.stderr,
    ExposedPorts: Object.keys(exposed).length ? exposed : undefined,
    Tty: tty,
    OpenStdin: stdinOpen,
    StdinOnce: detached ? false : attach.stdin && stdinOpen,
    Env: env.length ? env : null,
    Cmd: cmd.length ? cmd : null,
    Healthcheck: healthcheck,
    Image: image,
    Volumes: volumes,
    WorkingDir: o.workdir ?? '',
    Entrypoint: entrypoint,
    OnBuild: null,
    Labels: labels,
    StopSignal: o.stopSignal,
    StopTimeout: o.stopTimeout,
    HostConfig: {
      Binds: binds.length ? binds : null,
      ContainerIDFile: o.cidfile ?? '',
      LogConfig: { Type: o.logDriver ?? '', Config: keyValueMap(o.logOpt, 'log-opt') ?? {} },
      NetworkMode: networkMode,
      PortBindings: bindings,
      RestartPolicy: restart,
      AutoRemove: Boolean(o.rm),
      VolumeDriver: o.volumeDriver ?? '',
      VolumesFrom: o.volumesFrom?.length ? o.volumesFrom : null,
      ConsoleSize: [0, 0],
      CapAdd: normalizeCaps(o.capAdd),
      CapDrop: normalizeCaps(o.capDrop),
      CgroupnsMode: o.cgroupns ?? '',
      Dns: o.dns ?? [],
      DnsOptions: o.dnsOption ?? [],
      DnsSearch: o.dnsSearch ?? [],
      ExtraHosts: extraHosts.length ? extraHosts : null,
      GroupAdd: o.groupAdd?.length ? o.groupAdd : null,
      IpcMode: o.ipc ?? '',
      Cgroup: '',
      Links: o.link?.length ? o.link : null,
      OomScoreAdj: o.oomScoreAdj ?? 0,
      PidMode: o.pid ?? '',
      Privileged: Boolean(o.privileged),
      PublishAllPorts: Boolean(o.publishAll),
      ReadonlyRootfs: Boolean(o.readOnly),
      SecurityOpt: securityOpt.length ? securityOpt : null,
      StorageOpt: keyValueMap(o.storageOpt, 'storage-opt'),
      Tmpfs: tmpfs,
      UTSMode: o.uts ?? '',
      UsernsMode: o.userns ?? '',
      ShmSize: shmSize,
      Sysctls: keyValueMap(o.sysctl, 'sysctl'),
      Runtime: o.runtime,
      Isolation: o.isolation ?? '',
      CpuShares: o.cpuShares ?? 0,
      Memory: memory,
      NanoCpus: nanoCpus,
      CgroupParent: o.cgroupParent ?? '',
      CpuPeriod: o.cpuPeriod ?? 0,
      CpuQuota: o.cpuQuota ?? 0,
      CpusetCpus: o.cpusetCpus ?? '',
      CpusetMems: o.cpusetMems ?? '',
      Devices: (o.device ?? []).map(parseDevice),
      DeviceCgroupRules: o.deviceCgroupRule?.length ? o.deviceCgroupRule : null,
      MemoryReservation: memoryReservation,
      MemorySwap: memorySwap,
      MemorySwappiness: o.memorySwappiness ?? -1,
      OomKillDisable: Boolean(o.oomKillDisable),
      PidsLimit: o.pidsLimit ?? 0,
      Ulimits: (o.ulimit ?? []).map(parseUlimit),
      Mounts: mounts.length ? mounts : undefined,
      MaskedPaths: maskedPaths,
      ReadonlyPaths: readonlyPaths,
      Init: o.init ? true : undefined,
    },
    NetworkingConfig: { EndpointsConfig: endpoints },
  };
  return { body, query: { name: o.name, platform: o.platform }, attach };
}
