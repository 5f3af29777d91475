// Bringing each service's containers to what the model says (compose's convergence.go), service
// by service in dependency order, independent services at the same time:
//
//   - an up-to-date container is left as it is (`Container shop-db-1  Running`);
//   - one whose config hash, image ID, networks or named volumes differ is recreated: a new
//     container is made under a temporary name `<old id 12>_<name>` (taking over the old one's
//     anonymous volumes unless -V), the old one is stopped and removed, the new one renamed;
//     services that depend on it with `restart: true` are stopped first, to be started again;
//   - missing replicas are created (`shop-web-2`, numbered after the highest in use), extra
//     ones stopped and removed (obsolete ones first, then the highest numbers);
//   - `network_mode: service:x`, `volumes_from: x` (and ipc/pid `service:x`) are resolved to x's
//     first container before the hash is taken: when x is recreated the hash changes, and so the
//     dependant is recreated too.
//
//   const conv = new Convergence(s, project, observed, { networks, volumes, imageIds });
//   await conv.apply({ services: [], recreate: 'diverged', recreateDependencies: 'diverged', inherit: true }, w);
import { ComposeError } from '../errors.ts';
import { serviceHash } from '../hash.ts';
import { LABELS, containerName, imageName, serviceScale, SEPARATOR, type Project, type Service } from '../model.ts';
import { ApiError, isNotFound, isConflict, type ContainerSummary, type MountSummary } from './api.ts';
import { canonicalName, containerNumber, getContainers, isNotOneOff, isService, nextContainerNumber, progressName, sortedByName } from './containers.ts';
import { containerCreateBody, createPlatform, endpointSettings, serviceLabels } from './create-config.ts';
import { inDependencyOrder, inReverseDependencyOrder } from './graph.ts';
import * as P from './progress.ts';
import { runHook, type HookOutput } from './hooks.ts';
import type { Session } from './session.ts';
import { compareVersions } from '../../client/client.ts';
import { networksByPriority } from '../model.ts';

export type RecreatePolicy = 'diverged' | 'force' | 'never';

export interface ConvergeOptions {
  /** The services named on the command line (they get `recreate`, their dependencies `recreateDependencies`). */
  services: string[];
  recreate: RecreatePolicy;
  recreateDependencies: RecreatePolicy;
  /** Carry anonymous volumes over to recreated containers (false with -V). */
  inherit: boolean;
  /** Stop timeout in seconds (-t); undefined: the container's own. */
  timeout?: number;
}

/** What a container is compared against. */
export interface Expected {
  hash: string;
  /** The image ID the service runs now ('' when unknown). */
  imageId: string;
  /** Network keys of the service → engine IDs. */
  networks: string[];
  /** Engine names of the named volumes the service mounts. */
  volumes: string[];
}

/**
 * compose's mustRecreate: never/force as asked; otherwise a different config hash or image ID,
 * a running container missing one of the service's networks, or missing a named volume.
 */
export function mustRecreate(expected: Expected, actual: ContainerSummary, policy: RecreatePolicy): boolean {
  if (policy === 'never') return false;
  if (policy === 'force') return true;
  if ((actual.Labels?.[LABELS.configHash] ?? '') !== expected.hash) return true;
  if ((actual.Labels?.[LABELS.image] ?? '') !== expected.imageId) return true;
  if (actual.State === 'running') {
    const ids = Object.values(actual.NetworkSettings?.Networks ?? {}).map((n) => n.NetworkID);
    for (const id of expected.networks) {
      if (id === 'swarm') continue;
      if (!ids.includes(id)) return true;
    }
  }
  const mounted = (actual.Mounts ?? []).filter((m) => m.Type === 'volume').map((m) => m.Name);
  for (const v of expected.volumes) if (!mounted.includes(v)) return true;
  return false;
}

/**
 * compose's ordering before scaling: obsolete containers last (removed first when scaling down),
 * then by container number (lowest kept), creation time when numbers are missing.
 */
export function orderForScale(cs: ContainerSummary[], obsolete: (c: ContainerSummary) => boolean): ContainerSummary[] {
  const key = (c: ContainerSummary) => ({ o: obsolete(c) ? 1 : 0, n: containerNumber(c) });
  return [...cs].sort((a, b) => {
    const ka = key(a);
    const kb = key(b);
    if (ka.o !== kb.o) return ka.o - kb.o;
    if (ka.n !== undefined && kb.n !== undefined) return ka.n - kb.n;
    return (b.Created ?? 0) - (a.Created ?? 0);
  });
}

