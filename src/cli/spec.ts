// The command table: every verb's usage, argument count, flags and implementation, as data.
// args.ts parses a command line against it (pflag rules), main.ts dispatches to the lazily
// loaded implementation, help.ts renders help from it with commander.
//
// Flags follow docker's names, short forms and defaults. Option kinds:
//   bool    a switch; `--flag=false` / `--flag=true` are accepted as pflag does
//   string  one value (the last one wins)
//   list    repeatable, collected in order
//   int     one integer value, checked like Go's strconv.ParseInt
import type { Ctx } from './context.ts';

export type OptKind = 'bool' | 'string' | 'list' | 'int';

export interface OptDef {
  /** `-e, --env` or `--rm` (no value placeholder: the kind says whether a value follows). */
  flags: string;
  kind: OptKind;
  desc: string;
  default?: string | boolean | number;
  hidden?: boolean;
  /**
   * The key the value is stored under, when the flag's own name would collide with another's
   * (compose's `--build` and `--no-build`, `--attach` and `--no-attach`): the value is stored as
   * given, without the `--no-x` → `x=false` convention.
   */
  key?: string;
}

/** What the parser stores under an option's key (main.ts turns `int` values into numbers). */
export type OptValue = string | boolean | number | string[] | undefined;
export type ParsedOptions = Record<string, OptValue>;

export type Action<O = ParsedOptions> = (ctx: Ctx, args: string[], opts: O) => Promise<number | void>;

// ---------------------------------------------------------------------------------------------
// Option types computed from the declared flags (args.ts's optKey and store(), at the type
// level): `list('-e, --env', …)` gives `env?: string[]`, `bool('--no-trunc', …)` gives
// `trunc?: boolean`, `int('--cpu-period')` `cpuPeriod?: number`. A handler declares
// `o: OptionsOf<typeof CONTAINER_COMMANDS.stop>` (or Options<typeof SOME_OPTS>).

/** The first long name without its dashes: `-e, --env` → `env`, `--network, --net` → `network`. */
type LongName<F extends string> = F extends `${string}--${infer L}` ? (L extends `${infer A},${string}` ? A : L) : never;
type StripNo<S extends string> = S extends `no-${infer R}` ? StripNo<R> : S;
type Camel<S extends string> = S extends `${infer H}-${infer T}` ? `${H}${Capitalize<Camel<T>>}` : S;
type KeyOf<D> = D extends { key: infer K extends string } ? K : D extends { flags: infer F extends string } ? Camel<StripNo<LongName<F>>> : never;
type ValueOf<K extends OptKind> = K extends 'bool' ? boolean : K extends 'string' ? string : K extends 'list' ? string[] : number;

/** The options object a command with these flags receives (every key may be absent). */
export type Options<O extends readonly OptDef[]> = { [D in O[number] as KeyOf<D>]?: ValueOf<D['kind']> };
export type OptionsOf<C extends { options: readonly OptDef[] }> = Options<C['options']>;

export interface CommandSpec {
  /** The invocation names: top-level form and/or `container X` form. */
  name: string;
  usage: string;
  desc: string;
  /** Argument count rules, checked with docker's messages. */
  min?: number;
  max?: number;
  options: readonly OptDef[];
  /** Flags end at the first argument (run, create, exec: the rest is the container's command). */
  stopAtFirstArg?: boolean;
  /** `-h` means something else here (run/create's --hostname), so help is only `--help`. */
  noShortHelp?: boolean;
  load: () => Promise<Action>;
}

// The builders keep each flag string's literal type, which Options<> reads.
const bool = <F extends string>(flags: F, desc: string, def?: boolean) => ({ flags, kind: 'bool' as const, desc, default: def });
const str = <F extends string>(flags: F, desc: string, def?: string) => ({ flags, kind: 'string' as const, desc, default: def });
const list = <F extends string>(flags: F, desc: string) => ({ flags, kind: 'list' as const, desc });
const int = <F extends string>(flags: F, desc: string, def?: number) => ({ flags, kind: 'int' as const, desc, default: def });

const CONTAINER_CREATE_OPTS = [
  list('-a, --attach', 'Attach to STDIN, STDOUT or STDERR'),
  list('--add-host', 'Add a custom host-to-IP mapping (host:ip)'),
  str('--cgroup-parent', 'Optional parent cgroup for the container'),
  str('--cgroupns', 'Cgroup namespace to use (host|private)'),
  list('--cap-add', 'Add Linux capabilities'),
  list('--cap-drop', 'Drop Linux capabilities'),
  str('--cidfile', 'Write the container ID to the file'),
  int('--cpu-period', 'Limit CPU CFS (Completely Fair Scheduler) period'),
  int('--cpu-quota', 'Limit CPU CFS (Completely Fair Scheduler) quota'),
  int('-c, --cpu-shares', 'CPU shares (relative weight)'),
  str('--cpus', 'Number of CPUs'),
  str('--cpuset-cpus', 'CPUs in which to allow execution (0-3, 0,1)'),
  str('--cpuset-mems', 'MEMs in which to allow execution (0-3, 0,1)'),
  str('--detach-keys', 'Override the key sequence for detaching a container'),
  list('--device', 'Add a host device to the container'),
  list('--device-cgroup-rule', 'Add a rule to the cgroup allowed devices list'),
  bool('--disable-content-trust', 'Skip image verification', true),
  list('--dns', 'Set custom DNS servers'),
  list('--dns-option', 'Set DNS options'),
  list('--dns-search', 'Set custom DNS search domains'),
  str('--domainname', 'Container NIS domain name'),
  str('--entrypoint', 'Overwrite the default ENTRYPOINT of the image'),
  list('-e, --env', 'Set environment variables'),
  list('--env-file', 'Read in a file of environment variables'),
  list('--expose', 'Expose a port or a range of ports'),
  list('--group-add', 'Add additional groups to join'),
  str('--health-cmd', 'Command to run to check health'),
  str('--health-interval', 'Time between running the check (ms|s|m|h) (default 0s)'),
  int('--health-retries', 'Consecutive failures needed to report unhealthy'),
  str('--health-start-interval', 'Time between running the check during the start period (ms|s|m|h) (default 0s)'),
  str('--health-start-period', 'Start period for the container to initialize before starting health-retries countdown (ms|s|m|h) (default 0s)'),
  str('--health-timeout', 'Maximum time to allow one check to run (ms|s|m|h) (default 0s)'),
  str('-h, --hostname', 'Container host name'),
  bool('--init', 'Run an init inside the container that forwards signals and reaps processes'),
  bool('-i, --interactive', 'Keep STDIN open even if not attached'),
  str('--ip', 'IPv4 address (e.g., 172.30.100.104)'),
  str('--ip6', 'IPv6 address (e.g., 2001:db8::33)'),
  str('--ipc', 'IPC mode to use'),
  str('--isolation', 'Container isolation technology'),
  list('-l, --label', 'Set meta data on a container'),
  list('--label-file', 'Read in a line delimited file of labels'),
  list('--link', 'Add link to another container'),
  str('--log-driver', 'Logging driver for the container'),
  list('--log-opt', 'Log driver options'),
  str('--mac-address', 'Container MAC address (e.g., 92:d0:c6:0a:29:33)'),
  str('-m, --memory', 'Memory limit'),
  str('--memory-reservation', 'Memory soft limit'),
  str('--memory-swap', "Swap limit equal to memory plus swap: '-1' to enable unlimited swap"),
  int('--memory-swappiness', 'Tune container memory swappiness (0 to 100)', -1),
  list('--mount', 'Attach a filesystem mount to the container'),
  str('--name', 'Assign a name to the container'),
  list('--network, --net', 'Connect a container to a network'),
  list('--network-alias', 'Add network-scoped alias for the container'),
  bool('--no-healthcheck', 'Disable any container-specified HEALTHCHECK'),
  bool('--oom-kill-disable', 'Disable OOM Killer'),
  int('--oom-score-adj', "Tune host's OOM preferences (-1000 to 1000)"),
  str('--pid', 'PID namespace to use'),
  int('--pids-limit', 'Tune container pids limit (set -1 for unlimited)'),
  str('--platform', 'Set platform if server is multi-platform capable'),
  bool('--privileged', 'Give extended privileges to this container'),
  list('-p, --publish', "Publish a container's port(s) to the host"),
  bool('-P, --publish-all', 'Publish all exposed ports to random ports'),
  str('--pull', 'Pull image before running ("always", "missing", "never")', 'missing'),
  bool('-q, --quiet', 'Suppress the pull output'),
  bool('--read-only', "Mount the container's root filesystem as read only"),
  str('--restart', 'Restart policy to apply when a container exits', 'no'),
  bool('--rm', 'Automatically remove the container and its associated anonymous volumes when it exits'),
  str('--runtime', 'Runtime to use for this container'),
  list('--security-opt', 'Security Options'),
  str('--shm-size', 'Size of /dev/shm'),
  str('--stop-signal', 'Signal to stop the container'),
  int('--stop-timeout', 'Timeout (in seconds) to stop a container'),
  list('--storage-opt', 'Storage driver options for the container'),
  list('--sysctl', 'Sysctl options'),
  list('--tmpfs', 'Mount a tmpfs directory'),
  bool('-t, --tty', 'Allocate a pseudo-TTY'),
  list('--ulimit', 'Ulimit options'),
  str('-u, --user', 'Username or UID (format: <name|uid>[:<group|gid>])'),
  str('--userns', 'User namespace to use'),
  str('--uts', 'UTS namespace to use'),
  list('-v, --volume', 'Bind mount a volume'),
  str('--volume-driver', 'Optional volume driver for the container'),
  list('--volumes-from', 'Mount volumes from the specified container(s)'),
  str('-w, --workdir', 'Working directory inside the container'),
];

const RUN_OPTS = [
  bool('-d, --detach', 'Run container in background and print container ID'),
  bool('--sig-proxy', 'Proxy received signals to the process', true),
  ...CONTAINER_CREATE_OPTS,
];

const FILTER = list('-f, --filter', 'Filter output based on conditions provided');
const FORMAT = (what: string) => str('--format', `Format output using a custom template:\n'table':            Print output in table format with column headers (default)\n'table TEMPLATE':   Print output in table format using the given Go template\n'json':             Print in JSON format\n'TEMPLATE':         Print output using the given Go template (${what})`);

