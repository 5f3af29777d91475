// What the leader's control loops need from the cluster store: a consistent snapshot of the
// cluster, a signal that something changed, and one fenced transaction to write back. The lead
// implements it over etcd (objects under /berth/swarm/, Version.Index = the key's mod revision,
// `alive` = the node IDs whose heartbeat key is bound to a live lease, apply = one leaderTxn that
// also compares every written object's mod revision); memory-store.ts implements it in memory for
// the tests.
//
// Worked example: the leader reads a view with task t1 at Version.Index 41, wants it desired
// 'shutdown', and calls apply([{ kind: 'putTask', task: { ...t1, DesiredState: 'shutdown' } }]).
// If the agent's status report bumped t1 to revision 42 meanwhile, apply returns false and changes
// nothing; the leader reads a fresh view and runs its pass again.
import type { ClusterNetwork, Node, Service, Swarm, Task } from '../../api/types/swarm.ts';
import type { StandaloneAttachment } from '../allocator/allocator.ts';

export interface ClusterView {
  /** Spec.Orchestration.TaskHistoryRetentionLimit and Spec.Dispatcher.HeartbeatPeriod (ns) are read. */
  cluster: Swarm;
  nodes: Node[];
  services: Service[];
  tasks: Task[];
  /** Cluster networks (the allocator's subnets) and standalone containers' attachments (none when absent). */
  networks?: ClusterNetwork[];
  attachments?: StandaloneAttachment[];
  /** Node IDs whose heartbeat lease is live right now. */
  alive: Set<string>;
}

export type Write =
  /** create: the task must not exist yet; otherwise its Version.Index must still match. */
  | { kind: 'putTask'; task: Task; create?: boolean }
  | { kind: 'deleteTask'; id: string }
  /** Version.Index must still match (UpdateStatus; Spec and PreviousSpec on a rollback). */
  | { kind: 'putService'; service: Service }
  /** Version.Index must still match (Status.State ready/down). */
  | { kind: 'putNode'; node: Node }
  /** Version.Index must still match (the allocator fills Addresses). */
  | { kind: 'putAttachment'; attachment: StandaloneAttachment }
  | { kind: 'deleteAttachment'; id: string };

export interface LeaderStore {
  view(): Promise<ClusterView>;
  /** Anything under the cluster changed. The leader coalesces bursts itself. Returns an unsubscribe. */
  onChange(listener: () => void): () => void;
  /** One fenced transaction; false = a version check failed (nothing written): re-read and retry. */
  apply(writes: Write[]): Promise<boolean>;
}
