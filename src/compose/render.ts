// The model written back out as compose v2 writes it (`docker compose config`): compose-go's
// types marshalled by go-yaml / encoding/json, so keys come in the Go structs' field order,
// maps are sorted, empty fields are left out, sizes are strings of bytes ("536870912"),
// durations Go strings ("1m30s"), and a `$` in a value is written `$$` (so the output loads
// back to the same model). The same ordered form, marshalled with Go's JSON rules, is what
// the config hash is computed from (hash.ts).
//
//   toYaml(project) →
//     name: shop
//     services:
//       web:
//         image: nginx
//         networks:
//           default: null
//         ports:
//           - mode: ingress
//             target: 80
//             published: "8080"
//             protocol: tcp
//     networks:
//       default:
//         name: shop_default
import type { Scalar } from 'yaml';
import { yamlLib } from './yaml-lib.ts';
import type {
  Build, Deploy, DeviceRequest, FileObject, FileReference, Healthcheck, Hook, Network, Project, Resource, Service, ServiceVolume, Ulimit, UpdateConfig, Volume,
} from './model.ts';

export type Mode = 'yaml' | 'json';

/** A float32 field (compose-go's cpus, cpu_percent): printed with float32 precision. */
export class F32 {
  readonly v: number;
  constructor(v: number) {
    this.v = v;
  }
}

/** A JSON `null` that must be written even where fields are omitted (command, entrypoint). */
const NULL = null;

type Obj = Record<string, unknown>;

const byBytes = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));

/** Go map marshalling: keys sorted. */
function sortedMap<T>(m: Record<string, T> | undefined, f: (v: T) => unknown = (v) => v): Obj | undefined {
  if (m === undefined) return undefined;
  const out: Obj = {};
  for (const k of Object.keys(m).sort(byBytes)) out[k] = f(m[k]);
  return out;
}

/** Builds an object in field order, leaving out what `omitempty` leaves out. */
class Fields {
  readonly o: Obj = {};
  /** omitempty: undefined, '', false, 0, empty list or map are left out. */
  put(k: string, v: unknown): this {
    if (v === undefined || v === '' || v === false || v === 0) return this;
    if (Array.isArray(v) && v.length === 0) return this;
    if (v !== null && typeof v === 'object' && !(v instanceof F32) && !Array.isArray(v) && Object.keys(v).length === 0) return this;
    if (v instanceof F32 && v.v === 0) return this;
    this.o[k] = v;
    return this;
  }
  /** A pointer field: left out only when unset. */
  ptr(k: string, v: unknown): this {
    if (v !== undefined) this.o[k] = v;
    return this;
  }
  /** Always written (no omitempty). */
  always(k: string, v: unknown): this {
    this.o[k] = v;
    return this;
  }
  /** A struct pointer: written (maybe as {}) when set. */
  struct(k: string, v: Obj | undefined): this {
    if (v !== undefined) this.o[k] = v;
    return this;
  }
  /** A struct value with omitempty: go-yaml leaves it out when empty, encoding/json never does. */
  value(k: string, v: Obj, mode: Mode): this {
    if (mode === 'json' || Object.keys(v).length > 0) this.o[k] = v;
    return this;
  }
  /** x-* keys, inlined by go-yaml, dropped by encoding/json. */
  extensions(x: Record<string, unknown> | undefined, mode: Mode): this {
    if (mode === 'yaml' && x) for (const k of Object.keys(x).sort(byBytes)) this.o[k] = x[k];
    return this;
  }
}

// Go's time.Duration.String().
export function goDuration(ns: number): string {
  if (ns === 0) return '0s';
  const neg = ns < 0;
  let u = BigInt(Math.round(Math.abs(ns)));
  const sign = neg ? '-' : '';
  if (u < 1000n) return `${sign}${u}ns`;
  if (u < 1000000n) return `${sign}${fracString(u, 3)}µs`;
  if (u < 1000000000n) return `${sign}${fracString(u, 6)}ms`;
  let out = '';
  const h = u / 3600000000000n;
  u -= h * 3600000000000n;
  const m = u / 60000000000n;
  u -= m * 60000000000n;
  if (h > 0n) out += `${h}h`;
  if (h > 0n || m > 0n) out += `${m}m`;
  out += `${fracString(u, 9)}s`;
  return sign + out;
}

function fracString(v: bigint, digits: number): string {
  const div = 10n ** BigInt(digits);
  const whole = v / div;
  let frac = (v % div).toString().padStart(digits, '0').replace(/0+$/, '');
  return frac ? `${whole}.${frac}` : `${whole}`;
}

