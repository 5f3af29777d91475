// The wire form of `GET /containers/{id}/json` and of the `GET /containers/json` items, as
// dockerd 27 (API 1.47) sends them: moby's Go structs marshalled in full (ContainerJSON,
// HostConfig, Config, ContainerState, NetworkSettings, EndpointSettings, types.Container), so
// every field is there with its zero value unless Go's omitempty leaves it out, in Go's order.
//
// berth's record keeps HostConfig as the client sent it; dockerd writes its defaults into the
// record at create (RestartPolicy "no", ShmSize, IpcMode, CgroupnsMode, MaskedPaths and
// ReadonlyPaths, OomKillDisable false, MemorySwap twice Memory, "label=disable" next to host
// namespaces, `container:<id>` for a joined namespace, NetworkMode "bridge" for "default"). Here
// those are filled in from the engine's HostConfigDefaults (the values berth's runtime applies),
// so clients read the same values from both daemons.
//
// Version gates (moby's ContainerInspect and docs/api/version-history.md): before API 1.45 the
// `Aliases` of an endpoint on a user-defined network also hold the container's short ID and its
// hostname. Every other field is the same at every version: Config.MacAddress (deprecated in 1.44)
// is still set from the primary endpoint's configured address, DNSNames (1.44) is always there.
import { ZERO_TIME, type ContainerRecord, type HostConfigDefaults } from '../../../engine/container/service.ts';
import { parseLink } from '../../../common/links.ts';
import { attachedNetworks, publishedPorts } from '../../../engine/container-list.ts';
import type { EndpointConfig, EndpointState } from '../../types/network.ts';
import type { HostConfig } from '../../types/container.ts';
import { wireContainerConfig } from '../../types/container-config.ts';
import { goEmpty, goTime } from '../../types/go-json.ts';
import { cmpVersion } from '../../version.ts';

/** Another container as a joined namespace or a link names it: its ID and name now (undefined: gone). */
export type ContainerLookup = (ref: string) => { id: string; name: string } | undefined;

export interface InspectExtras {
  defaults: HostConfigDefaults;
  apiVersion: string;
  lookup: ContainerLookup;
  /** The container's exec sessions that have not finished. */
  execIds: string[];
  graphDriver: Record<string, string>;
  /** `size=1`: the rw layer and the whole root filesystem. */
  size?: { rw: number; rootFs: number };
}

// ------------------------------------------------------------------ HostConfig

type Presence = 'always' | 'omitempty' | 'pointer';

/**
 * container.HostConfig's fields in Go's order (Resources embedded after Isolation), each with
 * its zero value and how Go marshals it: always; omitempty (left out when empty); pointer
 * (omitempty on a pointer: left out only when nil). KernelMemory is not among them: moby's
 * create route zeroes it from API 1.42 on (omitempty then), and berth never applies it.
 */
