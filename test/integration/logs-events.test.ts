// logs (tail, since/until, timestamps, follow until exit, TTY raw stream) and events
// (since/until replay, filters, live streaming).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { startDaemon, demux, type Daemon } from './harness.ts';

let d: Daemon;
before(async () => { d = await startDaemon(); });
after(async () => { await d?.stop(); });

async function runToEnd(body: Record<string, unknown>): Promise<string> {
  const id = (await d.api('POST', '/containers/create', { Image: 'busybox', ...body })).json().Id;
  await d.api('POST', `/containers/${id}/start`);
  await d.api('POST', `/containers/${id}/wait`);
  return id;
}

test('logs: tail, timestamps, since/until', async () => {
  const id = await runToEnd({ Cmd: ['sh', '-c', 'for i in 1 2 3 4 5; do echo line$i; done; sleep 1.1; echo late'] });
  const all = demux((await d.api('GET', `/containers/${id}/logs?stdout=1`)).body).stdout;
  assert.equal(all, 'line1\nline2\nline3\nline4\nline5\nlate\n');
  const tail = demux((await d.api('GET', `/containers/${id}/logs?stdout=1&tail=2`)).body).stdout;
  assert.equal(tail, 'line5\nlate\n');
  const none = demux((await d.api('GET', `/containers/${id}/logs?stdout=1&tail=0`)).body).stdout;
  assert.equal(none, '');
  const ts = demux((await d.api('GET', `/containers/${id}/logs?stdout=1&timestamps=1&tail=1`)).body).stdout;
  assert.match(ts, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z late\n$/);
  const lateT = Date.parse(ts.split(' ')[0]) / 1000;
  const since = demux((await d.api('GET', `/containers/${id}/logs?stdout=1&since=${lateT - 0.5}`)).body).stdout;
  assert.equal(since, 'late\n');
  const until = demux((await d.api('GET', `/containers/${id}/logs?stdout=1&until=${lateT - 0.5}`)).body).stdout;
  assert.equal(until, 'line1\nline2\nline3\nline4\nline5\n');
  const bad = await d.api('GET', `/containers/${id}/logs`);
  assert.equal(bad.status, 400);
});

test('logs follow streams new lines and ends when the container exits', async () => {
  const id = (await d.api('POST', '/containers/create', { Image: 'busybox', Cmd: ['sh', '-c', 'echo one; sleep 0.6; echo two; sleep 0.6; echo three'] })).json().Id;
  await d.api('POST', `/containers/${id}/start`);
  const t0 = Date.now();
  const got: { t: number; s: string }[] = [];
  await new Promise<void>((resolve, reject) => {
    const req = http.request({ socketPath: d.sock, method: 'GET', path: `/containers/${id}/logs?stdout=1&follow=1` }, (res) => {
      assert.equal(res.headers['content-type'], 'application/vnd.docker.multiplexed-stream');
      res.on('data', (c: Buffer) => got.push({ t: Date.now() - t0, s: demux(c).stdout }));
      res.on('end', () => resolve());
    });
    req.on('error', reject);
    req.setTimeout(10_000, () => { req.destroy(); reject(new Error('follow did not end')); });
    req.end();
  });
  assert.equal(got.map((g) => g.s).join(''), 'one\ntwo\nthree\n');
  // Lines arrived as they were written, not all at the end.
  assert.ok(got[0].t < 800, `first line at ${got[0].t} ms`);
});

test('TTY containers log raw (no multiplexing)', async () => {
  const id = await runToEnd({ Cmd: ['sh', '-c', 'echo tty-out'], Tty: true });
  const r = await d.api('GET', `/containers/${id}/logs?stdout=1&stderr=1`);
  assert.equal(r.headers['content-type'], 'application/vnd.docker.raw-stream');
  assert.equal(r.body.toString().replace(/\r/g, ''), 'tty-out\n');
});

