// `cp` both ways over the container archive API (HEAD/GET/PUT /containers/{id}/archive), with the
// berth CLI and the docker CLI compared: files, directories, the trailing `/` and `/.` forms, tar
// streams on stdin/stdout, -a, -L, running (frozen during the copy) and stopped containers, a
// named volume, the symlink escapes of the CVE-2018-15664 class and hostile tar entries.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { spawnSync } from 'node:child_process';
import { chownSync, existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startDaemon, hasDocker, BERTH as BERTH_JS, type Daemon, type RunOut } from './harness.ts';
import { encodeTarHeader, tarPad } from '../../src/archive/tar-header.ts';

let d: Daemon;
let host: string;
const marks: string[] = [];
before(async () => {
  d = await startDaemon({ importBusybox: true });
  host = join(d.dir, 'cp-host');
  mkdirSync(join(host, 'src', 'sub'), { recursive: true });
  writeFileSync(join(host, 'src', 'a.txt'), 'alpha\n');
  writeFileSync(join(host, 'src', 'sub', 'b.txt'), 'beta\n');
  writeFileSync(join(host, 'f.txt'), 'x'.repeat(2048));
});
after(async () => {
  for (const m of marks) rmSync(m, { force: true, recursive: true });
  await d?.stop();
});

const hasScript = spawnSync('script', ['--version']).status === 0;
const ok = (r: RunOut) => { assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`); return r; };
const fails = (r: RunOut, re: RegExp) => { assert.notEqual(r.status, 0, r.stdout); assert.match(r.stderr, re); return r; };
const sh = (ctr: string, cmd: string) => ok(d.berth(['exec', ctr, 'sh', '-c', cmd])).stdout;
const clis = () => (hasDocker ? ['berth', 'docker'] as const : ['berth'] as const);
const cli = (which: 'berth' | 'docker', args: string[], o?: { input?: Buffer }) => (which === 'berth' ? d.berth(args, o) : d.docker(args, o));

/** A tree as `path → content` (dirs `/`, links `-> target`), for comparing copies. */
function tree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (p: string, rel: string) => {
    for (const n of readdirSync(p).sort()) {
      const full = join(p, n);
      const r = rel ? `${rel}/${n}` : n;
      const st = lstatSync(full);
      if (st.isSymbolicLink()) out[r] = `-> ${readlinkSync(full)}`;
      else if (st.isDirectory()) { out[r] = '/'; walk(full, r); } else out[r] = readFileSync(full, 'utf8');
    }
  };
  walk(dir, '');
  return out;
}

interface Ent { name: string; type?: string; body?: string; linkname?: string; mode?: number }
function mkTar(ents: Ent[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of ents) {
    const body = Buffer.from(e.body ?? '');
    const type = e.type ?? '0';
    parts.push(encodeTarHeader({ name: e.name, type, mode: e.mode ?? (type === '5' ? 0o755 : 0o644), uid: 0, gid: 0, mtime: 1_700_000_000, size: type === '0' ? body.length : 0, linkname: e.linkname }));
    if (type === '0') parts.push(body, Buffer.alloc(tarPad(body.length)));
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}
const q = encodeURIComponent;
/** No keep-alive: spawnSync blocks the loop, so a pooled socket may be closed under us (EPIPE). */
const api = (m: string, p: string, b?: unknown, h: Record<string, string> = {}) => d.api(m, p, b, { Connection: 'close', ...h });
const put = (ctr: string, path: string, tar: Buffer, extra = '') => api('PUT', `/containers/${ctr}/archive?path=${q(path)}${extra}`, tar, { 'Content-Type': 'application/x-tar' });
const statOf = async (ctr: string, path: string) => {
  const r = await api('HEAD', `/containers/${ctr}/archive?path=${q(path)}`);
  const h = r.headers['x-docker-container-path-stat'] as string | undefined;
  return { status: r.status, stat: h ? JSON.parse(Buffer.from(h, 'base64').toString()) : undefined };
};
/** A fresh local directory under the test's dir. */
let seq = 0;
const fresh = (name: string) => { const p = join(host, `${name}-${++seq}`); mkdirSync(p); return p; };

test('to a running container: file, dir into dir, dir as a new name, /. contents; berth and docker agree', async () => {
  ok(d.berth(['run', '-d', '--name', 'cpr', 'busybox', 'sleep', '600']));
  for (const w of clis()) {
    sh('cpr', `mkdir -p /t-${w}/into /t-${w}/dotexist`);
    ok(cli(w, ['cp', join(host, 'f.txt'), `cpr:/t-${w}/file1`]));
    ok(cli(w, ['cp', join(host, 'src'), `cpr:/t-${w}/into`]));
    ok(cli(w, ['cp', join(host, 'src'), `cpr:/t-${w}/newname`]));
    ok(cli(w, ['cp', `${join(host, 'src')}/.`, `cpr:/t-${w}/dotnew`]));
    ok(cli(w, ['cp', `${join(host, 'src')}/.`, `cpr:/t-${w}/dotexist`]));
    ok(cli(w, ['cp', join(host, 'src', 'a.txt'), `cpr:/t-${w}/into/`])); // file into an existing dir, keeps its name
    // Errors: a directory onto a file; a file to a dir path that does not exist.
    fails(cli(w, ['cp', join(host, 'src'), `cpr:/t-${w}/file1`]), /cannot copy directory/);
    fails(cli(w, ['cp', join(host, 'f.txt'), `cpr:/t-${w}/nodir/`]), /no such directory/);
    fails(cli(w, ['cp', join(host, 'nope'), `cpr:/t-${w}`]), new RegExp(`^lstat ${host}/nope: no such file or directory\n$`));
    fails(cli(w, ['cp', join(host, 'nodir', 'x'), `cpr:/t-${w}`]), new RegExp(`^lstat ${host}/nodir: no such file or directory\n$`));
    fails(cli(w, ['cp', 'a:/x', 'b:/y']), /^copying between containers is not supported\n$/);
    fails(cli(w, ['cp', 'x', 'y']), /^must specify at least one container source\n$/);
  }
  const listing = (w: string) => sh('cpr', `cd /t-${w} && find . | sort && cat file1 | wc -c && cat into/src/sub/b.txt newname/a.txt dotnew/sub/b.txt dotexist/a.txt into/a.txt`);
  const b = listing('berth');
  assert.match(b, /\.\/into\/src\/sub\/b\.txt\n/);
  assert.match(b, /\.\/newname\/sub\/b\.txt\n/);
  assert.match(b, /\.\/dotnew\/a\.txt\n/);
  assert.match(b, /\.\/dotexist\/sub\/b\.txt\n/);
  assert.doesNotMatch(b, /dotexist\/src/);
  assert.match(b, /\n2048\nbeta\nalpha\nbeta\nalpha\nalpha\n$/);
  if (hasDocker) assert.equal(listing('docker'), b);
  const st = (await api('GET', '/containers/cpr/json')).json().State;
  assert.equal(st.Running, true);
  assert.equal(st.Paused, false);
});

test('on a terminal both CLIs end with docker 28.2\'s "Successfully copied <tar bytes>" line; -q and a pipe keep quiet', { skip: !hasScript }, () => {
  const env = { BERTH_HOST: `unix://${d.sock}`, DOCKER_HOST: `unix://${d.sock}`, DOCKER_CONFIG: join(d.dir, 'docker-config') };
  const tty = (cmd: string) => spawnSync('script', ['-qec', cmd, '/dev/null'], { env: { ...process.env, ...env }, timeout: 60_000 }).stdout.toString();
  const bin = (w: string) => (w === 'berth' ? `${process.execPath} ${BERTH_JS}` : 'docker');
  const line = (out: string) => /Successfully copied [^\r\n]*/.exec(out)?.[0];
  const seen: Record<string, (string | undefined)[]> = {};
  for (const w of clis()) {
    seen[w] = [
      line(tty(`${bin(w)} cp ${join(host, 'f.txt')} cpr:/tmp/tty-${w}`))?.replace(`-${w}`, ''),
      line(tty(`${bin(w)} cp cpr:/tmp/tty-${w} ${host}/tty-back-${w}`))?.replace(`-${w}`, ''),
      line(tty(`${bin(w)} cp ${join(host, 'src')} cpr:/tmp/tty-dir-${w}`))?.replace(`-${w}`, ''),
      line(tty(`${bin(w)} cp cpr:/tmp/tty-dir-${w} ${host}/tty-dir-${w}`))?.replace(`-${w}`, ''),
    ];
    assert.doesNotMatch(tty(`${bin(w)} cp -q ${join(host, 'f.txt')} cpr:/tmp/tty`), /Successfully/);
    assert.equal(ok(cli(w, ['cp', join(host, 'f.txt'), 'cpr:/tmp/tty'])).stderr, '');
  }
  assert.deepEqual(seen.berth, [
    // docker 28.2 reports the tar bytes (a 2048-byte file: 512 header + 2048 + 1024 end).
    'Successfully copied 3.58kB to cpr:/tmp/tty',
    `Successfully copied 3.58kB to ${host}/tty-back`,
    'Successfully copied 4.1kB to cpr:/tmp/tty-dir',
    `Successfully copied 4.1kB to ${host}/tty-dir`,
  ]);
  if (hasDocker) assert.deepEqual(seen.docker, seen.berth);
});

