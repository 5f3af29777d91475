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
