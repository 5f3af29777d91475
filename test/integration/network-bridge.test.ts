// The default bridge (`berthd -b NAME --bip CIDR`): each container gets its own namespace with
// eth0 on the bridge, an address from IPAM, Docker's MAC, a default route and its name in
// /etc/hosts; containers reach each other and the host reaches them (only addresses on the
// bridge this test created, bounded pings); namespaces go when containers end, and after a
// kill -9 of berthd the state is reconciled. Bridge and namespaces are removed in `after`.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { startDaemon, demux, type Daemon } from './harness.ts';
import { deleteLink, deleteNetns, hostRoutes, listNetns } from '../../src/network/link.ts';
import { deleteTable } from '../../src/network/nft.ts';
import http from 'node:http';
import { build } from './build-util.ts';

const bridge = `bt${randomBytes(3).toString('hex')}`;
let net = '';
let d: Daemon;
let nsPrefix = '';

before(async () => {
  const routes = await hostRoutes();
  for (let i = 1; i < 255 && !net; i++) {
    const n = `10.235.${i}`;
    if (!routes.some((r) => r.startsWith(`${n}.`) || r === '10.235.0.0/16' || r === '10.0.0.0/8')) net = n;
  }
  d = await startDaemon({ extraArgs: ['-b', bridge, '--bip', `${net}.1/24`] });
  nsPrefix = `berth-${createHash('sha256').update(d.execRoot).digest('hex').slice(0, 8)}-`;
});
after(async () => {
  await d?.stop();
  for (const ns of await listNetns(nsPrefix)) await deleteNetns(ns);
  await deleteLink(bridge);
  await deleteTable(`berth-${nsPrefix.split('-')[1]}`).catch(() => {});
});

