// berthd configuration: flags and /etc/berth/daemon.json (or --config-file), Docker's key names.
// As in dockerd, a setting comes from a flag or from the file, never both: naming it twice is an
// error ("the following directives are specified both as a flag and in the configuration file").
//
// Listeners (-H / "hosts") are parsed the way dockerd parses them (`tcp://:2376` → localhost,
// no port → 2375, `unix://` → the default socket) and checked here, before anything listens:
// TCP needs TLS (tls.ts has dockerd's --tls/--tlsverify rules), except a plain-HTTP listener on a
// loopback address (127.0.0.0/8, ::1, localhost) that --insecure-loopback-tcp asks for.
import { parseArgs } from 'node:util';
import { readFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { isIP } from 'node:net';
import { join, resolve } from 'node:path';
import { checkServerTls, defaultCertDir } from './tls.ts';
import { isLoopbackHost } from '../common/loopback.ts';
import { validateInsecureEntry } from '../registry/client/insecure.ts';
import { DEFAULT_DOWNLOAD_LIMITS, type DownloadLimits } from '../build/download.ts';
import { parseBytes, parseDuration } from '../common/units.ts';

/** dockerd's ValidateMirror: an http(s) URL without path beyond `/`, normalised with a trailing slash. */
export function validateMirror(v: string): string {
  let u: URL;
  try { u = new URL(v); } catch { throw new Error(`invalid mirror: "${v}" is not a valid URI`); }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error(`invalid mirror: unsupported scheme "${u.protocol.slice(0, -1)}" in "${v}"`);
  if (u.username || u.password) throw new Error(`invalid mirror: username/password not allowed in URI "${v}"`);
  if (u.search || u.hash) throw new Error(`invalid mirror: query or fragment at end of the URI "${v}"`);
  return `${u.protocol}//${u.host}${u.pathname.replace(/\/+$/, '')}/`;
}

export interface DaemonConfig {
  hosts: string[];
  dataRoot: string;
  execRoot: string;
  defaultRuntime: string;
  runtimes: Record<string, { path: string; runtimeArgs?: string[] }>;
  logLevel: 'debug' | 'info' | 'warn' | 'error';
  pidfile: string;
  /** TLS on tcp:// listeners (unix sockets never use it). */
  tls: boolean;
  /** Require client certificates signed by `tlscacert` (set only when `tls`). */
  tlsverify: boolean;
  /** Set when `tlsverify` (default `<cert dir>/ca.pem`), or when given explicitly. */
  tlscacert?: string;
  tlscert?: string;
  tlskey?: string;
  /** Allow a plain TCP listener, only on a loopback address (tests, local tooling). */
  insecureLoopbackTcp: boolean;
  /** Suffix for host-global names (cgroup parent, ...), unique per daemon instance. */
  instance: string;
  /**
   * `-b/--bridge`: the default bridge's Linux bridge name (default `berth0`), or `none` (no
   * default bridge: `bridge`/`default` containers get a namespace with only `lo`).
   */
  bridge: string;
  /** `--bip`: the default bridge's gateway address with prefix (e.g. 172.17.0.1/16). */
  bip?: string;
  /** Docker's `userland-proxy`: a proxy in the daemon serves published ports on loopback (default true). */
  userlandProxy: boolean;
  /** Docker's `icc`: containers on the default bridge may talk to each other (default true). */
  icc: boolean;
  /** Docker's `ip-masq` for the default bridge (default true). */
  ipMasq: boolean;
  /** `--registry-mirror` / "registry-mirrors": endpoints tried first for docker.io images. */
  registryMirrors: string[];
  /** `--insecure-registry` / "insecure-registries": CIDRs or host[:port] spoken to without verified TLS. */
  insecureRegistries: string[];
  /**
   * ADD <url> in builds (src/build/download.ts): `--builder-add-url-max-size` (default 10GiB, 0 =
   * no limit) and `--builder-add-url-idle-timeout` (default 60s, 0 = none). Docker has neither.
   */
  downloadLimits: DownloadLimits;
  /**
   * `--userns-remap` / "userns-remap": `default` (the `berthremap` user, made if missing, as
   * dockerd makes `dockremap`) or `USER[:GROUP]`; containers' root is that user's first
   * subordinate ID (daemon/userns.ts). Unset: no remapping.
   */
  usernsRemap?: string;
  /**
   * `--cluster-store etcd://host:port[,host:port]`: swarm keeps its cluster state in this external
   * etcd cluster instead of an etcd member each manager runs (unset: the embedded members). Over
   * TLS when `--cluster-store-opt kv.cacertfile=…,kv.certfile=…,kv.keyfile=…` (Docker's old
   * option names) give the files; plain HTTP otherwise.
   */
  clusterStore?: { endpoints: string[]; tls?: { caFile: string; certFile: string; keyFile: string } };
}

const USAGE = `Usage: berthd [OPTIONS]

A Docker-compatible container engine (Docker Engine API v1.47)

Options:
  -H, --host list               Daemon socket(s) to listen on (unix:///path, tcp://host:port)
                                (default "unix:///run/berth/berth.sock", with TLS "tcp://localhost:2376")
      --data-root string        Root directory of persistent state (default "/var/lib/berth")
      --exec-root string        Root directory for execution state (default "/run/berth")
      --config-file string      Daemon configuration file (default "/etc/berth/daemon.json")
      --default-runtime string  Default OCI runtime for containers (default "runc")
      --add-runtime name=path   Register an additional OCI runtime
  -l, --log-level string        Set the logging level ("debug"|"info"|"warn"|"error") (default "info")
  -p, --pidfile string          Path to use for daemon PID file (default "/run/berth.pid")
      --tls                     Use TLS; implied by --tlsverify
      --tlsverify               Use TLS and verify the remote (client certificates); on with --tls
                                unless --tlsverify=false
      --tlscacert string        Trust certs signed only by this CA (default "~/.docker/ca.pem")
      --tlscert string          Path to TLS certificate file (default "~/.docker/cert.pem")
      --tlskey string           Path to TLS key file (default "~/.docker/key.pem")
      --insecure-loopback-tcp   Allow a plain-text tcp:// listener on a loopback address
  -b, --bridge string           Attach containers to a network bridge (default "berth0"; "none" disables it)
      --bip string              Specify default-bridge IP (e.g. 172.17.0.1/16)
      --userland-proxy          Use userland proxy for loopback traffic (default true)
      --icc                     Enable inter-container communication on the default bridge (default true)
      --ip-masq                 Enable IP masquerading for the default bridge (default true)
      --registry-mirror list    Preferred registry mirror (for docker.io images)
      --insecure-registry list  Enable insecure registry communication (CIDR or host[:port])
      --cluster-store string    Swarm: keep the cluster state in this external etcd cluster
                                (etcd://host:port[,host:port...]) instead of an etcd member per manager
      --cluster-store-opt map   Its TLS files: kv.cacertfile=PATH, kv.certfile=PATH, kv.keyfile=PATH
      --builder-add-url-max-size string
                                Largest file a build's ADD <url> downloads; 0 = no limit (default "10GiB")
      --userns-remap string     User/Group setting for user namespaces ("default" or USER[:GROUP])
      --builder-add-url-idle-timeout string
                                A build's ADD <url> fails when the server sends nothing for this long;
                                0 = never (default "60s")
  -h, --help                    Print usage
  -v, --version                 Print version information and quit
`;

const OPTIONS = {
  host: { type: 'string', short: 'H', multiple: true },
  'data-root': { type: 'string' },
  'exec-root': { type: 'string' },
  'config-file': { type: 'string' },
  'default-runtime': { type: 'string' },
  'add-runtime': { type: 'string', multiple: true },
  'log-level': { type: 'string', short: 'l' },
  pidfile: { type: 'string', short: 'p' },
  tls: { type: 'boolean' },
  tlsverify: { type: 'boolean' },
  tlscacert: { type: 'string' },
  tlscert: { type: 'string' },
  tlskey: { type: 'string' },
  'insecure-loopback-tcp': { type: 'boolean' },
  bridge: { type: 'string', short: 'b' },
  bip: { type: 'string' },
  'userland-proxy': { type: 'boolean' },
  icc: { type: 'boolean' },
  'ip-masq': { type: 'boolean' },
  'registry-mirror': { type: 'string', multiple: true },
  'insecure-registry': { type: 'string', multiple: true },
  'builder-add-url-max-size': { type: 'string' },
  'builder-add-url-idle-timeout': { type: 'string' },
  'userns-remap': { type: 'string' },
  'cluster-store': { type: 'string' },
  'cluster-store-opt': { type: 'string', multiple: true },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'v' },
} as const;

