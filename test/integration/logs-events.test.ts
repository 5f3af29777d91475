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