/** docker's legacy builder flags (`DOCKER_BUILDKIT=0 docker build`), plus BuildKit's --progress. */
const BUILD_OPTS = [
  list('--add-host', 'Add a custom host-to-IP mapping ("host:ip")'),
  list('--build-arg', 'Set build-time variables'),
  list('--cache-from', 'Images to consider as cache sources'),
  str('--cgroup-parent', 'Set the parent cgroup for the "RUN" instructions during build'),
  bool('--compress', 'Compress the build context using gzip'),
  int('--cpu-period', 'Limit the CPU CFS (Completely Fair Scheduler) period'),
  int('--cpu-quota', 'Limit the CPU CFS (Completely Fair Scheduler) quota'),
  int('-c, --cpu-shares', 'CPU shares (relative weight)'),
  str('--cpuset-cpus', 'CPUs in which to allow execution (0-3, 0,1)'),
  str('--cpuset-mems', 'MEMs in which to allow execution (0-3, 0,1)'),
  bool('--disable-content-trust', 'Skip image verification', true),
  str('-f, --file', 'Name of the Dockerfile (Default is "PATH/Dockerfile")'),
  bool('--force-rm', 'Always remove intermediate containers'),
  str('--iidfile', 'Write the image ID to the file'),
  str('--isolation', 'Container isolation technology'),
  list('--label', 'Set metadata for an image'),
  str('-m, --memory', 'Memory limit'),
  str('--memory-swap', 'Swap limit equal to memory plus swap: -1 to enable unlimited swap'),
  str('--network', 'Set the networking mode for the RUN instructions during build', 'default'),
  bool('--no-cache', 'Do not use cache when building the image'),
  str('--platform', 'Set platform if server is multi-platform capable'),
  str('--progress', 'Set type of progress output ("auto", "plain", "tty"). Use plain to show container output', 'auto'),
  bool('--pull', 'Always attempt to pull a newer version of the image'),
  bool('-q, --quiet', 'Suppress the build output and print image ID on success'),
  bool('--rm', 'Remove intermediate containers after a successful build', true),
  list('--security-opt', 'Security options'),
  str('--shm-size', 'Size of "/dev/shm"'),
  bool('--squash', 'Squash newly built layers into a single new layer'),
  list('-t, --tag', 'Name and optionally a tag in the "name:tag" format'),
  str('--target', 'Set the target build stage to build.'),
  list('--ulimit', 'Ulimit options'),
];

/**
 * The implementation `key` of a lazily imported module. Typed loosely on purpose: the handlers
 * take their options type from this file (OptionsOf<typeof X.y>), so reading their types here
 * would make the tables' types depend on themselves.
 */
const lazy = (load: () => Promise<unknown>, key: string) => async (): Promise<Action> => (await load() as Record<string, Action>)[key];
const runMod = () => import('./commands/run.ts');
const ctrMod = () => import('./commands/containers.ts');
const psMod = () => import('./commands/ps.ts');
const imgMod = () => import('./commands/images.ts');
const imgArchMod = () => import('./commands/image-archive.ts');
const inspMod = () => import('./commands/inspect.ts');
const sysMod = () => import('./commands/system.ts');
const versionMod = () => import('./commands/version.ts');
const execMod = () => import('./commands/exec.ts');
const buildMod = () => import('./commands/build.ts');
const volMod = () => import('./commands/volumes.ts');
const builderMod = () => import('./commands/builder.ts');
const portMod = () => import('./commands/port.ts');

/** Container verbs: `berth X` and `berth container X`. */
export const CONTAINER_COMMANDS = {
  run: {
    name: 'run', usage: '[OPTIONS] IMAGE [COMMAND] [ARG...]', desc: 'Create and run a new container from an image',
    min: 1, options: RUN_OPTS, stopAtFirstArg: true, noShortHelp: true, load: lazy(runMod, 'run'),
  },
  create: {
    name: 'create', usage: '[OPTIONS] IMAGE [COMMAND] [ARG...]', desc: 'Create a new container',
    min: 1, options: CONTAINER_CREATE_OPTS, stopAtFirstArg: true, noShortHelp: true, load: lazy(runMod, 'create'),
  },
  start: {
    name: 'start', usage: '[OPTIONS] CONTAINER [CONTAINER...]', desc: 'Start one or more stopped containers', min: 1,
    options: [bool('-a, --attach', "Attach STDOUT/STDERR and forward signals"), str('--detach-keys', 'Override the key sequence for detaching a container'), bool('-i, --interactive', "Attach container's STDIN")],
    load: lazy(runMod, 'start'),
  },
  attach: {
    name: 'attach', usage: '[OPTIONS] CONTAINER', desc: 'Attach local standard input, output, and error streams to a running container', min: 1, max: 1,
    options: [str('--detach-keys', 'Override the key sequence for detaching a container'), bool('--no-stdin', 'Do not attach STDIN'), bool('--sig-proxy', 'Proxy all received signals to the process', true)],
    load: lazy(runMod, 'attach'),
  },
  stop: {
    name: 'stop', usage: '[OPTIONS] CONTAINER [CONTAINER...]', desc: 'Stop one or more running containers', min: 1,
    options: [str('-s, --signal', 'Signal to send to the container'), int('-t, --timeout', 'Seconds to wait before killing the container')],
    load: lazy(ctrMod, 'stop'),
  },
  kill: {
    name: 'kill', usage: '[OPTIONS] CONTAINER [CONTAINER...]', desc: 'Kill one or more running containers', min: 1,
    options: [str('-s, --signal', 'Signal to send to the container')], load: lazy(ctrMod, 'kill'),
  },
  restart: {
    name: 'restart', usage: '[OPTIONS] CONTAINER [CONTAINER...]', desc: 'Restart one or more containers', min: 1,
    options: [str('-s, --signal', 'Signal to send to the container'), int('-t, --timeout', 'Seconds to wait before killing the container')],
    load: lazy(ctrMod, 'restart'),
  },
  rm: {
    name: 'rm', usage: '[OPTIONS] CONTAINER [CONTAINER...]', desc: 'Remove one or more containers', min: 1,
    options: [bool('-f, --force', 'Force the removal of a running container (uses SIGKILL)'), bool('-l, --link', 'Remove the specified link'), bool('-v, --volumes', 'Remove anonymous volumes associated with the container')],
    load: lazy(ctrMod, 'rm'),
  },
  ps: {
    name: 'ps', usage: '[OPTIONS]', desc: 'List containers', max: 0,
    options: [
      bool('-a, --all', 'Show all containers (default shows just running)'), FILTER, FORMAT('ps'),
      int('-n, --last', 'Show n last created containers (includes all states)', -1),
      bool('-l, --latest', 'Show the latest created container (includes all states)'),
      bool('--no-trunc', "Don't truncate output"), bool('-q, --quiet', 'Only display container IDs'),
      bool('-s, --size', 'Display total file sizes'),
    ],
    load: lazy(psMod, 'ps'),
  },
  logs: {
    name: 'logs', usage: '[OPTIONS] CONTAINER', desc: 'Fetch the logs of a container', min: 1, max: 1,
    options: [
      bool('--details', 'Show extra details provided to logs'), bool('-f, --follow', 'Follow log output'),
      str('--since', 'Show logs since timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m" for 42 minutes)'),
      str('-n, --tail', 'Number of lines to show from the end of the logs', 'all'),
      bool('-t, --timestamps', 'Show timestamps'),
      str('--until', 'Show logs before a timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m" for 42 minutes)'),
    ],
    load: lazy(ctrMod, 'logs'),
  },
  inspect: {
    name: 'inspect', usage: '[OPTIONS] CONTAINER [CONTAINER...]', desc: 'Display detailed information on one or more containers', min: 1,
    options: [str('-f, --format', 'Format output using a custom template'), bool('-s, --size', 'Display total file sizes')],
    load: lazy(inspMod, 'containerInspect'),
  },
  wait: {
    name: 'wait', usage: 'CONTAINER [CONTAINER...]', desc: 'Block until one or more containers stop, then print their exit codes', min: 1,
    options: [], load: lazy(ctrMod, 'wait'),
  },
  rename: {
    name: 'rename', usage: 'CONTAINER NEW_NAME', desc: 'Rename a container', min: 2, max: 2, options: [], load: lazy(ctrMod, 'rename'),
  },
  pause: {
    name: 'pause', usage: 'CONTAINER [CONTAINER...]', desc: 'Pause all processes within one or more containers', min: 1, options: [], load: lazy(ctrMod, 'pause'),
  },
  unpause: {
    name: 'unpause', usage: 'CONTAINER [CONTAINER...]', desc: 'Unpause all processes within one or more containers', min: 1, options: [], load: lazy(ctrMod, 'unpause'),
  },
  export: {
    name: 'export', usage: '[OPTIONS] CONTAINER', desc: "Export a container's filesystem as a tar archive", min: 1, max: 1,
    options: [str('-o, --output', 'Write to a file, instead of STDOUT')], load: lazy(ctrMod, 'exportCmd'),
  },
  commit: {
    name: 'commit', usage: '[OPTIONS] CONTAINER [REPOSITORY[:TAG]]', desc: "Create a new image from a container's changes", min: 1, max: 2,
    options: [
      str('-a, --author', 'Author (e.g., "John Hannibal Smith <hannibal@a-team.com>")'),
      list('-c, --change', 'Apply Dockerfile instruction to the created image'),
      str('-m, --message', 'Commit message'),
      bool('-p, --pause', 'Pause container during commit', true),
    ],
    load: lazy(imgArchMod, 'commit'),
  },
  cp: {
    name: 'cp', usage: '[OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-\n\tberth cp [OPTIONS] SRC_PATH|- CONTAINER:DEST_PATH', desc: 'Copy files/folders between a container and the local filesystem', min: 2, max: 2,
    options: [
      bool('-L, --follow-link', 'Always follow symlinks in SRC_PATH'),
      bool('-a, --archive', 'Archive mode (copy all uid/gid information)'),
      bool('-q, --quiet', 'Suppress progress output during copy. Progress output is automatically suppressed if no terminal is attached'),
    ],
    load: lazy(() => import('./commands/cp.ts'), 'cp'),
  },
  diff: {
    name: 'diff', usage: 'CONTAINER', desc: "Inspect changes to files or directories on a container's filesystem", min: 1, max: 1, options: [], load: lazy(ctrMod, 'diff'),
  },
  stats: {
    name: 'stats', usage: '[OPTIONS] [CONTAINER...]', desc: 'Display a live stream of container(s) resource usage statistics',
    options: [
      bool('-a, --all', 'Show all containers (default shows just running)'),
      str('--format', "Format output using a custom template:\n'table':            Print output in table format with column headers (default)\n'table TEMPLATE':   Print output in table format using the given Go template\n'json':             Print in JSON format\n'TEMPLATE':         Print output using the given Go template.\nRefer to https://docs.docker.com/go/formatting/ for more information about formatting output with templates"),
      bool('--no-stream', 'Disable streaming stats and only pull the first result'),
      bool('--no-trunc', "Do not truncate output"),
    ],
    load: lazy(() => import('./commands/stats.ts'), 'stats'),
  },
  update: {
    name: 'update', usage: '[OPTIONS] CONTAINER [CONTAINER...]', desc: 'Update configuration of one or more containers', min: 1,
    options: [
      int('--blkio-weight', 'Block IO (relative weight), between 10 and 1000, or 0 to disable (default 0)'),
      int('--cpu-period', 'Limit CPU CFS (Completely Fair Scheduler) period'),
      int('--cpu-quota', 'Limit CPU CFS (Completely Fair Scheduler) quota'),
      int('-c, --cpu-shares', 'CPU shares (relative weight)'),
      str('--cpus', 'Number of CPUs'),
      str('--cpuset-cpus', 'CPUs in which to allow execution (0-3, 0,1)'),
      str('--cpuset-mems', 'MEMs in which to allow execution (0-3, 0,1)'),
      str('-m, --memory', 'Memory limit'),
      str('--memory-reservation', 'Memory soft limit'),
      str('--memory-swap', 'Swap limit equal to memory plus swap: -1 to enable unlimited swap'),
      int('--pids-limit', 'Tune container pids limit (set -1 for unlimited)'),
      str('--restart', 'Restart policy to apply when a container exits'),
    ],
    load: lazy(() => import('./commands/stats.ts'), 'update'),
  },
  top: {
    name: 'top', usage: 'CONTAINER [ps OPTIONS]', desc: 'Display the running processes of a container', min: 1, options: [], stopAtFirstArg: true, load: lazy(ctrMod, 'top'),
  },
  port: {
    // No min/max: docker's RequiresRangeArgs message ("requires at least 1 and at most 2
    // arguments") is port.ts's own.
    name: 'port', usage: 'CONTAINER [PRIVATE_PORT[/PROTO]]', desc: 'List port mappings or a specific mapping for the container', options: [], load: lazy(portMod, 'port'),
  },
  exec: {
    name: 'exec', usage: '[OPTIONS] CONTAINER COMMAND [ARG...]', desc: 'Execute a command in a running container', min: 2,
    options: [
      bool('-d, --detach', 'Detached mode: run command in the background'),
      str('--detach-keys', 'Override the key sequence for detaching a container'),
      list('-e, --env', 'Set environment variables'), list('--env-file', 'Read in a file of environment variables'),
      bool('-i, --interactive', 'Keep STDIN open even if not attached'), bool('--privileged', 'Give extended privileges to the command'),
      bool('-t, --tty', 'Allocate a pseudo-TTY'), str('-u, --user', 'Username or UID (format: "<name|uid>[:<group|gid>]")'),
      str('-w, --workdir', 'Working directory inside the container'),
    ],
    stopAtFirstArg: true, load: lazy(execMod, 'exec'),
  },
  prune: {
    name: 'prune', usage: '[OPTIONS]', desc: 'Remove all stopped containers', max: 0,
    options: [list('--filter', 'Provide filter values (e.g. "until=<timestamp>")'), bool('-f, --force', 'Do not prompt for confirmation')],
    load: lazy(ctrMod, 'prune'),
  },
} satisfies Record<string, CommandSpec>;

