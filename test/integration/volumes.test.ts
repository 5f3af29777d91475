// Volumes, binds and tmpfs mounts through the API: the data itself is checked (checksums),
// across container removal, sharing, daemon restart and kill -9; the volume API and its errors.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, writeFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { startDaemon, demux, type Daemon } from './harness.ts';
import { build } from './build-util.ts';

let d: Daemon;
before(async () => { d = await startDaemon(); });
after(async () => { await d?.stop(); });

const q = (o: unknown) => encodeURIComponent(JSON.stringify(o));

/** Runs a container to its end; returns its exit code and output. */
async function runIt(cmd: string[], hostConfig: Record<string, unknown> = {}, extra: Record<string, unknown> = {}): Promise<{ id: string; code: number; out: string; err: string }> {
  const cr = await d.api('POST', '/containers/create', { Image: 'busybox', Cmd: cmd, HostConfig: hostConfig, ...extra });
  assert.equal(cr.status, 201, cr.body.toString());
  const id = cr.json().Id as string;
  const st = await d.api('POST', `/containers/${id}/start`);
  assert.equal(st.status, 204, st.body.toString());
  const w = await d.api('POST', `/containers/${id}/wait`);
  const logs = demux((await d.api('GET', `/containers/${id}/logs?stdout=1&stderr=1`)).body);
  return { id, code: w.json().StatusCode, out: logs.stdout, err: logs.stderr };
}

const rmC = (id: string, v = false) => d.api('DELETE', `/containers/${id}?force=1${v ? '&v=1' : ''}`);

test('a named volume keeps every byte across container removal, is shared, survives restart and kill -9', async () => {
  const w = await runIt(['sh', '-c', 'head -c 5000000 /dev/urandom > /db/data.bin && sha256sum /db/data.bin | cut -d" " -f1'], { Binds: ['dbdata:/db'] });
  assert.equal(w.code, 0, w.err);
  const sum = w.out.trim();
  assert.match(sum, /^[0-9a-f]{64}$/);
  await rmC(w.id);
  const r = await runIt(['sh', '-c', 'sha256sum /db/data.bin | cut -d" " -f1'], { Binds: ['dbdata:/db'] });
  assert.equal(r.out.trim(), sum);
  // two containers share it: one writes while the other is running and reads
  const reader = await d.api('POST', '/containers/create', { Image: 'busybox', Cmd: ['sh', '-c', 'while [ ! -f /shared/flag ]; do sleep 0.05; done; cat /shared/flag'], HostConfig: { Mounts: [{ Type: 'volume', Source: 'dbdata', Target: '/shared' }] } });
  const rid = reader.json().Id;
  await d.api('POST', `/containers/${rid}/start`);
  const wr = await runIt(['sh', '-c', 'echo from-writer > /db/flag'], { Binds: ['dbdata:/db'] });
  assert.equal(wr.code, 0);
  assert.equal((await d.api('POST', `/containers/${rid}/wait`)).json().StatusCode, 0);
  assert.equal(demux((await d.api('GET', `/containers/${rid}/logs?stdout=1`)).body).stdout, 'from-writer\n');
  // daemon restart and kill -9: the volume and its data are still there
  await d.restart();
  assert.equal((await d.api('GET', '/volumes/dbdata')).status, 200);
  await d.restart({ kill9: true });
  const after = await runIt(['sh', '-c', 'sha256sum /db/data.bin | cut -d" " -f1'], { Binds: ['dbdata:/db'] });
  assert.equal(after.out.trim(), sum);
  for (const id of [r.id, rid, wr.id, after.id]) await rmC(id);
});

