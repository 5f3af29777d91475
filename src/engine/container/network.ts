// A container's networks: what the networking step gets for it, Docker's network and volume
// events as it starts and ends, connect/disconnect, --add-host, legacy links and the files
// (/etc/hosts, /etc/resolv.conf) written for them.
import { readFile } from 'node:fs/promises';
import { conflict, EngineError, invalid, notFound, system } from '../../common/errors.ts';
import { parseLink } from '../../common/links.ts';
import type { HostConfig } from '../../api/types/container.ts';
import type { EndpointConfig, EndpointState } from '../../api/types/network.ts';
import type { Container, ContainerRecord, Core } from './record.ts';

export function netTarget(c: Container) {
  // A record of before per-network bookkeeping is on its mode's network.
  return { id: c.id, name: c.rec.Name.slice(1), config: c.rec.Config, hostConfig: c.rec.HostConfig, networks: c.rec.berth.networks ?? {}, onlyListed: !!c.rec.berth.networks };
}

/**
 * dockerd's network events as a container starts and ends: `connect` (`disconnect`) for every
 * network it joins (leaves), the default bridge and the predefined host and none included,
 * with the network's ID and Docker's attributes (container, name, type).
 */
export function networkEvents(k: Core, c: Container, action: 'connect' | 'disconnect', endpoints: EndpointState[] | undefined): void {
  const mode = c.rec.HostConfig.NetworkMode || 'default';
  if (mode.startsWith('container:')) return; // another container's namespace: not its own endpoint
  const predefined = (name: string, type: string) => ({ id: k.o.predefinedNetworkId?.(name) ?? name, name, type });
  // No endpoints at all: host or none (or a daemon without a bridge); an empty list: every
  // network was disconnected while it ran, so there is nothing left to leave.
  const nets = endpoints
    ? endpoints.map((e) => ({ id: e.networkId, name: e.network, type: 'bridge' }))
    : [mode === 'host' ? predefined('host', 'host') : predefined('none', 'null')];
  for (const n of nets) k.events.emit('network', action, n.id, { container: c.id, name: n.name, type: n.type });
}

/** dockerd's `volume mount` events for a container's volumes as it starts. */
export function volumeMountEvents(k: Core, c: Container): void {
  for (const m of c.rec.Mounts ?? []) {
    if (m.Type !== 'volume' || !m.Name) continue;
    k.events.emit('volume', 'mount', m.Name, { container: c.id, destination: m.Destination, driver: m.Driver ?? 'local', propagation: m.Propagation, 'read/write': String(m.RW) });
  }
}

/** dockerd's `volume unmount` events for a container's volumes as it ends. */
export function volumeUnmountEvents(k: Core, c: Container): void {
  for (const m of c.rec.Mounts ?? []) {
    if (m.Type === 'volume' && m.Name) k.events.emit('volume', 'unmount', m.Name, { container: c.id, driver: m.Driver ?? 'local' });
  }
}

/** `POST /networks/{id}/connect`: recorded, and live when the container runs. */
export async function connectNetwork(k: Core, ref: string, networkRef: string, cfg: EndpointConfig): Promise<void> {
  const c = k.get(ref);
  const net = k.o.networking;
  if (!net?.connect || !net.resolveName) throw invalid('this daemon runs without bridge networking (berthd -b none)');
  // An attachable cluster network this node does not have yet is looked up in the swarm first.
  await net.resolveNetworks?.({ NetworkMode: networkRef }, { [networkRef]: cfg });
  const name = net.resolveName(networkRef);
  return k.locked(c, async () => {
    const mode = c.rec.HostConfig.NetworkMode || 'default';
    if (mode === 'host' || name === 'host') throw new EngineError('Forbidden', 'container cannot be disconnected from host network or connected to host network');
    if (mode.startsWith('container:')) throw new EngineError('Forbidden', 'container sharing network namespace with another container or host cannot be connected to any other network');
    if (mode === 'none' || name === 'none') throw new EngineError('Forbidden', 'container cannot be connected to multiple networks with one of the networks in private (none) mode');
    const have = c.rec.berth.networks ?? {};
    // A record of before per-network bookkeeping is on its mode's network; otherwise only what
    // it lists (a container disconnected from the default bridge may connect to it again).
    if (have[name] || (!c.rec.berth.networks && name === 'bridge' && (mode === 'default' || mode === 'bridge'))) throw new EngineError('Forbidden', `endpoint with name ${c.rec.Name.slice(1)} already exists in network ${name}`);
    const prepared = net.prepare ? net.prepare({ ...c.rec.HostConfig, NetworkMode: name }, { [name]: cfg }, { connect: true })[name] : cfg;
    if (c.running) {
      const ep = await net.connect!(netTarget(c), name, prepared ?? cfg);
      c.rec.berth.endpoints = net.containerEndpoints?.(c.id) ?? [...(c.rec.berth.endpoints ?? []), ep];
    }
    c.rec.berth.networks = { ...have, [name]: prepared ?? cfg };
    await k.save(c);
    // dockerd: a stopped container's connect is only recorded; its event comes at start.
    if (c.running) k.events.emit('network', 'connect', prepared?.NetworkID ?? name, { container: c.id, name, type: 'bridge' });
  });
}