/** Image verbs: `berth image X` (and the top-level forms listed in TOP_LEVEL). */
export const IMAGE_COMMANDS = {
  build: {
    name: 'build', usage: '[OPTIONS] PATH | URL | -', desc: 'Build an image from a Dockerfile', min: 1, max: 1,
    options: BUILD_OPTS, load: lazy(buildMod, 'build'),
  },
  ls: {
    name: 'ls', usage: '[OPTIONS] [REPOSITORY[:TAG]]', desc: 'List images', max: 1,
    options: [
      bool('-a, --all', 'Show all images (default hides intermediate images)'), bool('--digests', 'Show digests'),
      FILTER, FORMAT('images'), bool('--no-trunc', "Don't truncate output"), bool('-q, --quiet', 'Only show image IDs'),
      bool('--tree', 'List multi-platform images as a tree (EXPERIMENTAL)', false),
    ],
    load: lazy(imgMod, 'images'),
  },
  import: {
    name: 'import', usage: '[OPTIONS] file|URL|- [REPOSITORY[:TAG]]', desc: 'Import the contents from a tarball to create a filesystem image', min: 1, max: 2,
    options: [list('-c, --change', 'Apply Dockerfile instruction to the created image'), str('-m, --message', 'Set commit message for imported image'), str('--platform', 'Set platform if server is multi-platform capable')],
    load: lazy(imgMod, 'importImage'),
  },
  tag: {
    name: 'tag', usage: 'SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]', desc: 'Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE', min: 2, max: 2,
    options: [], load: lazy(imgMod, 'tag'),
  },
  rm: {
    name: 'rm', usage: '[OPTIONS] IMAGE [IMAGE...]', desc: 'Remove one or more images', min: 1,
    options: [bool('-f, --force', 'Force removal of the image'), bool('--no-prune', 'Do not delete untagged parents')],
    load: lazy(imgMod, 'rmi'),
  },
  inspect: {
    name: 'inspect', usage: '[OPTIONS] IMAGE [IMAGE...]', desc: 'Display detailed information on one or more images', min: 1,
    options: [str('-f, --format', 'Format output using a custom template')], load: lazy(inspMod, 'imageInspect'),
  },
  save: {
    name: 'save', usage: '[OPTIONS] IMAGE [IMAGE...]', desc: 'Save one or more images to a tar archive (streamed to STDOUT by default)', min: 1,
    options: [str('-o, --output', 'Write to a file, instead of STDOUT'), str('--platform', 'Save only the given platform variant. Formatted as "os[/arch[/variant]]" (e.g., "linux/amd64")')],
    load: lazy(imgArchMod, 'save'),
  },
  load: {
    name: 'load', usage: '[OPTIONS]', desc: 'Load an image from a tar archive or STDIN', max: 0,
    options: [str('-i, --input', 'Read from tar archive file, instead of STDIN'), str('--platform', 'Load only the given platform variant. Formatted as "os[/arch[/variant]]" (e.g., "linux/amd64")'), bool('-q, --quiet', 'Suppress the load output')],
    load: lazy(imgArchMod, 'load'),
  },
  history: {
    name: 'history', usage: '[OPTIONS] IMAGE', desc: 'Show the history of an image', min: 1, max: 1,
    options: [FORMAT('history'), bool('-H, --human', 'Print sizes and dates in human readable format', true), bool('--no-trunc', "Don't truncate output"), bool('-q, --quiet', 'Only show image IDs')],
    load: lazy(imgMod, 'history'),
  },
  pull: {
    name: 'pull', usage: '[OPTIONS] NAME[:TAG|@DIGEST]', desc: 'Download an image from a registry', min: 1, max: 1,
    options: [bool('-a, --all-tags', 'Download all tagged images in the repository'), bool('--disable-content-trust', 'Skip image verification', true), str('--platform', 'Set platform if server is multi-platform capable'), bool('-q, --quiet', 'Suppress verbose output')],
    load: lazy(imgMod, 'pull'),
  },
  push: {
    name: 'push', usage: '[OPTIONS] NAME[:TAG]', desc: 'Upload an image to a registry', min: 1, max: 1,
    options: [bool('-a, --all-tags', 'Push all tags of an image to the repository'), bool('--disable-content-trust', 'Skip image signing', true), str('--platform', 'Push a platform-specific manifest as a single-platform image to the registry'), bool('-q, --quiet', 'Suppress verbose output')],
    load: lazy(() => import('./commands/registry-client.ts'), 'push'),
  },
  prune: {
    name: 'prune', usage: '[OPTIONS]', desc: 'Remove unused images', max: 0,
    options: [bool('-a, --all', 'Remove all unused images, not just dangling ones'), list('--filter', 'Provide filter values (e.g. "until=<timestamp>")'), bool('-f, --force', 'Do not prompt for confirmation')],
    load: lazy(imgMod, 'prune'),
  },
} satisfies Record<string, CommandSpec>;

export const SYSTEM_COMMANDS = {
  info: {
    name: 'info', usage: '[OPTIONS]', desc: 'Display system-wide information', max: 0,
    options: [str('-f, --format', 'Format output using a custom template')], load: lazy(sysMod, 'info'),
  },
  events: {
    name: 'events', usage: '[OPTIONS]', desc: 'Get real time events from the server', max: 0,
    options: [FILTER, str('--format', 'Format output using a custom template'), str('--since', 'Show all events created since timestamp'), str('--until', 'Stream events until this timestamp')],
    load: lazy(sysMod, 'events'),
  },
  df: {
    name: 'df', usage: '[OPTIONS]', desc: 'Show berth disk usage', max: 0,
    options: [
      str('--format', "Format output using a custom template:\n'table':            Print output in table format with column headers (default)\n'table TEMPLATE':   Print output in table format using the given Go template\n'json':             Print in JSON format\n'TEMPLATE':         Print output using the given Go template.\nRefer to https://docs.docker.com/go/formatting/ for more information about formatting output with templates"),
      bool('-v, --verbose', 'Show detailed information on space usage'),
    ],
    load: lazy(sysMod, 'df'),
  },
  prune: {
    name: 'prune', usage: '[OPTIONS]', desc: 'Remove unused data', max: 0,
    options: [
      bool('-a, --all', 'Remove all unused images not just dangling ones'),
      list('--filter', 'Provide filter values (e.g. "label=<key>=<value>")'),
      bool('-f, --force', 'Do not prompt for confirmation'),
      bool('--volumes', 'Prune anonymous volumes'),
    ],
    load: lazy(() => import('./commands/system-prune.ts'), 'prune'),
  },
} satisfies Record<string, CommandSpec>;

/** `berth builder X`: build cache management (and `builder build`, as docker has it). */
export const BUILDER_COMMANDS = {
  build: IMAGE_COMMANDS.build,
  prune: {
    name: 'prune', usage: '', desc: 'Remove build cache', max: 0,
    options: [
      bool('-a, --all', 'Remove all unused build cache, not just dangling ones'),
      list('--filter', 'Provide filter values (e.g. "until=24h")'),
      bool('-f, --force', 'Do not prompt for confirmation'),
      str('--keep-storage', 'Amount of disk space to keep for cache'),
    ],
    load: lazy(builderMod, 'prune'),
  },
} satisfies Record<string, CommandSpec>;

const netMod = () => import('./commands/networks.ts');
/** `berth network X` (docker CLI 28's flags; `--ipv4`/`--ipv6` have no stored default so that
 *  create can tell "given" from "not given", as docker's `Changed` does). */