const HOST_CONFIG_FIELDS: [string, unknown, Presence][] = [
  ['Binds', null, 'always'], ['ContainerIDFile', '', 'always'], ['LogConfig', null, 'always'], ['NetworkMode', '', 'always'],
  ['PortBindings', null, 'always'], ['RestartPolicy', null, 'always'], ['AutoRemove', false, 'always'], ['VolumeDriver', '', 'always'],
  ['VolumesFrom', null, 'always'], ['ConsoleSize', [0, 0], 'always'], ['Annotations', undefined, 'omitempty'],
  ['CapAdd', null, 'always'], ['CapDrop', null, 'always'], ['CgroupnsMode', '', 'always'], ['Dns', null, 'always'],
  ['DnsOptions', null, 'always'], ['DnsSearch', null, 'always'], ['ExtraHosts', null, 'always'], ['GroupAdd', null, 'always'],
  ['IpcMode', '', 'always'], ['Cgroup', '', 'always'], ['Links', null, 'always'], ['OomScoreAdj', 0, 'always'],
  ['PidMode', '', 'always'], ['Privileged', false, 'always'], ['PublishAllPorts', false, 'always'], ['ReadonlyRootfs', false, 'always'],
  ['SecurityOpt', null, 'always'], ['StorageOpt', undefined, 'omitempty'], ['Tmpfs', undefined, 'omitempty'], ['UTSMode', '', 'always'],
  ['UsernsMode', '', 'always'], ['ShmSize', 0, 'always'], ['Sysctls', undefined, 'omitempty'], ['Runtime', undefined, 'omitempty'],
  ['Isolation', '', 'always'],
  // Resources
  ['CpuShares', 0, 'always'], ['Memory', 0, 'always'], ['NanoCpus', 0, 'always'], ['CgroupParent', '', 'always'],
  ['BlkioWeight', 0, 'always'], ['BlkioWeightDevice', null, 'always'], ['BlkioDeviceReadBps', null, 'always'],
  ['BlkioDeviceWriteBps', null, 'always'], ['BlkioDeviceReadIOps', null, 'always'], ['BlkioDeviceWriteIOps', null, 'always'],
  ['CpuPeriod', 0, 'always'], ['CpuQuota', 0, 'always'], ['CpuRealtimePeriod', 0, 'always'], ['CpuRealtimeRuntime', 0, 'always'],
  ['CpusetCpus', '', 'always'], ['CpusetMems', '', 'always'], ['Devices', null, 'always'], ['DeviceCgroupRules', null, 'always'],
  ['DeviceRequests', null, 'always'], ['KernelMemoryTCP', undefined, 'omitempty'],
  ['MemoryReservation', 0, 'always'], ['MemorySwap', 0, 'always'], ['MemorySwappiness', null, 'always'], ['OomKillDisable', null, 'always'],
  ['PidsLimit', null, 'always'], ['Ulimits', null, 'always'], ['CpuCount', 0, 'always'], ['CpuPercent', 0, 'always'],
  ['IOMaximumIOps', 0, 'always'], ['IOMaximumBandwidth', 0, 'always'],
  // after Resources
  ['Mounts', undefined, 'omitempty'], ['MaskedPaths', null, 'always'], ['ReadonlyPaths', null, 'always'], ['Init', undefined, 'pointer'],
];

/** A namespace mode joining another container, with that container's full ID (moby's adaptSharedNamespaceContainer). */
function joinedMode(mode: string | undefined, lookup: ContainerLookup): string {
  const m = /^container:(.+)$/.exec(mode ?? '');
  if (!m) return mode ?? '';
  const other = lookup(m[1]);
  return other ? `container:${other.id}` : mode!;
}

/** "default" names the platform's default network; moby's create route writes "bridge". */
function networkMode(mode: string | undefined, lookup: ContainerLookup): string {
  return !mode || mode === 'default' ? 'bridge' : joinedMode(mode, lookup);
}

/**
 * Legacy links as moby's link graph shows them: `/<linked container>:/<this container>/<alias>`,
 * for links to containers that still exist; none when the container's network is a user network
 * (its links are EndpointSettings.Links there and never become legacy links).
 */
function linksJson(c: ContainerRecord, lookup: ContainerLookup): string[] | null {
  if (isUserDefined(c.HostConfig.NetworkMode || 'default')) return null;
  const out: string[] = [];
  for (const raw of c.HostConfig.Links ?? []) {
    let target: string;
    let alias: string;
    try { [target, alias] = parseLink(raw); } catch { continue; }
    const child = lookup(target);
    if (child) out.push(`${child.name}:${c.Name}/${alias.split('/').pop()}`);
  }
  return out.length ? out : null;
}

/**
 * moby's generateSecurityOpt: sharing the host's IPC or PID namespace, or running privileged,
 * turns SELinux labelling off ("label=disable"), unless the client gave a label option itself.
 */
function securityOptJson(hc: HostConfig, ipcMode: string, pidMode: string): string[] | null {
  const given = hc.SecurityOpt ?? null;
  if (given?.some((o) => o.split('=')[0] === 'label')) return given;
  if (ipcMode === 'host' || pidMode === 'host' || hc.Privileged) return [...(given ?? []), 'label=disable'];
  return given;
}