/** `POST /networks/{id}/disconnect`. */
export function disconnectNetwork(k: Core, ref: string, networkRef: string, force = false): Promise<void> {
  const net = k.o.networking;
  if (!net?.disconnect || !net.resolveName) throw invalid('this daemon runs without bridge networking (berthd -b none)');
  let c: Container;
  try { c = k.get(ref); } catch (e) { if (force) return Promise.resolve(); throw e; }
  const name = net.resolveName(networkRef);
  return k.locked(c, async () => {
    const mode = c.rec.HostConfig.NetworkMode || 'default';
    if (mode === 'host' || name === 'host') throw new EngineError('Forbidden', 'container cannot be disconnected from host network or connected to host network');
    const have = { ...(c.rec.berth.networks ?? {}) };
    const key = name in have ? name : (name === 'bridge' && 'default' in have ? 'default' : undefined);
    // dockerd's texts (plain errors there: a 500), naming the network by its name.
    if (!key) throw system(c.running ? `container ${c.id} is not connected to network ${name}` : `container ${c.id} is not connected to the network ${name}`);
    if (c.running) {
      await net.disconnect!(netTarget(c), name);
      c.rec.berth.endpoints = net.containerEndpoints?.(c.id) ?? (c.rec.berth.endpoints ?? []).filter((e) => e.network !== name);
    }
    const id = have[key].NetworkID;
    delete have[key];
    c.rec.berth.networks = have;
    await k.save(c);
    if (c.running) k.events.emit('network', 'disconnect', id ?? name, { container: c.id, name, type: 'bridge' });
  });
}

/** Ids of containers configured for a network (running or not), for `network rm`/prune and inspect. */
export function onNetwork(k: Core, name: string): ContainerRecord[] {
  return [...k.byId.values()].filter((c) => name in (c.rec.berth.networks ?? {})).map((c) => c.rec);
}

/** --add-host entries with `host-gateway` turned into the default bridge's gateway. */
export function extraHostsOf(k: Core, hc: HostConfig): string[] {
  const gw = k.o.networking?.hostGatewayIp?.();
  return (hc.ExtraHosts ?? []).map((e) => {
    const i = e.lastIndexOf(':');
    if (i > 0 && e.slice(i + 1) === 'host-gateway') {
      if (!gw) throw invalid('unable to derive the IP value for host-gateway');
      return `${e.slice(0, i)}:${gw}`;
    }
    return e;
  });
}

/**
 * Legacy links (`--link name:alias`, default bridge): an /etc/hosts line per link and Docker's
 * link variables (ALIAS_NAME, ALIAS_PORT_80_TCP_ADDR, ALIAS_ENV_X, ...). The linked container
 * must be running with an address on the default bridge.
 */
export function links(k: Core, c: Container): { hosts: string[]; env: string[] } {
  const hosts: string[] = [];
  const env: string[] = [];
  const me = c.rec.Name;
  // On a user network, names come from the embedded DNS (Docker keeps links there as aliases only).
  if (!c.rec.berth.endpoints?.[0] || c.rec.berth.endpoints[0].network !== 'bridge') return { hosts, env };
  for (const raw of c.rec.HostConfig.Links ?? []) {
    const [target, alias] = parseLink(raw);
    const t = k.get(target);
    if (!t.running) throw conflict(`Cannot link to a non running container: ${t.rec.Name} AS ${me}/${alias}`);
    const ep = t.rec.berth.endpoints?.find((e) => e.network === 'bridge');
    if (!ep) throw invalid(`Cannot link to ${t.rec.Name}, as it does not belong to the default network`);
    hosts.push(`${ep.ip}\t${[...new Set([alias, t.rec.Config.Hostname, t.rec.Name.slice(1)].filter(Boolean))].join(' ')}`);
    const A = alias.toUpperCase().replace(/[^A-Z0-9]/g, '_');
    env.push(`${A}_NAME=${me}/${alias}`);
    const ports = Object.keys(t.rec.Config.ExposedPorts ?? {}).map((p) => { const [n, proto = 'tcp'] = p.split('/'); return { p: Number(n), proto }; })
      .sort((a, b) => a.p - b.p || a.proto.localeCompare(b.proto));
    if (ports[0]) env.push(`${A}_PORT=${ports[0].proto}://${ep.ip}:${ports[0].p}`);
    for (const { p, proto } of ports) {
      const P = `${A}_PORT_${p}_${proto.toUpperCase()}`;
      env.push(`${P}=${proto}://${ep.ip}:${p}`, `${P}_ADDR=${ep.ip}`, `${P}_PORT=${p}`, `${P}_PROTO=${proto}`);
    }
    for (const kv of t.rec.Config.Env ?? []) {
      const key = kv.split('=')[0];
      if (['HOME', 'HOSTNAME', 'PATH'].includes(key)) continue;
      env.push(`${A}_ENV_${kv}`);
    }
  }
  return { hosts, env };
}