export const NETWORK_COMMANDS = {
  connect: {
    name: 'connect', usage: '[OPTIONS] NETWORK CONTAINER', desc: 'Connect a container to a network', min: 2, max: 2,
    options: [
      list('--alias', 'Add network-scoped alias for the container'),
      list('--driver-opt', 'driver options for the network'),
      int('--gw-priority', 'Highest gw-priority provides the default gateway. Accepts positive and negative values.'),
      str('--ip', 'IPv4 address (e.g., "172.30.100.104")'),
      str('--ip6', 'IPv6 address (e.g., "2001:db8::33")'),
      list('--link', 'Add link to another container'),
      list('--link-local-ip', 'Add a link-local address for the container'),
    ],
    load: lazy(netMod, 'connect'),
  },
  create: {
    name: 'create', usage: '[OPTIONS] NETWORK', desc: 'Create a network', min: 1, max: 1,
    options: [
      bool('--attachable', 'Enable manual container attachment'),
      list('--aux-address', 'Auxiliary IPv4 or IPv6 addresses used by Network driver'),
      str('--config-from', 'The network from which to copy the configuration'),
      bool('--config-only', 'Create a configuration only network'),
      str('-d, --driver', 'Driver to manage the Network', 'bridge'),
      list('--gateway', 'IPv4 or IPv6 Gateway for the master subnet'),
      bool('--ingress', 'Create swarm routing-mesh network'),
      bool('--internal', 'Restrict external access to the network'),
      list('--ip-range', 'Allocate container ip from a sub-range'),
      str('--ipam-driver', 'IP Address Management Driver', 'default'),
      list('--ipam-opt', 'Set IPAM driver specific options'),
      bool('--ipv4', 'Enable or disable IPv4 address assignment (default true)'),
      bool('--ipv6', 'Enable or disable IPv6 address assignment'),
      list('--label', 'Set metadata on a network'),
      list('-o, --opt', 'Set driver specific options'),
      str('--scope', "Control the network's scope"),
      list('--subnet', 'Subnet in CIDR format that represents a network segment'),
    ],
    load: lazy(netMod, 'create'),
  },
  disconnect: {
    name: 'disconnect', usage: '[OPTIONS] NETWORK CONTAINER', desc: 'Disconnect a container from a network', min: 2, max: 2,
    options: [bool('-f, --force', 'Force the container to disconnect from a network')],
    load: lazy(netMod, 'disconnect'),
  },
  inspect: {
    name: 'inspect', usage: '[OPTIONS] NETWORK [NETWORK...]', desc: 'Display detailed information on one or more networks', min: 1,
    options: [str('-f, --format', 'Format output using a custom template'), bool('-v, --verbose', 'Verbose output for diagnostics')],
    load: lazy(netMod, 'inspect'),
  },
  ls: {
    name: 'ls', usage: '[OPTIONS]', desc: 'List networks', max: 0,
    options: [
      list('-f, --filter', 'Provide filter values (e.g. "driver=bridge")'), FORMAT('networks'),
      bool('--no-trunc', 'Do not truncate the output'), bool('-q, --quiet', 'Only display network IDs'),
    ],
    load: lazy(netMod, 'ls'),
  },
  prune: {
    name: 'prune', usage: '[OPTIONS]', desc: 'Remove all unused networks', max: 0,
    options: [list('--filter', 'Provide filter values (e.g. "until=<timestamp>")'), bool('-f, --force', 'Do not prompt for confirmation')],
    load: lazy(netMod, 'prune'),
  },
  rm: {
    name: 'rm', usage: 'NETWORK [NETWORK...]', desc: 'Remove one or more networks', min: 1,
    options: [bool('-f, --force', 'Do not error if the network does not exist')],
    load: lazy(netMod, 'rm'),
  },
} satisfies Record<string, CommandSpec>;

/** `berth volume X` (docker CLI 28's flags; the cluster-volume flags are left out). */
export const VOLUME_COMMANDS = {
  create: {
    name: 'create', usage: '[OPTIONS] [VOLUME]', desc: 'Create a volume', max: 1,
    options: [
      str('-d, --driver', 'Specify volume driver name', 'local'),
      list('--label', 'Set metadata for a volume'),
      { ...str('--name', 'Specify volume name'), hidden: true },
      list('-o, --opt', 'Set driver specific options'),
    ],
    load: lazy(volMod, 'create'),
  },
  inspect: {
    name: 'inspect', usage: '[OPTIONS] VOLUME [VOLUME...]', desc: 'Display detailed information on one or more volumes', min: 1,
    options: [str('-f, --format', "Format output using a custom template:\n'json':             Print in JSON format\n'TEMPLATE':         Print output using the given Go template.\nRefer to https://docs.docker.com/go/formatting/ for more information about formatting output with templates")],
    load: lazy(volMod, 'inspect'),
  },
  ls: {
    name: 'ls', usage: '[OPTIONS]', desc: 'List volumes', max: 0,
    options: [
      list('-f, --filter', 'Provide filter values (e.g. "dangling=true")'), FORMAT('volumes'),
      bool('-q, --quiet', 'Only display volume names'),
    ],
    load: lazy(volMod, 'ls'),
  },
  prune: {
    name: 'prune', usage: '[OPTIONS]', desc: 'Remove unused local volumes', max: 0,
    options: [
      bool('-a, --all', 'Remove all unused volumes, not just anonymous ones'),
      list('--filter', 'Provide filter values (e.g. "label=<label>")'),
      bool('-f, --force', 'Do not prompt for confirmation'),
    ],
    load: lazy(volMod, 'prune'),
  },
  rm: {
    name: 'rm', usage: '[OPTIONS] VOLUME [VOLUME...]', desc: 'Remove one or more volumes', min: 1,
    options: [bool('-f, --force', 'Force the removal of one or more volumes')],
    load: lazy(volMod, 'rm'),
  },
} satisfies Record<string, CommandSpec>;

export const VERSION_COMMAND = {
  name: 'version', usage: '[OPTIONS]', desc: 'Show the berth version information', max: 0,
  options: [str('-f, --format', 'Format output using a custom template')], load: lazy(versionMod, 'version'),
} satisfies CommandSpec;

export const GENERIC_INSPECT = {
  name: 'inspect', usage: '[OPTIONS] NAME|ID [NAME|ID...]', desc: 'Return low-level information on Docker objects', min: 1,
  options: [str('-f, --format', 'Format output using a custom template'), bool('-s, --size', 'Display total file sizes if the type is container'), str('--type', 'Only inspect objects of the given type')],
  load: lazy(inspMod, 'inspect'),
} satisfies CommandSpec;

/** Top-level verbs and the spec each one uses. */
export const TOP_LEVEL = {
  run: CONTAINER_COMMANDS.run,
  create: CONTAINER_COMMANDS.create,
  start: CONTAINER_COMMANDS.start,
  attach: CONTAINER_COMMANDS.attach,
  stop: CONTAINER_COMMANDS.stop,
  kill: CONTAINER_COMMANDS.kill,
  restart: CONTAINER_COMMANDS.restart,
  rm: CONTAINER_COMMANDS.rm,
  ps: CONTAINER_COMMANDS.ps,
  logs: CONTAINER_COMMANDS.logs,
  inspect: GENERIC_INSPECT,
  wait: CONTAINER_COMMANDS.wait,
  rename: CONTAINER_COMMANDS.rename,
  pause: CONTAINER_COMMANDS.pause,
  unpause: CONTAINER_COMMANDS.unpause,
  top: CONTAINER_COMMANDS.top,
  stats: CONTAINER_COMMANDS.stats,
  update: CONTAINER_COMMANDS.update,
  diff: CONTAINER_COMMANDS.diff,
  export: CONTAINER_COMMANDS.export,
  cp: CONTAINER_COMMANDS.cp,
  port: CONTAINER_COMMANDS.port,
  exec: CONTAINER_COMMANDS.exec,
  build: IMAGE_COMMANDS.build,
  images: { ...IMAGE_COMMANDS.ls, name: 'images' },
  import: IMAGE_COMMANDS.import,
  tag: IMAGE_COMMANDS.tag,
  rmi: { ...IMAGE_COMMANDS.rm, name: 'rmi' },
  history: IMAGE_COMMANDS.history,
  pull: IMAGE_COMMANDS.pull,
  push: IMAGE_COMMANDS.push,
  login: {
    name: 'login', usage: '[OPTIONS] [SERVER]', desc: 'Authenticate to a registry.\nDefaults to Docker Hub if no server is specified.', max: 1,
    options: [str('-p, --password', 'Password or Personal Access Token (PAT)'), bool('--password-stdin', 'Take the Password or Personal Access Token (PAT) from stdin'), str('-u, --username', 'Username')],
    load: lazy(() => import('./commands/registry-client.ts'), 'login'),
  },
  logout: {
    name: 'logout', usage: '[SERVER]', desc: 'Log out from a registry.\nIf no server is specified, the default is defined by the daemon.', max: 1,
    options: [],
    load: lazy(() => import('./commands/registry-client.ts'), 'logout'),
  },
  save: IMAGE_COMMANDS.save,
  load: IMAGE_COMMANDS.load,
  commit: CONTAINER_COMMANDS.commit,
  events: SYSTEM_COMMANDS.events,
  info: SYSTEM_COMMANDS.info,
  version: VERSION_COMMAND,
} satisfies Record<string, CommandSpec>;

// ---------------------------------------------------------------------------------------------
// compose: `berth compose [OPTIONS] COMMAND`. Its global flags come before the sub-command (as
// in compose v2, whose root command does not take flags after it); main.ts parses them and
// hands them to the sub-command in ctx.globals.compose. Sub-commands are added to
// COMPOSE_COMMANDS with their own flags, as any other verb.

const composeMod = () => import('./commands/compose.ts');
const composeRead = () => import('./commands/compose-read.ts');
const composeLogs = () => import('./commands/compose-logs.ts');
const composeOneoff = () => import('./commands/compose-oneoff.ts');
const composeImages = () => import('./commands/compose-images.ts');
const composeWatch = () => import('./commands/compose-watch.ts');

/** compose v2's root flags (hidden ones kept for scripts that still pass them). */
export const COMPOSE_OPTIONS = [
  str('--ansi', 'Control when to print ANSI control characters ("never"|"always"|"auto")', 'auto'),
  bool('--compatibility', 'Run compose in backward compatibility mode'),
  bool('--dry-run', 'Execute command in dry run mode'),
  list('--env-file', 'Specify an alternate environment file'),
  list('-f, --file', 'Compose configuration files'),
  int('--parallel', 'Control max parallelism, -1 for unlimited', -1),
  list('--profile', 'Specify a profile to enable'),
  str('--progress', 'Set type of progress output (auto, tty, plain, json, quiet)'),
  str('--project-directory', 'Specify an alternate working directory\n(default: the path of the, first specified, Compose file)'),
  str('-p, --project-name', 'Project name'),
  { ...str('--workdir', 'DEPRECATED! USE --project-directory INSTEAD.'), hidden: true },
  { ...bool('--no-ansi', 'Do not print ANSI control characters (DEPRECATED)'), hidden: true },
  { ...bool('--verbose', 'Show more output'), hidden: true },
  { ...bool('-v, --version', 'Show the Docker Compose version information'), hidden: true },
  { ...bool('--all-resources', 'Include all resources, even those not used by services'), hidden: true },
];

const composeRuntime = () => import('./commands/compose-runtime.ts');

