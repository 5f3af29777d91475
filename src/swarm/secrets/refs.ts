// Secret and config references of services and tasks (ContainerSpec.Secrets / .Configs), pure:
// swarmkit's checks of a service spec's references (controlapi validateSecretRefsSpec,
// validateConfigRefsSpec, checkSecretExistence, checkConfigExistence), the services that keep an
// object from being removed, which objects a node is sent (only those its live tasks use), and
// where each lands in a task's container (moby's executor: a secret's relative target under
// /run/secrets/, a config's under /).
//
//   validateRefs({ Secrets: [{ SecretID: 's1', SecretName: 'db', File: { Name: 'db' } }] })   → ok
//   missingRefs('secret', refs, storedSecrets)   → ['db'] when s1 is gone or renamed ("secret not found: db")
//   deliveryFor('n2', tasks)                     → { secret: Set{'s1'}, config: Set{} } for n2's live tasks
//   taskFiles(task, material)                    → [{ target: '/run/secrets/db', data, uid: 0, gid: 0, mode: 0o444 }]
import { posix } from 'node:path';
import { invalid } from '../../common/errors.ts';
import type { SecretKind, SecretObject, SecretReference, Service, Task, TaskSpec } from '../../api/types/swarm.ts';
import { isTerminal } from '../orchestrator/task-state.ts';

const rpcInvalid = (desc: string) => invalid(`rpc error: code = InvalidArgument desc = ${desc}`);

/** swarmkit's MaxSecretSize and MaxConfigSize. */
export const MAX_SIZE: Record<SecretKind, number> = { secret: 500 * 1024, config: 1000 * 1024 };

/** swarmkit's isValidConfigOrSecretName. */
const NAME = /^[a-zA-Z0-9]+(?:[a-zA-Z0-9-_.]*[a-zA-Z0-9])?$/;

/** swarmkit's validateSecretSpec / validateConfigSpec on the decoded data. */
export function validateObjectSpec(kind: SecretKind, name: unknown, data: Buffer): void {
  if (typeof name !== 'string' || name === '') throw rpcInvalid('name must be provided');
  if (name.length > 64 || !NAME.test(name)) {
    throw rpcInvalid('invalid name, only 64 [a-zA-Z0-9-_.] characters allowed, and the start and end character must be [a-zA-Z0-9]');
  }
  if (data.length >= MAX_SIZE[kind] || data.length < 1) throw rpcInvalid(`${kind} data must be larger than 0 and less than ${MAX_SIZE[kind]} bytes`);
}

const field = (kind: SecretKind) => (kind === 'secret' ? 'Secrets' : 'Configs');
const idOf = (kind: SecretKind, r: SecretReference) => (kind === 'secret' ? r.SecretID : r.ConfigID) ?? '';
const nameOf = (kind: SecretKind, r: SecretReference) => (kind === 'secret' ? r.SecretName : r.ConfigName) ?? '';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The references of one kind in a ContainerSpec (none when absent or malformed). */
export function refsOf(kind: SecretKind, containerSpec: unknown): SecretReference[] {
  const list = isObj(containerSpec) ? containerSpec[field(kind)] : undefined;
  return Array.isArray(list) ? (list.filter(isObj) as SecretReference[]) : [];
}

const containerOf = (t: TaskSpec | undefined): unknown => t?.ContainerSpec;

/**
 * swarmkit's validateSecretRefsSpec and validateConfigRefsSpec: an ID and a name each, a target
 * (a File with a name, or for configs Runtime), and no two file references to the same name.
 */
export function validateRefs(containerSpec: unknown): void {
  for (const kind of ['secret', 'config'] as const) {
    const list = isObj(containerSpec) ? containerSpec[field(kind)] : undefined;
    if (list === undefined || list === null) continue;
    if (!Array.isArray(list)) throw invalid(`json: cannot unmarshal ${typeof list} into Go struct field ContainerSpec.TaskTemplate.ContainerSpec.${field(kind)} of type []*swarm.${kind === 'secret' ? 'Secret' : 'Config'}Reference`);
    const targets = new Map<string, string>();
    for (const r of list as SecretReference[]) {
      if (!isObj(r) || !idOf(kind, r) || !nameOf(kind, r)) throw rpcInvalid(`malformed ${kind} reference`);
      const file = isObj(r.File) ? (r.File as NonNullable<SecretReference['File']>) : undefined;
      const runtime = kind === 'config' && isObj(r.Runtime);
      if (!file && !runtime) throw rpcInvalid(`malformed ${kind} reference, no target provided`);
      if (!file) continue;
      if (typeof file.Name !== 'string' || file.Name === '') throw rpcInvalid(`malformed file ${kind} reference, invalid target file name provided`);
      const prev = targets.get(file.Name);
      if (prev !== undefined) throw rpcInvalid(`${kind} references '${prev}' and '${nameOf(kind, r)}' have a conflicting target: '${file.Name}'`);
      targets.set(file.Name, nameOf(kind, r));
      if (file.Mode !== undefined && file.Mode !== null && (typeof file.Mode !== 'number' || !Number.isInteger(file.Mode) || file.Mode < 0 || file.Mode > 0o7777)) throw invalid(`invalid file mode for ${kind} ${nameOf(kind, r)}: ${file.Mode}`);
      for (const k of ['UID', 'GID'] as const) {
        if (file[k] !== undefined && file[k] !== '' && !/^[0-9]+$/.test(String(file[k]))) throw invalid(`invalid ${k} for ${kind} ${nameOf(kind, r)}: ${file[k]} (a numeric ID is required)`);
      }
    }
  }
}

