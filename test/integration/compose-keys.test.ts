// The service and top-level keys of a compose file, each brought to a real container by
// `berth compose up -d` and checked there (what the process sees: its user, hostname, files,
// limits, mounts) and in the engine's inspect (what compose asked for), then `down -v`. The
// create body is unit-tested key by key in src/compose/runtime/create-config.test.ts; this
// says the engine takes it and the container runs with it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDaemon, type Daemon, type RunOut } from './harness.ts';

let d: Daemon;
let dir: string;
before(async () => {
  d = await startDaemon();
  dir = mkdtempSync(join(tmpdir(), 'berth-compose-keys-'));
});
after(async () => {
  await d?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const ok = (r: RunOut) => { assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`); return r; };
const compose = (p: string, args: string[]) => d.berth(['compose', '-f', join(p, 'compose.yaml'), '-p', 'keys', ...args], { timeout: 180_000 });
const sh = (container: string, cmd: string) => d.berth(['exec', container, 'sh', '-c', cmd], { timeout: 30_000 });
const inspect = async (name: string) => (await d.api('GET', `/containers/${name}/json`)).json();

const YAML = `
services:
  box:
    image: busybox
    container_name: keys-box
    command: ["sleep", "600"]
    init: true
    hostname: boxhost
    domainname: example.test
    user: "1000:1000"
    working_dir: /tmp
    env_file: [box.env]
    environment: [LIST_FORM=yes]
    labels: { tier: backend }
    expose: ["9000"]
    read_only: true
    tmpfs: [/scratch]
    extra_hosts: ["myhost:10.1.2.3"]
    dns: [192.0.2.53]
    ulimits: { nofile: { soft: 1024, hard: 2048 } }
    mem_limit: 64m
    cpus: 0.5
    pids_limit: 50
    shm_size: 32m
    stop_signal: SIGUSR1
    stop_grace_period: 3s
    logging: { driver: json-file, options: { max-size: 1m } }
    security_opt: ["no-new-privileges:true"]
    tty: true
    stdin_open: true
    networks:
      front: { priority: 10 }
      back: { priority: 100 }
    volumes:
      - type: bind
        source: ./made-by-compose
        target: /made
        bind: { create_host_path: true }
      - type: bind
        source: ./ro
        target: /ro
        read_only: true
      - type: volume
        source: data
        target: /data
        volume: { nocopy: true }
  admin:
    image: busybox
    command: ["sleep", "600"]
    init: true
    cap_add: [NET_ADMIN]
    cap_drop: [CHOWN]
    sysctls: { net.core.somaxconn: 1000 }
    devices: ["/dev/null:/dev/mynull"]
    deploy:
      resources: { limits: { memory: 32m, pids: 40 }, reservations: { memory: 16m } }
      restart_policy: { condition: on-failure, max_attempts: 2 }
  root:
    image: busybox
    command: ["sleep", "600"]
    init: true
    privileged: true
networks:
  front:
    labels: { role: front }
  back:
    internal: true
    driver_opts: { com.example.opt: "1" }
volumes:
  data:
    labels: { kept: "yes" }
`;

test('service and top-level keys reach the containers: user, names, env_file, limits, mounts, networks, caps, sysctls, devices', async () => {
  const p = join(dir, 'app');
  mkdirSync(join(p, 'ro'), { recursive: true });
  writeFileSync(join(p, 'compose.yaml'), YAML);
  writeFileSync(join(p, 'box.env'), 'FROM_FILE=bar\n');
  writeFileSync(join(p, 'ro', 'file'), 'read me\n');
  try {
    ok(compose(p, ['up', '-d']));

    // box: identity, environment, filesystem.
    assert.equal(ok(sh('keys-box', 'id -u; id -g; pwd; hostname; echo $FROM_FILE $LIST_FORM')).stdout, '1000\n1000\n/tmp\nboxhost\nbar yes\n');
    assert.notEqual(sh('keys-box', 'touch /rootfs-write').status, 0, 'read_only root filesystem');
    ok(sh('keys-box', 'touch /scratch/x'));
    assert.match(ok(sh('keys-box', 'grep myhost /etc/hosts')).stdout, /^10\.1\.2\.3\s+myhost/m);
    // The container's own process (runc create: not racy). An exec's NOFILE can come out wrong
    // once in a while with Debian's runc 1.1.5 (its parent's prlimit races runc init's Go runtime
    // raising the soft limit: opencontainers/runc#4195, fixed in 1.1.13): Docker's exec too.
    assert.match(ok(sh('keys-box', 'grep "open files" /proc/1/limits')).stdout, /^Max open files\s+1024\s+2048\s+files/m);
    assert.match(ok(sh('keys-box', 'grep NoNewPrivs /proc/self/status')).stdout, /NoNewPrivs:\s+1/);
    assert.match(ok(sh('keys-box', 'df -k /dev/shm | tail -1')).stdout, /\s32768\s/);
    assert.equal(ok(sh('keys-box', 'cat /ro/file')).stdout, 'read me\n');
    assert.notEqual(sh('keys-box', 'touch /ro/other').status, 0, 'read_only bind');
    assert.ok(existsSync(join(p, 'made-by-compose')), 'bind.create_host_path made the source');

    const box = await inspect('keys-box');
    assert.equal(box.Config.Domainname, 'example.test');
    assert.equal(box.Config.Labels.tier, 'backend');
    assert.equal(box.Config.Labels['com.docker.compose.service'], 'box');
    assert.ok('9000/tcp' in box.Config.ExposedPorts, JSON.stringify(box.Config.ExposedPorts));
    assert.equal(box.Config.StopSignal, 'SIGUSR1');
    assert.equal(box.Config.StopTimeout, 3);
    assert.equal(box.Config.Tty, true);
    assert.equal(box.Config.OpenStdin, true);
    assert.deepEqual(box.HostConfig.Dns, ['192.0.2.53']);
    assert.equal(box.HostConfig.Memory, 64 * 1024 * 1024);
    assert.equal(box.HostConfig.NanoCpus, 500_000_000);
    assert.equal(box.HostConfig.PidsLimit, 50);
    assert.equal(box.HostConfig.ShmSize, 32 * 1024 * 1024);
    assert.deepEqual(box.HostConfig.LogConfig, { Type: 'json-file', Config: { 'max-size': '1m' } });
    // The network with the higher priority is the primary one; both are connected.
    assert.equal(box.HostConfig.NetworkMode, 'keys_back');
    assert.deepEqual(Object.keys(box.NetworkSettings.Networks).sort(), ['keys_back', 'keys_front']);
    const data = box.Mounts.find((m: any) => m.Destination === '/data');
    assert.equal(data?.Name, 'keys_data');

    // admin: capabilities, a namespaced sysctl, a device, deploy's limits and restart policy.
    const admin = await inspect('keys-admin-1');
    assert.deepEqual(admin.HostConfig.CapAdd, ['NET_ADMIN']);
    assert.deepEqual(admin.HostConfig.CapDrop, ['CHOWN']);
    assert.equal(ok(sh('keys-admin-1', 'cat /proc/sys/net/core/somaxconn')).stdout, '1000\n');
    ok(sh('keys-admin-1', 'test -c /dev/mynull'));
    ok(sh('keys-admin-1', 'ip addr add 10.9.9.9/32 dev lo'));   // NET_ADMIN
    assert.notEqual(sh('keys-admin-1', 'touch /tmp/f && chown 1 /tmp/f').status, 0, 'CHOWN dropped');
    assert.equal(admin.HostConfig.Memory, 32 * 1024 * 1024);
    assert.equal(admin.HostConfig.PidsLimit, 40);
    assert.equal(admin.HostConfig.MemoryReservation, 16 * 1024 * 1024);
    assert.deepEqual(admin.HostConfig.RestartPolicy, { Name: 'on-failure', MaximumRetryCount: 2 });

    assert.equal((await inspect('keys-root-1')).HostConfig.Privileged, true);

    // Top-level networks and volumes: labels, internal, driver options.
    const back = (await d.api('GET', '/networks/keys_back')).json();
    assert.equal(back.Internal, true);
    assert.equal(back.Options['com.example.opt'], '1');
    const front = (await d.api('GET', '/networks/keys_front')).json();
    assert.equal(front.Labels.role, 'front');
    assert.equal(front.Labels['com.docker.compose.network'], 'front');
    const vol = (await d.api('GET', '/volumes/keys_data')).json();
    assert.equal(vol.Labels.kept, 'yes');
    assert.equal(vol.Labels['com.docker.compose.volume'], 'data');
  } finally {
    compose(p, ['down', '-v', '-t', '1']);
  }
  assert.equal((await d.api('GET', '/volumes/keys_data')).status, 404);
  assert.equal((await d.api('GET', '/networks/keys_back')).status, 404);
});

test('network_mode none, host and service:x; a dependency that is not required and not active; up --pull never', async () => {
  const p = join(dir, 'modes');
  mkdirSync(p, { recursive: true });
  writeFileSync(join(p, 'compose.yaml'), `
services:
  lonely: { image: busybox, command: ["sleep", "600"], init: true, network_mode: none }
  hosty: { image: busybox, command: ["sleep", "600"], init: true, network_mode: host }
  joiner: { image: busybox, command: ["sleep", "600"], init: true, network_mode: "service:lonely" }
  app:
    image: busybox
    command: ["sleep", "600"]
    init: true
    depends_on: { optional: { condition: service_started, required: false } }
  optional: { image: busybox, command: ["sleep", "600"], profiles: [extra] }
  missing: { image: "berth-test/not-here:1", profiles: [broken] }
`);
  try {
    ok(compose(p, ['up', '-d', '--pull', 'never']));
    assert.equal(ok(sh('keys-lonely-1', 'ls /sys/class/net')).stdout, 'lo\n');
    const hostIfs = readdirSync('/sys/class/net').sort();
    assert.deepEqual(ok(sh('keys-hosty-1', 'ls /sys/class/net')).stdout.trim().split(/\s+/).sort(), hostIfs);
    assert.equal((await inspect('keys-hosty-1')).HostConfig.NetworkMode, 'host');
    const lonely = await inspect('keys-lonely-1');
    assert.equal((await inspect('keys-joiner-1')).HostConfig.NetworkMode, `container:${lonely.Id}`);
    assert.equal(ok(sh('keys-joiner-1', 'ls /sys/class/net')).stdout, 'lo\n');
    assert.equal((await inspect('keys-app-1')).State.Running, true);
    assert.equal((await d.api('GET', '/containers/keys-optional-1/json')).status, 404, 'an inactive optional dependency is not started');
    // --pull never with an image that is not there: compose's error, nothing created for it.
    const never = compose(p, ['--profile', 'broken', 'up', '-d', '--pull', 'never', 'missing']);
    assert.notEqual(never.status, 0);
    assert.match(never.stderr, /No such image: berth-test\/not-here:1/);
  } finally {
    compose(p, ['--profile', 'broken', '--profile', 'extra', 'down', '-v', '-t', '1']);
  }
});
