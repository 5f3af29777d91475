// Registry interop through the CLIs: the berth CLI's login/logout/push/pull and run --pull against
// the distribution registry (Debian's docker-registry 2.8) with and without htpasswd, and against
// berth's own registry with token auth; the docker CLI's login/push/pull through berthd against
// distribution. Registries run as separate processes on loopback (the test blocks in spawnSync).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync, statSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { startDaemon, freePort, hasDocker, BERTH, type Daemon } from './harness.ts';

const hasDistribution = spawnSync('docker-registry', ['--version']).status === 0;
let d: Daemon;
let dir: string;
const procs: ChildProcess[] = [];


async function waitUp(port: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const ok = await fetch(`http://127.0.0.1:${port}/v2/`).then((r) => r.status === 200 || r.status === 401, () => false);
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`registry on ${port} never came up`);
}

async function distribution(name: string, htpasswd?: string): Promise<string> {
  const port = await freePort();
  const root = join(dir, name);
  let cfg = `version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: ${root}\nhttp:\n  addr: 127.0.0.1:${port}\n`;
  if (htpasswd) cfg += `auth:\n  htpasswd:\n    realm: test\n    path: ${htpasswd}\n`;
  writeFileSync(join(dir, `${name}.yml`), cfg);
  const p = spawn('docker-registry', ['serve', join(dir, `${name}.yml`)], { stdio: 'ignore' });
  procs.push(p);
  await waitUp(port);
  return `127.0.0.1:${port}`;
}

before(async () => {
  d = await startDaemon({ importBusybox: true });
  dir = mkdtempSync(join(tmpdir(), 'berth-reg-interop-'));
  writeFileSync(join(dir, 'htpasswd'), `alice:${bcrypt.hashSync('s3cret', 5)}\n`);
});
after(async () => {
  for (const p of procs) p.kill('SIGKILL');
  await d?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** The berth CLI with its own config dir. */
const berth = (args: string[], input?: string) => d.berth(args, { env: { BERTH_CONFIG: join(dir, 'berth-config') }, input });

test('berth push/pull ↔ distribution without auth; run --pull missing|always|never', { skip: !hasDistribution && 'no docker-registry' }, async () => {
  const reg = await distribution('plain');
  assert.equal(berth(['tag', 'busybox', `${reg}/bb:1`]).status, 0);
  const p = berth(['push', `${reg}/bb:1`]);
  assert.equal(p.status, 0, p.stderr);
  assert.match(p.stdout, new RegExp(`^The push refers to repository \\[${reg}/bb\\]\\n[0-9a-f]{12}: Preparing\\n[0-9a-f]{12}: Pushed\\n1: digest: sha256:[0-9a-f]{64} size: \\d+\\n$`));
  const digest = /digest: (sha256:[0-9a-f]{64})/.exec(p.stdout)![1];
  // The registry has exactly what was pushed.
  const m = await fetch(`http://${reg}/v2/bb/manifests/1`, { headers: { Accept: 'application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json' } });
  assert.equal(m.headers.get('docker-content-digest'), digest);

  assert.equal(berth(['rmi', `${reg}/bb:1`]).status, 0);
  const q = berth(['pull', `${reg}/bb:1`]);
  assert.equal(q.status, 0, q.stderr);
  assert.match(q.stdout, new RegExp(`^1: Pulling from bb\\n[\\s\\S]*Digest: ${digest}\\nStatus: Downloaded newer image for ${reg}/bb:1\\n${reg}/bb:1\\n$`));
  assert.equal(berth(['pull', '-q', `${reg}/bb:1`]).stdout, `${reg}/bb:1\n`);

  // run --pull: missing pulls what is not here, always pulls anyway, never refuses.
  assert.equal(berth(['rmi', `${reg}/bb:1`]).status, 0);
  const r = berth(['run', '--rm', `${reg}/bb:1`, 'echo', 'ran']);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, 'ran\n');
  assert.match(r.stderr, new RegExp(`^Unable to find image '${reg}/bb:1' locally\\n1: Pulling from bb\\n`));
  const a = berth(['run', '--rm', '--pull', 'always', `${reg}/bb:1`, 'true']);
  assert.equal(a.status, 0, a.stderr);
  assert.match(a.stderr, /Status: Image is up to date/);
  assert.equal(berth(['rmi', `${reg}/bb:1`]).status, 0);
  const n = berth(['run', '--rm', '--pull', 'never', `${reg}/bb:1`, 'true']);
  assert.equal(n.status, 125);
  assert.match(n.stderr, /No such image/);
  const missing = berth(['pull', `${reg}/nope:1`]);
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /manifest unknown/);
});

