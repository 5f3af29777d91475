// User-defined bridge networks end to end, with real packets: containers on one network reach
// each other by name, alias and short ID through the embedded DNS; networks are isolated from
// each other; --internal has no way out; connect/disconnect change a running container's
// interfaces; static addresses, legacy links, host-gateway; a name the network doesn't know is
// forwarded (to a fake resolver on loopback: no test traffic leaves the machine); published
// ports answer on loopback through the userland proxy; a kill -9 of berthd keeps it all.
// Traffic goes only to loopback and to addresses on bridges this daemon made, bounded.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { spawn, spawnSync } from 'node:child_process';
import { startDaemon, demux, BERTH, type Daemon, httpGet } from './harness.ts';

let d: Daemon;
before(async () => { d = await startDaemon(); });
after(async () => { await d?.stop(); });

const ok = (r: { status: number | null; stdout: string; stderr: string }) => { assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`); return r; };

/**
 * Runs a busybox command to completion (foreground, --rm) and returns its output. Names nobody
 * knows must not reach the host's resolvers (no test traffic off the machine): unless the test
 * names its own, the container's --dns is a loopback address where nothing listens, so the
 * embedded DNS (or the container itself, on the default bridge) gets a refusal at once.
 */
function runIn(args: string[], cmd: string): { status: number | null; out: string } {
  const dns = args.includes('--dns') ? [] : ['--dns', '127.0.0.154'];
  const r = d.berth(['run', '--rm', ...dns, ...args, 'busybox', 'sh', '-c', cmd], { timeout: 30_000 });
  return { status: r.status, out: r.stdout + r.stderr };
}

function linkExists(name: string): boolean { return spawnSync('ip', ['link', 'show', 'dev', name]).status === 0; }

const get = (port: number, host = '127.0.0.1') => httpGet(host, port);

async function getRetry(port: number): Promise<string> {
  for (let i = 0; i < 30; i++) {
    const b = await get(port).catch(() => '');
    if (b) return b;
    await new Promise((r) => setTimeout(r, 100));
  }
  return get(port);
}

test('network create/inspect/ls/rm; names resolve on a user network (name, alias, short ID); other networks are isolated', async () => {
  const created = ok(d.berth(['network', 'create', '--label', 'tier=db', 'app'])).stdout.trim();
  assert.match(created, /^[0-9a-f]{64}$/);
  const n = (await d.api('GET', '/networks/app')).json();
  assert.equal(n.Driver, 'bridge');
  assert.equal(n.Labels.tier, 'db');
  const subnet = n.IPAM.Config[0].Subnet as string;
  const gw = n.IPAM.Config[0].Gateway as string;
  assert.match(subnet, /^\d+\.\d+\.\d+\.\d+\/\d+$/);
  assert.ok(linkExists(`br-${created.slice(0, 12)}`), 'the bridge exists');
  // duplicate name: 409
  const dup = await d.api('POST', '/networks/create', { Name: 'app' });
  assert.equal(dup.status, 409);
  assert.equal(dup.json().message, 'network with name app already exists');

  const db = ok(d.berth(['run', '-d', '--network', 'app', '--network-alias', 'database', '--name', 'db', 'busybox', 'sleep', '120'])).stdout.trim();
  const ins = (await d.api('GET', `/containers/${db}/json`)).json();
  const ep = ins.NetworkSettings.Networks.app;
  assert.ok(ep.IPAddress, JSON.stringify(ins.NetworkSettings));
  assert.equal(ep.Gateway, gw);
  assert.deepEqual(ep.Aliases, ['database']);
  assert.deepEqual(ep.DNSNames, ['db', 'database', db.slice(0, 12)]);
  assert.equal(ins.NetworkSettings.IPAddress, '', 'top-level address is the default bridge one');
  // the seed: ping -c1 db succeeds; nslookup by alias and short ID too
  const r = runIn(['--network', 'app'], `ping -c 1 -W 2 db >/dev/null && echo ping-ok; nslookup database | tail -n +3; nslookup ${db.slice(0, 12)} | tail -n +3; cat /etc/resolv.conf`);
  assert.equal(r.status, 0, r.out);
  assert.match(r.out, /ping-ok/);
  assert.equal(r.out.split(ep.IPAddress).length - 1 >= 2, true, r.out);
  assert.match(r.out, new RegExp(`nameserver ${gw.replace(/\./g, '\\.')}`));
  // inspect's Containers lists the endpoint
  const n2 = (await d.api('GET', '/networks/app')).json();
  assert.equal(n2.Containers[db].Name, 'db');
  assert.equal(n2.Containers[db].IPv4Address, `${ep.IPAddress}/${ep.IPPrefixLen}`);
  // another network: no name, no packets
  ok(d.berth(['network', 'create', 'other']));
  const iso = runIn(['--network', 'other'], `nslookup db >/dev/null 2>&1 && echo resolved; ping -c 1 -W 1 ${ep.IPAddress} >/dev/null 2>&1 && echo reached; echo done`);
  assert.equal(iso.out.trim(), 'done', iso.out);
  // the default bridge has no name resolution
  const def = runIn([], 'nslookup db >/dev/null 2>&1 && echo resolved; echo done');
  assert.equal(def.out.trim(), 'done', def.out);
  // rm while a container is attached: refused; after it stops: gone with its bridge
  const busy = await d.api('DELETE', '/networks/app');
  assert.equal(busy.status, 403);
  assert.match(busy.json().message, /has active endpoints/);
  ok(d.berth(['rm', '-f', 'db']));
  assert.equal(ok(d.berth(['network', 'rm', 'app', 'other'])).stdout, 'app\nother\n');
  assert.ok(!linkExists(`br-${created.slice(0, 12)}`), 'the bridge is removed');
  assert.equal((await d.api('GET', '/networks/app')).status, 404);
});

test('--internal has no route out; --subnet/--gateway/--ip; connect and disconnect a running container', async () => {
  ok(d.berth(['network', 'create', '--subnet', '10.231.7.0/24', '--gateway', '10.231.7.254', 'fixed']));
  ok(d.berth(['network', 'create', '--internal', 'sealed']));
  const inspect = (await d.api('GET', '/networks/fixed')).json();
  assert.deepEqual(inspect.IPAM.Config, [{ Subnet: '10.231.7.0/24', Gateway: '10.231.7.254' }]);
  const r = runIn(['--network', 'fixed', '--ip', '10.231.7.77'], 'ip -o -4 addr show eth0; ip route');
  assert.match(r.out, /inet 10\.231\.7\.77\/24/);
  assert.match(r.out, /default via 10\.231\.7\.254/);
  // --mac-address, --hostname (resolvable by the network's peers too), --dns-search, --dns-option
  const m = runIn(['--network', 'fixed', '--mac-address', '02:aa:bb:cc:dd:ee', '--hostname', 'myhost', '--dns-search', 'example.test', '--dns-option', 'timeout:1'],
    'ip link show eth0 | grep -o "ether [0-9a-f:]*"; hostname; grep -E "^(search|options)" /etc/resolv.conf; nslookup myhost. | tail -n +3');
  assert.match(m.out, /ether 02:aa:bb:cc:dd:ee/);
  assert.match(m.out, /\nmyhost\n/);
  assert.match(m.out, /search example\.test\noptions ndots:0 timeout:1/);
  assert.match(m.out, /Address: 10\.231\.7\.\d+/);
  const bad = d.berth(['run', '--rm', '--ip', '10.231.7.9', 'busybox', 'true']);
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /user specified IP address is supported on user defined networks only/);
  const sealed = (await d.api('GET', '/networks/sealed')).json();
  assert.equal(sealed.Internal, true);
  const s = runIn(['--network', 'sealed'], `ip route; ping -c 1 -W 1 10.231.7.254 >/dev/null 2>&1 && echo escaped; echo done`);
  assert.doesNotMatch(s.out, /default/);
  assert.doesNotMatch(s.out, /escaped/);

  // connect: eth1 appears in the running container; disconnect: it goes
  const c = ok(d.berth(['run', '-d', '--network', 'fixed', '--name', 'multi', 'busybox', 'sleep', '120'])).stdout.trim();
  ok(d.berth(['network', 'connect', '--alias', 'm2', 'sealed', 'multi']));
  const ex = (await d.api('GET', `/containers/${c}/json`)).json();
  assert.deepEqual(Object.keys(ex.NetworkSettings.Networks).sort(), ['fixed', 'sealed']);
  const ip2 = ex.NetworkSettings.Networks.sealed.IPAddress as string;
  assert.ok(ip2);
  // a peer on `sealed` reaches it by its alias there
  const peer = runIn(['--network', 'sealed'], `ping -c 1 -W 2 m2 >/dev/null && echo reached-m2`);
  assert.match(peer.out, /reached-m2/);
  const dup = await d.api('POST', '/networks/sealed/connect', { Container: 'multi' });
  assert.equal(dup.status, 403);
  ok(d.berth(['network', 'disconnect', 'sealed', 'multi']));
  const after = (await d.api('GET', `/containers/${c}/json`)).json();
  assert.deepEqual(Object.keys(after.NetworkSettings.Networks), ['fixed']);
  const gone = runIn(['--network', 'sealed'], `ping -c 1 -W 1 ${ip2} >/dev/null 2>&1 && echo reached; echo done`);
  assert.equal(gone.out.trim(), 'done');
  // a stopped container keeps its networks; prune leaves networks that running containers use
  ok(d.berth(['network', 'connect', 'sealed', 'multi']));
  ok(d.berth(['stop', '-t', '0', 'multi']));
  ok(d.berth(['start', 'multi']));
  const again = (await d.api('GET', `/containers/${c}/json`)).json();
  assert.deepEqual(Object.keys(again.NetworkSettings.Networks).sort(), ['fixed', 'sealed']);
  const pr = (await d.api('POST', '/networks/prune')).json();
  assert.equal(pr.NetworksDeleted, null);
  ok(d.berth(['rm', '-f', 'multi']));
  const pr2 = (await d.api('POST', '/networks/prune')).json();
  assert.deepEqual(pr2.NetworksDeleted.sort(), ['fixed', 'sealed']);
});

test('legacy --link and --add-host host-gateway on the default bridge', async () => {
  ok(d.berth(['run', '-d', '--name', 'web', '--expose', '80', '-e', 'MODE=blue', 'busybox', 'sleep', '120']));
  const wip = (await d.api('GET', '/containers/web/json')).json().NetworkSettings.IPAddress as string;
  const gw = (await d.api('GET', '/networks/bridge')).json().IPAM.Config[0].Gateway as string;
  const r = runIn(['--link', 'web:site', '--add-host', 'dockerhost:host-gateway'], 'grep -E "site|dockerhost" /etc/hosts; env | grep ^SITE_ | sort; ping -c 1 -W 2 site >/dev/null && echo ping-site');
  assert.equal(r.status, 0, r.out);
  assert.match(r.out, new RegExp(`${wip.replace(/\./g, '\\.')}\\s+site\\b`));
  assert.match(r.out, new RegExp(`${gw.replace(/\./g, '\\.')}\\s+dockerhost`));
  assert.match(r.out, /SITE_ENV_MODE=blue/);
  assert.match(r.out, new RegExp(`SITE_PORT_80_TCP_ADDR=${wip.replace(/\./g, '\\.')}`));
  assert.match(r.out, /SITE_NAME=\/[a-z_]+\/site/);
  assert.match(r.out, /ping-site/);
  const missing = d.berth(['run', '--rm', '--link', 'nosuch:x', 'busybox', 'true']);
  assert.equal(missing.status, 125);
  assert.match(missing.stderr, /could not get container for nosuch/);
  ok(d.berth(['rm', '-f', 'web']));
});

test('other names are forwarded to the container\'s --dns servers (a fake resolver on loopback)', async () => {
  // A resolver on 127.0.0.153:53 that answers every A query with 192.0.2.99 (TEST-NET-1; never contacted).
  const sock = dgram.createSocket('udp4');
  let asked = '';
  sock.on('message', (msg, rinfo) => {
    // Minimal answer: copy the header+question, set QR/RA, one answer pointing at the name.
    let i = 12;
    const labels: string[] = [];
    while (msg[i] !== 0) { labels.push(msg.subarray(i + 1, i + 1 + msg[i]).toString()); i += msg[i] + 1; }
    const qend = i + 5;
    asked = labels.join('.');
    const qtype = msg.readUInt16BE(i + 1);
    const head = Buffer.from(msg.subarray(0, qend));
    head.writeUInt16BE(0x8180, 2);
    head.writeUInt16BE(qtype === 1 ? 1 : 0, 6);
    head.writeUInt16BE(0, 8); // no authority
    head.writeUInt16BE(0, 10); // no additional records (the query's EDNS record is not echoed)
    const ans = qtype === 1 ? Buffer.from([0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 99]) : Buffer.alloc(0);
    sock.send(Buffer.concat([head, ans]), rinfo.port, rinfo.address);
  });
  const bound = await new Promise<boolean>((res) => { sock.once('error', () => res(false)); sock.bind(53, '127.0.0.153', () => res(true)); });
  if (!bound) { sock.close(); return; }
  try {
    ok(d.berth(['network', 'create', 'fwd']));
    // Asynchronously: the fake resolver lives in this process's event loop.
    const out = await new Promise<string>((res) => {
      const p = spawn(process.execPath, [BERTH, 'run', '--rm', '--network', 'fwd', '--dns', '127.0.0.153', 'busybox', 'nslookup', '-type=a', 'example.test'],
        { env: { ...process.env, BERTH_HOST: `unix://${d.sock}` } });
      let o = '';
      p.stdout.on('data', (c) => { o += c; });
      p.stderr.on('data', (c) => { o += c; });
      const t = setTimeout(() => p.kill(), 30_000);
      p.on('close', () => { clearTimeout(t); res(o); });
    });
    assert.match(out, /192\.0\.2\.99/, out);
    assert.equal(asked, 'example.test');
    ok(d.berth(['network', 'rm', 'fwd']));
  } finally {
    sock.close();
  }
});