/** A copy of the service with `service:x` references replaced by x's first container. */
export function resolveServiceReferences(service: Service, observed: (name: string) => ContainerSummary[]): Service {
  const s: Service = { ...service };
  const first = (name: string, what: string) => {
    const cs = observed(name);
    if (cs.length === 0) throw new ComposeError(`cannot share ${what} with service ${name}: container missing`);
    return sortedByName(cs)[0].Id;
  };
  if (s.volumesFrom) {
    s.volumesFrom = s.volumesFrom.map((v) => {
      const spec = v.split(':');
      if (spec[0] === 'container') return spec[1];
      const id = first(spec[0], 'volume');
      return spec.length > 1 ? `${id}:${spec.slice(1).join(':')}` : id;
    });
  }
  const mode = (m: string | undefined, what: string) => (m?.startsWith('service:') ? `container:${first(m.slice('service:'.length), what)}` : m);
  s.networkMode = mode(s.networkMode, 'network namespace');
  s.ipc = mode(s.ipc, 'IPC namespace');
  s.pid = mode(s.pid, 'PID namespace');
  return s;
}

const doubledName = (s: Service) => `WARNING: The ${JSON.stringify(s.name)} service is using the custom container name ${JSON.stringify(s.containerName)}. Docker requires each container to have a unique name. Remove the custom name to scale the service`;

export interface ConvergenceState {
  /** Key → engine network ID. */
  networks: Record<string, string>;
  /** Key → engine volume name. */
  volumes: Record<string, string>;
  /** Image name → image ID. */
  imageIds: Record<string, string>;
}

export class Convergence {
  readonly #s: Session;
  readonly #project: Project;
  readonly #observed = new Map<string, ContainerSummary[]>();
  readonly #state: ConvergenceState;

  constructor(s: Session, project: Project, containers: ContainerSummary[], state: ConvergenceState) {
    this.#s = s;
    this.#project = project;
    this.#state = state;
    for (const name of Object.keys(project.services)) this.#observed.set(name, []);
    for (const c of containers.filter(isNotOneOff)) {
      const svc = c.Labels?.[LABELS.service] ?? '';
      this.#observed.set(svc, [...(this.#observed.get(svc) ?? []), c]);
    }
  }

