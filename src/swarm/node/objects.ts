// The managers' side of /nodes, /services and /tasks: reads and writes of the cluster store with
// dockerd's rules and texts. The leader's loops do the rest: a created service gets its tasks, an
// updated one its rolling update, a removed one its tasks removed.
//
// Service names are unique: a create or rename-free update holds /berth/swarm/names/services/<name>
// in the same transaction as the service, so two concurrent `service create --name web` cannot both win.
import { EngineError, conflict, invalid, notFound } from '../../common/errors.ts';
import type { Node, NodeSpec, Service, ServiceCreateResponse, ServiceSpec, Task } from '../../api/types/swarm.ts';
import { ClusterStore, KEYS, OUT_OF_SEQUENCE, ROOT } from '../cluster/store.ts';
import { newId, type SwarmController } from './controller.ts';
import { normalizeServiceSpec, normalizeServiceUpdate, noPreviousSpec } from '../spec/service-spec.ts';
import { checkServiceRefs } from './secret-objects.ts';

const NAMES = `${ROOT}names/services/`;

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
  constructor(private readonly ctl: SwarmController) {}

  async nodes(): Promise<Node[]> {
    const store = this.ctl.store();
    const nodes = await store.list('nodes');
    const alive = await store.alive();
    const leader = this.ctl.leaderId();
    for (const n of nodes) {
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
        ...cur, Spec: cur.PreviousSpec, PreviousSpec: cur.Spec, UpdatedAt: now, Endpoint: endpointOf(cur.PreviousSpec),
        UpdateStatus: { State: 'rollback_started', StartedAt: now, Message: 'manually requested rollback' },
      };
    } else {
      const spec = normalizeServiceUpdate(cur, input);
      await checkServiceRefs(store, spec);
      next = { ...cur, Spec: spec, PreviousSpec: cur.Spec, UpdatedAt: now, Endpoint: endpointOf(spec) };
      // A new update restarts the update state machine, as swarmkit's controlapi clears it (the
      // leader sets 'updating' when it starts).
      delete next.UpdateStatus;
    }
    const r = await store.client.txn([ClusterStore.versionCompare('services', id, version)], [ClusterStore.putOp('services', next)]);
    if (!r.succeeded) throw invalid(`rpc error: code = Unknown desc = ${OUT_OF_SEQUENCE}`);
    return { Warnings: null };
  }

  async removeService(id: string): Promise<void> {
    const store = this.ctl.store();
    const cur = await store.get('services', id);
    if (!cur) throw notFound(`service ${id} not found`);
    await store.client.txn([], [{ delete: { key: KEYS.services + id } }, { delete: { key: NAMES + (cur.Spec.Name ?? '') } }]);
  }
}

/** The service's Endpoint as dockerd shows it: the spec, and the ports it publishes (host mode). */
export function endpointOf(spec: ServiceSpec): Service['Endpoint'] {
  const es = (spec.EndpointSpec ?? { Mode: 'vip' }) as { Mode?: string; Ports?: unknown[] };
  const ports = es.Ports ?? [];
  return { Spec: { Mode: es.Mode ?? 'vip', ...(ports.length ? { Ports: ports } : {}) }, ...(ports.length ? { Ports: ports } : {}) };
}