/** Flags taken as Go booleans: `--tls`, `--tls=false`, `--tlsverify=0`, ... (pflag's syntax). */
const GO_BOOL_FLAGS = new Set(['tls', 'tlsverify', 'insecure-loopback-tcp', 'userland-proxy', 'icc', 'ip-masq']);
/** daemon.json keys whose flag has another name (dockerd's NamedOption). */
const FILE_KEY: Record<string, string> = { host: 'hosts', 'add-runtime': 'runtimes', 'registry-mirror': 'registry-mirrors', 'insecure-registry': 'insecure-registries', 'cluster-store-opt': 'cluster-store-opts' };

export const DEFAULT_UNIX_HOST = 'unix:///run/berth/berth.sock';
/** dockerd's DefaultTLSHost: with TLS and no -H, listen on TCP instead of the unix socket. */
export const DEFAULT_TLS_HOST = 'tcp://localhost:2376';
const DEFAULT_TCP_PORT = 2375;

function parseGoBool(flag: string, v: string): boolean {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(v)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(v)) return false;
  throw new Error(`invalid argument "${v}" for "--${flag}" flag: strconv.ParseBool: parsing "${v}": invalid syntax`);
}

/**
 * Takes the Go-style boolean flags out of argv (node's parseArgs has no `--flag=false`), keeping
 * the last value given for each: dockerd's `--tlsverify=false` is how TLS runs without client auth.
 */
