// `GET /containers/json` (docker ps) on the engine side, as moby's daemon/list.go: the filters
// validated and applied to the containers' records, newest first, `limit` cut, and what the
// router cannot know without the engine (the image a stale reference gives way to, sizes).
// The router only parses the query and turns each entry into Docker's wire summary.
//
// A worked example: `docker ps -a --filter status=exited --filter label=tier=web --last 2`
// arrives as { all: true, limit: 2, filters: {status: [exited], label: [tier=web]} }; every
// record is sorted by Created (newest first), those not exited or without the label dropped,
// and the two newest left.
import { invalid } from '../common/errors.ts';
import type { Filters } from '../common/filters.ts';
import type { ContainerRecord } from './container/record.ts';
import type { EndpointConfig, EndpointState } from '../api/types/network.ts';

/** The filters `docker ps` knows (moby's acceptedPsFilterTags). */
export const LIST_FILTERS = ['id', 'name', 'label', 'status', 'ancestor', 'exited', 'before', 'since', 'health', 'network', 'volume', 'publish', 'expose', 'is-task', 'isolation'];
const STATUSES = ['created', 'restarting', 'running', 'removing', 'paused', 'exited', 'dead'];
const HEALTH = ['starting', 'healthy', 'unhealthy', 'none'];

export interface ContainerListOptions {
  /** Stopped containers too (a `status` or `exited` filter implies it). */
  all?: boolean;
  /** The newest `limit` only (0 or absent: all). */
  limit?: number;
  /** SizeRw and SizeRootFs for each (costly: walks the upper layers). */
  size?: boolean;
  filters: Filters;
}

/** What filtering needs besides the records themselves. */
export interface ContainerListLookups {
  /** A container by reference (`before`, `since`); throws NotFound when there is none. */
  resolve(ref: string): ContainerRecord;
  /** The ID of the image a reference names now (`ancestor`, the stale-reference check). */
  imageIdOf(ref: string): string | undefined;
}

/** What a listing reads from the engine. */
export interface ContainerListSource extends ContainerListLookups {
  list(): ContainerRecord[];
  sizeRw(id: string): Promise<number>;
  /** Unpacked size of an image (0 when it is gone). */
  imageSize(imageId: string): number;
}

export interface ContainerListEntry {
  container: ContainerRecord;
  /**
   * The list's `Image`: the reference the container was created from, or the image ID once that
   * reference names another image (moby's refreshImage).
   */
  image: string;
  sizeRw?: number;
  sizeRootFs?: number;
}

/**
 * The networks a container is on, as inspect's Networks lists them: the configured ones (the
 * default bridge for `default`) and any endpoint beyond them; none when it joined another
 * container's namespace.
 */
export function attachedNetworks(c: ContainerRecord): { name: string; config: EndpointConfig; endpoint?: EndpointState }[] {
  const mode = c.HostConfig.NetworkMode || 'default';
  if (mode.startsWith('container:')) return [];
  const configured = c.berth.networks ?? { [mode === 'default' ? 'bridge' : mode]: {} };
  const out: { name: string; config: EndpointConfig; endpoint?: EndpointState }[] = [];
  for (const [name, config] of Object.entries(configured)) {
    if (!name) continue;
    out.push({ name, config, endpoint: c.berth.endpoints?.find((e) => e.network === name) });
  }
  for (const e of c.berth.endpoints ?? []) if (!out.some((n) => n.name === e.network)) out.push({ name: e.network, config: {}, endpoint: e });
  return out;
}

/** The published ports (NetworkSettings.Ports): the publishing endpoint's map while running, else empty. */
export function publishedPorts(c: ContainerRecord): Record<string, { HostIp: string; HostPort: string }[] | null> {
  return c.berth.endpoints?.find((e) => e.portMap)?.portMap ?? {};
}

/** Checks the filters' names and values; a bad one is a 400 before anything is read. */
export function validateListFilters(f: Filters): void {
  f.validate(LIST_FILTERS);
  for (const s of f.get('status')) if (!STATUSES.includes(s)) throw invalid(`invalid filter 'status=${s}'`);
  for (const h of f.get('health')) if (!HEALTH.includes(h)) throw invalid(`Unrecognised filter value for health: ${h}`);
}

