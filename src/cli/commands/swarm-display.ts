// What the swarm verbs print, pure: `node ls`, `service ls`, `service ps`/`node ps` tables in
// docker CLI 28's columns and texts, and the converge display of `service create/update/scale/
// rollback` (docker's ServiceProgress, replicated and global).
//
//   renderNodes(nodes, selfId, undefined, false)
//     ID                        HOSTNAME   STATUS    AVAILABILITY   MANAGER STATUS   ENGINE VERSION
//     node1234567890abcdef *    h1         Ready     Active         Leader           28.2.2
//   renderTasks(tasks, names, nodes, { trunc: true })
//     ID             NAME        IMAGE            NODE      DESIRED STATE   CURRENT STATE           ERROR   PORTS
//     task1abcdefg   web.1       busybox:latest   h1        Running         Running 5 seconds ago           *:30000->80/tcp
//     task2abcdefg    \_ web.1   busybox:old      h1        Shutdown        Failed 5 minutes ago    "task: non-zero exit (1)"
import type { Node, Service, Task, TaskState } from '../../api/types/swarm.ts';
import { humanDuration } from '../../common/units.ts';
import { parseReference } from '../../common/reference.ts';
import { ellipsis, truncateId } from '../display.ts';
import { goRow, renderList } from '../format/formatter.ts';
import { naturalLess } from './volumes.ts';

type Json = Record<string, any>;

/** docker's command.PrettyPrint: the first letter upper-cased ("running" → "Running"). */
export function prettyPrint(s: string | undefined): string {
  return s ? s[0].toUpperCase() + s.slice(1) : '';
}

const naturalCmp = (a: string, b: string) => (naturalLess(a, b) ? -1 : naturalLess(b, a) ? 1 : 0);

// ---------------------------------------------------------------------------------------------
// node ls

export const NODE_TABLE = 'table {{.ID}} {{if .Self}}*{{else}} {{ end }}\t{{.Hostname}}\t{{.Status}}\t{{.Availability}}\t{{.ManagerStatus}}\t{{.EngineVersion}}';
const NODE_HEADERS = {
  ID: 'ID', Self: '', Hostname: 'HOSTNAME', Status: 'STATUS', Availability: 'AVAILABILITY', ManagerStatus: 'MANAGER STATUS',
  EngineVersion: 'ENGINE VERSION', TLSStatus: 'TLS STATUS',
};

/** MANAGER STATUS: Leader, or the reachability of a manager; empty for a worker. */
export function managerStatus(n: Node): string {
  if (!n.ManagerStatus) return '';
  if (n.ManagerStatus.Leader) return 'Leader';
  return prettyPrint(n.ManagerStatus.Reachability);
}

export function nodeRow(n: Node, selfId: string): Record<string, unknown> {
  return goRow({
    ID: n.ID,
    Self: n.ID === selfId,
    Hostname: n.Description?.Hostname ?? '',
    Status: prettyPrint(n.Status?.State),
    Availability: prettyPrint(n.Spec?.Availability),
    ManagerStatus: managerStatus(n),
    EngineVersion: n.Description?.Engine?.EngineVersion ?? '',
    TLSStatus: 'Ready',
  });
}

/** `node ls`: sorted by hostname (natural order, as docker's sortorder.NaturalLess). */
export function renderNodes(nodes: Node[], selfId: string, format: string | undefined, quiet: boolean): string {
  const sorted = [...nodes].sort((a, b) => naturalCmp(a.Description?.Hostname ?? '', b.Description?.Hostname ?? ''));
  const f = quiet && (!format || format === 'table') ? '{{.ID}}' : format;
  return renderList(f, NODE_TABLE, sorted.map((n) => nodeRow(n, selfId)), NODE_HEADERS);
}

// ---------------------------------------------------------------------------------------------
// service ls

export const SERVICE_TABLE = 'table {{.ID}}\t{{.Name}}\t{{.Mode}}\t{{.Replicas}}\t{{.Image}}\t{{.Ports}}';
const SERVICE_HEADERS = { ID: 'ID', Name: 'NAME', Mode: 'MODE', Replicas: 'REPLICAS', Image: 'IMAGE', Ports: 'PORTS' };

