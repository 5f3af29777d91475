// The cluster store: swarm's objects in etcd, one JSON value per object, under /berth/swarm/.
//
//   /berth/swarm/cluster            the Swarm object (ID, Spec, JoinTokens, ...)
//   /berth/swarm/ca                 the root CA and the etcd CA (certificates and keys; managers only)
//   /berth/swarm/nodes/<id>         Node
//   /berth/swarm/services/<id>      Service
//   /berth/swarm/tasks/<id>         Task
//   /berth/swarm/networks/<id>      ClusterNetwork (overlay networks; `ingress` from swarm init)
//   /berth/swarm/attachments/<id>   a standalone container's address on an attachable network
//   /berth/swarm/names/<kind>/<name>  the ID holding a service's or network's name
//   /berth/swarm/heartbeats/<id>    a node's liveness: bound to a lease its dispatcher keeps alive
//   /berth/swarm/logreq/<id>        a log request for a node (on a short lease)
//   /berth/swarm/secrets/<id>       Secret, its data sealed with the managers' data key (secrets/crypto.ts)
//   /berth/swarm/configs/<id>       Config, sealed the same way
//   /berth/swarm/names/<kind>/<n>   the ID holding a service, secret or config name (names are unique)
//   /berth/swarm/leader/            the orchestrator election (election.ts)
//
// An object's Version.Index is its key's etcd mod revision: it is never stored, it is set on every
// read, and an update compares it (a changed object gives Docker's "update out of sequence").
//
// Worked example: `service update --replicas 5 web` reads services/s1 at mod revision 41 (Version
// 41), and writes it back with the compare mod(services/s1) = 41; a second client that read 41 too
// loses the race and gets the 'update out of sequence' error, as with dockerd.
import type { EtcdClient, KeyValue, TxnOp, Compare } from '../etcd/client.ts';
import { EngineError, conflict, notFound } from '../../common/errors.ts';
import type { ClusterNetwork, Node, SecretObject, Service, Swarm, Task } from '../../api/types/swarm.ts';
import type { StandaloneAttachment } from '../allocator/allocator.ts';

export const ROOT = '/berth/swarm/';
export const KEYS = {
  cluster: `${ROOT}cluster`,
  ca: `${ROOT}ca`,
  nodes: `${ROOT}nodes/`,
  services: `${ROOT}services/`,
  tasks: `${ROOT}tasks/`,
  networks: `${ROOT}networks/`,
  attachments: `${ROOT}attachments/`,
  /** A network's name → its ID: one network per name. */
  networkNames: `${ROOT}names/networks/`,
  /** Touched by every network create and remove, so two creates cannot pick the same VNI or subnet. */
  networkEpoch: `${ROOT}network-epoch`,
  heartbeats: `${ROOT}heartbeats/`,
  /** Log requests waiting for their node's dispatcher session (dispatcher/protocol.ts's LogRequest). */
  logRequests: `${ROOT}logreq/`,
  secrets: `${ROOT}secrets/`,
  configs: `${ROOT}configs/`,
  leader: `${ROOT}leader`,
} as const;

export type Kind = 'nodes' | 'services' | 'tasks' | 'networks' | 'attachments';
export type ObjectOf<K extends Kind> = K extends 'nodes' ? Node : K extends 'services' ? Service : K extends 'networks' ? ClusterNetwork
  : K extends 'attachments' ? StandaloneAttachment : Task;

/**
 * A secret or config as stored: its Spec without Data, and the data sealed (AES-256-GCM under the
 * managers' data key, bound to `<kind>/<ID>`). Only a manager holding the key can read it.
 */
export interface StoredSecret extends SecretObject { Sealed: string }

/** What the cluster keeps secret from workers: the CAs' keys. */
export interface ClusterSecrets {
  rootCA: { certPem: string; keyPem: string };
  etcdCA: { certPem: string; keyPem: string };
}

/** swarmkit's "update out of sequence" (the CLI prints it as the daemon's message). */
export const OUT_OF_SEQUENCE = 'update out of sequence';

/** The value an object is stored as: without its Version (the key's revision is the version). */
export function encode(obj: { Version?: unknown }): string {
  const { Version: _v, ...rest } = obj;
  return JSON.stringify(rest);
}

