// EtcdMember: supervises one etcd member as a child process of berthd (issue 17's design: swarm's
// cluster state lives in etcd, each manager runs a member, berth has no consensus of its own).
//
// Lifecycle, worked through (Docker-like):
// - `swarm init` on node A: new EtcdMember({ name: 'A', dataRoot, clientUrls: ['https://A:2379'],
//   peerUrls: ['https://A:2380'], initialCluster: 'A=https://A:2380', initialClusterState: 'new',
//   tls }).start(): a one-member cluster, ready once its /health answers true (it has elected
//   itself leader). Its data lives in <data-root>/swarm/etcd.
// - a manager join of node B: A's berthd calls client.memberAdd(['https://B:2380']) (the cluster
//   now has 2 members and needs both for quorum, so B must start promptly), hands B the member
//   list, and B starts with initialCluster: 'A=https://A:2380,B=https://B:2380' and
//   initialClusterState: 'existing'; B is ready when it has caught up and sees the leader.
// - demote/leave: memberRemove(id of B) from a remaining manager, then B's stop() and removal of
//   its data dir (a removed member must never restart on its old data).
// - berthd restart: start() again with the same options; etcd ignores the initial-cluster flags
//   once its data dir holds a WAL, so the member rejoins with its own identity.
// - unexpected death (crash, kill -9): the supervisor restarts it after a backoff that doubles
//   from minDelayMs to maxDelayMs, reset once a run has lasted stableMs; the data dir carries the
//   state across. stop() ends supervision: SIGTERM, then SIGKILL after killAfterMs.
// etcd's own log (stderr, zap JSON lines) is kept as a bounded tail and put into the errors.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EtcdClient } from './client.ts';
import { system } from '../../common/errors.ts';

export interface EtcdMemberTls {
  /** Client side: etcd requires client certificates signed by caFile (--client-cert-auth). */
  caFile: string;
  certFile: string;
  keyFile: string;
  /** Peer side; default to the client-side files (one node certificate for both). */
  peerCaFile?: string;
  peerCertFile?: string;
  peerKeyFile?: string;
}

export interface EtcdMemberOptions {
  /** berthd's data root; the member's data dir is <dataRoot>/swarm/etcd. */
  dataRoot: string;
  name: string;
  /** URLs clients reach this member on (listened on and advertised). */
  clientUrls: string[];
  /** URLs peers reach this member on (listened on and advertised). */
  peerUrls: string[];
  /** name=peerURL,... of every member, this one included. */
  initialCluster: string;
  initialClusterState: 'new' | 'existing';
  tls?: EtcdMemberTls;
  /** The etcd binary (default: etcd on PATH, Debian's etcd-server). */
  binary?: string;
  /** Bound on waiting for /health after each (re)start (default 30 s). */
  readyTimeoutMs?: number;
  minDelayMs?: number;
  maxDelayMs?: number;
  stableMs?: number;
  killAfterMs?: number;
  /** Where supervision events go (berthd's logger). */
  log?: (msg: string) => void;
}

const TAIL_LINES = 40;

export class EtcdMember {
  private child: ChildProcess | undefined;
  private stopping = false;
  /** During start(): an exit is a failed start (reported with etcd's stderr), not restarted. */
  private starting = false;
  private startExit: string | undefined;
  private restartTimer: NodeJS.Timeout | undefined;
  private failures = 0;
  private stderrTail: string[] = [];
  private exited: Promise<void> = Promise.resolve();
  /** How many times the supervisor restarted etcd after an unexpected exit. */
  restarts = 0;

  constructor(private readonly opts: EtcdMemberOptions) {}

  get dataDir(): string { return join(this.opts.dataRoot, 'swarm', 'etcd'); }
  get pid(): number | undefined { return this.child?.pid; }
  /** The last lines etcd wrote to stderr. */
  get logTail(): string { return this.stderrTail.join('\n'); }

  /** A client for this member, with the member's own certificate as client credentials. */
  client(): EtcdClient {
    const t = this.opts.tls;
    return new EtcdClient({
      endpoints: this.opts.clientUrls,
      tls: t ? { ca: readFileSync(t.caFile), cert: readFileSync(t.certFile), key: readFileSync(t.keyFile) } : undefined,
      timeoutMs: 2000,
    });
  }

  args(): string[] {
    const o = this.opts;
    const a = [
      '--name', o.name,
      '--data-dir', this.dataDir,
      '--listen-client-urls', o.clientUrls.join(','),
      '--advertise-client-urls', o.clientUrls.join(','),
      '--listen-peer-urls', o.peerUrls.join(','),
      '--initial-advertise-peer-urls', o.peerUrls.join(','),
      '--initial-cluster', o.initialCluster,
      '--initial-cluster-state', o.initialClusterState,
      '--logger', 'zap', '--log-outputs', 'stderr',
    ];
    if (o.tls) {
      a.push('--client-cert-auth', '--trusted-ca-file', o.tls.caFile, '--cert-file', o.tls.certFile, '--key-file', o.tls.keyFile,
        '--peer-client-cert-auth', '--peer-trusted-ca-file', o.tls.peerCaFile ?? o.tls.caFile,
        '--peer-cert-file', o.tls.peerCertFile ?? o.tls.certFile, '--peer-key-file', o.tls.peerKeyFile ?? o.tls.keyFile);
    }
    return a;
  }

