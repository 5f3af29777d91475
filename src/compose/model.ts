// The compose model: what `berth compose` commands work from, once the files are found,
// merged, interpolated, validated and normalised (load.ts). It mirrors compose-go's
// types.Project, field for field where berth uses the field, in camelCase, with every short
// syntax already expanded and every default filled in — so a command never looks at YAML.
//
// How a command uses it (src/cli/commands/compose.ts has the CLI side, index.ts the entry points):
//
//   const project = loadComposeProject(            // index.ts: -f/-p/--env-file/... → model
//     { files: ['compose.yaml'], projectName: undefined, envFiles: [], profiles: [] },
//     { cwd: process.cwd(), env: process.env, warn },
//     { services: ['web'] },                       // names on the command line: web + its deps
//   );
//   project.name                                    → 'shop'
//   project.services.web                            → an active service (profiles applied)
//   dependencyOrder(project)                        → ['db', 'web']: create/start in this order,
//                                                     stop/remove in reverse (project.ts)
//   networkName(project, 'default')                 → 'shop_default', the engine's name
//   containerName(project, project.services.web, 1) → 'shop-web-1' (or container_name)
//   imageName(project, project.services.web)        → its image, or 'shop-web' when built
//   serviceHash(project.services.web)               → the com.docker.compose.config-hash (hash.ts)
//   LABELS.project, LABELS.service, ...             → compose's label keys
//
// Errors in the files are ComposeError (errors.ts) with compose's message; print and exit 1.
//
// Worked example. With /srv/shop/compose.yaml
//
//   services:
//     web:
//       build: ./web
//       ports: ["127.0.0.1:8080:80"]
//       environment: [DB_HOST=db]
//       depends_on:
//         db: { condition: service_healthy }
//     db:
//       image: postgres:16
//       volumes: [data:/var/lib/postgresql/data]
//       healthcheck: { test: pg_isready, interval: 5s }
//   volumes:
//     data:
//
// the model is (fields left out are undefined):
//
//   { name: 'shop', workingDir: '/srv/shop', composeFiles: ['/srv/shop/compose.yaml'],
//     services: {
//       web: { name: 'web',
//              build: { context: '/srv/shop/web', dockerfile: 'Dockerfile' },
//              ports: [{ mode: 'ingress', hostIp: '127.0.0.1', target: 80, published: '8080', protocol: 'tcp' }],
//              environment: { DB_HOST: 'db' },
//              dependsOn: { db: { condition: 'service_healthy', required: true, restart: false } },
//              networks: { default: null } },
//       db:  { name: 'db', image: 'postgres:16',
//              volumes: [{ type: 'volume', source: 'data', target: '/var/lib/postgresql/data', volume: {} }],
//              healthcheck: { test: ['CMD-SHELL', 'pg_isready'], interval: 5_000_000_000 },
//              networks: { default: null } } },
//     networks: { default: { name: 'shop_default' } },
//     volumes: { data: { name: 'shop_data' } },
//     secrets: {}, configs: {}, ... }
//
// Conventions:
//   - durations are nanoseconds (as the Engine API's HealthConfig wants them), sizes bytes;
//   - `environment` values are `null` for a variable named without a value that the project
//     environment does not define either (compose passes `KEY` alone to the engine then);
//   - `command`/`entrypoint`: undefined = not set (the image's), [] = explicitly empty;
//   - relative paths are absolute (against the project directory, or an included project's);
//   - top-level networks/volumes/secrets/configs all carry their engine `name` (`<project>_<key>`
//     unless `name:` says otherwise; external ones as given);
//   - `extensions` holds `x-*` keys, as compose keeps them.

export interface Project {
  name: string;
  /** The project directory (absolute): relative paths in the files resolved against it. */
  workingDir: string;
  /** The compose files, absolute (`-` for stdin), in load order. */
  composeFiles: string[];
  /** The interpolation environment: process env + .env/--env-file + COMPOSE_PROJECT_NAME. */
  environment: Record<string, string>;
  /**
   * The files given with --env-file (or COMPOSE_ENV_FILES), absolute: what compose puts in the
   * com.docker.compose.project.environment_file label (only when there are some).
   */
  envFiles: string[];
  /** Active services, by name. */
  services: Record<string, Service>;
  /** Services whose profiles are not enabled (or not selected), by name. */
  disabledServices: Record<string, Service>;
  /** The enabled profiles. */
  profiles: string[];
  networks: Record<string, Network>;
  volumes: Record<string, Volume>;
  secrets: Record<string, FileObject>;
  configs: Record<string, FileObject>;
  extensions?: Record<string, unknown>;
}