/** `--x` switches whose `--no-x` sibling also exists keep their own keys (OptDef.key). */
const noBool = <F extends string, K extends string>(flags: F, desc: string, key: K) => ({ flags, kind: 'bool' as const, desc, key });

const COMPOSE_CREATE_OPTS = [
  bool('--build', 'Build images before starting containers'),
  noBool('--no-build', "Don't build an image, even if it's policy", 'noBuild'),
  str('--pull', 'Pull image before running ("always"|"missing"|"never"|"build")', 'policy'),
  bool('--quiet-pull', 'Pull without printing progress information'),
  bool('--force-recreate', "Recreate containers even if their configuration and image haven't changed"),
  noBool('--no-recreate', "If containers already exist, don't recreate them. Incompatible with --force-recreate.", 'noRecreate'),
  bool('--remove-orphans', 'Remove containers for services not defined in the Compose file'),
  list('--scale', 'Scale SERVICE to NUM instances. Overrides the `scale` setting in the Compose file if present.'),
  bool('-y, --yes', 'Assume "yes" as answer to all prompts and run non-interactively'),
];

export const COMPOSE_COMMANDS = {
  config: {
    name: 'config', usage: '[OPTIONS] [SERVICE...]', desc: 'Parse, resolve and render compose file in canonical format',
    options: [
      str('--format', 'Format the output. Values: [yaml | json]'),
      str('--hash', 'Print the service config hash, one per line.'),
      bool('--images', 'Print the image names, one per line.'),
      bool('--networks', 'Print the network names, one per line.'),
      str('-o, --output', 'Save to file (default to stdout)'),
      bool('--profiles', 'Print the profile names, one per line.'),
      bool('-q, --quiet', "Only validate the configuration, don't print anything"),
      bool('--services', 'Print the service names, one per line.'),
      bool('--volumes', 'Print the volume names, one per line.'),
      bool('--environment', 'Print environment used for interpolation.'),
    ],
    load: lazy(composeMod, 'config'),
  },
  version: {
    name: 'version', usage: '[OPTIONS]', desc: 'Show the Docker Compose version information', max: 0,
    options: [str('-f, --format', 'Format the output. Values: [pretty | json]. (Default: pretty)'), bool('--short', "Shows only Compose's version number")],
    load: lazy(composeMod, 'version'),
  },
  up: {
    name: 'up', usage: '[OPTIONS] [SERVICE...]', desc: 'Create and start containers',
    options: [
      ...COMPOSE_CREATE_OPTS.filter((x) => x.flags !== '--pull'),
      str('--pull', 'Pull image before running ("always"|"missing"|"never")', 'policy'),
      bool('-d, --detach', 'Detached mode: Run containers in the background'),
      noBool('--no-color', 'Produce monochrome output', 'noColor'),
      noBool('--no-log-prefix', "Don't print prefix in logs", 'noLogPrefix'),
      noBool('--no-start', "Don't start the services after creating them", 'noStart'),
      bool('--abort-on-container-exit', 'Stops all containers if any container was stopped. Incompatible with -d'),
      bool('--abort-on-container-failure', 'Stops all containers if any container exited with failure. Incompatible with -d'),
      str('--exit-code-from', 'Return the exit code of the selected service container. Implies --abort-on-container-exit'),
      int('-t, --timeout', 'Use this timeout in seconds for container shutdown when attached or when containers are already running'),
      bool('--timestamps', 'Show timestamps'),
      noBool('--no-deps', "Don't start linked services", 'noDeps'),
      bool('--always-recreate-deps', 'Recreate dependent containers. Incompatible with --no-recreate.'),
      bool('-V, --renew-anon-volumes', 'Recreate anonymous volumes instead of retrieving data from the previous containers'),
      bool('--quiet-build', 'Suppress the build output'),
      list('--attach', 'Restrict attaching to the specified services. Incompatible with --attach-dependencies.'),
      { flags: '--no-attach', kind: 'list' as const, desc: 'Do not attach (stream logs) to the specified services', key: 'noAttach' as const },
      bool('--attach-dependencies', 'Automatically attach to log output of dependent services'),
      bool('--wait', 'Wait for services to be running|healthy. Implies detached mode.'),
      int('--wait-timeout', 'Maximum duration in seconds to wait for the project to be running|healthy'),
      bool('-w, --watch', 'Watch source code and rebuild/refresh containers when files are updated.'),
      bool('--menu', 'Enable interactive shortcuts when running attached. Incompatible with --detach. Can also be enable/disable by setting COMPOSE_MENU environment var.'),
    ],
    load: lazy(composeRuntime, 'up'),
  },
  create: {
    name: 'create', usage: '[OPTIONS] [SERVICE...]', desc: 'Creates containers for a service',
    options: COMPOSE_CREATE_OPTS,
    load: lazy(composeRuntime, 'create'),
  },
  start: {
    name: 'start', usage: '[SERVICE...]', desc: 'Start services', options: [],
    load: lazy(composeRuntime, 'start'),
  },
  stop: {
    name: 'stop', usage: '[OPTIONS] [SERVICE...]', desc: 'Stop services',
    options: [int('-t, --timeout', 'Specify a shutdown timeout in seconds')],
    load: lazy(composeRuntime, 'stop'),
  },
  restart: {
    name: 'restart', usage: '[OPTIONS] [SERVICE...]', desc: 'Restart service containers',
    options: [int('-t, --timeout', 'Specify a shutdown timeout in seconds'), noBool('--no-deps', "Don't restart dependent services", 'noDeps')],
    load: lazy(composeRuntime, 'restart'),
  },
  down: {
    name: 'down', usage: '[OPTIONS] [SERVICES]', desc: 'Stop and remove containers, networks',
    options: [
      bool('--remove-orphans', 'Remove containers for services not defined in the Compose file'),
      int('-t, --timeout', 'Specify a shutdown timeout in seconds'),
      bool('-v, --volumes', 'Remove named volumes declared in the "volumes" section of the Compose file and anonymous volumes attached to containers'),
      str('--rmi', 'Remove images used by services. "local" remove only images that don\'t have a custom tag ("local"|"all")'),
    ],
    load: lazy(composeRuntime, 'down'),
  },
  rm: {
    name: 'rm', usage: '[OPTIONS] [SERVICE...]', desc: 'Removes stopped service containers',
    options: [
      bool('-f, --force', "Don't ask to confirm removal"),
      bool('-s, --stop', 'Stop the containers, if required, before removing'),
      bool('-v, --volumes', 'Remove any anonymous volumes attached to containers'),
      { ...bool('-a, --all', 'Deprecated - no effect'), hidden: true },
    ],
    load: lazy(composeRuntime, 'rm'),
  },
  kill: {
    name: 'kill', usage: '[OPTIONS] [SERVICE...]', desc: 'Force stop service containers',
    options: [
      bool('--remove-orphans', 'Remove containers for services not defined in the Compose file'),
      str('-s, --signal', 'SIGNAL to send to the container', 'SIGKILL'),
    ],
    load: lazy(composeRuntime, 'kill'),
  },
  pause: {
    name: 'pause', usage: '[SERVICE...]', desc: 'Pause services', options: [],
    load: lazy(composeRuntime, 'pause'),
  },
  unpause: {
    name: 'unpause', usage: '[SERVICE...]', desc: 'Unpause services', options: [],
    load: lazy(composeRuntime, 'unpause'),
  },
  scale: {
    name: 'scale', usage: '[SERVICE=REPLICAS...]', desc: 'Scale services ', min: 1,
    options: [noBool('--no-deps', "Don't start linked services", 'noDeps')],
    load: lazy(composeRuntime, 'scale'),
  },
  ps: {
    name: 'ps', usage: '[OPTIONS] [SERVICE...]', desc: 'List containers',
    options: [
      bool('-a, --all', 'Show all stopped containers (including those created by the run command)'),
      str('--filter', 'Filter services by a property (supported filters: status)'),
      str('--format', 'Format output using a custom template:\n\'table\':            Print output in table format with column headers (default)\n\'table TEMPLATE\':   Print output in table format using the given Go template\n\'json\':             Print in JSON format\n\'TEMPLATE\':         Print output using the given Go template', 'table'),
      bool('--no-trunc', "Don't truncate output"),
      bool('--orphans', 'Include orphaned services (not declared by project)', true),
      bool('-q, --quiet', 'Only display IDs'),
      bool('--services', 'Display services'),
      list('--status', 'Filter services by status. Values: [paused | restarting | removing | running | dead | created | exited]'),
    ],
    load: lazy(composeRead, 'ps'),
  },
  ls: {
    name: 'ls', usage: '[OPTIONS]', desc: 'List running compose projects', max: 0,
    options: [
      bool('-a, --all', 'Show all stopped Compose projects'),
      list('--filter', 'Filter output based on conditions provided'),
      str('--format', 'Format the output. Values: [table | json]', 'table'),
      bool('-q, --quiet', 'Only display project names'),
    ],
    load: lazy(composeRead, 'ls'),
  },
  images: {
    name: 'images', usage: '[OPTIONS] [SERVICE...]', desc: 'List images used by the created containers',
    options: [str('--format', 'Format the output. Values: [table | json]', 'table'), bool('-q, --quiet', 'Only display IDs')],
    load: lazy(composeRead, 'images'),
  },
  top: { name: 'top', usage: '[SERVICES...]', desc: 'Display the running processes', options: [], load: lazy(composeRead, 'top') },
  port: {
    name: 'port', usage: '[OPTIONS] SERVICE PRIVATE_PORT', desc: 'Print the public port for a port binding', min: 2, max: 2,
    options: [int('--index', 'Index of the container if service has multiple replicas'), str('--protocol', 'tcp or udp', 'tcp')],
    load: lazy(composeRead, 'port'),
  },
  events: {
    name: 'events', usage: '[OPTIONS] [SERVICE...]', desc: 'Receive real time events from containers',
    options: [bool('--json', 'Output events as a stream of json objects'), str('--since', 'Show all events created since timestamp'), str('--until', 'Stream events until this timestamp')],
    load: lazy(composeRead, 'events'),
  },
  wait: {
    name: 'wait', usage: 'SERVICE [SERVICE...] [OPTIONS]', desc: 'Block until containers of all (or specified) services stop.', min: 1,
    options: [bool('--down-project', 'Drops project when the first container stops')],
    load: lazy(composeRead, 'wait'),
  },
  logs: {
    name: 'logs', usage: '[OPTIONS] [SERVICE...]', desc: 'View output from containers',
    options: [
      bool('-f, --follow', 'Follow log output'),
      int('--index', 'index of the container if service has multiple replicas'),
      bool('--no-color', 'Produce monochrome output'),
      bool('--no-log-prefix', "Don't print prefix in logs"),
      str('--since', 'Show logs since timestamp (e.g. 2013-01-02T13:23:37Z) or relative (e.g. 42m for 42 minutes)'),
      str('-n, --tail', 'Number of lines to show from the end of the logs for each container', 'all'),
      bool('-t, --timestamps', 'Show timestamps'),
      str('--until', 'Show logs before a timestamp (e.g. 2013-01-02T13:23:37Z) or relative (e.g. 42m for 42 minutes)'),
    ],
    load: lazy(composeLogs, 'logs'),
  },
  exec: {
    name: 'exec', usage: '[OPTIONS] SERVICE COMMAND [ARGS...]', desc: 'Execute a command in a running container', min: 2, stopAtFirstArg: true,
    options: [
      bool('-d, --detach', 'Detached mode: Run command in the background'),
      list('-e, --env', 'Set environment variables'),
      int('--index', 'Index of the container if service has multiple replicas'),
      bool('-T, --no-tty', "Disable pseudo-TTY allocation. By default 'docker compose exec' allocates a TTY."),
      bool('--privileged', 'Give extended privileges to the process'),
      str('-u, --user', 'Run the command as this user'),
      str('-w, --workdir', 'Path to workdir directory for this command'),
      { ...bool('-i, --interactive', 'Keep STDIN open even if not attached', true), hidden: true },
      { ...bool('-t, --tty', 'Allocate a pseudo-TTY', true), hidden: true },
    ],
    load: lazy(composeOneoff, 'exec'),
  },
  run: {
    name: 'run', usage: '[OPTIONS] SERVICE [COMMAND] [ARGS...]', desc: 'Run a one-off command on a service', min: 1, stopAtFirstArg: true,
    options: [
      bool('--build', 'Build image before starting container'),
      list('--cap-add', 'Add Linux capabilities'),
      list('--cap-drop', 'Drop Linux capabilities'),
      bool('-d, --detach', 'Run container in background and print container ID'),
      str('--entrypoint', 'Override the entrypoint of the image'),
      list('-e, --env', 'Set environment variables'),
      list('--env-from-file', 'Set environment variables from file'),
      bool('-i, --interactive', 'Keep STDIN open even if not attached', true),
      list('-l, --label', 'Add or override a label'),
      str('--name', 'Assign a name to the container'),
      bool('-T, --no-TTY', 'Disable pseudo-TTY allocation (default: auto-detected)'),
      bool('--no-deps', "Don't start linked services"),
      list('-p, --publish', "Publish a container's port(s) to the host"),
      str('--pull', 'Pull image before running ("always"|"missing"|"never")', 'policy'),
      bool('-q, --quiet', "Don't print anything to STDOUT"),
      bool('--quiet-build', 'Suppress progress output from the build process'),
      bool('--quiet-pull', 'Pull without printing progress information'),
      bool('--remove-orphans', 'Remove containers for services not defined in the Compose file'),
      bool('--rm', 'Automatically remove the container when it exits'),
      bool('-P, --service-ports', "Run command with all service's ports enabled and mapped to the host"),
      bool('--use-aliases', "Use the service's network useAliases in the network(s) the container connects to"),
      str('-u, --user', 'Run as specified username or uid'),
      list('-v, --volume', 'Bind mount a volume'),
      str('-w, --workdir', 'Working directory inside the container'),
      { ...bool('-t, --tty', 'Allocate a pseudo-TTY', true), hidden: true },
    ],
    load: lazy(composeOneoff, 'run'),
  },
  cp: {
    name: 'cp', usage: '[OPTIONS] SERVICE:SRC_PATH DEST_PATH|-\n\tberth compose cp [OPTIONS] SRC_PATH|- SERVICE:DEST_PATH', desc: 'Copy files/folders between a service container and the local filesystem', min: 2, max: 2,
    options: [
      bool('--all', 'Include containers created by the run command'),
      bool('-a, --archive', 'Archive mode (copy all uid/gid information)'),
      bool('-L, --follow-link', 'Always follow symbol link in SRC_PATH'),
      int('--index', 'Index of the container if service has multiple replicas'),
    ],
    load: lazy(composeOneoff, 'cp'),
  },
  build: {
    name: 'build', usage: '[OPTIONS] [SERVICE...]', desc: 'Build or rebuild services',
    options: [
      list('--build-arg', 'Set build-time variables for services'),
      str('--builder', 'Set builder to use'),
      bool('--check', 'Check build configuration'),
      str('-m, --memory', 'Set memory limit for the build container. Not supported by BuildKit.'),
      bool('--no-cache', 'Do not use cache when building the image'),
      bool('--print', 'Print equivalent bake file'),
      str('--provenance', 'Add a provenance attestation'),
      bool('--pull', 'Always attempt to pull a newer version of the image'),
      bool('--push', 'Push service images'),
      bool('-q, --quiet', 'Suppress the build output'),
      str('--sbom', 'Add a SBOM attestation'),
      str('--ssh', "Set SSH authentications used when building service images. (use 'default' for using your default SSH Agent)"),
      bool('--with-dependencies', 'Also build dependencies (transitively)'),
      { ...bool('--parallel', 'Build images in parallel. DEPRECATED', true), hidden: true },
      { ...bool('--compress', 'Compress the build context using gzip. DEPRECATED', true), hidden: true },
      { ...bool('--force-rm', 'Always remove intermediate containers. DEPRECATED', true), hidden: true },
      { ...bool('--no-rm', 'Do not remove intermediate containers after a successful build. DEPRECATED'), hidden: true },
    ],
    load: lazy(composeImages, 'build'),
  },
  pull: {
    name: 'pull', usage: '[OPTIONS] [SERVICE...]', desc: 'Pull service images',
    options: [
      bool('--ignore-buildable', 'Ignore images that can be built'),
      bool('--ignore-pull-failures', 'Pull what it can and ignores images with pull failures'),
      bool('--include-deps', 'Also pull services declared as dependencies'),
      str('--policy', 'Apply pull policy ("missing"|"always")'),
      bool('-q, --quiet', 'Pull without printing progress information'),
      { ...bool('--parallel', 'DEPRECATED pull multiple images in parallel', true), hidden: true },
      { ...bool('--no-parallel', 'DEPRECATED disable parallel pulling'), hidden: true },
    ],
    load: lazy(composeImages, 'pull'),
  },
  push: {
    name: 'push', usage: '[OPTIONS] [SERVICE...]', desc: 'Push service images',
    options: [
      bool('--ignore-push-failures', 'Push what it can and ignores images with push failures'),
      bool('--include-deps', 'Also push images of services declared as dependencies'),
      bool('-q, --quiet', 'Push without printing progress information'),
    ],
    load: lazy(composeImages, 'push'),
  },
  watch: {
    name: 'watch', usage: '[SERVICE...]', desc: 'Watch build context for service and rebuild/refresh containers when files are updated',
    options: [
      bool('--no-up', 'Do not build & start services before watching'),
      bool('--prune', 'Prune dangling images on rebuild', true),
      bool('--quiet', 'hide build output'),
    ],
    load: lazy(composeWatch, 'watch'),
  },
} satisfies Record<string, CommandSpec>;