test('from a container: file, dir as new name / into dir, /. contents, file onto file; - gives a tar; berth and docker agree', async () => {
  sh('cpr', 'mkdir -p /out/d/e && echo one > /out/d/one && echo two > /out/d/e/two && ln -s one /out/d/lnk && echo old > /out/f');
  const results: Record<string, string>[] = [];
  for (const w of clis()) {
    const dst = fresh(`from-${w}`);
    mkdirSync(join(dst, 'existing'));
    writeFileSync(join(dst, 'onto'), 'will be replaced');
    ok(cli(w, ['cp', 'cpr:/out/d', join(dst, 'newd')]));
    ok(cli(w, ['cp', 'cpr:/out/d', join(dst, 'existing')]));
    ok(cli(w, ['cp', 'cpr:/out/d/.', join(dst, 'dotnew')]));
    ok(cli(w, ['cp', 'cpr:/out/f', join(dst, 'onto')]));
    ok(cli(w, ['cp', 'cpr:/out/f', `${dst}/`]));
    fails(cli(w, ['cp', 'cpr:/out/d', join(dst, 'onto')]), /cannot copy directory/);
    fails(cli(w, ['cp', 'cpr:/nope', join(dst, 'x')]), /^Error response from daemon: Could not find the file \/nope in container cpr\n$/);
    fails(cli(w, ['cp', 'cpr:/out/f', join(dst, 'no', 'such', 'x')]), /invalid output path: directory ".*\/no\/such" does not exist/);
    ok(cli(w, ['cp', 'cpr:/', join(dst, 'rootfs')])); // the whole filesystem; /proc, /sys, /dev come empty
    assert.match(readFileSync(join(dst, 'rootfs', 'etc', 'passwd'), 'utf8'), /^root:x:0:0:/);
    assert.deepEqual(readdirSync(join(dst, 'rootfs', 'proc')), []);
    assert.equal(readFileSync(join(dst, 'rootfs', 'out', 'd', 'one'), 'utf8'), 'one\n');
    rmSync(join(dst, 'rootfs'), { recursive: true });
    results.push(tree(dst));
  }
  const t = results[0];
  assert.equal(t['newd/e/two'], 'two\n');
  assert.equal(t['newd/lnk'], '-> one');
  assert.equal(t['existing/d/one'], 'one\n');
  assert.equal(t['dotnew/e/two'], 'two\n');
  assert.equal(t.onto, 'old\n');
  assert.equal(t.f, 'old\n');
  if (results[1]) assert.deepEqual(results[1], t);
  // `-`: the tar itself on stdout, top entry named after the base name.
  for (const w of clis()) {
    const r = ok(cli(w, ['cp', 'cpr:/out/d', '-']));
    const list = spawnSync('tar', ['-t'], { input: Buffer.from(r.stdout, 'latin1') }).stdout.toString().split('\n').filter(Boolean).sort();
    assert.deepEqual(list, ['d/', 'd/e/', 'd/e/two', 'd/lnk', 'd/one']);
  }
});