export type Condition = 'service_started' | 'service_healthy' | 'service_completed_successfully';

export interface Dependency {
  condition: Condition;
  /** Restart this service when the dependency is restarted/recreated. */
  restart: boolean;
  /** false: the dependency may be missing (not defined, or disabled by profiles). */
  required: boolean;
}

export interface Build {
  context: string;
  dockerfile?: string;
  dockerfileInline?: string;
  entitlements?: string[];
  /** null: named without a value and not in the environment (the builder's default applies). */
  args?: Record<string, string | null>;
  provenance?: string;
  sbom?: string;
  ssh?: Record<string, string | null>;
  labels?: Record<string, string>;
  cacheFrom?: string[];
  cacheTo?: string[];
  noCache?: boolean;
  noCacheFilter?: string[];
  additionalContexts?: Record<string, string>;
  pull?: boolean;
  extraHosts?: Record<string, string[]>;
  isolation?: string;
  network?: string;
  target?: string;
  secrets?: FileReference[];
  /** Bytes. */
  shmSize?: number;
  tags?: string[];
  ulimits?: Record<string, Ulimit>;
  platforms?: string[];
  privileged?: boolean;
  extensions?: Record<string, unknown>;
}

export interface WatchRule {
  path: string;
  action: 'sync' | 'rebuild' | 'restart' | 'sync+restart' | 'sync+exec' | string;
  target?: string;
  exec?: Hook;
  include?: string[];
  ignore?: string[];
  initialSync?: boolean;
}

export interface Develop {
  watch?: WatchRule[];
}

export interface Hook {
  command?: string[];
  image?: string;
  user?: string;
  privileged?: boolean;
  workingDir?: string;
  environment?: Record<string, string | null>;
}

export interface Healthcheck {
  /** ['CMD', ...], ['CMD-SHELL', cmd] or ['NONE']; a string in the file is CMD-SHELL. */
  test?: string[];
  /** Nanoseconds. */
  timeout?: number;
  interval?: number;
  retries?: number;
  startPeriod?: number;
  startInterval?: number;
  disable?: boolean;
}

export interface PortConfig {
  name?: string;
  /** 'ingress' (the default) or 'host'. */
  mode: string;
  /** '' = all addresses. */
  hostIp?: string;
  target: number;
  /** A port or a range (`8000-8010`: the engine picks one); undefined = ephemeral. */
  published?: string;
  protocol: string;
  appProtocol?: string;
}

export interface ServiceVolume {
  type: 'volume' | 'bind' | 'tmpfs' | 'npipe' | 'cluster' | 'image' | string;
  /** A volume key of the project (type volume), a host path (bind); absent: anonymous. */
  source?: string;
  target: string;
  readOnly?: boolean;
  consistency?: string;
  /** createHostPath: make a missing source directory (the short syntax sets it; the long syntax must). */
  bind?: { selinux?: string; propagation?: string; createHostPath?: boolean; recursive?: string };
  volume?: { labels?: Record<string, string>; nocopy?: boolean; subpath?: string };
  /** size in bytes, mode as a number (0o1777). */
  tmpfs?: { size?: number; mode?: number };
  image?: { subpath?: string };
}

export interface ServiceNetwork {
  aliases?: string[];
  driverOpts?: Record<string, string>;
  gwPriority?: number;
  interfaceName?: string;
  ipv4Address?: string;
  ipv6Address?: string;
  linkLocalIps?: string[];
  macAddress?: string;
  priority?: number;
}

export interface FileReference {
  source: string;
  /** Secrets default to /run/secrets/<source>; configs to /<source> at runtime. */
  target?: string;
  uid?: string;
  gid?: string;
  mode?: number;
}

export interface Ulimit {
  /** `nofile: 1024` (soft = hard); otherwise soft/hard. */
  single?: number;
  soft?: number;
  hard?: number;
}

export interface DeviceMapping {
  source: string;
  target: string;
  permissions: string;
}

export interface DeviceRequest {
  capabilities?: string[];
  driver?: string;
  /** -1 = all. */
  count?: number;
  deviceIds?: string[];
  options?: Record<string, string>;
}

export interface Resource {
  cpus?: number;
  /** Bytes. */
  memory?: number;
  pids?: number;
  devices?: DeviceRequest[];
  genericResources?: unknown[];
}

