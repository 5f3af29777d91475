// berth-spawn, built from berth-spawn.c for this test, driven through Spawner and sys.run():
// output, status, signals, input, cwd, environment, PATH lookup, failures to start, many at once,
// clean signal state in the child, and the helper's death.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync, mkdirSync, writeFileSync, readFileSync, openSync, closeSync } from 'node:fs';
import { constants, tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Spawner } from './spawner.ts';
import { bindNewNetns, isMountPoint, makeVeth, mountOverlay, run, unbindNetns, unmount, useSpawner } from './index.ts';

const here = dirname(fileURLToPath(import.meta.url));
const source = [join(here, 'berth-spawn.c'), join(here, '../../../../src/sys/berth-spawn.c')].find((p) => existsSync(p));
const tmp = mkdtempSync(join(tmpdir(), 'berth-spawn-test-'));
const bin = join(tmp, 'berth-spawn');
const cc = source ? spawnSync(process.env.CC || 'cc', ['-O2', '-Wall', '-Wextra', '-Werror', '-o', bin, source, source.replace(/\.c$/, '-net.c')], { encoding: 'utf8' }) : undefined;
const skip = !source ? 'no berth-spawn.c' : cc?.status !== 0 ? `no C compiler: ${cc?.error?.message ?? cc?.stderr}` : false;
test.after(() => rmSync(tmp, { recursive: true, force: true }));

test('berth-spawn runs programs as child_process would', { skip }, async (t) => {
  const exits: string[] = [];
  const s = new Spawner(bin, (why) => exits.push(why));
  t.after(() => s.close());

  const a = await s.run('sh', ['-c', 'echo out; echo err >&2; exit 3']);
  assert.deepEqual([a.code, a.signal, a.stdout.toString(), a.stderr.toString()], [3, null, 'out\n', 'err\n']);
  const k = await s.run('sh', ['-c', 'kill -TERM $$']);
  assert.deepEqual([k.code, k.signal], [null, 'SIGTERM']);

  // Input, large both ways (non-blocking writes and reads), and input nobody reads.
  const big = Buffer.alloc(3 << 20, 'x');
  const c = await s.run('cat', [], { input: big });
  assert.equal(c.code, 0);
  assert.ok(c.stdout.equals(big));
  assert.equal((await s.run('true', [], { input: big })).code, 0);

  // cwd, environment, PATH from the environment given.
  assert.equal((await s.run('pwd', [], { cwd: '/tmp' })).stdout.toString(), '/tmp\n');
  const e = await s.run('sh', ['-c', 'echo "$FOO"; env | wc -l'], { env: { FOO: 'bar baz', PATH: '/usr/bin:/bin' } });
  assert.equal(e.stdout.toString().split('\n')[0], 'bar baz');
  await assert.rejects(s.run('sh', ['-c', 'true'], { env: { PATH: '/nonexistent' } }), { code: 'ENOENT' });

  // Failures to start.
  await assert.rejects(s.run('no-such-program-here', []), (err: NodeJS.ErrnoException) => err.code === 'ENOENT' && /spawn no-such-program-here ENOENT/.test(err.message));
  await assert.rejects(s.run('/etc/passwd', []), { code: 'EACCES' });
  await assert.rejects(s.run('pwd', [], { cwd: join(tmp, 'missing') }), { code: 'ENOENT' });

  // A child starts with nothing blocked or ignored (the helper blocks SIGCHLD, ignores SIGPIPE).
  const st = (await s.run('cat', ['/proc/self/status'])).stdout.toString();
  assert.match(st, /^SigBlk:\s+0+$/m);
  assert.match(st, /^SigIgn:\s+0+$/m);

  // Many at once.
  const all = await Promise.all(Array.from({ length: 200 }, (_, i) => s.run('sh', ['-c', `echo ${i}`])));
  assert.deepEqual(all.map((r) => r.stdout.toString()), Array.from({ length: 200 }, (_, i) => `${i}\n`));
  assert.deepEqual(exits, []);
});