test('binds both ways, read-only, missing host dir created for -v but an error for --mount', async () => {
  const host = mkdtempSync(join(d.dir, 'bind-'));
  writeFileSync(join(host, 'in.txt'), 'from-host');
  const r = await runIt(['sh', '-c', 'cat /h/in.txt && echo from-ctr > /h/out.txt'], { Binds: [`${host}:/h`] });
  assert.equal(r.out, 'from-host');
  assert.equal(readFileSync(join(host, 'out.txt'), 'utf8'), 'from-ctr\n');
  const ro = await runIt(['sh', '-c', 'echo x > /h/nope'], { Binds: [`${host}:/h:ro`] });
  assert.notEqual(ro.code, 0);
  assert.match(ro.err, /Read-only file system/);
  const fresh = join(host, 'made', 'by', 'v');
  const mk = await runIt(['true'], { Binds: [`${fresh}:/m`] });
  assert.equal(mk.code, 0);
  assert.ok(existsSync(fresh));
  // An existing file bound with -v (it used to fail with EEXIST from a mkdir of the file).
  const file = await runIt(['cat', '/etc/in.txt'], { Binds: [`${join(host, 'in.txt')}:/etc/in.txt:ro`] });
  assert.equal(file.code, 0, file.err);
  assert.equal(file.out, 'from-host');
  const missing = await d.api('POST', '/containers/create', { Image: 'busybox', HostConfig: { Mounts: [{ Type: 'bind', Source: join(host, 'nope'), Target: '/x' }] } });
  assert.equal(missing.status, 400);
  assert.match(missing.json().message, /bind source path does not exist/);
  const rel = await d.api('POST', '/containers/create', { Image: 'busybox', HostConfig: { Mounts: [{ Type: 'bind', Source: 'relative/dir', Target: '/x' }] } });
  assert.equal(rel.status, 400);
  const relDest = await d.api('POST', '/containers/create', { Image: 'busybox', HostConfig: { Binds: ['vol:relative'] } });
  assert.equal(relDest.status, 400);
  const dup = await d.api('POST', '/containers/create', { Image: 'busybox', HostConfig: { Binds: ['a1:/x', 'a2:/x'] } });
  assert.equal(dup.status, 400);
  assert.match(dup.json().message, /Duplicate mount point: \/x/);
  for (const id of [r.id, ro.id, mk.id, file.id]) await rmC(id);
});

test('inspect Mounts as docker reports them', async () => {
  const host = mkdtempSync(join(d.dir, 'bind-'));
  const cr = await d.api('POST', '/containers/create', {
    Image: 'busybox', Volumes: { '/anon': {} },
    HostConfig: {
      Binds: ['named1:/a', 'named2:/b:ro', `${host}:/c`, `${host}:/d:ro,rshared`],
      Mounts: [{ Type: 'volume', Source: 'named3', Target: '/e' }, { Type: 'tmpfs', Target: '/t', TmpfsOptions: { SizeBytes: 1 << 20 } }],
    },
  });
  assert.equal(cr.status, 201, cr.body.toString());
  const m = (await d.api('GET', `/containers/${cr.json().Id}/json`)).json().Mounts as any[];
  // ps: the volume filter (by name or destination) and Mounts in the summary
  const ps = (await d.api('GET', `/containers/json?all=1&filters=${q({ volume: ['named1'] })}`)).json();
  assert.deepEqual(ps.map((x: any) => x.Id), [cr.json().Id]);
  assert.equal(ps[0].Mounts.length, 7);
  assert.equal((await d.api('GET', `/containers/json?all=1&filters=${q({ volume: ['/e'] })}`)).json().length, 1);
  assert.equal((await d.api('GET', `/containers/json?all=1&filters=${q({ volume: ['nosuchvol'] })}`)).json().length, 0);
  // berth rm -v through the CLI is exercised below (rmC with v=1 is the API form)
  const by = Object.fromEntries(m.map((x) => [x.Destination, x]));
  assert.deepEqual(by['/a'], { Type: 'volume', Name: 'named1', Source: join(d.dataRoot, 'volumes/named1/_data'), Destination: '/a', Driver: 'local', Mode: 'z', RW: true, Propagation: '' });
  assert.deepEqual({ Mode: by['/b'].Mode, RW: by['/b'].RW }, { Mode: 'ro', RW: false });
  assert.deepEqual(by['/c'], { Type: 'bind', Source: host, Destination: '/c', Mode: '', RW: true, Propagation: 'rprivate' });
  assert.deepEqual({ Mode: by['/d'].Mode, RW: by['/d'].RW, P: by['/d'].Propagation }, { Mode: 'ro,rshared', RW: false, P: 'rshared' });
  assert.equal(by['/e'].Mode, 'z');
  assert.deepEqual(by['/t'], { Type: 'tmpfs', Source: '', Destination: '/t', Mode: '', RW: true, Propagation: '' });
  assert.equal(by['/anon'].Type, 'volume');
  assert.match(by['/anon'].Name, /^[0-9a-f]{64}$/);
  assert.equal(by['/anon'].Mode, '');
  await rmC(cr.json().Id, true);
  // rm -v removed the anonymous volume, named ones stay
  assert.equal((await d.api('GET', `/volumes/${by['/anon'].Name}`)).status, 404);
  assert.equal((await d.api('GET', '/volumes/named1')).status, 200);
});

