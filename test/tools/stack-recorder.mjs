// A recording fake swarm manager for `stack` verbs: it keeps the networks and services it is sent
// (so a second deploy sees the first one's), answers the reads the stack verbs make, and logs every
// request. It captured docker CLI 28's `docker stack deploy` bodies for
// src/compose/stack/convert.test.ts, and serves test/integration/stack-cli.test.ts. Run by hand:
//
//   node test/tools/stack-recorder.mjs /tmp/rec/sock /tmp/rec/log.jsonl &
//   DOCKER_HOST=unix:///tmp/rec/sock docker stack deploy --resolve-image never -c compose.yaml shop
//   cat /tmp/rec/log.jsonl      # one {method, url, body} line per request
//
// STACK_RECORDER_REFUSE_OVERLAY=1 refuses overlay networks as berthd does today;
// STACK_RECORDER_EXTERNAL=a,b makes swarm-scoped networks a and b exist (for external networks).
import http from 'node:http';
import fs from 'node:fs';

const [sock, log] = process.argv.slice(2);
try { fs.unlinkSync(sock); } catch {}

const NODE = {
  ID: 'node1234567890abcdef', Version: { Index: 5 }, Spec: { Role: 'manager', Availability: 'active' },
  Description: { Hostname: 'h1' }, Status: { State: 'ready', Addr: '10.0.0.1' },
};
const networks = new Map(); // id → network
const services = new Map(); // id → service
const secrets = new Map(); // id → secret (its Data kept, never listed)
const configs = new Map(); // id → config
let seq = 0;
for (const name of (process.env.STACK_RECORDER_EXTERNAL ?? '').split(',').filter(Boolean)) {
  networks.set(`ext-${name}`, { Id: `ext-${name}`, Name: name, Driver: 'overlay', Scope: 'swarm', Labels: {} });
}
const nextId = (p) => `${p}${String(++seq).padStart(4, '0')}abcdefghijklmnopqrstuv`.slice(0, 25);

function labelFilter(u) {
  const f = u.searchParams.get('filters');
  if (!f) return [];
  const label = JSON.parse(f).label ?? {};
  return Array.isArray(label) ? label : Object.keys(label);
}
function matches(labels, wanted) {
  return wanted.every((w) => {
    const i = w.indexOf('=');
    return i < 0 ? labels?.[w] !== undefined : labels?.[w.slice(0, i)] === w.slice(i + 1);
  });
}