function takeBoolFlags(argv: string[]): { args: string[]; bools: Map<string, boolean> } {
  const valued = new Set<string>();
  for (const [name, o] of Object.entries(OPTIONS)) {
    if (o.type !== 'string') continue;
    valued.add(`--${name}`);
    if ('short' in o) valued.add(`-${o.short}`);
  }
  const args: string[] = [];
  const bools = new Map<string, boolean>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') { args.push(...argv.slice(i)); break; }
    if (valued.has(a)) { args.push(a); if (i + 1 < argv.length) args.push(argv[++i]); continue; }
    const m = /^--([a-z-]+)(?:=([\s\S]*))?$/.exec(a);
    if (m && GO_BOOL_FLAGS.has(m[1])) { bools.set(m[1], m[2] === undefined ? true : parseGoBool(m[1], m[2])); continue; }
    args.push(a);
  }
  return { args, bools };
}

/** How Go's %v prints a flag or JSON value in dockerd's conflict message. */
function goFmt(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(goFmt).join(' ')}]`;
  if (v && typeof v === 'object') return `map[${Object.keys(v).sort().map((k) => `${k}:${goFmt((v as Record<string, unknown>)[k])}`).join(' ')}]`;
  return String(v);
}

/**
 * One -H value → its normal form, as dockerd's ParseDaemonHost does it:
 *   `tcp://:2376` → `tcp://localhost:2376`, `127.0.0.1` → `tcp://127.0.0.1:2375`,
 *   `tcp://[0:0::1]:2376` → `tcp://[::1]:2376`, `unix://` → the default socket.
 */