const bytesStr = (n: number | undefined) => (n === undefined || n === 0 ? undefined : String(n));
const dur = (n: number | undefined) => (n === undefined ? undefined : goDuration(n));
const mode8 = (n: number | undefined) => (n === undefined ? undefined : `0${n.toString(8)}`);

function hostsList(h: Record<string, string[]> | undefined): string[] | undefined {
  if (!h) return undefined;
  const l: string[] = [];
  for (const [k, ips] of Object.entries(h)) for (const ip of ips) l.push(`${k}=${ip}`);
  return l.sort(byBytes);
}

function ulimits(u: Record<string, Ulimit> | undefined, mode: Mode): Obj | undefined {
  return sortedMap(u, (x) => {
    if (x.single) return x.single;
    if (mode === 'yaml') return { soft: x.soft ?? 0, hard: x.hard ?? 0 };
    return new Fields().put('soft', x.soft).put('hard', x.hard).o;
  });
}

function hook(h: Hook, mode: Mode): Obj {
  const f = new Fields();
  if (mode === 'json') f.always('command', h.command ?? NULL);
  else f.ptr('command', h.command);
  return f.put('image', h.image).put('user', h.user).put('privileged', h.privileged).put('working_dir', h.workingDir)
    .put('environment', sortedMap(h.environment)).o;
}

function fileRefs(refs: FileReference[] | undefined): Obj[] | undefined {
  return refs?.map((r) => new Fields().put('source', r.source).put('target', r.target).put('uid', r.uid).put('gid', r.gid).ptr('mode', mode8(r.mode)).o);
}

function deviceRequests(d: DeviceRequest[] | undefined): Obj[] | undefined {
  return d?.map((r) => new Fields().put('capabilities', r.capabilities).put('driver', r.driver).put('count', r.count).put('device_ids', r.deviceIds)
    .put('options', sortedMap(r.options)).o);
}

function build(b: Build | undefined, mode: Mode): Obj | undefined {
  if (!b) return undefined;
  const ssh = b.ssh ? Object.keys(b.ssh).sort(byBytes).map((k) => (b.ssh![k] ? `${k}: ${b.ssh![k]}` : k)) : undefined;
  return new Fields().put('context', b.context).put('dockerfile', b.dockerfile).put('dockerfile_inline', b.dockerfileInline)
    .put('entitlements', b.entitlements).put('args', sortedMap(b.args)).put('provenance', b.provenance).put('sbom', b.sbom)
    .put('ssh', ssh).put('labels', sortedMap(b.labels)).put('cache_from', b.cacheFrom).put('cache_to', b.cacheTo)
    .put('no_cache', b.noCache).put('no_cache_filter', b.noCacheFilter).put('additional_contexts', sortedMap(b.additionalContexts))
    .put('pull', b.pull).put('extra_hosts', hostsList(b.extraHosts)).put('isolation', b.isolation).put('network', b.network)
    .put('target', b.target).put('secrets', fileRefs(b.secrets)).put('shm_size', bytesStr(b.shmSize)).put('tags', b.tags)
    .put('ulimits', ulimits(b.ulimits, mode)).put('platforms', b.platforms).put('privileged', b.privileged)
    .extensions(b.extensions, mode).o;
}

function healthcheck(h: Healthcheck | undefined): Obj | undefined {
  if (!h) return undefined;
  return new Fields().put('test', h.test).ptr('timeout', dur(h.timeout)).ptr('interval', dur(h.interval)).ptr('retries', h.retries)
    .ptr('start_period', dur(h.startPeriod)).ptr('start_interval', dur(h.startInterval)).put('disable', h.disable).o;
}

function updateConfig(u: UpdateConfig | undefined): Obj | undefined {
  if (!u) return undefined;
  return new Fields().ptr('parallelism', u.parallelism).put('delay', u.delay ? goDuration(u.delay) : undefined).put('failure_action', u.failureAction)
    .put('monitor', u.monitor ? goDuration(u.monitor) : undefined).put('max_failure_ratio', u.maxFailureRatio ? new F32(u.maxFailureRatio) : undefined)
    .put('order', u.order).o;
}

function resource(r: Resource | undefined): Obj | undefined {
  if (!r) return undefined;
  return new Fields().put('cpus', r.cpus === undefined ? undefined : new F32(r.cpus)).put('memory', bytesStr(r.memory)).put('pids', r.pids)
    .put('devices', deviceRequests(r.devices)).put('generic_resources', r.genericResources).o;
}

