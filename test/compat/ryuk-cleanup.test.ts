// Ryuk's cleanup, performed with a real client (dockerode) against berthd: Testcontainers labels
// everything a session creates with org.testcontainers.session-id=<uuid>, and Ryuk (its reaper
// container, which cannot be pulled here) removes exactly that when the session ends. Ryuk 0.7+
// lists containers (all=1), networks, volumes and images with a label filter, skips anything
// created after the prune began (container and image `Created` as unix seconds, network `Created`
// and volume `CreatedAt` parsed as RFC 3339), then deletes each: containers with force and v,
// volumes with force, images without noprune, treating 404 as already gone. Ryuk before 0.7 used
// the prune endpoints with the same label filter. Both are replayed here, and everything of
// another session and everything unlabelled must survive.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import Docker from 'dockerode';
import { startDaemon, type Daemon } from '../integration/harness.ts';

const SESSION = 'org.testcontainers.session-id';
// Go's time.Time JSON (RFC 3339 with an optional fraction of up to 9 digits) and time.RFC3339.
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

let d: Daemon;
let docker: Docker;
before(async () => {
  d = await startDaemon();
  docker = new Docker({ socketPath: d.sock });
});
after(async () => { await d?.stop(); });

interface Made { containers: string[]; networks: string[]; volumes: string[]; images: string[] }

/**
 * What a Testcontainers session leaves behind: a running container on its own network with a
 * volume, an exited one, and a committed image, all labelled with the session (or unlabelled).
 */
async function session(tag: string, labels: Record<string, string>): Promise<Made> {
  const net = await docker.createNetwork({ Name: `net-${tag}`, Labels: labels, CheckDuplicate: true });
  const vol = await docker.createVolume({ Name: `vol-${tag}`, Labels: labels });
  const running = await docker.createContainer({
    name: `run-${tag}`, Image: 'busybox', Cmd: ['sleep', '600'], Labels: labels,
    HostConfig: { NetworkMode: `net-${tag}`, Binds: [`vol-${tag}:/data`] },
  });
  await running.start();
  const exited = await docker.createContainer({ name: `exit-${tag}`, Image: 'busybox', Cmd: ['true'], Labels: labels });
  await exited.start();
  await exited.wait();
  const changes = Object.entries(labels).map(([k, v]) => `LABEL ${k}=${v}`).join('\n');
  const img = await exited.commit({ repo: `img-${tag}`, tag: 'latest', ...(changes ? { changes } : {}) }) as { Id: string };
  return { containers: [running.id, exited.id], networks: [net.id], volumes: [vol.name], images: [img.Id] };
}

async function exists(kind: 'container' | 'network' | 'volume' | 'image', id: string): Promise<boolean> {
  const o = kind === 'container' ? docker.getContainer(id) : kind === 'network' ? docker.getNetwork(id) : kind === 'volume' ? docker.getVolume(id) : docker.getImage(id);
  try {
    await o.inspect();
    return true;
  } catch (e) {
    if ((e as { statusCode?: number }).statusCode === 404) return false;
    throw e;
  }
}

async function assertAll(m: Made, present: boolean, what: string): Promise<void> {
  for (const id of m.containers) assert.equal(await exists('container', id), present, `${what} container ${id}`);
  for (const id of m.networks) assert.equal(await exists('network', id), present, `${what} network ${id}`);
  for (const id of m.volumes) assert.equal(await exists('volume', id), present, `${what} volume ${id}`);
  for (const id of m.images) assert.equal(await exists('image', id), present, `${what} image ${id}`);
}

/** A DELETE as the Go client sends it (dockerode's volume.remove drops its options). */
function del(path: string, options: Record<string, unknown>): Promise<unknown> {
  return new Promise((res, rej) => {
    docker.modem.dial({ path: `${path}?`, method: 'DELETE', options, statusCodes: { 200: true, 204: true, 404: 'not found', 409: 'conflict', 500: 'server error' } }, (err, data) => (err ? rej(err) : res(data)));
  });
}

