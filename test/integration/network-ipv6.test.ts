// IPv6 networks through the docker CLI and docker-py: `network create --ipv6` with a subnet of
// the test's (or Docker 27's default ULA pool), addresses from it and `--ip6`, the IPv6 default
// route, AAAA records and /etc/hosts, inspect's IPv6 fields, ports published on ::1 (the userland
// proxy) and on every address (the ip6 table's DNAT), isolation between IPv6 networks, and
// Docker's errors for an --ip6 that cannot be. "Another host" is a namespace of this test on a
// veth pair with a /64 of its own: it must not reach a container's unpublished ports by routing
// an IPv6 bridge subnet through the host (Docker 28's rules, mirrored for IPv6).
// Only ULA subnets (fd..) the test picks, the bridges and namespaces of this file and ::1 carry
// traffic; the host's own IPv6 addresses and routes are never used.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { startDaemon, hasDocker, httpGet, type Daemon, type RunOut } from './harness.ts';

const hasPy = spawnSync('python3', ['-c', 'import docker']).status === 0;
const ipv6Off = (() => {
  try { return readFileSync('/proc/sys/net/ipv6/conf/all/disable_ipv6', 'utf8').trim() !== '0'; } catch { return true; }
})();
const skip = !hasDocker ? 'no docker client installed on this machine' : ipv6Off ? 'IPv6 is disabled on this host (net.ipv6.conf.all.disable_ipv6, or no IPv6 in the kernel)' : false;

/** A random ULA /48 prefix (`fdxx:xxxx:xxxx`) that no host route or address touches. */
function freeUla(): string {
  const routes = spawnSync('ip', ['-6', 'route', 'show', 'table', 'all']).stdout?.toString() ?? '';
  for (let i = 0; i < 100; i++) {
    const b = randomBytes(5).toString('hex');
    const p = `fd${b.slice(0, 2)}:${b.slice(2, 6)}:${b.slice(6, 10)}`.replace(/:0+(?=[0-9a-f])/g, ':');
    if (!routes.includes(p)) return p;
  }
  throw new Error('no free ULA prefix');
}
const ula = freeUla();
const sub1 = `${ula}:1::/64`;
const sub2 = `${ula}:2::/64`;

let d: Daemon;
before(async () => { if (!skip) d = await startDaemon(); });
after(async () => { await d?.stop(); });

