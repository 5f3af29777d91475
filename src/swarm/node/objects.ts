// The managers' side of /nodes, /services and /tasks: reads and writes of the cluster store with
// dockerd's rules and texts. The leader's loops do the rest: a created service gets its tasks, an
// updated one its rolling update, a removed one its tasks removed.
//
// Service names are unique: a create or rename-free update holds /berth/swarm/names/services/<name>
// in the same transaction as the service, so two concurrent `service create --name web` cannot both win.
import { EngineError, conflict, invalid, notFound } from '../../common/errors.ts';
import type { ClusterNetwork, NetworkAttachment, Node, NodeSpec, Service, ServiceCreateResponse, ServiceSpec, Task } from '../../api/types/swarm.ts';
import type { NetworkCreateRequest } from '../../api/types/network.ts';
import { ClusterStore, KEYS, OUT_OF_SEQUENCE, ROOT } from '../cluster/store.ts';
import { newId, type SwarmController } from './controller.ts';
import { normalizeServiceSpec, normalizeServiceUpdate, noPreviousSpec } from '../spec/service-spec.ts';
import { clusterNetworkSpec } from '../spec/network-spec.ts';
import { AllocationError, allocateNetwork, isIngress, needsIngress, portConflict, serviceNetworks } from '../allocator/allocator.ts';
import { compareStates } from '../orchestrator/task-state.ts';
import { checkServiceRefs } from './secret-objects.ts';

const NAMES = `${ROOT}names/services/`;
const NETWORK_NAMES = KEYS.networkNames;

/** A local network a service names (dockerd's FindNetwork on the node): swarm services cannot use it. */
export interface LocalNetworkRef { name: string; predefined: boolean }

const rpc = (code: string, desc: string) => `rpc error: code = ${code} desc = ${desc}`;

/** dockerd's answer when raft has no leader; here: etcd has lost its quorum (or cannot be reached). */
export const NO_LEADER = 'rpc error: code = Unknown desc = The swarm does not have a leader. It\'s possible that too few managers are online. Make sure more than half of the managers are online.';

/**
 * Runs a cluster-store call, turning "etcd cannot answer" (no quorum: requests time out or are
 * refused by every member) into dockerd's no-leader error, so a user sees why writes fail.
 */
export async function withQuorum<T>(f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (e) {
    if (e instanceof EngineError && e.message.startsWith('etcd:') && (e.kind === 'Unavailable' || /timed out|no leader|request timed out|leader changed/.test(e.message))) {
      throw new EngineError('Unavailable', NO_LEADER, { cause: e });
    }
    throw e;
  }
}

export class ClusterObjects {
  constructor(private readonly ctl: SwarmController, private readonly o: { localNetwork?: (ref: string) => LocalNetworkRef | undefined } = {}) {}

  async nodes(): Promise<Node[]> {
    const store = this.ctl.store();
    const nodes = await store.list('nodes');
    const alive = await store.alive();
    const leader = this.ctl.leaderId();
    for (const n of nodes) {
      // The node's ingress load-balancer address is the allocator's (swarmkit's Node.Attachments); dockerd does not show it.
      delete n.Attachments;
      if (n.ManagerStatus) {
        n.ManagerStatus = { ...n.ManagerStatus, Leader: n.ID === leader, Reachability: alive.has(n.ID) ? 'reachable' : 'unreachable' };
        if (!n.ManagerStatus.Leader) delete n.ManagerStatus.Leader;
      }
    }
    return nodes;
  }

