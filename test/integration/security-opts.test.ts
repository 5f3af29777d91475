// Security options berthd cannot honour are refused at create, never silently ignored: a user
// namespace (UsernsMode other than "host" or empty: berthd has no userns-remap) and an AppArmor
// profile on a host without AppArmor. Each refusal is a clear 400 and leaves nothing behind (no
// container, no named volume, no bind source directory). Through the API, the berth CLI and the
// docker CLI (which refuses a bad --userns itself, before asking the daemon).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startDaemon, hasDocker, type Daemon } from './harness.ts';

let d: Daemon;
before(async () => { d = await startDaemon(); });
after(async () => { await d?.stop(); });

const appArmorOn = existsSync('/sys/kernel/security/apparmor') && (() => { try { return readFileSync('/sys/module/apparmor/parameters/enabled', 'utf8').startsWith('Y'); } catch { return false; } })();
const noAppArmor = appArmorOn ? 'AppArmor is enabled on this host' : false;
const skipDocker = hasDocker ? false : 'no docker client';

/** Nothing of a refused create is left: no container by that name, no volume, no bind source. */
async function assertNothingFrom(name: string, volume: string, bindSource: string): Promise<void> {
  const cs = (await d.api('GET', '/containers/json?all=1')).json() as { Names: string[] }[];
  assert.ok(!cs.some((c) => c.Names.includes(`/${name}`)), `container ${name} exists`);
  const vs = (await d.api('GET', '/volumes')).json() as { Volumes: { Name: string }[] | null };
  assert.ok(!(vs.Volumes ?? []).some((v) => v.Name === volume), `volume ${volume} exists`);
  assert.ok(!existsSync(bindSource), `${bindSource} was made`);
}

test('API: UsernsMode other than host or empty is refused; nothing is created', async () => {
  for (const [i, mode] of ['private', 'container:abc', 'remap'].entries()) {
    const name = `userns${i}`;
    const src = join(d.dir, `bind-${name}`);
    const r = await d.api('POST', `/containers/create?name=${name}`, { Image: 'busybox', HostConfig: { UsernsMode: mode, Binds: [`vol-${name}:/v`, `${src}:/b`] } });
    assert.equal(r.status, 400, r.body.toString());
    assert.equal(r.json().message, `invalid userns mode ${JSON.stringify(mode)}: this daemon has no user namespace remapping (userns-remap), containers run in the host's user namespace; use "host" or leave it empty`);
    await assertNothingFrom(name, `vol-${name}`, src);
  }
  for (const mode of ['host', '']) {
    const r = await d.api('POST', `/containers/create?name=userns-ok-${mode || 'empty'}`, { Image: 'busybox', Cmd: ['true'], HostConfig: { UsernsMode: mode } });
    assert.equal(r.status, 201, r.body.toString());
    await d.api('DELETE', `/containers/userns-ok-${mode || 'empty'}`);
  }
});

test('API: an AppArmor profile on a host without AppArmor is refused; unconfined is fine', { skip: noAppArmor }, async () => {
  for (const opt of ['apparmor=docker-default', 'apparmor:my-profile']) {
    const src = join(d.dir, 'bind-aa');
    const r = await d.api('POST', '/containers/create?name=aa', { Image: 'busybox', HostConfig: { SecurityOpt: [opt], Binds: ['vol-aa:/v', `${src}:/b`] } });
    assert.equal(r.status, 400, r.body.toString());
    const profile = opt.slice('apparmor='.length);
    assert.equal(r.json().message, `invalid --security-opt: "apparmor=${profile}": AppArmor is not enabled on this host, so the profile cannot be applied (only apparmor=unconfined is accepted)`);
    await assertNothingFrom('aa', 'vol-aa', src);
  }
  // Asking for no confinement where there is none: compose files carry it; it runs.
  const ok = await d.api('POST', '/containers/create?name=aa-unconfined', { Image: 'busybox', Cmd: ['true'], HostConfig: { SecurityOpt: ['apparmor=unconfined'] } });
  assert.equal(ok.status, 201, ok.body.toString());
  assert.equal((await d.api('POST', '/containers/aa-unconfined/start')).status, 204);
  await d.api('DELETE', '/containers/aa-unconfined?force=1');
});

