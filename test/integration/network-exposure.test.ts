// Network exposure, as Docker 28 closes it. "Another host" on the same link is a network
// namespace of this test joined to the host by a veth pair (a /30 nobody routes yet); it routes
// the berth bridges' subnets, and 127.0.0.1, through the host's end of the pair. It must not reach
//  (a) a port published on 127.0.0.1: with 127.0.0.1 routed to the host, its packets met the
//      DNAT of the published port before any routing decision (moby#41872, the forged SYN to the
//      host's MAC), so the container answered another machine;
//  (b) a container's unpublished ports (or its published container port, directly), by routing
//      the bridge subnet through the host: forwarding into a bridge let anything in.
//  (c) with --userland-proxy=false, the host's own 127.0.0.1 services from a container (below).
// What must keep working: the host reaches 127.0.0.1:PORT; a port published on every address
// answers the other host through the host's address; containers reach each other, the host and
// the other host (masquerade out, replies back in).
// Traffic goes only to loopback, the bridges of this file's daemons and the test's own /30.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDaemon, type Daemon, httpGet } from './harness.ts';
import { hostRoutes } from '../../src/network/link.ts';
import { cidrsOverlap, formatIPv4, parseCidr } from '../../src/network/ipam.ts';

const tag = randomBytes(3).toString('hex');
const ns = `bexp-${tag}`;
const hostIf = `vxh${tag}`;
const otherIf = `vxo${tag}`;
let hostAddr = '';
let otherAddr = '';
let d: Daemon;

function sh(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { timeout: 15_000 });
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')}: ${r.stderr}`);
  return r.stdout.toString();
}

/** A /30 that no route and no interface address of the host touches. */
async function freeLink(): Promise<{ host: string; other: string }> {
  const addrs = (JSON.parse(sh('ip', ['-j', '-4', 'addr'])) as { addr_info?: { local: string; prefixlen: number }[] }[])
    .flatMap((l) => l.addr_info ?? []).map((a) => `${a.local}/${a.prefixlen}`);
  const taken = [...await hostRoutes(), ...addrs].map(parseCidr);
  for (let i = 1; i < 255; i++) {
    const c = parseCidr(`10.238.${i}.0/30`);
    if (!taken.some((t) => cidrsOverlap(c, t))) return { host: formatIPv4(c.base + 1), other: formatIPv4(c.base + 2) };
  }
  throw new Error('no free /30 in 10.238.0.0/16');
}

before(async () => {
  assert.equal(process.getuid?.(), 0, 'needs root');
  d = await startDaemon();
  // berth turns forwarding on for its bridges; everything below relies on it.
  assert.equal(readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim(), '1');
  ({ host: hostAddr, other: otherAddr } = await freeLink());
  sh('ip', ['netns', 'add', ns]);
  sh('ip', ['link', 'add', hostIf, 'type', 'veth', 'peer', 'name', otherIf, 'netns', ns]);
  sh('ip', ['addr', 'add', `${hostAddr}/30`, 'dev', hostIf]);
  sh('ip', ['link', 'set', hostIf, 'up']);
  sh('ip', ['-n', ns, 'addr', 'add', `${otherAddr}/30`, 'dev', otherIf]);
  sh('ip', ['-n', ns, 'link', 'set', otherIf, 'up']);
  // The other host's `lo` stays down, so 127.0.0.0/8 is no local address there and this route
  // sends 127.0.0.1 to the host: the packet moby#41872 forges. route_localnet on its own end
  // lets the attacker accept the answers, which come from 127.0.0.1.
  sh('ip', ['-n', ns, 'route', 'add', '127.0.0.1/32', 'via', hostAddr]);
  sh('ip', ['netns', 'exec', ns, 'sysctl', '-q', '-w', `net.ipv4.conf.${otherIf}.route_localnet=1`]);
});

after(async () => {
  spawnSync('ip', ['netns', 'del', ns]); // takes both ends of the veth pair along
  spawnSync('ip', ['link', 'del', hostIf]);
  await d?.stop();
});

