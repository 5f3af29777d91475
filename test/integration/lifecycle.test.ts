// Container lifecycle through the real API against a private berthd (runc + conmon + overlayfs).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startDaemon, demux, type Daemon } from './harness.ts';

let d: Daemon;
before(async () => { d = await startDaemon(); });
after(async () => { await d?.stop(); });

async function create(body: Record<string, unknown>, name?: string) {
  const r = await d.api('POST', `/v1.47/containers/create${name ? `?name=${name}` : ''}`, { Image: 'busybox', ...body });
  assert.equal(r.status, 201, r.body.toString());
  return r.json().Id as string;
}

async function waitExit(id: string): Promise<number> {
  const r = await d.api('POST', `/containers/${id}/wait`);
  assert.equal(r.status, 200);
  return r.json().StatusCode;
}

test('ping, version and API version negotiation', async () => {
  const p = await d.api('GET', '/_ping');
  assert.equal(p.status, 200);
  assert.equal(p.body.toString(), 'OK');
  assert.equal(p.headers['api-version'], '1.47');
  const h = await d.api('HEAD', '/_ping');
  assert.equal(h.status, 200);
  const v = await d.api('GET', '/v1.47/version');
  assert.equal(v.json().ApiVersion, '1.47');
  assert.equal(v.json().MinAPIVersion, '1.24');
  const old = await d.api('GET', '/v1.24/version');
  assert.equal(old.status, 200);
  const tooNew = await d.api('GET', '/v1.99/version');
  assert.equal(tooNew.status, 400);
  assert.match(tooNew.json().message, /too new/);
  const tooOld = await d.api('GET', '/v1.12/version');
  assert.equal(tooOld.status, 400);
});

test('run a container: output in logs, exit code recorded', async () => {
  const id = await create({ Cmd: ['sh', '-c', 'echo hello; echo oops >&2; exit 3'] });
  const s = await d.api('POST', `/containers/${id}/start`);
  assert.equal(s.status, 204, s.body.toString());
  assert.equal(await waitExit(id), 3);
  const i = (await d.api('GET', `/containers/${id}/json`)).json();
  assert.equal(i.State.Status, 'exited');
  assert.equal(i.State.ExitCode, 3);
  assert.equal(i.State.Running, false);
  assert.ok(existsSync(i.LogPath));
  const logs = await d.api('GET', `/containers/${id}/logs?stdout=1&stderr=1`);
  assert.equal(logs.status, 200);
  assert.deepEqual(demux(logs.body), { stdout: 'hello\n', stderr: 'oops\n' });
  const onlyErr = demux((await d.api('GET', `/containers/${id}/logs?stderr=1`)).body);
  assert.equal(onlyErr.stdout, '');
  assert.equal(onlyErr.stderr, 'oops\n');
  // The rootfs is unmounted once the process is gone.
  assert.equal(readFileSync('/proc/self/mountinfo', 'utf8').includes(i.GraphDriver.Data.MergedDir), false);
  assert.equal((await d.api('DELETE', `/containers/${id}`)).status, 204);
  assert.equal((await d.api('GET', `/containers/${id}/json`)).status, 404);
});

test('image config applies: env, workdir, user, hostname', async () => {
  const id = await create({ Cmd: ['sh', '-c', 'echo "$FOO|$(pwd)|$(id -u):$(id -g)|$(hostname)"'], Env: ['FOO=bar'], WorkingDir: '/tmp', User: 'nobody', Hostname: 'box1' });
  await d.api('POST', `/containers/${id}/start`);
  assert.equal(await waitExit(id), 0);
  const out = demux((await d.api('GET', `/containers/${id}/logs?stdout=1`)).body).stdout;
  assert.equal(out, 'bar|/tmp|65534:65534|box1\n');
});