/**
 * swarmkit's checkSecretExistence / checkConfigExistence: the names of the references whose
 * object is gone or has another name (the caller says "secret(s) not found: a, b").
 */
export function missingRefs(kind: SecretKind, containerSpec: unknown, stored: readonly Pick<SecretObject, 'ID' | 'Spec'>[]): string[] {
  const byId = new Map(stored.map((o) => [o.ID, o]));
  return refsOf(kind, containerSpec).filter((r) => byId.get(idOf(kind, r))?.Spec.Name !== nameOf(kind, r)).map((r) => nameOf(kind, r));
}

export function notFoundText(kind: SecretKind, names: string[]): string {
  return `rpc error: code = InvalidArgument desc = ${names.length === 1 ? kind : `${kind}s`} not found: ${names.join(', ')}`;
}

/** The services whose spec references object `id` (swarmkit's ByReferencedSecretID/ConfigID). */
export function servicesUsing(kind: SecretKind, id: string, services: readonly Service[]): Service[] {
  return services.filter((s) => refsOf(kind, containerOf(s.Spec.TaskTemplate)).some((r) => idOf(kind, r) === id));
}

export function inUseText(kind: SecretKind, name: string, services: readonly Service[]): string {
  const names = services.map((s) => s.Spec.Name ?? s.ID);
  return `rpc error: code = InvalidArgument desc = ${kind} '${name}' is in use by the following ${names.length === 1 ? 'service' : 'services'}: ${names.join(', ')}`;
}

/**
 * The objects node `nodeId` may be sent: those referenced by its tasks that may still run (the
 * orchestrator wants them running and they have not ended). Nothing for other nodes' tasks,
 * and nothing for tasks that are over: their container keeps the files it was given.
 */
export function deliveryFor(nodeId: string, tasks: Iterable<Task>): Record<SecretKind, Set<string>> {
  const out = { secret: new Set<string>(), config: new Set<string>() };
  for (const t of tasks) {
    if (t.NodeID !== nodeId || isTerminal(t.DesiredState) || isTerminal(t.Status?.State ?? 'new')) continue;
    for (const kind of ['secret', 'config'] as const) {
      for (const r of refsOf(kind, containerOf(t.Spec))) if (idOf(kind, r)) out[kind].add(idOf(kind, r));
    }
  }
  return out;
}

/** One file to put in a task's container. */
export interface TaskFile { kind: SecretKind; name: string; target: string; data: Buffer; uid: number; gid: number; mode: number }

/** moby's container executor: a secret's relative target is under /run/secrets/, a config's under /. */
export function targetPath(kind: SecretKind, fileName: string): string {
  if (posix.isAbsolute(fileName)) return posix.normalize(fileName);
  return posix.join(kind === 'secret' ? '/run/secrets' : '/', fileName);
}

/**
 * The files of a task's file references, with their data from `material` (ID → plaintext);
 * a reference whose data this node was not sent → `missing` (the task cannot be prepared).
 */
export function taskFiles(task: Pick<Task, 'Spec'>, material: Record<SecretKind, Map<string, Buffer>>): { files: TaskFile[]; missing: string[] } {
  const files: TaskFile[] = [];
  const missing: string[] = [];
  for (const kind of ['secret', 'config'] as const) {
    for (const r of refsOf(kind, containerOf(task.Spec))) {
      if (!isObj(r.File)) continue;
      const data = material[kind].get(idOf(kind, r));
      if (!data) { missing.push(`${kind} ${nameOf(kind, r)}`); continue; }
      const f = r.File;
      files.push({
        kind, name: nameOf(kind, r), target: targetPath(kind, f.Name ?? nameOf(kind, r)), data,
        uid: Number(f.UID || 0), gid: Number(f.GID || 0), mode: f.Mode ?? 0o444,
      });
    }
  }
  return { files, missing };
}