test('berth-spawn SPAWN: pipes on any fd, both ways, a session of its own, exit before the pipes end', { skip }, async (t) => {
  const s = new Spawner(bin, () => {});
  t.after(() => s.close());
  // fd 3: the child writes; fd 4: the child reads; a grandchild keeps fd 3 open after the exit.
  const c = s.spawn('sh', ['-c', 'read x <&4; echo "got $x" >&3; echo err >&2; cut -d" " -f6 /proc/self/stat >&3; (sleep 0.3; echo late >&3) & exit 5'], {
    stdio: ['ignore', 'ignore', 'read', 'read', 'write'], detached: true,
  });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  (c.stdio[3] as NodeJS.ReadableStream).on('data', (d: Buffer) => out.push(d));
  c.stderr!.on('data', (d: Buffer) => err.push(d));
  const exit = new Promise<[number | null, string | null]>((res) => c.on('exit', (code, sig) => res([code, sig])));
  const ended = new Promise((res) => (c.stdio[3] as NodeJS.ReadableStream).on('end', res));
  await new Promise((res) => c.on('spawn', res));
  assert.ok(c.pid && c.pid > 0);
  (c.stdio[4] as NodeJS.WritableStream).end('hello\n');
  assert.deepEqual(await exit, [5, null]);
  await ended;
  const lines = Buffer.concat(out).toString().split('\n');
  assert.equal(lines[0], 'got hello');
  assert.equal(Number(lines[1]), c.pid, 'setsid: the session is the child\'s own');
  assert.equal(lines[2], 'late');
  assert.equal(Buffer.concat(err).toString(), 'err\n');
  // A program that cannot start: 'error', as with Node.
  const bad = s.spawn('no-such-program-here', [], { stdio: ['ignore', 'read', 'read'] });
  const e = await new Promise<NodeJS.ErrnoException>((res) => bad.on('error', res));
  assert.equal(e.code, 'ENOENT');
});

