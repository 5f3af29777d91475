// What each node must know of the cluster networks it has a part in (NodeNetworkView, sent on its
// dispatcher session): computed from the cluster's objects as the leader's allocator left them
// (Task.NetworksAttachments, Service.Endpoint, the nodes' ingress load-balancer Attachments). This
// replaces what Docker spreads by gossip (libnetwork's networkdb): the overlay peers, the service
// names and VIPs, and the routing mesh's ports. Pure, so it is tested as a table.
//
// Worked example: web (s1, VIP 10.0.1.2 on appnet) with task t1 on node A (192.168.5.1, running)
// and t2 on node B (192.168.5.2, starting); node B's view of appnet:
//   endpoints [{ ip: 10.0.1.3, vtep: 192.168.5.1, names: [web.1.t1], service: s1, running: true },
//              { ip: 10.0.1.4, vtep: 192.168.5.2, names: [web.2.t2], service: s1, running: false }]
//   services  [{ id: s1, name: web, mode: vip, vip: 10.0.1.2, backends: [10.0.1.3], ... }]
// Node A gets no view of appnet unless one of its own tasks is on it; every node with an ingress
// load-balancer address gets ingress's (the routing mesh answers on every node).
import type { NetworkAttachment, Node, NodeNetworkView, Service, ServiceEndpoint, Task, TaskState, ClusterNetwork } from '../../api/types/swarm.ts';
import { attachmentsOf, taskContainerName } from '../agent/spec.ts';
import type { StandaloneAttachment } from '../allocator/allocator.ts';

const ENDED: ReadonlySet<TaskState> = new Set(['complete', 'shutdown', 'failed', 'rejected', 'remove', 'orphaned']);

export interface ViewInput {
  nodes: Iterable<Node>;
  services: Iterable<Service>;
  tasks: Iterable<Task>;
  /** Standalone containers' addresses on attachable networks. */
  attachments?: Iterable<StandaloneAttachment>;
  /** The cluster networks by ID: a standalone container's network is looked up here (it may have no task). */
  networks?: ReadonlyMap<string, ClusterNetwork>;
}

const bare = (cidr: string): string => cidr.split('/')[0];
export const nodeAttachmentsOf = (n: Node): NetworkAttachment[] => (Array.isArray(n.Attachments) ? n.Attachments : []) as NetworkAttachment[];
const endpointOf = (s: Service): ServiceEndpoint => (s.Endpoint ?? {}) as ServiceEndpoint;

/** The views node `nodeId` needs, sorted by network ID (so an unchanged cluster sends the same text). */
export function networkViews(input: ViewInput, nodeId: string): NodeNetworkView[] {
  const nodes = [...input.nodes];
  const tasks = [...input.tasks];
  const standalone = [...(input.attachments ?? [])].filter((a) => a.Addresses?.[0]);
  const services = new Map([...input.services].map((s) => [s.ID, s]));
  const addr = new Map(nodes.map((n) => [n.ID, n.Status.Addr ?? '']));
  const me = nodes.find((n) => n.ID === nodeId);
  // The networks: those of this node's tasks, and ingress where this node has its load balancer.
  const nets = new Map<string, ClusterNetwork>();
  // (A network the cluster no longer has gets no view, though a task of a removed service here may
  // still be ending on it: its VXLAN id may already be a new network's.)
  const exists = (id: string) => !input.networks || input.networks.has(id);
  for (const t of tasks) if (t.NodeID === nodeId) for (const a of attachmentsOf(t)) if (exists(a.Network.ID)) nets.set(a.Network.ID, a.Network);
  for (const a of standalone) {
    const n = a.NodeID === nodeId ? input.networks?.get(a.NetworkID) : undefined;
    if (n) nets.set(n.ID, n);
  }
  const lb = new Map<string, string>();
  for (const a of me ? nodeAttachmentsOf(me) : []) {
    if (!a.Network.Spec.Ingress || !a.Addresses?.[0]) continue;
    nets.set(a.Network.ID, a.Network);
    lb.set(a.Network.ID, bare(a.Addresses[0]));
  }
  const out: NodeNetworkView[] = [];
  for (const [id, network] of [...nets].sort(([a], [b]) => a.localeCompare(b))) {
    const view: NodeNetworkView = { network, endpoints: [], services: [], ...(lb.has(id) ? { lb: lb.get(id) } : {}) };
    const backends = new Map<string, string[]>();
    const members = new Set<string>();
    for (const t of tasks) {
      if (!t.NodeID || ENDED.has(t.Status.State)) continue;
      const a = attachmentsOf(t).find((x) => x.Network.ID === id);
      if (!a?.Addresses?.[0]) continue;
      const ip = bare(a.Addresses[0]);
      const running = t.Status.State === 'running' && t.DesiredState === 'running';
      const svc = services.get(t.ServiceID);
      view.endpoints.push({ ip, vtep: addr.get(t.NodeID) ?? '', names: [taskContainerName(t, svc?.Spec.Name ?? t.ServiceID)], service: t.ServiceID, running });
      members.add(t.ServiceID);
      if (running) backends.set(t.ServiceID, [...(backends.get(t.ServiceID) ?? []), ip]);
    }
    for (const a of standalone) {
      if (a.NetworkID === id) view.endpoints.push({ ip: bare(a.Addresses![0]), vtep: addr.get(a.NodeID) ?? '', names: a.ContainerName ? [a.ContainerName] : [], running: true });
    }
    if (network.Spec.Ingress) {
      for (const n of nodes) {
        const a = nodeAttachmentsOf(n).find((x) => x.Network.ID === id);
        if (a?.Addresses?.[0]) view.endpoints.push({ ip: bare(a.Addresses[0]), vtep: n.Status.Addr ?? '', names: [], running: true });
      }
    }
    for (const s of services.values()) {
      const ep = endpointOf(s);
      const vip = ep.VirtualIPs?.find((v) => v.NetworkID === id);
      const onNet = !!vip || members.has(s.ID) || specNetworks(s).some((n) => n.Target === id);
      if (!onNet) continue;
      const mode = ep.Spec?.Mode === 'dnsrr' || (s.Spec.EndpointSpec as { Mode?: string } | undefined)?.Mode === 'dnsrr' ? 'dnsrr' : 'vip';
      const ports = network.Spec.Ingress
        ? (ep.Ports ?? []).filter((p) => (p.PublishMode ?? 'ingress') === 'ingress' && p.PublishedPort && p.TargetPort)
          .map((p) => ({ protocol: p.Protocol ?? 'tcp', published: p.PublishedPort!, target: p.TargetPort! }))
        : [];
      view.services.push({
        id: s.ID, name: s.Spec.Name ?? s.ID, mode, ...(vip && mode === 'vip' ? { vip: bare(vip.Addr) } : {}),
        aliases: specNetworks(s).find((n) => n.Target === id)?.Aliases ?? [],
        backends: (backends.get(s.ID) ?? []).sort(), ports,
      });
    }
    view.endpoints.sort((a, b) => a.ip.localeCompare(b.ip));
    view.services.sort((a, b) => a.id.localeCompare(b.id));
    out.push(view);
  }
  return out;
}

function specNetworks(s: Service): { Target?: string; Aliases?: string[] }[] {
  const t = (s.Spec.TaskTemplate?.Networks ?? s.Spec.Networks ?? []) as { Target?: string; Aliases?: string[] }[];
  return Array.isArray(t) ? t : [];
}
