// /_ping, /version, /info, /events.
import os from 'node:os';
import { parseFilters } from '../../../common/filters.ts';
import { parseReference } from '../../../common/reference.ts';
import { invalid } from '../../../common/errors.ts';
import { parseTimestamp } from '../../../common/units.ts';
import type { EngineEvent } from '../../../engine/events.ts';
import { sendJson, startStream, type Ctx } from '../../http.ts';
import { API_VERSION, MIN_API_VERSION, type Route } from '../../server.ts';
import type { SystemBackend } from './backend.ts';
import type { SwarmInfo } from '../../types/swarm.ts';
import { DISK_USAGE_TYPES } from '../../../engine/system-df.ts';
import { imageSummaryJson, legacySummary } from '../images/routes.ts';
import { containerSummary } from '../containers/routes.ts';
import { versionBefore } from '../../version.ts';

export const ENGINE_VERSION = '27.5.1';

/**
 * The `Swarm` header of /_ping, as moby's Cluster.Status(): the local node state, with
 * "/manager" or "/worker" after "active" (clients use it to pick swarm-aware behaviour without a
 * call to /info).
 */
export function swarmStatus(i: SwarmInfo): string {
  if (i.LocalNodeState !== 'active') return i.LocalNodeState;
  // A manager that cannot serve yet is still one (moby: IsActiveManager() || IsManager()); the
  // managers are the RemoteManagers list.
  const manager = i.ControlAvailable || (i.RemoteManagers ?? []).some((m) => m.NodeID === i.NodeID);
  return `active/${manager ? 'manager' : 'worker'}`;
}

const INACTIVE_SWARM: SwarmInfo = { NodeID: '', NodeAddr: '', LocalNodeState: 'inactive', ControlAvailable: false, Error: '', RemoteManagers: null };

function ping(ctx: Ctx, swarm?: () => SwarmInfo): Promise<void> {
  const res = ctx.res!;
  if (swarm) res.setHeader('Swarm', swarmStatus(swarm()));
  res.setHeader('Builder-Version', '1');
  res.setHeader('Cache-Control', 'no-cache, no-store, must-revalidate');
  res.setHeader('Pragma', 'no-cache');
  res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': ctx.req.method === 'HEAD' ? 0 : 2 });
  res.end(ctx.req.method === 'HEAD' ? undefined : 'OK');
  return Promise.resolve();
}

export function systemRoutes(b: SystemBackend): Route[] {
  return [
    { method: 'GET', path: '/_ping', handler: (ctx) => ping(ctx, b.swarm) },
    { method: 'HEAD', path: '/_ping', handler: (ctx) => ping(ctx, b.swarm) },
    {
      method: 'GET', path: '/system/df', handler: async (ctx) => {
        // `type` is API 1.42's: older clients get every kind, whatever they send.
        const types = versionBefore(ctx, '1.42') ? [] : ctx.query.getAll('type');
        for (const t of types) if (!(DISK_USAGE_TYPES as readonly string[]).includes(t)) throw invalid(`unknown object type: ${t}`);
        const du = await b.df(types);
        // Docker's DiskUsage: image and container summaries as the lists show them, with sizes.
        const out: Record<string, unknown> = {};
        if (du.layersSize !== undefined) out.LayersSize = du.layersSize;
        if (du.images) {
          out.Images = du.images.map((i) => legacySummary({ ...imageSummaryJson(i.image, i.config, i.refs, i.containers), SharedSize: i.sharedSize }, ctx));
        }
        if (du.containers) {
          out.Containers = du.containers.map((x) => ({ ...containerSummary(x.container), SizeRw: x.sizeRw, SizeRootFs: x.sizeRootFs }));
        }
        if (du.volumes) out.Volumes = du.volumes;
        if (du.buildCache) out.BuildCache = du.buildCache;
        sendJson(ctx, 200, out);
      },
    },
    {
      method: 'GET', path: '/version', handler: async (ctx) => {
        const i = await b.info();
        sendJson(ctx, 200, {
          Platform: { Name: 'berth' },
          Components: [
            { Name: 'Engine', Version: ENGINE_VERSION, Details: { ApiVersion: API_VERSION, MinAPIVersion: MIN_API_VERSION, Os: 'linux', Arch: goArch(), KernelVersion: i.kernelVersion, Experimental: 'false', BerthVersion: i.version } },
            { Name: 'berth', Version: i.version, Details: { Runtime: i.defaultRuntime } },
          ],
          Version: ENGINE_VERSION,
          ApiVersion: API_VERSION,
          MinAPIVersion: MIN_API_VERSION,
          GitCommit: 'berth',
          GoVersion: `node${process.versions.node}`,
          Os: 'linux',
          Arch: goArch(),
          KernelVersion: i.kernelVersion,
          BuildTime: '',
        });
      },
    },
    {
      method: 'GET', path: '/info', handler: async (ctx) => {
        const i = await b.info();
        sendJson(ctx, 200, {
          ID: i.id,
          Containers: i.containers.total,
          ContainersRunning: i.containers.running,
          ContainersPaused: i.containers.paused,
          ContainersStopped: i.containers.stopped,
          Images: i.images,
          Driver: 'overlay2',
          DriverStatus: [['Backing Filesystem', 'extfs'], ['Supports d_type', 'true'], ['Using metacopy', 'false'], ['Native Overlay Diff', 'true'], ['userxattr', 'false']],
          Plugins: { Volume: ['local'], Network: ['bridge', 'host', 'none'], Authorization: null, Log: ['json-file', 'local', 'none'] },
          MemoryLimit: true, SwapLimit: true, KernelMemoryTCP: false, CpuCfsPeriod: true, CpuCfsQuota: true, CPUShares: true, CPUSet: true, PidsLimit: true, OomKillDisable: i.cgroupVersion === '1',
          IPv4Forwarding: true, BridgeNfIptables: false, BridgeNfIp6tables: false,
          Debug: i.debug, NFd: 0, NGoroutines: 0, SystemTime: new Date().toISOString(),
          LoggingDriver: 'json-file', CgroupDriver: 'cgroupfs', CgroupVersion: i.cgroupVersion,
          NEventsListener: 0, KernelVersion: i.kernelVersion, OperatingSystem: i.operatingSystem, OSVersion: '', OSType: 'linux', Architecture: os.machine(),
          IndexServerAddress: 'https://index.docker.io/v1/',
          RegistryConfig: i.registryConfig ?? { AllowNondistributableArtifactsCIDRs: null, AllowNondistributableArtifactsHostnames: null, InsecureRegistryCIDRs: ['127.0.0.0/8'], IndexConfigs: {}, Mirrors: [] },
          NCPU: i.ncpu, MemTotal: i.memTotal, GenericResources: null, DockerRootDir: i.dataRoot,
          HttpProxy: '', HttpsProxy: '', NoProxy: '', Name: i.name, Labels: [], ExperimentalBuild: false,
          ServerVersion: ENGINE_VERSION, Runtimes: i.runtimes, DefaultRuntime: i.defaultRuntime,
          Swarm: b.swarm?.() ?? INACTIVE_SWARM,
          LiveRestoreEnabled: true, Isolation: '', InitBinary: i.initBinary,
          ContainerdCommit: { ID: '' }, RuncCommit: { ID: '' }, InitCommit: { ID: '' },
          SecurityOptions: ['name=seccomp,profile=builtin', ...(i.userns ? ['name=userns'] : [])], Warnings: [],
        });
      },
    },
    { method: 'GET', path: '/events', handler: (ctx) => events(ctx, b) },
  ];
}

