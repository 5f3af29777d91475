// Swarm mode's composition: the controller (src/swarm/node/controller.ts) with this daemon's engine
// under its agent (SwarmContainers), the leader's loops over etcd, and the object rules for the API.
// main.ts creates it once; the swarm routers reach it through swarmBackend().
import os from 'node:os';
import { join } from 'node:path';
import type { Engine } from '../engine/engine.ts';
import type { NodeDescription, NodeNetworkView } from '../api/types/swarm.ts';
import type { NetworkService } from '../network/service.ts';
import { SwarmController, newId } from '../swarm/node/controller.ts';
import { Agent } from '../swarm/agent/agent.ts';
import { Leader } from '../swarm/leader/leader.ts';
import { EtcdLeaderStore } from '../swarm/cluster/leader-store.ts';
import { SwarmContainers } from './swarm-containers.ts';
import { invalid } from '../common/errors.ts';
import { framesOf, localEntries, logBody, logTaskOf, merge, toWire, uploadBody } from './swarm-logs.ts';
import type { LogTask } from '../swarm/dispatcher/protocol.ts';
import type { SwarmBackend } from '../api/routers/swarm/backend.ts';
import { ClusterObjects, withQuorum } from '../swarm/node/objects.ts';
import { SecretObjects } from '../swarm/node/secret-objects.ts';
import { withDefaults } from '../swarm/spec/service-spec.ts';
import { localNetworkOf } from './networks.ts';

export interface SwarmOptions {
  engine: Engine;
  /** The node's networking, for cluster networks (absent with -b none: tasks on them fail to start). */
  networking?: NetworkService;
  dataRoot: string;
  /** The daemon's exec root: tasks' secret tmpfs go under <exec-root>/swarm/secrets. */
  execRoot?: string;
  /** --userns-remap's mapping (secret files are owned by the host IDs of the uid and gid asked). */
  idMap?: { toHost(uid: number, gid: number): { uid: number; gid: number } };
  version: string;
  clusterStore?: { endpoints: string[]; tls?: { caFile: string; certFile: string; keyFile: string } };
  log: (level: 'debug' | 'info' | 'warn' | 'error', msg: string) => void;
}

export function createSwarm(o: SwarmOptions): SwarmController {
  const { engine } = o;
  const log = (level: string, msg: string) => o.log((['debug', 'info', 'warn', 'error'].includes(level) ? level : 'info') as 'info', msg);
  const containers = new SwarmContainers({
    containers: engine.containers, images: engine.images, events: engine.events,
    pull: (ref, signal) => engine.pull(ref, undefined, undefined, signal),
    ensureNetworks: async (nets) => {
      if (!o.networking) throw invalid('cluster networks need bridge networking (berthd -b none turns it off)');
      await o.networking.ensureClusterNetworks(nets, ctl.info().NodeAddr);
    },
    secretsRoot: o.execRoot ? join(o.execRoot, 'swarm', 'secrets') : undefined,
    idMap: o.idMap,
  });
  const description = (): NodeDescription => ({
    Hostname: os.hostname(),
    Platform: { Architecture: os.machine(), OS: 'linux' },
    Resources: { NanoCPUs: os.cpus().length * 1e9, MemoryBytes: os.totalmem() },
    Engine: {
      EngineVersion: o.version, Labels: {},
      Plugins: [
        { Type: 'Log', Name: 'json-file' }, { Type: 'Log', Name: 'local' },
        { Type: 'Network', Name: 'bridge' }, { Type: 'Network', Name: 'host' }, { Type: 'Network', Name: 'null' },
        { Type: 'Volume', Name: 'local' },
      ],
    },
  });
  // The views are applied one after another, the newest last (a burst of session messages
  // coalesces: only the latest view matters).
  let pending: NodeNetworkView[] | undefined;
  let applying: Promise<void> | undefined;
  const applyViews = (views: NodeNetworkView[]): void => {
    // Backends at once (a task leaving must leave the balancers within the agent's 2 s), the
    // rest (records, the ingress sandbox's set-up) in the queue behind the network lock.
    void o.networking?.applyBackends(views).catch((e: Error) => log('warn', `swarm: cluster network backends: ${e.message}`));
    pending = views;
    if (applying || !o.networking) return;
    applying = (async () => {
      while (pending) {
        const v = pending;
        pending = undefined;
        await o.networking!.applyClusterViews(v, ctl.info().NodeAddr).catch((e: Error) => log('warn', `swarm: cluster networks: ${e.message}`));
      }
      applying = undefined;
    })();
  };
  const ctl: SwarmController = new SwarmController({
    dataRoot: o.dataRoot,
    description,
    externalEtcd: o.clusterStore,
    log,
    agent: (nodeId, reporter) => new Agent({ nodeId, containers, reporter, log }),
    leader: ({ cache, election }) => new Leader({ store: new EtcdLeaderStore(cache, election), log, newId }),
    serveLogs: (req, signal) => uploadBody(engine, req, signal),
    // swarm leave removes this node's task containers, as dockerd does, and its part of the
    // cluster networks (the routing mesh, the overlays).
    removeTaskContainers: async () => {
      for (const c of await containers.list()) {
        await containers.remove(c.id).catch((e: Error) => log('warn', `swarm leave: removing ${c.name}: ${e.message}`));
      }
      await containers.pruneTaskFiles(new Set()).catch((e: Error) => log('warn', `swarm leave: removing task secrets: ${e.message}`));
      await applying;
      await o.networking?.applyClusterViews([], '').catch((e: Error) => log('warn', `swarm leave: cluster networks: ${e.message}`));
    },
    onNetworks: applyViews,
  });
  o.networking?.setClusterAttach({
    active: () => ctl.inSwarm,
    vtep: () => ctl.info().NodeAddr,
    attach: (ref, id, name) => ctl.attachNetwork(ref, id, name),
    detach: (id, networkId) => ctl.detachNetwork(id, networkId),
  });
  return ctl;
}