test('stop sends the signal, then SIGKILL after the timeout; 304 when already stopped', async () => {
  const id = await create({ Cmd: ['sh', '-c', 'trap "exit 7" TERM; while true; do sleep 0.1; done'] });
  await d.api('POST', `/containers/${id}/start`);
  const again = await d.api('POST', `/containers/${id}/start`);
  assert.equal(again.status, 304);
  const t0 = Date.now();
  assert.equal((await d.api('POST', `/containers/${id}/stop?t=5`)).status, 204);
  assert.ok(Date.now() - t0 < 4000, 'trap should end it well before the timeout');
  assert.equal((await d.api('GET', `/containers/${id}/json`)).json().State.ExitCode, 7);
  assert.equal((await d.api('POST', `/containers/${id}/stop`)).status, 304);
  // A process ignoring SIGTERM is killed after t seconds.
  const id2 = await create({ Cmd: ['sh', '-c', 'trap "" TERM; while true; do sleep 0.1; done'] });
  await d.api('POST', `/containers/${id2}/start`);
  const t1 = Date.now();
  await d.api('POST', `/containers/${id2}/stop?t=1`);
  const took = Date.now() - t1;
  assert.ok(took >= 900 && took < 5000, `took ${took}`);
  assert.equal((await d.api('GET', `/containers/${id2}/json`)).json().State.ExitCode, 137);
});

test('kill by name and number; kill of a stopped container is 409', async () => {
  // PID 1 ignores signals it has no handler for (as in Docker), so the shell traps USR1.
  const id = await create({ Cmd: ['sh', '-c', 'trap "echo got-usr1; exit 0" USR1; while true; do sleep 0.1; done'] }, 'killme');
  await d.api('POST', `/containers/killme/start`);
  await new Promise((r) => setTimeout(r, 200));
  assert.equal((await d.api('POST', `/containers/killme/kill?signal=SIGUSR1`)).status, 204);
  assert.equal(await waitExit(id), 0);
  assert.equal(demux((await d.api('GET', `/containers/${id}/logs?stdout=1`)).body).stdout, 'got-usr1\n');
  await d.api('POST', `/containers/killme/start`);
  assert.equal((await d.api('POST', `/containers/killme/kill?signal=9`)).status, 204);
  assert.equal(await waitExit(id), 137);
  const k = await d.api('POST', `/containers/killme/kill`);
  assert.equal(k.status, 409);
  assert.match(k.json().message, /is not running/);
  const bad = await d.api('POST', `/containers/killme/kill?signal=SIGNOPE`);
  assert.equal(bad.status, 400);
});

test('restart, rename, remove running needs force', async () => {
  const id = await create({ Cmd: ['sleep', '60'] }, 'renameme');
  await d.api('POST', `/containers/${id}/start`);
  const pid1 = (await d.api('GET', `/containers/${id}/json`)).json().State.Pid;
  assert.equal((await d.api('POST', `/containers/${id}/restart?t=0`)).status, 204);
  const st = (await d.api('GET', `/containers/${id}/json`)).json().State;
  assert.equal(st.Running, true);
  assert.notEqual(st.Pid, pid1);
  assert.equal((await d.api('POST', `/containers/renameme/rename?name=renamed`)).status, 204);
  assert.equal((await d.api('GET', `/containers/renamed/json`)).json().Name, '/renamed');
  assert.equal((await d.api('GET', `/containers/renameme/json`)).status, 404);
  const rm = await d.api('DELETE', `/containers/renamed`);
  assert.equal(rm.status, 409);
  assert.match(rm.json().message, /stop the container before removing or force remove/);
  assert.equal((await d.api('DELETE', `/containers/renamed?force=1`)).status, 204);
  assert.equal((await d.api('GET', `/containers/${id}/json`)).status, 404);
});

test('bad input: unknown image 404, name conflict 409, bad names and JSON 400', async () => {
  const r1 = await d.api('POST', '/containers/create', { Image: 'nosuchimage' });
  assert.equal(r1.status, 404);
  assert.equal(r1.json().message, 'No such image: nosuchimage:latest');
  await create({ Cmd: ['true'] }, 'taken');
  const r2 = await d.api('POST', '/containers/create?name=taken', { Image: 'busybox' });
  assert.equal(r2.status, 409);
  assert.match(r2.json().message, /The container name "\/taken" is already in use by container/);
  const r3 = await d.api('POST', '/containers/create?name=x', { Image: 'busybox' });
  assert.equal(r3.status, 400);
  assert.match(r3.json().message, /Invalid container name/);
  const r4 = await d.api('POST', '/containers/create', '{"Image": "busybox"', { 'Content-Type': 'application/json' });
  assert.equal(r4.status, 400);
  const r5 = await d.api('POST', '/containers/create', { Image: 'busybox', HostConfig: { RestartPolicy: { Name: 'sometimes' } } });
  assert.equal(r5.status, 400);
  const r6 = await d.api('POST', '/containers/nosuch/start');
  assert.equal(r6.status, 404);
  assert.equal(r6.json().message, 'No such container: nosuch');
  // Nothing was left behind by the failed creates.
  const all = (await d.api('GET', '/containers/json?all=1')).json() as { Names: string[] }[];
  assert.equal(all.filter((c) => c.Names[0] === '/x').length, 0);
});

