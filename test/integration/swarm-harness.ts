// Multi-node harness (issue 17): N berthd nodes on one machine, each in a network namespace of
// its own, joined by veths to a bridge the test creates on the host. A node's address on that
// bridge is its advertise address, and those addresses are the only ones nodes talk through.
// Each berthd is an ordinary harness daemon (startDaemon) run in its namespace: its own data
// root, exec root, socket (reachable from the host: the filesystem is shared), cgroup parent and
// nft table (both named from the exec root), default bridge name and an explicit container subnet.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { createHash, randomInt } from 'node:crypto';
import { cleanup, inNetns, startDaemon, type Daemon, type RunOut } from './harness.js';

export interface ClusterNode {
  /** node1, node2, ... */
  name: string;
  /** Its network namespace (a name under /run/netns). */
  ns: string;
  /** Its address on the cluster bridge: the advertise address. */
  addr: string;
  /** The host end of its veth (cut/heal set it down/up). */
  veth: string;
  /** Undefined only while startCluster is still starting it. */
  daemon: Daemon;
}

export interface Cluster {
  id: string;
  /** The host bridge joining the nodes, its subnet and its host address (the nodes' default route). */
  bridge: string;
  subnet: string;
  gateway: string;
  nodes: ClusterNode[];
  /** Runs a program inside a node's network namespace (e.g. curl to another node's address). */
  exec: (node: ClusterNode, cmd: string, args: string[], o?: { timeout?: number }) => RunOut;
  /** kill -9 the node's berthd (its containers keep running, as with dockerd). */
  kill9: (node: ClusterNode) => Promise<void>;
  /** Takes the node off the cluster bridge (its veth down) and puts it back. */
  cut: (node: ClusterNode) => void;
  heal: (node: ClusterNode) => void;
  /** Removes everything the cluster made; safe to call more than once, and after a failed start. */
  stop: () => Promise<void>;
}

let counter = 0;

