// A recording fake daemon for capturing the docker CLI's swarm request bodies (the oracle for
// src/cli/commands/swarm-spec.test.ts). Not a test itself; run by hand:
//
//   node test/tools/swarm-recorder.mjs /tmp/rec/sock /tmp/rec/log.jsonl &
//   DOCKER_HOST=unix:///tmp/rec/sock docker service create --detach --name web busybox
//   cat /tmp/rec/log.jsonl      # one {method, url, body} line per request
//
// It answers /_ping with API 1.47 and an active-manager Swarm header, and what the swarm verbs
// read (/info, /swarm, /services/{id}, /nodes/{id}, /tasks, /distribution) with fixed objects.
import http from 'node:http';
import fs from 'node:fs';

const [sock, log] = process.argv.slice(2);
try { fs.unlinkSync(sock); } catch {}

const SERVICE = {
  ID: 'svc1234567890abcdef', Version: { Index: 10 }, CreatedAt: '2026-01-01T00:00:00Z', UpdatedAt: '2026-01-01T00:00:00Z',
  Spec: {
    Name: 'web', Labels: { keep: '1', drop: '2' },
    TaskTemplate: {
      ContainerSpec: { Image: 'busybox:latest', Args: ['httpd', '-f'], Env: ['A=1', 'B=2'], Labels: { c: '1' } },
      Placement: { Constraints: ['node.role==manager', 'node.labels.x==y'] },
      ForceUpdate: 0, Runtime: 'container',
    },
    Mode: { Replicated: { Replicas: 2 } },
    EndpointSpec: { Mode: 'vip', Ports: [{ Protocol: 'tcp', TargetPort: 80, PublishedPort: 8080, PublishMode: 'ingress' }] },
  },
  PreviousSpec: { Name: 'web', TaskTemplate: { ContainerSpec: { Image: 'busybox:old' } }, Mode: { Replicated: { Replicas: 1 } } },
};
const NODE = {
  ID: 'node1234567890abcdef', Version: { Index: 5 }, CreatedAt: '2026-01-01T00:00:00Z', UpdatedAt: '2026-01-01T00:00:00Z',
  Spec: { Labels: { old: 'x' }, Role: 'worker', Availability: 'active' },
  Description: { Hostname: 'h1', Engine: { EngineVersion: '28.2.2' } }, Status: { State: 'ready', Addr: '10.0.0.2' },
  ManagerStatus: { Leader: true, Reachability: 'reachable', Addr: '10.0.0.1:2377' },
};
const NODE2 = {
  ID: 'node2abcdefghijklmnop', Version: { Index: 6 }, CreatedAt: '2026-01-01T00:00:00Z', UpdatedAt: '2026-01-01T00:00:00Z',
  Spec: { Role: 'manager', Availability: 'drain' },
  Description: { Hostname: 'h2', Engine: { EngineVersion: '28.0.0' } }, Status: { State: 'down', Addr: '10.0.0.3' },
  ManagerStatus: { Reachability: 'unreachable', Addr: '10.0.0.3:2377' },
};
const NODE3 = {
  ID: 'node3abcdefghijklmnop', Version: { Index: 7 }, CreatedAt: '2026-01-01T00:00:00Z', UpdatedAt: '2026-01-01T00:00:00Z',
  Spec: { Role: 'worker', Availability: 'pause' },
  Description: { Hostname: 'h3' }, Status: { State: 'ready', Addr: '10.0.0.4' },
};
const ago = (s) => new Date(Date.now() - s * 1000).toISOString();
const TASKS = [
  { ID: 'task1abcdefghijklmnopqrstu', ServiceID: SERVICE.ID, Slot: 1, NodeID: NODE.ID, DesiredState: 'running', Spec: { ContainerSpec: { Image: 'busybox:latest@sha256:' + 'b'.repeat(64) } }, Status: { Timestamp: ago(5), State: 'running', Message: 'started', PortStatus: { Ports: [{ Protocol: 'tcp', TargetPort: 80, PublishedPort: 30000, PublishMode: 'host' }] } }, Version: { Index: 1 } },
  { ID: 'task2abcdefghijklmnopqrstu', ServiceID: SERVICE.ID, Slot: 1, NodeID: NODE.ID, DesiredState: 'shutdown', Spec: { ContainerSpec: { Image: 'busybox:old' } }, Status: { Timestamp: ago(300), State: 'failed', Err: 'task: non-zero exit (1)', Message: 'started' }, Version: { Index: 1 } },
  { ID: 'task3abcdefghijklmnopqrstu', ServiceID: SERVICE.ID, Slot: 2, NodeID: NODE2.ID, DesiredState: 'running', Spec: { ContainerSpec: { Image: 'busybox:latest' } }, Status: { Timestamp: ago(7200), State: 'preparing', Message: 'preparing' }, Version: { Index: 1 } },
  { ID: 'task4abcdefghijklmnopqrstu', ServiceID: SERVICE.ID, Slot: 3, NodeID: '', DesiredState: 'running', Spec: { ContainerSpec: { Image: 'busybox:latest' } }, Status: { Timestamp: ago(1), State: 'pending', Err: 'no suitable node (scheduling constraints not satisfied on 3 nodes; insufficient resources on 1 node)' }, Version: { Index: 1 } },
];
const SWARM = {
  ID: 'swarmid', Version: { Index: 3 }, CreatedAt: '2026-01-01T00:00:00Z', UpdatedAt: '2026-01-01T00:00:00Z',
  Spec: { Name: 'default', Orchestration: { TaskHistoryRetentionLimit: 5 }, Raft: { SnapshotInterval: 10000, KeepOldSnapshots: 0, LogEntriesForSlowFollowers: 500, ElectionTick: 10, HeartbeatTick: 1 }, Dispatcher: { HeartbeatPeriod: 5000000000 }, CAConfig: { NodeCertExpiry: 7776000000000000 }, TaskDefaults: {}, EncryptionConfig: { AutoLockManagers: false } },
  TLSInfo: {}, RootRotationInProgress: false, DataPathPort: 4789, DefaultAddrPool: ['10.0.0.0/8'], SubnetSize: 24,
  JoinTokens: { Worker: 'SWMTKN-1-worker', Manager: 'SWMTKN-1-manager' },
};