/** The other host routes a berth network's subnet through the host. */
function routeFromOther(subnet: string): void {
  sh('ip', ['-n', ns, 'route', 'replace', subnet, 'via', hostAddr]);
}

/** A Node HTTP GET with a 3 s timeout, for `node -e` inside the other host's namespace. */
const GET_SCRIPT = `
const req = require('node:http').get({ host: process.argv[1], port: Number(process.argv[2]), path: '/', timeout: 3000 }, (r) => {
  let b = ''; r.on('data', (c) => { b += c; }); r.on('end', () => { process.stdout.write(b); process.exit(0); });
});
req.on('timeout', () => { process.stderr.write('timeout'); process.exit(1); });
req.on('error', (e) => { process.stderr.write(e.code || e.message); process.exit(1); });`;

/** One bounded HTTP GET from the other host; undefined when nothing answered. */
function fromOther(host: string, port: number): string | undefined {
  const r = spawnSync('ip', ['netns', 'exec', ns, process.execPath, '-e', GET_SCRIPT, host, String(port)], { timeout: 15_000 });
  return r.status === 0 ? r.stdout.toString() : undefined;
}

/** A GET from the other host that must succeed (a few bounded tries: the container may be starting). */
async function fromOtherRetry(host: string, port: number): Promise<string | undefined> {
  for (let i = 0; i < 10; i++) {
    const b = fromOther(host, port);
    if (b !== undefined) return b;
    await new Promise((r) => setTimeout(r, 200));
  }
  return undefined;
}

/** One bounded HTTP GET from the host. */
const get = (host: string, port: number) => httpGet(host, port);

async function getRetry(host: string, port: number): Promise<string> {
  for (let i = 0; i < 30; i++) {
    const b = await get(host, port).catch(() => '');
    if (b) return b;
    await new Promise((r) => setTimeout(r, 100));
  }
  return get(host, port);
}

const ok = (r: { status: number | null; stdout: string; stderr: string }) => { assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`); return r; };

/** httpd answering `text` on port 80, and on 81 too (81 is never published). */
const serve = (text: string) => ['sh', '-c', `mkdir -p /www && echo ${text} > /www/index.html && httpd -p 81 -h /www && exec httpd -f -p 80 -h /www`];

function randomPort(): number { return 20000 + Math.floor(Math.random() * 20000); }

async function subnetOf(dm: Daemon, network: string): Promise<{ subnet: string; gateway: string }> {
  const n = (await dm.api('GET', `/networks/${network}`)).json();
  return { subnet: n.IPAM.Config[0].Subnet, gateway: n.IPAM.Config[0].Gateway };
}

async function ipOf(dm: Daemon, container: string, network = 'bridge'): Promise<string> {
  return (await dm.api('GET', `/containers/${container}/json`)).json().NetworkSettings.Networks[network].IPAddress;
}

/** (a) for one daemon: the host reaches 127.0.0.1:port, the other host does not. */
async function loopbackOnly(dm: Daemon, cli: 'berth' | 'docker', name: string): Promise<void> {
  const port = randomPort();
  ok(dm[cli](['run', '-d', '--name', name, '-p', `127.0.0.1:${port}:80`, 'busybox', ...serve(`${name}-answers`)]));
  assert.equal(await getRetry('127.0.0.1', port), `${name}-answers\n`);
  assert.equal(fromOther('127.0.0.1', port), undefined, `another host reached 127.0.0.1:${port} through ${cli}'s port`);
}