function deploy(d: Deploy | undefined, mode: Mode): Obj | undefined {
  if (!d) return undefined;
  const resources = new Fields().struct('limits', resource(d.resources.limits)).struct('reservations', resource(d.resources.reservations)).o;
  const rp = d.restartPolicy;
  const p = d.placement ?? {};
  const placement = new Fields().put('constraints', p.constraints).put('preferences', p.preferences).put('max_replicas_per_node', p.max_replicas_per_node).o;
  return new Fields().put('mode', d.mode).ptr('replicas', d.replicas).put('labels', sortedMap(d.labels))
    .struct('update_config', updateConfig(d.updateConfig)).struct('rollback_config', updateConfig(d.rollbackConfig))
    .value('resources', resources, mode)
    .struct('restart_policy', rp ? new Fields().put('condition', rp.condition).ptr('delay', dur(rp.delay)).ptr('max_attempts', rp.maxAttempts).ptr('window', dur(rp.window)).o : undefined)
    .value('placement', placement, mode).put('endpoint_mode', d.endpointMode).o;
}

function volume(v: ServiceVolume): Obj {
  const f = new Fields().put('type', v.type).put('source', v.source).put('target', v.target).put('read_only', v.readOnly).put('consistency', v.consistency);
  if (v.bind) {
    f.struct('bind', new Fields().put('selinux', v.bind.selinux).put('propagation', v.bind.propagation)
      .put('create_host_path', v.bind.createHostPath).put('recursive', v.bind.recursive).o);
  }
  if (v.volume) f.struct('volume', new Fields().put('labels', sortedMap(v.volume.labels)).put('nocopy', v.volume.nocopy).put('subpath', v.volume.subpath).o);
  if (v.tmpfs) f.struct('tmpfs', new Fields().put('size', bytesStr(v.tmpfs.size)).put('mode', v.tmpfs.mode).o);
  if (v.image) f.struct('image', new Fields().put('subpath', v.image.subpath).o);
  return f.o;
}

/**
 * A service in compose-go's ServiceConfig field order. `mode` picks go-yaml's or
 * encoding/json's rules (they differ on command/entrypoint, struct values and x-* keys).
 */