test('- reads a tar from stdin into a directory; a file destination is refused', async () => {
  const tar = mkTar([{ name: 'fromstdin/', type: '5' }, { name: 'fromstdin/x', body: 'stdin\n' }]);
  for (const w of clis()) {
    sh('cpr', `mkdir -p /stdin-${w}`);
    ok(cli(w, ['cp', '-', `cpr:/stdin-${w}`], { input: tar }));
    assert.equal(sh('cpr', `cat /stdin-${w}/fromstdin/x`), 'stdin\n');
    fails(cli(w, ['cp', '-', 'cpr:/out/f'], { input: tar }), /destination "cpr:\/out\/f" must be a directory/);
  }
});

test('-a keeps uid/gid (and a container user takes them); -L follows a symlink on either side', async () => {
  const own = join(host, 'owned');
  writeFileSync(own, 'mine');
  chownSync(own, 1234, 5678);
  for (const w of clis()) {
    ok(cli(w, ['cp', '-a', own, `cpr:/owned-${w}`]));
    assert.equal(sh('cpr', `stat -c %u:%g /owned-${w}`), '1234:5678\n');
  }
  ok(d.berth(['run', '-d', '--name', 'cpu', '--user', '1000:1001', 'busybox', 'sleep', '600']));
  ok(d.berth(['cp', '-a', own, 'cpu:/tmp/owned']));
  assert.equal(sh('cpu', 'stat -c %u:%g /tmp/owned'), '1000:1001\n');
  ok(d.berth(['rm', '-f', 'cpu']));
  // -L on the host side.
  symlinkSync('f.txt', join(host, 'lnk'));
  ok(d.berth(['cp', join(host, 'lnk'), 'cpr:/tmp/nolink']));
  ok(d.berth(['cp', '-L', join(host, 'lnk'), 'cpr:/tmp/followed']));
  assert.equal(sh('cpr', 'readlink /tmp/nolink; wc -c < /tmp/followed'), 'f.txt\n2048\n');
  // -L on the container side.
  sh('cpr', 'ln -s /out/f /tmp/clink');
  for (const w of clis()) {
    const dst = fresh(`L-${w}`);
    ok(cli(w, ['cp', 'cpr:/tmp/clink', join(dst, 'plain')]));
    ok(cli(w, ['cp', '-L', 'cpr:/tmp/clink', join(dst, 'deref')]));
    ok(cli(w, ['cp', '-L', 'cpr:/tmp/clink', dst]));
    assert.equal(readlinkSync(join(dst, 'plain')), '/out/f');
    assert.equal(readFileSync(join(dst, 'deref'), 'utf8'), 'old\n');
    assert.equal(readFileSync(join(dst, 'clink'), 'utf8'), 'old\n'); // rebased to the name asked for
  }
});