test('berth login/logout, push/pull ↔ distribution with htpasswd; config.json in docker\'s format', { skip: !hasDistribution && 'no docker-registry' }, async () => {
  const reg = await distribution('auth', join(dir, 'htpasswd'));
  assert.equal(berth(['tag', 'busybox', `${reg}/sec:1`]).status, 0);
  const denied = berth(['push', `${reg}/sec:1`]);
  assert.equal(denied.status, 1);
  assert.match(denied.stderr, /authentication required|unauthorized/);

  const bad = berth(['login', '-u', 'alice', '--password-stdin', reg], 'wrong\n');
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /^Error response from daemon: .*401/m);
  const ok = berth(['login', '-u', 'alice', '--password-stdin', reg], 's3cret\n');
  assert.equal(ok.status, 0, ok.stderr);
  assert.equal(ok.stdout, 'Login Succeeded\n');
  assert.match(ok.stderr, /WARNING! Your credentials are stored unencrypted/);
  const cfgPath = join(dir, 'berth-config', 'config.json');
  assert.deepEqual(JSON.parse(readFileSync(cfgPath, 'utf8')), { auths: { [reg]: { auth: Buffer.from('alice:s3cret').toString('base64') } } });
  assert.equal(statSync(cfgPath).mode & 0o777, 0o600);

  const p = berth(['push', `${reg}/sec:1`]);
  assert.equal(p.status, 0, p.stderr);
  assert.equal(berth(['rmi', `${reg}/sec:1`]).status, 0);
  assert.equal(berth(['pull', '-q', `${reg}/sec:1`]).status, 0);

  assert.equal(berth(['logout', reg]).stdout, `Removing login credentials for ${reg}\n`);
  assert.equal(berth(['logout', reg]).stdout, `Not logged in to ${reg}\n`);
  assert.deepEqual(JSON.parse(readFileSync(cfgPath, 'utf8')).auths, {});
  assert.equal(berth(['pull', `${reg}/sec:1`]).status, 1);
  assert.match(berth(['login', '-p', 'x', '--password-stdin', reg]).stderr, /--password and --password-stdin are mutually exclusive/);
  assert.match(berth(['login', '--password-stdin', reg]).stderr, /Must provide --username with --password-stdin/);
});

test('docker CLI login/push/pull through berthd ↔ distribution with htpasswd', { skip: (!hasDistribution || !hasDocker) && 'needs docker-registry and the docker CLI' }, async () => {
  const reg = await distribution('dk', join(dir, 'htpasswd'));
  const l = d.docker(['login', '-u', 'alice', '--password-stdin', reg], { input: 's3cret\n' });
  assert.equal(l.status, 0, l.stderr);
  assert.match(l.stdout, /Login Succeeded/);
  assert.equal(d.docker(['tag', 'busybox', `${reg}/dk:2`]).status, 0);
  const p = d.docker(['push', `${reg}/dk:2`]);
  assert.equal(p.status, 0, p.stderr);
  assert.match(p.stdout, /2: digest: sha256:[0-9a-f]{64} size: \d+/);
  assert.equal(d.docker(['rmi', `${reg}/dk:2`]).status, 0);
  const q = d.docker(['pull', `${reg}/dk:2`]);
  assert.equal(q.status, 0, q.stderr);
  assert.match(q.stdout, new RegExp(`Status: Downloaded newer image for ${reg}/dk:2\\n${reg}/dk:2\\n$`));
  const bad = d.docker(['login', '-u', 'alice', '--password-stdin', reg], { input: 'nope\n' });
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /401 Unauthorized/);
});

test("berth CLI ↔ berth's own registry with token auth", async () => {
  const port = await freePort();
  const reg = `127.0.0.1:${port}`;
  const p = spawn(process.execPath, [BERTH, 'registry', 'serve', '--addr', reg, '--root', join(dir, 'tok'), '--htpasswd', join(dir, 'htpasswd'), '--token-auth'], { stdio: 'ignore' });
  procs.push(p);
  await waitUp(port);
  assert.equal(berth(['tag', 'busybox', `${reg}/team/app:v1`]).status, 0);
  assert.equal(berth(['push', `${reg}/team/app:v1`]).status, 1);
  assert.equal(berth(['login', '-u', 'alice', '--password-stdin', reg], 's3cret\n').status, 0);
  const push = berth(['push', `${reg}/team/app:v1`]);
  assert.equal(push.status, 0, push.stderr);
  assert.equal(berth(['rmi', `${reg}/team/app:v1`]).status, 0);
  const pull = berth(['pull', `${reg}/team/app:v1`]);
  assert.equal(pull.status, 0, pull.stderr);
  const digests = JSON.parse(berth(['image', 'inspect', '-f', '{{json .RepoDigests}}', `${reg}/team/app:v1`]).stdout) as string[];
  assert.ok(digests.some((x) => x.startsWith(`${reg}/team/app@sha256:`)), digests.join(' '));
  berth(['logout', reg]);
});

