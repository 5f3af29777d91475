// berthd's composition root: config → stores → runtime → engine → API.
import { mkdir, writeFile, rm, readFile, rmdir, readdir } from 'node:fs/promises';
import { randomUUID } from 'node:crypto';
import { dirname, join } from 'node:path';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { useSpawner } from '../sys/index.ts';
import { ApiServer, type Listener } from '../api/server.ts';
import { idleGc } from './idle-gc.ts';
import { systemRoutes } from '../api/routers/system/routes.ts';
import { containerRoutes } from '../api/routers/containers/routes.ts';
import { HealthMonitor } from '../engine/health.ts';
import { statsRoutes } from '../api/routers/containers/stats-routes.ts';
import { imageRoutes } from '../api/routers/images/routes.ts';
import { buildRoutes } from '../api/routers/build/routes.ts';
import { volumeRoutes } from '../api/routers/volumes/routes.ts';
import { networkRoutes } from '../api/routers/networks/routes.ts';
import { execRoutes } from '../api/routers/exec/routes.ts';
import { registryRoutes } from '../api/routers/registry/routes.ts';
import { swarmRoutes } from '../api/routers/swarm/routes.ts';
import { pluginRoutes } from '../api/routers/plugins/routes.ts';
import { login } from '../registry/client/login.ts';
import { Engine } from '../engine/engine.ts';
import { ExecService } from '../engine/exec.ts';
import { NetworkService } from '../network/service.ts';
import { LocalContentStore } from '../store/content/local.ts';
import { OverlaySnapshotter } from '../store/snapshots/overlay.ts';
import { ConmonRuntime } from '../runtime/conmon-runtime.ts';
import type { OciRuntime } from '../runtime/runtime.ts';
import { loadConfig, type DaemonConfig } from './config.ts';
import { hostGroupId, secureDataRoot, secureExecRoot, secureRemappedRoot, SOCKET_GROUP } from './state-dirs.ts';
import { remapIdMap } from './userns.ts';
import { archiveBackend } from '../engine/container-archive.ts';
import { imageArchiveRoutes } from '../api/routers/images/archive-routes.ts';
import { cleanupLoadStaging, planSave, prepareLoad, saveStream } from '../engine/image-archive.ts';
import { commitContainer } from '../engine/commit.ts';
import { listContainers } from '../engine/container-list.ts';
import { containerStats } from '../engine/stats.ts';
import { systemDf } from '../engine/system-df.ts';
import { createSwarm, swarmBackend } from './swarm.ts';
import { networksBackend } from './networks.ts';

const VERSION = '0.1.0';
const LEVELS = { debug: 0, info: 1, warn: 2, error: 3 } as const;

/**
 * Hosts come normalised and validated by loadConfig (TLS, loopback rule, fd:// refused). Unix
 * sockets go to `socketGroup` (mode 0660) when the host has that group, else stay root's (0600).
 */
function listenersOf(cfg: DaemonConfig, socketGroup: number | undefined): Listener[] {
  return cfg.hosts.map((h): Listener => {
    if (h.startsWith('unix://')) return { kind: 'unix', address: h.slice('unix://'.length), group: socketGroup };
    const address = h.slice('tcp://'.length);
    if (!cfg.tls) return { kind: 'tcp', address };
    return { kind: 'tcp', address, tls: { ca: cfg.tlscacert, cert: cfg.tlscert!, key: cfg.tlskey!, verify: cfg.tlsverify } };
  });
}