  /** Starts etcd and resolves once it is healthy; rejects (and stops it) if it is not in time. */
  async start(): Promise<void> {
    if (this.child) throw system('etcd member already running');
    this.stopping = false;
    mkdirSync(this.dataDir, { recursive: true, mode: 0o700 });
    await killOrphans(this.dataDir, (m) => this.opts.log?.(m));
    this.starting = true;
    this.startExit = undefined;
    this.spawnOnce();
    try {
      await this.waitReady();
    } catch (e) {
      await this.stop();
      throw e;
    } finally {
      this.starting = false;
    }
    // It may have died between its last health answer and now: supervise from here on.
    if (!this.child && !this.stopping) this.scheduleRestart(0);
  }

  /** Waits until /health answers true, the child dying or the bound ending the wait. */
  async waitReady(timeoutMs = this.opts.readyTimeoutMs ?? 30_000): Promise<void> {
    const c = this.client();
    const deadline = Date.now() + timeoutMs;
    try {
      while (Date.now() < deadline) {
        if (this.stopping) throw system('etcd member stopped while waiting for it to be ready');
        if (this.startExit) throw system(`etcd member ${this.opts.name} exited before it was ready (${this.startExit}): ${this.logTail.slice(-2000)}`);
        if (this.child && (await c.health(1000))) return;
        await sleep(200);
      }
      throw system(`etcd member ${this.opts.name} not healthy after ${timeoutMs} ms: ${this.logTail.slice(-2000)}`);
    } finally {
      c.close();
    }
  }

  private spawnOnce(): void {
    const child = spawn(this.opts.binary ?? 'etcd', this.args(), { stdio: ['ignore', 'ignore', 'pipe'] });
    this.child = child;
    const startedAt = Date.now();
    let partial = '';
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (d: string) => {
      const lines = (partial + d).split('\n');
      partial = lines.pop() ?? '';
      this.stderrTail.push(...lines.filter((l) => l.trim()));
      if (this.stderrTail.length > TAIL_LINES) this.stderrTail.splice(0, this.stderrTail.length - TAIL_LINES);
    });
    this.exited = new Promise((resolve) => {
      child.on('error', (e) => {
        this.stderrTail.push(`spawn ${this.opts.binary ?? 'etcd'}: ${e.message}`);
      });
      child.on('close', (code, signal) => {
        if (this.child === child) this.child = undefined;
        resolve();
        const how = signal ?? `status ${code}`;
        if (this.stopping) return;
        if (this.starting) { this.startExit = how; return; }
        if (Date.now() - startedAt >= (this.opts.stableMs ?? 60_000)) this.failures = 0;
        this.scheduleRestart(Math.min(this.opts.maxDelayMs ?? 30_000, (this.opts.minDelayMs ?? 500) * 2 ** Math.min(this.failures++, 10)), how);
      });
    });
  }

  private scheduleRestart(delay: number, how = 'exited'): void {
    this.opts.log?.(`etcd member ${this.opts.name} exited (${how}); restarting in ${delay} ms: ${this.stderrTail.at(-1) ?? ''}`);
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      if (this.stopping || this.child) return;
      this.restarts++;
      this.spawnOnce();
    }, delay);
  }

  /** Ends supervision and the process: SIGTERM, then SIGKILL after killAfterMs (default 10 s). */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.restartTimer) { clearTimeout(this.restartTimer); this.restartTimer = undefined; }
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) { await this.exited; return; }
    child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), this.opts.killAfterMs ?? 10_000);
    await this.exited;
    clearTimeout(killer);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A member left running by a berthd that was killed (kill -9 gives its children no signal) still
 * holds the data dir's lock and the ports: the new berthd's supervisor takes over by ending it.
 * Found by its command line naming this data dir; nothing else is touched.
 */
async function killOrphans(dataDir: string, log: (m: string) => void): Promise<void> {
  const { readdirSync, readFileSync: read } = await import('node:fs');
  const pids: number[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e) || Number(e) === process.pid) continue;
    let argv: string[];
    try { argv = read(`/proc/${e}/cmdline`, 'utf8').split('\0'); } catch { continue; /* gone meanwhile */ }
    const i = argv.indexOf('--data-dir');
    if (i >= 0 && argv[i + 1] === dataDir && /etcd$/.test(argv[0] ?? '')) pids.push(Number(e));
  }
  for (const pid of pids) {
    log(`etcd member left running by an earlier berthd (pid ${pid}): stopping it`);
    try { process.kill(pid, 'SIGKILL'); } catch { continue; /* exited on its own */ }
    for (let i = 0; i < 50; i++) {
      try { process.kill(pid, 0); } catch { break; }
      await sleep(100);
    }
  }
}