test('missing command: start fails with "executable file not found", record stays Created with 127', async () => {
  const id = await create({ Cmd: ['/no/such/binary'] });
  const s = await d.api('POST', `/containers/${id}/start`);
  assert.ok(s.status >= 400);
  assert.match(s.json().message, /no such file or directory|executable file not found/);
  const st = (await d.api('GET', `/containers/${id}/json`)).json().State;
  assert.equal(st.Status, 'created');
  assert.equal(st.ExitCode, 127);
  assert.ok(st.Error.length > 0);
  // No mount left for it.
  const merged = (await d.api('GET', `/containers/${id}/json`)).json().GraphDriver.Data.MergedDir;
  assert.equal(readFileSync('/proc/self/mountinfo', 'utf8').includes(merged), false);
  // AutoRemove containers are removed after a failed start, so `docker run --rm` cannot hang.
  const id2 = await create({ Cmd: ['nosuchcmd'], HostConfig: { AutoRemove: true } });
  const s2 = await d.api('POST', `/containers/${id2}/start`);
  assert.ok(s2.status >= 400);
  for (let i = 0; i < 50 && (await d.api('GET', `/containers/${id2}/json`)).status !== 404; i++) await new Promise((r) => setTimeout(r, 50));
  assert.equal((await d.api('GET', `/containers/${id2}/json`)).status, 404);
  // As dockerd (translateContainerdStartErr): permission denied is a 400 with 126; "not a
  // directory" a 400 with 127 and its hint.
  const id3 = await create({ Cmd: ['/etc/passwd'] });
  const s3 = await d.api('POST', `/containers/${id3}/start`);
  assert.equal(s3.status, 400);
  assert.match(s3.json().message, /permission denied/);
  assert.equal((await d.api('GET', `/containers/${id3}/json`)).json().State.ExitCode, 126);
  const id4 = await create({ Cmd: ['/etc/passwd/x'] });
  const s4 = await d.api('POST', `/containers/${id4}/start`);
  assert.equal(s4.status, 400);
  assert.match(s4.json().message, /not a directory: unknown: Are you trying to mount a directory onto a file \(or vice-versa\)\? Check if the specified host path exists and is the expected type$/);
  assert.equal((await d.api('GET', `/containers/${id4}/json`)).json().State.ExitCode, 127);
});

test('wait conditions: next-exit registered before start, removed with AutoRemove', async () => {
  const id = await create({ Cmd: ['sh', '-c', 'exit 5'], HostConfig: { AutoRemove: true } });
  const removed = d.api('POST', `/containers/${id}/wait?condition=removed`);
  const next = d.api('POST', `/containers/${id}/wait?condition=next-exit`);
  await new Promise((r) => setTimeout(r, 100));
  await d.api('POST', `/containers/${id}/start`);
  assert.equal((await next).json().StatusCode, 5);
  assert.equal((await removed).json().StatusCode, 5);
  assert.equal((await d.api('GET', `/containers/${id}/json`)).status, 404);
  const bad = await d.api('POST', `/containers/nosuch/wait`);
  assert.equal(bad.status, 404);
});

test('attach before start receives all output (multiplexed) and stdin', async () => {
  const net = await import('node:net');
  const id = await create({ Cmd: ['sh', '-c', 'echo start; read line; echo "got:$line"; echo err >&2'], OpenStdin: true, StdinOnce: true, AttachStdin: true, AttachStdout: true, AttachStderr: true });
  const sock = net.createConnection(d.sock);
  await new Promise((r) => sock.once('connect', r));
  sock.write(`POST /containers/${id}/attach?stream=1&stdin=1&stdout=1&stderr=1 HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: 0\r\n\r\n`);
  const chunks: Buffer[] = [];
  const ended = new Promise<void>((r) => sock.on('end', () => r()));
  sock.on('data', (c: Buffer) => chunks.push(c));
  await new Promise((r) => setTimeout(r, 100));
  const headEnd = () => Buffer.concat(chunks).indexOf('\r\n\r\n');
  assert.ok(headEnd() > 0);
  assert.match(Buffer.concat(chunks).subarray(0, headEnd()).toString(), /^HTTP\/1.1 101/);
  await d.api('POST', `/containers/${id}/start`);
  sock.write('hello\n');
  sock.end(); // half-close: stdin EOF, output must still arrive
  await ended;
  const all = Buffer.concat(chunks);
  const body = all.subarray(headEnd() + 4);
  const out = demux(body);
  assert.equal(out.stdout, 'start\ngot:hello\n');
  assert.equal(out.stderr, 'err\n');
  assert.equal(await waitExit(id), 0);
});