/** The container's HostConfig as dockerd keeps and marshals it (see the header). */
export function hostConfigJson(c: ContainerRecord, d: HostConfigDefaults, lookup: ContainerLookup): Record<string, unknown> {
  const hc = c.HostConfig;
  const ipcMode = joinedMode(hc.IpcMode, lookup) || d.ipcMode;
  const pidMode = joinedMode(hc.PidMode, lookup);
  const memory = hc.Memory ?? 0;
  const logConfig = hc.LogConfig?.Config;
  const consoleSize = hc.ConsoleSize;
  const effective: Record<string, unknown> = {
    ...hc,
    LogConfig: { Type: hc.LogConfig?.Type || 'json-file', Config: logConfig && Object.keys(logConfig).length ? logConfig : {} },
    NetworkMode: networkMode(hc.NetworkMode, lookup),
    RestartPolicy: { Name: hc.RestartPolicy?.Name || 'no', MaximumRetryCount: hc.RestartPolicy?.MaximumRetryCount ?? 0 },
    // Go's [2]uint: never null.
    ConsoleSize: Array.isArray(consoleSize) && consoleSize.length === 2 ? consoleSize : [0, 0],
    CgroupnsMode: hc.CgroupnsMode || d.cgroupnsMode,
    IpcMode: ipcMode,
    PidMode: pidMode,
    Links: linksJson(c, lookup),
    SecurityOpt: securityOptJson(hc, ipcMode, pidMode),
    ShmSize: hc.ShmSize || d.shmSize,
    // moby's adaptContainerSettings: swap defaults to twice the memory limit (what the runtime sets).
    MemorySwap: memory > 0 && !hc.MemorySwap ? memory * 2 : (hc.MemorySwap ?? 0),
    OomKillDisable: hc.OomKillDisable ?? false,
    // The create route: 0 or less means no limit, kept as nil.
    PidsLimit: (hc.PidsLimit ?? 0) > 0 ? hc.PidsLimit : null,
    MaskedPaths: hc.MaskedPaths ?? (hc.Privileged ? null : [...d.maskedPaths]),
    ReadonlyPaths: hc.ReadonlyPaths ?? (hc.Privileged ? null : [...d.readonlyPaths]),
  };
  const out: Record<string, unknown> = {};
  for (const [k, zero, presence] of HOST_CONFIG_FIELDS) {
    const v = effective[k];
    if (presence === 'always') out[k] = v === undefined ? zero : v;
    else if (!goEmpty(v, presence === 'pointer')) out[k] = v;
  }
  return out;
}

// ------------------------------------------------------------------ Config, State

/**
 * The container's Config (container.Config in full). moby migrates the primary endpoint's
 * configured MAC address back into the deprecated Config.MacAddress for older clients.
 */
export function configJson(c: ContainerRecord): Record<string, unknown> {
  const config = { ...c.Config };
  if (!config.MacAddress) {
    const mode = c.HostConfig.NetworkMode || 'default';
    if (!['host', 'none'].includes(mode) && !mode.startsWith('container:')) {
      const mac = c.berth.networks?.[mode === 'default' ? 'bridge' : mode]?.MacAddress;
      if (mac) config.MacAddress = mac;
    }
  }
  return wireContainerConfig(config, { keepUnknown: false });
}

/** types.ContainerState: `Health` only once the container has a health status. */
export function stateJson(c: ContainerRecord): Record<string, unknown> {
  const s = c.State;
  const out: Record<string, unknown> = {
    Status: s.Status, Running: s.Running, Paused: s.Paused, Restarting: s.Restarting, OOMKilled: s.OOMKilled, Dead: s.Dead,
    Pid: s.Pid, ExitCode: s.ExitCode, Error: s.Error, StartedAt: goTime(s.StartedAt || ZERO_TIME), FinishedAt: goTime(s.FinishedAt || ZERO_TIME),
  };
  if (s.Health) {
    out.Health = {
      Status: s.Health.Status,
      FailingStreak: s.Health.FailingStreak ?? 0,
      Log: (s.Health.Log ?? []).map((l) => ({ Start: goTime(l.Start), End: goTime(l.End), ExitCode: l.ExitCode, Output: l.Output })),
    };
  }
  return out;
}

// ------------------------------------------------------------------ networks

/** EndpointIPAMConfig: every field omitempty. */
function ipamConfigJson(cfg: EndpointConfig['IPAMConfig'], summary: boolean): Record<string, unknown> | null {
  if (!cfg) return null;
  const out: Record<string, unknown> = {};
  if (cfg.IPv4Address) out.IPv4Address = cfg.IPv4Address;
  if (cfg.IPv6Address) out.IPv6Address = cfg.IPv6Address;
  // The list's summary copies the two addresses only (moby's container view).
  if (!summary && cfg.LinkLocalIPs?.length) out.LinkLocalIPs = cfg.LinkLocalIPs;
  return out;
}

const isUserDefined = (network: string) => !['bridge', 'host', 'none', 'default'].includes(network) && !network.startsWith('container:');

/**
 * NetworkSettings.Networks: one EndpointSettings per configured network, with its operational
 * data (address, gateway, endpoint, MAC, DNS names) while the container runs. Once stopped, moby's
 * cleanOperationalData empties those; a configured MAC shows until the first start. `none` and
 * `host` are entries of their own; `container:<id>` has none. `summary`: the list's copy, which
 * leaves out Links, Aliases, DriverOpts, DNSNames (nil there).
 */
