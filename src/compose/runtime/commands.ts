// compose's lifecycle commands over the Engine API (compose v2's pkg/compose: create.go, up.go,
// start.go, stop.go, down.go, remove.go, kill.go, pause.go, restart.go, scale.go). The CLI
// (src/cli/commands/compose-runtime.ts) turns flags into these options and prints errors.
//
//   await create(s, project, { ...defaults, services: [] }, w);   networks, volumes, containers
//   await startProject(s, project, { w });                         start.ts
//   await down(s, 'shop', project, { volumes: true }, w);
//
// Commands that work without a compose file (`-p shop down`, `stop`, ...) get `undefined` for
// the project and rebuild what they need from the labels of the project's containers, networks
// and volumes (compose's projectFromName / getProjectWithResources).
import { ComposeError } from '../errors.ts';
import { normalizeTagged } from '../../common/reference.ts';
import { LABELS, imageName, type Dependency, type Project, type Service } from '../model.ts';
import { isConflict, isNotFound, type ContainerSummary } from './api.ts';
import { canonicalName, getContainers, isNotOneOff, isOrphaned, isService, progressName, projectFilter } from './containers.ts';
import { Convergence, stopAndRemove, stopServices, type RecreatePolicy } from './convergence.ts';
import { inDependencyOrder, inReverseDependencyOrder } from './graph.ts';
import { ensureImages } from './images.ts';
import * as P from './progress.ts';
import { runHook } from './hooks.ts';
import { actualResources, ensureNetworks, ensureVolumes, removeNetwork, removeVolume } from './resources.ts';
import type { Session } from './session.ts';
import { waitDependencies, RUNNING_OR_HEALTHY } from './start.ts';

export interface CreateProjectOptions {
  /** Services named on the command line (empty: all of the project). */
  services: string[];
  /** false: --no-build. */
  build: boolean;
  quietPull: boolean;
  quietBuild?: boolean;
  removeOrphans: boolean;
  ignoreOrphans: boolean;
  recreate: RecreatePolicy;
  recreateDependencies: RecreatePolicy;
  inherit: boolean;
  timeout?: number;
  assumeYes: boolean;
}

export const CREATE_DEFAULTS: CreateProjectOptions = {
  services: [], build: true, quietPull: false, removeOrphans: false, ignoreOrphans: false,
  recreate: 'diverged', recreateDependencies: 'diverged', inherit: true, assumeYes: false,
};

/** compose's CheckContainerNameUnicity (its message, stray quote included). */
export function checkContainerNames(p: Project): void {
  const seen = new Map<string, string>();
  for (const name of Object.keys(p.services).sort()) {
    const c = p.services[name].containerName;
    if (!c) continue;
    if (seen.has(c)) throw new ComposeError(`services.${name}: container name ${JSON.stringify(c)} is already in use by service ${seen.get(c)}"`);
    seen.set(c, name);
  }
}

/** compose's create: images, networks, volumes, orphans, then each service converged. */
export async function create(s: Session, project: Project, o: CreateProjectOptions, w: P.ProgressWriter): Promise<void> {
  checkContainerNames(project);
  const imageIds = await ensureImages(s, project, { build: o.build, quietPull: o.quietPull, quietBuild: o.quietBuild, w });
  const networks = await ensureNetworks(s, project, w, async (key) => {
    // A network whose definition changed: stop and disconnect what uses it; it is recreated.
    const users = Object.keys(project.services).filter((n) => project.services[n].networks?.[key] !== undefined);
    await stopServices(s, project, users, undefined, w);
    const cs = await getContainers(s.api, project.name, 'exclude', true, users);
    for (const c of cs) await s.api.disconnectNetwork(project.networks[key].name, c.Id);
    await s.api.removeNetwork(project.networks[key].name);
    w.event(P.removed(`Network ${project.networks[key].name}`));
    // They are connected to the new network once it exists (compose's dangled containers).
    return cs.map((c) => c.Id);
  });
  const volumes = await ensureVolumes(s, project, w, o.assumeYes, async (key, v) => {
    const users = Object.keys(project.services).filter((n) => (project.services[n].volumes ?? []).some((x) => x.source === key));
    await stopServices(s, project, users, undefined, w);
    const cs = await getContainers(s.api, project.name, 'exclude', true, users);
    await removeContainers(s, cs, { volumes: false, force: false }, w);
    await s.api.removeVolume(v.name, true);
  });
  const observed = await getContainers(s.api, project.name, 'include', true);
  const orphans = observed.filter(isOrphaned(project));
  if (orphans.length && !o.ignoreOrphans) {
    if (o.removeOrphans) {
      await Promise.all(orphans.map((c) => stopAndRemove(s, c, undefined, false, w)));
    } else {
      s.warn(`Found orphan containers ([${orphans.map(canonicalName).join(' ')}]) for this project. If you removed or renamed this service in your compose file, you can run this command with the --remove-orphans flag to clean it up.`);
    }
  }
  const conv = new Convergence(s, project, observed, { networks, volumes, imageIds });
  await conv.apply({
    services: o.services.length ? o.services : Object.keys(project.services),
    recreate: o.recreate, recreateDependencies: o.recreateDependencies, inherit: o.inherit, timeout: o.timeout,
  }, w);
}

