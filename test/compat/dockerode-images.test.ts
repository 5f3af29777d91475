// dockerode (the npm Docker client) driving berthd in images, builds, volumes and events, as a
// Node program would: buildImage with followProgress, image inspect and list, loadImage errors
// inside the stream, anonymous volumes and prune, getEvents with filters.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import Docker from 'dockerode';
import { startDaemon, type Daemon } from '../integration/harness.ts';
import { tarOf, contextDir } from '../integration/build-util.ts';

let d: Daemon;
let docker: Docker;
before(async () => { d = await startDaemon(); docker = new Docker({ socketPath: d.sock }); });
after(async () => { await d?.stop(); });

const follow = (s: NodeJS.ReadableStream) => new Promise<Record<string, any>[]>((res, rej) => docker.modem.followProgress(s, (e: Error | null, out: Record<string, any>[]) => (e ? rej(e) : res(out))));

async function text(s: NodeJS.ReadableStream): Promise<string> {
  let out = '';
  for await (const c of s) out += c.toString();
  return out;
}

test('dockerode: buildImage streams docker\'s messages (stderr in red, aux ID); inspect and list read the image', async () => {
  const ctx = tarOf(contextDir({ Dockerfile: 'FROM busybox\nVOLUME /state\nRUN echo out; echo err >&2\nLABEL app=dode\n' }));
  const out = await follow(await docker.buildImage(ctx as unknown as NodeJS.ReadableStream, { t: 'dode:1' }));
  const streams = out.filter((m) => m.stream).map((m) => m.stream as string);
  assert.ok(streams.includes('out\n'), JSON.stringify(streams));
  assert.ok(streams.includes('\x1b[91merr\n\x1b[0m'), JSON.stringify(streams));
  const aux = out.find((m) => m.aux)?.aux.ID as string;
  assert.match(aux, /^sha256:[0-9a-f]{64}$/);
  assert.ok(streams.includes('Successfully tagged dode:1\n'));
  const img = await docker.getImage('dode:1').inspect();
  assert.equal(img.Id, aux);
  assert.deepEqual((img as any).ContainerConfig.Volumes, { '/state': {} });
  assert.deepEqual(img.Config.Volumes, { '/state': {} });
  assert.equal(img.Config.Labels.app, 'dode');
  const list = await docker.listImages({ filters: { label: ['app=dode'] } });
  assert.deepEqual(list.map((i) => i.RepoTags), [['dode:1']]);
  assert.equal(list[0].Containers, -1);
  // A failing build: the error is the stream's last message, with the step's exit code.
  const failed = await follow(await docker.buildImage(tarOf(contextDir({ Dockerfile: 'FROM busybox\nRUN exit 9\n' })) as unknown as NodeJS.ReadableStream, {}));
  assert.deepEqual(failed[failed.length - 1].errorDetail, { code: 9, message: "The command '/bin/sh -c exit 9' returned a non-zero code: 9" });
});

test('dockerode: loadImage of a broken archive answers 200 with the error in the stream', async () => {
  const s = await docker.loadImage(Buffer.from('not an archive '.repeat(100)) as unknown as NodeJS.ReadableStream);
  const body = (await text(s)).trim();
  const m = JSON.parse(body.split('\n').pop()!);
  assert.match(m.error, /^invalid archive: /);
  assert.equal(m.errorDetail.message, m.error);
  // A good one: saved and loaded back.
  const chunks: Buffer[] = [];
  for await (const c of await docker.getImage('busybox').get()) chunks.push(c as Buffer);
  const saved = Buffer.concat(chunks);
  assert.match(await text(await docker.loadImage(saved as unknown as NodeJS.ReadableStream)), /Loaded image: busybox:latest/);
});

test('dockerode: an unnamed volume is anonymous and pruned; events carry volume and network actions', async () => {
  const since = Math.floor(Date.now() / 1000) - 1;
  const vol = await docker.createVolume({}) as unknown as { name: string };
  const info = await docker.getVolume(vol.name).inspect();
  assert.deepEqual(info.Labels, { 'com.docker.volume.anonymous': '' });
  const pruned = await docker.pruneVolumes();
  assert.deepEqual(pruned.VolumesDeleted, [vol.name]);
  const c = await docker.createContainer({ Image: 'busybox', Cmd: ['true'], HostConfig: { Binds: ['dodevol:/v'] } });
  await c.start();
  await c.wait();
  await c.remove();
  await docker.getVolume('dodevol').remove();
  const until = Math.floor(Date.now() / 1000) + 1;
  const evs = (await text(await docker.getEvents({ since, until, filters: { type: ['volume', 'network'] } }) as unknown as NodeJS.ReadableStream))
    .trim().split('\n').map((l) => JSON.parse(l) as { Type: string; Action: string; Actor: { ID: string; Attributes: Record<string, string> } });
  const seq = evs.map((e) => `${e.Type} ${e.Action} ${e.Actor.Attributes.name ?? e.Actor.ID.slice(0, 7)}`);
  assert.deepEqual(seq, [
    `volume create ${vol.name.slice(0, 7)}`, `volume destroy ${vol.name.slice(0, 7)}`, 'volume prune ',
    'volume create dodevol', 'network connect bridge', 'volume mount dodevol', 'network disconnect bridge', 'volume unmount dodevol', 'volume destroy dodevol',
  ]);
});