/** `berth registry serve ARGS` as its own process; resolves once it says it is listening. */
async function serveCli(args: string[]): Promise<{ proc: ChildProcess; stderr: () => string; stop: () => Promise<void> }> {
  const proc = spawn(process.execPath, [BERTH, 'registry', 'serve', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  procs.push(proc);
  let err = '';
  proc.stderr!.on('data', (c: Buffer) => { err += c.toString(); });
  for (let i = 0; i < 200 && !/listening on/.test(err) && proc.exitCode === null; i++) await new Promise((r) => setTimeout(r, 50));
  assert.match(err, /listening on/, err);
  const stop = async () => {
    if (proc.exitCode !== null) return;
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGTERM');
    await exited;
  };
  return { proc, stderr: () => err, stop };
}

test("berth registry serve --token-auth without --htpasswd: anonymous users pull, and cannot push (berth and docker CLIs)", async () => {
  const help = berth(['registry', 'serve', '--help']);
  assert.match(help.stdout.replace(/\s+/g, ' '), /--token-auth Serve a token endpoint \(\/token\) and require bearer tokens: --htpasswd users may pull, push and delete, anonymous users nothing; without --htpasswd, anyone may pull and no one may push or delete/);
  // Seeded through an open registry on the same root (with no users, no one could push).
  const root = join(dir, 'public');
  const openPort = await freePort();
  const open = await serveCli(['--addr', `127.0.0.1:${openPort}`, '--root', root]);
  assert.equal(berth(['tag', 'busybox', `127.0.0.1:${openPort}/pub/bb:1`]).status, 0);
  const seeded = berth(['push', `127.0.0.1:${openPort}/pub/bb:1`]);
  assert.equal(seeded.status, 0, seeded.stderr);
  await open.stop();

  const port = await freePort();
  const reg = `127.0.0.1:${port}`;
  const tok = await serveCli(['--addr', reg, '--root', root, '--token-auth']);
  try {
    const pulled = berth(['pull', `${reg}/pub/bb:1`]);
    assert.equal(pulled.status, 0, pulled.stderr);
    assert.equal(berth(['tag', 'busybox', `${reg}/pub/bb:2`]).status, 0);
    const pushed = berth(['push', `${reg}/pub/bb:2`]);
    assert.equal(pushed.status, 1);
    assert.match(pushed.stderr, /denied: requested access to the resource is denied/);
    if (hasDocker) {
      assert.equal(berth(['rmi', `${reg}/pub/bb:1`]).status, 0);
      const dp = d.docker(['pull', `${reg}/pub/bb:1`]);
      assert.equal(dp.status, 0, dp.stderr);
      assert.match(dp.stdout, new RegExp(`Status: Downloaded newer image for ${reg}/pub/bb:1`));
      const dpush = d.docker(['push', `${reg}/pub/bb:2`]);
      assert.notEqual(dpush.status, 0);
      assert.match(dpush.stderr, /denied: requested access to the resource is denied/);
    }
    // Nothing was written: the repository still has its one tag.
    const t = (await (await fetch(`http://${reg}/token?service=berth-registry&scope=repository:pub/bb:pull`)).json()) as { token: string };
    const tags = await fetch(`http://${reg}/v2/pub/bb/tags/list`, { headers: { Authorization: `Bearer ${t.token}` } });
    assert.deepEqual(((await tags.json()) as { tags: string[] }).tags, ['1']);
    assert.match(tok.stderr(), new RegExp(`listening on http://${reg} \\(root ${root}, auth token \\(no users; anonymous: pull\\)\\)`));
    assert.doesNotMatch(tok.stderr(), /warning/, 'loopback: no warning');
  } finally {
    await tok.stop();
    berth(['rmi', `${reg}/pub/bb:1`, `${reg}/pub/bb:2`, `127.0.0.1:${openPort}/pub/bb:1`]);
  }
});

test('berth registry serve beyond loopback warns on stderr about what is missing (TLS, users)', async () => {
  const port = await freePort();
  const s = await serveCli(['--addr', `0.0.0.0:${port}`, '--root', join(dir, 'exposed')]);
  await s.stop();
  assert.equal(s.stderr().split('\n').slice(0, 3).join('\n'), [
    `warning: listening on 0.0.0.0:${port} without TLS (--tls-cert, --tls-key): credentials, tokens and images cross the network in clear text`,
    `warning: listening on 0.0.0.0:${port} without authentication (--htpasswd): anyone who can reach it may pull, push and delete`,
    `berth registry listening on http://0.0.0.0:${port} (root ${join(dir, 'exposed')}, auth none)`,
  ].join('\n'));
  const t = await serveCli(['--addr', `0.0.0.0:${port}`, '--root', join(dir, 'exposed'), '--htpasswd', join(dir, 'htpasswd')]);
  await t.stop();
  assert.match(t.stderr(), /^warning: listening on 0\.0\.0\.0:\d+ without TLS \(--tls-cert, --tls-key\): [^\n]+\nberth registry listening on /);
});