// -- project from labels (commands run without a compose file) ---------------------------------

/** compose's projectFromName: services rebuilt from container labels (image, scale, depends_on). */
export function projectFromContainers(containers: ContainerSummary[], name: string, requiredDeps = true): Project {
  const services: Record<string, Service> = {};
  const labelsOf: Record<string, Record<string, string>> = {};
  for (const c of containers.filter(isNotOneOff)) {
    const svc = c.Labels?.[LABELS.service] ?? canonicalName(c);
    const s = services[svc] ?? { name: svc, image: c.Image, labels: c.Labels, scale: 0 };
    s.scale = (s.scale ?? 0) + 1;
    services[svc] = s;
    labelsOf[svc] = c.Labels ?? {};
  }
  for (const [svc, s] of Object.entries(services)) {
    const deps = labelsOf[svc][LABELS.dependsOn];
    if (!deps) continue;
    const dependsOn: Record<string, Dependency> = {};
    for (const dc of deps.split(',')) {
      const [dep, condition = RUNNING_OR_HEALTHY, restart = 'true'] = dc.split(':');
      dependsOn[dep] = { condition: condition as Dependency['condition'], restart: restart === 'true' || restart === '1', required: requiredDeps };
    }
    s.dependsOn = dependsOn;
  }
  return {
    name, workingDir: '', composeFiles: [], environment: {}, envFiles: [], services, disabledServices: {},
    profiles: [], networks: {}, volumes: {}, secrets: {}, configs: {},
  };
}

async function projectWithResources(s: Session, containers: ContainerSummary[], name: string): Promise<Project> {
  const p = projectFromContainers(containers, name, false);
  const r = await actualResources(s, name);
  return { ...p, networks: r.networks, volumes: r.volumes };
}

// -- stop / start / restart ---------------------------------------------------------------------

export async function stop(s: Session, name: string, project: Project | undefined, services: string[], timeout: number | undefined, w: P.ProgressWriter): Promise<void> {
  const p = project ?? await projectWithResources(s, await getContainers(s.api, name, 'exclude', true), name);
  await stopServices(s, p, services, timeout, w);
}

/** `compose start` without a file: the project as its containers say. */
export async function projectForStart(s: Session, name: string, services: string[]): Promise<Project> {
  const cs = await getContainers(s.api, name, 'exclude', true);
  if (cs.length === 0) throw new ComposeError(`no container found for project ${JSON.stringify(name)}: not found`);
  const p = projectFromContainers(cs, name);
  for (const svc of services) if (!p.services[svc]) throw new ComposeError(`no such service: ${JSON.stringify(svc)}: not found`);
  if (services.length === 0) return p;
  // The named services and what they depend on.
  const keep = new Set<string>();
  const add = (n: string) => { if (keep.has(n) || !p.services[n]) return; keep.add(n); for (const d of Object.keys(p.services[n].dependsOn ?? {})) add(d); };
  for (const svc of services) add(svc);
  return { ...p, services: Object.fromEntries(Object.entries(p.services).filter(([k]) => keep.has(k))) };
}

export async function restart(s: Session, name: string, project: Project | undefined, o: { services: string[]; noDeps: boolean; timeout?: number }, w: P.ProgressWriter): Promise<void> {
  const containers = await getContainers(s.api, name, 'exclude', true);
  let p = project ?? await projectWithResources(s, containers, name);
  if (o.noDeps && o.services.length) {
    p = { ...p, services: Object.fromEntries(Object.entries(p.services).filter(([k]) => o.services.includes(k)).map(([k, v]) => [k, { ...v, dependsOn: {} }])) };
  }
  // Only `restart: true` dependencies matter here.
  const services: Record<string, Service> = {};
  for (const [k, v] of Object.entries(p.services)) {
    services[k] = { ...v, dependsOn: Object.fromEntries(Object.entries(v.dependsOn ?? {}).filter(([, d]) => d.restart)) };
  }
  p = { ...p, services };
  if (o.services.length) {
    for (const svc of o.services) if (!p.services[svc]) throw new ComposeError(`no such service: ${svc}`);
    // The named services and what depends on them (compose's IncludeDependents).
    const keep = new Set<string>();
    const add = (n: string) => {
      if (keep.has(n)) return;
      keep.add(n);
      for (const [k, v] of Object.entries(p.services)) if (v.dependsOn?.[n]) add(k);
    };
    for (const svc of o.services) add(svc);
    p = { ...p, services: Object.fromEntries(Object.entries(p.services).filter(([k]) => keep.has(k))) };
  }
  await inDependencyOrder(p.services, async (svc) => {
    await waitDependencies(s, p, svc, p.services[svc].dependsOn ?? {}, containers, 0, w);
    const def = p.services[svc];
    await Promise.all(containers.filter(isService(svc)).map(async (c) => {
      for (const hook of def.preStop ?? []) await runHook(s, c, def, hook);
      const event = progressName(c);
      w.event(P.restarting(event));
      await s.api.restartContainer(c.Id, o.timeout);
      w.event(P.started(event));
      for (const hook of def.postStart ?? []) await runHook(s, c, def, hook);
    }));
  }, { limit: s.parallel });
}