test('Ryuk 0.7+: list by label filter, check creation times, delete each; only the session goes', { timeout: 120_000 }, async () => {
  const t0 = Math.floor(Date.now() / 1000);
  const mine = randomUUID();
  const a = await session('a', { [SESSION]: mine, 'org.testcontainers': 'true' });
  const b = await session('b', { [SESSION]: randomUUID(), 'org.testcontainers': 'true' });
  const plain = await session('plain', {});
  // Ryuk's "since": the moment the prune starts; anything created later is left for next time.
  const since = Date.now() + 1000;
  const filters = { label: [`${SESSION}=${mine}`] };

  const containers = await docker.listContainers({ all: true, filters });
  assert.deepEqual(containers.map((c) => c.Id).sort(), [...a.containers].sort());
  for (const c of containers) {
    assert.equal(typeof c.Created, 'number');
    assert.ok(c.Created >= t0 - 1 && c.Created * 1000 <= since, `container Created ${c.Created}`);
    assert.equal(c.Labels[SESSION], mine);
  }
  const networks = await docker.listNetworks({ filters });
  assert.deepEqual(networks.map((n) => n.Id), a.networks);
  for (const n of networks) {
    assert.match(n.Created, RFC3339);
    const t = Date.parse(n.Created);
    assert.ok(t >= (t0 - 1) * 1000 && t <= since, `network Created ${n.Created}`);
  }
  const { Volumes: volumes } = await docker.listVolumes({ filters });
  assert.deepEqual(volumes.map((v) => v.Name), a.volumes);
  for (const v of volumes) {
    const createdAt = (v as unknown as { CreatedAt: string }).CreatedAt;
    assert.match(createdAt, RFC3339);
    const t = Date.parse(createdAt);
    // time.RFC3339 has whole seconds: the volume may read as made up to a second before t0.
    assert.ok(t >= (t0 - 1) * 1000 && t <= since, `volume CreatedAt ${createdAt}`);
  }
  const images = await docker.listImages({ filters });
  assert.deepEqual(images.map((i) => i.Id), a.images);
  for (const i of images) {
    assert.equal(typeof i.Created, 'number');
    assert.ok(i.Created >= t0 - 1 && i.Created * 1000 <= since, `image Created ${i.Created}`);
  }

  // Containers first (they hold the network and the volume), then networks, volumes, images.
  for (const c of containers) await del(`/containers/${c.Id}`, { force: true, v: true });
  for (const n of networks) await del(`/networks/${n.Id}`, {});
  for (const v of volumes) await del(`/volumes/${v.Name}`, { force: true });
  for (const i of images) await del(`/images/${i.Id}`, {});
  await assertAll(a, false, 'session a');
  await assertAll(b, true, 'session b');
  await assertAll(plain, true, 'unlabelled');
  // A second pass (Ryuk retries) finds nothing, and a 404 on delete is "already removed".
  assert.deepEqual(await docker.listContainers({ all: true, filters }), []);
  assert.deepEqual(await docker.listNetworks({ filters }), []);
  assert.deepEqual((await docker.listVolumes({ filters })).Volumes, []);
  assert.deepEqual(await docker.listImages({ filters }), []);
  for (const [path, opts] of [[`/containers/${a.containers[0]}`, { force: true, v: true }], [`/networks/${a.networks[0]}`, {}], [`/volumes/${a.volumes[0]}`, {}], [`/images/${a.images[0]}`, {}]] as const) {
    await assert.rejects(del(path, opts), (e: { statusCode?: number }) => e.statusCode === 404, path);
  }
  // Docker's volume delete with force reports no "not found" (it purges whatever is left).
  await del(`/volumes/${a.volumes[0]}`, { force: true });

  // The creation times inspect shows are RFC 3339 too (Docker's RFC3339Nano).
  const ci = await docker.getContainer(b.containers[0]).inspect();
  assert.match(ci.Created, RFC3339);
  assert.match((await docker.getImage(b.images[0]).inspect()).Created, RFC3339);
  assert.match((await docker.getNetwork(b.networks[0]).inspect()).Created, RFC3339);
  assert.match(((await docker.getVolume(b.volumes[0]).inspect()) as unknown as { CreatedAt: string }).CreatedAt, RFC3339);
});

test('Ryuk before 0.7: the prune endpoints with a label filter remove only the session', { timeout: 120_000 }, async () => {
  const mine = randomUUID();
  const a = await session('pa', { [SESSION]: mine });
  const b = await session('pb', { [SESSION]: randomUUID() });
  const plain = await session('pplain', {});
  const label = { label: [`${SESSION}=${mine}`] };
  // Old Ryuk removed containers by list + delete (prune spares running ones), then pruned.
  for (const c of await docker.listContainers({ all: true, filters: label })) await docker.getContainer(c.Id).remove({ force: true, v: true });
  const nets = await docker.pruneNetworks({ filters: label });
  assert.deepEqual(nets.NetworksDeleted, ['net-pa']);
  // Named volumes are pruned only with all=true since API 1.42 (Docker 23).
  const volsNamed = await docker.pruneVolumes({ filters: label });
  assert.deepEqual(volsNamed.VolumesDeleted ?? [], []);
  const vols = await docker.pruneVolumes({ filters: { ...label, all: ['true'] } });
  assert.deepEqual(vols.VolumesDeleted, ['vol-pa']);
  const imgs = await docker.pruneImages({ filters: { ...label, dangling: ['false'] } });
  const deleted = (imgs.ImagesDeleted ?? []).map((x) => x.Deleted).filter(Boolean);
  assert.deepEqual(deleted, a.images);
  assert.ok((imgs.ImagesDeleted ?? []).some((x) => x.Untagged === 'img-pa:latest'), JSON.stringify(imgs.ImagesDeleted));
  await assertAll(a, false, 'session pa');
  await assertAll(b, true, 'session pb');
  await assertAll(plain, true, 'unlabelled');

  // Container prune with a label filter takes stopped containers of the session only.
  const other = b.containers[1];
  const mine2 = randomUUID();
  const stopped = await docker.createContainer({ Image: 'busybox', Cmd: ['true'], Labels: { [SESSION]: mine2 } });
  const live = await docker.createContainer({ Image: 'busybox', Cmd: ['sleep', '600'], Labels: { [SESSION]: mine2 } });
  await live.start();
  const pc = await docker.pruneContainers({ filters: { label: [`${SESSION}=${mine2}`] } });
  assert.deepEqual(pc.ContainersDeleted, [stopped.id]);
  assert.equal(await exists('container', live.id), true);
  assert.equal(await exists('container', other), true);
  await live.remove({ force: true });
});