test('a port published on 127.0.0.1 answers the host, not another host that routes 127.0.0.1 through it', async () => {
  routeFromOther((await subnetOf(d, 'bridge')).subnet);
  try {
    await loopbackOnly(d, 'berth', 'lo1');
    // The forged route itself works: a port published on every address answers through it
    // (it is public anyway), so the refusal above is the rule's doing, not a broken setup.
    const all = randomPort();
    ok(d.berth(['run', '-d', '--name', 'all1', '-p', `${all}:80`, 'busybox', ...serve('all1-answers')]));
    assert.equal(await fromOtherRetry('127.0.0.1', all), 'all1-answers\n');
    // docker run -p 127.0.0.1:... through the docker CLI
    if (spawnSync('docker', ['--version']).status === 0) await loopbackOnly(d, 'docker', 'lo2');
  } finally {
    d.berth(['rm', '-f', 'lo1', 'lo2', 'all1']);
  }
});

test('--userland-proxy=false: 127.0.0.1 reaches the container through DNAT alone, another host does not; containers do not reach the host\'s loopback', async () => {
  const d2 = await startDaemon({ extraArgs: ['--userland-proxy=false'] });
  try {
    routeFromOther((await subnetOf(d2, 'bridge')).subnet);
    await loopbackOnly(d2, 'berth', 'lo3');
    // nothing of berthd's listens on the port: the kernel forwards it
    const port = Number((await d2.api('GET', '/containers/lo3/json')).json().NetworkSettings.Ports['80/tcp'][0].HostPort);
    assert.equal(spawnSync('ss', ['-Htln', `sport = :${port}`]).stdout.toString().trim(), '');
    await loopbackClosedToContainers(d2);
  } finally {
    d2.berth(['rm', '-f', 'lo3', 'lb']);
    await d2.stop();
  }
});

/**
 * (c) Loopback DNAT sets route_localnet=1 on the bridges; that must not open the host's services
 * on 127.0.0.1 to a container that sends 127.0.0.1 to its gateway (NET_ADMIN here to take
 * 127.0.0.1 off its lo and route it; CAP_NET_RAW, in the default set, forges the same packets).
 * The container cannot finish a handshake (the answers come from 127.0.0.1, a martian there), so
 * the host side is watched: a test-owned nft counter ahead of berth's rules proves the SYNs
 * arrive, and the listener must hold no half-open connection from them.
 */
async function loopbackClosedToContainers(dm: Daemon): Promise<void> {
  const { gateway } = await subnetOf(dm, 'bridge');
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const lport = (srv.address() as { port: number }).port;
  const table = `bexp-${tag}`;
  try {
    sh('nft', ['add', 'table', 'ip', table]);
    sh('nft', ['add', 'chain', 'ip', table, 'watch', '{ type filter hook prerouting priority -310; policy accept; }']);
    sh('nft', ['add', 'rule', 'ip', table, 'watch', 'ip', 'daddr', '127.0.0.1', 'tcp', 'dport', String(lport), 'counter']);
    ok(dm.berth(['run', '-d', '--name', 'lb', '--cap-add', 'NET_ADMIN', 'busybox', 'sh', '-c',
      `ip addr flush dev lo && ip route add 127.0.0.1/32 via ${gateway} dev eth0 && while :; do timeout 1 nc 127.0.0.1 ${lport} </dev/null; done`]));
    let arrived = 0;
    for (let i = 0; i < 50 && arrived < 3; i++) {
      await new Promise((r) => setTimeout(r, 200));
      arrived = Number(/counter packets (\d+)/.exec(sh('nft', ['list', 'chain', 'ip', table, 'watch']))?.[1] ?? 0);
    }
    assert.ok(arrived >= 3, `the container's packets for 127.0.0.1:${lport} did not reach the host (${arrived})`);
    // A delivered SYN stays half-open for a minute (the container never answers the SYN-ACK).
    const halfOpen = spawnSync('ss', ['-Htn', 'state', 'syn-recv', `sport = :${lport}`]).stdout.toString().trim();
    assert.equal(halfOpen, '', `a container reached the host's 127.0.0.1:${lport}`);
  } finally {
    dm.berth(['rm', '-f', 'lb']);
    spawnSync('nft', ['delete', 'table', 'ip', table]);
    srv.close();
  }
}