const ok = (r: RunOut) => { assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`); return r; };
const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

const get = httpGet;

/** `nslookup` in a container. A failure (seen once in CI: a timeout right after `network connect`)
 *  leaves what explains it in the output (the container's resolv.conf, the daemon's DNS log lines)
 *  and is asked once more, so the next occurrence says whether it was a lost datagram or an answer
 *  never given. */
function nslookup(ct: string, ...args: string[]): RunOut {
  const r = d.docker(['exec', ct, 'nslookup', ...args]);
  if (r.status === 0) return r;
  const conf = d.docker(['exec', ct, 'cat', '/etc/resolv.conf']).stdout;
  const dnsLog = d.log().split('\n').filter((l) => /DNS|udp|tcp |from /.test(l)).slice(-20).join('\n');
  console.log(`nslookup ${args.join(' ')} in ${ct} failed (${r.status}): ${r.stdout}${r.stderr}\nresolv.conf:\n${conf}\ndaemon DNS log:\n${dnsLog}`);
  return d.docker(['exec', ct, 'nslookup', ...args]);
}

async function getRetry(host: string, port: number): Promise<string> {
  for (let i = 0; i < 50; i++) {
    const b = await get(host, port).catch(() => '');
    if (b) return b;
    await new Promise((r) => setTimeout(r, 100));
  }
  return get(host, port);
}

/** The daemon's nft table name (berth-<sha256(exec root)[:8]>, as the harness cleans it up). */
const table = (x: Daemon) => `berth-${createHash('sha256').update(x.execRoot).digest('hex').slice(0, 8)}`;

const serve = (text: string) => ['sh', '-c', `mkdir -p /www && echo ${text} > /www/index.html && httpd -p 81 -h /www && exec httpd -f -p 80 -h /www`];
const port = () => 42000 + Math.floor(Math.random() * 8000);

test('an IPv6 network: subnet and gateway, addresses and --ip6, the IPv6 route, AAAA and /etc/hosts, inspect', { skip }, async () => {
  try {
    ok(d.docker(['network', 'create', '--ipv6', '--subnet', sub1, 'six']));
    const n = JSON.parse(ok(d.docker(['network', 'inspect', 'six'])).stdout)[0];
    assert.equal(n.EnableIPv6, true);
    const ipam = n.IPAM.Config as { Subnet: string; Gateway: string }[];
    const v6 = ipam.find((c) => c.Subnet.includes(':'))!;
    assert.deepEqual(v6, { Subnet: sub1, Gateway: `${ula}:1::1` });
    assert.ok(ipam.some((c) => /^\d+\.\d+\.\d+\.\d+\/\d+$/.test(c.Subnet)), 'IPv4 too');
    const bridge = n.Options['com.docker.network.bridge.name'] ?? `br-${n.Id.slice(0, 12)}`;
    assert.match(spawnSync('ip', ['-6', 'addr', 'show', 'dev', bridge]).stdout.toString(), new RegExp(`inet6 ${esc(ula)}:1::1/64`));

    ok(d.docker(['run', '-d', '--network', 'six', '--name', 's1', 'busybox', 'sleep', '300']));
    ok(d.docker(['run', '-d', '--network', 'six', '--ip6', `${ula}:1::77`, '--name', 's2', 'busybox', 'sleep', '300']));
    const ep = JSON.parse(ok(d.docker(['inspect', '-f', '{{json .NetworkSettings.Networks.six}}', 's1'])).stdout);
    assert.equal(ep.GlobalIPv6Address, `${ula}:1::2`);
    assert.equal(ep.GlobalIPv6PrefixLen, 64);
    assert.equal(ep.IPv6Gateway, `${ula}:1::1`);
    assert.match(ep.IPAddress, /^\d+\.\d+\.\d+\.\d+$/);
    assert.equal(ok(d.docker(['inspect', '-f', '{{.NetworkSettings.Networks.six.GlobalIPv6Address}} {{json .NetworkSettings.Networks.six.IPAMConfig}}', 's2'])).stdout,
      `${ula}:1::77 {"IPv6Address":"${ula}:1::77"}\n`);
    const members = JSON.parse(ok(d.docker(['network', 'inspect', '-f', '{{json .Containers}}', 'six'])).stdout) as Record<string, { Name: string; IPv6Address: string }>;
    assert.deepEqual(Object.values(members).map((m) => `${m.Name} ${m.IPv6Address}`).sort(), [`s1 ${ula}:1::2/64`, `s2 ${ula}:1::77/64`]);

    const r = ok(d.docker(['exec', 's1', 'sh', '-c',
      `ip -6 addr show eth0 | grep global; ip -6 route | grep default; ping -6 -c 1 -W 2 ${ula}:1::77 >/dev/null && echo ping6-ok; cat /etc/hosts`]));
    assert.match(r.stdout, new RegExp(`inet6 ${esc(ula)}:1::2/64 scope global`));
    assert.match(r.stdout, new RegExp(`^default via ${esc(ula)}:1::1 dev eth0`, 'm'));
    assert.match(r.stdout, /ping6-ok/);
    assert.match(r.stdout, new RegExp(`^${esc(ula)}:1::2\\s+[0-9a-f]{12}$`, 'm'));
    // AAAA through the embedded DNS (busybox's nslookup asks the server itself), A as before.
    const aaaa = ok(nslookup('s1', '-type=aaaa', 's2')).stdout;
    assert.match(aaaa, new RegExp(`Address: ${esc(ula)}:1::77\\n`), aaaa);
    const both = ok(nslookup('s1', 's2')).stdout;
    assert.match(both, new RegExp(`Address: ${esc(ula)}:1::77\\n`), both);
    assert.match(both, /Address: \d+\.\d+\.\d+\.\d+\n/, both);
    const ptr = ok(nslookup('s1', `${ula}:1::77`)).stdout;
    assert.match(ptr, /name = s2\.six/, ptr);

    // Connect: a second interface with an IPv6 address; its peers reach it over IPv6.
    ok(d.docker(['network', 'create', 'four']));
    ok(d.docker(['run', '-d', '--network', 'four', '--name', 's3', 'busybox', 'sleep', '300']));
    ok(d.docker(['network', 'connect', 'six', 's3']));
    const s3 = ok(d.docker(['inspect', '-f', '{{.NetworkSettings.Networks.six.GlobalIPv6Address}}', 's3'])).stdout.trim();
    assert.equal(s3, `${ula}:1::3`);
    assert.match(ok(d.docker(['exec', 's3', 'ip', '-6', 'addr', 'show', 'eth1'])).stdout, new RegExp(`inet6 ${esc(s3)}/64`));
    assert.match(ok(d.docker(['exec', 's1', 'ping', '-6', '-c', '1', '-W', '2', s3])).stdout, /1 packets received/);
    assert.match(ok(nslookup('s1', '-type=aaaa', 's3')).stdout, new RegExp(`Address: ${esc(s3)}\\n`));
    // A kill -9 of berthd keeps it all: addresses, the bridge's IPv6 gateway, AAAA names, allocation.
    await d.restart({ kill9: true });
    assert.match(spawnSync('ip', ['-6', 'addr', 'show', 'dev', bridge]).stdout.toString(), new RegExp(`inet6 ${esc(ula)}:1::1/64`));
    assert.match(ok(nslookup('s1', '-type=aaaa', 's2')).stdout, new RegExp(`Address: ${esc(ula)}:1::77\\n`));
    ok(d.docker(['run', '-d', '--network', 'six', '--name', 's4', 'busybox', 'sleep', '300']));
    assert.equal(ok(d.docker(['inspect', '-f', '{{.NetworkSettings.Networks.six.GlobalIPv6Address}}', 's4'])).stdout, `${ula}:1::4\n`);
  } finally {
    d.docker(['rm', '-f', 's1', 's2', 's3', 's4']);
    d.docker(['network', 'rm', 'six', 'four']);
  }
});

test('IPv6 network errors and defaults as Docker has them', { skip }, async () => {
  try {
    // --ipv6 without a subnet: a /64 of the daemon's ULA /48 (Docker 27's default pool).
    ok(d.docker(['network', 'create', '--ipv6', 'auto6']));
    const cfg = JSON.parse(ok(d.docker(['network', 'inspect', '-f', '{{json .IPAM.Config}}', 'auto6'])).stdout) as { Subnet: string; Gateway: string }[];
    const auto = cfg.find((c) => c.Subnet.includes(':'))!;
    assert.match(auto.Subnet, /^fd[0-9a-f]{2}:[0-9a-f]{1,4}:[0-9a-f]{1,4}::\/64$/);
    assert.equal(auto.Gateway, auto.Subnet.replace('::/64', '::1'));
    // An IPv6 subnet without --ipv6 is ignored: the network is IPv4 only.
    ok(d.docker(['network', 'create', '--subnet', sub2, 'nosix']));
    assert.match(ok(d.docker(['network', 'inspect', '-f', '{{.EnableIPv6}} {{json .IPAM.Config}}', 'nosix'])).stdout, /^false \[\{"Subnet":"\d+\.\d+\.\d+\.\d+\/\d+","Gateway":"[\d.]+"\}\]\n$/);
    // The default bridge has no IPv6 unless the daemon is told so.
    assert.equal(ok(d.docker(['network', 'inspect', '-f', '{{.EnableIPv6}}', 'bridge'])).stdout, 'false\n');
    const noV6 = d.docker(['run', '--rm', '--network', 'nosix', '--ip6', `${ula}:2::9`, 'busybox', 'true']);
    assert.equal(noV6.status, 125);
    assert.equal(noV6.stderr, 'docker: Error response from daemon: invalid config for network nosix: invalid endpoint settings:\n'
      + 'user specified IP address is supported only when connecting to networks with user configured subnets\n\nRun \'docker run --help\' for more information\n');
    const dyn = d.docker(['run', '--rm', '--network', 'auto6', '--ip6', auto.Subnet.replace('::/64', '::9'), 'busybox', 'true']);
    assert.match(dyn.stderr, /user specified IP address is supported only when connecting to networks with user configured subnets/);
    ok(d.docker(['network', 'create', '--ipv6', '--subnet', sub1, 'six']));
    const outside = d.docker(['run', '--rm', '--network', 'six', '--ip6', `${ula}:2::9`, 'busybox', 'true']);
    assert.match(outside.stderr, new RegExp(`invalid config for network six: invalid endpoint settings:\\nno configured subnet or ip-range contain the IP address ${esc(ula)}:2::9\\n`));
    const bad = d.docker(['run', '--rm', '--network', 'six', '--ip6', '10.0.0.1', 'busybox', 'true']);
    assert.equal(bad.status, 125);
    const onBridge = d.docker(['run', '--rm', '--ip6', `${ula}:1::9`, 'busybox', 'true']);
    assert.match(onBridge.stderr, /invalid config for network bridge: invalid endpoint settings:\nuser specified IP address is supported on user defined networks only/);
    // At connect the same checks, worded without the network.
    ok(d.docker(['run', '-d', '--name', 'c6', 'busybox', 'sleep', '300']));
    const conn = d.docker(['network', 'connect', '--ip6', `${ula}:2::5`, 'six', 'c6']);
    assert.equal(conn.stderr, `Error response from daemon: invalid endpoint settings:\nno configured subnet or ip-range contain the IP address ${ula}:2::5\n`);
    ok(d.docker(['network', 'connect', '--ip6', `${ula}:1::5`, 'six', 'c6']));
    assert.equal(ok(d.docker(['inspect', '-f', '{{.NetworkSettings.Networks.six.GlobalIPv6Address}}', 'c6'])).stdout, `${ula}:1::5\n`);
    const taken = d.docker(['run', '--rm', '--network', 'six', '--ip6', `${ula}:1::5`, 'busybox', 'true']);
    assert.notEqual(taken.status, 0);
    assert.match(taken.stderr, /Address already in use/);
    // A second network on an overlapping IPv6 subnet: Docker's 403.
    const overlap = d.docker(['network', 'create', '--ipv6', '--subnet', `${ula}:1::/80`, 'six2']);
    assert.equal(overlap.stderr, 'Error response from daemon: Pool overlaps with other one on this address space\n');
  } finally {
    d.docker(['rm', '-f', 'c6']);
    d.docker(['network', 'rm', 'auto6', 'nosix', 'six', 'six2']);
  }
});

test('ports published on ::1 (userland proxy) and on every address (both families; the ip6 table DNATs the host\'s IPv6 addresses)', { skip }, async () => {
  const p1 = port();
  const p2 = p1 + 1;
  try {
    ok(d.docker(['network', 'create', '--ipv6', '--subnet', sub1, 'pub6']));
    ok(d.docker(['run', '-d', '--network', 'pub6', '--name', 'w6', '-p', `[::1]:${p1}:80`, '-p', `${p2}:80`, 'busybox', ...serve('hello-six')]));
    assert.equal(await getRetry('::1', p1), 'hello-six\n');
    assert.equal(await getRetry('::1', p2), 'hello-six\n');
    assert.equal(await getRetry('127.0.0.1', p2), 'hello-six\n');
    // The bridge's IPv6 gateway is a local address of the host: DNATed to the container's IPv6 address.
    assert.equal(await getRetry(`${ula}:1::1`, p2), 'hello-six\n');
    assert.equal(ok(d.docker(['port', 'w6', '80'])).stdout.split('\n').filter(Boolean).sort().join('\n'), [`0.0.0.0:${p2}`, `[::1]:${p1}`, `[::]:${p2}`].sort().join('\n'));
    const ports = JSON.parse(ok(d.docker(['inspect', '-f', '{{json .NetworkSettings.Ports}}', 'w6'])).stdout);
    assert.deepEqual(ports['80/tcp'].map((b: { HostIp: string; HostPort: string }) => `${b.HostIp} ${b.HostPort}`).sort(),
      [`0.0.0.0 ${p2}`, `:: ${p2}`, `::1 ${p1}`].sort());
    const six = spawnSync('nft', ['list', 'table', 'ip6', table(d)]).stdout.toString();
    assert.match(six, new RegExp(`tcp dport ${p2} dnat to \\[${esc(ula)}:1::2\\]:80`));
    assert.doesNotMatch(six, new RegExp(`dport ${p1} `), '::1 is the proxy\'s alone');
    // Docker's error for a port taken on the same family, none across families.
    const dup = d.docker(['run', '-d', '--network', 'pub6', '-p', `[::1]:${p1}:80`, 'busybox', 'sleep', '30']);
    assert.notEqual(dup.status, 0);
    assert.match(dup.stderr, new RegExp(`Bind for \\[::1\\]:${p1} failed: port is already allocated`));
    ok(d.docker(['rm', '-f', 'w6']));
    await assert.rejects(get('::1', p1));
    await assert.rejects(get('::1', p2));
  } finally {
    d.docker(['rm', '-f', 'w6']);
    d.docker(['container', 'prune', '-f']);
    d.docker(['network', 'rm', 'pub6']);
  }
});

test('IPv6 networks are isolated from each other; an --internal IPv6 network has no way out', { skip }, async () => {
  try {
    ok(d.docker(['network', 'create', '--ipv6', '--subnet', sub1, 'isoa']));
    ok(d.docker(['network', 'create', '--ipv6', '--subnet', sub2, 'isob']));
    ok(d.docker(['network', 'create', '--ipv6', '--internal', '--subnet', `${ula}:5::/64`, 'iso-int']));
    ok(d.docker(['run', '-d', '--network', 'isoa', '--name', 'ia', 'busybox', 'sleep', '300']));
    ok(d.docker(['run', '-d', '--network', 'isob', '--name', 'ib', 'busybox', 'sleep', '300']));
    ok(d.docker(['run', '-d', '--network', 'iso-int', '--name', 'ii', 'busybox', 'sleep', '300']));
    const ib = ok(d.docker(['inspect', '-f', '{{.NetworkSettings.Networks.isob.GlobalIPv6Address}}', 'ib'])).stdout.trim();
    const ia = ok(d.docker(['inspect', '-f', '{{.NetworkSettings.Networks.isoa.GlobalIPv6Address}}', 'ia'])).stdout.trim();
    assert.equal(ib, `${ula}:2::2`);
    // Each reaches its own gateway; nothing crosses between the bridges.
    assert.match(ok(d.docker(['exec', 'ia', 'ping', '-6', '-c', '1', '-W', '2', `${ula}:1::1`])).stdout, /1 packets received/);
    const cross = d.docker(['exec', 'ia', 'ping', '-6', '-c', '1', '-W', '1', ib]);
    assert.notEqual(cross.status, 0, `isoa reached isob: ${cross.stdout}`);
    // The internal network: no IPv6 default route, and the other networks stay out of reach.
    const ii = ok(d.docker(['exec', 'ii', 'sh', '-c', `ip -6 route | grep -c default; ping -6 -c 1 -W 1 ${ia} >/dev/null 2>&1 && echo escaped; echo done`]));
    assert.equal(ok(d.docker(['inspect', '-f', '{{with index .NetworkSettings.Networks "iso-int"}}{{.IPv6Gateway}}|{{.GlobalIPv6Address}}{{end}}', 'ii'])).stdout, `|${ula}:5::2\n`);
    assert.equal(ii.stdout, '0\ndone\n');
  } finally {
    d.docker(['rm', '-f', 'ia', 'ib', 'ii']);
    d.docker(['network', 'rm', 'isoa', 'isob', 'iso-int']);
  }
});

test('docker-py: an IPv6 network with an IPAM pool, a container with a static IPv6 address', { skip: skip || (!hasPy && 'no docker-py') }, async () => {
  const script = `import docker, json
c = docker.DockerClient(base_url='unix://${d.sock}', version='1.41')
ipam = docker.types.IPAMConfig(pool_configs=[docker.types.IPAMPool(subnet='${sub2}', gateway='${ula}:2::fe')])
n = c.networks.create('pysix', driver='bridge', enable_ipv6=True, ipam=ipam)
try:
    api = c.api
    cfg = api.create_networking_config({'pysix': api.create_endpoint_config(ipv6_address='${ula}:2::42')})
    ct = api.create_container('busybox', 'sleep 60', networking_config=cfg, host_config=api.create_host_config(network_mode='pysix'))
    api.start(ct)
    info = api.inspect_container(ct)['NetworkSettings']['Networks']['pysix']
    n.reload()
    print(json.dumps([n.attrs['EnableIPv6'], n.attrs['IPAM']['Config'][-1], info['GlobalIPv6Address'], info['IPv6Gateway']]))
    api.remove_container(ct, force=True)
finally:
    n.remove()
`;
  const r = spawnSync('python3', ['-c', script], { timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr.toString());
  assert.deepEqual(JSON.parse(r.stdout.toString()), [true, { Subnet: sub2, Gateway: `${ula}:2::fe` }, `${ula}:2::42`, `${ula}:2::fe`]);
});

test('another host routing an IPv6 bridge subnet through this one reaches published ports only; --userland-proxy=false serves IPv6 through DNAT alone', { skip }, async () => {
  const tag = randomBytes(3).toString('hex');
  const ns = `b6x-${tag}`;
  const hostIf = `v6h${tag}`;
  const otherIf = `v6o${tag}`;
  const sub3 = `${ula}:3::/64`;
  const hostAddr = `${ula}:ff::1`;
  const otherAddr = `${ula}:ff::2`;
  const sh = (cmd: string, args: string[]) => { const r = spawnSync(cmd, args, { timeout: 15_000 }); assert.equal(r.status, 0, `${cmd} ${args.join(' ')}: ${r.stderr}`); };
  const GET = `const r = require('node:http').get({ host: process.argv[1], port: Number(process.argv[2]), path: '/', timeout: 3000 }, (x) => {
    let b = ''; x.on('data', (c) => { b += c; }); x.on('end', () => { process.stdout.write(b); process.exit(0); }); });
    r.on('timeout', () => process.exit(1)); r.on('error', () => process.exit(1));`;
  const fromOther = (host: string, p: number) => {
    const r = spawnSync('ip', ['netns', 'exec', ns, process.execPath, '-e', GET, host, String(p)], { timeout: 15_000 });
    return r.status === 0 ? r.stdout.toString() : undefined;
  };
  const fromOtherRetry = async (host: string, p: number) => {
    for (let i = 0; i < 10; i++) {
      const b = fromOther(host, p);
      if (b !== undefined) return b;
      await new Promise((r) => setTimeout(r, 200));
    }
    return undefined;
  };
  const p = port();
  let d2: Daemon | undefined;
  try {
    sh('ip', ['netns', 'add', ns]);
    sh('ip', ['link', 'add', hostIf, 'type', 'veth', 'peer', 'name', otherIf, 'netns', ns]);
    sh('ip', ['addr', 'add', `${hostAddr}/64`, 'dev', hostIf, 'nodad']);
    sh('ip', ['link', 'set', hostIf, 'up']);
    sh('ip', ['-n', ns, 'addr', 'add', `${otherAddr}/64`, 'dev', otherIf, 'nodad']);
    sh('ip', ['-n', ns, 'link', 'set', otherIf, 'up']);
    sh('ip', ['-n', ns, 'route', 'add', sub3, 'via', hostAddr]);
    ok(d.docker(['network', 'create', '--ipv6', '--subnet', sub3, 'exp6']));
    ok(d.docker(['run', '-d', '--network', 'exp6', '--name', 'x6', '-p', `${p}:80`, 'busybox', ...serve('exposed-six')]));
    const cip = `${ula}:3::2`;
    assert.equal(ok(d.docker(['inspect', '-f', '{{.NetworkSettings.Networks.exp6.GlobalIPv6Address}}', 'x6'])).stdout, `${cip}\n`);
    assert.equal(readFileSync('/proc/sys/net/ipv6/conf/all/forwarding', 'utf8').trim(), '1', 'berth turns IPv6 forwarding on, as Docker does');
    // The published port answers the other host on the host's address (prerouting DNAT, then forwarded).
    assert.equal(await fromOtherRetry(hostAddr, p), 'exposed-six\n');
    // Routing the bridge subnet through the host reaches neither an unpublished port nor the
    // published container port directly.
    assert.equal(fromOther(cip, 81), undefined, 'unpublished port reached from another host');
    assert.equal(fromOther(cip, 80), undefined, 'container port reached directly from another host');
    // The host itself reaches both (its own traffic is not forwarded), and the container reaches the other host.
    assert.equal(await getRetry(cip, 81), 'exposed-six\n');
    assert.match(ok(d.docker(['exec', 'x6', 'ping', '-6', '-c', '1', '-W', '2', otherAddr])).stdout, /1 packets received/);

    // Without the userland proxy, nothing listens: the ip6 table's DNAT alone serves the host's
    // IPv6 addresses (not ::1, which IPv6 cannot DNAT onto a bridge, as in Docker).
    d2 = await startDaemon({ extraArgs: ['--userland-proxy=false'] });
    const sub4 = `${ula}:4::/64`;
    ok(d2.docker(['network', 'create', '--ipv6', '--subnet', sub4, 'dn6']));
    ok(d2.docker(['run', '-d', '--network', 'dn6', '-p', `${p + 1}:80`, 'busybox', ...serve('dnat-six')]));
    assert.equal(await getRetry(`${ula}:4::1`, p + 1), 'dnat-six\n');
    assert.equal(spawnSync('ss', ['-Htln', `sport = :${p + 1}`]).stdout.toString().trim(), '');
  } finally {
    spawnSync('ip', ['netns', 'del', ns]);
    spawnSync('ip', ['link', 'del', hostIf]);
    d.docker(['rm', '-f', 'x6']);
    d.docker(['network', 'rm', 'exp6']);
    await d2?.stop();
  }
});
