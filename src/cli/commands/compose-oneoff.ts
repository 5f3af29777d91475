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
// known. run brings up the service's dependencies with the runtime's create and start (compose's
// startDependencies), creates its container as up creates a service's (the runtime's
// createServiceContainer: the same create body, labels with oneoff=True and the slug), then
// starts it attached as `docker start -a [-i]` does and exits with its status.
import type { OptionsOf, COMPOSE_COMMANDS } from '../spec.ts';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { parseDotEnv } from '../../compose/dotenv.ts';
import { ComposeError } from '../../compose/errors.ts';
import { serviceHash } from '../../compose/hash.ts';
import { withSelectedServices } from '../../compose/index.ts';
import { imageName, LABELS, oneOffContainerName, type PortConfig, type Project, type Service, type ServiceVolume } from '../../compose/model.ts';
import type { ContainerSummary } from '../../compose/runtime/api.ts';
import { create, CREATE_DEFAULTS } from '../../compose/runtime/commands.ts';
import { canonicalName, getContainers, getSpecifiedContainer, isService } from '../../compose/runtime/containers.ts';
import { createServiceContainer, resolveServiceReferences } from '../../compose/runtime/convergence.ts';
import { ensureImages } from '../../compose/runtime/images.ts';
import { injectFiles, startProject, waitDependencies } from '../../compose/runtime/start.ts';
import { splitShellWords } from '../../compose/shellwords.ts';
import { parsePortShort, parseVolumeShort } from '../../compose/short-syntax.ts';
import { StatusError, type Ctx } from '../context.ts';
import { applyCreateFlags, projectName, runCommand, session, truthy, withWriter } from './compose-common.ts';
import { project as loadProject } from './compose.ts';
import { cp as dockerCp } from './cp.ts';
import { exec as dockerExec } from './exec.ts';
import { start as dockerStart } from './run.ts';


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