test('unpublished container ports are not routable from another host; published ones, container to container, to the host and out keep working', async () => {
  // Web servers of the test's own (processes: this one blocks in spawnSync while containers
  // run): one on the other host, for containers reaching out, and one on the host's bridge
  // gateway address, for containers reaching the host.
  const www = mkdtempSync(join(tmpdir(), 'berth-exp-'));
  for (const who of ['host', 'other']) {
    mkdirSync(join(www, who));
    writeFileSync(join(www, who, 'index.html'), `${who}-answers\n`);
  }
  const { subnet, gateway } = await subnetOf(d, 'bridge');
  routeFromOther(subnet);
  const hostPort = randomPort();
  const servers = [
    spawn('ip', ['netns', 'exec', ns, 'busybox', 'httpd', '-f', '-p', `${otherAddr}:8000`, '-h', join(www, 'other')], { stdio: 'ignore' }),
    spawn('busybox', ['httpd', '-f', '-p', `${gateway}:${hostPort}`, '-h', join(www, 'host')], { stdio: 'ignore' }),
  ];
  try {
    const pub = randomPort();
    ok(d.berth(['run', '-d', '--name', 'web', '-p', `${pub}:80`, 'busybox', ...serve('web-answers')]));
    const web = await ipOf(d, 'web');
    // the published port answers the other host through the host's address
    assert.equal(await fromOtherRetry(hostAddr, pub), 'web-answers\n');
    // container to container on the bridge: the unpublished port answers
    const peer = ok(d.berth(['run', '--rm', 'busybox', 'sh', '-c',
      `timeout 5 wget -q -O - http://${web}:81/; timeout 5 wget -q -O - http://${gateway}:${hostPort}/; timeout 5 wget -q -O - http://${otherAddr}:8000/`], { timeout: 60_000 }));
    // ... and to the host, and out to the other host (masqueraded, the answers come back in)
    assert.equal(peer.stdout, 'web-answers\nhost-answers\nother-answers\n', peer.stderr);
    // the other host: neither the unpublished port nor the container port of the published one
    assert.equal(fromOther(web, 81), undefined, `another host reached unpublished ${web}:81`);
    assert.equal(fromOther(web, 80), undefined, `another host reached ${web}:80 directly, not through the published port`);

    // The same on a user network (br-*), and on one with icc=false.
    for (const [net, opts] of [['expnet', []], ['expnoicc', ['-o', 'com.docker.network.bridge.enable_icc=false']]] as const) {
      ok(d.berth(['network', 'create', ...opts, net]));
      routeFromOther((await subnetOf(d, net)).subnet);
      const p = randomPort();
      ok(d.berth(['run', '-d', '--name', `${net}-web`, '--network', net, '-p', `${p}:80`, 'busybox', ...serve(`${net}-answers`)]));
      const ip = await ipOf(d, `${net}-web`, net);
      assert.equal(await fromOtherRetry(hostAddr, p), `${net}-answers\n`);
      assert.equal(fromOther(ip, 81), undefined, `another host reached unpublished ${ip}:81 on ${net}`);
      assert.equal(fromOther(ip, 80), undefined, `another host reached ${ip}:80 directly on ${net}`);
      const out = d.berth(['run', '--rm', '--dns', '127.0.0.154', '--network', net, 'busybox', 'sh', '-c',
        `timeout 5 wget -q -O - http://${ip}:81/; timeout 5 wget -q -O - http://${otherAddr}:8000/`], { timeout: 60_000 });
      // icc=false: the peer is cut off (as before); the way out stays open
      assert.equal(out.stdout, net === 'expnet' ? `${net}-answers\nother-answers\n` : 'other-answers\n', out.stderr);
    }
  } finally {
    d.berth(['rm', '-f', 'web', 'expnet-web', 'expnoicc-web']);
    d.berth(['network', 'rm', 'expnet', 'expnoicc']);
    for (const p of servers) p.kill();
    rmSync(www, { recursive: true, force: true });
  }
});