  async updateNode(id: string, version: number, spec: NodeSpec): Promise<void> {
    const store = this.ctl.store();
    const cur = await store.get('nodes', id);
    if (!cur) throw notFound(`node ${id} not found`);
    if (!['active', 'pause', 'drain'].includes(spec.Availability)) throw invalid(`invalid availability ${JSON.stringify(spec.Availability)}`);
    const role = spec.Role ?? cur.Spec.Role;
    if (role !== 'manager' && role !== 'worker') throw invalid(`invalid role ${JSON.stringify(spec.Role)}`);
    const next: Node = { ...cur, Spec: { ...spec, Role: role, Labels: spec.Labels ?? {} }, UpdatedAt: new Date().toISOString() };
    if (cur.Spec.Role === 'manager' && role === 'worker') {
      // Demotion: the node's etcd member leaves first (quorum permitting), then its role changes;
      // the node sees the new role on its session, drops its member's data and renews as a worker.
      if (cur.Version?.Index !== version) throw invalid(`rpc error: code = Unknown desc = ${OUT_OF_SEQUENCE}`);
      const managers = (await store.list('nodes')).filter((n) => n.Spec.Role === 'manager');
      if (managers.length <= 1) throw invalid('rpc error: code = FailedPrecondition desc = attempting to demote the last manager of the swarm');
      const alive = await store.alive();
      const reachable = managers.filter((n) => alive.has(n.ID) && n.ID !== id).length;
      if (reachable <= Math.floor((managers.length - 1) / 2)) {
        throw invalid(`rpc error: code = FailedPrecondition desc = can't remove member from the raft: this would result in a loss of quorum`);
      }
      await this.ctl.removeMember(id);
      delete next.ManagerStatus;
    }
    await store.update('nodes', next, version);
  }

  async removeNode(id: string, force: boolean): Promise<void> {
    const store = this.ctl.store();
    const cur = await store.get('nodes', id);
    if (!cur) throw notFound(`node ${id} not found`);
    if (cur.Spec.Role === 'manager') {
      throw new EngineError('InvalidParameter', `rpc error: code = FailedPrecondition desc = node ${id} is a cluster manager and is a member of the raft cluster. It must be demoted to worker before removal`);
    }
    if (!force && cur.Status.State !== 'down') {
      throw new EngineError('InvalidParameter', `rpc error: code = FailedPrecondition desc = node ${id} is not down and can't be removed`);
    }
    await store.remove('nodes', id);
  }

  services(): Promise<Service[]> { return this.ctl.store().list('services'); }
  tasks(): Promise<Task[]> { return this.ctl.store().list('tasks'); }

  async createService(input: ServiceSpec): Promise<ServiceCreateResponse> {
    const store = this.ctl.store();
    const spec = normalizeServiceSpec(input);
    await this.#resolveNetworks(spec);
    await this.#checkPorts(spec, '');
    await checkServiceRefs(store, spec);
    const name = spec.Name!;
    const now = new Date().toISOString();
    const svc: Service = {
      ID: newId(), Version: { Index: 0 }, CreatedAt: now, UpdatedAt: now, Spec: spec,
      Endpoint: endpointOf(spec),
    };
    const r = await store.client.txn([
      { key: NAMES + name, target: 'create', result: '=', value: 0 },
      ClusterStore.versionCompare('services', svc.ID, 'absent'),
    ], [{ put: { key: NAMES + name, value: svc.ID } }, ClusterStore.putOp('services', svc)]);
    if (!r.succeeded) throw conflict(`rpc error: code = AlreadyExists desc = name conflicts with an existing object: service ${name} already exists`);
    return { ID: svc.ID, Warnings: null };
  }

  async updateService(id: string, version: number, input: ServiceSpec, o: { rollback: boolean }): Promise<{ Warnings: string[] | null }> {
    const store = this.ctl.store();
    const cur = await store.get('services', id);
    if (!cur) throw notFound(`service ${id} not found`);
    const now = new Date().toISOString();
    let next: Service;
    if (o.rollback) {
      if (!cur.PreviousSpec) throw noPreviousSpec(id);
      next = {
        ...cur, Spec: cur.PreviousSpec, PreviousSpec: cur.Spec, UpdatedAt: now, Endpoint: keepAllocated(cur, cur.PreviousSpec),
        UpdateStatus: { State: 'rollback_started', StartedAt: now, Message: 'manually requested rollback' },
      };
    } else {
      const spec = normalizeServiceUpdate(cur, input);
      await this.#resolveNetworks(spec);
      await this.#checkPorts(spec, id);
      await checkServiceRefs(store, spec);
      next = { ...cur, Spec: spec, PreviousSpec: cur.Spec, UpdatedAt: now, Endpoint: keepAllocated(cur, spec) };
      // A new update restarts the update state machine, as swarmkit's controlapi clears it (the
      // leader sets 'updating' when it starts).
      delete next.UpdateStatus;
    }
    const r = await store.client.txn([ClusterStore.versionCompare('services', id, version)], [ClusterStore.putOp('services', next)]);
    if (!r.succeeded) throw invalid(`rpc error: code = Unknown desc = ${OUT_OF_SEQUENCE}`);
    return { Warnings: null };
  }