export async function exec(ctx: Ctx, args: string[], o: OptionsOf<typeof COMPOSE_COMMANDS.exec>): Promise<number> {
  const [service, ...command] = args;
  const name = projectName(ctx);
  let env: string[] = o.env ?? [];
  if (env.some((e: string) => !e.includes('='))) {
    // Names alone take their value from the project's environment (the shell and .env).
    let projectEnv: Record<string, string> = process.env as Record<string, string>;
    try { projectEnv = loadProject(ctx).environment; } catch { /* no files: the shell's */ }
    env = resolveEnvFlags(env, (k) => projectEnv[k]);
  }
  const { s } = session(ctx);
  const target = await getSpecifiedContainer(s.api, name, 'include', false, service, o.index ?? 0);
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
export function runService(project: Project, base: Service, o: OptionsOf<typeof COMPOSE_COMMANDS.run>, command: string[], env: string[]): Service {
  const s: Service = { ...base, labels: { ...(base.labels ?? {}) } };
  s.tty = o.TTY !== false && Boolean(process.stdout.isTTY && process.stdin.isTTY);
  s.stdinOpen = o.interactive !== false;
  if (!o.servicePorts) s.ports = (o.publish ?? []).flatMap((p: string) => parsePortShort(p).map(toPort));
  if (o.volume?.length) s.volumes = [...(s.volumes ?? []), ...o.volume.map((v: string) => toVolume(parseVolumeShort(v), process.cwd()))];
  s.containerName = o.name || undefined;
  if (command.length) s.command = command;
  if (o.user) s.user = o.user;
  const { capAdd, capDrop } = o;
  if (capAdd?.length) { s.capAdd = [...(s.capAdd ?? []), ...capAdd]; s.capDrop = (s.capDrop ?? []).filter((c) => !capAdd.includes(c)); }
  if (capDrop?.length) { s.capDrop = [...(s.capDrop ?? []), ...capDrop]; s.capAdd = (s.capAdd ?? []).filter((c) => !capDrop.includes(c)); }
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

export async function run(ctx: Ctx, args: string[], o: OptionsOf<typeof COMPOSE_COMMANDS.run>): Promise<number> {
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
  const svc0 = runService(project, project.services[serviceName], o, command, env);
  project = applyCreateFlags({ ...project, services: { ...project.services, [serviceName]: svc0 } }, { build: Boolean(o.build), pull: o.pull });
  const svc1 = project.services[serviceName];
  if (svc1.tty && svc1.stdinOpen && !process.stdin.isTTY) throw new StatusError('the input device is not a TTY', 1);
  const { s, ui } = session(ctx);
  let id = '';
  await runCommand(() => withWriter(s, o.quiet ? { ...ui, mode: 'quiet' } : ui, 'Running', async (w) => {
    // compose's startDependencies: the project without the one-off's service is created (its
    // networks, volumes and the dependencies' containers, as up does) and its services started.
    const { [serviceName]: _self, ...others } = project.services;
    const deps: Project = { ...project, services: others, disabledServices: { ...project.disabledServices, [serviceName]: svc1 } };
    await create(s, deps, {
      ...CREATE_DEFAULTS, quietPull: Boolean(o.quietPull), quietBuild: Boolean(o.quietBuild),
      removeOrphans: Boolean(o.removeOrphans), ignoreOrphans: truthy(project.environment.COMPOSE_IGNORE_ORPHANS),
    }, w);
    if (Object.keys(others).length) await startProject(s, deps, { w });

    // The service's own image: built (--build, or missing with a build section) or pulled.
    const imageIds = await ensureImages(s, { ...project, services: { [serviceName]: svc1 } }, { build: true, quietPull: Boolean(o.quietPull), quietBuild: Boolean(o.quietBuild), w });
    const observed = await getContainers(s.api, project.name, 'include', true);
    if (o.deps !== false) await waitDependencies(s, project, serviceName, svc1.dependsOn ?? {}, observed, 0, w);

    const slug = randomBytes(32).toString('hex');
    const svc = resolveServiceReferences({ ...svc1, containerName: svc1.containerName ?? oneOffContainerName(project, svc1, slug) }, (n) => observed.filter(isService(n)));
    const c = await createServiceContainer(s, project, svc, svc.containerName!, {
      number: 0, hash: serviceHash(svc), imageId: imageIds[imageName(project, svc)], oneoff: true, labels: { [LABELS.slug]: slug },
      useNetworkAliases: Boolean(o.useAliases), autoRemove: Boolean(o.rm), attachStdin: svc.stdinOpen,
    }, w);
    await injectFiles(s, project, svc, c.Id);
    id = c.Id;
  }));
  if (o.detach) {
    await s.api.startContainer(id);
    if (!o.quiet) ctx.out(`${id}\n`);
    return 0;
  }
  // docker start -a [-i]: attached before the start, signals forwarded, the container's status.
  return dockerStart(ctx, [id], { attach: true, interactive: Boolean(project.services[serviceName].stdinOpen) });
}

// ------------------------------------------------------------------------------------------ cp

/** compose's splitCpArg: `service:path`, unless the argument is a path (absolute, or ./x:y). */
export function splitServiceArg(arg: string): [string, string] {
  if (arg.startsWith('/')) return ['', arg];
  const i = arg.indexOf(':');
  if (i < 0 || arg.startsWith('.')) return ['', arg];
  return [arg.slice(0, i), arg.slice(i + 1)];
}

export async function cp(ctx: Ctx, args: string[], o: OptionsOf<typeof COMPOSE_COMMANDS.cp>): Promise<number> {
  const [source, destination] = args;
  if (source === '') throw new ComposeError('source can not be empty');
  if (destination === '') throw new ComposeError('destination can not be empty');
  const [srcService, srcPath] = splitServiceArg(source);
  const [dstService, dstPath] = splitServiceArg(destination);
  if (srcService && dstService) throw new ComposeError('copying between services is not supported');
  if (!srcService && !dstService) throw new ComposeError('unknown copy direction');
  const service = srcService || dstService;
  const name = projectName(ctx);
  const { s, ui } = session(ctx);
  let targets: ContainerSummary[];
  if ((o.index ?? 0) > 0) targets = [await getSpecifiedContainer(s.api, name, 'exclude', true, service, o.index)];
  else {
    targets = await getContainers(s.api, name, o.all ? 'include' : 'exclude', true, [service]);
    if (targets.length === 0) throw new ComposeError(`no container found for service ${JSON.stringify(service)}`);
    if (srcService) targets = targets.slice(0, 1);
  }
  return withWriter(s, ui, 'Copying', async (w) => {
    for (const c of targets) {
      const cname = canonicalName(c);
      const msg = srcService ? `copy ${cname}:${srcPath} to ${dstPath}` : `copy ${srcPath} to ${cname}:${dstPath}`;
      w.event({ id: cname, status: 'working', text: msg, statusText: 'Copying' });
      const a = srcService ? [`${c.Id}:${srcPath}`, dstPath] : [srcPath, `${c.Id}:${dstPath}`];
      await dockerCp(ctx, a, { followLink: o.followLink, archive: o.archive, quiet: true });
      w.event({ id: cname, status: 'done', text: msg, statusText: 'Copied' });
    }
    return 0;
  });
}