/** The image without its digest pin when truncating (docker: a tagged reference's familiar form). */
export function shortImage(image: string, trunc = true): string {
  if (!trunc) return image;
  try {
    const r = parseReference(image);
    if (r.tag !== undefined) return `${r.familiarName()}:${r.tag}`;
  } catch { /* shown as it is */ }
  return image;
}

/** PORTS: the ingress ports, consecutive ones folded into ranges (`*:8080-8081->80-81/tcp`). */
export function servicePorts(ports: Json[] | null | undefined): string {
  if (!ports?.length) return '';
  const sorted = [...ports].sort((a, b) => (a.Protocol === b.Protocol ? (a.PublishedPort ?? 0) - (b.PublishedPort ?? 0) : a.Protocol < b.Protocol ? -1 : 1));
  const out: string[] = [];
  let pr = { pStart: 0, pEnd: 0, tStart: 0, tEnd: 0, protocol: '' };
  const text = () => {
    const pub = pr.pEnd > pr.pStart ? `${pr.pStart}-${pr.pEnd}` : String(pr.pStart);
    const tgt = pr.tEnd > pr.tStart ? `${pr.tStart}-${pr.tEnd}` : String(pr.tStart);
    return `*:${pub}->${tgt}/${pr.protocol}`;
  };
  for (const p of sorted) {
    if (p.PublishMode !== 'ingress') continue;
    const pub = p.PublishedPort ?? 0;
    const tgt = p.TargetPort ?? 0;
    const isRange = pr.tEnd !== pr.tStart;
    if (p.Protocol !== pr.protocol || pub - pr.pEnd > 1 || tgt - pr.tEnd > 1 || (isRange && tgt <= pr.tEnd)) {
      if (pr.pStart > 0) out.push(text());
      pr = { pStart: pub, pEnd: pub, tStart: tgt, tEnd: tgt, protocol: p.Protocol };
      continue;
    }
    pr.pEnd = pub;
    pr.tEnd = tgt;
  }
  if (pr.pStart > 0) out.push(text());
  return out.join(', ');
}

/** REPLICAS from ServiceStatus (GET /services?status=true): "2/3", "2/3 (max 1 per node)". */
export function replicasText(s: Service): string {
  const st = s.ServiceStatus as { RunningTasks?: number; DesiredTasks?: number } | undefined;
  if (!st) return '';
  let text = `${st.RunningTasks ?? 0}/${st.DesiredTasks ?? 0}`;
  const max = (s.Spec.TaskTemplate?.Placement as Json | undefined)?.MaxReplicas;
  if (s.Spec.Mode?.Replicated && max) text += ` (max ${max} per node)`;
  return text;
}

export function serviceMode(s: Service): string {
  const m = s.Spec.Mode ?? {};
  if (m.Global) return 'global';
  if (m.Replicated) return 'replicated';
  if (m.ReplicatedJob) return 'replicated job';
  if (m.GlobalJob) return 'global job';
  return '';
}

export function serviceRow(s: Service): Record<string, unknown> {
  const c = (s.Spec.TaskTemplate?.ContainerSpec ?? {}) as Json;
  return goRow({
    ID: truncateId(s.ID),
    Name: s.Spec.Name ?? '',
    Mode: serviceMode(s),
    Replicas: replicasText(s),
    Image: shortImage(String(c.Image ?? '')),
    Ports: servicePorts((s.Endpoint as Json | undefined)?.Ports),
  });
}

export function renderServices(services: Service[], format: string | undefined, quiet: boolean): string {
  const sorted = [...services].sort((a, b) => naturalCmp(a.Spec.Name ?? '', b.Spec.Name ?? ''));
  if (quiet && (!format || format === 'table')) return sorted.map((s) => `${s.ID}\n`).join('');
  return renderList(format, SERVICE_TABLE, sorted.map(serviceRow), SERVICE_HEADERS);
}

// ---------------------------------------------------------------------------------------------
// service ps / node ps

export const TASK_TABLE = 'table {{.ID}}\t{{.Name}}\t{{.Image}}\t{{.Node}}\t{{.DesiredState}}\t{{.CurrentState}}\t{{.Error}}\t{{.Ports}}';
const TASK_HEADERS = {
  ID: 'ID', Name: 'NAME', Image: 'IMAGE', Node: 'NODE', DesiredState: 'DESIRED STATE', CurrentState: 'CURRENT STATE', Error: 'ERROR', Ports: 'PORTS',
};

