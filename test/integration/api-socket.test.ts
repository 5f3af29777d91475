// The API socket is root on the host: it is 0600 root:root, or 0660 root:berth when the host has
// a `berth` group (DESIGN.md), and it never exists with wider modes, not even between bind() and
// chmod(): berthd binds under umask 0177. That window is made long here by running berthd under
// strace, which holds it for two seconds right after each bind() returns; the test's first look
// at the socket falls inside it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, lstatSync, mkdtempSync, openSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import http from 'node:http';
import { startDaemon, cleanup, BERTHD, type Daemon } from './harness.ts';

const GROUP = 'berth';
const groupGid = (): number | undefined => {
  const r = spawnSync('getent', ['group', GROUP]);
  return r.status === 0 ? Number(r.stdout.toString().split(':')[2]) : undefined;
};
const hasSetpriv = spawnSync('setpriv', ['--version']).status === 0;
const hasStrace = spawnSync('strace', ['-V']).status === 0;

function sockStat(p: string): { mode: number; uid: number; gid: number } {
  const st = lstatSync(p);
  assert.ok(st.isSocket(), `${p} is a socket`);
  return { mode: st.mode & 0o7777, uid: st.uid, gid: st.gid };
}

/** GET /_ping on the socket as user nobody, with these supplementary groups: "OK" or the error code. */
function pingAsNobody(sock: string, groups: number[]): string {
  const script = `
const req = require('http').request({ socketPath: process.argv[1], path: '/_ping' }, (r) => { let b = ''; r.on('data', (c) => b += c); r.on('end', () => console.log(b)); });
req.on('error', (e) => console.log(e.code));
req.end();`;
  const ids = groups.length ? [`--groups=${groups.join(',')}`] : ['--clear-groups'];
  const r = spawnSync('setpriv', ['--reuid=nobody', '--regid=nogroup', ...ids, '--', process.execPath, '-e', script, sock], { timeout: 20_000 });
  return r.stdout.toString().trim() || r.stderr.toString();
}

test('without a berth group: 0600 root:root, and nobody cannot connect', { skip: groupGid() !== undefined ? `the host has a ${GROUP} group` : !hasSetpriv && 'no setpriv' }, async () => {
  const d = await startDaemon({ importBusybox: false });
  try {
    chmodSync(d.dir, 0o755); // the socket's directory is a 0700 mkdtemp: only the socket's own mode may decide
    assert.deepEqual(sockStat(d.sock), { mode: 0o600, uid: 0, gid: 0 });
    assert.equal(pingAsNobody(d.sock, []), 'EACCES');
    assert.equal((statSync(d.execRoot).mode & 0o7777), 0o700);
  } finally { await d.stop(); }
});

test('with a berth group: 0660 root:berth; its members connect, others cannot', { skip: !hasSetpriv && 'no setpriv' }, async () => {
  let gid = groupGid();
  const made = gid === undefined;
  if (made) {
    const r = spawnSync('groupadd', ['--system', GROUP]);
    assert.equal(r.status, 0, r.stderr.toString());
    gid = groupGid();
  }
  let d: Daemon | undefined;
  try {
    assert.ok(gid !== undefined);
    d = await startDaemon({ importBusybox: false });
    chmodSync(d.dir, 0o755);
    assert.deepEqual(sockStat(d.sock), { mode: 0o660, uid: 0, gid });
    assert.equal(pingAsNobody(d.sock, [gid]), 'OK');
    assert.equal(pingAsNobody(d.sock, []), 'EACCES');
    // The exec root holds the default socket (/run/berth/berth.sock): the group may pass through it.
    const ex = statSync(d.execRoot);
    assert.deepEqual([ex.mode & 0o7777, ex.uid, ex.gid], [0o710, 0, gid]);
  } finally {
    if (d) await d.stop();
    if (made) spawnSync('groupdel', [GROUP]);
  }
});

function ping(sock: string): Promise<boolean> {
  return new Promise((r) => {
    const req = http.request({ socketPath: sock, path: '/_ping', agent: false }, (res) => { res.resume(); r(res.statusCode === 200); });
    req.once('error', () => r(false));
    req.end();
  });
}

test('the socket never exists with a wider mode than 0600 (seen while berthd is held right after bind)', { skip: groupGid() !== undefined ? `the host has a ${GROUP} group` : !hasStrace && 'strace is not installed' }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-it-sock-'));
  const dataRoot = join(dir, 'data');
  const execRoot = join(dir, 'exec');
  const sock = join(dir, 'berth.sock');
  const logPath = join(dir, 'berthd.log');
  const fd = openSync(logPath, 'a');
  // Only berthd's main thread is traced (no -f): that is where Node binds, inside listen().
  const proc = spawn('strace', ['-qq', '-o', '/dev/null', '-e', 'trace=bind', '-e', 'inject=bind:delay_exit=2000000',
    process.execPath, BERTHD, '--data-root', dataRoot, '--exec-root', execRoot, '-H', `unix://${sock}`, '-b', 'none', '--log-level', 'debug'],
  { stdio: ['ignore', fd, fd], env: { ...process.env, NODE_EXTRA_CA_CERTS: '' } });
  const log = () => { try { return readFileSync(logPath, 'utf8'); } catch { return ''; } };
  const d = { dir, dataRoot, execRoot, sock, proc, log } as unknown as Daemon;
  try {
    let first: { mode: number; uid: number; gid: number } | undefined;
    for (let i = 0; i < 6000 && !first; i++) {
      if (proc.exitCode !== null) assert.fail(`berthd exited: ${log()}`);
      try { first = sockStat(sock); } catch { await new Promise((r) => setTimeout(r, 5)); }
    }
    assert.ok(first, `no socket appeared: ${log()}`);
    assert.equal(first.mode.toString(8), '600', 'the first sight of the socket');
    for (let i = 0; i < 600 && !(await ping(sock)); i++) await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(sockStat(sock), { mode: 0o600, uid: 0, gid: 0 });
  } finally {
    // strace detaches on SIGTERM and leaves berthd running: stop berthd itself, then clean up.
    let pid = 0;
    try { pid = Number(readFileSync(join(execRoot, 'berthd.pid'), 'utf8').trim()); } catch { /* never got that far */ }
    if (pid) { try { process.kill(pid, 'SIGTERM'); } catch { /* gone */ } }
    await Promise.race([new Promise((r) => (proc.exitCode !== null ? r(null) : proc.once('exit', r))), new Promise((r) => setTimeout(r, 10_000))]);
    await cleanup(d);
  }
});