export interface RestartPolicy {
  condition?: string;
  /** Nanoseconds. */
  delay?: number;
  maxAttempts?: number;
  window?: number;
}

/** deploy.update_config / rollback_config (swarm's; kept for the model and the hash). */
export interface UpdateConfig {
  parallelism?: number;
  /** Nanoseconds. */
  delay?: number;
  failureAction?: string;
  monitor?: number;
  maxFailureRatio?: number;
  order?: string;
}

export interface Deploy {
  mode?: string;
  replicas?: number;
  labels?: Record<string, string>;
  updateConfig?: UpdateConfig;
  rollbackConfig?: UpdateConfig;
  resources: { limits?: Resource; reservations?: Resource };
  restartPolicy?: RestartPolicy;
  placement?: Record<string, unknown>;
  endpointMode?: string;
}

export interface Logging {
  driver?: string;
  options?: Record<string, string>;
}

export interface Service {
  name: string;
  profiles?: string[];
  annotations?: Record<string, string>;
  attach?: boolean;
  build?: Build;
  develop?: Develop;
  blkioConfig?: Record<string, unknown>;
  capAdd?: string[];
  capDrop?: string[];
  cgroupParent?: string;
  cgroup?: string;
  cpuCount?: number;
  cpuPercent?: number;
  cpuPeriod?: number;
  cpuQuota?: number;
  cpuRtPeriod?: number;
  cpuRtRuntime?: number;
  cpus?: number;
  cpuset?: string;
  cpuShares?: number;
  command?: string[];
  configs?: FileReference[];
  containerName?: string;
  credentialSpec?: Record<string, unknown>;
  dependsOn?: Record<string, Dependency>;
  deploy?: Deploy;
  deviceCgroupRules?: string[];
  devices?: DeviceMapping[];
  dns?: string[];
  dnsOpt?: string[];
  dnsSearch?: string[];
  domainname?: string;
  entrypoint?: string[];
  environment?: Record<string, string | null>;
  expose?: string[];
  externalLinks?: string[];
  /** host → addresses (the engine wants `host:ip` items: extraHostsList()). */
  extraHosts?: Record<string, string[]>;
  groupAdd?: string[];
  gpus?: DeviceRequest[];
  hostname?: string;
  healthcheck?: Healthcheck;
  image?: string;
  init?: boolean;
  ipc?: string;
  isolation?: string;
  labels?: Record<string, string>;
  links?: string[];
  logging?: Logging;
  macAddress?: string;
  /** Bytes. */
  memLimit?: number;
  memReservation?: number;
  memswapLimit?: number;
  memSwappiness?: number;
  /** 'host', 'none', 'bridge', 'service:<name>', 'container:<name|id>'. */
  networkMode?: string;
  /** network key → its per-service settings (null: none). */
  networks?: Record<string, ServiceNetwork | null>;
  oomKillDisable?: boolean;
  oomScoreAdj?: number;
  pid?: string;
  pidsLimit?: number;
  platform?: string;
  ports?: PortConfig[];
  privileged?: boolean;
  /** always, never, missing, build, daily, weekly, every_<duration> ('if_not_present' is 'missing'). */
  pullPolicy?: string;
  readOnly?: boolean;
  restart?: string;
  runtime?: string;
  scale?: number;
  secrets?: FileReference[];
  securityOpt?: string[];
  /** Bytes. */
  shmSize?: number;
  stdinOpen?: boolean;
  /** Nanoseconds. */
  stopGracePeriod?: number;
  stopSignal?: string;
  storageOpt?: Record<string, string>;
  sysctls?: Record<string, string>;
  tmpfs?: string[];
  tty?: boolean;
  ulimits?: Record<string, Ulimit>;
  useApiSocket?: boolean;
  user?: string;
  usernsMode?: string;
  uts?: string;
  volumeDriver?: string;
  volumes?: ServiceVolume[];
  volumesFrom?: string[];
  workingDir?: string;
  postStart?: Hook[];
  preStop?: Hook[];
  extensions?: Record<string, unknown>;
}

export interface IpamPool {
  subnet?: string;
  gateway?: string;
  ipRange?: string;
  auxAddresses?: Record<string, string>;
}

export interface Network {
  /** The engine's name for it. */
  name: string;
  driver?: string;
  driverOpts?: Record<string, string>;
  ipam?: { driver?: string; config?: IpamPool[]; options?: Record<string, string> };
  external?: boolean;
  internal?: boolean;
  attachable?: boolean;
  labels?: Record<string, string>;
  enableIpv4?: boolean;
  enableIpv6?: boolean;
  extensions?: Record<string, unknown>;
}

