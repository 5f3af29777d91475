// exec through the API, the berth CLI and the docker CLI against a private berthd, including
// `exec -it` in a real terminal (tmux).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { join } from 'node:path';
import { startDaemon, demux, hasDocker, BERTH, type Daemon } from './harness.ts';
import { hasTmux, tmux, waitScreen } from './tty-util.ts';

let d: Daemon;
let ctr: string;
const tmuxSockets: string[] = [];
before(async () => {
  d = await startDaemon();
  ctr = await runDetached('exec-main');
});
after(async () => {
  for (const s of tmuxSockets) spawnSync('tmux', ['-L', s, 'kill-server']);
  await d?.stop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function runDetached(name: string, extra: Record<string, unknown> = {}): Promise<string> {
  const c = await d.api('POST', `/v1.47/containers/create?name=${name}`, { Image: 'busybox', Cmd: ['sleep', '1000'], ...extra });
  assert.equal(c.status, 201, c.body.toString());
  const id = c.json().Id as string;
  const s = await d.api('POST', `/containers/${id}/start`);
  assert.equal(s.status, 204, s.body.toString());
  return id;
}

async function execCreate(container: string, body: Record<string, unknown>): Promise<string> {
  const r = await d.api('POST', `/v1.47/containers/${container}/exec`, { AttachStdout: true, AttachStderr: true, ...body });
  assert.equal(r.status, 201, r.body.toString());
  return r.json().Id as string;
}

async function execInspect(id: string) {
  const r = await d.api('GET', `/v1.47/exec/${id}/json`);
  assert.equal(r.status, 200, r.body.toString());
  return r.json();
}

/** Creates and starts an exec (plain POST, not upgraded); returns its demuxed output and inspect. */
async function execRun(container: string, body: Record<string, unknown>) {
  const id = await execCreate(container, body);
  const r = await d.api('POST', `/v1.47/exec/${id}/start`, { Detach: false, Tty: !!body.Tty });
  assert.equal(r.status, 200);
  return { id, raw: r.body, ...demux(r.body), inspect: await execInspect(id) };
}

/** POST /exec/{id}/start hijacked as the docker CLI does it (Upgrade: tcp), with stdin. */
function hijackedStart(id: string, input: Buffer): Promise<{ head: string; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const s = net.createConnection(d.sock);
    const body = JSON.stringify({ Detach: false, Tty: false });
    let buf = Buffer.alloc(0);
    let headDone = false;
    let head = '';
    s.on('connect', () => {
      s.write(`POST /v1.47/exec/${id}/start HTTP/1.1\r\nHost: docker\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
    });
    s.on('data', (c: Buffer) => {
      buf = Buffer.concat([buf, c]);
      if (!headDone) {
        const i = buf.indexOf('\r\n\r\n');
        if (i < 0) return;
        head = buf.subarray(0, i).toString();
        buf = buf.subarray(i + 4);
        headDone = true;
        s.write(input);
        s.end(); // half-close: EOF on the process's stdin
      }
    });
    s.on('end', () => resolve({ head, body: buf }));
    s.on('error', reject);
  });
}

// ------------------------------------------------------------------ API

test('exec through the API: stdout/stderr demultiplexed, exit code and Pid in /exec/{id}/json', async () => {
  const r = await execRun(ctr, { Cmd: ['sh', '-c', 'echo out; echo err >&2; exit 3'] });
  assert.equal(r.stdout, 'out\n');
  assert.equal(r.stderr, 'err\n');
  assert.equal(r.inspect.ExitCode, 3);
  assert.equal(r.inspect.Running, false);
  assert.ok(r.inspect.Pid > 0);
  assert.equal(r.inspect.ContainerID, ctr);
  assert.deepEqual(r.inspect.ProcessConfig, { tty: false, entrypoint: 'sh', arguments: ['-c', 'echo out; echo err >&2; exit 3'], privileged: false });
  assert.equal(r.inspect.OpenStdout, true);
  assert.equal(r.inspect.OpenStdin, false);
  // Only the streams asked for.
  const onlyOut = await execRun(ctr, { AttachStderr: false, Cmd: ['sh', '-c', 'echo out; echo err >&2'] });
  assert.deepEqual([onlyOut.stdout, onlyOut.stderr], ['out\n', '']);
  // With a TTY the stream is raw (one stream, \r\n line ends).
  const t = await execRun(ctr, { Tty: true, Cmd: ['sh', '-c', 'echo tty; tty'] });
  assert.match(t.raw.toString(), /^tty\r\n\/dev\/pts\/\d+\r\n$/);
  assert.equal(t.inspect.ExitCode, 0);
});

test('exec environment, user and working directory', async () => {
  const r = await execRun(ctr, { Env: ['FOO=bar', 'PATH=/bin:/sbin'], User: 'nobody', WorkingDir: '/tmp', Cmd: ['sh', '-c', 'echo $FOO $PATH $HOSTNAME; id -u; id -g; pwd; echo ${TERM:-none}'] });
  assert.equal(r.stdout, `bar /bin:/sbin ${ctr.slice(0, 12)}\n65534\n65534\n/tmp\nnone\n`);
  const numeric = await execRun(ctr, { User: '1234:5678', Cmd: ['sh', '-c', 'id -u; id -g'] });
  assert.equal(numeric.stdout, '1234\n5678\n');
  // A TTY session gets TERM=xterm; the container's own environment is kept.
  const tty = await execRun(ctr, { Tty: true, Cmd: ['sh', '-c', 'echo $TERM'] });
  assert.equal(tty.raw.toString(), 'xterm\r\n');
  // An unknown user fails the create (Docker looks it up early).
  const bad = await d.api('POST', `/containers/${ctr}/exec`, { Cmd: ['true'], User: 'nosuchuser' });
  assert.equal(bad.status, 400);
  assert.match(bad.json().message, /unable to find user nosuchuser/);
  // --privileged: every capability the daemon holds.
  const caps = (s: string) => BigInt('0x' + /CapEff:\s*(\w+)/.exec(s)![1]);
  const plain = await execRun(ctr, { Cmd: ['cat', '/proc/self/status'] });
  const priv = await execRun(ctr, { Privileged: true, Cmd: ['cat', '/proc/self/status'] });
  assert.ok(caps(priv.stdout) > caps(plain.stdout));
  assert.equal(priv.inspect.ProcessConfig.privileged, true);
});

test('stdin over a hijacked connection (Upgrade: tcp), EOF by half-close', async () => {
  const id = await execCreate(ctr, { AttachStdin: true, Cmd: ['sh', '-c', 'cat; echo done >&2'] });
  const r = await hijackedStart(id, Buffer.from('hello\nworld\n'));
  assert.match(r.head, /^HTTP\/1.1 101 UPGRADED/);
  assert.match(r.head, /application\/vnd.docker.multiplexed-stream/);
  assert.deepEqual(demux(r.body), { stdout: 'hello\nworld\n', stderr: 'done\n' });
  assert.equal((await execInspect(id)).ExitCode, 0);
});

test('Detach: true runs in the background; ExecIDs lists the running sessions', async () => {
  const id = await execCreate(ctr, { AttachStdout: false, AttachStderr: false, Cmd: ['sh', '-c', 'sleep 1; echo bg > /tmp/bg-done'] });
  const t0 = Date.now();
  const s = await d.api('POST', `/v1.47/exec/${id}/start`, { Detach: true });
  assert.equal(s.status, 200, s.body.toString());
  assert.ok(Date.now() - t0 < 900, 'detached start returns before the process ends');
  const running = await execInspect(id);
  assert.equal(running.Running, true);
  assert.equal(running.ExitCode, null);
  assert.ok(running.Pid > 0);
  assert.ok(((await d.api('GET', `/containers/${ctr}/json`)).json().ExecIDs as string[]).includes(id));
  for (let i = 0; i < 50 && (await execInspect(id)).Running; i++) await sleep(100);
  const done = await execInspect(id);
  assert.equal(done.Running, false);
  assert.equal(done.ExitCode, 0);
  assert.equal((await execRun(ctr, { Cmd: ['cat', '/tmp/bg-done'] })).stdout, 'bg\n');
  assert.equal((await d.api('GET', `/containers/${ctr}/json`)).json().ExecIDs, null);
});

test('exec errors: 404 unknown container or exec, 409 not running/paused/started twice, missing command', async () => {
  const nc = await d.api('POST', '/containers/nosuchcontainer/exec', { Cmd: ['true'] });
  assert.equal(nc.status, 404);
  assert.equal(nc.json().message, 'No such container: nosuchcontainer');
  for (const [m, p] of [['POST', '/exec/nosuchexec/start'], ['GET', '/exec/nosuchexec/json'], ['POST', '/exec/nosuchexec/resize?h=10&w=10']]) {
    const r = await d.api(m, p, m === 'POST' ? {} : undefined);
    assert.equal(r.status, 404, p);
    assert.equal(r.json().message, 'No such exec instance: nosuchexec');
  }
  const noCmd = await d.api('POST', `/containers/${ctr}/exec`, { Cmd: [] });
  assert.equal(noCmd.status, 400);
  // Started twice.
  const once = await execRun(ctr, { Cmd: ['true'] });
  const twice = await d.api('POST', `/exec/${once.id}/start`, { Detach: false });
  assert.equal(twice.status, 409);
  assert.match(twice.json().message, /has already run/);
  // Not running: created, and stopped.
  const created = await d.api('POST', '/v1.47/containers/create?name=exec-created', { Image: 'busybox', Cmd: ['sleep', '1000'] });
  const cid = created.json().Id as string;
  const r1 = await d.api('POST', `/containers/${cid}/exec`, { Cmd: ['true'] });
  assert.equal(r1.status, 409);
  assert.equal(r1.json().message, `container ${cid} is not running`);
  const stopped = await runDetached('exec-stopped');
  const pending = await execCreate(stopped, { Cmd: ['true'] });
  await d.api('POST', `/containers/${stopped}/kill`);
  await d.api('POST', `/containers/${stopped}/wait`);
  const r2 = await d.api('POST', `/containers/${stopped}/exec`, { Cmd: ['true'] });
  assert.equal(r2.status, 409);
  assert.equal(r2.json().message, `container ${stopped} is not running`);
  // A session created before the stop can no longer start.
  const r3 = await d.api('POST', `/exec/${pending}/start`, { Detach: true });
  assert.equal(r3.status, 409);
  // Paused.
  const paused = await runDetached('exec-paused');
  assert.equal((await d.api('POST', `/containers/${paused}/pause`)).status, 204);
  const r4 = await d.api('POST', `/containers/${paused}/exec`, { Cmd: ['true'] });
  assert.equal(r4.status, 409);
  assert.match(r4.json().message, /is paused, unpause the container before exec/);
  await d.api('POST', `/containers/${paused}/unpause`);
  // A command that does not exist: the runtime's error in the stream, exit code 126 (dockerd
  // records 126 for any exec it could not start, where a container's start would say 127).
  const missing = await execRun(ctr, { Cmd: ['nosuchcommand'] });
  assert.match(missing.stdout, /OCI runtime exec failed: .*executable file not found/);
  assert.equal(missing.inspect.ExitCode, 126);
  // "not a directory": dockerd's hint follows the runtime's message.
  const notDir = await execRun(ctr, { Cmd: ['/etc/passwd/x'] });
  assert.match(notDir.stdout, /not a directory: unknown: Are you trying to mount a directory onto a file \(or vice-versa\)\?/);
  assert.equal(notDir.inspect.ExitCode, 126);
});

test('a running exec ends (137) when its container stops; events exec_create/exec_start/exec_die', async () => {
  const c = await runDetached('exec-stop');
  const since = Math.floor(Date.now() / 1000) - 1;
  const id = await execCreate(c, { Cmd: ['sleep', '1000'] });
  const start = d.api('POST', `/v1.47/exec/${id}/start`, { Detach: false });
  for (let i = 0; i < 100 && !(await execInspect(id)).Pid; i++) await sleep(50);
  assert.deepEqual((await d.api('GET', `/containers/${c}/json`)).json().ExecIDs, [id]);
  assert.equal((await d.api('POST', `/containers/${c}/kill`)).status, 204);
  const r = await start;
  assert.equal(r.status, 200);
  const i = await execInspect(id);
  assert.equal(i.Running, false);
  assert.equal(i.ExitCode, 137);
  const ev = await d.api('GET', `/events?since=${since}&until=${Math.ceil(Date.now() / 1000) + 1}&filters=${encodeURIComponent(JSON.stringify({ container: [c] }))}`);
  const events = ev.body.toString().trim().split('\n').map((l) => JSON.parse(l));
  const mine = events.filter((e) => e.Actor.Attributes.execID === id);
  assert.deepEqual(mine.map((e) => e.Action), ['exec_create: sleep 1000', 'exec_start: sleep 1000', 'exec_die']);
  assert.equal(mine[2].Actor.Attributes.exitCode, '137');
  assert.equal(mine[0].Actor.Attributes.name, 'exec-stop');
  assert.equal(mine[0].Actor.Attributes.image, 'busybox');
});

// ------------------------------------------------------------------ CLIs

for (const cli of ['berth', 'docker'] as const) {
  test(`${cli} exec: exit code, -e, -u, -w, -i, -d`, { skip: cli === 'docker' && !hasDocker ? 'no docker CLI' : false }, () => {
    const x = (args: string[], o?: { input?: string }) => d[cli](args, o);
    const r = x(['exec', 'exec-main', 'sh', '-c', 'echo out; echo err >&2; exit 7']);
    assert.equal(r.status, 7, r.stderr);
    assert.equal(r.stdout, 'out\n');
    assert.equal(r.stderr, 'err\n');
    const e = x(['exec', '-e', 'FOO=bar', '-u', 'nobody', '-w', '/tmp', 'exec-main', 'sh', '-c', 'echo $FOO; id -un; pwd']);
    assert.equal(e.status, 0, e.stderr);
    assert.equal(e.stdout, 'bar\nnobody\n/tmp\n');
    const i = x(['exec', '-i', 'exec-main', 'sh', '-c', 'tr a-z A-Z'], { input: 'piped in\n' });
    assert.equal(i.status, 0, i.stderr);
    assert.equal(i.stdout, 'PIPED IN\n');
    const det = x(['exec', '-d', 'exec-main', 'sh', '-c', `sleep 0.3; echo ${cli} > /tmp/${cli}-d`]);
    assert.equal(det.status, 0, det.stderr);
    assert.equal(det.stdout, '');
    spawnSync('sleep', ['1']);
    assert.equal(x(['exec', 'exec-main', 'cat', `/tmp/${cli}-d`]).stdout, `${cli}\n`);
    // 126, as with dockerd: an exec that could not be started is 126 whatever the reason.
    const missing = x(['exec', 'exec-main', 'nosuchcommand']);
    assert.equal(missing.status, 126);
    const stopped = x(['exec', 'exec-stopped', 'true']);
    assert.notEqual(stopped.status, 0);
    assert.match(stopped.stderr, /is not running/);
  });
}

// ------------------------------------------------------------------ a real terminal (tmux)

for (const cli of ['berth', 'docker'] as const) {
  test(`${cli} exec -it in a real terminal: typing, window size, resize, exit code`, { skip: !hasTmux ? 'no tmux' : cli === 'docker' && !hasDocker ? 'no docker CLI' : false }, async () => {
    const sock = `berth-exec-${randomBytes(4).toString('hex')}`;
    tmuxSockets.push(sock);
    const cmd = cli === 'docker'
      ? `DOCKER_HOST=unix://${d.sock} DOCKER_CONFIG=${join(d.dir, 'docker-config')} docker exec -it exec-main sh`
      : `BERTH_HOST=unix://${d.sock} DOCKER_HOST= ${process.execPath} ${BERTH} exec -it exec-main sh`;
    tmux(sock, 'new-session', '-d', '-x', '100', '-y', '30', `${cmd}; echo "CLI-EXIT=$?"; sleep 60`);
    await waitScreen(sock, /\/ #\s*$/m);
    tmux(sock, 'send-keys', 'echo $((6*7))', 'Enter');
    await waitScreen(sock, /^42$/m);
    tmux(sock, 'send-keys', 'stty size', 'Enter');
    await waitScreen(sock, /^30 100$/m);
    // SIGWINCH → POST /exec/{id}/resize → conmon's ctl fifo.
    tmux(sock, 'resize-window', '-x', '120', '-y', '40');
    await sleep(300);
    tmux(sock, 'send-keys', 'clear; stty size', 'Enter');
    await waitScreen(sock, /^40 120$/m);
    tmux(sock, 'send-keys', 'exit 3', 'Enter');
    await waitScreen(sock, /CLI-EXIT=3/);
    tmux(sock, 'kill-server');
  });
}

// The docker CLI finds the sequence itself, closes the connection and reports docker's
// "read escape sequence" (exit status 1, as against dockerd); the session must survive that.
test('docker exec -it: Ctrl-P Ctrl-Q detaches, the shell keeps running', { skip: !hasTmux || !hasDocker ? 'needs tmux and docker' : false }, async () => {
  const sock = `berth-exec-${randomBytes(4).toString('hex')}`;
  tmuxSockets.push(sock);
  const c = await runDetached('exec-detach');
  tmux(sock, 'new-session', '-d', '-x', '100', '-y', '30', `DOCKER_HOST=unix://${d.sock} DOCKER_CONFIG=${join(d.dir, 'docker-config')} docker exec -it exec-detach sh; echo "CLI-EXIT=$?"; sleep 60`);
  await waitScreen(sock, /\/ #\s*$/m);
  tmux(sock, 'send-keys', 'C-p', 'C-q');
  await waitScreen(sock, /read escape sequence\s+CLI-EXIT=1/);
  await sleep(200);
  const ids = (await d.api('GET', `/containers/${c}/json`)).json().ExecIDs as string[];
  assert.equal(ids.length, 1);
  assert.equal((await execInspect(ids[0])).Running, true);
  tmux(sock, 'kill-server');
});

test('exec start whose JSON body arrives after the headers: the body is not taken for stdin', async () => {
  const cr = await d.api('POST', `/containers/${ctr}/exec`, { AttachStdin: true, AttachStdout: true, AttachStderr: true, Cmd: ['tr', 'a-z', 'A-Z'] });
  assert.equal(cr.status, 201, cr.body.toString());
  const id = cr.json().Id as string;
  const body = JSON.stringify({ Detach: false, Tty: false });
  let sent!: () => void;
  const bodySent = new Promise<void>((r) => { sent = r; });
  const out = await new Promise<Buffer>((resolve, reject) => {
    const s = net.connect(d.sock);
    const chunks: Buffer[] = [];
    let upgraded = false;
    s.on('data', (c: Buffer) => {
      chunks.push(c);
      const all = Buffer.concat(chunks);
      if (!upgraded && all.includes('\r\n\r\n')) {
        upgraded = true;
        assert.match(all.toString(), /^HTTP\/1\.1 101/);
        // After the body went out (a daemon that answered before reading it would take it for stdin).
        void bodySent.then(() => { s.write('hello stdin\n'); s.end(); });
      }
    });
    s.on('end', () => resolve(Buffer.concat(chunks)));
    s.on('error', reject);
    s.setTimeout(10_000, () => s.destroy(new Error('timeout')));
    // The headers first, the body 100 ms later in a write of its own.
    s.write(`POST /v1.47/exec/${id}/start HTTP/1.1\r\nHost: berth\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n`);
    setTimeout(() => s.write(body, () => sent()), 100);
  });
  const i = out.indexOf('\r\n\r\n');
  assert.equal(demux(out.subarray(i + 4)).stdout, 'HELLO STDIN\n');
});