async function main(): Promise<void> {
  const cfg = await loadConfig(process.argv.slice(2));
  if (cfg === 'help') return;
  if (cfg === 'version') { process.stdout.write(`berthd version ${VERSION} (Docker Engine API 1.47)\n`); return; }
  const level = LEVELS[cfg.logLevel];
  const log = (lv: string, msg: string) => {
    if ((LEVELS[lv as keyof typeof LEVELS] ?? 1) >= level) process.stderr.write(`time="${new Date().toISOString()}" level=${lv} msg=${JSON.stringify(msg)}\n`);
  };
  // Programs (mount, umount, runc, ip, nft, ...) through one helper rather than a fork of this
  // process each (src/sys/berth-spawn.c), where the build made it and BERTH_SPAWNER is not 0.
  const spawnHelper = join(dirname(fileURLToPath(import.meta.url)), 'berth-spawn');
  if (process.env.BERTH_SPAWNER !== '0' && existsSync(spawnHelper)) useSpawner(spawnHelper, (m) => log('warn', m));
  const socketGroup = await hostGroupId(SOCKET_GROUP);
  const listeners = listenersOf(cfg, socketGroup);
  // Modes re-applied at every start, before any store opens its directory: the data root holds
  // every container's files, setuid binaries and device nodes included (state-dirs.ts).
  // With --userns-remap, the state lives in <data-root>/<uid>.<gid>, dockerd's layout (userns.ts).
  const idMap = cfg.usernsRemap ? await remapIdMap(cfg.usernsRemap) : undefined;
  const dataRoot = idMap ? await secureRemappedRoot(cfg.dataRoot, idMap.root) : cfg.dataRoot;
  if (!idMap) await secureDataRoot(dataRoot);
  await secureExecRoot(cfg.execRoot, socketGroup);
  // One daemon per data root: refuse a second one rather than corrupt state.
  try {
    const other = Number((await readFile(cfg.pidfile, 'utf8')).trim());
    if (other && other !== process.pid) {
      // Alive and really a berthd (a stale file may name a reused pid).
      const cmd = await readFile(`/proc/${other}/cmdline`, 'utf8').catch(() => '');
      if (/berthd/.test(cmd)) throw new Error(`pid file found, ensure berthd is not running or delete ${cfg.pidfile}`);
    }
  } catch (e) { if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e; }
  await writeFile(cfg.pidfile, `${process.pid}\n`);

  let id: string;
  try { id = (await readFile(join(dataRoot, 'engine-id'), 'utf8')).trim(); } catch { id = randomUUID(); await writeFile(join(dataRoot, 'engine-id'), id); }

  const content = new LocalContentStore(join(dataRoot, 'content'));
  await content.init();
  const snap = new OverlaySnapshotter(join(dataRoot, 'overlay'), { idMap });
  await snap.init();
  const runtimes = new Map<string, OciRuntime>();
  for (const [name, r] of Object.entries(cfg.runtimes)) {
    const rt = new ConmonRuntime({
      name, path: r.path, extraArgs: r.runtimeArgs,
      root: join(cfg.execRoot, 'runtimes', name),
      socketDir: join(cfg.execRoot, 's'),
      exitDir: join(cfg.execRoot, 'exits'),
    });
    await rt.init();
    runtimes.set(name, rt);
  }
  const cgroupParent = cfg.instance ? `berth-${cfg.instance}` : 'berth';
  // Bridge networks: the default `bridge` (`-b`, berth0; `-b none` turns it off) and user networks.
  await mkdir(join(dataRoot, 'network'), { recursive: true });
  const networking = new NetworkService({
    bridge: cfg.bridge, bip: cfg.bip, instance: cfg.instance, engineId: id, stateDir: join(dataRoot, 'network'),
    userlandProxy: cfg.userlandProxy, icc: cfg.icc, ipMasq: cfg.ipMasq, log: (m) => log('warn', m),
  });
  const engine = new Engine({
    id, dataRoot: dataRoot, execRoot: cfg.execRoot, cgroupParent, runtimes,
    defaultRuntime: cfg.defaultRuntime, initPath: '/usr/bin/tini-static', version: VERSION, debug: cfg.logLevel === 'debug',
    networking,
    registry: { mirrors: cfg.registryMirrors, insecure: cfg.insecureRegistries },
    downloadLimits: cfg.downloadLimits,
    idMap,
    warn: (m) => log('warn', m),
  }, content, snap);
  await engine.init();
  await cleanupLoadStaging(dataRoot);

  const c = engine.containers;
  // exec sessions: in memory, over the running containers (engine/exec.ts).
  const execs = new ExecService({ stateDir: join(cfg.execRoot, 'execs') }, c, engine.events);
  execs.init();
  const health = new HealthMonitor({
    list: () => c.list().map((r) => r.ID), target: (i) => c.healthTarget(i),
    setHealth: (i, h) => c.setHealth(i, h), attrs: (i) => c.eventAttrs(i),
  }, execs, engine.events);
  health.init();
  // Swarm mode: rejoins the swarm this node was part of (in the background; /info shows 'pending').
  const swarm = createSwarm({ engine, networking, dataRoot, execRoot: cfg.execRoot, idMap, version: VERSION, clusterStore: cfg.clusterStore, log });
  await swarm.start();
  const swarmApi = swarmBackend(swarm, engine);
  const idle = idleGc();
  const api = new ApiServer([
    ...systemRoutes({
      info: () => engine.info(),
      swarm: () => swarm.info(),
      events: engine.events,
      // Docker's disk usage view: shared/unique layer sizes per image, rw sizes per container.
      df: (types) => systemDf({
        diskUsage: () => engine.diskUsage(), images: engine.images, containersUsing: (i) => engine.containersUsing(i),
        containers: c, volumes: engine.volumes, buildCacheUsage: () => engine.buildCacheUsage(),
      }, types),
    }),
    ...containerRoutes({
      create: (o) => c.create(o), list: () => c.list(), inspect: (r) => c.inspect(r), hostConfigDefaults: () => c.hostConfigDefaults(),
      listContainers: (o) => listContainers({
        list: () => c.list(), resolve: (r) => c.inspect(r), imageIdOf: (r) => engine.images.tryResolve(r)?.id,
        sizeRw: (i) => c.sizeRw(i), imageSize: (id) => (engine.images.has(id) ? engine.images.resolve(id).size : 0),
      }, o),
      sizeRw: (i) => c.sizeRw(i), graphDriver: (i) => c.graphDriver(i),
      start: (r) => c.start(r), stop: (r, o) => c.stop(r, o), restart: (r, o) => c.restart(r, o),
      kill: (r, s) => c.kill(r, s), pause: (r) => c.pause(r), unpause: (r) => c.unpause(r),
      wait: (r, cond) => c.wait(r, cond), remove: (r, o) => c.remove(r, o), removeLink: (r) => c.removeLink(r), rename: (r, n) => c.rename(r, n),
      attachTarget: (r) => c.attachTarget(r), attach: (r, o) => c.attach(r, o), resize: (r, h, w) => c.resize(r, h, w), logs: (r, o) => c.logs(r, o),
      imageSize: (id) => (engine.images.has(id) ? engine.images.resolve(id).size : 0),
      execIds: (id) => execs.idsOf(id),
      top: (r, a) => c.top(r, a), changes: (r) => c.changes(r), exportTar: (r) => c.exportTar(r), prune: (f) => engine.pruneContainers(f),
      archive: archiveBackend(c),
    }),
    ...statsRoutes({ stats: (r, o) => containerStats(c, r, o), update: (r, b) => c.update(r, b) }),
    ...execRoutes({
      create: (r, o) => execs.create(r, o), inspect: (i) => execs.inspect(i), begin: (i) => execs.begin(i), resize: (i, h, w) => execs.resize(i, h, w),
    }),
    ...imageRoutes({
      all: () => engine.images.all(), refsOf: (i) => engine.images.refsOf(i), config: (i) => engine.images.config(i),
      inspect: (n) => engine.images.inspect(n), resolve: (n) => engine.images.resolve(n),
      importImage: (b, o) => engine.importImage(b, o), pull: (r, t, p, s, o) => engine.pull(r, t, p, s, o),
      tag: (s, t) => engine.images.tag(s, t), remove: (n, o) => engine.removeImage(n, o),
      graphDriver: (i) => engine.imageGraphDriver(i), containersUsing: (i) => engine.containersUsing(i),
      prune: (f) => engine.pruneImages(f),
    }),
    ...imageArchiveRoutes({
      planSave: (n) => planSave(engine.images, n),
      // dockerd's `save` event, one per image written (named by its ID).
      save: (i) => { for (const it of i) void engine.images.event('save', it.rec.id, it.rec.id); return saveStream({ content }, i); },
      prepareLoad: (body) => prepareLoad({ dataRoot: dataRoot, content, snap, images: engine.images, events: engine.events, hold: () => engine.hold() }, body),
      commit: (o) => commitContainer({ content, snap, images: engine.images, events: engine.events, containers: c, hold: () => engine.hold(), idMap }, o),
    }),
    // Local networks beside the swarm's cluster networks (daemon/networks.ts).
    ...networkRoutes(networksBackend(engine, swarm)),
    ...volumeRoutes({
      list: (f) => engine.volumes.list(f), get: (n) => engine.volumes.get(n), create: (o) => engine.volumes.create(o),
      remove: (n, o) => engine.volumes.remove(n, o), prune: (f) => engine.volumes.prune(f),
    }),
    ...registryRoutes({
      push: (n, o) => engine.pusher.push(n, o),
      login: (a) => login(a, cfg.insecureRegistries),
      distribution: (n, a, s) => engine.puller.inspectRemote(n, a, s),
    }),
    ...buildRoutes({ build: (body, o, out) => engine.build(body, o, out), pruneBuildCache: (o) => engine.pruneBuildCache(o) }),
    ...swarmRoutes(swarmApi),
    ...pluginRoutes(),
  ], log, () => idle.touch());
  for (const l of listeners) await api.listen(l);
  log('info', `berthd ${VERSION} listening on ${cfg.hosts.join(', ')} (data-root ${dataRoot})`);
  engine.events.emit('daemon', 'start', id, { name: 'berthd' });

  let stopping = false;
  const shutdown = async (sig: string) => {
    if (stopping) return;
    stopping = true;
    log('info', `received ${sig}, shutting down (containers keep running)`);
    // Hijacked connections are not the server's to close politely; never hang on them.
    setTimeout(() => process.exit(0), 3000).unref();
    await api.close().catch((e: unknown) => log('warn', `closing the API listeners: ${e instanceof Error ? e.message : String(e)}`));
    idle.stop();
    health.close();
    execs.close();
    // The etcd member is a child: it must stop with us (task containers keep running, as with dockerd).
    await swarm.close().catch((e: unknown) => log('warn', `closing swarm mode: ${e instanceof Error ? e.message : String(e)}`));
    await engine.close().catch((e: unknown) => log('warn', `closing the engine: ${e instanceof Error ? e.message : String(e)}`));
    for (const l of listeners) if (l.kind === 'unix') await rm(l.address, { force: true });
    await rm(cfg.pidfile, { force: true });
    await removeEmptyCgroupParents(cgroupParent);
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

/** The per-daemon cgroup parents are left only while containers live in them. */
async function removeEmptyCgroupParents(parent: string): Promise<void> {
  let ctrls: string[] = [];
  try { ctrls = await readdir('/sys/fs/cgroup'); } catch { return; }
  // Safe to ignore: EBUSY/ENOTEMPTY means containers still live there (they outlive the daemon),
  // ENOENT that the controller never had the parent; both leave nothing to clean.
  for (const c of ctrls) await rmdir(join('/sys/fs/cgroup', c, parent)).catch(() => {});
  await rmdir(join('/sys/fs/cgroup', parent)).catch(() => {});
}

main().catch((e: unknown) => {
  process.stderr.write(`berthd: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