test('published ports through the userland proxy on loopback; two containers on port 80; kill -9 of berthd keeps networks and names', async () => {
  ok(d.berth(['network', 'create', 'pub']));
  const serve = (name: string, port: number) => ok(d.berth(['run', '-d', '--network', 'pub', '--name', name, '-p', `127.0.0.1:${port}:80`, 'busybox', 'sh', '-c',
    'mkdir -p /www && echo hello-from-$(hostname) > /www/index.html && exec httpd -f -p 80 -h /www'])).stdout.trim();
  const p1 = 20000 + Math.floor(Math.random() * 10000);
  const p2 = p1 + 1;
  const a = serve('s1', p1);
  const b = serve('s2', p2);
  assert.equal(await getRetry(p1), `hello-from-${a.slice(0, 12)}\n`);
  assert.equal(await getRetry(p2), `hello-from-${b.slice(0, 12)}\n`);
  assert.equal(ok(d.berth(['port', 's1'])).stdout, `80/tcp -> 127.0.0.1:${p1}\n`);
  await d.restart({ kill9: true });
  // after restart: the proxy listens again, names still resolve, the network is still there
  assert.equal(await getRetry(p1), `hello-from-${a.slice(0, 12)}\n`);
  const r = runIn(['--network', 'pub'], 'wget -q -O - http://s2/');
  assert.equal(r.out, `hello-from-${b.slice(0, 12)}\n`);
  ok(d.berth(['rm', '-f', 's1', 's2']));
  await assert.rejects(get(p1));
  ok(d.berth(['network', 'rm', 'pub']));
  void demux;
});