test('a NUL inside an argument or a variable is refused, as by Node, and by the helper itself', { skip }, async (t) => {
  const s = new Spawner(bin, () => {});
  t.after(() => s.close());
  const marker = join(tmp, 'nul-ran');
  await assert.rejects(s.run('touch', [`${marker}\0--help`]), { code: 'ERR_INVALID_ARG_VALUE', message: /args\[0\]' must be a string without null bytes/ });
  await assert.rejects(s.run('touch', [marker], { env: { PATH: '/usr/bin:/bin', X: 'a\0b' } }), { code: 'ERR_INVALID_ARG_VALUE', message: /options\.env\['X'\]/ });
  assert.throws(() => s.spawn('touch', [`${marker}\0x`], { stdio: ['ignore', 'read', 'read'] }), { code: 'ERR_INVALID_ARG_VALUE' });
  assert.equal(existsSync(marker), false);
  assert.equal((await s.run('sh', ['-c', 'echo still here'])).stdout.toString(), 'still here\n');

  // The helper counts the strings itself: a RUN frame announcing one argument but carrying two
  // (as a NUL inside one would make) is refused with EINVAL, and nothing runs.
  const body = Buffer.from(`touch\0${marker}\0\0`);
  const head = Buffer.alloc(24);
  head.writeUInt32LE(20 + body.length, 0); // len
  head.writeUInt32LE(1, 4); // RUN
  head.writeUInt32LE(7, 8); // id
  head.writeUInt32LE(1, 12); // argc: only "touch"
  head.writeUInt32LE(0xffffffff, 16); // this environment
  head.writeUInt32LE(0, 20); // no input
  const helper = spawn(bin, [], { stdio: ['pipe', 'pipe', 'inherit'] });
  helper.stdin.write(Buffer.concat([head, body]));
  const reply = await new Promise<Buffer>((res) => helper.stdout.once('data', res));
  helper.stdin.end();
  assert.ok(reply.length >= 28, `a reply: ${reply.toString('hex')}`);
  assert.deepEqual([reply.readUInt32LE(4), reply.readUInt32LE(8), reply.readUInt32LE(12), reply.readUInt32LE(16)], [1, 7, 2, 22]);
  assert.equal(existsSync(marker), false);
});

test('berth-spawn MOUNT: overlay with relative layer paths in cwd, umount, errnos; sys.mountOverlay/unmount through it', { skip }, async (t) => {
  const s = useSpawner(bin, () => {});
  t.after(() => s.close());
  const root = mkdtempSync(join(tmp, 'ovl-'));
  for (const d of ['l1', 'l2', 'up', 'work', 'merged']) mkdirSync(join(root, d));
  writeFileSync(join(root, 'l1', 'a'), 'lower1');
  writeFileSync(join(root, 'l2', 'a'), 'lower2');
  writeFileSync(join(root, 'l2', 'b'), 'b');
  const merged = join(root, 'merged');
  t.after(() => { spawnSync('umount', ['-l', merged]); });
  // Relative layer paths resolve in cwd (the helper's child changes there; the helper does not).
  await mountOverlay(merged, { cwd: root, lower: ['l1', 'l2'], upper: 'up', work: 'work' });
  assert.equal(readFileSync(join(merged, 'a'), 'utf8'), 'lower1');
  assert.equal(readFileSync(join(merged, 'b'), 'utf8'), 'b');
  writeFileSync(join(merged, 'c'), 'new');
  assert.equal(readFileSync(join(root, 'up', 'c'), 'utf8'), 'new');
  assert.ok(await isMountPoint(merged));
  assert.equal((await s.run('pwd', [])).stdout.toString(), `${process.cwd()}\n`);
  // A failure is the call's errno, named, and mounts nothing.
  const other = join(root, 'other');
  mkdirSync(other);
  await assert.rejects(mountOverlay(other, { cwd: root, lower: ['missing'] }), /mount -t overlay overlay -o lowerdir=missing,index=off .*other: ENOENT/);
  assert.equal(await isMountPoint(other), false);
  assert.equal(await s.mount('mount', { source: 'overlay', target: other, fstype: 'overlay', data: 'lowerdir=l1', cwd: join(root, 'nope') }), constants.errno.ENOENT);
  // umount, then again (not mounted) and of a missing path: idempotent, as before.
  await unmount(merged);
  assert.equal(await isMountPoint(merged), false);
  await unmount(merged);
  await unmount(join(root, 'gone'));
  assert.equal(await s.mount('umount', { target: merged }), constants.errno.EINVAL);
  // A lazy umount of a busy mount.
  await mountOverlay(merged, { cwd: root, lower: ['l1', 'l2'] });
  const fd = openSync(join(merged, 'a'), 'r');
  t.after(() => closeSync(fd));
  assert.equal(await s.mount('umount', { target: merged }), constants.errno.EBUSY);
  await unmount(merged, { lazy: true });
  assert.equal(await isMountPoint(merged), false);
  // Malformed requests are refused by the helper itself.
  await assert.rejects(s.mount('mount', { target: '' }), { code: 'EINVAL' });
  await assert.rejects(s.mount('mount', { target: 'a\0b' }), { code: 'ERR_INVALID_ARG_VALUE' });
  // Many at once.
  const many = await Promise.all(Array.from({ length: 50 }, () => s.mount('umount', { target: join(root, 'gone') })));
  assert.deepEqual(new Set(many), new Set([constants.errno.ENOENT]));
});

test('berth-spawn binds a new network namespace as `ip netns add` does, in a shared mount only, and removes it as `ip netns del`', { skip }, async (t) => {
  const s = useSpawner(bin, () => {});
  t.after(() => s.close());
  const plain = mkdtempSync(join(tmp, 'netns-plain-'));
  assert.equal(await bindNewNetns(join(plain, 'a')), false, 'not a shared mount point: left to ip');
  assert.equal(existsSync(join(plain, 'a')), false);
  const dir = mkdtempSync(join(tmp, 'netns-'));
  spawnSync('mount', ['--bind', dir, dir]);
  spawnSync('mount', ['--make-shared', dir]);
  t.after(() => { spawnSync('umount', ['-l', dir]); });
  const path = join(dir, 'ns1');
  assert.equal(await bindNewNetns(path), true);
  assert.ok(await isMountPoint(path));
  const links = spawnSync('nsenter', [`--net=${path}`, 'ip', '-o', 'link'], { encoding: 'utf8' });
  assert.equal(links.status, 0, links.stderr);
  assert.deepEqual(links.stdout.trim().split('\n').map((l) => l.split(':')[1].trim()), ['lo'], 'a namespace of its own');
  await assert.rejects(bindNewNetns(path), { code: 'EEXIST' });
  assert.ok(await isMountPoint(path), 'the existing one is kept');
  assert.equal(await unbindNetns(path), true);
  assert.equal(existsSync(path), false);
  assert.equal(await isMountPoint(path), false);
  assert.equal(await unbindNetns(path), true, 'gone already: nothing to do, no error');
});

test('berth-spawn VETH: the pair over rtnetlink (host end on the bridge, the other named, addressed and routed in the namespace); failures name their step', { skip }, async (t) => {
  const s = useSpawner(bin, () => {});
  t.after(() => s.close());
  const sfx = Math.random().toString(16).slice(2, 8);
  const br = `bst${sfx}`, ns = `bst-${sfx}`, host = `vst${sfx}`, host2 = `vsu${sfx}`;
  const ip = (...a: string[]) => spawnSync('ip', a, { encoding: 'utf8' });
  t.after(() => { ip('netns', 'del', ns); ip('link', 'del', host); ip('link', 'del', host2); ip('link', 'del', br); });
  ip('link', 'add', br, 'type', 'bridge');
  ip('addr', 'add', '10.213.77.1/24', 'dev', br);
  ip('link', 'set', br, 'up');
  assert.equal(ip('netns', 'add', ns).status, 0);
  const req = { netnsPath: `/run/netns/${ns}`, hostIf: host, bridge: br, nsIf: 'eth0', mac: '02:42:0a:d5:4d:02', mtu: 1400,
    address: '10.213.77.2/24', gateway: '10.213.77.1', address6: 'fd00:213:77::2/64', gateway6: 'fd00:213:77::1' };
  assert.equal(await makeVeth(req), '');
  const hl = JSON.parse(ip('-j', '-d', 'link', 'show', 'dev', host).stdout)[0];
  assert.equal(hl.master, br);
  assert.equal(hl.mtu, 1400);
  assert.ok(hl.flags.includes('UP'));
  const links = JSON.parse(ip('-n', ns, '-j', 'addr', 'show').stdout) as { ifname: string; flags: string[]; address: string; mtu: number; addr_info: { family: string; local: string; prefixlen: number; nodad?: boolean }[] }[];
  const lo = links.find((l) => l.ifname === 'lo')!;
  const eth = links.find((l) => l.ifname === 'eth0')!;
  assert.ok(lo.flags.includes('UP'));
  assert.ok(eth.flags.includes('UP'));
  assert.equal(eth.address, '02:42:0a:d5:4d:02');
  assert.equal(eth.mtu, 1400);
  assert.deepEqual(eth.addr_info.filter((a) => !a.local.startsWith('fe80')).map((a) => `${a.local}/${a.prefixlen}${a.nodad ? ' nodad' : ''}`), ['10.213.77.2/24', 'fd00:213:77::2/64 nodad']);
  assert.match(ip('-n', ns, 'route', 'show', 'default').stdout, /^default via 10\.213\.77\.1 dev eth0 \n$/);
  assert.match(ip('-n', ns, '-6', 'route', 'show', 'default').stdout, /^default via fd00:213:77::1 dev eth0 metric 1024 pref medium\n$/);
  // It works: the host reaches the namespace's address across the bridge (a namespace and bridge of this test's own).
  assert.equal(spawnSync('busybox', ['ping', '-c', '1', '-W', '2', '10.213.77.2']).status, 0);

  // Failures say which step, with the kernel's words; the caller removes what was made.
  assert.equal(await makeVeth(req), `link add ${host} type veth peer name eth0: File exists`);
  assert.equal(await makeVeth({ ...req, hostIf: host2, bridge: `nob${sfx}` }), `bridge nob${sfx}: No such device`);
  assert.equal(await makeVeth({ ...req, hostIf: host2, netnsPath: `/run/netns/none-${sfx}` }), `open /run/netns/none-${sfx}: No such file or directory`);
  assert.match((await makeVeth({ ...req, hostIf: host2, nsIf: 'eth1', address: '10.213.78.2/24', address6: '', gateway6: '', gateway: '10.213.99.1' }))!, /^route add default via 10\.213\.99\.1 dev eth1: /);
  ip('link', 'del', host2);
  assert.equal(await makeVeth({ ...req, hostIf: host2, nsIf: 'eth1', address: 'bogus' }), 'addr add bogus dev eth1: Invalid argument');
  ip('link', 'del', host2);
  await assert.rejects(s.veth({ ...req, hostIf: 'a\0b' }), { code: 'ERR_INVALID_ARG_VALUE' });
});

test('sys.run through berth-spawn; when the helper dies, pending runs fail and run() forks again', { skip }, async () => {
  const warnings: string[] = [];
  const s = useSpawner(bin, (m) => warnings.push(m));
  assert.deepEqual(await run('sh', ['-c', 'echo hi; exit 2'], { allowFail: true }), { code: 2, stdout: 'hi\n', stderr: '' });
  await assert.rejects(run('sh', ['-c', 'echo oops >&2; exit 1']), /sh -c echo oops >&2; exit 1: oops/);
  await assert.rejects(run('no-such-program-here', []), /no-such-program-here: spawn no-such-program-here ENOENT/);
  assert.equal((await run('cat', [], { input: 'piped' })).stdout, 'piped');
  const pending = run('sleep', ['5']);
  const pid = Number(spawnSync('pgrep', ['-n', '-f', bin]).stdout.toString().trim());
  assert.ok(pid > 0);
  process.kill(pid, 'SIGKILL');
  await assert.rejects(pending, /berth-spawn ended/);
  await s.done;
  assert.equal(warnings.length, 1);
  assert.match(warnings[0], /berth-spawn ended \(signal SIGKILL\)/);
  // Forked from here on.
  assert.equal((await run('sh', ['-c', 'echo again'])).stdout, 'again\n');
});