/** One bounded HTTP GET to loopback. */
function get(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/', timeout: 3000 }, (r) => {
      let b = '';
      r.on('data', (c) => { b += c; });
      r.on('end', () => resolve(b));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

async function start(cmd: string[]): Promise<string> {
  const cr = await d.api('POST', '/containers/create', { Image: 'busybox', Cmd: cmd });
  assert.equal(cr.status, 201, cr.body.toString());
  const id = cr.json().Id as string;
  const st = await d.api('POST', `/containers/${id}/start`);
  assert.equal(st.status, 204, st.body.toString());
  return id;
}

/** The bridge's MAC address. */
const bridgeMac = (): string => (JSON.parse(spawnSync('ip', ['-j', 'link', 'show', 'dev', bridge]).stdout.toString()) as { address: string }[])[0].address;

test('containers on the default bridge: address, MAC, route, /etc/hosts, traffic, cleanup, kill -9', async () => {
  // The bridge's own MAC is set: it does not follow its ports as containers come and go (if it
  // did, every container's ARP entry for its gateway would go stale when one container left).
  const mac0 = bridgeMac();
  const a = await start(['sleep', '60']);
  const b = await start(['sleep', '60']);
  const ia = (await d.api('GET', `/containers/${a}/json`)).json();
  const ib = (await d.api('GET', `/containers/${b}/json`)).json();
  const ipA = ia.NetworkSettings.IPAddress as string;
  const ipB = ib.NetworkSettings.IPAddress as string;
  assert.equal(ipA, `${net}.2`);
  assert.equal(ipB, `${net}.3`);
  assert.equal(ia.NetworkSettings.Gateway, `${net}.1`);
  assert.equal(ia.NetworkSettings.Networks.bridge.IPPrefixLen, 24);
  assert.equal(ia.NetworkSettings.MacAddress, `02:42:0a:eb:${Number(net.split('.')[2]).toString(16).padStart(2, '0')}:02`);
  // inside: eth0 with the address, default route, hosts entry; reaches the gateway and b
  const probe = await start(['sh', '-c', `ip -o -4 addr show eth0; ip route; grep "$(hostname)" /etc/hosts; ping -c 1 -W 2 ${net}.1 >/dev/null && echo gw-ok; ping -c 1 -W 2 ${ipB} >/dev/null && echo peer-ok`]);
  const w = await d.api('POST', `/containers/${probe}/wait`);
  assert.equal(w.json().StatusCode, 0);
  const out = demux((await d.api('GET', `/containers/${probe}/logs?stdout=1&stderr=1`)).body).stdout;
  assert.match(out, new RegExp(`eth0\\s+inet ${net.replace(/\./g, '\\.')}\\.4/24`));
  assert.match(out, new RegExp(`default via ${net.replace(/\./g, '\\.')}\\.1 dev eth0`));
  assert.match(out, new RegExp(`${net.replace(/\./g, '\\.')}\\.4\\s+${probe.slice(0, 12)}`));
  assert.match(out, /gw-ok\npeer-ok/);
  // the host reaches a container on the bridge
  assert.equal(spawnSync('busybox', ['ping', '-c', '1', '-W', '2', ipA], { timeout: 10_000 }).status, 0);
  // a container that ended has no namespace left, and its address is free again
  assert.equal(existsSync(`/run/netns/${nsPrefix}${probe.slice(0, 12)}`), false);
  assert.equal((await d.api('GET', `/containers/${probe}/json`)).json().NetworkSettings.IPAddress, '');
  // kill -9 of berthd: running containers keep their network; state reconciled at start
  await d.restart({ kill9: true });
  assert.equal(spawnSync('busybox', ['ping', '-c', '1', '-W', '2', ipA], { timeout: 10_000 }).status, 0);
  await d.api('POST', `/containers/${a}/stop?t=0`);
  assert.equal(existsSync(`/run/netns/${nsPrefix}${a.slice(0, 12)}`), false);
  const c = await start(['sleep', '60']);
  const ipC = (await d.api('GET', `/containers/${c}/json`)).json().NetworkSettings.IPAddress;
  assert.notEqual(ipC, ipB); // b still holds its address after the restart
  for (const id of [a, b, c, probe]) await d.api('DELETE', `/containers/${id}?force=1`);
  assert.deepEqual(await listNetns(nsPrefix), []);
  assert.equal(bridgeMac(), mac0, 'the bridge kept its MAC address while containers came and went');
  // --network none keeps a namespace with only lo
  const none = await d.api('POST', '/containers/create', { Image: 'busybox', Cmd: ['ip', '-o', 'link'], HostConfig: { NetworkMode: 'none' } });
  await d.api('POST', `/containers/${none.json().Id}/start`);
  await d.api('POST', `/containers/${none.json().Id}/wait`);
  const links = demux((await d.api('GET', `/containers/${none.json().Id}/logs?stdout=1`)).body).stdout.trim().split('\n');
  assert.equal(links.length, 1);
  assert.match(links[0], /lo:/);
});

test('published ports: -p host:container and ephemeral -p container answer on 127.0.0.1 (nftables DNAT); conflicts fail before start', async () => {
  const serve = ['sh', '-c', 'mkdir -p /www && echo hello-from-$(hostname) > /www/index.html && exec httpd -f -p 80 -h /www'];
  const hostPort = 20000 + Math.floor(Math.random() * 20000);
  const cr = await d.api('POST', '/containers/create', { Image: 'busybox', Cmd: serve, ExposedPorts: { '80/tcp': {} }, HostConfig: { PortBindings: { '80/tcp': [{ HostIp: '', HostPort: String(hostPort) }] } } });
  const id = cr.json().Id as string;
  assert.equal((await d.api('POST', `/containers/${id}/start`)).status, 204);
  const insp = (await d.api('GET', `/containers/${id}/json`)).json();
  assert.deepEqual(insp.NetworkSettings.Ports, { '80/tcp': [{ HostIp: '0.0.0.0', HostPort: String(hostPort) }] });
  let body = '';
  for (let i = 0; i < 20 && !body; i++) { body = await get(hostPort).catch(() => ''); if (!body) await new Promise((r) => setTimeout(r, 100)); }
  assert.equal(body, `hello-from-${id.slice(0, 12)}\n`);
  const ps = (await d.api('GET', '/containers/json')).json().find((c: any) => c.Id === id);
  assert.deepEqual(ps.Ports, [{ IP: '0.0.0.0', PrivatePort: 80, PublicPort: hostPort, Type: 'tcp' }]);
  // -p 80 (ephemeral) and -P
  const cr2 = await d.api('POST', '/containers/create', { Image: 'busybox', Cmd: serve, ExposedPorts: { '80/tcp': {} }, HostConfig: { PublishAllPorts: true } });
  const id2 = cr2.json().Id as string;
  assert.equal((await d.api('POST', `/containers/${id2}/start`)).status, 204);
  const eph = Number((await d.api('GET', `/containers/${id2}/json`)).json().NetworkSettings.Ports['80/tcp'][0].HostPort);
  assert.ok(eph >= 49153 && eph <= 60999, String(eph));
  let body2 = '';
  for (let i = 0; i < 20 && !body2; i++) { body2 = await get(eph).catch(() => ''); if (!body2) await new Promise((r) => setTimeout(r, 100)); }
  assert.equal(body2, `hello-from-${id2.slice(0, 12)}\n`);
  // the same host port again: a clear error, and the container does not start
  const cr3 = await d.api('POST', '/containers/create', { Image: 'busybox', Cmd: serve, HostConfig: { PortBindings: { '80/tcp': [{ HostPort: String(hostPort) }] } } });
  const st3 = await d.api('POST', `/containers/${cr3.json().Id}/start`);
  assert.notEqual(st3.status, 204);
  assert.match(st3.json().message, new RegExp(`Bind for 0\\.0\\.0\\.0:${hostPort} failed: port is already allocated`));
  assert.equal((await d.api('GET', `/containers/${cr3.json().Id}/json`)).json().State.Running, false);
  // stopped: the port no longer answers
  await d.api('POST', `/containers/${id}/stop?t=0`);
  await assert.rejects(get(hostPort));
  for (const x of [id, id2, cr3.json().Id]) await d.api('DELETE', `/containers/${x}?force=1`);
});

test('build RUN steps join the default bridge (--network=default); none stays lo only', async () => {
  const r = await build(d, { Dockerfile: `FROM busybox\nRUN ip -o -4 addr show eth0 && ping -c 1 -W 2 ${net}.1 >/dev/null && echo gw-ok\nRUN --network=none ip -o link | wc -l\n` }, { nocache: '1' });
  assert.equal(r.error, undefined, r.output);
  assert.match(r.output, new RegExp(`eth0\\s+inet ${net.replace(/\./g, '\\.')}\\.\\d+/24`));
  assert.match(r.output, /gw-ok/);
  assert.match(r.output, /\n1\n/);
  assert.deepEqual(await listNetns(nsPrefix), []);
});

test('/networks lists bridge, host and none in docker\'s shape; inspect shows attached containers', async () => {
  const id = await start(['sleep', '30']);
  const list = (await d.api('GET', '/networks')).json() as any[];
  assert.deepEqual(list.map((n) => `${n.Name}/${n.Driver}`), ['bridge/bridge', 'host/host', 'none/null']);
  const br = (await d.api('GET', '/networks/bridge')).json();
  assert.deepEqual(br.IPAM.Config, [{ Subnet: `${net}.0/24`, Gateway: `${net}.1` }]);
  assert.equal(br.Options['com.docker.network.bridge.name'], bridge);
  const ip = (await d.api('GET', `/containers/${id}/json`)).json().NetworkSettings.IPAddress;
  assert.equal(br.Containers[id].IPv4Address, `${ip}/24`);
  assert.equal((await d.api('GET', `/networks/${br.Id.slice(0, 12)}`)).json().Name, 'bridge');
  assert.equal((await d.api('GET', '/networks/nosuch')).status, 404);
  assert.equal((await d.api('DELETE', '/networks/bridge')).status, 403);
  const dl = d.docker(['network', 'ls', '--format', '{{.Name}} {{.Driver}}']);
  assert.equal(dl.stdout, 'bridge bridge\nhost host\nnone null\n', dl.stderr);
  // berth's own CLI prints what docker's prints
  for (const args of [['network', 'ls'], ['network', 'ls', '-q'], ['network', 'ls', '--no-trunc'], ['network', 'ls', '--format', '{{json .}}'], ['network', 'ls', '--filter', 'driver=bridge'], ['network', 'inspect', 'bridge', 'none']]) {
    const k = d.docker(args);
    const b = d.berth(args);
    assert.equal(b.status, k.status, args.join(' '));
    assert.equal(b.stdout, k.stdout, args.join(' '));
  }
  await d.api('DELETE', `/containers/${id}?force=1`);
});