test('image VOLUME: anonymous volume with copy-up (owner and mode kept), nocopy, --volumes-from, tmpfs', async () => {
  const b = await build(d, { Dockerfile: 'FROM busybox\nRUN mkdir -p /srv/data && echo seed > /srv/data/seed.txt && chown 1234:5678 /srv/data/seed.txt && chmod 640 /srv/data/seed.txt\nVOLUME /srv/data\n' }, { t: 'withvol:1' });
  assert.equal(b.error, undefined, b.output);
  const cr = await d.api('POST', '/containers/create', { Image: 'withvol:1', Cmd: ['sh', '-c', 'stat -c "%u:%g %a" /srv/data/seed.txt; cat /srv/data/seed.txt; echo more > /srv/data/more.txt'] });
  const id = cr.json().Id;
  await d.api('POST', `/containers/${id}/start`);
  await d.api('POST', `/containers/${id}/wait`);
  assert.equal(demux((await d.api('GET', `/containers/${id}/logs?stdout=1`)).body).stdout, '1234:5678 640\nseed\n');
  const vol = (await d.api('GET', `/containers/${id}/json`)).json().Mounts[0];
  assert.equal(vol.Destination, '/srv/data');
  assert.ok(existsSync(join(vol.Source, 'more.txt')));
  // --volumes-from, read-only
  const vf = await runIt(['sh', '-c', 'cat /srv/data/more.txt; echo x > /srv/data/y'], { VolumesFrom: [`${id}:ro`] });
  assert.equal(vf.out, 'more\n');
  assert.match(vf.err, /Read-only file system/);
  // a named volume with nocopy stays empty
  const nc = await runIt(['ls', '-A', '/srv/data'], { Binds: ['nocopyvol:/srv/data:nocopy'] }, { Image: 'withvol:1' });
  assert.equal(nc.out, '');
  // --mount tmpfs with a size, and --tmpfs
  const t = await runIt(['sh', '-c', 'grep " /t " /proc/mounts; grep " /t2 " /proc/mounts'], { Mounts: [{ Type: 'tmpfs', Target: '/t', TmpfsOptions: { SizeBytes: 1 << 20 } }], Tmpfs: { '/t2': 'size=2m' } });
  assert.match(t.out, /tmpfs \/t tmpfs rw,nosuid,nodev,noexec,relatime,size=1024k/);
  assert.match(t.out, /tmpfs \/t2 tmpfs .*size=2048k/);
  for (const x of [vf.id, nc.id, t.id]) await rmC(x, true);
  await rmC(id, true);
  assert.equal((await d.api('GET', `/volumes/${vol.Name}`)).status, 404);
});

