// docker-py (Debian's python3-docker 5.0.3, docker-compose 1.29's client) against berthd in
// images, builds, volumes and events: a Python program's calls, their results printed as JSON
// and checked here. Skipped with a visible message where that package is not installed.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { startDaemon, type Daemon } from '../integration/harness.ts';

const PY = '/usr/bin/python3';
const version = spawnSync(PY, ['-c', 'import docker; print(docker.__version__)']).stdout?.toString().trim();
const skip = version ? false : 'python3-docker is not installed on this machine';
let d: Daemon;
before(async () => { if (!skip) d = await startDaemon(); });
after(async () => { await d?.stop(); });

/** Runs a Python program with `c` (DockerClient) and `api` (APIClient at 1.41) bound; its last stdout line is JSON. */
function py(body: string): any {
  const prog = [
    'import docker, io, json, time, sys',
    `c = docker.DockerClient(base_url='unix://${d.sock}')`,
    `api = docker.APIClient(base_url='unix://${d.sock}', version='1.41')`,
    'out = {}',
    body,
    'print(json.dumps(out))',
  ].join('\n');
  const r = spawnSync(PY, ['-c', prog], { timeout: 120_000, maxBuffer: 16 << 20 });
  assert.equal(r.status, 0, `${r.stderr}`);
  return JSON.parse(r.stdout.toString().trim().split('\n').pop()!);
}

test(`docker-py ${version}: images.build (stream, quiet, failure), inspect at 1.41 and 1.47, load errors`, { skip }, () => {
  const out = py(`
df = b'FROM busybox\\nVOLUME /data\\nRUN echo out; echo err >&2\\nLABEL via=docker-py\\n'
img, logs = c.images.build(fileobj=io.BytesIO(df), tag='dpy:1', rm=True)
out['id'] = img.id
out['tags'] = img.tags
out['logs'] = [l.get('stream') for l in logs if 'stream' in l]
q, qlogs = c.images.build(fileobj=io.BytesIO(df), tag='dpy:2', quiet=True)
out['quiet'] = [q.id, list(qlogs)]
try:
    c.images.build(fileobj=io.BytesIO(b'FROM busybox\\nRUN echo failing; exit 3\\n'))
except docker.errors.BuildError as e:
    out['builderror'] = e.msg
out['cc_147'] = c.api.inspect_image('dpy:1')['ContainerConfig']['Volumes']
out['cc_141'] = api.inspect_image('dpy:1')['ContainerConfig']['Volumes']
out['vsize_141'] = api.inspect_image('dpy:1').get('VirtualSize')
out['vsize_147'] = c.api.inspect_image('dpy:1').get('VirtualSize')
try:
    c.images.load(b'not an archive ' * 100)
except docker.errors.ImageLoadError as e:
    out['loaderror'] = str(e)
data = b''.join(img.save(named=True))
out['loaded'] = [i.tags for i in c.images.load(data)]
`);
  assert.match(out.id, /^sha256:[0-9a-f]{64}$/);
  assert.deepEqual(out.tags, ['dpy:1']);
  assert.ok(out.logs.includes('out\n') && out.logs.includes('\x1b[91merr\n\x1b[0m'), JSON.stringify(out.logs));
  assert.deepEqual(out.quiet, [out.id, [{ stream: `${out.id}\n` }]]);
  assert.equal(out.builderror, "The command '/bin/sh -c echo failing; exit 3' returned a non-zero code: 3");
  assert.deepEqual(out.cc_147, { '/data': {} });
  assert.deepEqual(out.cc_141, { '/data': {} });
  assert.equal(typeof out.vsize_141, 'number');
  assert.equal(out.vsize_147, null);
  assert.match(out.loaderror, /^invalid archive: /);
  assert.deepEqual(out.loaded, [['dpy:1', 'dpy:2']]);
});

test(`docker-py ${version}: volumes (anonymous, prune at 1.47 and at 1.41) and events`, { skip }, () => {
  const out = py(`
t0 = time.time()
anon = c.volumes.create()
named = c.volumes.create('dpynamed')
out['labels'] = anon.attrs['Labels']
out['prune'] = c.volumes.prune()['VolumesDeleted']
out['prune_141'] = api.prune_volumes()['VolumesDeleted']
ctr = c.containers.run('busybox', 'true', volumes={'dpyvol': {'bind': '/v', 'mode': 'ro'}}, remove=True)
c.volumes.get('dpyvol').remove()
evs = list(c.events(since=t0, until=time.time() + 0.5, decode=True, filters={'type': 'volume'}))
out['events'] = [[e['Action'], e['Actor']['ID'][:8], e['Actor']['Attributes']] for e in evs]
out['anon'] = anon.name
`);
  assert.deepEqual(out.labels, { 'com.docker.volume.anonymous': '' });
  assert.deepEqual(out.prune, [out.anon]);
  assert.deepEqual(out.prune_141, ['dpynamed']);
  const acts = (out.events as [string, string, Record<string, string>][]).map(([a, id]) => `${a} ${id}`);
  assert.deepEqual(acts, [
    `create ${out.anon.slice(0, 8)}`, 'create dpynamed', `destroy ${out.anon.slice(0, 8)}`, 'prune ', 'destroy dpynamed', 'prune ',
    'create dpyvol', 'mount dpyvol', 'unmount dpyvol', 'destroy dpyvol',
  ]);
  const mount = (out.events as [string, string, Record<string, string>][]).find(([a]) => a === 'mount')![2];
  assert.deepEqual({ ...mount, container: '' }, { container: '', destination: '/v', driver: 'local', propagation: '', 'read/write': 'false' });
});