test('HEAD stat: base64 JSON with Go FileMode bits, size, mtime and linkTarget', async () => {
  sh('cpr', 'mkdir -p /st && printf 12345 > /st/file && chmod 4751 /st/file && ln -s /etc /st/etclink && ln -s ../../../../ /st/up');
  const f = await statOf('cpr', '/st/file');
  assert.equal(f.status, 200);
  assert.equal(f.stat.name, 'file');
  assert.equal(f.stat.size, 5);
  assert.equal(f.stat.mode, 2 ** 23 + 0o751); // ModeSetuid | perms
  assert.equal(f.stat.linkTarget, '');
  assert.ok(Math.abs(Date.parse(f.stat.mtime) - Date.now()) < 120_000, f.stat.mtime);
  const dir = await statOf('cpr', '/st');
  assert.equal(dir.stat.mode, 2 ** 31 + 0o755);
  const l = await statOf('cpr', '/st/etclink');
  assert.equal(l.stat.mode, 2 ** 27 + 0o777);
  assert.equal(l.stat.linkTarget, '/etc');
  assert.equal((await statOf('cpr', '/st/up')).stat.linkTarget, '/');
  assert.equal((await statOf('cpr', '/st/etclink/')).stat.mode, 2 ** 31 + 0o755); // trailing slash follows
  const miss = await statOf('cpr', '/st/none');
  assert.equal(miss.status, 404);
  const g = await api('GET', `/containers/cpr/archive?path=${q('/st/none')}`);
  assert.equal(g.status, 404);
  assert.equal(g.json().message, 'Could not find the file /st/none in container cpr');
  const u = await api('GET', `/containers/nope/archive?path=/`);
  assert.equal(u.status, 404);
  assert.equal(u.json().message, 'No such container: nope');
  assert.equal((await statOf('nope', '/')).status, 404);
  for (const w of clis()) fails(cli(w, ['cp', join(host, 'f.txt'), 'nope:/tmp']), /No such container: nope/);
});