export interface Volume {
  name: string;
  driver?: string;
  driverOpts?: Record<string, string>;
  external?: boolean;
  labels?: Record<string, string>;
  extensions?: Record<string, unknown>;
}

/** A top-level secret or config. Exactly one source is set, unless external. */
export interface FileObject {
  name: string;
  /** Absolute path of the source file. */
  file?: string;
  /** The variable the content comes from (its value is in `content`, if it was set). */
  environment?: string;
  content?: string;
  external?: boolean;
  labels?: Record<string, string>;
  driver?: string;
  driverOpts?: Record<string, string>;
  templateDriver?: string;
  extensions?: Record<string, unknown>;
}

// ---------------------------------------------------------------------------------------------
// Names compose v2 gives to what it creates (api.Separator is '-'; compose's --compatibility
// '_' form is not supported).

export const SEPARATOR = '-';

/** `<project>-<service>-<n>`, or the service's container_name. */
export function containerName(project: Pick<Project, 'name'>, service: Pick<Service, 'name' | 'containerName'>, n: number): string {
  return service.containerName ?? `${project.name}${SEPARATOR}${service.name}${SEPARATOR}${n}`;
}

/** `<project>-<service>-run-<12 hex>` for `compose run` containers. */
export function oneOffContainerName(project: Pick<Project, 'name'>, service: Pick<Service, 'name'>, id: string): string {
  return `${project.name}${SEPARATOR}${service.name}${SEPARATOR}run${SEPARATOR}${id.slice(0, 12)}`;
}

/** The image a service runs: its `image:`, or `<project>-<service>` for what compose builds. */
export function imageName(project: Pick<Project, 'name'>, service: Pick<Service, 'name' | 'image'>): string {
  return service.image || `${project.name}${SEPARATOR}${service.name}`;
}

/** `<project>_<key>` unless the file names it; as already set on the model's resources. */
export function defaultResourceName(projectName: string, key: string): string {
  return `${projectName}_${key}`;
}

export function networkName(project: Pick<Project, 'name' | 'networks'>, key: string): string {
  return project.networks[key]?.name ?? defaultResourceName(project.name, key);
}

export function volumeName(project: Pick<Project, 'name' | 'volumes'>, key: string): string {
  return project.volumes[key]?.name ?? defaultResourceName(project.name, key);
}

/** `extra_hosts` as the Engine API's HostConfig.ExtraHosts wants them: `host:ip`. */
export function extraHostsList(hosts: Record<string, string[]> | undefined, sep = ':'): string[] {
  const out: string[] = [];
  for (const [h, ips] of Object.entries(hosts ?? {})) for (const ip of ips) out.push(`${h}${sep}${ip}`);
  return out;
}

/** How many containers a service runs: scale, else deploy.replicas, else 1. */
export function serviceScale(s: Pick<Service, 'scale' | 'deploy'>): number {
  return s.scale ?? s.deploy?.replicas ?? 1;
}

/** A service's networks, highest priority first then by name (the order compose connects them). */
export function networksByPriority(s: Pick<Service, 'networks'>): string[] {
  return Object.entries(s.networks ?? {})
    .map(([k, v]) => ({ k, p: v?.priority ?? 0 }))
    .sort((a, b) => (a.p === b.p ? (a.k < b.k ? -1 : a.k > b.k ? 1 : 0) : b.p - a.p))
    .map((e) => e.k);
}

// Labels compose v2 sets (com.docker.compose.*), for the runtime to put on what it creates.
export const LABELS = {
  project: 'com.docker.compose.project',
  service: 'com.docker.compose.service',
  containerNumber: 'com.docker.compose.container-number',
  oneoff: 'com.docker.compose.oneoff',
  configHash: 'com.docker.compose.config-hash',
  dependsOn: 'com.docker.compose.depends_on',
  image: 'com.docker.compose.image',
  workingDir: 'com.docker.compose.project.working_dir',
  configFiles: 'com.docker.compose.project.config_files',
  environmentFile: 'com.docker.compose.project.environment_file',
  version: 'com.docker.compose.version',
  network: 'com.docker.compose.network',
  volume: 'com.docker.compose.volume',
  replace: 'com.docker.compose.replace',
  slug: 'com.docker.compose.slug',
} as const;