  /**
   * dockerd's populateNetworkID: each attached network's Target (name, ID or ID prefix) becomes its
   * cluster network's ID; a local network is refused; the ingress network cannot be named
   * (swarmkit's validateNetworks).
   */
  async #resolveNetworks(spec: ServiceSpec): Promise<void> {
    const targets = serviceNetworks(spec);
    if (!targets.length) return;
    const all = await this.ctl.store().list('networks');
    for (const n of targets) {
      const ref = String(n.Target ?? '');
      let net = findClusterNetwork(all, ref);
      if (!net) {
        const local = this.o.localNetwork?.(ref);
        if (local?.predefined) {
          net = findClusterNetwork(all, local.name);
          if (!net) throw notFound(`could not find the corresponding predefined swarm network: network ${local.name} not found`);
        } else if (local) {
          throw new EngineError('Forbidden', `The network ${local.name} cannot be used with services. Only networks scoped to the swarm can be used, such as those created with the overlay driver.`);
        } else {
          throw notFound(`network ${ref} not found`);
        }
      }
      if (isIngress(net)) throw invalid(rpc('InvalidArgument', `Service cannot be explicitly attached to the ingress network "${net.Spec.Name}"`));
      n.Target = net.ID;
    }
  }

  async #checkPorts(spec: ServiceSpec, serviceId: string): Promise<void> {
    const why = portConflict(spec, serviceId, await this.ctl.store().list('services'));
    if (why) throw invalid(rpc('InvalidArgument', why));
  }

  // --- cluster networks ---

  networks(): Promise<ClusterNetwork[]> { return this.ctl.store().list('networks'); }

  /** A cluster network by full ID, name, or unique ID prefix (dockerd's getNetwork); undefined when none. */
  async network(ref: string): Promise<ClusterNetwork | undefined> {
    return findClusterNetwork(await this.networks(), ref);
  }

  /**
   * Creates an overlay network with its VNI and subnet allocated: the allocation is made against
   * the networks read and committed only if no network was created or removed meanwhile (the
   * network epoch key) and the name is still free.
   */
  async createNetwork(req: NetworkCreateRequest): Promise<{ Id: string; Warning: string }> {
    const store = this.ctl.store();
    const spec = clusterNetworkSpec(req);
    for (let attempt = 0; attempt < 10; attempt++) {
      const cluster = await store.cluster();
      const epoch = await store.client.get(KEYS.networkEpoch);
      const existing = await store.list('networks');
      if (existing.some((n) => n.Spec.Name === spec.Name)) throw conflict(`network with name ${spec.Name} already exists`);
      const ingress = existing.find(isIngress);
      if (spec.Ingress && ingress) throw conflict(rpc('AlreadyExists', `ingress network (${ingress.ID}) is already present`));
      let allocated;
      try {
        allocated = allocateNetwork(spec, existing, { DefaultAddrPool: cluster?.DefaultAddrPool, SubnetSize: cluster?.SubnetSize });
      } catch (e) {
        if (e instanceof AllocationError) throw invalid(rpc('InvalidArgument', e.message));
        throw e;
      }
      const now = new Date().toISOString();
      const net: ClusterNetwork = { ID: newId(), Version: { Index: 0 }, CreatedAt: now, UpdatedAt: now, Spec: spec, ...allocated };
      const r = await store.client.txn([
        { key: NETWORK_NAMES + spec.Name, target: 'create', result: '=', value: 0 },
        epoch ? { key: KEYS.networkEpoch, target: 'mod', result: '=', value: epoch.modRevision } : { key: KEYS.networkEpoch, target: 'create', result: '=', value: 0 },
        ClusterStore.versionCompare('networks', net.ID, 'absent'),
      ], [
        ClusterStore.putOp('networks', net), { put: { key: NETWORK_NAMES + spec.Name, value: net.ID } },
        { put: { key: KEYS.networkEpoch, value: net.ID } },
      ]);
      if (r.succeeded) return { Id: net.ID, Warning: '' };
    }
    throw conflict('too many concurrent network changes: try again');
  }

  /** swarmkit's removeNetwork / removeIngressNetwork: refused while a service or a live task uses it. */
  async removeNetwork(id: string): Promise<void> {
    const store = this.ctl.store();
    const net = await store.get('networks', id);
    if (!net) throw notFound(`network ${id} not found`);
    const services = await store.list('services');
    if (isIngress(net)) {
      const user = services.find((s) => needsIngress(s.Spec));
      if (user) throw invalid(rpc('FailedPrecondition', `ingress network cannot be removed because service ${user.ID} depends on it`));
    } else {
      const user = services.find((s) => serviceNetworks(s.Spec).some((n) => n.Target === id));
      if (user) throw invalid(rpc('FailedPrecondition', `network ${id} is in use by service ${user.ID}`));
      // swarmkit's rule: only a task still meant to run (and not yet past running) holds it; a
      // removed service's tasks, shutting down, do not (docker stack rm removes the networks at once).
      // A removed service's tasks count as going already: swarmkit's orchestrator marks them for
      // removal within moments, berth's leader on its next pass, which docker stack rm does not wait for.
      const live = new Set(services.map((x) => x.ID));
      const task = (await store.list('tasks')).find((t) => live.has(t.ServiceID) && compareStates(t.DesiredState, 'running') <= 0 && compareStates(t.Status.State, 'running') <= 0
        && ((t.NetworksAttachments ?? []) as NetworkAttachment[]).some((a) => a.Network?.ID === id));
      if (task) throw invalid(rpc('FailedPrecondition', `network ${id} is in use by task ${task.ID}`));
      const att = (await store.list('attachments')).find((a) => a.NetworkID === id);
      if (att) throw invalid(rpc('FailedPrecondition', `network ${id} is in use by task ${att.ID}`));
    }
    await store.client.txn([], [
      { delete: { key: KEYS.networks + id } }, { delete: { key: NETWORK_NAMES + net.Spec.Name } },
      { put: { key: KEYS.networkEpoch, value: id } },
    ]);
  }

  async removeService(id: string): Promise<void> {
    const store = this.ctl.store();
    const cur = await store.get('services', id);
    if (!cur) throw notFound(`service ${id} not found`);
    await store.client.txn([], [{ delete: { key: KEYS.services + id } }, { delete: { key: NAMES + (cur.Spec.Name ?? '') } }]);
  }
}