// -- down / rm ----------------------------------------------------------------------------------

async function removeContainers(s: Session, cs: ContainerSummary[], o: { volumes: boolean; force: boolean }, w: P.ProgressWriter): Promise<void> {
  await Promise.all(cs.map(async (c) => {
    const event = progressName(c);
    w.event(P.removing(event));
    await s.api.removeContainer(c.Id, { volumes: o.volumes, force: o.force });
    w.event(P.removed(event));
  }));
}

export interface DownOptions {
  services: string[];
  removeOrphans: boolean;
  timeout?: number;
  volumes: boolean;
  /** --rmi: 'local' or 'all'. */
  images?: string;
}

/** compose's normalizeAndDedupeImages: familiar names with their tag, sorted, once each. */
function normalizeImages(images: string[]): string[] {
  const seen = new Set<string>();
  for (const img of images) {
    try { seen.add(normalizeTagged(img).familiar()); } catch { seen.add(img); }
  }
  return [...seen].sort();
}

/** compose's ImagePruner: what `down --rmi local|all` removes. */
async function imagesToPrune(s: Session, project: Project, mode: string, removeOrphans: boolean): Promise<string[]> {
  const exists = async (names: string[]) => {
    const out: string[] = [];
    await Promise.all(names.map(async (n) => {
      try { await s.api.inspectImage(n); out.push(n); } catch (e) { if (!isNotFound(e)) out.push(n); }
    }));
    return out;
  };
  const images: string[] = [];
  if (mode === 'all') images.push(...await exists(Object.values(project.services).filter((x) => x.image).map((x) => x.image!)));
  const labeled = await s.api.listImages({ label: [projectFilter(project.name)], dangling: ['false'] });
  for (const img of labeled) {
    if (!img.RepoTags?.length) continue;
    if (removeOrphans || project.services[img.Labels?.[LABELS.service] ?? '']) images.push(img.RepoTags[0]);
  }
  images.push(...await exists(Object.values(project.services).filter((x) => !x.image).map((x) => imageName(project, x))));
  return normalizeImages(images);
}

async function removeImage(s: Session, image: string, w: P.ProgressWriter): Promise<void> {
  const event = `Image ${image}`;
  w.event(P.newEvent(event, 'working', 'Removing'));
  try {
    await s.api.removeImage(image);
  } catch (e) {
    if (isConflict(e)) { w.event(P.newEvent(event, 'warning', 'Resource is still in use')); return; }
    if (isNotFound(e)) { w.event(P.newEvent(event, 'done', 'Warning: No resource found to remove')); return; }
    throw e;
  }
  w.event(P.newEvent(event, 'done', 'Removed'));
}

export async function down(s: Session, name: string, project: Project | undefined, o: DownOptions, w: P.ProgressWriter): Promise<void> {
  const containers = await getContainers(s.api, name, o.removeOrphans ? 'include' : 'exclude', true);
  const p = project ?? await projectWithResources(s, containers, name);
  const services: string[] = [];
  for (const svc of o.services) {
    if (p.services[svc]) services.push(svc);
    else if (project) throw new ComposeError(`no such service: ${svc}`);
  }
  if (o.services.length && services.length === 0) {
    s.info(`Any of the services [${o.services.join(' ')}] not running in project ${JSON.stringify(name)}`);
    return;
  }
  const resourceToRemove = containers.length > 0;
  await inReverseDependencyOrder(p.services, async (svc) => {
    await Promise.all(containers.filter(isService(svc)).map((c) => stopAndRemove(s, c, o.timeout, o.volumes, w, p.services[svc])));
  }, { only: services, limit: s.parallel });
  const orphans = containers.filter(isOrphaned(p));
  if (o.removeOrphans && orphans.length) await Promise.all(orphans.map((c) => stopAndRemove(s, c, o.timeout, false, w)));
  const ops: Array<() => Promise<void>> = [];
  for (const key of Object.keys(p.networks).sort()) {
    const n = p.networks[key];
    if (n.external) continue;
    ops.push(() => removeNetwork(s, name, key, n.name, w));
  }
  if (o.images) {
    for (const img of await imagesToPrune(s, p, o.images, o.removeOrphans)) ops.push(() => removeImage(s, img, w));
  }
  if (o.volumes) {
    for (const key of Object.keys(p.volumes).sort()) {
      const v = p.volumes[key];
      if (v.external) continue;
      ops.push(() => removeVolume(s, v.name, w));
    }
  }
  if (!resourceToRemove && ops.length === 0) s.warn(`Warning: No resource found to remove for project ${JSON.stringify(name)}.`);
  await Promise.all(ops.map((op) => op()));
}