test('events: since/until replay with filters, docker event shape', async () => {
  const since = Date.now() / 1000;
  const id = await runToEnd({ Cmd: ['true'], Labels: { team: 'a' } });
  await d.api('POST', `/containers/${id}/rename?name=evrenamed`);
  await d.api('DELETE', `/containers/${id}`);
  const until = Date.now() / 1000 + 0.2;
  const r = await d.api('GET', `/events?since=${since}&until=${until}&filters=${encodeURIComponent(JSON.stringify({ container: [id] }))}`);
  assert.equal(r.status, 200);
  const evs = r.body.toString().trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(evs.map((e) => e.Action), ['create', 'start', 'die', 'rename', 'destroy']);
  for (const e of evs) {
    assert.equal(e.Type, 'container');
    assert.equal(e.Actor.ID, id);
    assert.equal(e.id, id);
    assert.equal(e.status, e.Action);
    assert.equal(e.Actor.Attributes.image, 'busybox');
    assert.equal(typeof e.timeNano, 'number');
  }
  assert.equal(evs[2].Actor.Attributes.exitCode, '0');
  assert.equal(evs[0].Actor.Attributes.team, 'a');
  const byLabel = await d.api('GET', `/events?since=${since}&until=${until}&filters=${encodeURIComponent(JSON.stringify({ label: ['team=a'], event: ['die'] }))}`);
  assert.equal(byLabel.body.toString().trim().split('\n').length, 1);
  const img = await d.api('GET', `/events?since=${since - 60}&until=${until}&filters=${encodeURIComponent(JSON.stringify({ type: ['image'] }))}`);
  assert.ok(img.body.toString().split('\n').some((l) => l.includes('"Action":"import"') || l.includes('"Action":"tag"')));
  const bad = await d.api('GET', `/events?filters=${encodeURIComponent(JSON.stringify({ nope: ['x'] }))}`);
  assert.equal(bad.status, 400);
});

test('restart policies across a daemon restart: always restarts, unless-stopped stays stopped, --rm removed', async () => {
  const mk = async (hc: Record<string, unknown>, cmd: string[]) => {
    const id = (await d.api('POST', '/containers/create', { Image: 'busybox', Cmd: cmd, HostConfig: hc })).json().Id;
    assert.equal((await d.api('POST', `/containers/${id}/start`)).status, 204);
    return id;
  };
  const always = await mk({ RestartPolicy: { Name: 'always' } }, ['sleep', '300']);
  const unless = await mk({ RestartPolicy: { Name: 'unless-stopped' } }, ['sleep', '300']);
  await d.api('POST', `/containers/${unless}/stop?t=0`);
  const rm = await mk({ AutoRemove: true }, ['sh', '-c', 'sleep 0.5']);
  const alwaysExit = await mk({ RestartPolicy: { Name: 'always' } }, ['sh', '-c', 'sleep 0.5; exit 1']);
  await d.restart({ kill9: true });
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal((await d.api('GET', `/containers/${always}/json`)).json().State.Running, true);
  assert.equal((await d.api('GET', `/containers/${unless}/json`)).json().State.Running, false);
  assert.equal((await d.api('GET', `/containers/${rm}/json`)).status, 404);
  // It exited with 1 while the daemon was down (or since) and has been restarted by policy.
  const ae = (await d.api('GET', `/containers/${alwaysExit}/json`)).json();
  assert.ok(ae.RestartCount >= 1, `RestartCount ${ae.RestartCount}`);
  for (const id of [always, unless, alwaysExit]) await d.api('DELETE', `/containers/${id}?force=1`);
});

test('logs follow across rotation: every line once, in order', async () => {
  const id = (await d.api('POST', '/containers/create', {
    Image: 'busybox',
    Cmd: ['sh', '-c', 'i=0; while [ $i -lt 3000 ]; do echo "line-$i-padding-padding-padding-padding"; i=$((i+1)); if [ $((i % 300)) = 0 ]; then sleep 0.1; fi; done'],
    HostConfig: { LogConfig: { Type: 'json-file', Config: { 'max-size': '20k', 'max-file': '50' } } },
  })).json().Id;
  await d.api('POST', `/containers/${id}/start`);
  const body = new Promise<Buffer>((resolve, reject) => {
    const req = http.request({ socketPath: d.sock, method: 'GET', path: `/containers/${id}/logs?stdout=1&follow=1` }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve(Buffer.concat(chunks)));
    });
    req.on('error', reject);
    req.setTimeout(20_000, () => { req.destroy(); reject(new Error('follow did not end')); });
    req.end();
  });
  const lines = demux(await body).stdout.split('\n').filter(Boolean);
  assert.equal(lines.length, 3000);
  lines.forEach((l, i) => assert.equal(l, `line-${i}-padding-padding-padding-padding`));
  const files = (await import('node:fs')).readdirSync((await d.api('GET', `/containers/${id}/json`)).json().LogPath.replace(/\/[^/]+$/, ''));
  assert.ok(files.filter((f) => f.includes('-json.log')).length > 2, `rotation happened: ${files}`);
});

/** The events between two instants, as the API replays them. */
async function eventsBetween(since: number, until: number, filters?: unknown): Promise<any[]> {
  const f = filters ? `&filters=${encodeURIComponent(JSON.stringify(filters))}` : '';
  const r = await d.api('GET', `/events?since=${since}&until=${until}${f}`);
  assert.equal(r.status, 200);
  return r.body.toString().trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
}