test('icc=false on a user network: containers cannot reach each other, the gateway still answers', async () => {
  ok(d.berth(['network', 'create', '-o', 'com.docker.network.bridge.enable_icc=false', 'noicc']));
  const n = (await d.api('GET', '/networks/noicc')).json();
  assert.equal(n.Options['com.docker.network.bridge.enable_icc'], 'false');
  const gw = n.IPAM.Config[0].Gateway as string;
  ok(d.berth(['run', '-d', '--network', 'noicc', '--name', 'lonely', 'busybox', 'sleep', '120']));
  const ip = (await d.api('GET', '/containers/lonely/json')).json().NetworkSettings.Networks.noicc.IPAddress as string;
  const r = runIn(['--network', 'noicc'], `ping -c 1 -W 1 ${ip} >/dev/null 2>&1 && echo reached-peer; ping -c 1 -W 2 ${gw} >/dev/null && echo reached-gw`);
  assert.equal(r.out.trim(), 'reached-gw', r.out);
  ok(d.berth(['rm', '-f', 'lonely']));
  ok(d.berth(['network', 'rm', 'noicc']));
});

test('--userland-proxy=false: loopback reaches published ports through nftables DNAT alone', async () => {
  const d2 = await startDaemon({ extraArgs: ['--userland-proxy=false'] });
  try {
    const port = 30000 + Math.floor(Math.random() * 10000);
    const r = d2.berth(['run', '-d', '-p', `${port}:80`, 'busybox', 'sh', '-c', 'mkdir -p /www && echo dnat-ok > /www/index.html && exec httpd -f -p 80 -h /www']);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(await getRetry(port), 'dnat-ok\n');
    // nothing of berthd's listens on the port: the kernel forwards it
    const ss = spawnSync('ss', ['-Htln', `sport = :${port}`]).stdout.toString();
    assert.equal(ss.trim(), '', ss);
  } finally {
    await d2.stop();
  }
});