function sh(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { timeout: 30_000 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr?.toString().trim() || r.error?.message || `status ${r.status}`}`);
}

const ipToInt = (ip: string) => ip.split('.').reduce((n, o) => n * 256 + Number(o), 0);

/** The IPv4 ranges the host uses (its addresses' subnets and its routes), as [first, last]. */
function hostRanges(): [number, number][] {
  const out: [number, number][] = [];
  const add = (ip: string, len: number) => {
    const size = 2 ** (32 - len);
    const first = Math.floor(ipToInt(ip) / size) * size;
    out.push([first, first + size - 1]);
  };
  const addrs = JSON.parse(spawnSync('ip', ['-j', '-4', 'addr']).stdout.toString() || '[]') as { addr_info?: { local: string; prefixlen: number }[] }[];
  for (const l of addrs) for (const a of l.addr_info ?? []) add(a.local, a.prefixlen);
  const routes = JSON.parse(spawnSync('ip', ['-j', '-4', 'route', 'show', 'table', 'all']).stdout.toString() || '[]') as { dst: string }[];
  for (const r of routes) {
    if (!/^\d+\.\d+\.\d+\.\d+(\/\d+)?$/.test(r.dst)) continue; // default, broadcast types, ...
    const [ip, len] = r.dst.split('/');
    add(ip, len === undefined ? 32 : Number(len));
  }
  return out;
}

/** `count` distinct /24s in 10.200.0.0-10.249.255.0 that nothing on the host uses, as their base address. */
function freeSubnets(count: number): string[] {
  const used = hostRanges();
  const picked: string[] = [];
  for (let tries = 0; picked.length < count && tries < 1000; tries++) {
    const base = `10.${randomInt(200, 250)}.${randomInt(0, 256)}.0`;
    const first = ipToInt(base);
    if (picked.includes(base) || used.some(([a, b]) => a <= first + 255 && first <= b)) continue;
    picked.push(base);
  }
  if (picked.length < count) throw new Error('no free /24 in 10.200.0.0/16-10.249.0.0/16 for the test cluster');
  return picked;
}

const at = (base: string, host: number) => base.replace(/\.0$/, `.${host}`);

/**
 * Starts `nodes` berthd nodes, each in its own network namespace on a fresh bridge, with busybox
 * imported in each (unless importBusybox is false). On failure everything made so far is removed.
 */
export async function startCluster(o: { nodes: number; importBusybox?: boolean; extraArgs?: string[] | ((gateway: string) => string[]) }): Promise<Cluster> {
  // Unique per process and call; base 36 keeps the longest link name (bsw<id>v<i>) within 15 chars.
  const id = `${process.pid.toString(36)}${(counter++).toString(36)}`;
  const [linkNet, ...containerNets] = freeSubnets(1 + o.nodes);
  const bridge = `bsw${id}`;
  const gateway = at(linkNet, 1);
  const nodes: ClusterNode[] = [];
  let stopped = false;
  const c: Cluster = {
    id, bridge, subnet: `${linkNet}/24`, gateway, nodes,
    exec: (n, cmd, args, x = {}) => {
      const r = spawnSync(...inNetns(n.ns, cmd, args), { timeout: x.timeout ?? 30_000, maxBuffer: 16 << 20 });
      return { status: r.status, stdout: r.stdout?.toString() ?? '', stderr: r.stderr?.toString() ?? '' };
    },
    kill9: async (n) => {
      const p = n.daemon.proc;
      if (p.exitCode !== null || p.signalCode !== null) return;
      const exited = new Promise((r) => p.once('exit', r));
      p.kill('SIGKILL');
      await exited;
    },
    cut: (n) => sh('ip', ['link', 'set', 'dev', n.veth, 'down']),
    heal: (n) => sh('ip', ['link', 'set', 'dev', n.veth, 'up']),
    stop: async () => {
      if (stopped) return;
      stopped = true;
      await stopCluster(c);
    },
  };
  try {
    sh('ip', ['link', 'add', 'name', bridge, 'type', 'bridge']);
    sh('ip', ['addr', 'add', `${gateway}/24`, 'dev', bridge]);
    sh('ip', ['link', 'set', 'dev', bridge, 'up']);
    for (let i = 1; i <= o.nodes; i++) {
      const n = { name: `node${i}`, ns: `berth-t${id}-n${i}`, addr: at(linkNet, 10 + i), veth: `bsw${id}v${i}` } as ClusterNode;
      nodes.push(n);
      const peer = `bsw${id}p${i}`;
      sh('ip', ['netns', 'add', n.ns]);
      sh('ip', ['link', 'add', 'name', n.veth, 'type', 'veth', 'peer', 'name', peer]);
      sh('ip', ['link', 'set', 'dev', peer, 'netns', n.ns]);
      sh('ip', ['-n', n.ns, 'link', 'set', 'dev', peer, 'name', 'eth0']);
      sh('ip', ['-n', n.ns, 'addr', 'add', `${n.addr}/24`, 'dev', 'eth0']);
      sh('ip', ['-n', n.ns, 'link', 'set', 'dev', 'lo', 'up']);
      sh('ip', ['-n', n.ns, 'link', 'set', 'dev', 'eth0', 'up']);
      sh('ip', ['link', 'set', 'dev', n.veth, 'master', bridge, 'up']);
      sh('ip', ['-n', n.ns, 'route', 'add', 'default', 'via', gateway]);
    }
    // The daemons start one after the other: two busybox imports at once on a 2-core machine
    // only make each slower.
    for (const [i, n] of nodes.entries()) {
      n.daemon = await startDaemon({ netns: n.ns, importBusybox: o.importBusybox, extraArgs: ['--bip', `${at(containerNets[i], 1)}/24`, ...(typeof o.extraArgs === 'function' ? o.extraArgs(gateway) : o.extraArgs ?? [])] });
    }
    return c;
  } catch (e) {
    await c.stop();
    throw e;
  }
}

/**
 * Removes the cluster: each daemon with the harness's cleanup (containers, mounts, cgroups,
 * its networks and nft table inside the namespace), then the namespaces, veths and bridge.
 * Every step tolerates what is already gone.
 */
export async function stopCluster(c: Cluster): Promise<void> {
  const errors: unknown[] = [];
  for (const n of c.nodes) {
    if (n.daemon) await cleanup(n.daemon).catch((e: unknown) => errors.push(e));
  }
  for (const n of c.nodes) {
    // Anything still running in the namespace (a test's server) would keep it alive.
    for (const pid of spawnSync('ip', ['netns', 'pids', n.ns]).stdout?.toString().split('\n').filter(Boolean) ?? []) {
      try { process.kill(Number(pid), 'SIGKILL'); } catch { /* gone */ }
    }
    spawnSync('ip', ['netns', 'del', n.ns]);
    spawnSync('ip', ['link', 'del', 'dev', n.veth]);
  }
  spawnSync('ip', ['link', 'del', 'dev', c.bridge]);
  if (errors.length) throw errors[0];
}

/** What of the cluster is still on the host: namespaces, links, nft tables and mounts (empty when all is gone). */
export function leftovers(c: Cluster): string[] {
  const out: string[] = [];
  let nss: string[] = [];
  try { nss = readdirSync('/run/netns'); } catch { /* none */ }
  out.push(...nss.filter((ns) => ns.startsWith(`berth-t${c.id}-`)).map((ns) => `netns ${ns}`));
  const links = JSON.parse(spawnSync('ip', ['-j', 'link']).stdout.toString() || '[]') as { ifname: string }[];
  out.push(...links.filter((l) => l.ifname.startsWith(`bsw${c.id}`)).map((l) => `link ${l.ifname}`));
  // berthd names its nft table berth-<sha256(exec root)[:8]>; a node's lives in its namespace,
  // but one on the host would mean a daemon escaped it.
  const tables = spawnSync('nft', ['list', 'tables']).stdout.toString();
  for (const n of c.nodes.filter((x) => x.daemon)) {
    const t = `berth-${createHash('sha256').update(n.daemon.execRoot).digest('hex').slice(0, 8)}`;
    if (tables.split('\n').some((l) => l.trim().endsWith(` ${t}`))) out.push(`nft table ${t}`);
    // The cgroup parent has the same name.
    for (const ctrl of readdirSync('/sys/fs/cgroup')) if (existsSync(join('/sys/fs/cgroup', ctrl, t))) out.push(`cgroup ${ctrl}/${t}`);
    if (existsSync(n.daemon.dir)) out.push(`directory ${n.daemon.dir}`);
    // Its containers', overlays' and ingress sandbox's namespaces are named after its instance too.
    const inst = t.slice('berth-'.length);
    out.push(...nss.filter((ns) => ns.startsWith(`berth-${inst}-`) || ns.startsWith(`berthov-${inst}-`)).map((ns) => `netns ${ns}`));
  }
  const dirs = c.nodes.filter((n) => n.daemon).map((n) => n.daemon.dir);
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((l) => l.split(' ')[4]).filter((m) => m && dirs.some((d) => m.startsWith(d)));
  out.push(...mounts.map((m) => `mount ${m}`));
  return out;
}

/** One API call to a node: its status, its body as text, and the body as JSON on demand. */
export async function nodeApi(n: ClusterNode, method: string, path: string, body?: unknown): Promise<{ status: number; json: () => any; text: string }> {
  const r = await n.daemon.api(method, path, body);
  return { status: r.status, json: () => r.json(), text: r.body.toString() };
}

/** A service's tasks, as node `n` (a manager) lists them; the call must succeed. */
export async function tasksOf(n: ClusterNode, service: string): Promise<any[]> {
  const r = await nodeApi(n, 'GET', `/tasks?filters=${encodeURIComponent(JSON.stringify({ service: [service] }))}`);
  assert.equal(r.status, 200, r.text);
  return r.json();
}

/** The tasks that run and are meant to. */
export const running = (ts: any[]): any[] => ts.filter((t) => t.Status.State === 'running' && t.DesiredState === 'running');
