// berthd configuration: flags over /etc/berth/daemon.json (or --config-file), Docker's key names.
import { parseArgs } from 'node:util';
import { readFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { resolve } from 'node:path';

export interface DaemonConfig {
  hosts: string[];
  dataRoot: string;
  execRoot: string;
  defaultRuntime: string;
  runtimes: Record<string, { path: string; runtimeArgs?: string[] }>;
  logLevel: 'debug' | 'info' | 'warn' | 'error';
  pidfile: string;
  tls: boolean;
  tlsverify: boolean;
  tlscacert?: string;
  tlscert?: string;
  tlskey?: string;
  /** Allow a plain TCP listener, only on a loopback address (tests, local tooling). */
  insecureLoopbackTcp: boolean;
  /** Suffix for host-global names (cgroup parent, ...), unique per daemon instance. */
  instance: string;
}

const USAGE = `Usage: berthd [OPTIONS]

A Docker-compatible container engine (Docker Engine API v1.47)

Options:
  -H, --host list               Daemon socket(s) to listen on (unix:///path, tcp://host:port)
      --data-root string        Root directory of persistent state (default "/var/lib/berth")
      --exec-root string        Root directory for execution state (default "/run/berth")
      --config-file string      Daemon configuration file (default "/etc/berth/daemon.json")
      --default-runtime string  Default OCI runtime for containers (default "runc")
      --add-runtime name=path   Register an additional OCI runtime
  -l, --log-level string        Set the logging level ("debug"|"info"|"warn"|"error") (default "info")
  -p, --pidfile string          Path to use for daemon PID file (default "/run/berth.pid")
      --tls                     Use TLS; implied by --tlsverify
      --tlsverify               Use TLS and verify the remote (client certificates)
      --tlscacert string        Trust certs signed only by this CA
      --tlscert string          Path to TLS certificate file
      --tlskey string           Path to TLS key file
      --insecure-loopback-tcp   Allow a plain-text tcp:// listener on a loopback address
  -h, --help                    Print usage
  -v, --version                 Print version information and quit
`;

export async function loadConfig(argv: string[]): Promise<DaemonConfig | 'help' | 'version'> {
  const { values } = parseArgs({
    args: argv,
    options: {
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
      help: { type: 'boolean', short: 'h' },
      version: { type: 'boolean', short: 'v' },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) { process.stdout.write(USAGE); return 'help'; }
  if (values.version) return 'version';
  const cfgPath = values['config-file'] ?? '/etc/berth/daemon.json';
  let file: Record<string, unknown> = {};
  try {
    file = JSON.parse(await readFile(cfgPath, 'utf8')) as Record<string, unknown>;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT' || values['config-file']) {
      throw new Error(`unable to configure the daemon with file ${cfgPath}: ${(e as Error).message}`);
    }
  }
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
  return {
    hosts: values.host ?? (file.hosts as string[] | undefined) ?? ['unix:///run/berth/berth.sock'],
    dataRoot,
    execRoot,
    defaultRuntime,
    runtimes,
    logLevel,
    pidfile: pick(values.pidfile, 'pidfile', execRoot === '/run/berth' ? '/run/berth.pid' : `${execRoot}/berthd.pid`),
    tls: !!pick(values.tls, 'tls', false) || !!pick(values.tlsverify, 'tlsverify', false),
    tlsverify: !!pick(values.tlsverify, 'tlsverify', false),
    tlscacert: pick(values.tlscacert, 'tlscacert', undefined),
    tlscert: pick(values.tlscert, 'tlscert', undefined),
    tlskey: pick(values.tlskey, 'tlskey', undefined),
    insecureLoopbackTcp: !!pick(values['insecure-loopback-tcp'], 'insecure-loopback-tcp', false),
    // The default daemon owns the plain names; others get a stable suffix from their exec root.
    instance: execRoot === '/run/berth' ? '' : createHash('sha256').update(execRoot).digest('hex').slice(0, 8),
  };
}