test('events: volume create/mount/unmount/destroy/prune and network connect/disconnect (default bridge, user networks, none), with dockerd\'s attributes', async () => {
  const since = Date.now() / 1000;
  const vol = (await d.api('POST', '/volumes/create', { Name: 'ev-vol' })).json();
  const net = (await d.api('POST', '/networks/create', { Name: 'ev-net' })).json().Id as string;
  const a = await runToEnd({ Cmd: ['true'], HostConfig: { Binds: ['ev-vol:/data:ro'] } });
  const b = await runToEnd({ Cmd: ['true'], HostConfig: { NetworkMode: 'ev-net' } });
  const c = await runToEnd({ Cmd: ['true'], HostConfig: { NetworkMode: 'none' } });
  // A connect while stopped is only recorded (no event); it shows at the next start.
  await d.api('POST', `/networks/ev-net/connect`, { Container: a });
  await d.api('POST', `/containers/${a}/start`);
  await d.api('POST', `/containers/${a}/wait`);
  for (const id of [a, b, c]) await d.api('DELETE', `/containers/${id}`);
  await d.api('DELETE', '/networks/ev-net');
  await d.api('DELETE', '/volumes/ev-vol');
  await d.api('POST', '/volumes/prune');
  await d.api('POST', '/networks/prune');
  const until = Date.now() / 1000 + 0.2;
  const all = await eventsBetween(since, until);
  const seq = (id: string) => all.filter((e) => e.Actor.ID === id || e.Actor.Attributes.container === id).map((e) => `${e.Type} ${e.Action}${e.Type === 'network' ? ` ${e.Actor.Attributes.name}` : ''}`);
  assert.deepEqual(seq(a), [
    'container create',
    'network connect bridge', 'volume mount', 'container start', 'network disconnect bridge', 'volume unmount', 'container die',
    'network connect bridge', 'network connect ev-net', 'volume mount', 'container start',
    'network disconnect bridge', 'network disconnect ev-net', 'volume unmount', 'container die',
    'container destroy',
  ]);
  assert.deepEqual(seq(b), ['container create', 'network connect ev-net', 'container start', 'network disconnect ev-net', 'container die', 'container destroy']);
  assert.deepEqual(seq(c), ['container create', 'network connect none', 'container start', 'network disconnect none', 'container die', 'container destroy']);
  const bridgeId = (await d.api('GET', '/networks/bridge')).json().Id;
  const noneId = (await d.api('GET', '/networks/none')).json().Id;
  const connect = all.find((e) => e.Action === 'connect' && e.Actor.Attributes.container === b)!;
  assert.deepEqual(connect.Actor, { ID: net, Attributes: { container: b, name: 'ev-net', type: 'bridge' } });
  assert.equal(connect.scope, 'local');
  assert.equal(all.find((e) => e.Action === 'connect' && e.Actor.Attributes.container === a)!.Actor.ID, bridgeId);
  assert.deepEqual(all.find((e) => e.Action === 'disconnect' && e.Actor.Attributes.container === c)!.Actor, { ID: noneId, Attributes: { container: c, name: 'none', type: 'null' } });
  const mount = all.find((e) => e.Action === 'mount')!;
  assert.deepEqual(mount.Actor, { ID: 'ev-vol', Attributes: { container: a, destination: '/data', driver: 'local', propagation: '', 'read/write': 'false' } });
  assert.deepEqual(all.find((e) => e.Action === 'unmount')!.Actor, { ID: 'ev-vol', Attributes: { container: a, driver: 'local' } });
  const volEvents = all.filter((e) => e.Type === 'volume' && e.Actor.ID === vol.Name).map((e) => e.Action);
  assert.deepEqual(volEvents, ['create', 'mount', 'unmount', 'mount', 'unmount', 'destroy']);
  assert.deepEqual(all.find((e) => e.Type === 'volume' && e.Action === 'create')!.Actor.Attributes, { driver: 'local' });
  assert.deepEqual(all.filter((e) => e.Type === 'network' && e.Actor.ID === net && !e.Actor.Attributes.container).map((e) => [e.Action, e.Actor.Attributes]), [['create', { name: 'ev-net', type: 'bridge' }], ['destroy', { name: 'ev-net', type: 'bridge' }]]);
  // Prunes say how much they freed, even when nothing was there to prune.
  assert.deepEqual(all.filter((e) => e.Action === 'prune').map((e) => [e.Type, e.Actor.ID, Object.keys(e.Actor.Attributes)]), [['volume', '', ['reclaimed']], ['network', '', ['reclaimed']]]);
  // Filters as dockerd's: by network name, by volume name, by container (its own events only).
  assert.deepEqual((await eventsBetween(since, until, { network: ['ev-net'] })).map((e) => e.Action), ['create', 'connect', 'disconnect', 'connect', 'disconnect', 'destroy']);
  assert.deepEqual((await eventsBetween(since, until, { volume: ['ev-vol'] })).map((e) => e.Action), volEvents);
  assert.ok((await eventsBetween(since, until, { container: [c] })).every((e) => e.Type === 'container'));
  // An image filter takes the containers of that image too.
  assert.ok((await eventsBetween(since, until, { image: ['busybox'] })).some((e) => e.Type === 'container' && e.Action === 'start'));

  // docker events prints them as dockerd's are printed.
  const cli = d.docker(['events', '--since', String(since), '--until', String(until), '--filter', 'type=volume', '--filter', 'event=mount']);
  assert.equal(cli.status, 0, cli.stderr);
  assert.match(cli.stdout, new RegExp(`^\\S+ volume mount ev-vol \\(container=${a}, destination=/data, driver=local, propagation=, read/write=false\\)$`, 'm'));
  const cliNet = d.docker(['events', '--since', String(since), '--until', String(until), '--filter', 'network=bridge', '--format', '{{.Type}} {{.Action}} {{.Actor.Attributes.container}} {{.Actor.Attributes.name}}']);
  assert.equal(cliNet.stdout, `network connect ${a} bridge\nnetwork disconnect ${a} bridge\nnetwork connect ${a} bridge\nnetwork disconnect ${a} bridge\n`);
});

