// An in-memory LeaderStore: the cluster objects in maps, one revision counter as etcd's, every
// object's Version.Index its last write's revision, and apply() checking every version before
// writing anything (so it fails as a whole, as a fenced etcd transaction does). The unit tests run
// the Leader over it and play the agents and the API by writing through its helpers.
//
// Worked example:
//   const s = new MemoryLeaderStore();
//   s.putNode(node('n1'));  s.setAlive('n1', true);
//   s.putService(service('web', 3));           // listeners fire; the leader's pass creates 3 tasks
//   s.updateTask(id, (t) => ({ ...t, Status: { ...t.Status, State: 'running' } }));   // an agent
import type { ClusterNetwork, Node, Service, Swarm, Task } from '../../api/types/swarm.ts';
import type { StandaloneAttachment } from '../allocator/allocator.ts';
import type { ClusterView, LeaderStore, Write } from './store.ts';

export class MemoryLeaderStore implements LeaderStore {
  rev = 1;
  cluster: Swarm;
  readonly nodes = new Map<string, Node>();
  readonly services = new Map<string, Service>();
  readonly tasks = new Map<string, Task>();
  readonly networks = new Map<string, ClusterNetwork>();
  readonly attachments = new Map<string, StandaloneAttachment>();
  readonly alive = new Set<string>();
  /** Every apply() call with its writes and outcome (tests inspect it). */
  readonly applied: { writes: Write[]; ok: boolean }[] = [];
  /** Makes the next n apply() calls fail a version check, as a concurrent writer would. */
  failNext = 0;
  private listeners = new Set<() => void>();

  constructor(cluster?: Partial<Swarm>) {
    const now = new Date().toISOString();
    this.cluster = {
      ID: 'cluster', Version: { Index: 1 }, CreatedAt: now, UpdatedAt: now,
      Spec: { Orchestration: { TaskHistoryRetentionLimit: 5 }, Dispatcher: { HeartbeatPeriod: 5e9 } },
      TLSInfo: {}, RootRotationInProgress: false, DataPathPort: 4789, DefaultAddrPool: ['10.0.0.0/8'],
      SubnetSize: 24, JoinTokens: { Worker: '', Manager: '' }, ...cluster,
    };
  }

  async view(): Promise<ClusterView> {
    return structuredClone({
      cluster: this.cluster,
      nodes: [...this.nodes.values()],
      services: [...this.services.values()],
      tasks: [...this.tasks.values()],
      networks: [...this.networks.values()],
      attachments: [...this.attachments.values()],
      alive: this.alive,
    });
  }

  onChange(listener: () => void): () => void {
    const l = () => listener();
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  async apply(writes: Write[]): Promise<boolean> {
    const record = { writes: structuredClone(writes), ok: false };
    this.applied.push(record);
    if (this.failNext > 0) {
      this.failNext--;
      return false;
    }
    for (const w of writes) {
      if (w.kind === 'deleteTask' || w.kind === 'deleteAttachment') continue;
      if (w.kind === 'putAttachment') {
        if (this.attachments.get(w.attachment.ID)?.Version?.Index !== w.attachment.Version?.Index) return false;
      } else if (w.kind === 'putTask') {
        const cur = this.tasks.get(w.task.ID);
        if (w.create ? cur !== undefined : cur?.Version.Index !== w.task.Version.Index) return false;
      } else if (w.kind === 'putService') {
        if (this.services.get(w.service.ID)?.Version.Index !== w.service.Version.Index) return false;
      } else if (this.nodes.get(w.node.ID)?.Version?.Index !== w.node.Version?.Index) {
        return false;
      }
    }
    this.rev++;
    for (const w of structuredClone(writes)) {
      if (w.kind === 'deleteTask') this.tasks.delete(w.id);
      else if (w.kind === 'deleteAttachment') this.attachments.delete(w.id);
      else if (w.kind === 'putAttachment') this.attachments.set(w.attachment.ID, { ...w.attachment, Version: { Index: this.rev } });
      else if (w.kind === 'putTask') this.tasks.set(w.task.ID, { ...w.task, Version: { Index: this.rev } });
      else if (w.kind === 'putService') this.services.set(w.service.ID, { ...w.service, Version: { Index: this.rev } });
      else this.nodes.set(w.node.ID, { ...w.node, Version: { Index: this.rev } });
    }
    record.ok = true;
    this.changed();
    return true;
  }

  // The API's and the agents' writes (unconditional, each its own revision).

  putNode(n: Node): void {
    this.nodes.set(n.ID, { ...structuredClone(n), Version: { Index: ++this.rev } });
    this.changed();
  }

  putService(s: Service): void {
    this.services.set(s.ID, { ...structuredClone(s), Version: { Index: ++this.rev } });
    this.changed();
  }

  updateService(id: string, f: (s: Service) => Service): void {
    this.putService(f(structuredClone(this.services.get(id)!)));
  }

  removeService(id: string): void {
    this.services.delete(id);
    this.rev++;
    this.changed();
  }

  putNetwork(n: ClusterNetwork): void {
    this.networks.set(n.ID, { ...structuredClone(n), Version: { Index: ++this.rev } });
    this.changed();
  }

  putAttachment(a: StandaloneAttachment): void {
    this.attachments.set(a.ID, { ...structuredClone(a), Version: { Index: ++this.rev } });
    this.changed();
  }

  updateTask(id: string, f: (t: Task) => Task): void {
    const t = this.tasks.get(id);
    if (!t) return;
    this.tasks.set(id, { ...f(structuredClone(t)), Version: { Index: ++this.rev } });
    this.changed();
  }

  setAlive(nodeID: string, alive: boolean): void {
    if (alive) this.alive.add(nodeID); else this.alive.delete(nodeID);
    this.rev++;
    this.changed();
  }

  private changed(): void {
    for (const l of [...this.listeners]) l();
  }
}