  observed(name: string): ContainerSummary[] { return this.#observed.get(name) ?? []; }

  async apply(o: ConvergeOptions, w: P.ProgressWriter): Promise<void> {
    await inDependencyOrder(this.#project.services, async (name) => {
      const strategy = o.services.includes(name) ? o.recreate : o.recreateDependencies;
      await this.ensureService(this.#project.services[name], strategy, o, w);
    }, { limit: this.#s.parallel });
  }

  expected(service: Service): Expected {
    const hash = serviceHash(service);
    const imageId = this.#state.imageIds[imageName(this.#project, service)] ?? '';
    const networks = Object.keys(service.networks ?? {}).map((k) => this.#state.networks[k]).filter((x): x is string => !!x);
    const volumes = (service.volumes ?? []).filter((v) => v.type === 'volume' && v.source).map((v) => this.#state.volumes[v.source!] ?? this.#project.volumes[v.source!]?.name).filter((x): x is string => !!x);
    return { hash, imageId, networks, volumes };
  }

  async ensureService(service0: Service, strategy: RecreatePolicy, o: ConvergeOptions, w: P.ProgressWriter): Promise<void> {
    const expectedCount = serviceScale(service0);
    if (expectedCount > 1 && service0.containerName) throw new ComposeError(doubledName(service0));
    const service = resolveServiceReferences(service0, (n) => this.observed(n));
    const containers = this.observed(service.name);
    const expected = this.expected(service);
    const obsolete = new Map<string, boolean>();
    const isObsolete = (c: ContainerSummary) => {
      if (!obsolete.has(c.Id)) obsolete.set(c.Id, mustRecreate(expected, c, strategy));
      return obsolete.get(c.Id)!;
    };
    const ordered = orderForScale(containers, isObsolete);
    const updated: ContainerSummary[] = [];
    const tasks: Array<Promise<void>> = [];
    for (let i = 0; i < ordered.length; i++) {
      const c = ordered[i];
      if (i >= expectedCount) {
        tasks.push(stopAndRemove(this.#s, c, o.timeout, false, w, service0));
        continue;
      }
      if (isObsolete(c)) {
        await this.#stopDependents(service, w);
        const at = i;
        tasks.push(this.recreate(service, c, o.inherit, o.timeout, expected, w).then((created) => { updated[at] = created; }));
        continue;
      }
      updated[i] = c;
      switch (c.State) {
        case 'running': w.event(P.running(progressName(c))); break;
        case 'created': case 'restarting': case 'exited': break;
        default: tasks.push(restartContainer(this.#s, c, w));
      }
    }
    const next = nextContainerNumber(containers, this.#s.warn);
    for (let i = 0; i < expectedCount - containers.length; i++) {
      const number = next + i;
      const at = containers.length + i;
      const name = containerName(this.#project, service, number);
      tasks.push((async () => {
        const event = `Container ${name}`;
        w.event(P.creating(event));
        try {
          updated[at] = await this.create(service, name, number, expected, undefined, undefined, w);
        } catch (e) {
          w.event(P.errorMessage(event, messageOf(e)));
          throw e;
        }
        w.event(P.created(event));
      })());
    }
    const results = await Promise.allSettled(tasks);
    this.#observed.set(service.name, updated.filter(Boolean));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  }

  /** Services depending on `service` with restart: true are stopped, to start again after it. */
  async #stopDependents(service: Service, w: P.ProgressWriter): Promise<void> {
    const dependents = Object.keys(this.#project.services).filter((n) => this.#project.services[n].dependsOn?.[service.name]?.restart);
    if (dependents.length === 0) return;
    await stopServices(this.#s, this.#project, dependents, undefined, w);
    for (const name of dependents) this.#observed.set(name, this.observed(name).map((c) => ({ ...c, State: 'exited' })));
  }

  async recreate(service: Service, replaced: ContainerSummary, inherit: boolean, timeout: number | undefined, expected: Expected, w: P.ProgressWriter): Promise<ContainerSummary> {
    const event = progressName(replaced);
    w.event(P.newEvent(event, 'working', 'Recreate'));
    try {
      const number = containerNumber(replaced);
      if (number === undefined) throw new ComposeError(`strconv.Atoi: parsing ${JSON.stringify(replaced.Labels?.[LABELS.containerNumber] ?? '')}: invalid syntax`);
      const replacedName = service.containerName || `${service.name}${SEPARATOR}${number}`;
      const name = containerName(this.#project, service, number);
      const tmpName = `${replaced.Id.slice(0, 12)}_${name}`;
      const created = await this.create(service, tmpName, number, expected, inherit ? replaced : undefined, replacedName, w);
      await this.#s.api.stopContainer(replaced.Id, timeout);
      await this.#s.api.removeContainer(replaced.Id);
      await this.#s.api.renameContainer(tmpName, name);
      w.event(P.newEvent(event, 'done', 'Recreated'));
      return { ...created, Names: [`/${name}`] };
    } catch (e) {
      w.event(P.errorMessage(event, messageOf(e)));
      throw e;
    }
  }

  create(service: Service, name: string, number: number, expected: Expected, inherit: ContainerSummary | undefined, replace: string | undefined, w: P.ProgressWriter): Promise<ContainerSummary> {
    return createServiceContainer(this.#s, this.#project, service, name, { number, hash: expected.hash, imageId: expected.imageId || undefined, inherit, replace, useNetworkAliases: true }, w);
  }
}

export interface CreateContainerOptions {
  /** The container number; 0 for a one-off (no number label). */
  number: number;
  /** The config hash (serviceHash of the service as it runs). */
  hash: string;
  imageId?: string;
  /** The container this one replaces (its anonymous volumes carry over). */
  inherit?: ContainerSummary;
  /** `web-1`: the replaced container's name (com.docker.compose.replace). */
  replace?: string;
  /** Service name and aliases on every network: up's containers; run's only with --use-aliases. */
  useNetworkAliases: boolean;
  /** `run`: com.docker.compose.oneoff=True and the labels outside the hash (the slug). */
  oneoff?: boolean;
  labels?: Record<string, string>;
  autoRemove?: boolean;
  attachStdin?: boolean;
}

/**
 * compose's createMobyContainer: the create call (and, before API 1.44, the extra networks),
 * for up's service containers and run's one-offs alike.
 */
export async function createServiceContainer(s: Session, project: Project, service: Service, name: string, o: CreateContainerOptions, w: P.ProgressWriter): Promise<ContainerSummary> {
  const apiVersion = await s.api.version();
  let inherited: { mounts: MountSummary[]; imageVolumes: string[] } | undefined;
  if (o.inherit && o.inherit.Mounts?.some((m) => m.Type !== 'tmpfs')) {
    const img = await s.api.inspectImage(imageName(project, service));
    inherited = { mounts: o.inherit.Mounts, imageVolumes: Object.keys(img.Config?.Volumes ?? {}) };
  }
  const links = await getLinks(s, project, service, o.number);
  const labels = { ...serviceLabels(project, service, { number: o.number, hash: o.hash, imageId: o.imageId, replace: o.replace, oneoff: o.oneoff }), ...o.labels };
  const body = containerCreateBody(project, service, o.number, {
    apiVersion, labels, useNetworkAliases: o.useNetworkAliases, links, inherit: inherited, warn: s.warn, autoRemove: o.autoRemove, attachStdin: o.attachStdin,
  });
  const r = await s.api.createContainer(name, body, createPlatform(project, service));
  for (const warning of r.Warnings ?? []) w.event({ id: service.name, status: 'warning', text: warning });
  if (compareVersions(apiVersion, '1.44') < 0 && !service.networkMode) {
    const primary = (body.HostConfig as { NetworkMode: string }).NetworkMode;
    for (const key of networksByPriority(service)) {
      const netName = project.networks[key].name;
      if (netName === primary) continue;
      await s.api.connectNetwork(netName, r.Id, endpointSettings(project, service, o.number, key, links, o.useNetworkAliases, s.warn));
    }
  }
  return { Id: r.Id, Names: [`/${name}`], Labels: labels, State: 'created', Image: imageName(project, service) };
}

/** An error as compose shows it in a progress line (the engine's with moby's client prefix). */
export function messageOf(e: unknown): string {
  if (e instanceof ApiError) return `Error response from daemon: ${e.message}`;
  return e instanceof Error ? e.message : String(e);
}

/** compose's getLinks: `links:` to the linked service's containers, external links as given. */
async function getLinks(s: Session, project: Project, service: Service, number: number): Promise<string[]> {
  const links: string[] = [];
  for (const raw of service.links ?? []) {
    const [svc, alias = svc] = raw.split(':');
    const cs = await getContainers(s.api, project.name, 'exclude', true, [svc]);
    for (const c of cs) {
      const name = canonicalName(c);
      links.push(`${name}:${alias}`, `${name}:${svc}${SEPARATOR}${number}`, `${name}:${[project.name, svc, number].join(SEPARATOR)}`);
    }
  }
  for (const raw of service.externalLinks ?? []) {
    const [ext, alias = ext] = raw.split(':');
    links.push(`${ext}:${alias}`);
  }
  return links;
}

// ---------------------------------------------------------------------------------------------
// Stopping and removing (shared by up's convergence, stop, down)

export async function stopContainer(s: Session, c: ContainerSummary, timeout: number | undefined, w: P.ProgressWriter, service?: Service, output?: HookOutput): Promise<void> {
  const event = progressName(c);
  w.event(P.stopping(event));
  for (const hook of service?.preStop ?? []) {
    try {
      await runHook(s, c, service!, hook, output);
    } catch (e) {
      // A container already gone (or stopping) is left be, as compose does.
      if (isNotFound(e) || isConflict(e)) return;
      throw e;
    }
  }
  try {
    await s.api.stopContainer(c.Id, timeout);
  } catch (e) {
    w.event(P.errorMessage(event, 'Error while Stopping'));
    throw e;
  }
  w.event(P.stopped(event));
}

/** compose's stopAndRemoveContainer. */
export async function stopAndRemove(s: Session, c: ContainerSummary, timeout: number | undefined, volumes: boolean, w: P.ProgressWriter, service?: Service): Promise<void> {
  const event = progressName(c);
  try {
    await stopContainer(s, c, timeout, w, service);
  } catch (e) {
    if (isNotFound(e)) { w.event(P.removed(event)); return; }
    throw e;
  }
  w.event(P.removing(event));
  try {
    await s.api.removeContainer(c.Id, { force: true, volumes });
  } catch (e) {
    if (!isNotFound(e) && !isConflict(e)) {
      w.event(P.errorMessage(event, 'Error while Removing'));
      throw e;
    }
  }
  w.event(P.removed(event));
}

/** Starts an existing container in a state start does not handle (compose's startContainer). */
async function restartContainer(s: Session, c: ContainerSummary, w: P.ProgressWriter): Promise<void> {
  const event = progressName(c);
  w.event(P.newEvent(event, 'working', 'Restart'));
  await s.api.startContainer(c.Id);
  w.event(P.newEvent(event, 'done', 'Restarted'));
}

/** compose's stop: the services' containers, dependants first. */
export async function stopServices(s: Session, project: Project, services: string[] | undefined, timeout: number | undefined, w: P.ProgressWriter, output?: HookOutput): Promise<void> {
  const containers = await getContainers(s.api, project.name, 'exclude', true);
  const names = services && services.length ? services : Object.keys(project.services);
  await inReverseDependencyOrder(project.services, async (name) => {
    if (!names.includes(name)) return;
    await Promise.all(containers.filter(isService(name)).filter(isNotOneOff).map((c) => stopContainer(s, c, timeout, w, project.services[name], output)));
  }, { limit: s.parallel });
}