test('a running container is frozen while a PUT is extracted, thawed afterwards', async () => {
  const id = (await api('GET', '/containers/cpr/json')).json().Id as string;
  const found = spawnSync('find', ['/sys/fs/cgroup/freezer', '-type', 'd', '-name', id]).stdout.toString().trim().split('\n')[0];
  assert.ok(found, 'freezer cgroup of the container');
  const state = () => readFileSync(join(found, 'freezer.state'), 'utf8').trim();
  assert.equal(state(), 'THAWED');
  const tar = mkTar([{ name: 'slow.txt', body: 'slow\n' }]);
  let during = '';
  const status = await new Promise<number>((resolve, reject) => {
    const req = http.request({ socketPath: d.sock, method: 'PUT', path: '/containers/cpr/archive?path=/tmp', headers: { 'Content-Type': 'application/x-tar', 'Transfer-Encoding': 'chunked' } }, (r) => { r.resume(); r.on('end', () => resolve(r.statusCode ?? 0)); });
    req.on('error', reject);
    req.write(tar.subarray(0, 512));
    setTimeout(() => { during = state(); req.end(tar.subarray(512)); }, 700);
  });
  assert.equal(status, 200);
  assert.equal(during, 'FROZEN');
  assert.equal(state(), 'THAWED');
  assert.equal(sh('cpr', 'cat /tmp/slow.txt'), 'slow\n');
  // A failing PUT thaws too.
  const bad = await put('cpr', '/tmp', Buffer.from('not a tar at all'.padEnd(1024, 'x')));
  assert.equal(bad.status, 400);
  assert.equal(state(), 'THAWED');
  // A paused container stays paused (and is not thawed by the copy).
  ok(d.berth(['pause', 'cpr']));
  assert.equal((await put('cpr', '/tmp', mkTar([{ name: 'paused.txt', body: 'p' }]))).status, 200);
  assert.equal(state(), 'FROZEN');
  ok(d.berth(['unpause', 'cpr']));
  assert.equal(sh('cpr', 'cat /tmp/paused.txt'), 'p');
  const st = (await api('GET', '/containers/cpr/json')).json().State;
  assert.equal(st.Running, true);
  assert.equal(st.Paused, false);
});

test('a stopped container: its rw layer over the image both ways, and a path in a named volume', async () => {
  const bind = fresh('bind');
  const robind = fresh('robind');
  ok(d.berth(['create', '--name', 'cps', '-v', 'cpvol:/data', '-v', `${bind}:/bnd`, '-v', `${robind}:/robnd:ro`, 'busybox', 'sh', '-c', 'cat /root/in /data/in; ls /data']));
  // Bind mounts: written through to the host directory; a read-only one refuses (403).
  for (const w of clis()) {
    ok(cli(w, ['cp', join(host, 'src', 'a.txt'), `cps:/bnd/${w}`]));
    assert.equal(readFileSync(join(bind, w), 'utf8'), 'alpha\n');
    fails(cli(w, ['cp', join(host, 'src', 'a.txt'), `cps:/robnd/${w}`]), /^Error response from daemon: mounted volume is marked read-only\n$/);
  }
  assert.deepEqual(readdirSync(robind), []);
  for (const w of clis()) {
    ok(cli(w, ['cp', join(host, 'src', 'a.txt'), 'cps:/root/in']));
    ok(cli(w, ['cp', join(host, 'src', 'sub', 'b.txt'), 'cps:/data/in']));
    const dst = fresh(`stopped-${w}`);
    ok(cli(w, ['cp', 'cps:/etc/passwd', join(dst, 'passwd')]));
    ok(cli(w, ['cp', 'cps:/data/in', join(dst, 'vol')]));
    assert.match(readFileSync(join(dst, 'passwd'), 'utf8'), /^root:x:0:0:/);
    assert.equal(readFileSync(join(dst, 'vol'), 'utf8'), 'beta\n');
  }
  // The volume got the file (not the rw layer under its mount point).
  const mp = (await api('GET', '/volumes/cpvol')).json().Mountpoint as string;
  assert.equal(readFileSync(join(mp, 'in'), 'utf8'), 'beta\n');
  assert.equal(ok(d.berth(['start', '-a', 'cps'])).stdout, 'alpha\nbeta\nin\n');
  // Nothing of the copy stays mounted.
  const id = (await api('GET', '/containers/cps/json')).json().Id as string;
  assert.doesNotMatch(readFileSync('/proc/self/mountinfo', 'utf8'), new RegExp(`${id}/archive-`));
  // A running container's volume, written through its mount.
  ok(d.berth(['run', '-d', '--name', 'cpv', '-v', 'cpvol:/vol', 'busybox', 'sleep', '600']));
  for (const w of clis()) ok(cli(w, ['cp', join(host, 'f.txt'), `cpv:/vol/run-${w}`]));
  assert.equal(readFileSync(join(mp, 'run-berth'), 'utf8').length, 2048);
  ok(d.berth(['rm', '-f', 'cpv', 'cps']));
});