test('volume API: create (labels, local driver opts), list filters, inspect, rm rules, prune, bad names', async () => {
  const c1 = await d.api('POST', '/volumes/create', { Name: 'api-vol', Labels: { tier: 'db' } });
  assert.equal(c1.status, 201);
  assert.deepEqual(c1.json(), { ...c1.json(), Name: 'api-vol', Driver: 'local', Labels: { tier: 'db' }, Scope: 'local', Options: null, Mountpoint: join(d.dataRoot, 'volumes/api-vol/_data') });
  // tmpfs-backed and bind-backed local volumes
  const tv = await d.api('POST', '/volumes/create', { Name: 'tmpvol', DriverOpts: { type: 'tmpfs', device: 'tmpfs', o: 'size=4m' } });
  assert.equal(tv.status, 201);
  const t = await runIt(['sh', '-c', 'echo in-tmpfs > /v/x; grep " /v " /proc/mounts'], { Binds: ['tmpvol:/v'] });
  assert.match(t.out, /size=4096k/);
  const src = mkdtempSync(join(d.dir, 'bindvol-'));
  assert.equal((await d.api('POST', '/volumes/create', { Name: 'bindvol', DriverOpts: { type: 'none', o: 'bind', device: src } })).status, 201);
  const bv = await runIt(['sh', '-c', 'echo via-volume > /v/f'], { Binds: ['bindvol:/v'] });
  assert.equal(bv.code, 0, bv.err);
  assert.equal(readFileSync(join(src, 'f'), 'utf8'), 'via-volume\n');
  assert.equal((await d.api('POST', '/volumes/create', { Name: 'badopt', DriverOpts: { bogus: '1' } })).status, 400);
  assert.equal((await d.api('POST', '/volumes/create', { Name: 'x', Driver: 'nosuchdriver' })).status, 404);
  // names that could point outside the volumes directory are refused
  for (const bad of ['../escape', 'a/b', '..', '.', '/abs', 'x']) {
    const r = await d.api('POST', '/volumes/create', { Name: bad });
    assert.equal(r.status, 400, bad);
    assert.match(r.json().message, /includes invalid characters for a local volume name/);
  }
  assert.deepEqual(readdirSync(join(d.dataRoot, 'volumes')).filter((n) => n.includes('escape')), []);
  assert.equal((await d.api('GET', '/volumes/nosuch')).status, 404);
  assert.equal((await d.api('GET', '/volumes/nosuch')).json().message, 'get nosuch: no such volume');
  // list filters
  const names = async (f: unknown) => ((await d.api('GET', `/volumes?filters=${q(f)}`)).json().Volumes as any[]).map((v) => v.Name).sort();
  assert.deepEqual(await names({ label: ['tier=db'] }), ['api-vol']);
  assert.deepEqual(await names({ name: ['api-'] }), ['api-vol']);
  assert.ok((await names({ dangling: ['true'] })).includes('api-vol'));
  assert.ok(!(await names({ dangling: ['true'] })).includes('tmpvol'));
  assert.equal((await d.api('GET', `/volumes?filters=${q({ bogus: ['1'] })}`)).status, 400);
  // in use: 409 naming the container; force does not override use
  const inUse = await d.api('DELETE', '/volumes/tmpvol');
  assert.equal(inUse.status, 409);
  assert.match(inUse.json().message, new RegExp(`remove tmpvol: volume is in use - \\[${t.id}\\]`));
  await rmC(t.id);
  await rmC(bv.id);
  assert.equal((await d.api('DELETE', '/volumes/tmpvol')).status, 204);
  assert.equal((await d.api('DELETE', '/volumes/tmpvol')).status, 404);
  assert.equal((await d.api('DELETE', '/volumes/tmpvol?force=1')).status, 204);
  assert.equal((await d.api('DELETE', '/volumes/bindvol')).status, 204);
  assert.equal(readFileSync(join(src, 'f'), 'utf8'), 'via-volume\n'); // the bound directory itself is kept
  // prune: anonymous only by default, all=true for named ones
  const anon = await d.api('POST', '/containers/create', { Image: 'busybox', Volumes: { '/x': {} } });
  const anonName = (await d.api('GET', `/containers/${anon.json().Id}/json`)).json().Mounts[0].Name;
  await rmC(anon.json().Id); // without -v: the anonymous volume stays, dangling
  const p1 = (await d.api('POST', '/volumes/prune')).json();
  assert.ok(p1.VolumesDeleted.includes(anonName));
  assert.ok(!p1.VolumesDeleted.includes('api-vol'));
  const p2 = (await d.api('POST', `/volumes/prune?filters=${q({ all: ['true'], label: ['tier=db'] })}`)).json();
  assert.deepEqual(p2.VolumesDeleted, ['api-vol']);
  // system df shows volumes with usage data
  const df = (await d.api('GET', '/system/df?type=volume')).json();
  assert.ok(df.Volumes.every((v: any) => typeof v.UsageData.Size === 'number' && typeof v.UsageData.RefCount === 'number'));
});

