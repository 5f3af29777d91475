// Swarm mode's composition: the controller (src/swarm/node/controller.ts) with this daemon's engine
// under its agent (SwarmContainers), the leader's loops over etcd, and the object rules for the API.
// main.ts creates it once; the swarm routers reach it through swarmBackend().
import os from 'node:os';
import type { Engine } from '../engine/engine.ts';
import type { NodeDescription } from '../api/types/swarm.ts';
import { SwarmController, newId } from '../swarm/node/controller.ts';
import { Agent } from '../swarm/agent/agent.ts';
import { Leader } from '../swarm/leader/leader.ts';
import { EtcdLeaderStore } from '../swarm/cluster/leader-store.ts';
import { SwarmContainers } from './swarm-containers.ts';
import { Readable } from 'node:stream';
import { invalid } from '../common/errors.ts';
import { frame } from '../common/stdcopy.ts';
import { formatTimeNs } from '../engine/logs.ts';
import type { SwarmBackend } from '../api/routers/swarm/backend.ts';
import { ClusterObjects, withQuorum } from '../swarm/node/objects.ts';
import { withDefaults } from '../swarm/spec/service-spec.ts';

export interface SwarmOptions {
  engine: Engine;
  dataRoot: string;
  version: string;
  clusterStore?: string[];
  log: (level: 'debug' | 'info' | 'warn' | 'error', msg: string) => void;
}

export function createSwarm(o: SwarmOptions): SwarmController {
  const { engine } = o;
  const log = (level: string, msg: string) => o.log((['debug', 'info', 'warn', 'error'].includes(level) ? level : 'info') as 'info', msg);
  const containers = new SwarmContainers({
    containers: engine.containers, images: engine.images, events: engine.events,
    pull: (ref, signal) => engine.pull(ref, undefined, undefined, signal),
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
  return new SwarmController({
    dataRoot: o.dataRoot,
    description,
    externalEtcd: o.clusterStore,
    log,
    agent: (nodeId, reporter) => new Agent({ nodeId, containers, reporter, log }),
    leader: ({ cache, election }) => new Leader({ store: new EtcdLeaderStore(cache, election), log, newId }),
    // swarm leave removes this node's task containers, as dockerd does.
    removeTaskContainers: async () => {
      for (const c of await containers.list()) {
        await containers.remove(c.id).catch((e: Error) => log('warn', `swarm leave: removing ${c.name}: ${e.message}`));
      }
    },
  });
}

/**
 * The swarm routers' backend: the controller for membership, ClusterObjects for the objects, and
 * this node's engine for the logs of the tasks it runs.
 */
export function swarmBackend(ctl: SwarmController, engine: Engine): SwarmBackend {
  const objects = new ClusterObjects(ctl);
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
    logs: async (target, o) => {
      const tasks = (await objects.tasks()).filter((t) => (target.task ? t.ID === target.task : t.ServiceID === target.service));
      const here = tasks.filter((t) => t.NodeID === ctl.nodeId && t.Status.ContainerStatus?.ContainerID);
      const streams = here.flatMap((t) => {
        try {
          const { tty, entries } = engine.containers.logs(t.Status.ContainerStatus!.ContainerID!, { ...o });
          return [{ t, tty, entries }];
        } catch {
          return []; // its container is gone (removed with its task's history)
        }
      });
      return Readable.from((async function* () {
        for (const s of streams) {
          // What `docker service logs` parses (details=true): the task's context before each line.
          const ctx = `com.docker.swarm.node.id=${s.t.NodeID},com.docker.swarm.service.id=${s.t.ServiceID},com.docker.swarm.task.id=${s.t.ID} `;
          for await (const e of s.entries) {
            const parts = [o.timestamps ? formatTimeNs(e.timeNs) + ' ' : '', o.details ? ctx : ''];
            const data = Buffer.concat([Buffer.from(parts.join('')), e.data]);
            yield s.tty ? data : frame(e.stream, data);
          }
        }
      })());
    },
  };
}
