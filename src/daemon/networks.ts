// The /networks router's backend: this engine's local networks and, on a manager, the swarm's
// cluster networks (overlay), composed in dockerd's order (moby's network router and
// daemon.createNetwork, libnetwork's NewNetwork):
//   create: a cluster network of that name → 409; not overlay → the engine; a predefined name →
//           403; outside a swarm → 403 (not a manager); a local network of that name → 409; on a
//           worker → 403 (libnetwork's worker text); on a manager → the cluster store.
//   remove: a cluster network by that reference first, else the engine's.
//   prune:  the engine's networks, then (on a manager) the cluster's that nothing uses, but never
//           ingress (moby's clusterNetworksPrune).
import type { Engine } from '../engine/engine.ts';
import type { NetworksBackend } from '../api/routers/networks/backend.ts';
import type { SwarmController } from '../swarm/node/controller.ts';
import { ClusterObjects, findClusterNetwork, withQuorum, type LocalNetworkRef } from '../swarm/node/objects.ts';
import { EngineError, conflict, isEngineError } from '../common/errors.ts';
import { parseFilters } from '../common/filters.ts';
import { parseTimestamp } from '../common/units.ts';
import { NOT_A_MANAGER, WORKER_NETWORK_CREATE } from '../api/types/swarm.ts';

const PREDEFINED = ['bridge', 'host', 'none', 'default'];

/** A local network by reference, for the swarm's service checks (dockerd's FindNetwork). */
export function localNetworkOf(engine: Engine): (ref: string) => LocalNetworkRef | undefined {
  return (ref) => {
    try {
      const n = engine.network(ref);
      return { name: n.name, predefined: n.predefined };
    } catch (e) {
      if (isEngineError(e, 'NotFound')) return undefined;
      throw e;
    }
  };
}

export function networksBackend(engine: Engine, ctl: SwarmController): NetworksBackend {
  const objects = new ClusterObjects(ctl, { localNetwork: localNetworkOf(engine) });
  // As dockerd's router: when the cluster cannot answer (no quorum), its networks are left out and
  // the local ones still listed, inspected and removed.
  const clusterNetworks = async () => (ctl.isManager ? objects.networks().catch(() => []) : []);
  return {
    // On a manager the cluster's list is the truth for cluster networks: this node's own copy of
    // one (kept while it has a part in it) would outlive a removal by a moment.
    list: () => (ctl.isManager ? engine.networks().filter((n) => n.scope !== 'swarm') : engine.networks()),
    get: (r) => engine.network(r),
    clusterNetworks,
    create: async (req) => {
      const name = req.Name ?? '';
      if ((await clusterNetworks()).some((n) => n.Spec.Name === name)) throw conflict(`network with name ${name} already exists`);
      if ((req.Driver || 'bridge') !== 'overlay') return engine.createNetwork(req);
      if (PREDEFINED.includes(name)) throw new EngineError('Forbidden', `operation is not permitted on predefined ${name} network `);
      const info = ctl.info();
      if (info.LocalNodeState === 'inactive') throw new EngineError('Forbidden', NOT_A_MANAGER);
      if (engine.networks().some((n) => n.name === name)) throw conflict(`network with name ${name} already exists`);
      if (!info.ControlAvailable) throw new EngineError('Forbidden', WORKER_NETWORK_CREATE);
      const r = await withQuorum(() => objects.createNetwork(req));
      engine.events.emit('network', 'create', r.Id, { name, type: 'overlay' });
      return r;
    },
    remove: async (ref) => {
      const net = findClusterNetwork(await clusterNetworks(), ref);
      if (!net) return engine.removeNetwork(ref);
      await withQuorum(() => objects.removeNetwork(net.ID));
      engine.events.emit('network', 'destroy', net.ID, { name: net.Spec.Name, type: 'overlay' });
    },
    prune: async (f) => {
      const deleted = await engine.pruneNetworks(f);
      if (!ctl.isManager) return deleted;
      const filters = parseFilters(f);
      const until = filters.has('until') ? Math.min(...filters.get('until').map((v) => parseTimestamp(v, Date.now()) * 1000)) : undefined;
      for (const n of await clusterNetworks()) {
        if (n.Spec.Ingress || (until !== undefined && Date.parse(n.CreatedAt) >= until) || !filters.matchLabels(n.Spec.Labels ?? {})) continue;
        try {
          await withQuorum(() => objects.removeNetwork(n.ID));
          deleted.push(n.Spec.Name);
        } catch (e) {
          // In use: kept, as dockerd keeps it.
          if (!(e instanceof Error && / is in use by /.test(e.message))) throw e;
        }
      }
      return deleted;
    },
    connect: (r, c, e) => engine.connectNetwork(r, c, e),
    disconnect: (r, c, f) => engine.disconnectNetwork(r, c, f),
  };
}
