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
  Description: { Hostname: 'h1' }, Status: { State: 'ready', Addr: '10.0.0.2' },
};
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
    if (p === '/services' && req.method === 'GET') return json([SERVICE]);
    if (p.startsWith('/services/') && p.endsWith('/update')) return json({ Warnings: null });
    if (p.startsWith('/services/')) return json(SERVICE);
    if (p.startsWith('/nodes/') && p.endsWith('/update')) return json({});
    if (p.startsWith('/nodes/')) return json(NODE);
    if (p === '/nodes') return json([NODE]);
    if (p === '/tasks') return json([]);
    if (p === '/networks') return json([]);
    if (req.method === 'POST') return json({});
    json({ message: 'not found' }, 404);
  });
}).listen(sock);