test('a host port a host process holds: the container does not start, with docker 28\'s bind error', async () => {
  const net = await import('node:net');
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '0.0.0.0', () => r()));
  const port = (srv.address() as { port: number }).port;
  try {
    const r = d.berth(['run', '-d', '--name', 'clash', '-p', `${port}:80`, 'busybox', 'sleep', '30']);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, new RegExp(`failed to bind host port for 0\\.0\\.0\\.0:${port}:[0-9.]+:80/tcp: address already in use`));
    assert.equal((await d.api('GET', '/containers/clash/json')).json().State.Running, false);
  } finally {
    srv.close();
    d.berth(['rm', '-f', 'clash']);
  }
});

test('the docker CLI: network create, run --network ... ping by name, run -p answering on loopback, port, network rm', { skip: spawnSync('docker', ['--version']).status === 0 ? false : 'no docker client' }, async () => {
  ok(d.docker(['network', 'create', 'dk']));
  ok(d.docker(['run', '-d', '--network', 'dk', '--name', 'dkdb', 'busybox', 'sleep', '120']));
  const r = d.docker(['run', '--rm', '--network', 'dk', '--dns', '127.0.0.154', 'busybox', 'ping', '-c', '1', '-W', '2', 'dkdb']);
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /1 packets received/);
  const port = 40000 + Math.floor(Math.random() * 9000);
  ok(d.docker(['run', '-d', '--name', 'dkweb', '-p', `127.0.0.1:${port}:80`, 'busybox', 'sh', '-c', 'mkdir -p /www && echo via-docker > /www/index.html && exec httpd -f -p 80 -h /www']));
  assert.equal(await getRetry(port), 'via-docker\n');
  assert.equal(ok(d.docker(['port', 'dkweb', '80'])).stdout, `127.0.0.1:${port}\n`);
  assert.match(ok(d.docker(['ps', '--filter', 'name=dkweb', '--format', '{{.Ports}}'])).stdout, new RegExp(`127\\.0\\.0\\.1:${port}->80/tcp`));
  ok(d.docker(['rm', '-f', 'dkdb', 'dkweb']));
  assert.equal(ok(d.docker(['network', 'rm', 'dk'])).stdout, 'dk\n');
});