/** `berth container|image|system|builder SUB`: sub-verbs and their aliases. */
const registryMod = () => import('./commands/registry.ts');

/** `berth registry serve|gc`: berth's own OCI registry (src/registry/server), its own process. */
export const REGISTRY_COMMANDS = {
  serve: {
    name: 'serve', usage: '[OPTIONS]', desc: "Run berth's OCI registry in the foreground", max: 0,
    options: [
      // No defaults here: they would override --config. The code defaults to 127.0.0.1:5000
      // and /var/lib/berth/registry.
      str('--addr', 'Address to listen on, host:port (default "127.0.0.1:5000")'),
      str('--root', 'Storage directory (default "/var/lib/berth/registry")'),
      str('--htpasswd', 'htpasswd file (bcrypt entries): basic auth, or the users of --token-auth'),
      bool('--token-auth', 'Serve a token endpoint (/token) and require bearer tokens: --htpasswd users may pull, push and delete, anonymous users nothing; without --htpasswd, anyone may pull and no one may push or delete'),
      str('--tls-cert', 'TLS certificate file'),
      str('--tls-key', 'TLS key file'),
      str('--config', 'Configuration file (JSON or YAML; the same keys as the flags)'),
    ],
    load: lazy(registryMod, 'serve'),
  },
  gc: {
    name: 'gc', usage: '[OPTIONS]', desc: 'Remove blobs that no manifest refers to (run with the registry stopped)', max: 0,
    options: [
      str('--root', 'Storage directory (default "/var/lib/berth/registry")'),
      bool('--dry-run', 'Only report what would be removed'),
    ],
    load: lazy(registryMod, 'gc'),
  },
} satisfies Record<string, CommandSpec>;

// ---------------------------------------------------------------------------------------------
// swarm, node, service (docker CLI 28's flags and texts). Flags whose "given or not" matters
// (everything a service update may leave alone) have no stored default: the default is in the
// description, as docker prints it. uint/duration/decimal flags are strings, parsed by
// commands/swarm-spec.ts with docker's messages.

const swarmMod = () => import('./commands/swarm.ts');
const nodeMod = () => import('./commands/nodes.ts');
const svcMod = () => import('./commands/services.ts');
const stackMod = () => import('./commands/stack.ts');

const SWARM_SPEC_OPTS = [
  str('--cert-expiry', 'Validity period for node certificates (ns|us|ms|s|m|h) (default 2160h0m0s)'),
  str('--dispatcher-heartbeat', 'Dispatcher heartbeat period (ns|us|ms|s|m|h) (default 5s)'),
  str('--max-snapshots', 'Number of additional Raft snapshots to retain'),
  str('--snapshot-interval', 'Number of log entries between Raft snapshots (default 10000)'),
  str('--task-history-limit', 'Task history retention limit (default 5)'),
];

