// docker-py against berthd: Debian's python3-docker (5.0.3, what docker-compose 1.29 uses) and
// any other docker-py the default python3 has. One Python script per interpreter drives the
// cases below and reports each; the cases are attach (defaults, logs replay, stream, detach keys
// through attach_socket), exec_run with and without a TTY, kill then reload, commit, update, and
// containers.run in the foreground.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { startDaemon, type Daemon } from '../integration/harness.ts';

const SCRIPT = String.raw`
import json, socket, sys, time, traceback
import docker

client = docker.DockerClient(base_url='unix://' + sys.argv[1], timeout=60)
api = client.api
results = {}

def case(name):
    def wrap(fn):
        try:
            fn()
            results[name] = 'ok'
        except Exception:
            results[name] = traceback.format_exc()
        return fn
    return wrap

def wait_exit(c):
    c.wait(timeout=30)
    c.reload()

@case('attach defaults (stream=0, logs=0) return at once')
def _():
    c = client.containers.run('busybox', ['sleep', '1000'], detach=True)
    t = time.time()
    assert c.attach() == b'', 'expected no output'
    assert time.time() - t < 5, 'attach did not return at once'
    c.remove(force=True)

@case('attach logs=True stream=False replays the log of an exited container')
def _():
    c = client.containers.run('busybox', ['sh', '-c', 'echo out; echo err >&2'], detach=True)
    wait_exit(c)
    assert c.attach(logs=True, stream=False) == b'out\nerr\n', c.attach(logs=True, stream=False)
    out, err = api.attach(c.id, logs=True, stream=False, demux=True)
    assert (out, err) == (b'out\n', b'err\n'), (out, err)
    t = client.containers.run('busybox', ['echo', 'tty'], detach=True, tty=True)
    wait_exit(t)
    assert t.attach(logs=True) == b'tty\r\n', t.attach(logs=True)

@case('attach stream=True follows the output until the container exits')
def _():
    c = client.containers.create('busybox', ['sh', '-c', 'sleep 0.5; echo one; echo two'])
    s = c.attach(stream=True, logs=True)
    c.start()
    got = b''.join(s)
    assert got == b'one\ntwo\n', got

@case('attach_socket to a TTY container: ctrl-p ctrl-q closes the connection')
def _():
    c = client.containers.run('busybox', ['sh'], detach=True, tty=True, stdin_open=True)
    sock = c.attach_socket(params={'stdin': 1, 'stdout': 1, 'stream': 1})
    raw = sock._sock
    raw.settimeout(15)
    raw.sendall(b'echo $((6*7))\n')
    buf = b''
    while b'42' not in buf:
        buf += raw.recv(4096)
    raw.sendall(b'\x10\x11')
    while True:
        chunk = raw.recv(4096)
        if not chunk:
            break
    c.reload()
    assert c.status == 'running', c.status
    c.remove(force=True)

@case('exec_run with and without a TTY; demux')
def _():
    c = client.containers.run('busybox', ['sleep', '1000'], detach=True)
    r = c.exec_run(['sh', '-c', 'echo out; echo err >&2; exit 3'])
    assert (r.exit_code, r.output) == (3, b'out\nerr\n'), r
    r = c.exec_run(['sh', '-c', 'echo out; echo err >&2'], demux=True)
    assert r.output == (b'out\n', b'err\n'), r
    r = c.exec_run(['echo', 'tty'], tty=True)
    assert (r.exit_code, r.output) == (0, b'tty\r\n'), r
    c.remove(force=True)

@case('kill, then reload: exited with 137')
def _():
    for _ in range(3):
        c = client.containers.run('busybox', ['sh', '-c', 'trap "" TERM; sleep 1000'], detach=True)
        c.kill()
        c.reload()
        assert (c.status, c.attrs['State']['ExitCode']) == ('exited', 137), (c.status, c.attrs['State'])
        c.remove()

@case('commit with changes; update of CPU shares')
def _():
    c = client.containers.run('busybox', ['sh', '-c', 'echo hi > /f; sleep 1000'], detach=True)
    time.sleep(0.5)
    c.update(cpu_shares=512, mem_limit='64m', memswap_limit='128m')
    c.reload()
    assert c.attrs['HostConfig']['CpuShares'] == 512, c.attrs['HostConfig']
    img = c.commit(repository='pycommit', tag='v1', changes=['ENV A=b'])
    assert 'A=b' in img.attrs['Config']['Env'], img.attrs['Config']
    assert client.containers.run('pycommit:v1', ['cat', '/f'], remove=True) == b'hi\n'
    c.remove(force=True)

@case('containers.run in the foreground returns the output')
def _():
    assert client.containers.run('busybox', ['sh', '-c', 'echo hello'], remove=True) == b'hello\n'

print(json.dumps({'version': docker.__version__, 'results': results}))
`;

/** The interpreters that have docker-py, each once per docker-py version. */
const pythons = (() => {
  const seen = new Map<string, string>();
  for (const py of ['/usr/bin/python3', 'python3']) {
    const r = spawnSync(py, ['-c', 'import docker; print(docker.__version__)'], { encoding: 'utf8' });
    const v = r.status === 0 ? r.stdout.trim() : '';
    if (v && ![...seen.values()].includes(v)) seen.set(py, v);
  }
  return seen;
})();

let d: Daemon;
before(async () => { if (pythons.size) d = await startDaemon(); });
after(async () => { await d?.stop(); });

const runs = new Map<string, Promise<Record<string, string>>>();
function resultsOf(py: string): Promise<Record<string, string>> {
  let p = runs.get(py);
  if (!p) {
    p = new Promise((resolve, reject) => {
      const child = spawn(py, ['-c', SCRIPT, d.sock], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      const timer = setTimeout(() => child.kill('SIGKILL'), 240_000);
      child.stdout.on('data', (c: Buffer) => { out += c; });
      child.stderr.on('data', (c: Buffer) => { err += c; });
      child.on('close', (code) => {
        clearTimeout(timer);
        try { resolve((JSON.parse(out.trim().split('\n').pop() ?? '') as { results: Record<string, string> }).results); } catch { reject(new Error(`${py} exited ${code}: ${err}${out}`)); }
      });
    });
    runs.set(py, p);
  }
  return p;
}

const CASES = [
  'attach defaults (stream=0, logs=0) return at once',
  'attach logs=True stream=False replays the log of an exited container',
  'attach stream=True follows the output until the container exits',
  'attach_socket to a TTY container: ctrl-p ctrl-q closes the connection',
  'exec_run with and without a TTY; demux',
  'kill, then reload: exited with 137',
  'commit with changes; update of CPU shares',
  'containers.run in the foreground returns the output',
];

if (!pythons.size) test('docker-py', { skip: 'no python3 with docker-py here' }, () => {});
for (const [py, version] of pythons) {
  for (const name of CASES) {
    test(`docker-py ${version}: ${name}`, async () => {
      const r = await resultsOf(py);
      assert.equal(r[name], 'ok', r[name]);
    });
  }
}