export function parseDaemonHost(address: string): string {
  const bad = (why: string): never => { throw new Error(`invalid bind address (${address}): ${why}`); };
  const cut = address.indexOf('://');
  const proto = cut < 0 ? 'tcp' : address.slice(0, cut);
  const addr = cut < 0 ? address : address.slice(cut + 3);
  if (proto === 'unix') {
    if (addr.includes('://')) bad(`invalid unix address: ${addr}`);
    return `unix://${addr || DEFAULT_UNIX_HOST.slice('unix://'.length)}`;
  }
  if (proto === 'fd') bad('fd:// sockets are not supported');
  if (proto !== 'tcp') bad(`unsupported proto '${proto}'`);
  if (addr.includes('/')) bad('should not contain a path element');
  const m = /^\[([^\]]*)\](?::(\d*))?$/.exec(addr) ?? /^([^:[\]]*)(?::(\d*))?$/.exec(addr);
  if (!m) return bad(`invalid address "${addr}"`);
  let host = m[1] || 'localhost';
  const port = m[2] ? Number(m[2]) : DEFAULT_TCP_PORT;
  if (!(port > 0 && port < 65536)) bad(`invalid port: ${m[2]}`);
  if (isIP(host) === 6) host = new URL(`http://[${host}]/`).hostname.slice(1, -1); // canonical form
  else if (!isIP(host) && !/^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$/.test(host)) bad(`invalid host "${host}"`);
  return `tcp://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/** berth's rule for plain-HTTP TCP: only 127.0.0.0/8, ::1 and the name localhost. */
export { isLoopbackHost };

export interface TlsSettings { tls: boolean; tlsverify: boolean; tlscacert?: string; tlscert?: string; tlskey?: string }

/**
 * TLS as dockerd decides it: naming tlsverify at all (even =false) turns TLS on; TLS without an
 * explicit tlsverify verifies client certificates (Docker 20.10 and later). Files not given come
 * from `certDir` ($DOCKER_CERT_PATH or ~/.docker): the CA path always (so a missing one is named
 * in the error), cert and key only when they exist.
 *   resolveTls({ tls: true }, {}, '/c', ...)                    → verify, ca /c/ca.pem
 *   resolveTls({ tls: true, tlsverify: false }, {}, '/c', ...)  → TLS without client certificates
 */
export function resolveTls(flags: Partial<TlsSettings>, file: Record<string, unknown>, certDir: string, exists: (p: string) => boolean): TlsSettings {
  const verifyGiven = flags.tlsverify ?? (file.tlsverify as boolean | undefined);
  const tls = verifyGiven !== undefined || (flags.tls ?? (file.tls as boolean | undefined)) === true;
  const tlsverify = tls && (verifyGiven ?? true);
  const given = (k: 'tlscacert' | 'tlscert' | 'tlskey') => flags[k] ?? (file[k] as string | undefined);
  let tlscacert = given('tlscacert');
  let tlscert = given('tlscert');
  let tlskey = given('tlskey');
  if (tls) {
    if (tlsverify) tlscacert ??= join(certDir, 'ca.pem');
    const orDefault = (p: string | undefined, name: string) => p ?? (exists(join(certDir, name)) ? join(certDir, name) : undefined);
    tlscert = orDefault(tlscert, 'cert.pem');
    tlskey = orDefault(tlskey, 'key.pem');
    if (!tlscert || !tlskey) {
      throw new Error(`invalid TLS configuration: TLS needs the server's certificate and key: --tlscert and --tlskey ("tlscert", "tlskey" in daemon.json); ${certDir}/cert.pem and key.pem do not exist`);
    }
  }
  return { tls, tlsverify, tlscacert, tlscert, tlskey };
}