/** An image reference without its tag (moby's stripTag: the familiar name); as it is when it does not parse. */
function stripTag(ref: string): string {
  try { return parseReference(ref).familiarName(); } catch { return ref; }
}

function goArch(): string { return process.arch === 'x64' ? 'amd64' : process.arch; }

const EVENT_FILTERS = ['container', 'image', 'event', 'type', 'label', 'volume', 'network', 'daemon', 'plugin', 'node', 'service', 'secret', 'config', 'scope'];

async function events(ctx: Ctx, b: SystemBackend): Promise<void> {
  const now = Date.now() / 1000;
  const q = ctx.query;
  const since = q.get('since') ? parseTimestamp(q.get('since')!, now) : undefined;
  const until = q.get('until') ? parseTimestamp(q.get('until')!, now) : undefined;
  const f = parseFilters(q.get('filters') ?? undefined);
  f.validate(EVENT_FILTERS);
  // moby's events filter (daemon/events/filter.go): `event` exact (fuzzy for health_status,
  // exec_create, exec_start), `type` exact, container/volume/network/daemon by the actor's ID (or
  // a prefix of it) or its `name` attribute, whatever the event's type; `image` by the image event's
  // ID or name or a container event's `image` attribute, with or without the tag; labels.
  const fuzzyEvents = f.get('event').some((a) => a === 'health_status' || a === 'exec_create' || a === 'exec_start');
  // Image `create` events are API 1.46's: older clients never see them (moby skips them).
  const skipCreate = versionBefore(ctx, '1.46');
  const match = (e: EngineEvent): boolean => {
    if (skipCreate && e.Type === 'image' && e.Action === 'create') return false;
    const actions = f.get('event');
    if (actions.length && !(fuzzyEvents ? actions.some((a) => e.Action.startsWith(a)) : actions.includes(e.Action))) return false;
    if (!f.exactMatch('type', e.Type)) return false;
    if (!f.exactMatch('scope', e.scope)) return false;
    for (const t of ['container', 'volume', 'network', 'daemon', 'plugin', 'node', 'service', 'secret', 'config']) {
      if (!f.fuzzyMatch(t, e.Actor.ID) && !f.fuzzyMatch(t, e.Actor.Attributes.name ?? '')) return false;
    }
    if (f.has('image')) {
      const name = e.Actor.Attributes[e.Type === 'image' ? 'name' : 'image'] ?? '';
      if (![e.Actor.ID, name, stripTag(e.Actor.ID), stripTag(name)].some((x) => f.exactMatch('image', x))) return false;
    }
    if (f.has('label') && !f.matchKVList('label', e.Actor.Attributes)) return false;
    return true;
  };
  const res = startStream(ctx, 'application/json');
  const toWire = (e: EngineEvent) => {
    const legacy = e.Type === 'container' || e.Type === 'image'
      ? { status: e.Action, id: e.Actor.ID, from: e.Type === 'container' ? e.Actor.Attributes.image : undefined }
      : {};
    return JSON.stringify({ ...legacy, ...e }) + '\n';
  };
  const sinceNs = since !== undefined ? since * 1e9 : Number.POSITIVE_INFINITY;
  const untilNs = until !== undefined ? until * 1e9 : Number.POSITIVE_INFINITY;
  if (since !== undefined) {
    for (const e of b.events.history(sinceNs, until !== undefined && until <= now ? untilNs : Date.now() * 1e6)) if (match(e)) res.write(toWire(e));
  }
  if (until !== undefined && until <= now) { res.end(); return; }
  await new Promise<void>((resolve) => {
    let timer: NodeJS.Timeout | undefined;
    const unsub = b.events.subscribe((e) => { if (match(e)) res.write(toWire(e)); });
    const done = () => { unsub(); if (timer) clearTimeout(timer); res.end(); resolve(); };
    if (until !== undefined) timer = setTimeout(done, (until - now) * 1000);
    ctx.signal.addEventListener('abort', done, { once: true });
  });
}
