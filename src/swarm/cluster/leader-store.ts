// The leader's store over etcd: the view comes from the cluster cache, writes go in one fenced
// transaction (election.leaderTxn: nothing is written once this manager no longer leads) with a
// version compare per object, and a successful write waits (bounded) until the cache has caught up
// with it, so the next pass does not act on the view from before its own write.
import type { Election } from '../etcd/election.ts';
import type { Compare, TxnOp } from '../etcd/client.ts';
import { ClusterStore, KEYS } from './store.ts';
import type { ClusterCache } from './cache.ts';
import type { ClusterView, LeaderStore, Write } from '../leader/store.ts';

export class EtcdLeaderStore implements LeaderStore {
  constructor(private readonly cache: ClusterCache, private readonly election: Election) {}

  async view(): Promise<ClusterView> {
    await this.cache.start();
    const c = this.cache;
    if (!c.cluster) throw new Error('the cluster object is missing from the store');
    return structuredClone({
      cluster: c.cluster, nodes: [...c.nodes.values()], services: [...c.services.values()], tasks: [...c.tasks.values()],
      networks: [...c.networks.values()], attachments: [...c.attachments.values()], alive: new Set(c.alive),
    });
  }

  onChange(listener: () => void): () => void {
    return this.cache.onChange(listener);
  }

  async apply(writes: Write[]): Promise<boolean> {
    if (writes.length === 0) return true;
    const ops: TxnOp[] = [];
    const cmp: Compare[] = [];
    for (const w of writes) {
      switch (w.kind) {
        case 'putTask':
          cmp.push(ClusterStore.versionCompare('tasks', w.task.ID, w.create ? 'absent' : w.task.Version.Index));
          ops.push(ClusterStore.putOp('tasks', w.task));
          break;
        case 'deleteTask':
          ops.push({ delete: { key: KEYS.tasks + w.id } });
          break;
        case 'putService':
          cmp.push(ClusterStore.versionCompare('services', w.service.ID, w.service.Version.Index));
          ops.push(ClusterStore.putOp('services', w.service));
          break;
        case 'putNode':
          cmp.push(ClusterStore.versionCompare('nodes', w.node.ID, w.node.Version?.Index ?? 0));
          ops.push(ClusterStore.putOp('nodes', w.node));
          break;
        case 'putAttachment':
          cmp.push(ClusterStore.versionCompare('attachments', w.attachment.ID, w.attachment.Version?.Index ?? 0));
          ops.push(ClusterStore.putOp('attachments', w.attachment));
          break;
        case 'deleteAttachment':
          ops.push({ delete: { key: KEYS.attachments + w.id } });
          break;
      }
    }
    // etcd caps a transaction at 128 operations by default: split big passes (each part fenced).
    const LIMIT = 100;
    for (let i = 0; i < ops.length; i += LIMIT) {
      const partOps = ops.slice(i, i + LIMIT);
      const keys = new Set(partOps.map((o) => ('put' in o ? o.put.key : 'delete' in o ? o.delete.key : '')));
      const partCmp = cmp.filter((c) => keys.has(c.key));
      const r = await this.election.leaderTxn(partOps, partCmp);
      if (!r.succeeded) return false;
      await this.#caughtUp(r.revision);
    }
    return true;
  }

  async #caughtUp(revision: number): Promise<void> {
    const deadline = Date.now() + 2000;
    while (this.cache.revision < revision && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  }
}
