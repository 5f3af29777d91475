// dockerode (npm) against berthd: docker.run() with its output, attach (plain and hijacked,
// logs replay, detach keys), exec start framing by the start request's Tty, detach keys of an
// exec given as `detachKeys`, kill then inspect, and commit of a container that exits meanwhile.
// Each of these behaved differently from dockerd before (no output, hangs, wrong framing, 409).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import { PassThrough, type Duplex } from 'node:stream';
import Docker from 'dockerode';
import { startDaemon, demux, type Daemon } from '../integration/harness.ts';
import { within } from '../integration/runtime-util.ts';

let d: Daemon;
let docker: Docker;
before(async () => {
  d = await startDaemon();
  docker = new Docker({ socketPath: d.sock });
});
after(async () => { await d?.stop(); });

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Everything a stream gives until it ends or closes (bounded). */
function collect(s: NodeJS.ReadableStream, ms = 30_000, what = 'stream'): Promise<Buffer> {
  const chunks: Buffer[] = [];
  return within(ms, `${what} to end`, new Promise<Buffer>((resolve, reject) => {
    s.on('data', (c: Buffer | string) => chunks.push(Buffer.isBuffer(c) ? c : Buffer.from(c)));
    s.once('end', () => resolve(Buffer.concat(chunks)));
    s.once('close', () => resolve(Buffer.concat(chunks)));
    s.once('error', reject);
  }));
}

/** Resolves once the stream's output so far matches `re` (bounded); returns that output. */
function until(s: NodeJS.ReadableStream, re: RegExp, ms = 20_000): Promise<string> {
  let text = '';
  return within(ms, `output matching ${re}`, new Promise<string>((resolve) => {
    const on = (c: Buffer | string) => { text += c.toString(); if (re.test(text)) { s.off('data', on); resolve(text); } };
    s.on('data', on);
  }));
}

/** Container events of one kind since `since` (unix seconds). */
async function events(since: number, action: string): Promise<any[]> {
  const until = Math.floor(Date.now() / 1000) + 1;
  const r = await d.api('GET', `/events?since=${since}&until=${until}&filters=${encodeURIComponent(JSON.stringify({ event: [action] }))}`);
  return r.body.toString().split('\n').filter(Boolean).map((l) => JSON.parse(l));
}

async function running(o: Docker.ContainerCreateOptions): Promise<Docker.Container> {
  const c = await docker.createContainer({ Image: 'busybox', ...o });
  await c.start();
  return c;
}

// ------------------------------------------------------------------ docker.run (attach without Upgrade)

test('docker.run() with a TTY (dockerode\'s default): the output arrives and the stream ends', async () => {
  const out = new PassThrough();
  const got = collect(out, 30_000, 'run output');
  const [data, c] = await within(30_000, 'docker.run', docker.run('busybox', ['sh', '-c', 'echo hello from berth; exit 4'], out)) as [any, Docker.Container];
  // The wait's answer, as Docker's: `Error` is omitted unless the wait ended in one.
  assert.deepEqual(data, { StatusCode: 4 });
  assert.equal((await got).toString(), 'hello from berth\r\n');
  await c.remove();
});

test('docker.run() without a TTY: stdout and stderr demultiplexed into two streams', async () => {
  const out = new PassThrough();
  const err = new PassThrough();
  const gotOut = collect(out, 30_000, 'stdout');
  const gotErr = collect(err, 30_000, 'stderr');
  const [data] = await within(30_000, 'docker.run', docker.run('busybox', ['sh', '-c', 'echo out; echo err >&2; echo more'], [out, err], { Tty: false, HostConfig: { AutoRemove: true } })) as [any];
  assert.equal(data.StatusCode, 0);
  assert.equal((await gotOut).toString(), 'out\nmore\n');
  assert.equal((await gotErr).toString(), 'err\n');
});

test('a plain attach (no Upgrade) streams the multiplexed output in the 200 body and ends it at exit', async () => {
  const c = await docker.createContainer({ Image: 'busybox', Cmd: ['sh', '-c', 'sleep 0.3; echo one; echo two >&2'] });
  const s = await c.attach({ stream: true, stdout: true, stderr: true }) as NodeJS.ReadableStream & { headers?: Record<string, string> };
  assert.equal(s.headers?.['content-type'], 'application/vnd.docker.raw-stream');
  const body = collect(s);
  await c.start();
  assert.deepEqual(demux(await body), { stdout: 'one\n', stderr: 'two\n' });
  await c.remove({ force: true });
});