export function decode<T>(kv: KeyValue): T {
  const o = JSON.parse(kv.value) as T & { Version?: { Index: number } };
  o.Version = { Index: kv.modRevision };
  return o;
}

export class ClusterStore {
  constructor(readonly client: EtcdClient) {}

  async cluster(): Promise<Swarm | undefined> {
    const kv = await this.client.get(KEYS.cluster);
    return kv ? decode<Swarm>(kv) : undefined;
  }

  async secrets(): Promise<ClusterSecrets | undefined> {
    const kv = await this.client.get(KEYS.ca);
    return kv ? (JSON.parse(kv.value) as ClusterSecrets) : undefined;
  }

  async list<K extends Kind>(kind: K): Promise<ObjectOf<K>[]> {
    const { kvs } = await this.client.getPrefix(KEYS[kind]);
    return kvs.map((kv) => decode<ObjectOf<K>>(kv));
  }

  async get<K extends Kind>(kind: K, id: string): Promise<ObjectOf<K> | undefined> {
    const kv = await this.client.get(KEYS[kind] + id);
    return kv ? decode<ObjectOf<K>>(kv) : undefined;
  }

  /** Creates an object whose key must not exist yet; returns it with its Version. */
  async create<K extends Kind>(kind: K, obj: ObjectOf<K>): Promise<ObjectOf<K>> {
    const key = KEYS[kind] + obj.ID;
    const r = await this.client.txn([{ key, target: 'create', result: '=', value: 0 }], [{ put: { key, value: encode(obj) } }]);
    if (!r.succeeded) throw conflict(`${kind.slice(0, -1)} ${obj.ID} already exists`);
    return { ...obj, Version: { Index: r.revision } };
  }

  /**
   * Writes an object back if it is still at `version` (its Version.Index when read); a stale
   * version is Docker's "update out of sequence".
   */
  async update<K extends Kind>(kind: K, obj: ObjectOf<K>, version: number): Promise<ObjectOf<K>> {
    const key = KEYS[kind] + obj.ID;
    const r = await this.client.txn([{ key, target: 'mod', result: '=', value: version }], [{ put: { key, value: encode(obj) } }]);
    if (!r.succeeded) {
      if (!(await this.client.get(key))) throw notFound(`${kind.slice(0, -1)} ${obj.ID} not found`);
      throw new EngineError('InvalidParameter', `rpc error: code = Unknown desc = ${OUT_OF_SEQUENCE}`);
    }
    return { ...obj, Version: { Index: r.revision } };
  }

  /**
   * Reads, changes and writes back one object, retrying when another writer got in between
   * (bounded): for writers that do not act on a version the user saw (status reports, the
   * dispatcher's node updates). `change` returns undefined to write nothing.
   */
  async modify<K extends Kind>(kind: K, id: string, change: (o: ObjectOf<K>) => ObjectOf<K> | undefined): Promise<ObjectOf<K> | undefined> {
    for (let i = 0; i < 20; i++) {
      const cur = await this.get(kind, id);
      if (!cur) return undefined;
      const next = change(structuredClone(cur));
      if (!next) return cur;
      try {
        return await this.update(kind, next, cur.Version!.Index);
      } catch (e) {
        if (!(e instanceof EngineError && e.message.endsWith(OUT_OF_SEQUENCE))) throw e;
      }
    }
    throw conflict(`${kind.slice(0, -1)} ${id}: too many concurrent updates`);
  }

  async remove(kind: Kind, id: string): Promise<boolean> {
    return (await this.client.delete(KEYS[kind] + id)) > 0;
  }

  /** The ops and compares that write objects (for one transaction with other writes). */
  static putOp(kind: Kind, obj: { ID: string; Version?: unknown }): TxnOp {
    return { put: { key: KEYS[kind] + obj.ID, value: encode(obj) } };
  }

  static versionCompare(kind: Kind, id: string, version: number | 'absent'): Compare {
    return version === 'absent'
      ? { key: KEYS[kind] + id, target: 'create', result: '=', value: 0 }
      : { key: KEYS[kind] + id, target: 'mod', result: '=', value: version };
  }

  /** Node IDs whose heartbeat key (bound to a live lease) exists. */
  async alive(): Promise<Set<string>> {
    const { kvs } = await this.client.getPrefix(KEYS.heartbeats);
    return new Set(kvs.map((kv) => kv.key.slice(KEYS.heartbeats.length)));
  }
}