/**
 * The swarm routers' backend: the controller for membership, ClusterObjects for the objects, and
 * this node's engine for the logs of the tasks it runs.
 */
export function swarmBackend(ctl: SwarmController, engine: Engine): SwarmBackend {
  const objects = new ClusterObjects(ctl, { localNetwork: localNetworkOf(engine) });
  const secrets = new SecretObjects(ctl);
  return {
    info: () => ctl.info(),
    isManager: () => ctl.isManager,
    inspect: () => withQuorum(() => ctl.inspect()),
    init: (r) => ctl.init(r),
    join: (r) => ctl.join(r),
    leave: (f) => ctl.leave(f),
    update: (s, o) => withQuorum(() => ctl.update(s, o)),
    unlockKey: async () => { ctl.store(); throw invalid('no unlock key is set'); },
    unlock: async () => { throw invalid('swarm is not locked'); },
    nodes: () => withQuorum(() => objects.nodes()),
    updateNode: (id, v, s) => withQuorum(() => objects.updateNode(id, v, s)),
    removeNode: (id, f) => withQuorum(() => objects.removeNode(id, f)),
    services: () => withQuorum(() => objects.services()),
    tasks: () => withQuorum(() => objects.tasks()),
    createService: (s) => withQuorum(() => objects.createService(s)),
    updateService: (id, v, s, o) => withQuorum(() => objects.updateService(id, v, s, o)),
    removeService: (id) => withQuorum(() => objects.removeService(id)),
    serviceDefaults: (s) => withDefaults(s),
    secrets: (k) => withQuorum(() => secrets.list(k)),
    createSecret: (k, s) => withQuorum(() => secrets.create(k, s)),
    updateSecret: (k, id, v, s) => withQuorum(() => secrets.update(k, id, v, s)),
    removeSecret: (k, id) => withQuorum(() => secrets.remove(k, id)),
    logs: async (target, o) => {
      const all = await withQuorum(() => objects.tasks());
      const tasks = all.filter((t) => (target.task ? t.ID === target.task : t.ServiceID === target.service));
      const svc = (await withQuorum(() => objects.services())).find((x) => x.ID === (target.service ?? tasks[0]?.ServiceID));
      const tty = (svc?.Spec.TaskTemplate?.ContainerSpec as { TTY?: boolean } | undefined)?.TTY === true;
      const wire = toWire(o);
      const byNode = new Map<string, LogTask[]>();
      for (const t of tasks) {
        const lt = logTaskOf(t);
        if (lt) byNode.set(lt.NodeID, [...(byNode.get(lt.NodeID) ?? []), lt]);
      }
      const ac = new AbortController();
      o.signal?.addEventListener('abort', () => ac.abort(), { once: true });
      const sources = [];
      for (const [nodeId, list] of byNode) {
        if (nodeId === ctl.nodeId) { sources.push(...localEntries(engine, list, wire, ac.signal)); continue; }
        // A node that is down or does not answer in time: its tasks' lines are left out, as
        // Docker's log broker leaves out a node it cannot reach.
        if (!ctl.cache()?.alive.has(nodeId)) continue;
        const upload = await ctl.relayLogs(nodeId, list, wire).catch(() => undefined);
        if (!upload) continue;
        ac.signal.addEventListener('abort', () => upload.destroy(), { once: true });
        sources.push(framesOf(upload));
      }
      return logBody(merge(sources), tty);
    },
  };
}