export const SWARM_COMMANDS = {
  ca: {
    name: 'ca', usage: '[OPTIONS]', desc: 'Display and rotate the root CA', max: 0,
    options: [
      str('--ca-cert', 'Path to the PEM-formatted root CA certificate to use for the new cluster'),
      str('--ca-key', 'Path to the PEM-formatted root CA key to use for the new cluster'),
      str('--cert-expiry', 'Validity period for node certificates (ns|us|ms|s|m|h) (default 2160h0m0s)'),
      bool('-d, --detach', 'Exit immediately instead of waiting for the root rotation to converge'),
      bool('-q, --quiet', 'Suppress progress output'),
      bool('--rotate', 'Rotate the swarm CA - if no certificate or key are provided, new ones will be generated'),
    ],
    load: lazy(swarmMod, 'ca'),
  },
  init: {
    name: 'init', usage: '[OPTIONS]', desc: 'Initialize a swarm', max: 0,
    options: [
      str('--advertise-addr', 'Advertised address (format: "<ip|interface>[:port]")'),
      bool('--autolock', 'Enable manager autolocking (requiring an unlock key to start a stopped manager)'),
      str('--availability', 'Availability of the node ("active", "pause", "drain") (default "active")'),
      str('--data-path-addr', 'Address or interface to use for data path traffic (format: "<ip|interface>")'),
      str('--data-path-port', 'Port number to use for data path traffic (1024 - 49151). If no value is set or is set to 0, the default port (4789) is used.'),
      list('--default-addr-pool', 'default address pool in CIDR format (default [])'),
      str('--default-addr-pool-mask-length', 'default address pool subnet mask length (default 24)'),
      bool('--force-new-cluster', 'Force create a new cluster from current state'),
      str('--listen-addr', 'Listen address (format: "<ip|interface>[:port]") (default 0.0.0.0:2377)'),
      ...SWARM_SPEC_OPTS,
    ],
    load: lazy(swarmMod, 'init'),
  },
  join: {
    name: 'join', usage: '[OPTIONS] HOST:PORT', desc: 'Join a swarm as a node and/or manager', min: 1, max: 1,
    options: [
      str('--advertise-addr', 'Advertised address (format: "<ip|interface>[:port]")'),
      str('--availability', 'Availability of the node ("active", "pause", "drain") (default "active")'),
      str('--data-path-addr', 'Address or interface to use for data path traffic (format: "<ip|interface>")'),
      str('--listen-addr', 'Listen address (format: "<ip|interface>[:port]") (default 0.0.0.0:2377)'),
      str('--token', 'Token for entry into the swarm'),
    ],
    load: lazy(swarmMod, 'join'),
  },
  'join-token': {
    name: 'join-token', usage: '[OPTIONS] (worker|manager)', desc: 'Manage join tokens', min: 1, max: 1,
    options: [bool('-q, --quiet', 'Only display token'), bool('--rotate', 'Rotate join token')],
    load: lazy(swarmMod, 'joinToken'),
  },
  leave: {
    name: 'leave', usage: '[OPTIONS]', desc: 'Leave the swarm', max: 0,
    options: [bool('-f, --force', 'Force this node to leave the swarm, ignoring warnings')],
    load: lazy(swarmMod, 'leave'),
  },
  unlock: {
    name: 'unlock', usage: '', desc: 'Unlock swarm', max: 0, options: [],
    load: lazy(swarmMod, 'unlock'),
  },
  'unlock-key': {
    name: 'unlock-key', usage: '[OPTIONS]', desc: 'Manage the unlock key', max: 0,
    options: [bool('-q, --quiet', 'Only display token'), bool('--rotate', 'Rotate unlock key')],
    load: lazy(swarmMod, 'unlockKey'),
  },
  update: {
    name: 'update', usage: '[OPTIONS]', desc: 'Update the swarm', max: 0,
    options: [bool('--autolock', 'Change manager autolocking setting (true|false)'), ...SWARM_SPEC_OPTS],
    load: lazy(swarmMod, 'update'),
  },
} satisfies Record<string, CommandSpec>;

export const STACK_COMMANDS = {
  deploy: {
    name: 'deploy', usage: '[OPTIONS] STACK', desc: 'Deploy a new stack or update an existing stack', min: 1, max: 1,
    options: [
      list('-c, --compose-file', 'Path to a Compose file, or "-" to read from stdin'),
      bool('-d, --detach', 'Exit immediately instead of waiting for the stack services to converge (default true)'),
      bool('--prune', 'Prune services that are no longer referenced'),
      bool('-q, --quiet', 'Suppress progress output'),
      str('--resolve-image', 'Query the registry to resolve image digest and supported platforms ("always", "changed", "never")', 'always'),
      bool('--with-registry-auth', 'Send registry authentication details to Swarm agents'),
    ],
    load: lazy(stackMod, 'deploy'),
  },
  ls: {
    name: 'ls', usage: '[OPTIONS]', desc: 'List stacks', max: 0,
    options: [FORMAT('stacks')],
    load: lazy(stackMod, 'ls'),
  },
  ps: {
    name: 'ps', usage: '[OPTIONS] STACK', desc: 'List the tasks in the stack', min: 1, max: 1,
    options: [
      FILTER, FORMAT('tasks'),
      bool('--no-resolve', 'Do not map IDs to Names'),
      bool('--no-trunc', 'Do not truncate output'),
      bool('-q, --quiet', 'Only display task IDs'),
    ],
    load: lazy(stackMod, 'ps'),
  },
  rm: {
    name: 'rm', usage: '[OPTIONS] STACK [STACK...]', desc: 'Remove one or more stacks', min: 1,
    options: [bool('-d, --detach', 'Do not wait for stack removal (default true)')],
    load: lazy(stackMod, 'rm'),
  },
  services: {
    name: 'services', usage: '[OPTIONS] STACK', desc: 'List the services in the stack', min: 1, max: 1,
    options: [FILTER, FORMAT('services'), bool('-q, --quiet', 'Only display IDs')],
    load: lazy(stackMod, 'services'),
  },
} satisfies Record<string, CommandSpec>;

const TASK_LIST_OPTS = [
  FILTER,
  str('--format', 'Pretty-print tasks using a Go template'),
  bool('--no-resolve', 'Do not map IDs to Names'),
  bool('--no-trunc', 'Do not truncate output'),
  bool('-q, --quiet', 'Only display task IDs'),
];

const INSPECT_FORMAT = str('-f, --format', "Format output using a custom template:\n'json':             Print in JSON format\n'TEMPLATE':         Print output using the given Go template.\nRefer to https://docs.docker.com/go/formatting/ for more information about formatting output with templates");

const secretMod = () => import('./commands/secrets.ts');

export const SECRET_COMMANDS = {
  create: {
    name: 'create', usage: '[OPTIONS] SECRET [file|-]', desc: 'Create a secret from a file or STDIN as content', min: 1, max: 2,
    options: [str('-d, --driver', 'Secret driver'), list('-l, --label', 'Secret labels'), str('--template-driver', 'Template driver')],
    load: lazy(secretMod, 'secretCreate'),
  },
  inspect: {
    name: 'inspect', usage: '[OPTIONS] SECRET [SECRET...]', desc: 'Display detailed information on one or more secrets', min: 1,
    options: [INSPECT_FORMAT, bool('--pretty', 'Print the information in a human friendly format')],
    load: lazy(secretMod, 'secretInspect'),
  },
  ls: {
    name: 'ls', usage: '[OPTIONS]', desc: 'List secrets', max: 0,
    options: [FILTER, FORMAT('secrets'), bool('-q, --quiet', 'Only display IDs')],
    load: lazy(secretMod, 'secretLs'),
  },
  rm: {
    name: 'rm', usage: 'SECRET [SECRET...]', desc: 'Remove one or more secrets', min: 1, options: [],
    load: lazy(secretMod, 'secretRm'),
  },
} satisfies Record<string, CommandSpec>;

export const CONFIG_COMMANDS = {
  create: {
    name: 'create', usage: '[OPTIONS] CONFIG file|-', desc: 'Create a config from a file or STDIN', min: 2, max: 2,
    options: [list('-l, --label', 'Config labels'), str('--template-driver', 'Template driver')],
    load: lazy(secretMod, 'configCreate'),
  },
  inspect: {
    name: 'inspect', usage: '[OPTIONS] CONFIG [CONFIG...]', desc: 'Display detailed information on one or more configs', min: 1,
    options: [INSPECT_FORMAT, bool('--pretty', 'Print the information in a human friendly format')],
    load: lazy(secretMod, 'configInspect'),
  },
  ls: {
    name: 'ls', usage: '[OPTIONS]', desc: 'List configs', max: 0,
    options: [FILTER, FORMAT('configs'), bool('-q, --quiet', 'Only display IDs')],
    load: lazy(secretMod, 'configLs'),
  },
  rm: {
    name: 'rm', usage: 'CONFIG [CONFIG...]', desc: 'Remove one or more configs', min: 1, options: [],
    load: lazy(secretMod, 'configRm'),
  },
} satisfies Record<string, CommandSpec>;

export const NODE_COMMANDS = {
  demote: {
    name: 'demote', usage: 'NODE [NODE...]', desc: 'Demote one or more nodes from manager in the swarm', min: 1, options: [],
    load: lazy(nodeMod, 'demote'),
  },
  inspect: {
    name: 'inspect', usage: '[OPTIONS] self|NODE [NODE...]', desc: 'Display detailed information on one or more nodes', min: 1,
    options: [INSPECT_FORMAT, bool('--pretty', 'Print the information in a human friendly format')],
    load: lazy(nodeMod, 'inspect'),
  },
  ls: {
    name: 'ls', usage: '[OPTIONS]', desc: 'List nodes in the swarm', max: 0,
    options: [FILTER, FORMAT('nodes'), bool('-q, --quiet', 'Only display IDs')],
    load: lazy(nodeMod, 'ls'),
  },
  promote: {
    name: 'promote', usage: 'NODE [NODE...]', desc: 'Promote one or more nodes to manager in the swarm', min: 1, options: [],
    load: lazy(nodeMod, 'promote'),
  },
  ps: {
    name: 'ps', usage: '[OPTIONS] [NODE...]', desc: 'List tasks running on one or more nodes, defaults to current node',
    options: TASK_LIST_OPTS,
    load: lazy(nodeMod, 'ps'),
  },
  rm: {
    name: 'rm', usage: '[OPTIONS] NODE [NODE...]', desc: 'Remove one or more nodes from the swarm', min: 1,
    options: [bool('-f, --force', 'Force remove a node from the swarm')],
    load: lazy(nodeMod, 'rm'),
  },
  update: {
    name: 'update', usage: '[OPTIONS] NODE', desc: 'Update a node', min: 1, max: 1,
    options: [
      str('--availability', 'Availability of the node ("active", "pause", "drain")'),
      list('--label-add', 'Add or update a node label ("key=value")'),
      list('--label-rm', 'Remove a node label if exists'),
      str('--role', 'Role of the node ("worker", "manager")'),
    ],
    load: lazy(nodeMod, 'update'),
  },
} satisfies Record<string, CommandSpec>;

/** Options in docker's help order: by long name. */
const byLongName = <T extends OptDef>(opts: T[]): T[] => {
  const long = (o: OptDef) => o.flags.slice(o.flags.indexOf('--') + 2);
  return [...opts].sort((a, b) => (long(a) < long(b) ? -1 : long(a) > long(b) ? 1 : 0));
};

const DETACH = bool('-d, --detach', 'Exit immediately instead of waiting for the service to converge');