/** The records a listing shows, newest first, filtered and cut to `limit`. */
export function filterContainers(records: readonly ContainerRecord[], o: ContainerListOptions, l: ContainerListLookups): ContainerRecord[] {
  const f = o.filters;
  validateListFilters(f);
  const all = !!o.all || f.has('status') || f.has('exited');
  const ts = (ref: string) => Date.parse(l.resolve(ref).Created);
  const before = f.get('before')[0];
  const since = f.get('since')[0];
  const beforeT = before ? ts(before) : undefined;
  const sinceT = since ? ts(since) : undefined;
  const ancestors = f.get('ancestor').map((a) => l.imageIdOf(a)).filter((x): x is string => !!x);
  let list = records.slice().sort((a, c) => Date.parse(c.Created) - Date.parse(a.Created)).filter((c) => {
    if (!all && !c.State.Running) return false;
    if (f.has('id') && !f.get('id').some((v) => c.ID.startsWith(v))) return false;
    // moby's rule: the pattern (RE2, see Filters.match) against the name with or without its `/`.
    if (f.has('name') && !f.match('name', c.Name) && !f.match('name', c.Name.slice(1))) return false;
    if (f.has('status') && !f.get('status').includes(c.State.Status)) return false;
    if (f.has('health') && !f.get('health').includes(c.State.Health?.Status ?? 'none')) return false;
    if (f.has('exited') && !(c.State.Status === 'exited' && f.get('exited').map(Number).includes(c.State.ExitCode))) return false;
    if (f.has('label') && !f.matchKVList('label', c.Config.Labels ?? {})) return false;
    if (f.has('ancestor') && !ancestors.includes(c.Image)) return false;
    if (f.has('volume') && !f.get('volume').some((v) => (c.Mounts ?? []).some((m) => m.Name === v || m.Destination === v || m.Source === v))) return false;
    if (f.has('network')) {
      const nets = attachedNetworks(c).map((n) => [n.name, n.endpoint?.networkId ?? n.config.NetworkID ?? '']);
      if (!f.get('network').some((v) => nets.some(([name, id]) => name === v || (!!id && id.startsWith(v))))) return false;
    }
    if (f.has('publish') || f.has('expose')) {
      const pm = publishedPorts(c);
      const match = (v: string, keys: string[]) => { const [p, proto = 'tcp'] = v.split('/'); return keys.includes(`${p}/${proto}`); };
      const published = Object.entries(pm).flatMap(([k, b]) => (b ?? []).map((x) => `${x.HostPort}/${k.split('/')[1]}`));
      if (f.has('publish') && !f.get('publish').some((v) => match(v, published))) return false;
      if (f.has('expose') && !f.get('expose').some((v) => match(v, Object.keys(c.Config.ExposedPorts ?? {})))) return false;
    }
    if (beforeT !== undefined && !(Date.parse(c.Created) < beforeT)) return false;
    if (sinceT !== undefined && !(Date.parse(c.Created) > sinceT)) return false;
    return true;
  });
  if (o.limit !== undefined && o.limit > 0) list = list.slice(0, o.limit);
  return list;
}

/** `GET /containers/json`: the filtered records with their list Image and, when asked, sizes. */
export async function listContainers(src: ContainerListSource, o: ContainerListOptions): Promise<ContainerListEntry[]> {
  const out: ContainerListEntry[] = [];
  for (const c of filterContainers(src.list(), o, src)) {
    const stale = c.Config.Image !== c.Image && src.imageIdOf(c.Config.Image ?? '') !== c.Image;
    const e: ContainerListEntry = { container: c, image: stale ? c.Image : (c.Config.Image ?? '') };
    if (o.size) { e.sizeRw = await src.sizeRw(c.ID); e.sizeRootFs = e.sizeRw + src.imageSize(c.Image); }
    out.push(e);
  }
  return out;
}