http.createServer((req, res) => {
  let body = '';
  req.on('data', (c) => { body += c; });
  req.on('end', () => {
    fs.appendFileSync(log, `${JSON.stringify({ method: req.method, url: req.url, body: body ? JSON.parse(body) : undefined })}\n`);
    const u = new URL(req.url, 'http://x');
    const p = u.pathname.replace(/^\/v1\.\d+/, '');
    const json = (v, code = 200) => { res.writeHead(code, { 'Content-Type': 'application/json', 'Api-Version': '1.47' }); res.end(JSON.stringify(v)); };
    if (p === '/_ping') { res.writeHead(200, { 'Api-Version': '1.47', Swarm: 'active/manager', 'Content-Type': 'text/plain' }); res.end('OK'); return; }
    if (p === '/info') return json({ Swarm: { NodeID: NODE.ID, NodeAddr: '10.0.0.1', LocalNodeState: 'active', ControlAvailable: true, RemoteManagers: [{ NodeID: NODE.ID, Addr: '10.0.0.1:2377' }] } });
    if (p === '/swarm' && req.method === 'GET') return json(SWARM);
    if (p === '/swarm/init') return json('newnodeid');
    if (p.startsWith('/distribution/')) return json({ Descriptor: { digest: 'sha256:' + 'a'.repeat(64) }, Platforms: [] });
    if (p === '/services/create') return json({ ID: 'newservice' });
    if (p === '/services' && req.method === 'GET') return json([{ ...SERVICE, ServiceStatus: { RunningTasks: 2, DesiredTasks: 3, CompletedTasks: 0 } }, { ...SERVICE, ID: 'glob567890abcdef', Spec: { ...SERVICE.Spec, Name: 'g', Mode: { Global: {} }, EndpointSpec: {} }, Endpoint: { Ports: [{ Protocol: 'tcp', TargetPort: 81, PublishedPort: 8081, PublishMode: 'ingress' }, { Protocol: 'tcp', TargetPort: 80, PublishedPort: 8080, PublishMode: 'ingress' }, { Protocol: 'udp', TargetPort: 53, PublishedPort: 53, PublishMode: 'ingress' }, { Protocol: 'tcp', TargetPort: 9000, PublishedPort: 30001, PublishMode: 'host' }, { Protocol: 'tcp', TargetPort: 80, PublishedPort: 9090, PublishMode: 'ingress' }] }, ServiceStatus: { RunningTasks: 1, DesiredTasks: 3 } }]);
    if (p.startsWith('/services/') && p.endsWith('/logs')) {
      // Two stdcopy frames (stdout, stderr) with the details docker asks for.
      const ctx = `com.docker.swarm.node.id=${NODE.ID},com.docker.swarm.service.id=${SERVICE.ID},com.docker.swarm.task.id=${TASKS[0].ID},extra=x%20y`;
      const ts = u.searchParams.get('timestamps') ? '2026-01-01T00:00:00.000000000Z ' : '';
      const frame = (stream, text) => { const b = Buffer.from(text); const h = Buffer.alloc(8); h[0] = stream; h.writeUInt32BE(b.length, 4); return Buffer.concat([h, b]); };
      res.writeHead(200, { 'Content-Type': 'application/vnd.docker.multiplexed-stream' });
      res.end(Buffer.concat([frame(1, `${ts}${ctx} hello out\n`), frame(2, `${ts}${ctx} hello err\n`)]));
      return;
    }
    if (p.startsWith('/tasks/')) return json(TASKS.find((t) => p.endsWith(t.ID)) ?? TASKS[0]);
    if (p.startsWith('/services/') && p.endsWith('/update')) return json({ Warnings: null });
    if (p.startsWith('/services/')) return json(SERVICE);
    if (p.startsWith('/nodes/') && p.endsWith('/update')) return json({});
    if (p.startsWith('/nodes/')) return json([NODE, NODE2, NODE3].find((n) => p.endsWith(n.ID)) ?? NODE);
    if (p === '/nodes') return json([NODE, NODE2, NODE3]);
    // The converge display's poll (_up-to-date): both replicas of `web` running.
    if (p === '/tasks' && (u.searchParams.get('filters') ?? '').includes('_up-to-date')) {
      return json([1, 2].map((slot) => ({ ...TASKS[0], ID: `conv${slot}`, Slot: slot })));
    }
    if (p === '/tasks') return json(TASKS);
    if (p === '/networks') return json([]);
    if (p.startsWith('/networks/')) return json({ Name: p.split('/')[2], Id: 'netid123', Scope: 'swarm', Driver: 'overlay' });
    if (req.method === 'POST') return json({});
    json({ message: 'not found' }, 404);
  });
}).listen(sock);