/**
 * `DELETE /containers/<parent>/<alias>?link=1` (docker rm --link): the parent's legacy link
 * named alias goes (daemon rmLink). `ref` is Docker's link name, `parent/alias`; a bare
 * container name is the container's own "default link name", which cannot be removed. The
 * link's environment and /etc/hosts line stay in a running parent until it restarts, as in Docker.
 */
export function removeLink(k: Core, ref: string): Promise<void> {
  const name = ref.replace(/^\/+/, '');
  const slash = name.lastIndexOf('/');
  if (slash < 0) {
    k.get(name);
    throw system('Conflict, cannot remove the default link name of the container');
  }
  const parentId = k.names.get(`/${name.slice(0, slash)}`);
  const alias = name.slice(slash + 1);
  const parent = parentId ? k.byId.get(parentId) : undefined;
  const linkOf = (c: Container) => (c.rec.HostConfig.Links ?? []).findIndex((l) => parseLink(l)[1] === alias);
  if (!parent || linkOf(parent) < 0) throw notFound(`No such container: ${name}`);
  return k.locked(parent, async () => {
    const i = linkOf(parent);
    if (i < 0) return;
    const ls = [...(parent.rec.HostConfig.Links ?? [])];
    ls.splice(i, 1);
    parent.rec.HostConfig.Links = ls.length ? ls : null;
    await k.save(parent);
  });
}

export function hostsFile(extra: string[], self?: string, links: string[] = []): string {
  let s = '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n';
  for (const e of extra) {
    const i = e.indexOf(':');
    if (i > 0) s += `${e.slice(i + 1)}\t${e.slice(0, i)}\n`;
  }
  for (const l of links) s += `${l}\n`;
  if (self) s += `${self}\n`;
  return s;
}

/**
 * The host's resolv.conf without loopback resolvers (unreachable from a container), plus --dns.
 * With the embedded DNS (`embedded`: its addresses) the container asks it, and the --dns
 * servers become what it forwards to (Docker's model); `ndots:0` as Docker writes it.
 */
export async function resolvConf(hc: HostConfig, embedded?: string[]): Promise<string> {
  // A host without /etc/resolv.conf: the container gets only what --dns gives it.
  const host = await readFile('/etc/resolv.conf', 'utf8').catch(() => '');
  if (embedded?.length) {
    const search = hc.DnsSearch?.length ? [`search ${hc.DnsSearch.join(' ')}`] : host.split('\n').filter((l) => /^\s*search\s/.test(l));
    const opts = ['ndots:0', ...(hc.DnsOptions ?? [])];
    return [...embedded.map((d) => `nameserver ${d}`), ...search, `options ${[...new Set(opts)].join(' ')}`].join('\n') + '\n';
  }
  const lines = host.split('\n').filter((l) => l && !/^\s*nameserver\s+(127\.|::1)/.test(l));
  let out = lines.filter((l) => !(hc.Dns?.length && /^\s*nameserver/.test(l)) && !(hc.DnsSearch?.length && /^\s*search/.test(l)) && !(hc.DnsOptions?.length && /^\s*options/.test(l)));
  if (hc.Dns?.length) out = [...out, ...hc.Dns.map((d) => `nameserver ${d}`)];
  if (hc.DnsSearch?.length) out.push(`search ${hc.DnsSearch.join(' ')}`);
  if (hc.DnsOptions?.length) out.push(`options ${hc.DnsOptions.join(' ')}`);
  return out.join('\n') + '\n';
}