// ------------------------------------------------------------------ attach: logs, detach keys

test('attach logs=1 stream=0 on an exited container replays its log (multiplexed; raw with a TTY)', async () => {
  const c = await running({ Cmd: ['sh', '-c', 'echo out; echo err >&2'] });
  await c.wait();
  const plain = await c.attach({ logs: true, stream: false, stdout: true, stderr: true });
  assert.deepEqual(demux(await collect(plain)), { stdout: 'out\n', stderr: 'err\n' });
  const hijacked = await c.attach({ logs: true, stream: false, stdout: true, stderr: true, hijack: true });
  assert.deepEqual(demux(await collect(hijacked)), { stdout: 'out\n', stderr: 'err\n' });
  const onlyErr = await c.attach({ logs: true, stream: false, stderr: true });
  assert.deepEqual(demux(await collect(onlyErr)), { stdout: '', stderr: 'err\n' });
  const t = await running({ Cmd: ['sh', '-c', 'echo tty out'], Tty: true });
  await t.wait();
  assert.equal((await collect(await t.attach({ logs: true, stream: false, stdout: true, stderr: true }))).toString(), 'tty out\r\n');
  // Neither logs nor stream: Docker answers and closes at once.
  assert.equal((await collect(await c.attach({ stdout: true }), 10_000)).length, 0);
});

test('attach logs=1 stream=1 on a running container: the log so far, then live output', async () => {
  const c = await running({ Cmd: ['sh', '-c', 'echo before; read x; echo "after $x"'], OpenStdin: true });
  await until(await c.logs({ follow: true, stdout: true }) as NodeJS.ReadableStream, /before/);
  const s = await c.attach({ logs: true, stream: true, stdin: true, stdout: true, stderr: true, hijack: true }) as Duplex;
  const all = collect(s);
  await sleep(200);
  s.write('x1\n');
  assert.deepEqual(demux(await all), { stdout: 'before\nafter x1\n', stderr: '' });
});

test('attach to a TTY container: ctrl-p ctrl-q (and detachKeys=) end the connection; the container runs on', async () => {
  const since = Math.floor(Date.now() / 1000);
  const c = await running({ Cmd: ['sh'], Tty: true, OpenStdin: true });
  const s = await c.attach({ stream: true, stdin: true, stdout: true, stderr: true, hijack: true }) as Duplex;
  const ended = collect(s, 15_000, 'the attach after ctrl-p ctrl-q');
  s.write('echo $((6*7))\n');
  await until(s, /42/);
  s.write(Buffer.from([16]));
  await sleep(50);
  s.write(Buffer.from([17]));
  await ended;
  assert.equal((await c.inspect()).State.Running, true);
  // Custom keys, sent in one write.
  const s2 = await c.attach({ stream: true, stdin: true, stdout: true, detachKeys: 'ctrl-x,x', hijack: true }) as Duplex;
  const ended2 = collect(s2, 15_000, 'the attach after ctrl-x x');
  s2.write(Buffer.from([16, 17])); // not these keys: passed to the shell
  s2.write('echo $((7*7))\n');
  await until(s2, /49/);
  s2.write(Buffer.from('\x18x'));
  await ended2;
  assert.equal((await c.inspect()).State.Running, true);
  assert.ok((await events(since, 'detach')).filter((e) => e.id === c.id).length >= 2);
  // Bad keys are refused before the connection is taken over.
  await assert.rejects(c.attach({ stream: true, stdin: true, detachKeys: 'ctrl-1' }), /Invalid detach keys \(ctrl-1\) provided/);
  await c.remove({ force: true });
});