/** Host paths the escape attempts aim at; none may exist afterwards. */
function hostMark(p: string): string { marks.push(p); rmSync(p, { force: true, recursive: true }); return p; }

test('symlink escapes: writes through /escape -> /, /x -> /etc, /up -> ../../../../ stay in the container (running and stopped)', async () => {
  const name = `cpmark-${process.pid}`;
  const targets = ['/', '/etc/', '/tmp/'].map((p) => hostMark(`${p}${name}`));
  ok(d.berth(['run', '-d', '--name', 'cpx', 'busybox', 'sh', '-c', 'ln -s / /escape; ln -s /etc /x; ln -s ../../../../ /up; ln -s /tmp /tmpl; sleep 600']));
  // First start makes the links and exits; a later start sleeps.
  ok(d.berth(['create', '--name', 'cpxs', 'busybox', 'sh', '-c', 'test -L /escape && exec sleep 600; ln -s / /escape; ln -s /etc /x; ln -s ../../../../ /up; ln -s /tmp /tmpl']));
  ok(d.berth(['start', '-a', 'cpxs']));
  for (let i = 0; i < 50 && !sh('cpx', 'ls -d /tmpl 2>/dev/null || true'); i++) await new Promise((r) => setTimeout(r, 100));
  for (const ctr of ['cpx', 'cpxs']) {
    for (const w of clis()) {
      ok(cli(w, ['cp', join(host, 'f.txt'), `${ctr}:/escape/${name}`]));
      ok(cli(w, ['cp', join(host, 'f.txt'), `${ctr}:/x/${name}`]));
      ok(cli(w, ['cp', join(host, 'src'), `${ctr}:/up/tmp/${name}`]));
      ok(cli(w, ['cp', join(host, 'f.txt'), `${ctr}:/tmpl/`]));
      ok(cli(w, ['cp', join(host, 'src', 'a.txt'), `${ctr}:/escape`]));
    }
    for (const t of targets) assert.equal(existsSync(t), false, `${t} must not exist on the host`);
    assert.equal(existsSync('/a.txt') && readFileSync('/a.txt', 'utf8') === 'alpha\n', false);
    // Reading through them reads the container's files.
    const dst = fresh(`esc-${ctr}`);
    ok(d.berth(['cp', `${ctr}:/x/passwd`, join(dst, 'passwd')]));
    ok(d.berth(['cp', `${ctr}:/up/etc/hostname`, join(dst, 'hostname')]));
    ok(d.berth(['cp', `${ctr}:/escape/${name}`, join(dst, 'mark')]));
    assert.match(readFileSync(join(dst, 'passwd'), 'utf8'), /^root:x:0:0:root:\/root:\/bin\/sh\n/);
    assert.equal(readFileSync(join(dst, 'mark'), 'utf8').length, 2048);
    assert.notEqual(readFileSync(join(dst, 'passwd'), 'utf8'), readFileSync('/etc/passwd', 'utf8'));
  }
  // The files landed inside the containers.
  assert.equal(sh('cpx', `wc -c < /${name}; wc -c < /etc/${name}; cat /tmp/${name}/a.txt; ls /a.txt /tmp/f.txt`), `2048\n2048\nalpha\n/a.txt\n/tmp/f.txt\n`);
  ok(d.berth(['start', 'cpxs']));
  assert.equal(sh('cpxs', `wc -c < /${name}; wc -c < /etc/${name}; cat /tmp/${name}/sub/b.txt`), '2048\n2048\nbeta\n');
  ok(d.berth(['rm', '-f', 'cpxs']));
});