export interface RemoveOptions {
  services: string[];
  force: boolean;
  volumes: boolean;
}

/** compose's Remove (after an optional stop): the stopped containers, once confirmed. */
export async function rm(s: Session, name: string, project: Project | undefined, o: RemoveOptions, writer: (title: string) => P.ProgressWriter): Promise<void> {
  let containers = await getContainers(s.api, name, 'exclude', true, o.services);
  if (project) containers = containers.filter(isService(...Object.keys(project.services)));
  const stopped: ContainerSummary[] = [];
  for (const c of containers) {
    try {
      const x = await s.api.inspectContainer(c.Id);
      if (!x.State.Running) stopped.push(c);
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }
  if (stopped.length === 0) {
    s.stderr.write('No stopped containers\n');
    return;
  }
  const msg = `Going to remove ${stopped.map(canonicalName).join(', ')}`;
  if (o.force) s.stdout.write(`${msg}\n`);
  else if (!await s.confirm(msg, false)) return;
  const w = writer('Removing');
  try {
    await removeContainers(s, stopped, { volumes: o.volumes, force: o.force }, w);
  } finally {
    w.stop();
  }
}

// -- kill / pause / unpause ---------------------------------------------------------------------

export async function kill(s: Session, name: string, project: Project | undefined, o: { services: string[]; signal: string; removeOrphans: boolean }, w: P.ProgressWriter): Promise<void> {
  let containers = await getContainers(s.api, name, 'include', false, o.services);
  const p = project ?? projectFromContainers(containers, name, false);
  if (!o.removeOrphans) containers = containers.filter(isService(...Object.keys(p.services)));
  if (containers.length === 0) {
    s.stderr.write('no container to kill');
    return;
  }
  await Promise.all(containers.map(async (c) => {
    const event = progressName(c);
    w.event(P.killing(event));
    try {
      await s.api.killContainer(c.Id, o.signal);
    } catch (e) {
      w.event(P.errorMessage(event, 'Error while Killing'));
      throw e;
    }
    w.event(P.killed(event));
  }));
}

export async function pause(s: Session, name: string, project: Project | undefined, services: string[], unpause: boolean, w: P.ProgressWriter): Promise<void> {
  let containers = await getContainers(s.api, name, 'exclude', false, services);
  if (project) containers = containers.filter(isService(...Object.keys(project.services)));
  await Promise.all(containers.map(async (c) => {
    if (unpause) await s.api.unpauseContainer(c.Id);
    else await s.api.pauseContainer(c.Id);
    w.event(P.newEvent(progressName(c), 'done', unpause ? 'Unpaused' : 'Paused'));
  }));
}

/** compose's scale flags: `web=3` → { web: 3 } (`invalid scale specifier: x`). */
export function parseScaleArgs(args: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const arg of args) {
    const eq = arg.indexOf('=');
    const key = eq < 0 ? '' : arg.slice(0, eq);
    const val = eq < 0 ? '' : arg.slice(eq + 1);
    if (eq < 0 || key === '' || val === '') throw new ComposeError(`invalid scale specifier: ${arg}`);
    if (!/^[+-]?\d+$/.test(val)) throw new ComposeError(`invalid scale specifier: can't parse replica value as int: ${arg}`);
    out[key] = Number(val);
  }
  return out;
}

/** Sets a service's scale (compose's SetScale: deploy.replicas follows). */
export function withScale(project: Project, name: string, n: number): Project {
  const svc = project.services[name];
  if (!svc) throw new ComposeError(`no such service: ${name}`);
  const s: Service = { ...svc, scale: n };
  if (s.deploy) s.deploy = { ...s.deploy, replicas: n };
  return { ...project, services: { ...project.services, [name]: s } };
}