test('attach: the end of stdin ends a non-StdinOnce session, and is EOF for a StdinOnce one', async () => {
  const c = await running({ Cmd: ['sh', '-c', 'while read l; do echo "got $l"; done; echo eof; sleep 1000'], OpenStdin: true });
  const s = await c.attach({ stream: true, stdin: true, stdout: true, hijack: true }) as Duplex;
  const all = collect(s, 15_000, 'the attach after stdin ended');
  s.write('a\n');
  await until(s, /got a/);
  s.end();
  assert.equal(demux(await all).stdout, 'got a\n');
  assert.equal((await c.inspect()).State.Running, true);
  const once = await docker.createContainer({ Image: 'busybox', Cmd: ['sh', '-c', 'while read l; do echo "got $l"; done; echo eof'], OpenStdin: true, StdinOnce: true });
  const s2 = await once.attach({ stream: true, stdin: true, stdout: true, hijack: true }) as Duplex;
  const all2 = collect(s2);
  await once.start();
  s2.write('b\n');
  s2.end();
  assert.equal(demux(await all2).stdout, 'got b\neof\n');
  await c.remove({ force: true });
});

test('a hijacked attach\'s JSON body (dockerode puts its options there) is never stdin, even when it comes late', async () => {
  const c = await running({ Cmd: ['sh', '-c', 'read l; echo "got:$l"'], OpenStdin: true, StdinOnce: true });
  const s = net.createConnection(d.sock);
  await once(s, 'connect');
  const body = JSON.stringify({ stream: true, stdin: true, stdout: true, hijack: true });
  s.write(`POST /containers/${c.id}/attach?stream=1&stdin=1&stdout=1 HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`);
  const all = collect(s);
  await sleep(200);
  s.write(body);
  await until(s, /101 UPGRADED[^]*\r\n\r\n/);
  s.write('line\n');
  s.end();
  const raw = await all;
  assert.equal(demux(raw.subarray(raw.indexOf('\r\n\r\n') + 4)).stdout, 'got:line\n');
});

test('attach to a paused container is 409', async () => {
  const c = await running({ Cmd: ['sleep', '1000'] });
  await c.pause();
  await assert.rejects(c.attach({ stream: true, stdout: true, hijack: true }), /is paused, unpause the container before attach/);
  await c.unpause();
  await c.remove({ force: true });
});

test('logs and attach name the multiplexed media type from API 1.42 on, as Docker', async () => {
  const c = await running({ Cmd: ['echo', 'x'] });
  await c.wait();
  for (const [v, type] of [['1.41', 'application/vnd.docker.raw-stream'], ['1.42', 'application/vnd.docker.multiplexed-stream']]) {
    const r = await d.api('GET', `/v${v}/containers/${c.id}/logs?stdout=1`);
    assert.equal(r.headers['content-type'], type, `logs at ${v}`);
    assert.deepEqual(demux(r.body), { stdout: 'x\n', stderr: '' });
  }
  await c.remove();
});

// ------------------------------------------------------------------ exec

test('exec: the stream\'s framing follows the Tty of the start request, not of the create', async () => {
  const c = await running({ Cmd: ['sleep', '1000'] });
  // Created without a TTY, started with Tty: raw output, stderr dropped (as Docker).
  const e1 = await c.exec({ Cmd: ['sh', '-c', 'echo out; echo err >&2'], AttachStdout: true, AttachStderr: true });
  const raw = await collect(await e1.start({ hijack: true, stdin: false, Tty: true }));
  assert.equal(raw.toString(), 'out\n');
  // Created with a TTY, started without: stdcopy frames around the terminal's output.
  const e2 = await c.exec({ Cmd: ['echo', 'tty'], AttachStdout: true, AttachStderr: true, Tty: true });
  const framed = await collect(await e2.start({ hijack: true, stdin: false }));
  assert.equal(framed[0], 1);
  assert.deepEqual(demux(framed), { stdout: 'tty\r\n', stderr: '' });
  // Both without a TTY: multiplexed, stderr kept.
  const e3 = await c.exec({ Cmd: ['sh', '-c', 'echo out; echo err >&2'], AttachStdout: true, AttachStderr: true });
  assert.deepEqual(demux(await collect(await e3.start({ hijack: true, stdin: false }))), { stdout: 'out\n', stderr: 'err\n' });
  assert.equal((await e3.inspect()).ExitCode, 0);
  await c.remove({ force: true });
});

