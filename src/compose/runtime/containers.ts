// The containers of a project as compose finds them: by label (never by name), with its
// predicates and names (compose's containers.go, filters.go and the naming helpers).
//
//   projectFilters('shop', 'exclude')  → { label: ['com.docker.compose.project=shop',
//                                         'com.docker.compose.config-hash',
//                                         'com.docker.compose.oneoff=False'] }
//   canonicalName(c)                   → 'shop-web-1'
//   nameWithoutProject(c)              → 'web-1' (or the container_name)
//   progressName(c)                    → 'Container shop-web-1'
//   await getSpecifiedContainer(api, 'shop', 'include', false, 'web', 2)   → shop-web-2 (exec, logs --index)
import { ComposeError } from '../errors.ts';
import { LABELS, SEPARATOR, type Project } from '../model.ts';
import type { ComposeApi, ContainerSummary, Filters } from './api.ts';

export type OneOff = 'include' | 'exclude' | 'only';

export function projectFilter(project: string): string {
  return `${LABELS.project}=${project}`;
}

/** compose's getDefaultFilters: the project, one service (when one is named), has a hash, one-off rule. */
export function projectFilters(project: string, oneOff: OneOff, services: string[] = []): Filters {
  const label = [projectFilter(project)];
  if (services.length === 1) label.push(`${LABELS.service}=${services[0]}`);
  label.push(LABELS.configHash);
  if (oneOff === 'only') label.push(`${LABELS.oneoff}=True`);
  if (oneOff === 'exclude') label.push(`${LABELS.oneoff}=False`);
  return { label };
}

/** compose's getContainers. */
export async function getContainers(api: ComposeApi, project: string, oneOff: OneOff, all: boolean, services: string[] = []): Promise<ContainerSummary[]> {
  const list = await api.listContainers(projectFilters(project, oneOff, services), all);
  return services.length > 1 ? list.filter(isService(...services)) : list;
}

export const isService = (...services: string[]) => (c: ContainerSummary): boolean => services.includes(c.Labels?.[LABELS.service] ?? '');

export const isOneOff = (c: ContainerSummary): boolean => c.Labels?.[LABELS.oneoff] === 'True';

export function isNotOneOff(c: ContainerSummary): boolean {
  const v = c.Labels?.[LABELS.oneoff];
  return v === undefined || v === 'False';
}

/** Containers of services the model no longer has; exited one-offs too (compose's isOrphaned). */
export function isOrphaned(p: Pick<Project, 'services' | 'disabledServices'>) {
  const names = new Set([...Object.keys(p.services), ...Object.keys(p.disabledServices ?? {})]);
  return (c: ContainerSummary): boolean => {
    if (c.Labels?.[LABELS.oneoff] === 'True') return c.State === 'exited' || c.State === 'dead';
    return !names.has(c.Labels?.[LABELS.service] ?? '');
  };
}

/** The container's own name (not a link alias `/other/name`), without the slash. */
export function canonicalName(c: Pick<ContainerSummary, 'Id' | 'Names'>): string {
  if (!c.Names || c.Names.length === 0) return c.Id.slice(0, 12);
  for (const n of c.Names) if (n.lastIndexOf('/') === 0) return n.slice(1);
  return c.Names[0].replace(/^\//, '');
}

export function defaultContainerName(project: string, service: string, index: string): string {
  return [project, service, index].join(SEPARATOR);
}

/** `web-1`, or the container_name when the service sets one. */
export function nameWithoutProject(c: ContainerSummary): string {
  const project = c.Labels?.[LABELS.project] ?? '';
  const def = defaultContainerName(project, c.Labels?.[LABELS.service] ?? '', c.Labels?.[LABELS.containerNumber] ?? '');
  const name = canonicalName(c);
  return name === def ? name.slice(project.length + 1) : name;
}

export function progressName(c: Pick<ContainerSummary, 'Id' | 'Names'>): string {
  return `Container ${canonicalName(c)}`;
}

export function containerNumber(c: ContainerSummary): number | undefined {
  const v = c.Labels?.[LABELS.containerNumber];
  if (v === undefined || !/^[+-]?\d+$/.test(v)) return undefined;
  return Number(v);
}

export function byName(a: Pick<ContainerSummary, 'Id' | 'Names'>, b: Pick<ContainerSummary, 'Id' | 'Names'>): number {
  const x = canonicalName(a);
  const y = canonicalName(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Sorted by name (compose's Containers.sorted: colours and the first container of a service). */
export function sortedByName(cs: ContainerSummary[]): ContainerSummary[] {
  return [...cs].sort(byName);
}

/**
 * compose's getSpecifiedContainer: the service's container with that number (0: the first one,
 * service containers before one-offs, then by number). Errors as compose words them.
 */
export async function getSpecifiedContainer(api: ComposeApi, project: string, oneOff: OneOff, all: boolean, service: string, index = 0): Promise<ContainerSummary> {
  const f = projectFilters(project, oneOff, [service]);
  if (index > 0) f.label.push(`${LABELS.containerNumber}=${index}`);
  const cs = await api.listContainers(f, all);
  if (cs.length === 0) {
    throw new ComposeError(index > 0 ? `service ${JSON.stringify(service)} is not running container #${index}` : `service ${JSON.stringify(service)} is not running`);
  }
  cs.sort((a, b) => {
    const oa = isOneOff(a);
    const ob = isOneOff(b);
    if (oa || ob) return oa === ob ? 0 : oa ? 1 : -1;
    return (containerNumber(a) ?? 0) - (containerNumber(b) ?? 0);
  });
  return cs[0];
}

/** The next container number of a service: one past the highest in use. */
export function nextContainerNumber(cs: ContainerSummary[], warn?: (m: string) => void): number {
  let max = 0;
  for (const c of cs) {
    const s = c.Labels?.[LABELS.containerNumber];
    if (s === undefined) warn?.(`container ${c.Id} is missing ${LABELS.containerNumber} label`);
    const n = containerNumber(c);
    if (n === undefined) {
      warn?.(`container ${c.Id} has invalid ${LABELS.containerNumber} label: ${s ?? ''}`);
      continue;
    }
    if (n > max) max = n;
  }
  return max + 1;
}
