// The project's networks and volumes: found or created on `up`, removed on `down`, as compose
// v2 does it (create.go's ensureNetwork/ensureVolume, down.go's removeNetwork/removeVolume).
//
//   const networks = await ensureNetworks(s, project, w);   // key → engine ID ("Network shop_default  Created")
//   const volumes = await ensureVolumes(s, project, w, false);
//
// A network or volume is compose's when it carries com.docker.compose.project and .network /
// .volume labels. One with the same name that compose did not make is used anyway, with
// compose's warning; one whose .network label names another key is an error. An external one
// must exist (`network x declared as external, but could not be found`).
import { ComposeError } from '../errors.ts';
import { networkHash, volumeHash } from '../hash.ts';
import { LABELS, type Network, type Project, type Volume } from '../model.ts';
import { COMPOSE_VERSION } from '../version.ts';
import { isConflict, isNotFound, type NetworkSummary, type VolumeSummary } from './api.ts';
import { projectFilter } from './containers.ts';
import * as P from './progress.ts';
import type { Session } from './session.ts';

// -- networks -----------------------------------------------------------------------------------

export function networkLabels(project: Pick<Project, 'name'>, key: string, n: Network): Record<string, string> {
  return {
    ...(n.labels ?? {}),
    [LABELS.network]: key,
    [LABELS.project]: project.name,
    [LABELS.version]: COMPOSE_VERSION,
    [LABELS.configHash]: networkHash(n),
  };
}

/** POST /networks/create's body for a project network (compose's NetworkCreate options). */
export function networkCreateBody(project: Pick<Project, 'name'>, key: string, n: Network): Record<string, unknown> {
  const body: Record<string, unknown> = {
    Name: n.name,
    Labels: networkLabels(project, key, n),
    Driver: n.driver ?? '',
    Options: n.driverOpts ?? {},
    Internal: Boolean(n.internal),
    Attachable: Boolean(n.attachable),
  };
  if (n.enableIpv6 !== undefined) body.EnableIPv6 = n.enableIpv6;
  if (n.enableIpv4 !== undefined) body.EnableIPv4 = n.enableIpv4;
  if (n.ipam && (n.ipam.driver || n.ipam.config?.length)) {
    const ipam: Record<string, unknown> = {};
    if (n.ipam.driver) ipam.Driver = n.ipam.driver;
    if (n.ipam.config?.length) {
      ipam.Config = n.ipam.config.map((c) => {
        const o: Record<string, unknown> = {};
        if (c.subnet) o.Subnet = c.subnet;
        if (c.ipRange) o.IPRange = c.ipRange;
        if (c.gateway) o.Gateway = c.gateway;
        if (c.auxAddresses) o.AuxiliaryAddresses = c.auxAddresses;
        return o;
      });
    }
    body.IPAM = ipam;
  }
  return body;
}