test('exec: detachKeys given in any case at create end a TTY session; the process runs on (exec_detach)', async () => {
  const since = Math.floor(Date.now() / 1000);
  const c = await running({ Cmd: ['sleep', '1000'] });
  const e = await c.exec({ Cmd: ['sh'], AttachStdin: true, AttachStdout: true, Tty: true, detachKeys: 'ctrl-x,x' } as Docker.ExecCreateOptions);
  assert.equal(Buffer.from((await e.inspect() as any).DetachKeys, 'base64').toString(), '\x18x');
  const s = await e.start({ hijack: true, stdin: true, Tty: true }) as Duplex;
  const ended = collect(s, 15_000, 'the exec after ctrl-x x');
  s.write('echo $((6*7))\n');
  await until(s, /42/);
  s.write('\x18x');
  await ended;
  assert.equal((await e.inspect()).Running, true);
  assert.equal((await events(since, 'exec_detach')).filter((ev) => ev.Actor?.Attributes?.execID === e.id).length, 1);
  await c.remove({ force: true });
});

// ------------------------------------------------------------------ kill, commit

test('kill (SIGKILL) returns once the container has stopped: inspect right after shows exited, 137', async () => {
  for (let i = 0; i < 3; i++) {
    const c = await running({ Cmd: ['sh', '-c', 'trap "" TERM; sleep 1000'] });
    await c.kill();
    const s = (await c.inspect()).State;
    assert.deepEqual([s.Status, s.Running, s.ExitCode], ['exited', false, 137]);
    await c.remove();
  }
  const c = await running({ Cmd: ['sleep', '1000'] });
  await c.kill({ signal: 'SIGKILL' });
  assert.equal((await c.inspect()).State.Status, 'exited');
  await assert.rejects(c.kill(), (e: any) => e.statusCode === 409 && /is not running/.test(e.message));
});

test('kill with another signal returns at once; with no StopSignal the container is resumed if paused and not restarted', async () => {
  const c = await running({ Cmd: ['sh', '-c', 'trap "echo got-hup" HUP; trap "exit 3" USR1; echo ready; while true; do sleep 0.1; done'], HostConfig: { RestartPolicy: { Name: 'always' } } });
  const logs = await c.logs({ follow: true, stdout: true }) as NodeJS.ReadableStream;
  await until(logs, /ready/);
  await c.pause();
  await c.kill({ signal: 'SIGHUP' });
  const s = (await c.inspect()).State;
  assert.deepEqual([s.Status, s.Paused], ['running', false]);
  await until(logs, /got-hup/);
  await c.kill({ signal: 'USR1' });
  assert.equal((await c.wait()).StatusCode, 3);
  await sleep(1500);
  const after = await c.inspect();
  assert.deepEqual([after.State.Status, after.RestartCount], ['exited', 0]);
  // A signal other than its StopSignal leaves a paused container paused.
  const q = await running({ Cmd: ['sleep', '1000'], StopSignal: 'SIGUSR2' });
  await q.pause();
  await q.kill({ signal: 'SIGHUP' });
  assert.equal((await q.inspect()).State.Paused, true);
  await q.remove({ force: true });
});

test('commit with pause of a container that exits meanwhile still commits', async () => {
  const c = await running({ Cmd: ['sh', '-c', 'echo committed > /marker; echo ready; exec sleep 1000'] });
  await until(await c.logs({ follow: true, stdout: true }) as NodeJS.ReadableStream, /ready/);
  // Killed behind berthd's back: the record still says running when the commit pauses it.
  process.kill((await c.inspect()).State.Pid, 'SIGKILL');
  const r = await c.commit({ repo: 'exited-commit', tag: 'v1', pause: true });
  assert.match(r.Id, /^sha256:[0-9a-f]{64}$/);
  const out = new PassThrough();
  const got = collect(out);
  const [data] = await within(30_000, 'run of the commit', docker.run('exited-commit:v1', ['cat', '/marker'], [out, new PassThrough()], { Tty: false, HostConfig: { AutoRemove: true } })) as [any];
  assert.equal(data.StatusCode, 0);
  assert.equal((await got).toString(), 'committed\n');
  const after = (await c.inspect()).State;
  assert.equal(after.Running, false);
  // The daemon's own freeze left no marker behind.
  assert.equal(after.Paused, false);
});
