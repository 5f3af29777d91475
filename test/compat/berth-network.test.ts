// `berth network create|ls|inspect|rm|connect|disconnect|prune` and `berth port` against a real
// berthd (its default bridge on: `-b`, `--bip`), with the docker CLI (28.x) as the oracle: for
// the same daemon state both CLIs must print the same text and exit alike (docker's name in its
// own usage messages aside). User networks get subnets in 10.237.<n>.0/24 (none used on the
// host); each test removes the networks and containers it made. Skipped where no docker client
// is installed.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { startDaemon, hasDocker, type Daemon, type RunOut } from '../integration/harness.ts';

const skip = hasDocker ? false : 'no docker client installed on this machine';
const bridge = `btn${randomBytes(2).toString('hex')}`;
let d: Daemon;

/** A /24 prefix (`10.236.7`) in `pool` that no host route touches. */
function freeNet(pool: string): string {
  const routes = spawnSync('ip', ['-4', 'route', 'show']).stdout?.toString() ?? '';
  for (let tries = 0; tries < 300; tries++) {
    const n = `${pool}.${randomInt(0, 251)}`;
    if (!routes.includes(`${n}.`)) return n;
  }
  throw new Error(`no free /24 in ${pool}.0.0/16`);
}
const bip = freeNet('10.236');
/** Two /24s for user networks (a second one where two networks must coexist). */
const sub1 = freeNet('10.237');
let sub2 = freeNet('10.237');
while (sub2 === sub1) sub2 = freeNet('10.237');

before(async () => { if (!skip) d = await startDaemon({ extraArgs: ['-b', bridge, '--bip', `${bip}.1/24`] }); });
after(async () => {
  await d?.stop();
  spawnSync('ip', ['link', 'del', 'dev', bridge]);
});

const PROMPT = 'WARNING! This will remove all custom networks not used by at least one container.\nAre you sure you want to continue? [y/N] ';