export function renderService(s: Service, mode: Mode): Obj {
  const f = new Fields();
  f.put('profiles', s.profiles).put('annotations', sortedMap(s.annotations)).ptr('attach', s.attach)
    .struct('build', build(s.build, mode))
    .struct('develop', s.develop ? new Fields().put('watch', s.develop.watch?.map((w) => {
      const t = new Fields().always('path', w.path).always('action', w.action).put('target', w.target);
      const exec = hook(w.exec ?? {}, mode);
      if (mode === 'json') t.always('exec', exec);
      else t.put('exec', w.exec ? exec : undefined);
      return t.put('include', w.include).put('ignore', w.ignore).put('initial_sync', w.initialSync).o;
    })).o : undefined)
    .struct('blkio_config', s.blkioConfig)
    .put('cap_add', s.capAdd).put('cap_drop', s.capDrop).put('cgroup_parent', s.cgroupParent).put('cgroup', s.cgroup)
    .put('cpu_count', s.cpuCount).put('cpu_percent', s.cpuPercent === undefined ? undefined : new F32(s.cpuPercent))
    .put('cpu_period', s.cpuPeriod).put('cpu_quota', s.cpuQuota).put('cpu_rt_period', s.cpuRtPeriod).put('cpu_rt_runtime', s.cpuRtRuntime)
    .put('cpus', s.cpus === undefined ? undefined : new F32(s.cpus)).put('cpuset', s.cpuset).put('cpu_shares', s.cpuShares);
  if (mode === 'json') f.always('command', s.command ?? NULL);
  else f.ptr('command', s.command);
  f.put('configs', fileRefs(s.configs)).put('container_name', s.containerName).struct('credential_spec', s.credentialSpec)
    .put('depends_on', sortedMap(s.dependsOn, (d) => {
      const o: Obj = { condition: d.condition };
      if (d.restart) o.restart = true;
      o.required = d.required;
      return o;
    }))
    .struct('deploy', deploy(s.deploy, mode)).put('device_cgroup_rules', s.deviceCgroupRules)
    .put('devices', s.devices?.map((d) => new Fields().put('source', d.source).put('target', d.target).put('permissions', d.permissions).o))
    .put('dns', s.dns).put('dns_opt', s.dnsOpt).put('dns_search', s.dnsSearch).put('domainname', s.domainname);
  if (mode === 'json') f.always('entrypoint', s.entrypoint ?? NULL);
  else f.ptr('entrypoint', s.entrypoint);
  f.put('environment', sortedMap(s.environment)).put('expose', s.expose).put('external_links', s.externalLinks)
    .put('extra_hosts', hostsList(s.extraHosts)).put('group_add', s.groupAdd).put('gpus', deviceRequests(s.gpus))
    .put('hostname', s.hostname).struct('healthcheck', healthcheck(s.healthcheck)).put('image', s.image).ptr('init', s.init)
    .put('ipc', s.ipc).put('isolation', s.isolation).put('labels', sortedMap(s.labels)).put('links', s.links)
    .struct('logging', s.logging ? new Fields().put('driver', s.logging.driver).put('options', sortedMap(s.logging.options)).o : undefined)
    .put('mem_limit', bytesStr(s.memLimit)).put('mem_reservation', bytesStr(s.memReservation)).put('memswap_limit', bytesStr(s.memswapLimit))
    .put('mem_swappiness', bytesStr(s.memSwappiness)).put('mac_address', s.macAddress).put('network_mode', s.networkMode)
    .put('networks', sortedMap(s.networks, (n) => (n === null ? null : new Fields().put('aliases', n.aliases).put('driver_opts', sortedMap(n.driverOpts))
      .put('gw_priority', n.gwPriority).put('interface_name', n.interfaceName).put('ipv4_address', n.ipv4Address).put('ipv6_address', n.ipv6Address)
      .put('link_local_ips', n.linkLocalIps).put('mac_address', n.macAddress).put('priority', n.priority).o)))
    .put('oom_kill_disable', s.oomKillDisable).put('oom_score_adj', s.oomScoreAdj).put('pid', s.pid).put('pids_limit', s.pidsLimit)
    .put('platform', s.platform)
    .put('ports', s.ports?.map((p) => new Fields().put('name', p.name).put('mode', p.mode).put('host_ip', p.hostIp).put('target', p.target)
      .put('published', p.published).put('protocol', p.protocol).put('app_protocol', p.appProtocol).o))
    .put('privileged', s.privileged).put('pull_policy', s.pullPolicy).put('read_only', s.readOnly).put('restart', s.restart)
    .put('runtime', s.runtime).ptr('scale', s.scale).put('secrets', fileRefs(s.secrets)).put('security_opt', s.securityOpt)
    .put('shm_size', bytesStr(s.shmSize)).put('stdin_open', s.stdinOpen).ptr('stop_grace_period', dur(s.stopGracePeriod))
    .put('stop_signal', s.stopSignal).put('storage_opt', sortedMap(s.storageOpt)).put('sysctls', sortedMap(s.sysctls))
    .put('tmpfs', s.tmpfs).put('tty', s.tty).put('ulimits', ulimits(s.ulimits, mode)).put('use_api_socket', s.useApiSocket)
    .put('user', s.user).put('userns_mode', s.usernsMode).put('uts', s.uts).put('volume_driver', s.volumeDriver)
    .put('volumes', s.volumes?.map(volume)).put('volumes_from', s.volumesFrom).put('working_dir', s.workingDir)
    .put('post_start', s.postStart?.map((h) => hook(h, mode))).put('pre_stop', s.preStop?.map((h) => hook(h, mode)))
    .extensions(s.extensions, mode);
  return f.o;
}

function renderNetwork(n: Network, mode: Mode): Obj {
  const ipam = n.ipam ?? {};
  const ipamObj = new Fields().put('driver', ipam.driver)
    .put('config', ipam.config?.map((c) => new Fields().put('subnet', c.subnet).put('gateway', c.gateway).put('ip_range', c.ipRange)
      .put('aux_addresses', sortedMap(c.auxAddresses)).o))
    .put('options', sortedMap(ipam.options)).o;
  return new Fields().put('name', n.name).put('driver', n.driver).put('driver_opts', sortedMap(n.driverOpts)).value('ipam', ipamObj, mode)
    .put('external', n.external).put('internal', n.internal).put('attachable', n.attachable).put('labels', sortedMap(n.labels))
    .ptr('enable_ipv4', n.enableIpv4).ptr('enable_ipv6', n.enableIpv6).extensions(n.extensions, mode).o;
}