test('events: image create (a commit, a build) only for API 1.46 and later, as moby gates it', async () => {
  const since = Date.now() / 1000;
  const id = await runToEnd({ Cmd: ['true'] });
  const img = (await d.api('POST', `/commit?container=${id}&repo=evcommit`, {})).json().Id as string;
  await d.api('DELETE', `/containers/${id}`);
  const until = Date.now() / 1000 + 0.2;
  const get = async (v: string) => {
    const r = await d.api('GET', `/v${v}/events?since=${since}&until=${until}&filters=${encodeURIComponent(JSON.stringify({ type: ['image'] }))}`);
    return r.body.toString().trim().split('\n').filter(Boolean).map((l) => JSON.parse(l)).map((e) => `${e.Action} ${e.Actor.Attributes.name}`);
  };
  assert.deepEqual(await get('1.47'), [`create ${img}`, 'tag evcommit:latest']);
  assert.deepEqual(await get('1.45'), ['tag evcommit:latest']);
  await d.api('DELETE', '/images/evcommit');
});

test('events: save and load are one event per image, named by its ID; a load sets its tags without tag events', async () => {
  const id = (await d.api('GET', '/images/busybox/json')).json().Id as string;
  const since = Date.now() / 1000;
  const saved = await d.api('GET', '/images/get?names=busybox');
  assert.equal(saved.status, 200);
  const loaded = await d.api('POST', '/images/load?quiet=1', saved.body, { 'Content-Type': 'application/x-tar' });
  assert.match(loaded.body.toString(), /Loaded image: busybox:latest/);
  const until = Date.now() / 1000 + 0.2;
  const evs = await eventsBetween(since, until, { type: ['image'] });
  assert.deepEqual(evs.map((e) => [e.Action, e.Actor.ID, e.Actor.Attributes.name]), [['save', id, id], ['load', id, id]]);
});

test('events: a network disconnect while running is its own event; the stop then leaves nothing more', async () => {
  const since = Date.now() / 1000;
  const id = (await d.api('POST', '/containers/create', { Image: 'busybox', Cmd: ['sleep', '60'] })).json().Id as string;
  assert.equal((await d.api('POST', `/containers/${id}/start`)).status, 204);
  assert.equal((await d.api('POST', '/networks/bridge/disconnect', { Container: id })).status, 200);
  await d.api('POST', `/containers/${id}/kill`);
  await d.api('POST', `/containers/${id}/wait`);
  await d.api('DELETE', `/containers/${id}`);
  const until = Date.now() / 1000 + 0.2;
  const evs = (await eventsBetween(since, until, { type: ['network'] })).filter((e) => e.Actor.Attributes.container === id);
  assert.deepEqual(evs.map((e) => `${e.Action} ${e.Actor.Attributes.name}`), ['connect bridge', 'disconnect bridge']);
});