async function resolveExternalNetwork(s: Session, n: Network): Promise<string> {
  let list: NetworkSummary[] = (await s.api.listNetworks({ name: [n.name] })).filter((x) => x.Name === n.name || x.Id === n.name);
  if (list.length === 0) {
    try {
      const x = await s.api.inspectNetwork(n.name);
      if (x.Name === n.name || x.Id === n.name) list = [x];
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }
  if (list.length === 1) return list[0].Id;
  if (list.length === 0) throw new ComposeError(`network ${n.name} declared as external, but could not be found`);
  throw new ComposeError(`multiple networks with name ${JSON.stringify(n.name)} were found. Use network ID as \`name\` to avoid ambiguity`);
}

async function resolveOrCreateNetwork(s: Session, project: Project, key: string, n: Network, w: P.ProgressWriter, onDiverged: (key: string, n: Network) => Promise<string[]>): Promise<string> {
  let reconnect: string[] = [];
  let found: NetworkSummary | undefined;
  try {
    found = await s.api.inspectNetwork(n.name);
  } catch (e) {
    if (!isNotFound(e) && !(e instanceof Error && /ambiguous|multiple/i.test(e.message))) throw e;
  }
  // Inspect matches ID prefixes too: only an exact name (or ID) is this network.
  if (found && (found.Name === n.name || found.Id === n.name)) {
    const labels = found.Labels ?? {};
    const p = labels[LABELS.project];
    if (p === undefined) s.warn(`a network with name ${n.name} exists but was not created by compose.\nSet \`external: true\` to use an existing network`);
    else if (p !== project.name) s.warn(`a network with name ${n.name} exists but was not created for project ${JSON.stringify(project.name)}.\nSet \`external: true\` to use an existing network`);
    if ((labels[LABELS.network] ?? '') !== key) {
      throw new ComposeError(`network ${n.name} was found but has incorrect label ${LABELS.network} set to ${JSON.stringify(labels[LABELS.network] ?? '')} (expected: ${JSON.stringify(key)})`);
    }
    const hash = labels[LABELS.configHash];
    if (!hash || hash === networkHash(n)) return found.Id;
    // The definition changed: take the network down (its containers stopped and disconnected,
    // they are recreated) and make it again.
    reconnect = await onDiverged(key, n);
  }
  const same = (await s.api.listNetworks({ name: [n.name] })).filter((x) => x.Name === n.name);
  const ours = same.find((x) => x.Labels?.[LABELS.project] === project.name && x.Labels?.[LABELS.network] === key);
  if (ours) return ours.Id;
  if (same.length > 0) {
    s.warn(`a network with name ${n.name} exists but was not created by compose.\nSet \`external: true\` to use an existing network`);
    return same[0].Id;
  }
  const event = `Network ${n.name}`;
  w.event(P.creating(event));
  let id: string;
  try {
    ({ Id: id } = await s.api.createNetwork(networkCreateBody(project, key, n)));
  } catch (e) {
    w.event(P.errorEvent(event));
    throw new ComposeError(`failed to create network ${n.name}: ${e instanceof Error && isApi(e) ? `Error response from daemon: ${e.message}` : (e as Error).message}`);
  }
  w.event(P.created(event));
  for (const c of reconnect) await s.api.connectNetwork(n.name, c, undefined);
  return id;
}

const isApi = (e: Error) => 'status' in e;

/** compose's ensureNetworks: key → engine network ID (or 'swarm'). */
export async function ensureNetworks(s: Session, project: Project, w: P.ProgressWriter, onDiverged: (key: string, n: Network) => Promise<string[]>): Promise<Record<string, string>> {
  const ids: Record<string, string> = {};
  await Promise.all(Object.keys(project.networks).sort().map(async (key) => {
    const n = project.networks[key];
    if (n.external) { ids[key] = await resolveExternalNetwork(s, n); return; }
    try {
      ids[key] = await resolveOrCreateNetwork(s, project, key, n, w, onDiverged);
    } catch (e) {
      // Another compose run may have created it just now: look once more.
      if (!isConflict(e) && !(e instanceof ComposeError && /already exists/.test(e.message))) throw e;
      ids[key] = await resolveOrCreateNetwork(s, project, key, n, w, onDiverged);
    }
  }));
  return ids;
}

/** down: the project's network `key`, if compose made it and nothing uses it any more. */
export async function removeNetwork(s: Session, project: string, key: string, name: string, w: P.ProgressWriter): Promise<void> {
  const nets = await s.api.listNetworks({ label: [projectFilter(project), `${LABELS.network}=${key}`] });
  if (nets.length === 0) return;
  const event = `Network ${name}`;
  w.event(P.removing(event));
  let found = 0;
  for (const net of nets) {
    if (net.Name !== name) continue;
    let inspected: NetworkSummary;
    try {
      inspected = await s.api.inspectNetwork(net.Id);
    } catch (e) {
      if (isNotFound(e)) { w.event(P.newEvent(event, 'warning', 'No resource found to remove')); return; }
      throw e;
    }
    if (inspected.Containers && Object.keys(inspected.Containers).length > 0) {
      w.event(P.newEvent(event, 'warning', 'Resource is still in use'));
      found++;
      continue;
    }
    try {
      await s.api.removeNetwork(net.Id);
    } catch (e) {
      if (isNotFound(e)) continue;
      w.event(P.errorEvent(event));
      throw new ComposeError(`failed to remove network ${name}: Error response from daemon: ${(e as Error).message}`);
    }
    w.event(P.removed(event));
    found++;
  }
  if (found === 0) w.event(P.newEvent(event, 'warning', 'No resource found to remove'));
}

// -- volumes ------------------------------------------------------------------------------------

export function volumeLabels(project: Pick<Project, 'name'>, key: string, v: Volume): Record<string, string> {
  return {
    ...(v.labels ?? {}),
    [LABELS.volume]: key,
    [LABELS.project]: project.name,
    [LABELS.version]: COMPOSE_VERSION,
    [LABELS.configHash]: volumeHash(v),
  };
}

async function createVolume(s: Session, project: Project, key: string, v: Volume, w: P.ProgressWriter): Promise<void> {
  const event = `Volume ${v.name}`;
  w.event(P.creating(event));
  try {
    await s.api.createVolume({ Name: v.name, Driver: v.driver ?? '', DriverOpts: v.driverOpts ?? {}, Labels: volumeLabels(project, key, v) });
  } catch (e) {
    w.event(P.errorEvent(event));
    throw e;
  }
  w.event(P.created(event));
}

/**
 * compose's ensureVolume: an external volume must exist (`external volume "x" not found`); a
 * volume that exists is used (with a warning when compose did not make it for this project);
 * one whose definition changed is re-created only when the user agrees (data is lost).
 */
export async function ensureVolumes(s: Session, project: Project, w: P.ProgressWriter, assumeYes: boolean, onDiverged: (key: string, v: Volume) => Promise<void>): Promise<Record<string, string>> {
  const ids: Record<string, string> = {};
  await Promise.all(Object.keys(project.volumes).sort().map(async (key) => {
    const v = project.volumes[key];
    let inspected: VolumeSummary;
    try {
      inspected = await s.api.inspectVolume(v.name);
    } catch (e) {
      if (!isNotFound(e)) throw e;
      if (v.external) throw new ComposeError(`external volume ${JSON.stringify(v.name)} not found`);
      await createVolume(s, project, key, v, w);
      ids[key] = v.name;
      return;
    }
    ids[key] = v.name;
    if (v.external) return;
    const labels = inspected.Labels ?? {};
    const p = labels[LABELS.project];
    if (p === undefined) s.warn(`volume ${JSON.stringify(v.name)} already exists but was not created by Docker Compose. Use \`external: true\` to use an existing volume`);
    else if (p !== project.name) s.warn(`volume ${JSON.stringify(v.name)} already exists but was created for project ${JSON.stringify(p)} (expected ${JSON.stringify(project.name)}). Use \`external: true\` to use an existing volume`);
    const actual = labels[LABELS.configHash];
    if (actual !== undefined && actual !== volumeHash(v)) {
      const ok = assumeYes || await s.confirm(`Volume ${JSON.stringify(v.name)} exists but doesn't match configuration in compose file. Recreate (data will be lost)?`, false);
      if (ok) {
        await onDiverged(key, v);
        await createVolume(s, project, key, v, w);
      }
    }
    ids[key] = inspected.Name;
  }));
  return ids;
}

/** down -v: a project volume, unless it is gone already or still in use. */
export async function removeVolume(s: Session, name: string, w: P.ProgressWriter): Promise<void> {
  const event = `Volume ${name}`;
  try {
    await s.api.inspectVolume(name);
  } catch (e) {
    if (isNotFound(e)) return;
    throw e;
  }
  w.event(P.removing(event));
  try {
    await s.api.removeVolume(name, true);
  } catch (e) {
    if (isConflict(e)) { w.event(P.newEvent(event, 'warning', 'Resource is still in use')); return; }
    if (isNotFound(e)) { w.event(P.newEvent(event, 'done', 'Warning: No resource found to remove')); return; }
    throw e;
  }
  w.event(P.removed(event));
}

/** The project's networks and volumes as the engine has them (for commands run without a file). */
export async function actualResources(s: Session, project: string): Promise<{ networks: Record<string, Network>; volumes: Record<string, Volume> }> {
  const [nets, vols] = await Promise.all([
    s.api.listNetworks({ label: [projectFilter(project)] }),
    s.api.listVolumes({ label: [projectFilter(project)] }),
  ]);
  const networks: Record<string, Network> = {};
  for (const n of nets) networks[n.Labels?.[LABELS.network] ?? ''] = { name: n.Name, driver: n.Driver, labels: n.Labels ?? undefined };
  const volumes: Record<string, Volume> = {};
  for (const v of vols) volumes[v.Labels?.[LABELS.volume] ?? ''] = { name: v.Name, driver: v.Driver, labels: v.Labels ?? undefined };
  return { networks, volumes };
}