function renderVolume(v: Volume, mode: Mode): Obj {
  return new Fields().put('name', v.name).put('driver', v.driver).put('driver_opts', sortedMap(v.driverOpts)).put('external', v.external)
    .put('labels', sortedMap(v.labels)).extensions(v.extensions, mode).o;
}

/** Secrets never show their content; configs hide it when it came from the environment. */
function renderFileObject(o: FileObject, kind: 'secret' | 'config', mode: Mode): Obj {
  const content = kind === 'secret' || o.environment ? undefined : o.content;
  return new Fields().put('name', o.name).put('file', o.file).put('environment', o.environment).put('content', content)
    .put('external', o.external).put('labels', sortedMap(o.labels)).put('driver', o.driver).put('driver_opts', sortedMap(o.driverOpts))
    .put('template_driver', o.templateDriver).extensions(o.extensions, mode).o;
}

/** The project as an ordered object (Project's field order; JSON: map keys sorted, as compose's MarshalJSON). */
export function renderProject(p: Project, mode: Mode): Obj {
  const services = sortedMap(p.services, (s) => renderService(s, mode)) ?? {};
  const parts: Array<[string, unknown]> = [['name', p.name], ['services', services]];
  const put = (k: string, m: Obj | undefined) => {
    if (m && Object.keys(m).length > 0) parts.push([k, m]);
  };
  put('networks', sortedMap(p.networks, (n) => renderNetwork(n, mode)));
  put('volumes', sortedMap(p.volumes, (v) => renderVolume(v, mode)));
  put('secrets', sortedMap(p.secrets, (s) => renderFileObject(s, 'secret', mode)));
  put('configs', sortedMap(p.configs, (c) => renderFileObject(c, 'config', mode)));
  for (const k of Object.keys(p.extensions ?? {}).sort(byBytes)) parts.push([k, p.extensions![k]]);
  if (mode === 'json') parts.sort(([a], [b]) => byBytes(a, b));
  return Object.fromEntries(parts);
}

// ---------------------------------------------------------------------------------------------
// YAML, as go-yaml v3 writes it

const OLD_BOOL = new Set(['y', 'Y', 'yes', 'Yes', 'YES', 'on', 'On', 'ON', 'n', 'N', 'no', 'No', 'NO', 'off', 'Off', 'OFF']);
const BASE60 = /^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$/;

/** What go-yaml's resolve() would read back as something other than this string. */
function resolvesToNonString(s: string): boolean {
  if (['', '~', 'null', 'Null', 'NULL', 'true', 'True', 'TRUE', 'false', 'False', 'FALSE',
    '.nan', '.NaN', '.NAN', '.inf', '.Inf', '.INF', '+.inf', '+.Inf', '+.INF', '-.inf', '-.Inf', '-.INF', '<<'].includes(s)) return true;
  if (!/^[-+.0-9]/.test(s)) return false;
  const plain = s.replace(/_/g, '');
  if (/^[-+]?(0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|0[0-7]*|[1-9][0-9]*)$/.test(plain)) return true;
  if (/^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$/.test(plain)) return true;
  // Timestamps (go-yaml resolves them, then keeps them as strings; it still quotes them).
  return /^\d{4}-\d{1,2}-\d{1,2}/.test(s);
}