/** `web.1` for a replicated task, `web.<node id>` for a global one. */
export function taskName(t: Task, serviceName: string): string {
  return t.Slot ? `${serviceName}.${t.Slot}` : `${serviceName}.${t.NodeID ?? ''}`;
}

/** CURRENT STATE: "Running 5 seconds ago" (docker lower-cases the duration). */
export function currentState(t: Task, now = Date.now()): string {
  const at = Date.parse(t.Status?.Timestamp ?? '');
  const since = Number.isNaN(at) ? 'less than a second' : humanDuration(now - at).toLowerCase();
  return `${prettyPrint(t.Status?.State)} ${since} ago`;
}

export interface TaskRowOptions { trunc: boolean; now?: number }

export function taskRow(t: Task, name: string, node: string, o: TaskRowOptions): Record<string, unknown> {
  const image = String((t.Spec?.ContainerSpec as Json | undefined)?.Image ?? '');
  let err = String(t.Status?.Err ?? '');
  if (o.trunc) err = ellipsis(err, 30);
  const ports = ((t.Status?.PortStatus as Json | undefined)?.Ports ?? []) as Json[];
  return goRow({
    ID: o.trunc ? truncateId(t.ID) : t.ID,
    Name: name,
    Image: shortImage(image, o.trunc),
    Node: node,
    DesiredState: prettyPrint(t.DesiredState),
    CurrentState: currentState(t, o.now),
    Error: err ? `"${err}"` : '',
    Ports: ports.map((p) => `*:${p.PublishedPort ?? 0}->${p.TargetPort ?? 0}/${p.Protocol ?? 'tcp'}`).join(','),
  });
}

/**
 * `service ps` / `node ps`: tasks grouped by name (`web.1`), newest first within a slot, older
 * ones indented as ` \_ web.1` (docker's task.Print). `serviceNames` and `nodeNames` map IDs to
 * names (a node without one shows its ID; an unassigned task shows nothing).
 */
export function renderTasks(tasks: Task[], serviceNames: Map<string, string>, nodeNames: Map<string, string>, o: TaskRowOptions & { format?: string; quiet?: boolean }): string {
  const named = tasks.map((t) => ({ t, name: taskName(t, serviceNames.get(t.ServiceID) ?? t.ServiceID) }));
  named.sort((a, b) => {
    if (a.name !== b.name) return a.name < b.name ? -1 : 1;
    return Date.parse(b.t.CreatedAt ?? '') - Date.parse(a.t.CreatedAt ?? '') || 0;
  });
  if (o.quiet && (!o.format || o.format === 'table')) return named.map(({ t }) => `${t.ID}\n`).join('');
  let prev = '';
  const rows = named.map(({ t, name }) => {
    const shown = name === prev ? ` \\_ ${name}` : name;
    prev = name;
    const node = t.NodeID ? nodeNames.get(t.NodeID) ?? t.NodeID : '';
    return taskRow(t, shown, node, o);
  });
  return renderList(o.format, TASK_TABLE, rows, TASK_HEADERS);
}

// ---------------------------------------------------------------------------------------------
// The converge display (docker's cli/command/service/progress)

/** Task states before running, numbered: the progress bar's position. */
const NUMBERED: Partial<Record<TaskState, number>> = {
  new: 1, allocated: 2, pending: 3, assigned: 4, accepted: 5, preparing: 6, ready: 7, starting: 8, running: 9,
};
const MAX_PROGRESS = 9;
const LONGEST_STATE = 9;
const MAX_PROGRESS_BARS = 20;
const TERMINAL = new Set(['complete', 'shutdown', 'failed', 'rejected', 'remove', 'orphaned']);

/** The progress bar docker draws (only on terminals wider than 110 columns). */
export function progressBar(current: number, total: number, width: number): string {
  if (width <= 110 || total <= 0) return '';
  const pct = Math.min(50, Math.trunc(Math.trunc((current / total) * 100) / 2));
  return `[${'='.repeat(pct)}>${' '.repeat(Math.max(0, 50 - pct))}] `;
}

/** docker's truncError: the first line, at most 50 characters. */
function truncError(e: string): string {
  let s = e.split('\n')[0];
  if (s.length > 50) s = `${s.slice(0, 49)}…`;
  return s;
}