/** docker's usage messages name docker; everything else must be byte for byte the same. */
const asBerth = (s: string) => s.replace(/\bdocker\b/g, 'berth').replace(/^SRun '/m, "Run '");

/** Both CLIs, same arguments and input, the same daemon state: same status, stdout and stderr. */
function same(args: string[], o: { input?: string } = {}): RunOut {
  const b = d.berth(args, o);
  const k = d.docker(args, o);
  const what = args.join(' ');
  assert.equal(b.status, k.status, `${what}: exit berth ${b.status} docker ${k.status}\n${b.stderr}\n${k.stderr}`);
  assert.equal(b.stdout, k.stdout, what);
  assert.equal(b.stderr, asBerth(k.stderr), what);
  return b;
}

const ok = (r: RunOut) => { assert.equal(r.status, 0, r.stderr); return r; };
const ID = /^[0-9a-f]{64}\n$/;

/** Removes networks and containers whatever state a failed assertion left them in. */
function tidy(o: { containers?: string[]; networks?: string[] }): void {
  if (o.containers?.length) d.berth(['rm', '-f', ...o.containers]);
  if (o.networks?.length) d.berth(['network', 'rm', '-f', ...o.networks]);
}

test('network ls and inspect: the predefined networks, formats, unknown names', { skip }, () => {
  const table = same(['network', 'ls']);
  assert.match(table.stdout, /^NETWORK ID {5}NAME {6}DRIVER {4}SCOPE\n/);
  for (const n of ['bridge', 'host', 'none']) assert.match(table.stdout, new RegExp(`\\s${n}\\s`));
  same(['network', 'ls', '-q']);
  same(['network', 'list', '--no-trunc', '--format', '{{.ID}} {{.Name}} {{.Driver}} {{.Scope}} {{.IPv4}} {{.IPv6}} {{.Internal}}']);
  same(['network', 'ls', '-f', 'driver=bridge', '--format', 'json']);
  same(['network', 'inspect', '-f', '{{.Name}} {{.Driver}} {{.Scope}} {{json .IPAM.Config}}', 'bridge', 'host', 'none']);
  assert.match(same(['network', 'inspect', '-f', '{{json .IPAM.Config}}', 'bridge']).stdout, new RegExp(`"Subnet":"${bip.replace(/\./g, '\\.')}\\.0/24"`));
  same(['network', 'inspect', 'nosuch']);
  same(['network', 'inspect', 'bridge', 'nosuch']);
});

test('network create: flags to the body, the ID printed; IPAM and flag errors; duplicate names', { skip }, () => {
  const args = [
    '--subnet', `${sub1}.0/24`, '--ip-range', `${sub1}.128/25`, '--gateway', `${sub1}.254`, '--aux-address', `printer=${sub1}.10`,
    '--label', 'tier=db', '--label', 'com.example.x', '-o', 'com.docker.network.bridge.enable_icc=true', '--internal', '--attachable',
  ];
  const FMT = '{{.Name}}|{{.Driver}}|{{.Scope}}|{{json .IPAM}}|{{.Internal}}|{{.Attachable}}|{{json .Labels}}|{{json .Options}}|{{.EnableIPv4}}|{{.EnableIPv6}}';
  const made: Record<string, string> = {};
  try {
    // The same options from each CLI, one after the other (the subnets cannot overlap): the
    // daemon stores the same network.
    for (const [cli, run] of [['berth', d.berth], ['docker', d.docker]] as const) {
      const r = ok(run(['network', 'create', ...args, 'cn1']));
      assert.match(r.stdout, ID);
      assert.equal(r.stderr, '');
      assert.equal(ok(d.berth(['network', 'inspect', '-f', '{{.Id}}', 'cn1'])).stdout, r.stdout);
      made[cli] = ok(d.berth(['network', 'inspect', '-f', FMT, 'cn1'])).stdout;
      ok(d.berth(['network', 'rm', 'cn1']));
    }
    assert.equal(made.berth, made.docker);
    assert.match(made.berth, new RegExp(`^cn1\\|bridge\\|local\\|.*"Subnet":"${sub1.replace(/\./g, '\\.')}\\.0/24"`));
    // Defaults: driver bridge, IPAM driver default; -d given explicitly too.
    for (const [cli, run] of [['berth', d.berth], ['docker', d.docker]] as const) {
      assert.match(ok(run(['network', 'create', '-d', 'bridge', '--subnet', `${sub2}.0/24`, 'cn2'])).stdout, ID);
      made[cli] = ok(d.berth(['network', 'inspect', '-f', FMT, 'cn2'])).stdout;
      ok(d.berth(['network', 'rm', 'cn2']));
    }
    assert.equal(made.berth, made.docker);

    // A name in use: the daemon's 409, exit 1, from either CLI.
    ok(d.berth(['network', 'create', '--subnet', `${sub1}.0/24`, 'dup']));
    const dup = same(['network', 'create', '--subnet', `${sub2}.0/24`, 'dup']);
    assert.deepEqual([dup.status, dup.stdout, dup.stderr], [1, '', 'Error response from daemon: network with name dup already exists\n']);
    same(['network', 'create', '--subnet', `${sub2}.0/24`, 'bridge']);         // a predefined name
    assert.equal(same(['network', 'ls', '-q', '-f', 'name=dup']).stdout.split('\n').filter(Boolean).length, 1);
    ok(d.berth(['network', 'rm', 'dup']));
  } finally {
    tidy({ networks: ['cn1', 'cn2', 'dup'] });
  }

  // Checked by the CLI before anything is sent (exit 1), or while parsing flags (exit 125).
  const s = `${sub1}.0/24`;
  for (const bad of [
    ['--subnet', s, '--subnet', `${sub1}.128/25`],                          // overlapping
    ['--subnet', s, '--subnet', s],
    ['--gateway', `${sub1}.1`],                                             // no subnet
    ['--subnet', s, '--gateway', `${sub2}.1`],                              // no matching subnet
    ['--subnet', s, '--ip-range', `${sub2}.0/25`],
    ['--subnet', s, '--ip-range', 'nonsense'],
    ['--subnet', `${s},${sub2}.0/24`, '--ip-range', `${sub1}.0/25,${sub1}.128/25`],
    ['--subnet', s, '--subnet', `${sub2}.0/24`, '--gateway', `${sub1}.1,${sub1}.2`],
    ['--subnet', s, '--aux-address', `a=${sub2}.5`],
    ['--subnet', 'bogus', '--subnet', s],
    ['--subnet', s, '--gateway', `${sub1}.1/33`],
    ['--subnet', 'a"b'],
    ['--label', '=v'],
    ['--label', 'a b=c'],
    ['--ipv4=maybe'],
    ['--nosuchflag'],
  ]) same(['network', 'create', ...bad, 'cnx']);
  same(['network', 'create']);
  same(['network', 'create', 'a', 'b']);
  assert.equal(d.berth(['network', 'ls', '-q', '-f', 'name=cnx']).stdout, '', 'nothing created by the failures');
});

test('network rm: names echoed, errors after, `exit status 1`; -f; predefined; in use', { skip }, () => {
  const nets = ['rmb1', 'rmb2', 'rmd1', 'rmd2', 'held'];
  try {
    const run = (cli: Daemon['berth'], p: string) => {
      ok(d.berth(['network', 'create', '--subnet', `${sub1}.0/24`, `${p}1`]));
      ok(d.berth(['network', 'create', '--subnet', `${sub2}.0/24`, `${p}2`]));
      return cli(['network', 'rm', `${p}1`, 'nosuch', ' ', `${p}2`]);
    };
    const b = run(d.berth, 'rmb');
    const k = run(d.docker, 'rmd');
    assert.deepEqual([b.status, k.status], [1, 1]);
    assert.equal(b.stdout, 'rmb1\nrmb2\n');
    assert.equal(k.stdout, 'rmd1\nrmd2\n');
    assert.equal(b.stderr, k.stderr);
    assert.match(b.stderr, /^Error response from daemon: .*nosuch.*\ninvalid network name or ID: value is empty\nexit status 1\n$/);
    assert.equal(d.berth(['network', 'ls', '-q', '-f', 'name=rm']).stdout, '');

    // -f: a missing network is no error; other errors still are.
    assert.deepEqual(same(['network', 'rm', '-f', 'nosuch']), { status: 0, stdout: '', stderr: '' });
    same(['network', 'remove', '--force', 'nosuch', '']);
    same(['network', 'rm', 'bridge']);                                       // predefined: refused
    same(['network', 'rm', '-f', 'host', 'none']);
    same(['network', 'rm']);

    // In use by a running container: refused, the network stays.
    ok(d.berth(['network', 'create', '--subnet', `${sub1}.0/24`, 'held']));
    ok(d.berth(['run', '-d', '--name', 'rm-holder', '--network', 'held', 'busybox', 'sleep', '300']));
    const inUse = same(['network', 'rm', 'held']);
    assert.equal(inUse.status, 1);
    assert.match(inUse.stderr, /^Error response from daemon: .*held.*\nexit status 1\n$/);
    assert.equal(d.berth(['network', 'ls', '-q', '-f', 'name=held']).stdout.split('\n').filter(Boolean).length, 1);
    ok(d.berth(['rm', '-f', 'rm-holder']));
    assert.equal(ok(d.berth(['network', 'rm', 'held'])).stdout, 'held\n');
  } finally {
    tidy({ containers: ['rm-holder'], networks: nets });
  }
});

test('network connect and disconnect: aliases and addresses as sent; errors alike', { skip }, () => {
  const FMT = `{{with index .NetworkSettings.Networks "cnet"}}{{.IPAddress}} {{json .Aliases}} {{json .IPAMConfig}} {{json .DriverOpts}}{{else}}none{{end}}`;
  try {
    ok(d.berth(['network', 'create', '--subnet', `${sub1}.0/24`, 'cnet']));
    ok(d.berth(['run', '-d', '--name', 'cc1', 'busybox', 'sleep', '300']));
    const seen: Record<string, string> = {};
    for (const [cli, run] of [['berth', d.berth], ['docker', d.docker]] as const) {
      const r = ok(run(['network', 'connect', '--alias', 'db,cache', '--alias', 'store', '--ip', `${sub1}.9`, 'cnet', 'cc1']));
      assert.deepEqual([r.stdout, r.stderr], ['', '']);
      seen[cli] = ok(d.berth(['inspect', '-f', FMT, 'cc1'])).stdout;
      // Connected twice: the daemon's error.
      same(['network', 'connect', 'cnet', 'cc1']);
      const dis = ok(run(['network', 'disconnect', 'cnet', 'cc1']));
      assert.deepEqual([dis.stdout, dis.stderr], ['', '']);
      assert.equal(ok(d.berth(['inspect', '-f', FMT, 'cc1'])).stdout, 'none\n');
    }
    assert.equal(seen.berth, seen.docker);
    assert.match(seen.berth, new RegExp(`^${sub1.replace(/\./g, '\\.')}\\.9 \\[`));

    same(['network', 'disconnect', 'cnet', 'cc1']);                            // not connected
    same(['network', 'disconnect', '-f', 'cnet', 'cc1']);
    same(['network', 'connect', 'cnet', 'nosuch']);
    same(['network', 'connect', 'nosuch', 'cc1']);
    same(['network', 'disconnect', 'nosuch', 'cc1']);
    same(['network', 'connect', ' ', 'cc1']);
    same(['network', 'disconnect', 'cnet', '']);
    same(['network', 'connect', '--driver-opt', 'novalue', 'cnet', 'cc1']);
    same(['network', 'connect', '--link', 'a:b:c', 'cnet', 'cc1']);
    same(['network', 'connect', '--gw-priority', 'x', 'cnet', 'cc1']);
    same(['network', 'connect', 'cnet']);
    same(['network', 'disconnect', 'cnet', 'cc1', 'extra']);
    assert.equal(ok(d.berth(['inspect', '-f', FMT, 'cc1'])).stdout, 'none\n');
  } finally {
    tidy({ containers: ['cc1'], networks: ['cnet'] });
  }
});

test('network prune: the question, --filter, the report; networks in use kept', { skip }, () => {
  try {
    // Declined (anything but y/Y, or no input): the question only, exit 0.
    ok(d.berth(['network', 'create', '--subnet', `${sub1}.0/24`, 'pr-a']));
    for (const input of ['n\n', '\n', 'yes\n', '']) {
      assert.deepEqual(same(['network', 'prune'], { input }), { status: 0, stdout: PROMPT, stderr: '' }, JSON.stringify(input));
    }
    same(['network', 'prune', '--filter', 'nofilter']);                       // 125, before the question
    same(['network', 'prune', 'extra']);
    // The same network made again for each CLI: the same report.
    const b = d.berth(['network', 'prune'], { input: 'y\n' });
    ok(d.berth(['network', 'create', '--subnet', `${sub1}.0/24`, 'pr-a']));
    const k = d.docker(['network', 'prune'], { input: 'y\n' });
    assert.deepEqual(b, k);
    assert.deepEqual(b, { status: 0, stdout: `${PROMPT}Deleted Networks:\npr-a\n\n`, stderr: '' });
    // Nothing to prune: nothing printed at all.
    assert.deepEqual(same(['network', 'prune', '-f']), { status: 0, stdout: '', stderr: '' });

    // Filtered by label; a network with a container on it stays.
    ok(d.berth(['network', 'create', '--subnet', `${sub2}.0/24`, 'pr-used']));
    ok(d.berth(['run', '-d', '--name', 'pr-holder', '--network', 'pr-used', 'busybox', 'sleep', '300']));
    for (const args of [['network', 'prune', '-f', '--filter', 'label=prune=yes'], ['network', 'prune', '--force', '--filter', 'label!=keep']]) {
      const make = () => {
        ok(d.berth(['network', 'create', '--subnet', `${sub1}.0/25`, '--label', 'prune=yes', 'pr-x']));
        ok(d.berth(['network', 'create', '--subnet', `${sub1}.128/25`, '--label', 'keep', 'pr-keep']));
      };
      make();
      const rb = d.berth(args);
      ok(d.berth(['network', 'rm', 'pr-keep']));
      make();
      const rk = d.docker(args);
      ok(d.berth(['network', 'rm', 'pr-keep']));
      assert.deepEqual(rb, rk, args.join(' '));
      assert.deepEqual(rb, { status: 0, stdout: 'Deleted Networks:\npr-x\n\n', stderr: '' });
    }
    assert.equal(ok(d.berth(['network', 'ls', '-q', '-f', 'name=pr-used'])).stdout.split('\n').filter(Boolean).length, 1);
  } finally {
    tidy({ containers: ['pr-holder'], networks: ['pr-a', 'pr-x', 'pr-keep', 'pr-used'] });
  }
});

test('port: every binding sorted, one private port, errors alike (default bridge)', { skip }, () => {
  try {
    ok(d.berth(['run', '-d', '--name', 'pt', '-p', '127.0.0.1::80', '-p', '8081:81/udp', '--expose', '90', 'busybox', 'sleep', '300']));
    const all = same(['port', 'pt']);
    assert.match(all.stdout, /^80\/tcp -> 127\.0\.0\.1:\d+\n81\/udp -> 0\.0\.0\.0:8081\n/);
    same(['container', 'port', 'pt']);
    assert.match(same(['port', 'pt', '80']).stdout, /^127\.0\.0\.1:\d+\n$/);
    same(['port', 'pt', '80/tcp']);
    assert.match(same(['port', 'pt', '81/udp']).stdout, /^0\.0\.0\.0:8081\n/);
    for (const bad of ['81', '81/tcp', '90', '82/udp', 'http', '70000', '/udp', '80/sctp']) {
      const r = same(['port', 'pt', bad]);
      assert.equal(r.status, 1, bad);
    }
    same(['port', 'nosuch']);
    same(['port', ' ']);
    same(['port']);
    same(['port', 'pt', '80', 'extra']);
    // A created (never started) container: no bindings yet, nothing printed.
    ok(d.berth(['create', '--name', 'pt-new', '-p', '9090:90', 'busybox']));
    same(['port', 'pt-new']);
    same(['port', 'pt-new', '90']);
  } finally {
    tidy({ containers: ['pt', 'pt-new'] });
  }
});
