#!/usr/bin/env node
// bench/swarm-net: swarm networking on two berth nodes of this machine (scripts/swarm-local: each
// berthd in its own network namespace), measured in one run against its anchors:
// - overlay throughput and connection rate, task to task across the two nodes over the VXLAN
//   overlay, against a direct veth made for the run between the same two task namespaces;
// - routing-mesh requests per second: HTTP to a published port on the node WITHOUT the task
//   (host → node 1 → ingress sandbox → overlay → the task on node 2), against HTTP straight to
//   the task's overlay address from a task on node 1 (one overlay hop, no balancer).
// Issue 18's targets: overlay throughput ≥ 0.7× direct; mesh requests/s ≥ 0.5× direct.
// The load generators are node scripts run in the namespaces with nsenter (the machine has no
// iperf); every run goes through the same generator, so the ratios compare paths, not tools.
// Usage: node bench/swarm-net.mjs [seconds per measurement]   (root; after `npm run build`)
import { spawnSync, spawn } from 'node:child_process';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const SECONDS = Number(process.argv[2] ?? 3);
const NAME = 'bsnet';
const NET = process.env.SWARM_LOCAL_SUBNET ?? '10.234.0';
const env = { ...process.env, SWARM_LOCAL_NAME: NAME, SWARM_LOCAL_SUBNET: NET };
const sock = (i) => `unix:///run/berth-${NAME}/n${i}/berth.sock`;
const VETH = ['bsnd0', 'bsnd1'];
const DIRECT = ['10.249.77.1', '10.249.77.2'];