export interface ProgressLine { id: string; action: string; bar?: { current: number; total: number } }

/**
 * The state of one service's convergence between polls: `update` takes what a poll read and
 * says whether the service is converged (all desired tasks running); `lines` is what to show.
 */
export class ConvergeProgress {
  readonly #lines = new Map<string, ProgressLine>();
  #slotMap = new Map<number, number>();
  #initialized = false;
  #done = false;

  lines(): ProgressLine[] { return [...this.#lines.values()]; }

  set(id: string, action: string, bar?: ProgressLine['bar']): void {
    this.#lines.set(id, { id, action, bar });
  }

  #overall(n: number, d: number, rollback: boolean): void {
    this.set('overall progress', rollback ? `rolling back update: ${n} out of ${d} tasks` : `${n} out of ${d} tasks`);
  }

  /** One poll: the service, its up-to-date tasks, and the IDs of the nodes that are not down. */
  update(service: Service, tasks: Task[], activeNodes: Set<string>, rollback = false): boolean {
    return service.Spec.Mode?.Global ? this.#global(tasks, activeNodes, rollback) : this.#replicated(service, tasks, activeNodes, rollback);
  }

  #replicated(service: Service, tasks: Task[], active: Set<string>, rollback: boolean): boolean {
    const replicas = service.Spec.Mode?.Replicated?.Replicas ?? 1;
    if (!this.#initialized) {
      this.#overall(0, replicas, rollback);
      if (replicas <= MAX_PROGRESS_BARS) for (let i = 1; i <= replicas; i++) this.set(`${i}/${replicas}`, ' ');
      this.#initialized = true;
    }
    // Per slot, the task with the lowest desired state wins (restarts), then the most advanced.
    const bySlot = new Map<number, Task>();
    for (const t of tasks) {
      if (!NUMBERED[t.DesiredState] || !NUMBERED[t.Status.State]) continue;
      const slot = t.Slot ?? 0;
      const prev = bySlot.get(slot);
      if (prev) {
        if (NUMBERED[prev.DesiredState]! < NUMBERED[t.DesiredState]!) continue;
        if (NUMBERED[prev.DesiredState] === NUMBERED[t.DesiredState] && NUMBERED[prev.Status.State]! > NUMBERED[t.Status.State]!) continue;
      }
      if (t.NodeID && !active.has(t.NodeID)) continue;
      bySlot.set(slot, t);
    }
    if (this.#done && [...bySlot.values()].some((t) => t.Status.State !== 'running')) this.#done = false;
    let running = 0;
    for (const [slot, t] of [...bySlot.entries()].sort((a, b) => a[0] - b[0])) {
      let mapped = this.#slotMap.get(slot);
      if (!mapped) { mapped = this.#slotMap.size + 1; this.#slotMap.set(slot, mapped); }
      if (!TERMINAL.has(t.DesiredState) && t.Status.State === 'running') running++;
      this.#taskLine(t, `${mapped}/${replicas}`, mapped, replicas);
    }
    if (!this.#done) {
      this.#overall(running, replicas, rollback);
      if (running === replicas) this.#done = true;
    }
    return running === replicas;
  }

  #taskLine(t: Task, id: string, mapped: number, total: number): void {
    if (this.#done || total > MAX_PROGRESS_BARS || mapped > total) return;
    if (t.Status.Err) { this.set(id, truncError(t.Status.Err)); return; }
    if (!TERMINAL.has(t.DesiredState) && !TERMINAL.has(t.Status.State)) {
      this.set(id, t.Status.State.padEnd(LONGEST_STATE), { current: NUMBERED[t.Status.State] ?? 0, total: MAX_PROGRESS });
    }
  }

  /** Global: one line per active node that has a task (docker also counts the nodes the
   *  constraints allow; here the expected count is the nodes with a desired-running task). */
  #global(tasks: Task[], active: Set<string>, rollback: boolean): boolean {
    const byNode = new Map<string, Task>();
    for (const t of tasks) {
      if (!NUMBERED[t.DesiredState] || !NUMBERED[t.Status.State] || !t.NodeID || !active.has(t.NodeID)) continue;
      const prev = byNode.get(t.NodeID);
      if (prev && NUMBERED[prev.DesiredState]! < NUMBERED[t.DesiredState]!) continue;
      byNode.set(t.NodeID, t);
    }
    const total = byNode.size;
    if (!this.#initialized) { this.#overall(0, total, rollback); this.#initialized = true; }
    let running = 0;
    for (const [node, t] of [...byNode.entries()].sort()) {
      if (t.Status.State === 'running') running++;
      if (!this.#done && total <= MAX_PROGRESS_BARS) this.#taskLine(t, truncateId(node), 1, total);
    }
    if (!this.#done) this.#overall(running, total, rollback);
    this.#done = total > 0 && running === total;
    return this.#done;
  }
}

/** One line as docker's jsonmessage prints it: `ID: action [bar] `. */
export function progressText(l: ProgressLine, width: number): string {
  if (l.bar) return `${l.id}: ${l.action} ${progressBar(l.bar.current, l.bar.total, width)}`;
  return `${l.id}: ${l.action}`;
}

/** The whole block, one line each (what a terminal shows after each poll). */
export function progressBlock(lines: ProgressLine[], width: number): string {
  return lines.map((l) => `${progressText(l, width)}\n`).join('');
}

// ---------------------------------------------------------------------------------------------
// service logs: docker's `web.1.abc123def456@node1    | message` lines

/** docker's logs.ParseLogDetails: `k=v,k2=v2`, each part query-unescaped. */
export function parseLogDetails(s: string): Record<string, string> | undefined {
  const out: Record<string, string> = {};
  if (s === '') return out;
  for (const pair of s.split(',')) {
    const eq = pair.indexOf('=');
    if (eq < 0) return undefined;
    try {
      out[decodeURIComponent(pair.slice(0, eq).replace(/\+/g, ' '))] = decodeURIComponent(pair.slice(eq + 1).replace(/\+/g, ' '));
    } catch {
      return undefined;
    }
  }
  return out;
}

export interface LogLine {
  timestamp?: string;
  nodeId: string;
  serviceId: string;
  taskId: string;
  /** The details other than the swarm context ones, `k=v` each. */
  extra: string[];
  message: string;
}

/**
 * One log line as the daemon sends it with details=true: `[TIMESTAMP ]DETAILS MESSAGE`, the
 * details carrying com.docker.swarm.{node,service,task}.id. undefined when it is not so shaped.
 */
export function parseLogLine(line: string, timestamps: boolean): LogLine | undefined {
  const parts: string[] = [];
  let rest = line;
  for (let i = 0; i < (timestamps ? 2 : 1); i++) {
    const sp = rest.indexOf(' ');
    if (sp < 0) return undefined;
    parts.push(rest.slice(0, sp));
    rest = rest.slice(sp + 1);
  }
  const details = parseLogDetails(parts[parts.length - 1]);
  if (!details) return undefined;
  const nodeId = details['com.docker.swarm.node.id'];
  const serviceId = details['com.docker.swarm.service.id'];
  const taskId = details['com.docker.swarm.task.id'];
  if (nodeId === undefined || serviceId === undefined || taskId === undefined) return undefined;
  const extra = Object.entries(details).filter(([k]) => !k.startsWith('com.docker.swarm.') || !/\.(node|service|task)\.id$/.test(k))
    .map(([k, v]) => `${k}=${v}`);
  return { timestamp: timestamps ? parts[0] : undefined, nodeId, serviceId, taskId, extra, message: rest };
}

/** The `web.1.abc123def456@node1` context docker prints (padded to the widest slot number). */
export function logContext(o: { serviceName: string; slot: number; taskId: string; nodeName: string; taskIds: boolean; trunc: boolean; padding: number }): string {
  let name = `${o.serviceName}.${o.slot}`;
  if (o.taskIds) name += `.${o.trunc ? truncateId(o.taskId) : o.taskId}`;
  const pad = o.padding - String(o.slot).length;
  return `${name}@${o.nodeName}${pad > 0 ? ' '.repeat(pad) : ''}`;
}

/** The whole output line: `[TIMESTAMP ]CONTEXT    | [DETAILS ]MESSAGE`. */
export function formatLogLine(l: LogLine, context: string, details: boolean): string {
  let out = l.timestamp !== undefined ? `${l.timestamp} ` : '';
  out += `${context}    | `;
  if (details) out += `${l.extra.join(',')} `;
  return out + l.message;
}
