// berth's compose as the docker CLI's `compose` plugin (bin/docker-compose, installed by
// scripts/setup in /usr/local/lib/docker/cli-plugins): `docker compose up` on a machine with only
// the docker CLI runs berth's compose.
//
// How the docker CLI (28) runs a plugin (cli-plugins/manager): `docker-compose
// docker-cli-plugin-metadata` first (the launcher answers that itself, without node), then the
// plugin with the docker CLI's own arguments, global flags included (`-H tcp://x compose ps`),
// and its environment as it is plus DOCKER_CLI_PLUGIN_ORIGINAL_CLI_COMMAND and
// DOCKER_CLI_PLUGIN_SOCKET. The docker CLI does not resolve the engine for the plugin: the plugin
// does, with the docker CLI's rules (cli/command/cli.go resolveContextName):
//
//   -H/--host                        that host (with --context: "conflicting options")
//   DOCKER_HOST                      that host
//   --context, DOCKER_CONTEXT, or config.json's currentContext
//                                    the context's docker endpoint (contexts/meta/<sha256 of the
//                                    name>/meta.json under the config dir); `default` is the default
//   nothing                          unix:///var/run/docker.sock (docker's default, not berth's)
//
// The config dir is --config, else DOCKER_CONFIG, else ~/.docker: registry credentials come from
// there, as the docker CLI's do. BERTH_HOST plays no part here.
//
//   resolvePluginInvocation(['-H', 'unix:///run/berth/berth.sock', 'compose', 'ps'], env)
//   → { globals: { host: 'unix:///run/berth/berth.sock' }, args: ['ps'], configDir: '/root/.docker' }
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import net from 'node:net';
import { GLOBAL_OPTIONS, parseArgs, ParseError } from './args.ts';
import { StatusError, type Globals } from './context.ts';
import type { OptDef, Options } from './spec.ts';

export const PLUGIN_ENV = 'BERTH_DOCKER_PLUGIN';
export const DOCKER_DEFAULT_HOST = 'unix:///var/run/docker.sock';

/**
 * The docker CLI's global flags (a plugin receives them before its name): berth's own, but -H
 * may repeat there and -v is not one of them.
 */
const DOCKER_GLOBALS: readonly OptDef[] = GLOBAL_OPTIONS
  .filter((o) => o.flags !== '-v, --version')
  .map((o) => (o.flags === '-H, --host' ? { ...o, kind: 'list' } : o));

/** What parsing DOCKER_GLOBALS gives: the global flags' options, -H repeated. */
type PluginGlobals = Omit<Options<typeof GLOBAL_OPTIONS>, 'host' | 'version'> & { host?: string[] };

export interface PluginInvocation {
  globals: Globals;
  /** compose's own arguments, after `compose`. */
  args: string[];
  configDir: string;
}

interface ContextMeta { Endpoints?: { docker?: { Host?: string; SkipTLSVerify?: boolean } } }

export function resolvePluginInvocation(argv: string[], env: NodeJS.ProcessEnv): PluginInvocation {
  let g;
  try {
    g = parseArgs(DOCKER_GLOBALS, argv, { interspersed: false, shortHelp: false });
  } catch (e) {
    if (e instanceof ParseError) throw new StatusError(e.message, 125);
    throw e;
  }
  const [name, ...args] = g.args;
  if (name !== 'compose') throw new StatusError(`docker-compose: this docker CLI plugin runs as "docker compose", not ${JSON.stringify(name ?? '')}`, 1);
  const o = g.opts as PluginGlobals;
  const configDir = o.config || env.DOCKER_CONFIG || join(homedir(), '.docker');
  const hosts: string[] = o.host ?? [];
  if (hosts.length > 1) throw new StatusError('Specify only one -H', 1);
  if (hosts.length && o.context) throw new StatusError('conflicting options: cannot specify both --host and --context', 1);
  const globals: Globals = { tls: o.tls, tlsverify: o.tlsverify, tlscacert: o.tlscacert, tlscert: o.tlscert, tlskey: o.tlskey, debug: o.debug, logLevel: o.logLevel };
  let host = hosts[0] || (!o.context ? env.DOCKER_HOST : undefined);
  if (!host) {
    const ctxName = o.context || env.DOCKER_CONTEXT || currentContext(configDir) || 'default';
    if (ctxName !== 'default') {
      const id = createHash('sha256').update(ctxName).digest('hex');
      const metaPath = join(configDir, 'contexts', 'meta', id, 'meta.json');
      let meta: ContextMeta;
      try { meta = JSON.parse(readFileSync(metaPath, 'utf8')) as ContextMeta; } catch {
        throw new StatusError(`context "${ctxName}": context not found: open ${metaPath}: no such file or directory`, 1);
      }
      host = meta.Endpoints?.docker?.Host;
      const tlsDir = join(configDir, 'contexts', 'tls', id, 'docker');
      if (existsSync(join(tlsDir, 'ca.pem')) || existsSync(join(tlsDir, 'cert.pem'))) {
        globals.tls = true;
        globals.tlsverify = !meta.Endpoints?.docker?.SkipTLSVerify;
        globals.tlscacert ??= join(tlsDir, 'ca.pem');
        globals.tlscert ??= join(tlsDir, 'cert.pem');
        globals.tlskey ??= join(tlsDir, 'key.pem');
      }
    }
  }
  globals.host = host || DOCKER_DEFAULT_HOST;
  return { globals, args, configDir };
}

function currentContext(configDir: string): string | undefined {
  try {
    const cfg = JSON.parse(readFileSync(join(configDir, 'config.json'), 'utf8')) as { currentContext?: string };
    return cfg.currentContext || undefined;
  } catch { return undefined; /* no (readable) config: no current context */ }
}

/**
 * The docker CLI's plugin socket: when the CLI wants the plugin to stop (it got a signal without
 * a terminal to pass it on), it closes the socket; that is the plugin's SIGINT.
 */
export function watchPluginSocket(env: NodeJS.ProcessEnv): void {
  const addr = env.DOCKER_CLI_PLUGIN_SOCKET;
  if (!addr) return;
  const s = net.connect({ path: addr.startsWith('@') ? `\0${addr.slice(1)}` : addr });
  s.on('error', () => { /* no socket: nothing to watch */ });
  s.on('close', (hadError) => {
    if (hadError) return;
    if (process.listenerCount('SIGINT') === 0) process.exit(130);
    process.emit('SIGINT' as any);
  });
  s.unref();
}