export function networksJson(c: ContainerRecord, o: { apiVersion?: string; summary?: boolean } = {}): Record<string, Record<string, unknown>> {
  const legacyAliases = !o.summary && !!o.apiVersion && cmpVersion(o.apiVersion, '1.45') < 0;
  const entry = (name: string, cfg: EndpointConfig, e?: EndpointState): Record<string, unknown> => {
    let aliases: string[] | null = cfg.Aliases ?? null;
    // API < 1.45: the short ID and the hostname were aliases too (moby's ContainerInspect).
    if (legacyAliases && isUserDefined(name)) aliases = [...new Set([...(aliases ?? []), c.ID.slice(0, 12), c.Config.Hostname ?? ''])];
    return {
      IPAMConfig: ipamConfigJson(cfg.IPAMConfig, !!o.summary),
      Links: o.summary ? null : (cfg.Links ?? null),
      Aliases: o.summary ? null : aliases,
      MacAddress: e?.mac ?? (c.berth.hasBeenStarted ? '' : (cfg.MacAddress ?? '')),
      DriverOpts: o.summary ? null : (cfg.DriverOpts ?? null),
      NetworkID: e?.networkId ?? cfg.NetworkID ?? '',
      EndpointID: e?.endpointId ?? '',
      Gateway: e?.gateway ?? '',
      IPAddress: e?.ip ?? '',
      IPPrefixLen: e?.prefixLen ?? 0,
      IPv6Gateway: e?.gateway6 ?? '',
      GlobalIPv6Address: e?.ip6 ?? '',
      GlobalIPv6PrefixLen: e?.prefixLen6 ?? 0,
      DNSNames: o.summary ? null : (e?.dnsNames?.length ? e.dnsNames : null),
    };
  };
  const out: Record<string, Record<string, unknown>> = {};
  for (const n of attachedNetworks(c)) out[n.name] = entry(n.name, n.config, n.endpoint);
  return out;
}

/** NetworkSettings.Ports: the publishing endpoint's map while running, else empty (never null). */
export const portMap = publishedPorts;

/**
 * types.NetworkSettings: NetworkSettingsBase, then the deprecated DefaultNetworkSettings (the
 * default bridge's endpoint only, as moby's getDefaultNetworkSettings), then Networks. berth
 * keeps no sandbox of its own, so SandboxID and SandboxKey stay empty.
 */
export function networkSettingsJson(c: ContainerRecord, apiVersion: string): Record<string, unknown> {
  const networks = networksJson(c, { apiVersion });
  const bridge = networks.bridge;
  const dflt = (k: string, zero: unknown) => (bridge ? bridge[k] : zero);
  return {
    Bridge: '', SandboxID: '', SandboxKey: '', Ports: portMap(c),
    HairpinMode: false, LinkLocalIPv6Address: '', LinkLocalIPv6PrefixLen: 0, SecondaryIPAddresses: null, SecondaryIPv6Addresses: null,
    EndpointID: dflt('EndpointID', ''), Gateway: dflt('Gateway', ''), GlobalIPv6Address: dflt('GlobalIPv6Address', ''),
    GlobalIPv6PrefixLen: dflt('GlobalIPv6PrefixLen', 0), IPAddress: dflt('IPAddress', ''), IPPrefixLen: dflt('IPPrefixLen', 0),
    IPv6Gateway: dflt('IPv6Gateway', ''), MacAddress: dflt('MacAddress', ''),
    Networks: networks,
  };
}

// ------------------------------------------------------------------ the whole

/** types.MountPoint (berth's own bookkeeping fields dropped; Type, Name, Driver omitempty). */
export function mountsJson(c: ContainerRecord): Record<string, unknown>[] {
  return (c.Mounts ?? []).map((m) => ({
    Type: m.Type,
    ...(m.Name ? { Name: m.Name } : {}),
    Source: m.Source,
    Destination: m.Destination,
    ...(m.Type === 'volume' ? { Driver: m.Driver ?? 'local' } : {}),
    Mode: m.Mode,
    RW: m.RW,
    Propagation: m.Propagation,
  }));
}

/** An `apparmor=` profile applies only where AppArmor is on (moby leaves the field empty otherwise). */
function appArmorProfile(hc: HostConfig, d: HostConfigDefaults): string {
  if (!d.apparmor) return '';
  for (const o of hc.SecurityOpt ?? []) {
    const m = /^apparmor[=:](.*)$/.exec(o);
    if (m) return m[1];
  }
  return hc.Privileged ? 'unconfined' : '';
}

