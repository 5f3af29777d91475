// What compose clients (compose v2, docker-compose 1.29, the docker CLI's plugin) need from the
// engine, against a real berthd: several `label` filters AND together and a key-only label
// filter matches any value, on containers, networks, volumes and images (through the docker CLI,
// the oracle); a running container renamed answers to its new name in the embedded DNS; /events
// filtered by type, label and event as compose's attached `up` asks; /_ping keeps clients on the
// legacy builder; /build takes compose's JSON parameters; a create at API 1.44 with every network
// in NetworkingConfig connects them all, with the service's aliases answered on each.
// Traffic only to addresses on bridges this daemon made; names nobody knows are never forwarded
// off the machine (the containers' --dns is a loopback address where nothing listens).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { startDaemon, type Daemon } from './harness.ts';
import { build } from './build-util.ts';

let d: Daemon;
before(async () => { d = await startDaemon(); });
after(async () => { await d?.stop(); });

const ok = (r: { status: number | null; stdout: string; stderr: string }) => { assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`); return r; };
const lines = (s: string) => s.split('\n').filter(Boolean).sort();
const NO_DNS = '127.0.0.154';

test('label filters: several AND together, a key alone matches any value; containers, networks, volumes, images', async () => {
  const labels = { both: ['--label', 'p=shop', '--label', 'role=web'], one: ['--label', 'p=shop', '--label', 'role=db'], none: ['--label', 'other=1'] };
  for (const [n, l] of Object.entries(labels)) {
    ok(d.docker(['create', '--name', `lf-${n}`, ...l, 'busybox', 'true']));
    ok(d.docker(['network', 'create', ...l, `lf-${n}`]));
    ok(d.docker(['volume', 'create', ...l, `lf-${n}`]));
    const c = ok(d.docker(['create', 'busybox', 'true'])).stdout.trim();
    const changes = [];
    for (let i = 1; i < l.length; i += 2) changes.push('--change', `LABEL ${l[i]}`);
    ok(d.docker(['commit', ...changes, c, `lf-${n}:latest`]));
    ok(d.docker(['rm', c]));
  }
  try {
    const cases: [string[], string[]][] = [
      [['label=p=shop'], ['lf-both', 'lf-one']],
      [['label=p=shop', 'label=role=web'], ['lf-both']],
      [['label=p', 'label=role'], ['lf-both', 'lf-one']],
      [['label=p=shop', 'label=other'], []],
      [['label=role', 'label=role=db'], ['lf-one']],
      [['label=other'], ['lf-none']],
    ];
    for (const [filters, want] of cases) {
      const f = filters.flatMap((x) => ['--filter', x]);
      const what = filters.join(' ');
      assert.deepEqual(lines(ok(d.docker(['ps', '-a', ...f, '--format', '{{.Names}}'])).stdout), want, `ps ${what}`);
      assert.deepEqual(lines(ok(d.docker(['network', 'ls', ...f, '--format', '{{.Name}}'])).stdout), want, `network ls ${what}`);
      assert.deepEqual(lines(ok(d.docker(['volume', 'ls', '-q', ...f])).stdout), want, `volume ls ${what}`);
      assert.deepEqual(lines(ok(d.docker(['images', ...f, '--format', '{{.Repository}}'])).stdout), want, `images ${what}`);
    }
    // The same through the API, as compose v2 sends it (one JSON document, label list).
    const q = encodeURIComponent(JSON.stringify({ label: ['p=shop', 'role=db'] }));
    assert.deepEqual((await d.api('GET', `/containers/json?all=1&filters=${q}`)).json().map((c: { Names: string[] }) => c.Names[0]), ['/lf-one']);
    assert.deepEqual((await d.api('GET', `/networks?filters=${q}`)).json().map((n: { Name: string }) => n.Name), ['lf-one']);
    assert.deepEqual((await d.api('GET', `/volumes?filters=${q}`)).json().Volumes.map((v: { Name: string }) => v.Name), ['lf-one']);
    assert.deepEqual((await d.api('GET', `/images/json?filters=${q}`)).json().map((i: { RepoTags: string[] }) => i.RepoTags[0]), ['lf-one:latest']);
  } finally {
    for (const n of Object.keys(labels)) {
      d.docker(['rm', '-f', `lf-${n}`]);
      d.docker(['network', 'rm', `lf-${n}`]);
      d.docker(['volume', 'rm', `lf-${n}`]);
      d.docker(['rmi', `lf-${n}`]);
    }
  }
});

test('rename of a running container: the embedded DNS answers the new name, no longer the old one', async () => {
  ok(d.docker(['network', 'create', 'rn']));
  try {
    ok(d.docker(['run', '-d', '--name', 'rn-old', '--network', 'rn', '--network-alias', 'svc', '--dns', NO_DNS, 'busybox', 'sleep', '300']));
    ok(d.docker(['run', '-d', '--name', 'rn-client', '--network', 'rn', '--dns', NO_DNS, 'busybox', 'sleep', '300']));
    const ip = (await d.api('GET', '/containers/rn-old/json')).json().NetworkSettings.Networks.rn.IPAddress as string;
    ok(d.docker(['rename', 'rn-old', 'rn-new']));
    const c = (await d.api('GET', '/containers/rn-new/json')).json();
    assert.equal(c.Name, '/rn-new');
    assert.equal(c.State.Running, true);
    assert.deepEqual(c.NetworkSettings.Networks.rn.DNSNames, ['rn-new', 'svc', c.Id.slice(0, 12)]);
    const look = (name: string) => d.docker(['exec', 'rn-client', 'nslookup', name], { timeout: 20_000 });
    assert.match(ok(look('rn-new')).stdout, new RegExp(`Address: ${ip.replace(/\./g, '\\.')}`));
    assert.match(ok(look('svc')).stdout, new RegExp(`Address: ${ip.replace(/\./g, '\\.')}`));
    const old = look('rn-old');
    assert.notEqual(old.status, 0);
    assert.doesNotMatch(old.stdout, new RegExp(ip.replace(/\./g, '\\.')));
    // A daemon restart keeps the new name in the DNS (the endpoint state is saved).
    await d.restart();
    assert.match(ok(look('rn-new')).stdout, new RegExp(`Address: ${ip.replace(/\./g, '\\.')}`));
  } finally {
    d.docker(['rm', '-f', 'rn-old', 'rn-new', 'rn-client']);
    d.docker(['network', 'rm', 'rn']);
  }
});

/** Reads /events until `until` (a Unix time) and returns the events. */
function events(query: string): Promise<any[]> {
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath: d.sock, path: `/v1.47/events?${query}`, agent: false }, (r) => {
      let body = '';
      r.on('data', (c) => { body += c; });
      r.on('end', () => resolve(body.split('\n').filter(Boolean).map((l) => JSON.parse(l))));
      r.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

test('/events: type, several labels and event filters together, as compose asks', async () => {
  const since = Math.floor(Date.now() / 1000) - 1;
  const lbl = ['--label', 'com.docker.compose.project=evp', '--label', 'com.docker.compose.oneoff=False'];
  ok(d.docker(['run', '--name', 'ev-a', ...lbl, 'busybox', 'true']));
  ok(d.docker(['run', '--name', 'ev-b', '--label', 'com.docker.compose.project=evp', '--label', 'com.docker.compose.oneoff=True', 'busybox', 'true']));
  ok(d.docker(['run', '--name', 'ev-c', '--label', 'com.docker.compose.project=other', 'busybox', 'true']));
  ok(d.docker(['volume', 'create', ...lbl, 'ev-vol']));
  try {
    const until = Math.floor(Date.now() / 1000) + 1;
    const q = (f: Record<string, string[]>) => `since=${since}&until=${until}&filters=${encodeURIComponent(JSON.stringify(f))}`;
    const project = 'com.docker.compose.project=evp';
    const all = await events(q({ type: ['container'], label: [project] }));
    assert.deepEqual([...new Set(all.map((e) => e.Actor.Attributes.name))].sort(), ['ev-a', 'ev-b']);
    assert.ok(all.every((e) => e.Type === 'container'));
    const two = await events(q({ type: ['container'], label: [project, 'com.docker.compose.oneoff=False'], event: ['start', 'die'] }));
    assert.deepEqual(two.map((e) => `${e.Actor.Attributes.name} ${e.Action}`), ['ev-a start', 'ev-a die']);
    assert.equal(two[1].Actor.Attributes.exitCode, '0');
    // A key alone matches any value.
    const key = await events(q({ type: ['container'], label: ['com.docker.compose.oneoff'], event: ['create'] }));
    assert.deepEqual(key.map((e) => e.Actor.Attributes.name), ['ev-a', 'ev-b']);
    // Volume events carry no labels (moby's carry the driver only): a label filter leaves them out.
    const vols = await events(q({ type: ['volume'], event: ['create'] }));
    assert.deepEqual(vols.map((e) => `${e.Actor.ID} ${e.Actor.Attributes.driver}`), ['ev-vol local']);
    assert.deepEqual(await events(q({ type: ['volume'], label: [project] })), []);
    // The docker CLI's form of the same filter.
    const cli = ok(d.docker(['events', '--since', String(since), '--until', String(until), '--filter', 'type=container', '--filter', `label=${project}`, '--filter', 'event=die', '--format', '{{.Actor.Attributes.name}}']));
    assert.deepEqual(lines(cli.stdout), ['ev-a', 'ev-b']);
  } finally {
    d.docker(['rm', '-f', 'ev-a', 'ev-b', 'ev-c']);
    d.docker(['volume', 'rm', 'ev-vol']);
  }
});

test('/_ping says Builder-Version 1; /build takes compose\'s JSON cachefrom, buildargs, labels and ulimits=null', async () => {
  for (const m of ['GET', 'HEAD']) {
    const p = await d.api(m, '/_ping');
    assert.equal(p.status, 200);
    assert.equal(p.headers['builder-version'], '1', m);
  }
  const files = { Dockerfile: 'FROM busybox\nARG GREETING=unset\nRUN echo "$GREETING" > /greeting\n' };
  const params = {
    t: 'cb-app', buildargs: JSON.stringify({ GREETING: 'hi', UNUSED: null }), labels: JSON.stringify({ 'com.docker.compose.project': 'cb', tier: 'web' }),
    cachefrom: JSON.stringify(['cb-app:latest']), ulimits: 'null', networkmode: 'default', rm: '1', forcerm: '1', pull: '0', nocache: '0',
  };
  try {
    const first = await build(d, files, params);
    assert.equal(first.error, undefined, first.output + first.httpError);
    assert.match(first.output, /Successfully tagged cb-app:latest/);
    const img = (await d.api('GET', '/images/cb-app/json')).json();
    assert.deepEqual(img.Config.Labels, { 'com.docker.compose.project': 'cb', tier: 'web' });
    assert.equal(ok(d.docker(['run', '--rm', 'cb-app', 'cat', '/greeting'])).stdout, 'hi\n');
    // Again with the image as its cache source: every step is a cache hit, the same image.
    const again = await build(d, files, params);
    assert.match(again.output, /Using cache/);
    assert.equal(again.id, img.Id);
    // A malformed JSON parameter is the client's error, with nothing built.
    const bad = await build(d, files, { ...params, t: 'cb-bad', buildargs: '{"A":' });
    assert.equal(bad.status, 400);
    assert.match(bad.httpError ?? '', /buildargs/);
    assert.equal((await d.api('GET', '/images/cb-bad/json')).status, 404);
  } finally {
    d.docker(['rmi', '-f', 'cb-app']);
  }
});

test('create at API 1.44 with two networks in NetworkingConfig: both connected, aliases and the name answered on each', async () => {
  ok(d.docker(['network', 'create', 'mn-front']));
  ok(d.docker(['network', 'create', 'mn-back']));
  try {
    const body = {
      Image: 'busybox', Cmd: ['sleep', '300'], HostConfig: { NetworkMode: 'mn-front', Dns: [NO_DNS] },
      NetworkingConfig: { EndpointsConfig: { 'mn-front': { Aliases: ['web'] }, 'mn-back': { Aliases: ['web', 'api'] } } },
    };
    const c = await d.api('POST', '/v1.44/containers/create?name=mn-app-web-1', body);
    assert.equal(c.status, 201, c.body.toString());
    assert.equal((await d.api('POST', '/v1.44/containers/mn-app-web-1/start')).status, 204);
    const nets = (await d.api('GET', '/containers/mn-app-web-1/json')).json().NetworkSettings.Networks;
    assert.deepEqual(Object.keys(nets).sort(), ['mn-back', 'mn-front']);
    for (const n of ['mn-front', 'mn-back']) {
      ok(d.docker(['run', '-d', '--name', `mn-probe-${n}`, '--network', n, '--dns', NO_DNS, 'busybox', 'sleep', '300']));
      const ip = nets[n].IPAddress as string;
      assert.match(ip, /^\d+\.\d+\.\d+\.\d+$/);
      for (const name of ['web', 'mn-app-web-1', ...(n === 'mn-back' ? ['api'] : [])]) {
        const r = ok(d.docker(['exec', `mn-probe-${n}`, 'nslookup', name], { timeout: 20_000 }));
        assert.match(r.stdout, new RegExp(`Address: ${ip.replace(/\./g, '\\.')}\\b`), `${name} on ${n}`);
      }
    }
    // `api` is an alias on mn-back only.
    assert.notEqual(d.docker(['exec', 'mn-probe-mn-front', 'nslookup', 'api'], { timeout: 20_000 }).status, 0);
  } finally {
    d.docker(['rm', '-f', 'mn-app-web-1', 'mn-probe-mn-front', 'mn-probe-mn-back']);
    d.docker(['network', 'rm', 'mn-front', 'mn-back']);
  }
});

test('PUT /containers/{id}/archive: directories the tar does not list above its entries are made (0755), as moby\'s Unpack makes them', async () => {
  const { mkdtempSync, mkdirSync, writeFileSync, rmSync } = await import('node:fs');
  const { spawnSync } = await import('node:child_process');
  const { join } = await import('node:path');
  const src = mkdtempSync(join(d.dir, 'tar-'));
  try {
    mkdirSync(join(src, 'app', 'sub', 'deep'), { recursive: true });
    writeFileSync(join(src, 'app', 'sub', 'deep', 'd.txt'), 'deep\n');
    writeFileSync(join(src, 'app', 'top.txt'), 'top\n');
    // Entries `app/sub/deep/`, `app/sub/deep/d.txt` and `app/top.txt`: no `app/` nor `app/sub/`.
    const tar = spawnSync('tar', ['-C', src, '-cf', '-', 'app/sub/deep', 'app/top.txt']).stdout;
    ok(d.docker(['run', '-d', '--name', 'ar-target', 'busybox', 'sleep', '300']));
    ok(d.docker(['create', '--name', 'ar-created', 'busybox', 'sh', '-c', 'cat /app/sub/deep/d.txt /app/top.txt; stat -c "%a %u" /app /app/sub']));
    for (const name of ['ar-target', 'ar-created']) {
      const r = await d.api('PUT', `/containers/${name}/archive?path=/&copyUIDGID=true`, tar, { 'Content-Type': 'application/x-tar' });
      assert.equal(r.status, 200, `${name}: ${r.body}`);
    }
    const out = ok(d.docker(['exec', 'ar-target', 'sh', '-c', 'cat /app/sub/deep/d.txt /app/top.txt; stat -c "%a %u" /app /app/sub']));
    assert.equal(out.stdout, 'deep\ntop\n755 0\n755 0\n');
    // A container not started yet gets them the same way.
    assert.equal(ok(d.docker(['start', '-a', 'ar-created'])).stdout, 'deep\ntop\n755 0\n755 0\n');
  } finally {
    d.docker(['rm', '-f', 'ar-target', 'ar-created']);
    rmSync(src, { recursive: true, force: true });
  }
});