test('berth CLI: --userns and --security-opt apparmor= are refused; nothing is created', async () => {
  const src = join(d.dir, 'bind-berth');
  const u = d.berth(['run', '--name', 'berth-userns', '--userns=private', '-v', 'vol-berth:/v', '-v', `${src}:/b`, 'busybox', 'true']);
  assert.equal(u.status, 125, u.stderr);
  assert.match(u.stderr, /--userns: invalid USER mode/);
  await assertNothingFrom('berth-userns', 'vol-berth', src);
  assert.equal(d.berth(['run', '--rm', '--userns=host', 'busybox', 'true']).status, 0);
  if (noAppArmor) return;
  const a = d.berth(['run', '--name', 'berth-aa', '--security-opt', 'apparmor=my-profile', '-v', 'vol-berth:/v', '-v', `${src}:/b`, 'busybox', 'true']);
  assert.equal(a.status, 125, a.stderr);
  assert.match(a.stderr, /Error response from daemon: invalid --security-opt: "apparmor=my-profile": AppArmor is not enabled on this host/);
  await assertNothingFrom('berth-aa', 'vol-berth', src);
  // `create` exits 1 on a daemon error, as docker create does.
  const c = d.berth(['create', '--name', 'berth-aa', '--security-opt', 'apparmor=my-profile', 'busybox', 'true']);
  assert.equal(c.status, 1, c.stderr);
  assert.match(c.stderr, /AppArmor is not enabled on this host/);
  await assertNothingFrom('berth-aa', 'vol-berth', src);
  const un = d.berth(['run', '--rm', '--security-opt', 'apparmor=unconfined', 'busybox', 'echo', 'ok']);
  assert.equal(un.status, 0, un.stderr);
  assert.equal(un.stdout, 'ok\n');
});

test('docker CLI: the same refusals; nothing is created', { skip: skipDocker }, async () => {
  const src = join(d.dir, 'bind-docker');
  // The docker CLI refuses a bad --userns itself.
  const u = d.docker(['run', '--name', 'docker-userns', '--userns=private', '-v', 'vol-docker:/v', '-v', `${src}:/b`, 'busybox', 'true']);
  assert.equal(u.status, 125, u.stderr);
  assert.match(u.stderr, /--userns: invalid USER mode/);
  await assertNothingFrom('docker-userns', 'vol-docker', src);
  assert.equal(d.docker(['run', '--rm', '--userns=host', 'busybox', 'true']).status, 0);
  if (noAppArmor) return;
  const a = d.docker(['run', '--name', 'docker-aa', '--security-opt', 'apparmor=my-profile', '-v', 'vol-docker:/v', '-v', `${src}:/b`, 'busybox', 'true']);
  assert.equal(a.status, 125, a.stderr);
  assert.match(a.stderr, /Error response from daemon: invalid --security-opt: "apparmor=my-profile": AppArmor is not enabled on this host/);
  await assertNothingFrom('docker-aa', 'vol-docker', src);
  const c = d.docker(['create', '--name', 'docker-aa', '--security-opt', 'apparmor=my-profile', 'busybox', 'true']);
  assert.equal(c.status, 1, c.stderr);
  assert.match(c.stderr, /AppArmor is not enabled on this host/);
  await assertNothingFrom('docker-aa', 'vol-docker', src);
  const un = d.docker(['run', '--rm', '--security-opt', 'apparmor=unconfined', 'busybox', 'echo', 'ok']);
  assert.equal(un.status, 0, un.stderr);
  assert.equal(un.stdout, 'ok\n');
});