test('hostile PUT tars: ../ names are refused as Docker does, absolute names stay inside; entries through a symlink are refused', async () => {
  const name = `cptar-${process.pid}`;
  const escapes = [`/${name}-dotdot`, `/${name}-abs`, `/${name}-vialink`, `/${name}-newlink`, `/etc/${name}-vialink`].map(hostMark);
  const r1 = await put('cpx', '/tmp', mkTar([{ name: `../../../../../${name}-dotdot`, body: 'dd' }]));
  assert.equal(r1.status, 500, r1.body.toString());
  assert.equal(r1.json().message, `"../../../../../${name}-dotdot" is outside of "/tmp"`);
  const r1b = await put('cpx', '/tmp', mkTar([{ name: `sub/../../${name}-dotdot2`, body: 'dd' }]));
  assert.equal(r1b.json().message, `"../${name}-dotdot2" is outside of "/tmp"`);
  assert.equal(sh('cpx', `ls /${name}-dotdot* /tmp/${name}-dotdot* 2>/dev/null | wc -l`), '0\n');
  // An absolute name is joined to the destination (Docker's filepath.Join), as is `/../x`.
  const r1c = await put('cpx', '/tmp', mkTar([{ name: `/${name}-abs`, body: 'abs' }, { name: `/../${name}-abs2`, body: '2' }]));
  assert.equal(r1c.status, 200, r1c.body.toString());
  assert.equal(sh('cpx', `cat /tmp/${name}-abs /tmp/${name}-abs2`), 'abs2');
  // Through both CLIs: the daemon's error, exit 1, nothing written.
  for (const cli of clis()) {
    const r = d[cli](['cp', '-', 'cpx:/tmp'], { input: mkTar([{ name: `../${name}-cli`, body: 'c' }]) });
    assert.equal(r.status, 1, cli);
    assert.equal(r.stderr.trim(), `Error response from daemon: "../${name}-cli" is outside of "/tmp"`, cli);
  }
  assert.equal(sh('cpx', `ls /${name}-cli 2>/dev/null | wc -l`), '0\n');
  for (const [ctr, where] of [['cpx', '/'], ['cpx', '/tmp']]) {
    const r2 = await put(ctr, where, mkTar([{ name: `escape/${name}-vialink`, body: 'v' }]));
    if (where === '/') assert.equal(r2.status, 400, r2.body.toString());
    const r3 = await put(ctr, where, mkTar([{ name: 'newlink', type: '2', linkname: '/' }, { name: `newlink/${name}-newlink`, body: 'n' }]));
    assert.equal(r3.status, 400, r3.body.toString());
    assert.match(r3.json().message, /breakout/);
    const r4 = await put(ctr, where, mkTar([{ name: `x/${name}-vialink`, body: 'e' }]));
    if (where === '/') assert.equal(r4.status, 400);
  }
  for (const e of escapes) assert.equal(existsSync(e), false, `${e} must not exist on the host`);
  // noOverwriteDirNonDir (what both CLIs send): a directory over a file and the reverse are refused.
  sh('cpx', 'mkdir -p /nw/dir && echo f > /nw/file');
  const a = await put('cpx', '/nw', mkTar([{ name: 'file/', type: '5' }]), '&noOverwriteDirNonDir=true');
  assert.equal(a.status, 400);
  assert.match(a.json().message, /cannot overwrite non-directory "\/file" with directory "\/file"/);
  const b = await put('cpx', '/nw', mkTar([{ name: 'dir', body: 'x' }]), '&noOverwriteDirNonDir=true');
  assert.equal(b.status, 400);
  assert.match(b.json().message, /cannot overwrite directory "\/dir" with non-directory "\/dir"/);
  assert.equal(sh('cpx', 'cat /nw/file; ls -d /nw/dir'), 'f\n/nw/dir\n');
});