test('list with filters, inspect fields docker scripts read', async () => {
  const id = await create({ Cmd: ['sleep', '30'], Labels: { app: 'web', tier: 'front' } }, 'listed');
  await d.api('POST', `/containers/${id}/start`);
  const running = (await d.api('GET', '/containers/json')).json() as any[];
  const me = running.find((c) => c.Id === id);
  assert.ok(me);
  assert.deepEqual(me.Names, ['/listed']);
  assert.equal(me.Image, 'busybox');
  assert.equal(me.State, 'running');
  assert.match(me.Status, /^Up /);
  assert.equal(me.Command, 'sleep 30');
  const byLabel = (await d.api('GET', `/containers/json?filters=${encodeURIComponent(JSON.stringify({ label: ['app=web'] }))}`)).json() as any[];
  assert.deepEqual(byLabel.map((c) => c.Id), [id], JSON.stringify(byLabel.map((c) => [c.Names, c.Labels, c.State])));
  const byName = (await d.api('GET', `/containers/json?all=1&filters=${encodeURIComponent(JSON.stringify({ name: ['listed'] }))}`)).json() as any[];
  assert.equal(byName.length, 1);
  const exited = (await d.api('GET', `/containers/json?filters=${encodeURIComponent(JSON.stringify({ status: ['exited'] }))}`)).json() as any[];
  assert.ok(exited.every((c) => c.State === 'exited'));
  const badFilter = await d.api('GET', `/containers/json?filters=${encodeURIComponent(JSON.stringify({ bogus: ['x'] }))}`);
  assert.equal(badFilter.status, 400);
  const i = (await d.api('GET', `/containers/${id.slice(0, 10)}/json`)).json();
  assert.equal(i.Id, id);
  assert.equal(i.Config.Labels.tier, 'front');
  assert.equal(i.HostConfig.Runtime, 'runc');
  assert.equal(i.GraphDriver.Name, 'overlay2');
  assert.ok(i.State.Pid > 0);
  assert.ok(existsSync(join('/proc', String(i.State.Pid))));
  await d.api('DELETE', `/containers/${id}?force=1`);
});

test('restart policy on-failure:2 restarts twice, then stays exited', async () => {
  const id = await create({ Cmd: ['sh', '-c', 'exit 1'], HostConfig: { RestartPolicy: { Name: 'on-failure', MaximumRetryCount: 2 } } });
  await d.api('POST', `/containers/${id}/start`);
  let st: any;
  for (let i = 0; i < 100; i++) {
    st = (await d.api('GET', `/containers/${id}/json`)).json();
    if (st.RestartCount === 2 && st.State.Status === 'exited') break;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(st.RestartCount, 2);
  assert.equal(st.State.Status, 'exited');
  assert.equal(st.State.ExitCode, 1);
});

test('short-ID prefixes: unique prefix resolves, an ambiguous one is a 400', async () => {
  const ids: string[] = [];
  for (let i = 0; i < 20; i++) ids.push(await create({ Cmd: ['true'] }));
  // 20 IDs over 16 leading hex digits: at least two share their first character.
  const first = ids.map((id) => id[0]).find((ch, i, all) => all.indexOf(ch) !== i)!;
  const amb = await d.api('GET', `/containers/${first}/json`);
  assert.equal(amb.status, 400);
  assert.match(amb.json().message, /multiple IDs found with provided prefix/);
  for (const id of ids) {
    assert.equal((await d.api('GET', `/containers/${id.slice(0, 12)}/json`)).json().Id, id);
    assert.equal((await d.api('DELETE', `/containers/${id.slice(0, 12)}`)).status, 204);
  }
  assert.equal((await d.api('GET', `/containers/${ids[0].slice(0, 12)}/json`)).status, 404);
});
