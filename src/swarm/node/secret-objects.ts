// The managers' side of /secrets and /configs: swarmkit's controlapi (secret.go, config.go) over
// the cluster store, with its texts. The data is sealed with the managers' data key before it
// is written (secrets/crypto.ts) and opened only where it must leave the manager: a config's
// inspect (dockerd returns a config's Data, never a secret's) and a node's session
// (dispatcher/server.ts). Names are unique per kind: a create holds
// /berth/swarm/names/<kind>s/<name> in the same transaction as the object, as services do.
//
//   create('secret', { Name: 'db', Data: 'czNjcmV0' })  → { ID } ; etcd: secrets/<ID> = { Spec: { Name, Labels }, Sealed: 'v1:…' }
//   remove('secret', id) while service web uses it   → 400 "secret 'db' is in use by the following service: web"
import { EngineError, conflict, invalid, notFound, notImplemented } from '../../common/errors.ts';
import type { SecretKind, SecretObject, SecretSpec, Service, ServiceSpec } from '../../api/types/swarm.ts';
import { KEYS, OUT_OF_SEQUENCE, ROOT, decode, encode, type ClusterStore, type StoredSecret } from '../cluster/store.ts';
import { seal } from '../secrets/crypto.ts';
import { inUseText, missingRefs, notFoundText, servicesUsing, validateObjectSpec } from '../secrets/refs.ts';
import { newId, type SwarmController } from './controller.ts';

const prefix = (kind: SecretKind) => (kind === 'secret' ? KEYS.secrets : KEYS.configs);
const names = (kind: SecretKind) => `${ROOT}names/${kind}s/`;

/** Go's encoding/json for a []byte field: standard base64 (padding optional only when empty). */
function decodeData(data: unknown): Buffer {
  if (data === undefined || data === null || data === '') return Buffer.alloc(0);
  if (typeof data !== 'string') throw invalid(`json: cannot unmarshal ${Array.isArray(data) ? 'array' : typeof data} into Go struct field .Data of type []uint8`);
  const bad = data.search(/[^A-Za-z0-9+/=]/);
  if (bad >= 0 || data.length % 4 !== 0) throw invalid(`illegal base64 data at input byte ${bad >= 0 ? bad : data.length - (data.length % 4)}`);
  return Buffer.from(data, 'base64');
}

export class SecretObjects {
  constructor(private readonly ctl: SwarmController) {}

  async #stored(kind: SecretKind): Promise<StoredSecret[]> {
    const { kvs } = await this.ctl.store().client.getPrefix(prefix(kind));
    return kvs.map((kv) => decode<StoredSecret>(kv));
  }

  /** As the API shows it: a secret without Data; a config with its Data (base64), as dockerd's. */
  #view(kind: SecretKind, o: StoredSecret): SecretObject {
    const { Sealed: _s, ...rest } = o;
    const spec: SecretSpec = { ...rest.Spec };
    if (kind === 'config') spec.Data = this.ctl.openSecret(kind, o).toString('base64');
    return { ...rest, Spec: spec };
  }

  async list(kind: SecretKind): Promise<SecretObject[]> {
    return (await this.#stored(kind)).map((o) => this.#view(kind, o));
  }

  async create(kind: SecretKind, input: SecretSpec): Promise<{ ID: string }> {
    const store = this.ctl.store();
    const data = decodeData(input.Data);
    if (input.Driver?.Name) throw notImplemented(`${kind} drivers are not supported by berth: the data is stored in the cluster, encrypted`);
    if (input.Templating?.Name) throw notImplemented(`${kind} templating is not supported by berth`);
    validateObjectSpec(kind, input.Name, data);
    const name = input.Name!;
    const id = newId();
    const now = new Date().toISOString();
    const obj: StoredSecret = {
      ID: id, Version: { Index: 0 }, CreatedAt: now, UpdatedAt: now,
      Spec: { Name: name, Labels: input.Labels ?? {} },
      Sealed: seal(this.ctl.dataKey(), data, `${kind}/${id}`),
    };
    const key = prefix(kind) + id;
    const r = await store.client.txn([
      { key: names(kind) + name, target: 'create', result: '=', value: 0 },
      { key, target: 'create', result: '=', value: 0 },
    ], [{ put: { key: names(kind) + name, value: id } }, { put: { key, value: encode(obj) } }]);
    if (!r.succeeded) throw conflict(`rpc error: code = AlreadyExists desc = ${kind} ${name} already exists`);
    return { ID: id };
  }

  /** swarmkit's Update<Kind>: only the labels may change ("only updates to Labels are allowed"). */
  async update(kind: SecretKind, id: string, version: number, input: SecretSpec): Promise<void> {
    const store = this.ctl.store();
    const kv = await store.client.get(prefix(kind) + id);
    if (!kv) throw notFound(`rpc error: code = NotFound desc = ${kind} ${id} not found`);
    const cur = decode<StoredSecret>(kv);
    const data = decodeData(input.Data);
    const changedData = input.Data !== undefined && input.Data !== null && !data.equals(this.ctl.openSecret(kind, cur));
    if ((input.Name ?? '') !== cur.Spec.Name || changedData) throw invalid('rpc error: code = InvalidArgument desc = only updates to Labels are allowed');
    const next: StoredSecret = { ...cur, Spec: { ...cur.Spec, Labels: input.Labels ?? {} }, UpdatedAt: new Date().toISOString() };
    const r = await store.client.txn([{ key: prefix(kind) + id, target: 'mod', result: '=', value: version }],
      [{ put: { key: prefix(kind) + id, value: encode(next) } }]);
    if (!r.succeeded) throw invalid(`rpc error: code = Unknown desc = ${OUT_OF_SEQUENCE}`);
  }

  /** Refused while a service references it (swarmkit's text); the delete holds only if no service changed since the check. */
  async remove(kind: SecretKind, id: string): Promise<void> {
    const store = this.ctl.store();
    const kv = await store.client.get(prefix(kind) + id);
    if (!kv) throw notFound(`rpc error: code = NotFound desc = could not find ${kind} ${id}`);
    const cur = decode<StoredSecret>(kv);
    const { kvs, revision } = await store.client.getPrefix(KEYS.services);
    const users = servicesUsing(kind, id, kvs.map((s) => decode<Service>(s)));
    if (users.length) throw invalid(inUseText(kind, cur.Spec.Name ?? id, users));
    // No service may have been created or updated since the check (it could reference this one).
    const r = await store.client.txn([{ key: KEYS.services, prefix: true, target: 'mod', result: '<', value: revision + 1 }],
      [{ delete: { key: prefix(kind) + id } }, { delete: { key: names(kind) + (cur.Spec.Name ?? '') } }]);
    if (!r.succeeded) throw new EngineError('Conflict', `rpc error: code = Aborted desc = the services changed while removing ${kind} ${cur.Spec.Name}: try again`);
  }
}

/**
 * swarmkit's checkSecretExistence and checkConfigExistence for a service create or update: every
 * reference names an object that exists under that name.
 */
export async function checkServiceRefs(store: ClusterStore, spec: ServiceSpec): Promise<void> {
  const c = spec.TaskTemplate?.ContainerSpec;
  for (const kind of ['secret', 'config'] as const) {
    const { kvs } = await store.client.getPrefix(prefix(kind));
    const missing = missingRefs(kind, c, kvs.map((kv) => decode<StoredSecret>(kv)));
    if (missing.length) throw invalid(notFoundText(kind, missing));
  }
}
