// `berth compose exec | run | cp`: commands in, and files to and from, a service's containers,
// as compose v2 does them (pkg/compose/exec.go, run.go, cp.go).
//
//   berth compose exec web sh -c 'echo $HOSTNAME'     in web's first container (--index N: the Nth)
//   berth compose exec -T -e K=V -u 1000 -w /tmp db env
//   berth compose run --rm web ./manage.py migrate     a one-off container `<project>-web-run-<12 hex>`
//                                                      (com.docker.compose.oneoff=True), after web's
//                                                      dependencies are started and waited for
//   berth compose run -d --name job -p 8080:80 -v ./data:/data --entrypoint sh web -c 'sleep 1'
//   berth compose cp web:/etc/hostname .               from web's first container; to: into every one
//
// exec and cp are the docker CLI's own commands (berth exec, berth cp) once the container is
// known. run creates its container from the service model (src/compose/runtime/create-body.ts),
// then starts it attached as `docker start -a [-i]` does and exits with its status.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { ApiError } from '../../client/client.ts';
import { parseDotEnv } from '../../compose/dotenv.ts';
import { ComposeError } from '../../compose/errors.ts';
import { withSelectedServices } from '../../compose/index.ts';
import { imageName, LABELS, oneOffContainerName, type PortConfig, type Project, type Service, type ServiceVolume } from '../../compose/model.ts';
import { getContainers, getSpecifiedContainer, canonicalName, type ContainerSummary } from '../../compose/query.ts';
import { createServiceContainer, startDependencies, waitDependencies } from '../../compose/runtime/create-body.ts';
import { splitShellWords } from '../../compose/shellwords.ts';
import { parsePortShort, parseVolumeShort } from '../../compose/short-syntax.ts';
import { StatusError, type Ctx } from '../context.ts';
import { buildServices, pullImage } from './compose-images.ts';
import { parallelLimit, progressFor, projectName } from './compose-common.ts';
import { project as loadProject } from './compose.ts';
import { cp as dockerCp } from './cp.ts';
import { exec as dockerExec } from './exec.ts';
import { start as dockerStart } from './run.ts';

type Opts = Record<string, any>;

/** `-e K=V` kept, `-e K` from the lookup (left out when it has no value there), as compose's MappingWithEquals.Resolve. */
export function resolveEnvFlags(items: string[], lookup: (k: string) => string | undefined): string[] {
  const out: string[] = [];
  for (const e of items) {
    const i = e.indexOf('=');
    if (i >= 0) { out.push(e); continue; }
    const v = lookup(e);
    out.push(v === undefined ? e : `${e}=${v}`);
  }
  return out;
}

// ---------------------------------------------------------------------------------------- exec

export async function exec(ctx: Ctx, args: string[], o: Opts): Promise<number> {
  const [service, ...command] = args;
  const name = projectName(ctx);
  let env: string[] = o.env ?? [];
  if (env.some((e: string) => !e.includes('='))) {
    // Names alone take their value from the project's environment (the shell and .env).
    let projectEnv: Record<string, string> = process.env as Record<string, string>;
    try { projectEnv = loadProject(ctx).environment; } catch { /* no files: the shell's */ }
    env = resolveEnvFlags(env, (k) => projectEnv[k]);
  }
  const target = await getSpecifiedContainer(ctx.client, name, 'include', false, service, o.index ?? 0);
  // compose's -T default: no TTY unless stdout is a terminal.
  const tty = o.tty !== false && Boolean(process.stdout.isTTY);
  return dockerExec(ctx, [target.Id, ...command], {
    tty, interactive: o.interactive !== false, detach: Boolean(o.detach), user: o.user, env, workdir: o.workdir, privileged: Boolean(o.privileged),
  });
}

// ----------------------------------------------------------------------------------------- run

function toPort(d: Record<string, unknown>): PortConfig {
  return {
    mode: String(d.mode ?? 'ingress'), hostIp: d.host_ip as string | undefined, target: Number(d.target),
    published: d.published === undefined ? undefined : String(d.published), protocol: String(d.protocol ?? 'tcp'),
  };
}