/**
 * An updated service's Endpoint: the new spec, and what the leader allocated for the old one (its
 * VIPs and published ports), which the leader's allocator then changes to fit the new spec.
 */
function keepAllocated(cur: Service, spec: ServiceSpec): Service['Endpoint'] {
  const old = (cur.Endpoint ?? {}) as { Ports?: unknown[]; VirtualIPs?: unknown[] };
  const base = endpointOf(spec) as Record<string, unknown>;
  return { ...base, ...(old.Ports ? { Ports: old.Ports } : {}), ...(old.VirtualIPs ? { VirtualIPs: old.VirtualIPs } : {}) };
}

/** The service's Endpoint as dockerd shows it: the spec, and the ports it publishes (host mode). */
export function endpointOf(spec: ServiceSpec): Service['Endpoint'] {
  const es = (spec.EndpointSpec ?? { Mode: 'vip' }) as { Mode?: string; Ports?: unknown[] };
  const ports = es.Ports ?? [];
  return { Spec: { Mode: es.Mode ?? 'vip', ...(ports.length ? { Ports: ports } : {}) }, ...(ports.length ? { Ports: ports } : {}) };
}


/** dockerd's getNetwork over the cluster's networks: full ID, then name, then a unique ID prefix. */
export function findClusterNetwork(all: readonly ClusterNetwork[], ref: string): ClusterNetwork | undefined {
  if (!ref) return undefined;
  const byId = all.find((n) => n.ID === ref);
  if (byId) return byId;
  const byName = all.filter((n) => n.Spec.Name === ref);
  if (byName.length === 1) return byName[0];
  const byPrefix = all.filter((n) => n.ID.startsWith(ref));
  if (byPrefix.length > 1) throw invalid(`network ${ref} is ambiguous (${byPrefix.length} matches found)`);
  return byPrefix[0];
}
