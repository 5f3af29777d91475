// `stack deploy` with a secret and a config (issue 18) on a single-node berth swarm (swarm-harness:
// berthd in its own network namespace, advertising its address there). The compose file's file
// secret and config are created as `<stack>_<key>` with the namespace label, the service's task
// sees /run/secrets/<target> and the config file with their content, and `stack rm` removes them.
// The same file through the docker CLI (`docker stack deploy` against berthd), which creates and
// resolves them itself.
import { test, after, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { leftovers, startCluster, type Cluster, type ClusterNode } from './swarm-harness.js';
import { hasDocker, until } from './harness.js';

let cluster: Cluster | undefined;
const dir = mkdtempSync(join(tmpdir(), 'berth-stack-secrets-'));
after(async () => {
  try {
    await cluster?.stop();
    // Nothing of the node is left on the host (namespaces, links, nft table, cgroups, mounts).
    if (cluster) assert.deepEqual(leftovers(cluster), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// Unique per run, so a match can only come from this test.
const secret = `stack-secret-${randomBytes(8).toString('hex')}\n`;
const conf = `listen ${randomBytes(6).toString('hex')}\n`;
const COMPOSE = `services:
  app:
    image: busybox
    command: ["sleep", "100000"]
    secrets:
      - pw
      - source: pw
        target: other
        mode: 0400
    configs:
      - source: appconf
        target: /etc/app.conf
secrets:
  pw:
    file: ./pw.txt
    labels:
      team: a
configs:
  appconf:
    file: ./app.conf
`;

describe('stack deploy with secrets and configs', { timeout: 600_000, skip: hasDocker ? false : 'needs the docker CLI' }, () => {
  let n: ClusterNode;
  const api = async (method: string, path: string, body?: unknown) => {
    const r = await n.daemon.api(method, path, body);
    return { status: r.status, json: () => r.json(), text: r.body.toString() };
  };
  const list = async (kind: 'secrets' | 'configs', stack: string): Promise<any[]> => {
    const r = await api('GET', `/${kind}?filters=${encodeURIComponent(JSON.stringify({ label: [`com.docker.stack.namespace=${stack}`] }))}`);
    assert.equal(r.status, 200, r.text);
    return r.json();
  };
  const runningTask = async (service: string) => {
    const r = await api('GET', `/tasks?filters=${encodeURIComponent(JSON.stringify({ service: [service] }))}`);
    return (r.json() as any[]).find((t) => t.Status.State === 'running' && t.DesiredState === 'running');
  };
  // Inside the task's container through its mount namespace, from the host.
  const inTask = (t: any, args: string[]) => {
    const r = spawnSync('nsenter', ['-t', String(t.Status.ContainerStatus.PID), '-m', '--', ...args], { encoding: 'utf8', timeout: 10_000 });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  };
  /** The task of `<stack>_app` runs and sees both secret files and the config; then `rm` (by `cli`) leaves nothing. */
  const check = async (stack: string, rm: () => { status: number | null; stdout: string; stderr: string }) => {
    await until(`${stack}_app runs`, async () => Boolean(await runningTask(`${stack}_app`)), 120_000, 250);
    const t = await runningTask(`${stack}_app`);
    assert.equal(inTask(t, ['cat', '/run/secrets/pw']).stdout, secret);
    assert.equal(inTask(t, ['cat', '/run/secrets/other']).stdout, secret);
    assert.equal(inTask(t, ['stat', '-c', '%u %g %a', '/run/secrets/other']).stdout.trim(), '0 0 400');
    assert.equal(inTask(t, ['cat', '/etc/app.conf']).stdout, conf);
    assert.equal(inTask(t, ['stat', '-c', '%a', '/etc/app.conf']).stdout.trim(), '444');
    const svc = (await api('GET', `/services/${stack}_app`)).json();
    const [s] = await list('secrets', stack);
    // Two references to one secret: docker's ParseSecrets gives them in map order, hence sorted here.
    assert.deepEqual(svc.Spec.TaskTemplate.ContainerSpec.Secrets.map((r: any) => [r.SecretID, r.SecretName, r.File.Name]).sort(), [[s.ID, `${stack}_pw`, 'other'], [s.ID, `${stack}_pw`, 'pw']]);

    const r = rm();
    assert.equal(r.stdout, `Removing service ${stack}_app\nRemoving secret ${stack}_pw\nRemoving config ${stack}_appconf\nRemoving network ${stack}_default\n`);
    if (r.status !== 0) {
      // The network can still be held by the removed service's task for a moment (swarmkit's
      // "is in use by task" check races the orchestrator as on dockerd); the secrets and config are
      // removed regardless. The network is then removed here, so the cluster ends clean.
      assert.match(r.stderr, /^Failed to remove network \w+: Error response from daemon: rpc error: code = FailedPrecondition desc = network \w+ is in use by task \w+/, r.stderr);
      await until(`${stack}_default removed`, async () => [204, 404].includes((await api('DELETE', `/networks/${stack}_default`)).status), 60_000, 500);
    }
    assert.deepEqual(await list('secrets', stack), []);
    assert.deepEqual(await list('configs', stack), []);
    assert.equal((await api('GET', `/services/${stack}_app`)).status, 404);
  };

  before(async () => {
    writeFileSync(join(dir, 'compose.yaml'), COMPOSE);
    writeFileSync(join(dir, 'pw.txt'), secret);
    writeFileSync(join(dir, 'app.conf'), conf);
    cluster = await startCluster({ nodes: 1 });
    [n] = cluster.nodes;
    const init = await api('POST', '/swarm/init', { ListenAddr: `${n.addr}:2377`, AdvertiseAddr: n.addr });
    assert.equal(init.status, 200, init.text);
  });

  test('berth stack deploy: the objects created with the namespace label, the task sees them, rm removes them', async () => {
    const d = n.daemon.berth(['stack', 'deploy', '-d', '--resolve-image', 'never', '-c', 'compose.yaml', 'st'], { cwd: dir });
    assert.equal(d.status, 0, d.stderr);
    assert.equal(d.stdout, 'Creating network st_default\nCreating secret st_pw\nCreating config st_appconf\nCreating service st_app\n');
    const [s] = await list('secrets', 'st');
    assert.equal(s.Spec.Name, 'st_pw');
    assert.deepEqual(s.Spec.Labels, { 'com.docker.stack.namespace': 'st', team: 'a' });
    assert.equal(s.Spec.Data, undefined, 'a secret\'s data is never returned');
    const [c] = await list('configs', 'st');
    assert.equal(Buffer.from(c.Spec.Data, 'base64').toString(), conf);

    // A second deploy with new labels: updated in place (same ID), nothing printed, the service untouched.
    writeFileSync(join(dir, 'compose.yaml'), COMPOSE.replace('team: a', 'team: b'));
    try {
      const again = n.daemon.berth(['stack', 'deploy', '-d', '--resolve-image', 'never', '-c', 'compose.yaml', 'st'], { cwd: dir });
      assert.deepEqual([again.status, again.stdout], [0, ''], again.stderr);
      const [s2] = await list('secrets', 'st');
      assert.deepEqual([s2.ID, s2.Spec.Labels.team], [s.ID, 'b']);
      // New data for the same name: the manager's refusal, as docker shows it.
      writeFileSync(join(dir, 'pw.txt'), 'changed\n');
      const changed = n.daemon.berth(['stack', 'deploy', '-d', '--resolve-image', 'never', '-c', 'compose.yaml', 'st'], { cwd: dir });
      assert.equal(changed.status, 1);
      assert.match(changed.stderr, /failed to update secret st_pw: Error response from daemon: rpc error: code = InvalidArgument desc = only updates to Labels are allowed/);
    } finally {
      writeFileSync(join(dir, 'compose.yaml'), COMPOSE);
      writeFileSync(join(dir, 'pw.txt'), secret);
    }
    await check('st', () => n.daemon.berth(['stack', 'rm', 'st']));
  });

  test('docker stack deploy against berthd: the same file, the same result', async () => {
    const d = n.daemon.docker(['stack', 'deploy', '-d', '--resolve-image', 'never', '-c', 'compose.yaml', 'dk'], { cwd: dir });
    assert.equal(d.status, 0, d.stderr);
    assert.equal(d.stdout, 'Creating network dk_default\nCreating secret dk_pw\nCreating config dk_appconf\nCreating service dk_app\n');
    // docker's redeploy posts each object's whole spec again (same data): berthd takes it, same IDs.
    const [s1] = await list('secrets', 'dk');
    const again = n.daemon.docker(['stack', 'deploy', '-d', '--resolve-image', 'never', '-c', 'compose.yaml', 'dk'], { cwd: dir });
    assert.equal(again.status, 0, again.stderr);
    assert.match(again.stdout, /^Updating service dk_app \(id: \w+\)\n$/);
    assert.equal((await list('secrets', 'dk'))[0].ID, s1.ID);
    await check('dk', () => n.daemon.docker(['stack', 'rm', 'dk']));
  });
});