function toVolume(d: Record<string, unknown>, cwd: string): ServiceVolume {
  const v: ServiceVolume = { type: String(d.type), target: String(d.target) };
  if (d.source !== undefined) v.source = String(d.source);
  if (d.read_only) v.readOnly = true;
  if (v.type === 'bind') {
    v.bind = { createHostPath: true };
    if (v.source && !isAbsolute(v.source)) v.source = resolve(cwd, v.source.replace(/^~(?=\/|$)/, process.env.HOME ?? '~'));
  }
  if (v.type === 'volume') v.volume = {};
  return v;
}

/** compose's runOptions.apply + applyRunOptions: the one-off's service, from the flags. */
export function runService(project: Project, base: Service, o: Opts, command: string[], env: string[]): Service {
  const s: Service = { ...base, labels: { ...(base.labels ?? {}) } };
  s.tty = o.TTY !== false && Boolean(process.stdout.isTTY && process.stdin.isTTY);
  s.stdinOpen = o.interactive !== false;
  if (!o.servicePorts) s.ports = (o.publish ?? []).flatMap((p: string) => parsePortShort(p).map(toPort));
  if (o.volume?.length) s.volumes = [...(s.volumes ?? []), ...o.volume.map((v: string) => toVolume(parseVolumeShort(v), process.cwd()))];
  s.containerName = o.name || undefined;
  if (command.length) s.command = command;
  if (o.user) s.user = o.user;
  if (o.capAdd?.length) { s.capAdd = [...(s.capAdd ?? []), ...o.capAdd]; s.capDrop = (s.capDrop ?? []).filter((c) => !o.capAdd.includes(c)); }
  if (o.capDrop?.length) { s.capDrop = [...(s.capDrop ?? []), ...o.capDrop]; s.capAdd = (s.capAdd ?? []).filter((c) => !o.capDrop.includes(c)); }
  if (o.workdir) s.workingDir = o.workdir;
  if (o.entrypoint !== undefined) {
    s.entrypoint = splitShellWords(o.entrypoint);
    if (command.length === 0) s.command = [];
  }
  if (env.length) {
    const e = { ...(s.environment ?? {}) };
    for (const item of env) {
      const i = item.indexOf('=');
      // Names without a value anywhere are dropped (compose's RemoveEmpty).
      if (i >= 0) e[item.slice(0, i)] = item.slice(i + 1);
    }
    s.environment = e;
  }
  for (const l of o.label ?? []) {
    const i = l.indexOf('=');
    if (i < 0) throw new ComposeError('label must be set as KEY=VALUE');
    s.labels![l.slice(0, i)] = l.slice(i + 1);
  }
  s.scale = 1;
  s.restart = undefined;
  if (s.deploy) s.deploy = { ...s.deploy, restartPolicy: undefined };
  return s;
}

