// `system prune` through the berth CLI and the docker CLI (which composes the same per-resource
// prune calls client-side): the prompt, what goes and what stays, the sections and the total.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startDaemon, hasDocker, type Daemon } from './harness.ts';
import { build } from './build-util.ts';

let d: Daemon;
before(async () => { d = await startDaemon({ importBusybox: true }); });
after(async () => { await d?.stop(); });

test('the confirmation prompt is docker\'s, with and without options; declining changes nothing', { skip: !hasDocker && 'no docker CLI' }, () => {
  d.berth(['run', '--name', 'keepme', 'busybox', 'true']);
  for (const args of [[], ['-a', '--volumes', '--filter', 'label=x=y', '--filter', 'until=1h'], ['-a', '--filter', 'label!=a', '--filter', 'label=b']]) {
    const b = d.berth(['system', 'prune', ...args], { input: 'n\n' });
    const k = d.docker(['system', 'prune', ...args], { input: 'n\n' });
    assert.equal(b.stdout, k.stdout, `system prune ${args.join(' ')}`);
    assert.equal(b.stderr, k.stderr);
    assert.equal(b.status, k.status);
  }
  for (const args of [['--filter', 'foo'], ['--volumes', '--filter', 'until=1h'], ['extra']]) {
    const b = d.berth(['system', 'prune', '-f', ...args]);
    const k = d.docker(['system', 'prune', '-f', ...args]);
    assert.equal(b.status, k.status, `system prune ${args.join(' ')}`);
    assert.equal(b.stderr.replaceAll('berth', 'docker'), k.stderr.replaceAll('Docker', 'docker'));
  }
  assert.equal(d.berth(['ps', '-aq', '--filter', 'name=keepme']).stdout.trim().length, 12);
  d.berth(['rm', 'keepme']);
});

async function litter(tag: string): Promise<void> {
  assert.equal(d.berth(['run', '--name', `stopped-${tag}`, 'busybox', 'true']).status, 0);
  assert.equal(d.berth(['run', '-v', '/anon', '--name', `withvol-${tag}`, 'busybox', 'true']).status, 0);
  assert.equal(d.berth(['volume', 'create', `named-${tag}`]).status, 0);
  assert.equal(d.berth(['network', 'create', `net-${tag}`]).status, 0);
  // An unused tagged image, and a dangling one (the same tag built twice).
  for (const n of [1, 2]) assert.equal((await build(d, { Dockerfile: `FROM busybox\nRUN echo ${tag}${n} > /f\n` }, { t: `dangle-${tag}` })).status, 200);
  assert.equal((await build(d, { Dockerfile: `FROM busybox\nRUN echo ${tag} > /g\n` }, { t: `unused-${tag}` })).status, 200);
}

for (const cli of ['berth', 'docker'] as const) {
  test(`${cli} system prune, then -a --volumes: what goes, what stays, and the report`, { skip: cli === 'docker' && !hasDocker && 'no docker CLI' }, async () => {
    const run = (a: string[]) => (cli === 'berth' ? d.berth(a) : d.docker(a));
    assert.equal(d.berth(['run', '-d', '--name', `running-${cli}`, 'busybox', 'sleep', '300']).status, 0);
    await litter(cli);
    const vols = () => (d.berth(['volume', 'ls', '-q']).stdout.trim().split('\n').filter(Boolean));
    const anon = vols().filter((v) => !v.startsWith('named-'));
    assert.equal(anon.length, 1);

    const r = run(['system', 'prune', '-f']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^Deleted Containers:\n([0-9a-f]{64}\n){2}\n/);
    assert.match(r.stdout, new RegExp(`Deleted Networks:\\nnet-${cli}\\n\\n`));
    assert.match(r.stdout, /Deleted Images:\n(deleted: sha256:[0-9a-f]{64}\n)+\n/);
    assert.match(r.stdout, /\nTotal reclaimed space: \d+(\.\d+)?[kMG]?B\n$/);
    assert.doesNotMatch(r.stdout, /Deleted Volumes/);
    // berth's build cache records are all unused once their build is over: they go here already.
    assert.match(r.stdout, /Deleted build cache objects:\n([0-9a-z]+\n)+\n/);
    assert.equal(d.berth(['ps', '-aq']).stdout.trim().split('\n').length, 1, 'only the running container is left');
    assert.equal(d.berth(['images', '-q', `unused-${cli}`]).stdout.trim().length, 12, 'tagged images stay without -a');
    assert.equal(d.berth(['images', '-q', '--filter', 'dangling=true']).stdout.trim(), '');
    assert.deepEqual(vols().sort(), [...anon, `named-${cli}`].sort(), 'volumes stay without --volumes');

    const a = run(['system', 'prune', '-a', '--volumes', '-f']);
    assert.equal(a.status, 0, a.stderr);
    assert.match(a.stdout, new RegExp(`Deleted Volumes:\\n${anon[0]}\\n\\n`));
    assert.match(a.stdout, new RegExp(`Deleted Images:\\n(.+\\n)*untagged: unused-${cli}:latest\\n`));
    assert.equal(d.berth(['images', '-q', `unused-${cli}`]).stdout.trim(), '');
    assert.equal(d.berth(['images', '-q', 'busybox']).stdout.trim().length, 12, 'an image a running container uses stays');
    assert.deepEqual(vols(), [`named-${cli}`], 'named volumes stay (only anonymous ones are pruned)');
    const df = d.berth(['system', 'df']);
    assert.match(df.stdout, /^Build Cache\s+0\s+0\s+0B\s+0B$/m);
    d.berth(['rm', '-f', `running-${cli}`]);
    d.berth(['volume', 'rm', `named-${cli}`]);
  });
}

test('system prune --filter label=: only labelled containers and networks go', () => {
  assert.equal(d.berth(['run', '--name', 'lab-a', '--label', 'team=a', 'busybox', 'true']).status, 0);
  assert.equal(d.berth(['run', '--name', 'lab-b', '--label', 'team=b', 'busybox', 'true']).status, 0);
  assert.equal(d.berth(['network', 'create', '--label', 'team=a', 'lab-net-a']).status, 0);
  assert.equal(d.berth(['network', 'create', 'lab-net-none']).status, 0);
  const r = d.berth(['system', 'prune', '-f', '--filter', 'label=team=a']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /Deleted Networks:\nlab-net-a\n/);
  assert.deepEqual(d.berth(['ps', '-a', '--format', '{{.Names}}']).stdout.trim().split('\n'), ['lab-b']);
  assert.match(d.berth(['network', 'ls', '--format', '{{.Name}}']).stdout, /^lab-net-none$/m);
  d.berth(['rm', 'lab-b']);
  d.berth(['network', 'rm', 'lab-net-none']);
});