/** The flags service create and update share. */
const SERVICE_COMMON_OPTS = [
  DETACH,
  str('--endpoint-mode', 'Endpoint mode (vip or dnsrr) (default "vip")'),
  str('--entrypoint', 'Overwrite the default ENTRYPOINT of the image'),
  str('--health-cmd', 'Command to run to check health'),
  str('--health-interval', 'Time between running the check (ms|s|m|h)'),
  str('--health-retries', 'Consecutive failures needed to report unhealthy'),
  str('--health-start-interval', 'Time between running the check during the start period (ms|s|m|h)'),
  str('--health-start-period', 'Start period for the container to initialize before counting retries towards unstable (ms|s|m|h)'),
  str('--health-timeout', 'Maximum time to allow one check to run (ms|s|m|h)'),
  str('--hostname', 'Container hostname'),
  bool('--init', 'Use an init inside each service container to forward signals and reap processes'),
  str('--limit-cpu', 'Limit CPUs'),
  str('--limit-memory', 'Limit Memory'),
  str('--limit-pids', 'Limit maximum number of processes (default 0 = unlimited)'),
  bool('--no-healthcheck', 'Disable any container-specified HEALTHCHECK'),
  bool('--no-resolve-image', 'Do not query the registry to resolve image digest and supported platforms'),
  bool('-q, --quiet', 'Suppress progress output'),
  bool('--read-only', "Mount the container's root filesystem as read only"),
  str('--replicas', 'Number of tasks'),
  str('--replicas-max-per-node', 'Maximum number of tasks per node (default 0 = unlimited)'),
  str('--reserve-cpu', 'Reserve CPUs'),
  str('--reserve-memory', 'Reserve Memory'),
  str('--restart-condition', 'Restart when condition is met ("none", "on-failure", "any") (default "any")'),
  str('--restart-delay', 'Delay between restart attempts (ns|us|ms|s|m|h) (default 5s)'),
  str('--restart-max-attempts', 'Maximum number of restarts before giving up'),
  str('--restart-window', 'Window used to evaluate the restart policy (ns|us|ms|s|m|h)'),
  str('--rollback-delay', 'Delay between task rollbacks (ns|us|ms|s|m|h) (default 0s)'),
  str('--rollback-failure-action', 'Action on rollback failure ("pause", "continue") (default "pause")'),
  str('--rollback-max-failure-ratio', 'Failure rate to tolerate during a rollback (default 0)'),
  str('--rollback-monitor', 'Duration after each task rollback to monitor for failure (ns|us|ms|s|m|h) (default 5s)'),
  str('--rollback-order', 'Rollback order ("start-first", "stop-first") (default "stop-first")'),
  str('--rollback-parallelism', 'Maximum number of tasks rolled back simultaneously (0 to roll back all at once) (default 1)'),
  str('--stop-grace-period', 'Time to wait before force killing a container (ns|us|ms|s|m|h) (default 10s)'),
  str('--stop-signal', 'Signal to stop the container'),
  bool('-t, --tty', 'Allocate a pseudo-TTY'),
  str('--update-delay', 'Delay between updates (ns|us|ms|s|m|h) (default 0s)'),
  str('--update-failure-action', 'Action on update failure ("pause", "continue", "rollback") (default "pause")'),
  str('--update-max-failure-ratio', 'Failure rate to tolerate during an update (default 0)'),
  str('--update-monitor', 'Duration after each task update to monitor for failure (ns|us|ms|s|m|h) (default 5s)'),
  str('--update-order', 'Update order ("start-first", "stop-first") (default "stop-first")'),
  str('--update-parallelism', 'Maximum number of tasks updated simultaneously (0 to update all at once) (default 1)'),
  str('-u, --user', 'Username or UID (format: <name|uid>[:<group|gid>])'),
  bool('--with-registry-auth', 'Send registry authentication details to swarm agents'),
  str('-w, --workdir', 'Working directory inside the container'),
];

export const SERVICE_COMMANDS = {
  create: {
    name: 'create', usage: '[OPTIONS] IMAGE [COMMAND] [ARG...]', desc: 'Create a new service', min: 1, stopAtFirstArg: true,
    options: byLongName([
      ...SERVICE_COMMON_OPTS,
      list('--constraint', 'Placement constraints'),
      list('--container-label', 'Container labels'),
      list('-e, --env', 'Set environment variables'),
      list('--env-file', 'Read in a file of environment variables'),
      list('-l, --label', 'Service labels'),
      str('--mode', 'Service mode ("replicated", "global", "replicated-job", "global-job") (default "replicated")'),
      list('--mount', 'Attach a filesystem mount to the service'),
      list('--secret', 'Specify secrets to expose to the service'),
      list('--config', 'Specify configurations to expose to the service'),
      str('--name', 'Service name'),
      list('--network', 'Network attachments'),
      list('--placement-pref', 'Add a placement preference'),
      list('-p, --publish', 'Publish a port as a node port'),
    ]),
    load: lazy(svcMod, 'create'),
  },
  inspect: {
    name: 'inspect', usage: '[OPTIONS] SERVICE [SERVICE...]', desc: 'Display detailed information on one or more services', min: 1,
    options: [INSPECT_FORMAT, bool('--pretty', 'Print the information in a human friendly format')],
    load: lazy(svcMod, 'inspect'),
  },
  logs: {
    name: 'logs', usage: '[OPTIONS] SERVICE|TASK', desc: 'Fetch the logs of a service or task', min: 1, max: 1,
    options: [
      bool('--details', 'Show extra details provided to logs'),
      bool('-f, --follow', 'Follow log output'),
      bool('--no-resolve', 'Do not map IDs to Names in output'),
      bool('--no-task-ids', 'Do not include task IDs in output'),
      bool('--no-trunc', 'Do not truncate output'),
      bool('--raw', 'Do not neatly format logs'),
      str('--since', 'Show logs since timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m" for 42 minutes)'),
      str('-n, --tail', 'Number of lines to show from the end of the logs', 'all'),
      bool('-t, --timestamps', 'Show timestamps'),
    ],
    load: lazy(svcMod, 'logs'),
  },
  ls: {
    name: 'ls', usage: '[OPTIONS]', desc: 'List services', max: 0,
    options: [FILTER, FORMAT('services'), bool('-q, --quiet', 'Only display IDs')],
    load: lazy(svcMod, 'ls'),
  },
  ps: {
    name: 'ps', usage: '[OPTIONS] SERVICE [SERVICE...]', desc: 'List the tasks of one or more services', min: 1,
    options: TASK_LIST_OPTS,
    load: lazy(svcMod, 'ps'),
  },
  rm: {
    name: 'rm', usage: 'SERVICE [SERVICE...]', desc: 'Remove one or more services', min: 1, options: [],
    load: lazy(svcMod, 'rm'),
  },
  rollback: {
    name: 'rollback', usage: '[OPTIONS] SERVICE', desc: "Revert changes to a service's configuration", min: 1, max: 1,
    options: [DETACH, bool('-q, --quiet', 'Suppress progress output')],
    load: lazy(svcMod, 'rollback'),
  },
  scale: {
    name: 'scale', usage: 'SERVICE=REPLICAS [SERVICE=REPLICAS...]', desc: 'Scale one or multiple replicated services', min: 1,
    options: [DETACH],
    load: lazy(svcMod, 'scale'),
  },
  update: {
    name: 'update', usage: '[OPTIONS] SERVICE', desc: 'Update a service', min: 1, max: 1,
    options: byLongName([
      ...SERVICE_COMMON_OPTS,
      str('--args', 'Service command args'),
      list('--constraint-add', 'Add or update a placement constraint'),
      list('--constraint-rm', 'Remove a constraint'),
      list('--container-label-add', 'Add or update a container label'),
      list('--container-label-rm', 'Remove a container label by its key'),
      list('--env-add', 'Add or update an environment variable'),
      list('--env-rm', 'Remove an environment variable'),
      bool('--force', 'Force update even if no changes require it'),
      str('--image', 'Service image tag'),
      list('--label-add', 'Add or update a service label'),
      list('--label-rm', 'Remove a label by its key'),
      list('--mount-add', 'Add or update a mount on a service'),
      list('--mount-rm', 'Remove a mount by its target path'),
      list('--secret-add', 'Add or update a secret on a service'),
      list('--secret-rm', 'Remove a secret'),
      list('--config-add', 'Add or update a config file'),
      list('--config-rm', 'Remove a configuration file'),
      list('--placement-pref-add', 'Add a placement preference'),
      list('--placement-pref-rm', 'Remove a placement preference'),
      list('--network-add', 'Add a network'),
      list('--network-rm', 'Remove a network'),
      list('--publish-add', 'Add or update a published port'),
      list('--publish-rm', 'Remove a published port by its target port'),
      bool('--rollback', 'Rollback to previous specification'),
    ]),
    load: lazy(svcMod, 'update'),
  },
} satisfies Record<string, CommandSpec>;

export const GROUPS: Record<string, { desc: string; commands: Record<string, CommandSpec>; aliases: Record<string, string> }> = {
  container: {
    desc: 'Manage containers',
    // `container ps` is an alias of `container ls` (the top-level form is `ps`).
    commands: Object.fromEntries([
      ...Object.entries(CONTAINER_COMMANDS).filter(([k]) => k !== 'ps'),
      ['ls', { ...CONTAINER_COMMANDS.ps, name: 'ls' }],
    ]) as Record<string, CommandSpec>,
    aliases: { ps: 'ls', list: 'ls', remove: 'rm' },
  },
  image: {
    desc: 'Manage images',
    commands: IMAGE_COMMANDS,
    aliases: { list: 'ls', remove: 'rm', rmi: 'rm' },
  },
  system: {
    desc: 'Manage berth',
    commands: SYSTEM_COMMANDS,
    aliases: {},
  },
  builder: {
    desc: 'Manage builds',
    commands: BUILDER_COMMANDS,
    aliases: {},
  },
  volume: {
    desc: 'Manage volumes',
    commands: VOLUME_COMMANDS,
    aliases: { list: 'ls', remove: 'rm' },
  },
  network: {
    desc: 'Manage networks',
    commands: NETWORK_COMMANDS,
    aliases: { list: 'ls', remove: 'rm' },
  },
  node: {
    desc: 'Manage Swarm nodes',
    commands: NODE_COMMANDS,
    aliases: { list: 'ls', remove: 'rm' },
  },
  secret: {
    desc: 'Manage Swarm secrets',
    commands: SECRET_COMMANDS,
    aliases: { list: 'ls', remove: 'rm' },
  },
  config: {
    desc: 'Manage Swarm configs',
    commands: CONFIG_COMMANDS,
    aliases: { list: 'ls', remove: 'rm' },
  },
  service: {
    desc: 'Manage Swarm services',
    commands: SERVICE_COMMANDS,
    aliases: { list: 'ls', remove: 'rm' },
  },
  stack: {
    desc: 'Manage Swarm stacks',
    commands: STACK_COMMANDS,
    aliases: { list: 'ls', remove: 'rm', down: 'rm', up: 'deploy' },
  },
  swarm: {
    desc: 'Manage Swarm',
    commands: SWARM_COMMANDS,
    aliases: {},
  },
  registry: {
    desc: "Manage berth's registry server",
    commands: REGISTRY_COMMANDS,
    aliases: { 'garbage-collect': 'gc' },
  },
};