export async function run(ctx: Ctx, args: string[], o: Opts): Promise<number> {
  const [serviceName, ...command] = args;
  if (o.publish?.length && o.servicePorts) throw new ComposeError('--service-ports and --publish are incompatible');
  let project = loadProject(ctx, { services: [serviceName] });
  if (!project.services[serviceName]) throw new ComposeError(`no such service: ${serviceName}`);
  if (o.deps === false) project = withSelectedServices(project, [serviceName], { ignoreDependencies: true });
  // -e from the flags and --env-from-file files, names alone from the project's environment.
  let env = resolveEnvFlags(o.env ?? [], (k) => project.environment[k]).filter((e) => e.includes('='));
  for (const f of o.envFromFile ?? []) {
    const have = new Set(env.map((e) => e.slice(0, e.indexOf('='))));
    let text: string;
    try { text = readFileSync(f, 'utf8'); } catch (e) { throw new ComposeError(`open ${f}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : (e as Error).message}`); }
    const vars = parseDotEnv(text, (k) => env.find((x) => x.startsWith(`${k}=`))?.slice(k.length + 1));
    for (const [k, v] of Object.entries(vars)) if (!have.has(k)) env.push(`${k}=${v}`);
  }
  const s = runService(project, project.services[serviceName], o, command, env);
  project = { ...project, services: { ...project.services, [serviceName]: s } };
  if (s.tty && s.stdinOpen && !process.stdin.isTTY) throw new StatusError('the input device is not a TTY', 1);
  const progress = o.quiet ? { event: () => {}, tail: () => {} } : progressFor(ctx);
  await startDependencies(ctx.client, project, serviceName, progress);

  // The service's image: built (--build, or missing with a build section) or pulled if missing.
  const image = imageName(project, s);
  let imageId: string | undefined;
  if (o.build && s.build) {
    imageId = (await buildServices(ctx.client, project, { services: [serviceName], out: o.quietBuild ? { write: () => true } : process.stdout, progress, parallel: parallelLimit(ctx) }))[image];
  } else {
    try {
      imageId = (await ctx.client.json<{ Id: string }>('GET', `/images/${encodeURIComponent(image)}/json`)).Id;
      if (o.pull === 'always' && !s.build) imageId = await pullImage(ctx.client, serviceName, image, Boolean(o.quietPull), progress, s.platform);
    } catch (e) {
      if (!(e instanceof ApiError && e.status === 404)) throw e;
      if (o.pull === 'never') throw new ComposeError(`No such image: ${image}`);
      if (s.build) imageId = (await buildServices(ctx.client, project, { services: [serviceName], out: process.stdout, progress, parallel: parallelLimit(ctx) }))[image];
      else imageId = await pullImage(ctx.client, serviceName, image, Boolean(o.quietPull), progress, s.platform);
    }
  }
  if (o.deps !== false) await waitDependencies(ctx.client, project, serviceName, progress);

  const slug = randomBytes(32).toString('hex');
  const name = s.containerName ?? oneOffContainerName(project, s, slug);
  const { id, warnings } = await createServiceContainer(ctx.client, project, s, {
    name, number: 0, labels: { [LABELS.slug]: slug, [LABELS.oneoff]: 'True' }, autoRemove: Boolean(o.rm),
    attachStdin: s.stdinOpen, useNetworkAliases: Boolean(o.useAliases), apiVersion: await ctx.client.version(), imageId,
  });
  for (const w of warnings) process.stderr.write(`WARNING: ${w}\n`);
  if (o.detach) {
    await ctx.client.call('POST', `/containers/${id}/start`);
    if (!o.quiet) ctx.out(`${id}\n`);
    return 0;
  }
  // docker start -a [-i]: attached before the start, signals forwarded, the container's status.
  return dockerStart(ctx, [id], { attach: true, interactive: s.stdinOpen });
}

// ------------------------------------------------------------------------------------------ cp

/** compose's splitCpArg: `service:path`, unless the argument is a path (absolute, or ./x:y). */
export function splitServiceArg(arg: string): [string, string] {
  if (arg.startsWith('/')) return ['', arg];
  const i = arg.indexOf(':');
  if (i < 0 || arg.startsWith('.')) return ['', arg];
  return [arg.slice(0, i), arg.slice(i + 1)];
}

export async function cp(ctx: Ctx, args: string[], o: Opts): Promise<number> {
  const [source, destination] = args;
  if (source === '') throw new ComposeError('source can not be empty');
  if (destination === '') throw new ComposeError('destination can not be empty');
  const [srcService, srcPath] = splitServiceArg(source);
  const [dstService, dstPath] = splitServiceArg(destination);
  if (srcService && dstService) throw new ComposeError('copying between services is not supported');
  if (!srcService && !dstService) throw new ComposeError('unknown copy direction');
  const service = srcService || dstService;
  const name = projectName(ctx);
  let targets: ContainerSummary[];
  if ((o.index ?? 0) > 0) targets = [await getSpecifiedContainer(ctx.client, name, 'exclude', true, service, o.index)];
  else {
    targets = await getContainers(ctx.client, name, o.all ? 'include' : 'exclude', true, [service]);
    if (targets.length === 0) throw new ComposeError(`no container found for service ${JSON.stringify(service)}`);
    if (srcService) targets = targets.slice(0, 1);
  }
  const progress = progressFor(ctx);
  for (const c of targets) {
    const cname = canonicalName(c);
    const msg = srcService ? `copy ${cname}:${srcPath} to ${dstPath}` : `copy ${srcPath} to ${cname}:${dstPath}`;
    progress.event({ id: cname, status: 'working', text: msg, statusText: 'Copying' });
    const a = srcService ? [`${c.Id}:${srcPath}`, dstPath] : [srcPath, `${c.Id}:${dstPath}`];
    await dockerCp(ctx, a, { followLink: o.followLink, archive: o.archive, quiet: true });
    progress.event({ id: cname, status: 'done', text: msg, statusText: 'Copied' });
  }
  return 0;
}