test('run --rm removes anonymous volumes, keeps named ones', async () => {
  const r = d.berth(['run', '--rm', '-v', '/anon-rm', '-v', 'keptvol:/k', 'busybox', 'sh', '-c', 'echo kept > /k/f']);
  assert.equal(r.status, 0, r.stderr);
  const vols = ((await d.api('GET', '/volumes')).json().Volumes as any[]).map((v) => v.Name);
  assert.ok(vols.includes('keptvol'));
  const anon = ((await d.api('GET', `/volumes?filters=${q({ label: ['com.docker.volume.anonymous'] })}`)).json().Volumes as any[]);
  assert.deepEqual(anon, []);
});

test('a volume created without a name is anonymous and pruned; before API 1.42 prune takes named ones; mount-option volumes stay', async () => {
  const anon = await d.api('POST', '/volumes/create', {});
  assert.equal(anon.status, 201);
  const a = anon.json();
  assert.match(a.Name, /^[a-f0-9]{64}$/);
  assert.deepEqual(a.Labels, { 'com.docker.volume.anonymous': '' });
  // The docker CLI's `volume create` without a name makes one too.
  const cli = d.docker(['volume', 'create']);
  const named = await d.api('POST', '/volumes/create', { Name: 'pr-named' });
  assert.equal(named.status, 201);
  const tmp = await d.api('POST', '/volumes/create', { DriverOpts: { type: 'tmpfs', device: 'tmpfs' } });
  assert.equal(tmp.status, 201);
  const p = (await d.api('POST', '/volumes/prune')).json();
  assert.ok(p.VolumesDeleted.includes(a.Name));
  if (cli.status === 0) assert.ok(p.VolumesDeleted.includes(cli.stdout.trim()));
  assert.ok(!p.VolumesDeleted.includes('pr-named'));
  // moby leaves volumes with mount options alone (nothing local to reclaim).
  assert.ok(!p.VolumesDeleted.includes(tmp.json().Name));
  // `all` takes one boolean, as Go parses it.
  const bad = await d.api('POST', `/volumes/prune?filters=${q({ all: ['yes'] })}`);
  assert.equal(bad.status, 400);
  assert.equal(bad.json().message, `invalid filter 'all': strconv.ParseBool: parsing "yes": invalid syntax`);
  assert.equal((await d.api('POST', `/volumes/prune?filters=${q({ all: ['true', 'false'] })}`)).status, 400);
  // API 1.41 clients (docker-py 5 asking for its default version): every unused volume goes.
  const old = (await d.api('POST', '/v1.41/volumes/prune')).json();
  assert.ok(old.VolumesDeleted.includes('pr-named'));
  assert.equal((await d.api('GET', '/volumes/pr-named')).status, 404);
  assert.equal((await d.api('DELETE', `/volumes/${tmp.json().Name}`)).status, 204);
});