function sh(cmd, args, o = {}) {
  const r = spawnSync(cmd, args, { env, encoding: 'utf8', maxBuffer: 64 << 20, ...o });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr || r.stdout}`);
  return r.stdout;
}
const docker = (i, args) => sh('docker', ['-H', sock(i), ...args]);
const json = (i, args) => JSON.parse(docker(i, args));

// The generators: a sink (counts bytes and connections, serves nothing), a source (writes as
// fast as the socket takes for `secs`), a connector (connect + close, 4 at a time) and an HTTP
// client (new connection per request, 8 at a time, as the mesh balances per connection).
const SINK = `const net=require('net');let b=0,c=0;net.createServer(s=>{c++;s.on('data',d=>{b+=d.length});s.on('error',()=>{})}).listen(+process.argv[1],()=>console.log('ready'));process.on('SIGTERM',()=>{console.log(JSON.stringify({b,c}));process.exit(0)})`;
const SOURCE = `const net=require('net');const [h,p,secs]=process.argv.slice(1);const buf=Buffer.alloc(1<<16);let n=0;const s=net.connect(+p,h,()=>{const t0=Date.now();const go=()=>{while(Date.now()-t0<secs*1000){n+=buf.length;if(!s.write(buf))return s.once('drain',go)}s.end(()=>{console.log(JSON.stringify({bytes:n,ms:Date.now()-t0}))})};go()})`;
const CONNECT = `const net=require('net');const [h,p,secs]=process.argv.slice(1);let n=0,f=0;const end=Date.now()+secs*1000;const one=()=>{if(Date.now()>end)return Promise.resolve();return new Promise(r=>{const s=net.connect(+p,h,()=>{n++;s.destroy();r()});s.on('error',()=>{f++;r()})}).then(one)};Promise.all([one(),one(),one(),one()]).then(()=>console.log(JSON.stringify({n,f,secs:+secs})))`;
const HTTP = `const http=require('http');const [url,secs]=process.argv.slice(1);let n=0,f=0;const end=Date.now()+secs*1000;const agent=new http.Agent({keepAlive:false});const one=()=>{if(Date.now()>end)return Promise.resolve();return new Promise(r=>{http.get(url,{agent},res=>{res.resume();res.on('end',()=>{res.statusCode===200?n++:f++;r()})}).on('error',()=>{f++;r()})}).then(one)};Promise.all(Array.from({length:8},one)).then(()=>console.log(JSON.stringify({n,f,secs:+secs})))`;

const inNs = (pid, code, args) => ['nsenter', [`--net=/proc/${pid}/ns/net`, '--', process.execPath, '-e', code, ...args.map(String)]];
function runIn(pid, code, args) {
  const [cmd, a] = inNs(pid, code, args);
  return JSON.parse(sh(cmd, a).trim().split('\n').pop());
}
function sink(pid, port) {
  const [cmd, a] = inNs(pid, SINK, [port]);
  const p = spawn(cmd, a, { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  p.stdout.on('data', (d) => { out += d; });
  const ready = new Promise((resolve, reject) => {
    const t = setInterval(() => { if (out.includes('ready')) { clearInterval(t); resolve(); } }, 20);
    p.on('exit', () => { clearInterval(t); reject(new Error('sink exited')); });
  });
  return { ready, stop: () => new Promise((r) => { p.removeAllListeners('exit'); p.on('exit', () => r(JSON.parse(out.trim().split('\n').pop()))); p.kill('SIGTERM'); }) };
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

let up = false;
const cleanup = () => {
  spawnSync('ip', ['link', 'del', 'dev', VETH[0]]);
  if (up) spawnSync('bash', [join(root, 'scripts/swarm-local'), 'down'], { env });
};
process.on('exit', cleanup);
for (const s of ['SIGINT', 'SIGTERM']) process.on(s, () => process.exit(130));

async function main() {
  sh('bash', [join(root, 'scripts/swarm-local'), 'up', '2']);
  up = true;
  const init = docker(1, ['swarm', 'init', '--advertise-addr', `${NET}.11`]);
  const token = /--token (\S+)/.exec(init)[1];
  docker(2, ['swarm', 'join', '--token', token, `${NET}.11:2377`]);
  const ids = [1, 2].map((i) => json(i, ['info', '--format', '{{json .Swarm.NodeID}}']));
  docker(1, ['network', 'create', '-d', 'overlay', 'benchnet']);
  docker(1, ['service', 'create', '--detach', '--name', 'srv', '--network', 'benchnet', '--publish', '8080:80', '--constraint', `node.id==${ids[1]}`,
    'busybox', 'sh', '-c', 'mkdir -p /www && echo ok > /www/index.html && exec httpd -f -p 80 -h /www']);
  docker(1, ['service', 'create', '--detach', '--name', 'cli', '--network', 'benchnet', '--constraint', `node.id==${ids[0]}`, 'busybox', 'sleep', '1000000']);
  const deadline = Date.now() + 120_000;
  let tasks;
  for (;;) {
    const ts = JSON.parse(sh('curl', ['-sS', '--unix-socket', `/run/berth-${NAME}/n1/berth.sock`, 'http://x/tasks']));
    const run = ts.filter((t) => t.Status.State === 'running' && t.DesiredState === 'running');
    if (run.length === 2) { tasks = run; break; }
    if (Date.now() > deadline) throw new Error('the two tasks did not start');
    await new Promise((r) => setTimeout(r, 200));
  }
  const svcs = json(1, ['service', 'inspect', 'srv', 'cli']);
  const byName = (n) => tasks.find((t) => t.ServiceID === svcs.find((s) => s.Spec.Name === n).ID);
  const srv = byName('srv');
  const cli = byName('cli');
  const pidOf = (node, t) => json(node, ['inspect', '--format', '{{json .State.Pid}}', t.Status.ContainerStatus.ContainerID]);
  const srvPid = pidOf(2, srv);
  const cliPid = pidOf(1, cli);
  const overlayIp = (t) => t.NetworksAttachments.find((a) => a.Network.Spec.Name === 'benchnet').Addresses[0].split('/')[0];
  const srvIp = overlayIp(srv);
  // The direct path: a veth between the same two namespaces.
  sh('ip', ['link', 'add', VETH[0], 'netns', String(cliPid), 'type', 'veth', 'peer', 'name', VETH[1], 'netns', String(srvPid)]);
  sh('nsenter', [`--net=/proc/${cliPid}/ns/net`, '--', 'ip', 'addr', 'add', `${DIRECT[0]}/30`, 'dev', VETH[0]]);
  sh('nsenter', [`--net=/proc/${cliPid}/ns/net`, '--', 'ip', 'link', 'set', VETH[0], 'up']);
  sh('nsenter', [`--net=/proc/${srvPid}/ns/net`, '--', 'ip', 'addr', 'add', `${DIRECT[1]}/30`, 'dev', VETH[1]]);
  sh('nsenter', [`--net=/proc/${srvPid}/ns/net`, '--', 'ip', 'link', 'set', VETH[1], 'up']);

  const s = sink(srvPid, 5001);
  await s.ready;
  const tput = { overlay: [], direct: [] };
  const conns = { overlay: [], direct: [] };
  for (let round = 0; round < 3; round++) {
    for (const [path, ip] of [['overlay', srvIp], ['direct', DIRECT[1]]]) {
      const r = runIn(cliPid, SOURCE, [ip, 5001, SECONDS]);
      tput[path].push((r.bytes * 8) / (r.ms / 1000) / 1e9);
      const c = runIn(cliPid, CONNECT, [ip, 5001, SECONDS]);
      if (c.f) throw new Error(`${path}: ${c.f} connects failed`);
      conns[path].push(c.n / c.secs);
    }
  }
  await s.stop();
  // Mesh: the host asks node 1 (no task there) on the published port; direct: the cli task asks the srv task.
  const mesh = [];
  const direct = [];
  for (let round = 0; round < 3; round++) {
    const m = JSON.parse(sh(process.execPath, ['-e', HTTP, `http://${NET}.11:8080/`, SECONDS]).trim());
    const d = runIn(cliPid, HTTP, [`http://${srvIp}/`, SECONDS]);
    if (m.f || d.f) throw new Error(`HTTP failures: mesh ${m.f}, direct ${d.f}`);
    mesh.push(m.n / m.secs);
    direct.push(d.n / d.secs);
  }
  const T = { o: median(tput.overlay), d: median(tput.direct) };
  const C = { o: median(conns.overlay), d: median(conns.direct) };
  const M = { m: median(mesh), d: median(direct) };
  const f = (x, n = 2) => x.toFixed(n);
  console.log(`swarm-net: 2 berth nodes, ${SECONDS} s per measurement, median of 3`);
  console.log(`  throughput        overlay ${f(T.o)} Gbit/s   direct veth ${f(T.d)} Gbit/s   ratio ${f(T.o / T.d)}× (target ≥ 0.7×)`);
  console.log(`  connections/s     overlay ${f(C.o, 0)}        direct veth ${f(C.d, 0)}        ratio ${f(C.o / C.d)}×`);
  console.log(`  HTTP requests/s   mesh    ${f(M.m, 0)}        direct      ${f(M.d, 0)}        ratio ${f(M.m / M.d)}× (target ≥ 0.5×)`);
  console.log(`  runs: throughput overlay ${tput.overlay.map((x) => f(x)).join('/')}, direct ${tput.direct.map((x) => f(x)).join('/')}; mesh ${mesh.map((x) => f(x, 0)).join('/')}, direct ${direct.map((x) => f(x, 0)).join('/')}`);
}

main().then(() => process.exit(0), (e) => { console.error(`swarm-net: ${e.message}`); process.exit(1); });