test('a 64 MiB file and a 2000-file tree both ways, byte for byte (timings in the diagnostics)', async (t) => {
  const big = join(host, 'big.bin');
  spawnSync('sh', ['-c', `head -c ${64 << 20} /dev/urandom > ${big}`]);
  const many = join(host, 'many');
  mkdirSync(many);
  for (let i = 0; i < 2000; i++) writeFileSync(join(many, `f${i}`), `file ${i}\n`);
  const sum = (p: string) => spawnSync('sha256sum', [p]).stdout.toString().split(' ')[0];
  const timed = (label: string, r: () => RunOut) => { const t0 = Date.now(); ok(r()); t.diagnostic(`${label}: ${Date.now() - t0} ms`); };
  timed('berth cp 64MiB to container', () => d.berth(['cp', big, 'cpr:/tmp/big.bin']));
  assert.equal(sh('cpr', 'sha256sum /tmp/big.bin').split(' ')[0], sum(big));
  const back = fresh('big');
  timed('berth cp 64MiB from container', () => d.berth(['cp', 'cpr:/tmp/big.bin', join(back, 'big.bin')]));
  assert.equal(sum(join(back, 'big.bin')), sum(big));
  timed('berth cp 2000 files to container', () => d.berth(['cp', many, 'cpr:/tmp/many']));
  assert.equal(sh('cpr', 'ls /tmp/many | wc -l'), '2000\n');
  timed('berth cp 2000 files from container', () => d.berth(['cp', 'cpr:/tmp/many', join(back, 'many')]));
  assert.equal(readdirSync(join(back, 'many')).length, 2000);
  if (hasDocker) {
    timed('docker cp 64MiB to container', () => d.docker(['cp', big, 'cpr:/tmp/big2.bin']));
    timed('docker cp 64MiB from container', () => d.docker(['cp', 'cpr:/tmp/big2.bin', join(back, 'big2.bin')]));
    assert.equal(sum(join(back, 'big2.bin')), sum(big));
  }
  sh('cpr', 'rm -rf /tmp/big.bin /tmp/big2.bin /tmp/many');
  rmSync(back, { recursive: true });
  rmSync(big);
});

test('errors: missing parent, extraction point not a directory, read-only rootfs (volume still writable)', async () => {
  for (const w of clis()) {
    fails(cli(w, ['cp', join(host, 'f.txt'), 'cpr:/no/such/file']), /^Error response from daemon: Could not find the file \/no\/such in container cpr\n$/);
  }
  const nd = await put('cpr', '/out/f', mkTar([{ name: 'x', body: 'x' }]));
  assert.equal(nd.status, 400);
  assert.equal(nd.json().message, 'extraction point is not a directory');
  ok(d.berth(['run', '-d', '--name', 'cpro', '--read-only', '-v', 'cprovol:/vol', 'busybox', 'sleep', '600']));
  for (const w of clis()) {
    fails(cli(w, ['cp', join(host, 'f.txt'), 'cpro:/tmp/x']), /^Error response from daemon: container rootfs is marked read-only\n$/);
    ok(cli(w, ['cp', join(host, 'f.txt'), `cpro:/vol/${w}`]));
  }
  const r = await put('cpro', '/', mkTar([{ name: 'x', body: 'x' }]));
  assert.equal(r.status, 403);
  assert.equal(sh('cpro', 'wc -c < /vol/berth'), '2048\n');
  ok(d.berth(['rm', '-f', 'cpro', 'cpx', 'cpr']));
});

test('berthd killed (-9) in the middle of a copy from a stopped container: the next start unmounts the copy\'s view; rm keeps the volume', async () => {
  ok(d.berth(['run', '--rm', '-v', 'cpkvol:/data', 'busybox', 'sh', '-c', 'echo keep > /data/f']));
  ok(d.berth(['create', '--name', 'cpk', '-v', 'cpkvol:/data', 'busybox', 'true']));
  const views = () => readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((l) => l.split(' ')[4]).filter((p) => p?.startsWith(d.dataRoot) && p.includes('/archive-'));
  // A GET of the whole root that the client stops reading: the view stays mounted.
  const req = http.request({ socketPath: d.sock, path: '/containers/cpk/archive?path=/', method: 'GET' });
  const got = new Promise<http.IncomingMessage>((res, rej) => { req.on('response', res); req.on('error', rej); });
  req.end();
  const res = await got;
  res.pause();
  res.on('error', () => {});
  req.on('error', () => {});
  assert.equal(res.statusCode, 200);
  assert.ok(views().length >= 2, `the view and its volume are mounted: ${views().join(' ')}`);
  await d.restart({ kill9: true });
  res.destroy();
  assert.deepEqual(views(), []);
  const dir = join(d.dataRoot, 'containers');
  for (const id of existsSync(dir) ? readdirSync(dir) : []) {
    assert.deepEqual(readdirSync(join(dir, id)).filter((n) => n.startsWith('archive-')), [], id);
  }
  ok(d.berth(['rm', 'cpk']));
  assert.equal(ok(d.berth(['run', '--rm', '-v', 'cpkvol:/data', 'busybox', 'cat', '/data/f'])).stdout, 'keep\n');
  ok(d.berth(['volume', 'rm', 'cpkvol']));
});