export async function loadConfig(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<DaemonConfig | 'help' | 'version'> {
  const { args, bools } = takeBoolFlags(argv);
  const { values } = parseArgs({ args, options: OPTIONS, strict: true, allowPositionals: false });
  if (values.help) { process.stdout.write(USAGE); return 'help'; }
  if (values.version) return 'version';
  const cfgPath = values['config-file'] ?? '/etc/berth/daemon.json';
  const fileError = (msg: string) => new Error(`unable to configure the daemon with file ${cfgPath}: ${msg}`);
  let file: Record<string, unknown> = {};
  try {
    file = JSON.parse(await readFile(cfgPath, 'utf8')) as Record<string, unknown>;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT' || values['config-file']) throw fileError((e as Error).message);
  }
  if (!file || typeof file !== 'object' || Array.isArray(file)) throw fileError('the file must hold a JSON object');
  for (const k of ['tls', 'tlsverify', 'insecure-loopback-tcp']) {
    if (k in file && typeof file[k] !== 'boolean') throw fileError(`"${k}" must be true or false`);
  }
  for (const k of ['tlscacert', 'tlscert', 'tlskey', 'data-root', 'exec-root', 'default-runtime', 'log-level', 'pidfile', 'builder-add-url-max-size', 'builder-add-url-idle-timeout']) {
    if (k in file && typeof file[k] !== 'string') throw fileError(`"${k}" must be a string`);
  }
  if ('hosts' in file && !(Array.isArray(file.hosts) && file.hosts.every((h) => typeof h === 'string'))) throw fileError('"hosts" must be a list of strings');
  for (const k of ['registry-mirrors', 'insecure-registries']) {
    if (k in file && !(Array.isArray(file[k]) && (file[k] as unknown[]).every((h) => typeof h === 'string'))) throw fileError(`"${k}" must be a list of strings`);
  }

  // dockerd's rule: a directive given as a flag and in the file is an error, listed in flag-name order.
  const given: [string, unknown][] = [
    ...Object.entries(values).filter(([k, v]) => v !== undefined && !['config-file', 'help', 'version'].includes(k)),
    ...bools.entries(),
  ];
  const conflicts = given.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .filter(([flag]) => (FILE_KEY[flag] ?? flag) in file)
    .map(([flag, v]) => `${FILE_KEY[flag] ?? flag}: (from flag: ${goFmt(flag === 'add-runtime' ? (v as string[]).map((r) => r.split('=')[0]) : v)}, from file: ${goFmt(file[FILE_KEY[flag] ?? flag])})`);
  if (conflicts.length) throw fileError(`the following directives are specified both as a flag and in the configuration file: ${conflicts.join(', ')}`);

  const pick = <T>(flag: T | undefined, key: string, def: T): T => flag ?? (file[key] as T | undefined) ?? def;
  const runtimes: DaemonConfig['runtimes'] = { runc: { path: '/usr/sbin/runc' }, crun: { path: '/usr/bin/crun' }, ...((file.runtimes as DaemonConfig['runtimes']) ?? {}) };
  for (const r of values['add-runtime'] ?? []) {
    const i = r.indexOf('=');
    if (i <= 0) throw new Error(`invalid --add-runtime ${r}: expected name=path`);
    runtimes[r.slice(0, i)] = { path: r.slice(i + 1) };
  }
  const execRoot = resolve(pick(values['exec-root'], 'exec-root', '/run/berth'));
  const dataRoot = resolve(pick(values['data-root'], 'data-root', '/var/lib/berth'));
  const defaultRuntime = pick(values['default-runtime'], 'default-runtime', 'runc');
  if (!runtimes[defaultRuntime]) throw new Error(`default runtime ${defaultRuntime} is not configured`);
  const logLevel = pick(values['log-level'], 'log-level', 'info') as DaemonConfig['logLevel'];
  if (!['debug', 'info', 'warn', 'error'].includes(logLevel)) throw new Error(`invalid log level: ${logLevel}`);

  const { tls, tlsverify, tlscacert, tlscert, tlskey } = resolveTls(
    { tls: bools.get('tls'), tlsverify: bools.get('tlsverify'), tlscacert: values.tlscacert, tlscert: values.tlscert, tlskey: values.tlskey },
    file, defaultCertDir(env), existsSync,
  );
  const insecureLoopbackTcp = bools.get('insecure-loopback-tcp') ?? !!file['insecure-loopback-tcp'];

  const rawHosts = (values.host ?? (file.hosts as string[] | undefined) ?? []).filter((h) => h.trim() !== '');
  if (!rawHosts.length) rawHosts.push(tls ? DEFAULT_TLS_HOST : DEFAULT_UNIX_HOST);
  const hosts = [...new Set(rawHosts.map(parseDaemonHost))];
  for (const h of hosts) {
    if (!h.startsWith('tcp://') || tls) continue;
    const host = new URL(h).hostname;
    if (!isLoopbackHost(host)) {
      throw new Error(`refusing to listen on ${h} without TLS: plain HTTP over TCP gives root on this host to anyone who can reach it; use --tlsverify with --tlscacert, --tlscert and --tlskey (--insecure-loopback-tcp allows plain HTTP only on a loopback address: 127.0.0.0/8, ::1, localhost)`);
    }
    if (!insecureLoopbackTcp) {
      throw new Error(`refusing to listen on ${h} without TLS: use --tlsverify with --tlscacert, --tlscert and --tlskey, or --insecure-loopback-tcp to allow plain HTTP on this loopback address`);
    }
  }
  if (tls) {
    await checkServerTls({ ca: tlscacert, cert: tlscert!, key: tlskey!, verify: tlsverify });
    if (!tlsverify && logLevel !== 'error' && hosts.some((h) => h.startsWith('tcp://'))) {
      // dockerd's words; it also sleeps, berth does not.
      process.stderr.write(`time="${new Date().toISOString()}" level=warn msg="Binding to IP address without --tlsverify is insecure and gives root access on this machine to everyone who has access to your network."\n`);
    }
  }

  const maxSize = pick<string | undefined>(values['builder-add-url-max-size'], 'builder-add-url-max-size', undefined);
  const idle = pick<string | undefined>(values['builder-add-url-idle-timeout'], 'builder-add-url-idle-timeout', undefined);
  const downloadLimits: DownloadLimits = { ...DEFAULT_DOWNLOAD_LIMITS };
  try {
    if (maxSize !== undefined) downloadLimits.maxBytes = parseBytes(maxSize);
  } catch (e) { throw new Error(`invalid builder-add-url-max-size "${maxSize}": ${(e as Error).message}`); }
  try {
    if (idle !== undefined) downloadLimits.idleTimeoutMs = parseDuration(idle) / 1e6;
  } catch (e) { throw new Error(`invalid builder-add-url-idle-timeout "${idle}": ${(e as Error).message}`); }
  if (downloadLimits.idleTimeoutMs < 0) throw new Error(`invalid builder-add-url-idle-timeout "${idle}": must not be negative`);

  return {
    hosts,
    dataRoot,
    execRoot,
    defaultRuntime,
    runtimes,
    logLevel,
    pidfile: pick(values.pidfile, 'pidfile', execRoot === '/run/berth' ? '/run/berth.pid' : `${execRoot}/berthd.pid`),
    tls,
    tlsverify,
    tlscacert,
    tlscert,
    tlskey,
    insecureLoopbackTcp,
    // The default daemon owns the plain names; others get a stable suffix from their exec root.
    instance: execRoot === '/run/berth' ? '' : createHash('sha256').update(execRoot).digest('hex').slice(0, 8),
    bridge: pick(values.bridge, 'bridge', 'berth0'),
    bip: pick<string | undefined>(values.bip, 'bip', undefined),
    userlandProxy: bools.get('userland-proxy') ?? (file['userland-proxy'] as boolean | undefined) ?? true,
    icc: bools.get('icc') ?? (file.icc as boolean | undefined) ?? true,
    ipMasq: bools.get('ip-masq') ?? (file['ip-masq'] as boolean | undefined) ?? true,
    registryMirrors: (values['registry-mirror'] ?? (file['registry-mirrors'] as string[] | undefined) ?? []).map(validateMirror),
    insecureRegistries: (values['insecure-registry'] ?? (file['insecure-registries'] as string[] | undefined) ?? []).map(validateInsecureEntry),
    downloadLimits,
    usernsRemap: pick<string | undefined>(values['userns-remap'], 'userns-remap', undefined) || undefined,
    clusterStore: parseClusterStore(pick<string | undefined>(values['cluster-store'], 'cluster-store', undefined),
      values['cluster-store-opt'] ?? (file['cluster-store-opts'] ? Object.entries(file['cluster-store-opts'] as Record<string, string>).map(([k, v]) => `${k}=${v}`) : [])),
  };
}

/**
 * `etcd://h1:2379,h2:2379` and its options → the members' client URLs, https when the TLS files are
 * given (all three), http otherwise.
 */
export function parseClusterStore(v: string | undefined, opts: string[] = []): DaemonConfig['clusterStore'] {
  if (!v) {
    if (opts.length) throw new Error('cluster-store-opt needs --cluster-store');
    return undefined;
  }
  const m = /^etcd:\/\/(.+)$/.exec(v);
  if (!m) throw new Error(`invalid cluster-store "${v}": etcd://host:port[,host:port...] expected`);
  const o: Record<string, string> = {};
  for (const kv of opts.flatMap((x) => x.split(','))) {
    const i = kv.indexOf('=');
    const k = i > 0 ? kv.slice(0, i) : '';
    if (!['kv.cacertfile', 'kv.certfile', 'kv.keyfile'].includes(k)) throw new Error(`invalid cluster-store-opt "${kv}": kv.cacertfile, kv.certfile or kv.keyfile expected`);
    o[k] = kv.slice(i + 1);
  }
  const n = Object.keys(o).length;
  if (n !== 0 && n !== 3) throw new Error('cluster-store-opt: kv.cacertfile, kv.certfile and kv.keyfile go together');
  const scheme = n ? 'https' : 'http';
  const endpoints = m[1]!.split(',').map((hp) => {
    if (!/^[A-Za-z0-9.\-\[\]:]+:\d+$/.test(hp)) throw new Error(`invalid cluster-store "${v}": bad member address "${hp}"`);
    return `${scheme}://${hp}`;
  });
  return { endpoints, ...(n ? { tls: { caFile: o['kv.cacertfile']!, certFile: o['kv.certfile']!, keyFile: o['kv.keyfile']! } } : {}) };
}