/** `GET /containers/{id}/json` (types.ContainerJSON). */
export function containerInspectJson(c: ContainerRecord, x: InspectExtras): Record<string, unknown> {
  const out: Record<string, unknown> = {
    Id: c.ID,
    Created: goTime(c.Created),
    Path: c.Path,
    Args: c.Args ?? [],
    State: stateJson(c),
    Image: c.Image,
    ResolvConfPath: c.ResolvConfPath,
    HostnamePath: c.HostnamePath,
    HostsPath: c.HostsPath,
    LogPath: c.LogPath,
    Name: c.Name,
    RestartCount: c.RestartCount,
    Driver: c.Driver,
    Platform: c.Platform,
    MountLabel: '',
    ProcessLabel: '',
    AppArmorProfile: appArmorProfile(c.HostConfig, x.defaults),
    ExecIDs: x.execIds.length ? x.execIds : null,
    HostConfig: hostConfigJson(c, x.defaults, x.lookup),
    GraphDriver: { Data: x.graphDriver, Name: c.Driver },
  };
  if (x.size) { out.SizeRw = x.size.rw; out.SizeRootFs = x.size.rootFs; }
  out.Mounts = mountsJson(c);
  out.Config = configJson(c);
  out.NetworkSettings = networkSettingsJson(c, x.apiVersion);
  return out;
}

// ------------------------------------------------------------------ the list

/** ps's `Ports` (types.Port: IP and PublicPort omitempty) from NetworkSettings.Ports. */
function portSummaries(ports: Record<string, { HostIp: string; HostPort: string }[] | null>): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const [k, list] of Object.entries(ports)) {
    const [port, proto = 'tcp'] = k.split('/');
    if (!list || list.length === 0) { out.push({ PrivatePort: Number(port), Type: proto }); continue; }
    for (const b of list) out.push({ ...(b.HostIp ? { IP: b.HostIp } : {}), PrivatePort: Number(port), ...(Number(b.HostPort) ? { PublicPort: Number(b.HostPort) } : {}), Type: proto });
  }
  return out;
}

/** moby's container view: the path, then the arguments, those with a space in single quotes. */
export function commandText(c: ContainerRecord): string {
  if (!c.Args?.length) return c.Path;
  return `${c.Path} ${c.Args.map((a) => (a.includes(' ') ? `'${a}'` : a)).join(' ')}`;
}

/**
 * The names moby's link graph gives linked containers: `/<parent>/<alias>` for each legacy link
 * to a container, by that container's ID. Links are registered on the default bridge only
 * (moby's registerLinks skips user-defined networks).
 */
export function linkNames(all: ContainerRecord[], lookup: ContainerLookup): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const p of all) {
    const mode = p.HostConfig.NetworkMode || 'default';
    if (mode !== 'default' && mode !== 'bridge') continue;
    for (const raw of p.HostConfig.Links ?? []) {
      let target: string;
      let alias: string;
      try { [target, alias] = parseLink(raw); } catch { continue; }
      const child = lookup(target);
      if (child) out.set(child.id, [...(out.get(child.id) ?? []), `${p.Name}/${alias.split('/').pop()}`]);
    }
  }
  return out;
}

/**
 * A `GET /containers/json` item (types.Container); `status` is the human Status column, `links`
 * the names legacy links give it. Names are the name index's entries for the container, in order.
 */
export function containerSummaryJson(c: ContainerRecord, status: string, lookup: ContainerLookup, links: string[] = []): Record<string, unknown> {
  const annotations = c.HostConfig.Annotations as Record<string, string> | undefined;
  return {
    Id: c.ID,
    Names: [c.Name, ...links].sort(),
    Image: c.Config.Image ?? '',
    ImageID: c.Image,
    Command: commandText(c),
    Created: Math.floor(Date.parse(c.Created) / 1000),
    Ports: portSummaries(portMap(c)),
    Labels: c.Config.Labels ?? {},
    State: c.State.Status,
    Status: status,
    HostConfig: {
      NetworkMode: networkMode(c.HostConfig.NetworkMode, lookup),
      ...(annotations && Object.keys(annotations).length ? { Annotations: annotations } : {}),
    },
    NetworkSettings: { Networks: networksJson(c, { summary: true }) },
    Mounts: mountsJson(c),
  };
}