/** libyaml's plain-scalar rules for block context, as far as compose output needs them. */
function plainAllowed(s: string): boolean {
  if (s === '' || /^\s|\s$/.test(s)) return false;
  if (/^[,[\]{}#&*!|>'"%@`]/.test(s)) return false;
  if (/^[-?:](\s|$)/.test(s) || s.startsWith('---') || s.startsWith('...')) return false;
  if (s.includes(': ') || s.includes(' #') || s.endsWith(':')) return false;
  // Anything but printable characters needs a double-quoted string.
  return !/[\u0000-\u001f\u007f-\u009f\ufeff]/.test(s);
}

function styleFor(s: string): Scalar.Type {
  if (s.includes('\n')) return 'BLOCK_LITERAL';
  if (resolvesToNonString(s) || OLD_BOOL.has(s) || BASE60.test(s)) return 'QUOTE_DOUBLE';
  if (plainAllowed(s)) return 'PLAIN';
  return /[\u0000-\u001f\u007f-\u009f\ufeff]/.test(s) ? 'QUOTE_DOUBLE' : 'QUOTE_SINGLE';
}

/** Shortest decimal that reads back as the same float32 (Go's FormatFloat(f, 'g', -1, 32)). */
export function float32String(v: number, exp: 'g' | 'json' = 'g'): string {
  const f = Math.fround(v);
  if (!Number.isFinite(f)) return f > 0 ? '+Inf' : f < 0 ? '-Inf' : 'NaN';
  let s = String(f);
  for (let p = 1; p <= 9; p++) {
    const c = Number(f.toPrecision(p));
    if (Math.fround(c) === f) {
      s = String(c);
      break;
    }
  }
  const abs = Math.abs(Number(s));
  if (abs !== 0 && exp === 'g') {
    const e = Math.floor(Math.log10(abs));
    if (e < -4 || e >= 21) s = Number(s).toExponential().replace(/e([+-])(\d)$/, 'e$10$2');
  }
  return s;
}

export function toYaml(p: Project): string {
  const { Document, isScalar, visit } = yamlLib();
  const obj = renderProject(p, 'yaml');
  const doc = new Document(unwrapF32(obj, 'yaml'), { version: '1.2' });
  visit(doc, {
    Scalar(_key, node) {
      if (typeof node.value === 'string') node.type = styleFor(node.value);
    },
    Pair(_key, pair) {
      if (isScalar(pair.key) && typeof pair.key.value === 'string') pair.key.type = styleFor(pair.key.value) === 'BLOCK_LITERAL' ? 'QUOTE_DOUBLE' : styleFor(pair.key.value);
    },
  });
  const text = doc.toString({ indent: 2, indentSeq: true, lineWidth: 0, minContentWidth: 0, nullStr: 'null', flowCollectionPadding: false });
  // compose escapes `$` so that `config` output loads back to the same values.
  return text.replace(/\$/g, '$$$$');
}

function unwrapF32(v: unknown, mode: Mode): unknown {
  if (v instanceof F32) return Number(float32String(v.v));
  if (Array.isArray(v)) return v.map((x) => unwrapF32(x, mode));
  if (v !== null && typeof v === 'object') {
    const out: Obj = {};
    for (const [k, x] of Object.entries(v)) out[k] = unwrapF32(x, mode);
    return out;
  }
  return v;
}

// ---------------------------------------------------------------------------------------------
// JSON, as Go's encoding/json writes it (HTML-safe escapes, float32 precision, field order kept)

function goJsonString(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (ch === '\b') out += '\\b';
    else if (ch === '\f') out += '\\f';
    else if (c < 0x20 || ch === '<' || ch === '>' || ch === '&' || c === 0x2028 || c === 0x2029) out += `\\u${c.toString(16).padStart(4, '0')}`;
    else if (c >= 0xd800 && c <= 0xdfff) out += '\ufffd';
    else out += ch;
  }
  return `${out}"`;
}

function goJsonNumber(n: number): string {
  if (!Number.isFinite(n)) throw new Error(`json: unsupported value: ${n}`);
  // JS and Go agree for float64 (exponent below 1e-6 and from 1e21).
  return String(n);
}

/** Go's json.Marshal (indent '' → compact) or json.MarshalIndent(v, '', indent). */
export function goJson(v: unknown, indent = '', level = 0): string {
  const nl = indent ? `\n${indent.repeat(level + 1)}` : '';
  const end = indent ? `\n${indent.repeat(level)}` : '';
  const sep = indent ? ': ' : ':';
  if (v === null || v === undefined) return 'null';
  if (v instanceof F32) {
    const s = float32String(v.v, 'json');
    const abs = Math.abs(Math.fround(v.v));
    return abs !== 0 && (abs < 1e-6 || abs >= 1e21) ? Number(s).toExponential().replace(/e([+-])0?(\d)/, 'e$1$2') : s;
  }
  if (typeof v === 'string') return goJsonString(v);
  if (typeof v === 'number') return goJsonNumber(v);
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (Array.isArray(v)) {
    if (v.length === 0) return '[]';
    return `[${v.map((x) => nl + goJson(x, indent, level + 1)).join(',')}${end}]`;
  }
  const entries = Object.entries(v as Obj);
  if (entries.length === 0) return '{}';
  return `{${entries.map(([k, x]) => `${nl}${goJsonString(k)}${sep}${goJson(x, indent, level + 1)}`).join(',')}${end}}`;
}

export function toJson(p: Project): string {
  // compose marshals the project with MarshalIndent, then escapes `$` like the YAML output.
  return goJson(renderProject(p, 'json'), '  ').replace(/\$/g, '$$$$');
}