http.createServer((req, res) => {
  let body = '';
  req.on('data', (c) => { body += c; });
  req.on('end', () => {
    const auth = req.headers['x-registry-auth'];
    fs.appendFileSync(log, `${JSON.stringify({ method: req.method, url: req.url, body: body ? JSON.parse(body) : undefined, ...(auth ? { auth } : {}) })}\n`);
    const u = new URL(req.url, 'http://x');
    const p = u.pathname.replace(/^\/v1\.\d+/, '');
    const json = (v, code = 200) => { res.writeHead(code, { 'Content-Type': 'application/json', 'Api-Version': '1.47' }); res.end(JSON.stringify(v)); };
    if (p === '/_ping') { res.writeHead(200, { 'Api-Version': '1.47', Swarm: 'active/manager', 'Content-Type': 'text/plain' }); res.end('OK'); return; }
    if (p === '/info') return json({ Swarm: { NodeID: NODE.ID, LocalNodeState: 'active', ControlAvailable: true } });
    if (p === '/nodes') return json([NODE]);
    if (p.startsWith('/nodes/')) return json(NODE);
    if (p.startsWith('/distribution/')) return json({ message: 'registry unreachable' }, 500);
    if (p === '/networks' && req.method === 'GET') return json([...networks.values()].filter((n) => matches(n.Labels, labelFilter(u))));
    if (p === '/networks/create') {
      const b = JSON.parse(body);
      if (process.env.STACK_RECORDER_REFUSE_OVERLAY && b.Driver === 'overlay') return json({ message: 'plugin "overlay" not found' }, 404);
      const id = nextId('net');
      networks.set(id, { Id: id, Name: b.Name, Driver: b.Driver, Scope: b.Scope ?? 'swarm', Labels: b.Labels ?? {} });
      return json({ Id: id, Warning: '' }, 201);
    }
    if (p.startsWith('/networks/') && req.method === 'GET') {
      const ref = decodeURIComponent(p.split('/')[2]);
      const n = [...networks.values()].find((x) => x.Id === ref || x.Name === ref);
      return n ? json(n) : json({ message: `network ${ref} not found` }, 404);
    }
    if (p.startsWith('/networks/') && req.method === 'DELETE') {
      const ref = decodeURIComponent(p.split('/')[2]);
      networks.delete(ref);
      res.writeHead(204); res.end(); return;
    }
    const om = /^\/(secrets|configs)(?:\/([^/]+))?(\/update)?$/.exec(p);
    if (om) {
      // Secrets and configs by name or ID; a list filtered by names (docker's ParseSecrets) or labels.
      const store = om[1] === 'secrets' ? secrets : configs;
      if (om[2] === 'create' && req.method === 'POST') {
        const b = JSON.parse(body);
        if ([...store.values()].some((x) => x.Spec.Name === b.Name)) return json({ message: `rpc error: code = AlreadyExists desc = ${om[1].slice(0, -1)} ${b.Name} already exists` }, 409);
        const id = nextId(om[1].slice(0, 3));
        store.set(id, { ID: id, Version: { Index: 1 }, Spec: b });
        return json({ ID: id }, 201);
      }
      if (!om[2]) {
        const f = u.searchParams.get('filters');
        const names = f ? Object.keys(JSON.parse(f).name ?? {}) : [];
        return json([...store.values()].filter((x) => matches(x.Spec.Labels, labelFilter(u)) && (!names.length || names.some((n) => x.Spec.Name.startsWith(n)))).map((x) => ({ ...x, Spec: { ...x.Spec, Data: undefined } })));
      }
      const ref = decodeURIComponent(om[2]);
      const x = [...store.values()].find((o) => o.ID === ref || o.Spec.Name === ref);
      if (!x) return json({ message: `${om[1].slice(0, -1)} ${ref} not found` }, 404);
      if (req.method === 'DELETE') { store.delete(x.ID); res.writeHead(204); res.end(); return; }
      if (om[3]) {
        const b = JSON.parse(body);
        // swarmkit: only the labels of a secret or config may change.
        if (b.Data !== undefined && b.Data !== x.Spec.Data) return json({ message: `rpc error: code = InvalidArgument desc = only updates to Labels are allowed` }, 400);
        x.Version.Index++; x.Spec = { ...x.Spec, Labels: b.Labels };
        res.writeHead(200); res.end(); return;
      }
      return json({ ...x, Spec: { ...x.Spec, Data: undefined } });
    }
    if (p === '/services' && req.method === 'GET') return json([...services.values()].filter((s) => matches(s.Spec.Labels, labelFilter(u))).map((s) => ({ ...s, Endpoint: { Spec: s.Spec.EndpointSpec ?? {}, Ports: s.Spec.EndpointSpec?.Ports }, ServiceStatus: { RunningTasks: 0, DesiredTasks: s.Spec.Mode?.Replicated?.Replicas ?? 1 } })));
    if (p === '/services/create') {
      const id = nextId('svc');
      services.set(id, { ID: id, Version: { Index: 1 }, Spec: JSON.parse(body) });
      return json({ ID: id }, 201);
    }
    const sm = /^\/services\/([^/]+)(\/update)?$/.exec(p);
    if (sm) {
      const ref = decodeURIComponent(sm[1]);
      const s = [...services.values()].find((x) => x.ID === ref || x.Spec.Name === ref);
      if (!s) return json({ message: `service ${ref} not found` }, 404);
      if (req.method === 'DELETE') { services.delete(s.ID); res.writeHead(200); res.end(); return; }
      if (sm[2]) { s.Version.Index++; s.Spec = JSON.parse(body); return json({ Warnings: null }); }
      return json(s);
    }
    if (p === '/tasks') {
      const wanted = labelFilter(u);
      const tasks = [...services.values()].filter((s) => matches(s.Spec.Labels, wanted)).map((s, i) => ({
        ID: `task${i}abcdefghijklmnopqrstu`, ServiceID: s.ID, Slot: 1, NodeID: NODE.ID, DesiredState: 'running',
        Spec: { ContainerSpec: { Image: s.Spec.TaskTemplate.ContainerSpec.Image } },
        Status: { Timestamp: new Date(Date.now() - 5000).toISOString(), State: 'running', Message: 'started' }, Version: { Index: 1 },
      }));
      return json(tasks);
    }
    json({ message: 'not found' }, 404);
  });
}).listen(sock);
