// dockerode (4.x, the client under testcontainers) against berthd: the calls where berth once
// answered differently from dockerd, each as dockerode sends it (options in the query string and
// the JSON body alike, X-Registry-* headers base64url, partial HostConfig objects).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import Docker from 'dockerode';
import { startDaemon, hasDocker, type Daemon } from '../integration/harness.ts';

let d: Daemon;
let docker: Docker;
before(async () => {
  d = await startDaemon();
  docker = new Docker({ socketPath: d.sock });
});
after(async () => { await d?.stop(); });

test('listPlugins: an empty list, as a dockerd without plugins (and docker plugin ls)', async () => {
  assert.deepEqual(await docker.listPlugins(), []);
  assert.deepEqual(await (docker.listPlugins({ filters: { capability: ['volumedriver'], enable: ['true'] } } as never) as unknown as Promise<unknown>), []);
  await assert.rejects(docker.listPlugins({ filters: { bogus: ['x'] } } as never) as unknown as Promise<unknown>, /invalid filter 'bogus'/);
  if (hasDocker) {
    const r = d.docker(['plugin', 'ls']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^ID\s+NAME\s+DESCRIPTION\s+ENABLED\s*\n$/);
  }
});

test('a partial HostConfig reads back with every PortBinding field, as the Go struct does', async () => {
  const c = await docker.createContainer({
    Image: 'busybox', Cmd: ['true'], ExposedPorts: { '80/tcp': {}, '81/tcp': {} },
    HostConfig: { PortBindings: { '80/tcp': [{ HostPort: '0' }, { HostIp: '127.0.0.1' }], '81/tcp': null } as never },
  });
  try {
    const i = await c.inspect();
    assert.deepEqual(i.HostConfig.PortBindings, { '80/tcp': [{ HostIp: '', HostPort: '0' }, { HostIp: '127.0.0.1', HostPort: '' }], '81/tcp': null });
  } finally {
    await c.remove();
  }
  await assert.rejects(docker.createContainer({ Image: 'busybox', HostConfig: { PortBindings: { '80/tcp': '8080' } as never } }), /HTTP code 400.*cannot unmarshal/);
});

test('commit with several instructions in one changes value (as testcontainers sends them)', async () => {
  const c = await docker.createContainer({ Image: 'busybox', Cmd: ['true'], Labels: { drop: 'me', keep: 'yes' } });
  try {
    const { Id } = await c.commit({ repo: 'multi', tag: 'changes', changes: 'ENV A=1 \\\n  B=2\n# a comment\nLABEL drop=\nEXPOSE 7000\nCMD ["echo", "x"]' }) as { Id: string };
    const i = await docker.getImage(Id).inspect();
    assert.ok(i.Config.Env?.includes('A=1') && i.Config.Env?.includes('B=2'), JSON.stringify(i.Config.Env));
    assert.deepEqual(i.Config.Labels, { drop: '', keep: 'yes' });
    assert.deepEqual(i.Config.ExposedPorts, { '7000/tcp': {} });
    assert.deepEqual(i.Config.Cmd, ['echo', 'x']);
    await assert.rejects(c.commit({ repo: 'multi', tag: 'bad', changes: 'ENV A=1\nRUN true' }), /RUN is not a valid change command/);
  } finally {
    await c.remove();
    await docker.getImage('multi:changes').remove().catch(() => {});
  }
});

test('create with a platform the local image is not: 404 (so the docker CLI would pull), as Docker', async () => {
  const r = await fetchCreate('linux/arm64');
  assert.equal(r.statusCode, 404);
  assert.match(r.message, /^image with reference busybox was found but does not match the specified platform: wanted linux\/arm64, actual: linux\/amd64$/);
  for (const ok of ['linux/amd64', 'linux', 'amd64']) {
    const c = await docker.createContainer({ Image: 'busybox', Cmd: ['true'], platform: ok } as never);
    await c.remove();
  }
  assert.equal((await fetchCreate('linux/a/b/c')).statusCode, 400);
  if (hasDocker) {
    // --pull=never: the CLI reports the 404 rather than pulling (no network here).
    const cli = d.docker(['create', '--pull=never', '--platform', 'linux/arm64', 'busybox', 'true']);
    assert.notEqual(cli.status, 0);
    assert.match(cli.stderr, /does not match the specified platform: wanted linux\/arm64/);
  }
});

/** dockerode's create, keeping the status of a failure. */
async function fetchCreate(platform: string): Promise<{ statusCode?: number; message: string }> {
  try {
    const c = await docker.createContainer({ Image: 'busybox', Cmd: ['true'], platform } as never);
    await c.remove();
    return { statusCode: 201, message: '' };
  } catch (e) {
    const err = e as { statusCode?: number; json?: { message?: string } };
    return { statusCode: err.statusCode, message: err.json?.message ?? String(e) };
  }
}
