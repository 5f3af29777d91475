// Networks as third-party clients use them, through the clients themselves: the docker CLI,
// docker-py (Debian's python3-docker) and docker-compose 1.29. Network names with spaces; a
// running container disconnected from its only network connects again (its default route and
// published ports come back); link aliases of EndpointSettings.Links answer through the
// embedded DNS on user networks; `rm --link` removes a legacy link; the swarm routes of a node
// outside a swarm. Traffic goes only to loopback and to this daemon's bridges, bounded.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDaemon, hasDocker, httpGet, type Daemon, type RunOut } from './harness.ts';

const hasPy = spawnSync('python3', ['-c', 'import docker']).status === 0;
const hasCompose = spawnSync('docker-compose', ['version', '--short']).status === 0;
const noDocker = hasDocker ? false : 'no docker client installed on this machine';

let d: Daemon;
before(async () => { d = await startDaemon(); });
after(async () => { await d?.stop(); });

const ok = (r: RunOut) => { assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`); return r; };

/** docker-py against this daemon: the script gets `c` (an APIClient) and `dc` (a DockerClient). */
function py(script: string): RunOut {
  const prelude = `import docker, sys\nc = docker.APIClient(base_url='unix://${d.sock}', version='1.41')\ndc = docker.DockerClient(base_url='unix://${d.sock}', version='1.41')\n`;
  const r = spawnSync('python3', ['-c', prelude + script], { timeout: 60_000 });
  return { status: r.status, stdout: r.stdout?.toString() ?? '', stderr: r.stderr?.toString() ?? '' };
}

const get = (port: number, host = '127.0.0.1') => httpGet(host, port);

async function getRetry(port: number, host = '127.0.0.1'): Promise<string> {
  for (let i = 0; i < 50; i++) {
    const b = await get(port, host).catch(() => '');
    if (b) return b;
    await new Promise((r) => setTimeout(r, 100));
  }
  return get(port, host);
}

const serve = (text: string) => ['sh', '-c', `mkdir -p /www && echo ${text} > /www/index.html && exec httpd -f -p 80 -h /www`];

test('a network name with a space, as Docker allows: create, run on it, inspect, rm; an empty name is refused', { skip: noDocker }, async () => {
  try {
    const id = ok(d.docker(['network', 'create', 'test 01'])).stdout.trim();
    assert.match(id, /^[0-9a-f]{64}$/);
    assert.equal(ok(d.docker(['network', 'inspect', '-f', '{{.Name}} {{.Driver}}', 'test 01'])).stdout, 'test 01 bridge\n');
    ok(d.docker(['run', '-d', '--name', 'spaced', '--network', 'test 01', 'busybox', 'sleep', '120']));
    const ip = ok(d.docker(['inspect', '-f', '{{(index .NetworkSettings.Networks "test 01").IPAddress}}', 'spaced'])).stdout.trim();
    assert.match(ip, /^\d+\.\d+\.\d+\.\d+$/);
    assert.match(ok(d.docker(['network', 'ls', '--format', '{{.Name}}'])).stdout, /^test 01$/m);
    const blank = d.docker(['network', 'create', ' ']);
    assert.notEqual(blank.status, 0);
    assert.match(blank.stderr, /Error response from daemon: invalid name: name is empty/);
    ok(d.docker(['rm', '-f', 'spaced']));
    assert.equal(ok(d.docker(['network', 'rm', 'test 01'])).stdout, 'test 01\n');
  } finally {
    d.docker(['rm', '-f', 'spaced']);
    d.docker(['network', 'rm', 'test 01']);
  }
});

test('a running container disconnected from its only network connects again: address, default route and published port come back', { skip: noDocker }, async () => {
  const port = 41000 + Math.floor(Math.random() * 8000);
  try {
    ok(d.docker(['network', 'create', 'solo']));
    ok(d.docker(['run', '-d', '--name', 'wanderer', '-p', `127.0.0.1:${port}:80`, 'busybox', ...serve('wanderer-ok')]));
    assert.equal(await getRetry(port), 'wanderer-ok\n');
    ok(d.docker(['network', 'disconnect', 'bridge', 'wanderer']));
    assert.equal(ok(d.docker(['exec', 'wanderer', 'sh', '-c', 'ip -o -4 addr show | grep -v " lo " | wc -l; ip route | wc -l'])).stdout, '0\n0\n');
    assert.equal(ok(d.docker(['inspect', '-f', '{{json .NetworkSettings.Networks}} {{json .NetworkSettings.Ports}}', 'wanderer'])).stdout, '{} {}\n');
    await assert.rejects(get(port));
    const twice = d.docker(['network', 'disconnect', 'bridge', 'wanderer']);
    const wid = ok(d.docker(['inspect', '-f', '{{.Id}}', 'wanderer'])).stdout.trim();
    assert.deepEqual([twice.status, twice.stderr], [1, `Error response from daemon: container ${wid} is not connected to network bridge\n`]);
    // Docker answers 200 here, and the container is on the default bridge again.
    const r = d.docker(['network', 'connect', 'bridge', 'wanderer']);
    assert.deepEqual([r.status, r.stdout, r.stderr], [0, '', '']);
    const gw = ok(d.docker(['network', 'inspect', '-f', '{{(index .IPAM.Config 0).Gateway}}', 'bridge'])).stdout.trim();
    const routes = ok(d.docker(['exec', 'wanderer', 'ip', 'route'])).stdout;
    assert.match(routes, new RegExp(`^default via ${gw.replace(/\./g, '\\.')} dev eth0`, 'm'));
    assert.equal(await getRetry(port), 'wanderer-ok\n');
    assert.equal(ok(d.docker(['port', 'wanderer', '80'])).stdout, `127.0.0.1:${port}\n`);
    // Off the bridge again and onto a user network instead: the ports follow to the new network.
    ok(d.docker(['network', 'disconnect', 'bridge', 'wanderer']));
    ok(d.docker(['network', 'connect', 'solo', 'wanderer']));
    assert.match(ok(d.docker(['exec', 'wanderer', 'ip', 'route'])).stdout, /^default via \S+ dev eth0/m);
    assert.equal(await getRetry(port), 'wanderer-ok\n');
    // Connected to both, then off the one with the default route: the other takes it over.
    ok(d.docker(['network', 'connect', 'bridge', 'wanderer']));
    ok(d.docker(['network', 'disconnect', 'solo', 'wanderer']));
    assert.match(ok(d.docker(['exec', 'wanderer', 'ip', 'route'])).stdout, new RegExp(`^default via ${gw.replace(/\./g, '\\.')} dev eth1`, 'm'));
    // Stopped while on no network at all: its namespace goes with it.
    ok(d.docker(['network', 'disconnect', 'bridge', 'wanderer']));
    const id = ok(d.docker(['inspect', '-f', '{{.Id}}', 'wanderer'])).stdout.trim();
    const nsOf = () => spawnSync('ls', ['/run/netns']).stdout.toString().split('\n').filter((n) => n.endsWith(`-${id.slice(0, 12)}`));
    assert.equal(nsOf().length, 1);
    ok(d.docker(['stop', '-t', '0', 'wanderer']));
    assert.deepEqual(nsOf(), []);
    // Started again it stays on no network (lo only), and can still be connected.
    ok(d.docker(['start', 'wanderer']));
    assert.equal(ok(d.docker(['inspect', '-f', '{{json .NetworkSettings.Networks}}', 'wanderer'])).stdout, '{}\n');
    assert.equal(ok(d.docker(['exec', 'wanderer', 'sh', '-c', 'ip -o -4 addr show | cut -d" " -f2'])).stdout, 'lo\n');
    ok(d.docker(['network', 'connect', 'solo', 'wanderer']));
    assert.match(ok(d.docker(['exec', 'wanderer', 'ip', 'route'])).stdout, /^default via \S+ dev eth0/m);
    assert.equal(await getRetry(port), 'wanderer-ok\n');
  } finally {
    d.docker(['rm', '-f', 'wanderer']);
    d.docker(['network', 'rm', 'solo']);
  }
});

test('docker rm --link removes a legacy link (DELETE /containers/<parent>/<alias>?link=1); inspect shows links as Docker does', { skip: noDocker }, async () => {
  try {
    ok(d.docker(['run', '-d', '--name', 'lweb', '--expose', '80', 'busybox', 'sleep', '300']));
    ok(d.docker(['run', '-d', '--name', 'lapp', '--link', 'lweb:site', '--link', 'lweb:other', 'busybox', 'sleep', '300']));
    const links = () => ok(d.docker(['inspect', '-f', '{{json .HostConfig.Links}}', 'lapp'])).stdout;
    assert.equal(links(), '["/lweb:/lapp/site","/lweb:/lapp/other"]\n');
    assert.match(ok(d.docker(['exec', 'lapp', 'cat', '/etc/hosts'])).stdout, /\ssite\b/);
    assert.deepEqual(ok(d.docker(['rm', '--link', '/lapp/site'])).stdout, '/lapp/site\n');
    assert.equal(links(), '["/lweb:/lapp/other"]\n');
    // The berth CLI sends the name escaped (lapp%2Fother): the same route.
    assert.deepEqual(ok(d.berth(['rm', '--link', 'lapp/other'])).stdout, 'lapp/other\n');
    assert.equal(links(), 'null\n');
    const again = d.docker(['rm', '--link', 'lapp/site']);
    assert.deepEqual([again.status, again.stderr], [1, 'Error response from daemon: No such container: lapp/site\n']);
    const own = d.docker(['rm', '--link', 'lweb']);
    assert.deepEqual([own.status, own.stderr], [1, 'Error response from daemon: Conflict, cannot remove the default link name of the container\n']);
    // Both containers are still there, running; after a restart the link's name is gone.
    assert.equal(ok(d.docker(['ps', '-q', '-f', 'name=^l(web|app)$'])).stdout.split('\n').filter(Boolean).length, 2);
    ok(d.docker(['restart', '-t', '0', 'lapp']));
    assert.doesNotMatch(ok(d.docker(['exec', 'lapp', 'cat', '/etc/hosts'])).stdout, /\s(site|other)\b/);
  } finally {
    d.docker(['rm', '-f', 'lweb', 'lapp']);
  }
});

test('swarm routes outside a swarm answer as dockerd does (503), and docker-py\'s leave_swarm(force=True) passes', async () => {
  for (const [m, p] of [['GET', '/swarm'], ['POST', '/swarm/update'], ['GET', '/swarm/unlockkey'], ['POST', '/swarm/unlock'], ['GET', '/nodes'], ['GET', '/nodes/x'],
    ['DELETE', '/nodes/x'], ['GET', '/services'], ['POST', '/services/create'], ['GET', '/services/x/logs'], ['GET', '/tasks'], ['GET', '/tasks/x'],
    ['GET', '/secrets'], ['POST', '/secrets/create'], ['DELETE', '/configs/x'], ['GET', '/v1.41/configs']] as const) {
    const r = await d.api(m, p);
    assert.equal(r.status, 503, `${m} ${p}`);
    assert.deepEqual(r.json(), { message: 'This node is not a swarm manager. Use "docker swarm init" or "docker swarm join" to connect this node to swarm and try again.' });
  }
  const leave = await d.api('POST', '/swarm/leave?force=1');
  assert.equal(leave.status, 503);
  assert.deepEqual(leave.json(), { message: 'This node is not part of a swarm' });
  // A bad init changes nothing (the swarm lab tests a real one, in network namespaces of its own).
  const init = await d.api('POST', '/swarm/init', { ListenAddr: '0.0.0.0:99999' });
  assert.equal(init.status, 400);
  assert.match(init.json().message, /invalid listen address/);
  assert.equal((await d.api('GET', '/info')).json().Swarm.LocalNodeState, 'inactive');
  if (hasDocker) {
    const r = d.docker(['swarm', 'leave', '--force']);
    assert.deepEqual([r.status, r.stderr], [1, 'Error response from daemon: This node is not part of a swarm\n']);
    const n = d.docker(['node', 'ls']);
    assert.equal(n.stderr, 'Error response from daemon: This node is not a swarm manager. Use "docker swarm init" or "docker swarm join" to connect this node to swarm and try again.\n');
    assert.equal(ok(d.docker(['info', '-f', '{{.Swarm.LocalNodeState}}'])).stdout, 'inactive\n');
  }
  if (hasPy) {
    const r = py(`print(c.leave_swarm(force=True))
try:
    c.leave_swarm()
except docker.errors.APIError as e:
    print(e.response.status_code, e.explanation)
try:
    dc.services.list()
except docker.errors.APIError as e:
    print(e.response.status_code)
`);
    assert.equal(r.stdout, 'True\n503 This node is not part of a swarm\n503\n', r.stderr);
  }
});

test('docker-py\'s network calls answer as dockerd does: IPAM, scope, predefined names and drivers, connect options, prune', { skip: hasPy ? false : 'no docker-py' }, async () => {
  const r = py(`import json
def t(f):
    try:
        return f()
    except docker.errors.APIError as e:
        return [e.response.status_code, e.explanation]
out = []
ipam = docker.types.IPAMConfig(pool_configs=[docker.types.IPAMPool(subnet='10.241.0.0/16', iprange='10.241.5.0/24', gateway='10.241.5.254', aux_addresses={'a': '10.241.1.5'})], options={'foo': 'bar'})
c.create_network('pyipam', ipam=ipam, labels={'k': 'v'}, internal=True, attachable=True)
n = c.inspect_network('pyipam')
out.append([n['IPAM'], n['Labels'], n['Internal'], n['Attachable']])
out.append(c.inspect_network('pyipam', scope='local')['Scope'])
out.append(t(lambda: c.inspect_network('pyipam', scope='global')))
out.append(t(lambda: c.inspect_network('pyipam', verbose=True)['Name']))
out.append(t(lambda: c.create_network('pyhost', driver='host')))
out.append(t(lambda: c.create_network('pynull', driver='null')))
out.append(t(lambda: c.create_network('default')))
out.append(t(lambda: c.create_network('pyipam', check_duplicate=True)))
ct = c.create_container('busybox', 'sleep 60')
c.start(ct)
c.connect_container_to_network(ct, 'pyipam', aliases=['foo', 'bar'], ipv4_address='10.241.5.24', link_local_ips=['169.254.8.8'])
ep = c.inspect_container(ct)['NetworkSettings']['Networks']['pyipam']
out.append([ep['IPAddress'], ep['Aliases'], ep['IPAMConfig'], ep['Gateway'], ct['Id'][:12]])
out.append(t(lambda: c.connect_container_to_network(ct, 'pyipam')))
c.disconnect_container_from_network(ct, 'pyipam', force=True)
out.append(sorted(c.inspect_container(ct)['NetworkSettings']['Networks']))
c.remove_container(ct, force=True)
out.append(c.prune_networks(filters={'label': 'k=v'}))
print(json.dumps(out))
`);
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout) as unknown[];
  // Connected twice: Docker's 403 with the container's name.
  const dup = out.splice(9, 1)[0] as [number, string];
  assert.equal(dup[0], 403);
  assert.match(dup[1], /^endpoint with name \S+ already exists in network pyipam$/);
  // docker-py 5 speaks API 1.41: before 1.45 a user network's Aliases also hold the short ID
  // (moby's inspect adds it back for older clients; the hostname is the short ID here).
  const ep = out[8] as unknown[];
  (ep[1] as string[]).splice((ep[1] as string[]).indexOf(ep.pop() as string), 1);
  assert.deepEqual(out, [
    [{ Driver: 'default', Options: { foo: 'bar' }, Config: [{ Subnet: '10.241.0.0/16', IPRange: '10.241.5.0/24', Gateway: '10.241.5.254', AuxiliaryAddresses: { a: '10.241.1.5' } }] }, { k: 'v' }, true, true],
    'local',
    [404, 'network pyipam not found'],
    'pyipam',
    [403, 'only one instance of "host" network is allowed'],
    [403, 'only one instance of "null" network is allowed'],
    [403, 'operation is not permitted on predefined default network '],
    [409, 'network with name pyipam already exists'],
    ['10.241.5.24', ['foo', 'bar'], { IPv4Address: '10.241.5.24', LinkLocalIPs: ['169.254.8.8'] }, ''], // internal: no gateway, as in Docker
    ['bridge'],
    { NetworksDeleted: ['pyipam'] },
  ]);
});

test('link aliases (EndpointSettings.Links) answer through the embedded DNS on a user network, for the linking container only', { skip: noDocker }, async () => {
  try {
    ok(d.docker(['network', 'create', 'lnk']));
    ok(d.docker(['run', '-d', '--network', 'lnk', '--name', 'upstream', 'busybox', 'sleep', '300']));
    const ip = ok(d.docker(['inspect', '-f', '{{.NetworkSettings.Networks.lnk.IPAddress}}', 'upstream'])).stdout.trim();
    // The docker CLI puts --link into the endpoint's Links on a user network.
    const r = ok(d.docker(['run', '--rm', '--network', 'lnk', '--dns', '127.0.0.154', '--link', 'upstream:bar', 'busybox', 'sh', '-c', 'nslookup bar; nslookup bar.lnk; nslookup upstream']));
    assert.equal(r.stdout.split('\n').filter((l) => l.startsWith('Address: ')).join('\n'), [1, 2, 3].map(() => `Address: ${ip}`).join('\n'), r.stdout);
    // Another container on the network does not know the alias (the query goes to its --dns, which refuses).
    const other = d.docker(['run', '--rm', '--network', 'lnk', '--dns', '127.0.0.154', 'busybox', 'nslookup', 'bar']);
    assert.notEqual(other.status, 0, other.stdout);
    assert.doesNotMatch(other.stdout, new RegExp(`Address: ${ip.replace(/\./g, '\\.')}`));
    // A link to a container that does not exist is the client's mistake (400), on the default bridge.
    const missing = d.docker(['run', '--rm', '--link', 'nosuch:x', 'busybox', 'true']);
    assert.equal(missing.status, 125);
    assert.equal(missing.stderr, 'docker: Error response from daemon: could not get container for nosuch: No such container: nosuch\n\nRun \'docker run --help\' for more information\n');
  } finally {
    d.docker(['rm', '-f', 'upstream']);
    d.docker(['network', 'rm', 'lnk']);
  }
});

test('docker-compose 1.29: `links: [upstream:bar]` on a user network resolves bar from the linking service', { skip: hasCompose ? false : 'no docker-compose installed' }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-compose-'));
  const project = `lk${Math.random().toString(36).slice(2, 8)}`;
  const compose = (args: string[]) => {
    const r = spawnSync('docker-compose', ['-p', project, '-f', join(dir, 'docker-compose.yml'), ...args],
      { env: { ...process.env, DOCKER_HOST: `unix://${d.sock}` }, timeout: 120_000 });
    return { status: r.status, stdout: r.stdout?.toString() ?? '', stderr: r.stderr?.toString() ?? '' };
  };
  writeFileSync(join(dir, 'docker-compose.yml'), [
    'version: "2.4"',
    'services:',
    '  upstream:',
    '    image: busybox',
    '    command: sleep 300',
    '    networks: [front]',
    '  client:',
    '    image: busybox',
    '    command: sleep 300',
    '    links: ["upstream:bar"]',
    '    dns: 127.0.0.154',
    '    networks: [front]',
    'networks:',
    '  front: {}',
    '',
  ].join('\n'));
  try {
    ok(compose(['up', '-d']));
    const ip = ok(d.docker(['inspect', '-f', `{{(index .NetworkSettings.Networks "${project}_front").IPAddress}}`, `${project}_upstream_1`])).stdout.trim();
    assert.match(ip, /^\d+\.\d+\.\d+\.\d+$/);
    const r = ok(d.docker(['exec', `${project}_client_1`, 'nslookup', 'bar']));
    assert.match(r.stdout, new RegExp(`Address: ${ip.replace(/\./g, '\\.')}\n`), r.stdout);
    ok(compose(['down']));
    assert.equal(d.docker(['network', 'ls', '-q', '-f', `name=${project}_front`]).stdout, '');
  } finally {
    compose(['down']);
    rmSync(dir, { recursive: true, force: true });
  }
});
