// Finding a project's containers through the Engine API, as compose v2 does (its containers.go
// and filters.go): by label, `com.docker.compose.project=<name>`, the config-hash label present
// (a container some other tool labelled with the project is not compose's), one-offs (`run`)
// included, excluded or alone. Compose is a client: this reads the API's JSON, nothing else.
//
//   const cs = await getContainers(client, 'shop', 'exclude', true, ['web']);
//   const web2 = await getSpecifiedContainer(client, 'shop', 'include', false, 'web', 2);
//   canonicalName(web2)       → 'shop-web-2'
//   nameWithoutProject(web2)  → 'web-2' (a container_name is kept whole)
import type { ApiClient } from '../client/client.ts';
import { ComposeError } from './errors.ts';
import { LABELS, SEPARATOR } from './model.ts';

export interface PortSummary { IP?: string; PrivatePort: number; PublicPort?: number; Type: string }

/** GET /containers/json's item, the fields compose reads. */
export interface ContainerSummary {
  Id: string;
  Names: string[];
  Image: string;
  ImageID?: string;
  Command?: string;
  Created: number;
  Ports?: PortSummary[] | null;
  Labels: Record<string, string> | null;
  State: string;
  Status: string;
  SizeRw?: number;
  SizeRootFs?: number;
  Mounts?: Array<{ Name?: string; Source?: string; Driver?: string }> | null;
  NetworkSettings?: { Networks?: Record<string, unknown> | null } | null;
}

export type OneOff = 'include' | 'exclude' | 'only';

/** compose's getDefaultFilters: the label filters of a project's containers. */
export function projectFilters(project: string, oneOff: OneOff, services: string[] = []): string[] {
  const f = [`${LABELS.project}=${project}`];
  if (services.length === 1) f.push(`${LABELS.service}=${services[0]}`);
  f.push(LABELS.configHash);
  if (oneOff === 'only') f.push(`${LABELS.oneoff}=True`);
  else if (oneOff === 'exclude') f.push(`${LABELS.oneoff}=False`);
  return f;
}

/** Every `label` filter must hold (a key alone: present); checked again on what the engine sent. */
export function matchesLabels(filters: string[], labels: Record<string, string> | null | undefined): boolean {
  const l = labels ?? {};
  return filters.every((f) => {
    const i = f.indexOf('=');
    if (i < 0) return Object.hasOwn(l, f);
    return Object.hasOwn(l, f.slice(0, i)) && l[f.slice(0, i)] === f.slice(i + 1);
  });
}

export async function listContainers(client: ApiClient, labels: string[], all: boolean): Promise<ContainerSummary[]> {
  const list = await client.json<ContainerSummary[]>('GET', '/containers/json', {
    query: { all: all ? 1 : undefined, filters: JSON.stringify({ label: labels }) },
  });
  // An engine that ORs label filters, or ignores a key alone, still gives compose what it means.
  return (list ?? []).filter((c) => matchesLabels(labels, c.Labels));
}

/** compose's getContainers. */
export async function getContainers(client: ApiClient, project: string, oneOff: OneOff, all: boolean, services: string[] = []): Promise<ContainerSummary[]> {
  const cs = await listContainers(client, projectFilters(project, oneOff, services), all);
  return services.length > 1 ? cs.filter(isService(...services)) : cs;
}

export const isService = (...services: string[]) => (c: ContainerSummary): boolean => services.includes(c.Labels?.[LABELS.service] ?? '');
export const isOneOff = (c: ContainerSummary): boolean => c.Labels?.[LABELS.oneoff] === 'True';

export function containerNumber(c: ContainerSummary): number {
  return Number.parseInt(c.Labels?.[LABELS.containerNumber] ?? '', 10) || 0;
}

/**
 * compose's getSpecifiedContainer: the service's container with that number (0: the first one,
 * service containers before one-offs, then by number). Errors as compose words them.
 */
export async function getSpecifiedContainer(client: ApiClient, project: string, oneOff: OneOff, all: boolean, service: string, index = 0): Promise<ContainerSummary> {
  const f = projectFilters(project, oneOff, [service]);
  if (index > 0) f.push(`${LABELS.containerNumber}=${index}`);
  const cs = await listContainers(client, f, all);
  if (cs.length === 0) {
    throw new ComposeError(index > 0 ? `service ${JSON.stringify(service)} is not running container #${index}` : `service ${JSON.stringify(service)} is not running`);
  }
  cs.sort((a, b) => {
    const oa = isOneOff(a);
    const ob = isOneOff(b);
    if (oa || ob) return oa === ob ? 0 : oa ? 1 : -1;
    return containerNumber(a) - containerNumber(b);
  });
  return cs[0];
}

/** compose's getCanonicalContainerName: the name without its '/', not a link alias. */
export function canonicalName(c: Pick<ContainerSummary, 'Id' | 'Names'>): string {
  const names = c.Names ?? [];
  if (names.length === 0) return c.Id.slice(0, 12);
  for (const n of names) if (n.lastIndexOf('/') === 0) return n.slice(1);
  return names[0].replace(/^\//, '');
}

export function defaultContainerName(project: string, service: string, index: string): string {
  return [project, service, index].join(SEPARATOR);
}

/** compose's getContainerNameWithoutProject: `web-1` for `shop-web-1`; a custom name whole. */
export function nameWithoutProject(c: ContainerSummary): string {
  const project = c.Labels?.[LABELS.project] ?? '';
  const name = canonicalName(c);
  if (name !== defaultContainerName(project, c.Labels?.[LABELS.service] ?? '', c.Labels?.[LABELS.containerNumber] ?? '')) return name;
  return name.slice(project.length + 1);
}

export function byName(a: ContainerSummary, b: ContainerSummary): number {
  const x = canonicalName(a);
  const y = canonicalName(b);
  return x < y ? -1 : x > y ? 1 : 0;
}
