// The service → container-create mapping on loaded projects: every key group compose maps, the
// Binds/Mounts split, networks at create (API ≥ 1.44) or one at a time, labels, and the errors.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadComposeProject, type Project } from '../index.ts';
import { containerCreateBody, exposedPorts, fileTarget, mobyEnv, restartPolicy, serviceLabels, type CreateOptions } from './create-config.ts';

const dirs: string[] = [];
after(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

function load(yaml: string, files: Record<string, string> = {}): Project {
  const root = mkdtempSync(join(tmpdir(), 'berth-cc-'));
  dirs.push(root);
  const dir = join(root, 'app');
  mkdirSync(dir);
  writeFileSync(join(dir, 'compose.yaml'), yaml);
  for (const [f, c] of Object.entries(files)) writeFileSync(join(dir, f), c);
  return loadComposeProject({ files: [], envFiles: [], profiles: [] }, { cwd: dir, env: { PATH: '/bin' } });
}

const opts = (o: Partial<CreateOptions> = {}): CreateOptions => ({ apiVersion: '1.47', labels: { l: '1' }, useNetworkAliases: true, ...o });
const body = (p: Project, svc: string, o: Partial<CreateOptions> = {}, n = 1) => containerCreateBody(p, p.services[svc], n, opts(o)) as any;

test('the basic keys: image, command, entrypoint, environment, user, working dir, tty, labels, stop settings', () => {
  const p = load(`
services:
  web:
    image: busybox:1.36
    command: ["httpd", "-f"]
    entrypoint: /bin/sh -c
    environment: { B: "2", A: "1", C: null }
    user: "1000:1000"
    working_dir: /srv
    hostname: web
    domainname: example.org
    tty: true
    stdin_open: true
    stop_signal: SIGINT
    stop_grace_period: 1m30s
    init: true
    read_only: true
    privileged: true
`);
  const b = body(p, 'web');
  assert.equal(b.Image, 'busybox:1.36');
  assert.deepEqual(b.Cmd, ['httpd', '-f']);
  assert.deepEqual(b.Entrypoint, ['/bin/sh', '-c']);
  assert.deepEqual(b.Env, ['A=1', 'B=2', 'C']);
  assert.equal(b.User, '1000:1000');
  assert.equal(b.WorkingDir, '/srv');
  assert.equal(b.Hostname, 'web');
  assert.equal(b.Domainname, 'example.org');
  assert.equal(b.Tty, true);
  assert.equal(b.OpenStdin, true);
  assert.equal(b.StdinOnce, false);
  assert.equal(b.AttachStdout, true);
  assert.equal(b.StopSignal, 'SIGINT');
  assert.equal(b.StopTimeout, 90);
  assert.deepEqual(b.Labels, { l: '1' });
  assert.equal(b.HostConfig.Init, true);
  assert.equal(b.HostConfig.ReadonlyRootfs, true);
  assert.equal(b.HostConfig.Privileged, true);
  // Unset command/entrypoint: the image's (null), not an empty list.
  const q = load('services:\n  a:\n    image: busybox\n');
  assert.equal(body(q, 'a').Cmd, null);
  assert.equal(body(q, 'a').Entrypoint, null);
  assert.equal(body(q, 'a').StopTimeout, undefined);
});

test('ports (ranges, host IP, protocols) and expose become PortBindings and ExposedPorts', () => {
  const p = load(`
services:
  web:
    image: busybox
    ports:
      - "127.0.0.1:8080:80"
      - "9000-9001:9000-9001"
      - "53:53/udp"
      - target: 443
        published: "8443"
        host_ip: 127.0.0.2
      - "3000"
    expose: ["7000", "7100-7101/udp"]
`);
  const b = body(p, 'web');
  assert.deepEqual(b.HostConfig.PortBindings, {
    '80/tcp': [{ HostIp: '127.0.0.1', HostPort: '8080' }],
    '9000/tcp': [{ HostIp: '', HostPort: '9000' }],
    '9001/tcp': [{ HostIp: '', HostPort: '9001' }],
    '53/udp': [{ HostIp: '', HostPort: '53' }],
    '443/tcp': [{ HostIp: '127.0.0.2', HostPort: '8443' }],
    '3000/tcp': [{ HostIp: '', HostPort: '' }],
  });
  assert.deepEqual(Object.keys(b.ExposedPorts).sort(), ['3000/tcp', '443/tcp', '53/udp', '7000/tcp', '7100/udp', '7101/udp', '80/tcp', '9000/tcp', '9001/tcp']);
  assert.deepEqual(exposedPorts({}), undefined);
});

test('volumes: named and bind short syntax as Binds; long syntax, anonymous, tmpfs, nocopy, read_only as Mounts', () => {
  const p = load(`
services:
  db:
    image: busybox
    volumes:
      - data:/data
      - ./conf:/etc/conf:ro
      - /var/cache
      - type: bind
        source: ./strict
        target: /strict
        bind: { create_host_path: false }
      - type: volume
        source: data
        target: /nocopy
        volume: { nocopy: true }
      - type: tmpfs
        target: /scratch
        tmpfs: { size: 1048576, mode: 0o1777 }
      - type: volume
        source: data
        target: /ro
        read_only: true
    tmpfs: ["/run:size=64k", /tmp]
volumes:
  data:
`);
  const b = body(p, 'db');
  const dir = p.workingDir;
  assert.deepEqual(b.HostConfig.Binds, ['app_data:/data:rw', `${dir}/conf:/etc/conf:ro`, 'app_data:/ro:ro']);
  assert.deepEqual(b.HostConfig.Mounts, [
    { Type: 'volume', Target: '/var/cache', VolumeOptions: {} },
    { Type: 'bind', Source: `${dir}/strict`, Target: '/strict', BindOptions: {} },
    { Type: 'volume', Source: 'app_data', Target: '/nocopy', VolumeOptions: { NoCopy: true } },
    { Type: 'tmpfs', Target: '/scratch', TmpfsOptions: { SizeBytes: 1048576, Mode: 0o1777 } },
  ]);
  assert.deepEqual(b.HostConfig.Tmpfs, { '/run': 'size=64k', '/tmp': '' });
});

test('a recreated container takes over its anonymous volumes (and the image\'s VOLUMEs), not its named ones', () => {
  const p = load(`
services:
  db:
    image: busybox
    volumes: [/anon, data:/named]
volumes:
  data:
`);
  const inherit = {
    mounts: [
      { Type: 'volume', Name: 'abc123', Source: '/x/abc123/_data', Destination: '/anon', RW: true },
      { Type: 'volume', Name: 'app_data', Source: '/x/app_data/_data', Destination: '/named', RW: true },
      { Type: 'volume', Name: 'img999', Source: '/x/img999/_data', Destination: '/var/lib/img', RW: true },
      { Type: 'tmpfs', Source: '', Destination: '/tmp', RW: true },
    ],
    imageVolumes: ['/var/lib/img'],
  };
  const b = body(p, 'db', { inherit });
  assert.deepEqual(b.HostConfig.Binds, ['app_data:/named:rw']);
  assert.deepEqual(b.HostConfig.Mounts, [
    { Type: 'volume', Source: 'abc123', Target: '/anon' },
    { Type: 'volume', Source: 'img999', Target: '/var/lib/img' },
  ]);
});

test('networks: aliases (container name, service, own), static address, priority; all at create from API 1.44, the first only before', () => {
  const p = load(`
services:
  web:
    image: busybox
    networks:
      front:
        aliases: [www]
        ipv4_address: 10.5.0.5
      back:
        priority: 100
  solo:
    image: busybox
    network_mode: host
  none:
    image: busybox
    network_mode: none
networks:
  front:
    ipam: { config: [{ subnet: 10.5.0.0/24 }] }
  back:
`);
  const b = body(p, 'web', {}, 2);
  assert.equal(b.HostConfig.NetworkMode, 'app_back');
  assert.deepEqual(b.NetworkingConfig.EndpointsConfig, {
    app_front: { Aliases: ['app-web-2', 'web', 'www'], IPAMConfig: { IPv4Address: '10.5.0.5' } },
    app_back: { Aliases: ['app-web-2', 'web'], IPAMConfig: {} },
  });
  const old = body(p, 'web', { apiVersion: '1.41' }, 2);
  assert.deepEqual(Object.keys(old.NetworkingConfig.EndpointsConfig), ['app_back']);
  assert.equal(body(p, 'solo').HostConfig.NetworkMode, 'host');
  assert.equal(body(p, 'solo').NetworkingConfig, undefined);
  assert.equal(body(p, 'none').HostConfig.NetworkMode, 'none');
  // one-off containers (run) get only their container name
  assert.deepEqual(body(p, 'web', { useNetworkAliases: false }, 2).NetworkingConfig.EndpointsConfig.app_back.Aliases, ['app-web-2']);
});

test('resources, restart policies, healthcheck, security and the rest of HostConfig', () => {
  const p = load(`
services:
  app:
    image: busybox
    mem_limit: 64m
    cpus: 0.5
    pids_limit: 50
    shm_size: 32m
    cap_add: [NET_ADMIN]
    cap_drop: [ALL]
    security_opt: [no-new-privileges, systempaths=unconfined]
    devices: ["/dev/null:/dev/nothing:rwm"]
    ulimits:
      nproc: 65535
      nofile: { soft: 1024, hard: 2048 }
    sysctls: { net.core.somaxconn: "1024" }
    extra_hosts: ["somehost=10.0.0.1"]
    dns: [127.0.0.53]
    logging: { driver: json-file, options: { max-size: 1m } }
    restart: on-failure:3
    healthcheck:
      test: ["CMD", "true"]
      interval: 2s
      timeout: 1s
      retries: 3
      start_period: 5s
  limited:
    image: busybox
    deploy:
      resources:
        limits: { cpus: "1.5", memory: 128m, pids: 10 }
        reservations: { memory: 32m }
      restart_policy: { condition: any, max_attempts: 2 }
  nohc:
    image: busybox
    healthcheck: { disable: true }
`);
  const h = body(p, 'app').HostConfig;
  assert.equal(h.Memory, 64 * 1024 * 1024);
  assert.equal(h.NanoCpus, 500_000_000);
  assert.equal(h.PidsLimit, 50);
  assert.equal(h.ShmSize, 32 * 1024 * 1024);
  assert.deepEqual(h.CapAdd, ['NET_ADMIN']);
  assert.deepEqual(h.CapDrop, ['ALL']);
  assert.deepEqual(h.SecurityOpt, ['no-new-privileges']);
  assert.deepEqual(h.MaskedPaths, []);
  assert.deepEqual(h.ReadonlyPaths, []);
  assert.deepEqual(h.Devices, [{ PathOnHost: '/dev/null', PathInContainer: '/dev/nothing', CgroupPermissions: 'rwm' }]);
  assert.deepEqual(h.Ulimits, [{ Name: 'nofile', Soft: 1024, Hard: 2048 }, { Name: 'nproc', Soft: 65535, Hard: 65535 }]);
  assert.deepEqual(h.Sysctls, { 'net.core.somaxconn': '1024' });
  assert.deepEqual(h.ExtraHosts, ['somehost:10.0.0.1']);
  assert.deepEqual(h.Dns, ['127.0.0.53']);
  assert.deepEqual(h.LogConfig, { Type: 'json-file', Config: { 'max-size': '1m' } });
  assert.deepEqual(h.RestartPolicy, { Name: 'on-failure', MaximumRetryCount: 3 });
  assert.deepEqual(body(p, 'app').Healthcheck, { Test: ['CMD', 'true'], Interval: 2e9, Timeout: 1e9, StartPeriod: 5e9, Retries: 3 });
  const l = body(p, 'limited').HostConfig;
  assert.equal(l.Memory, 128 * 1024 * 1024);
  assert.equal(l.NanoCpus, 1_500_000_000);
  assert.equal(l.PidsLimit, 10);
  assert.equal(l.MemoryReservation, 32 * 1024 * 1024);
  assert.deepEqual(l.RestartPolicy, { Name: 'always', MaximumRetryCount: 2 });
  assert.deepEqual(body(p, 'nohc').Healthcheck, { Test: ['NONE'] });
  assert.deepEqual(restartPolicy({ restart: 'unless-stopped' }), { Name: 'unless-stopped', MaximumRetryCount: 0 });
  assert.equal(restartPolicy({}), undefined);
});

test('secrets and configs: files bind-mounted read-only at /run/secrets/<name> and their targets; content ones left for the start', () => {
  const p = load(`
services:
  app:
    image: busybox
    secrets: [token, { source: env_secret, target: other }]
    configs: [conf, { source: inline, target: /etc/inline.conf }]
secrets:
  token: { file: ./token.txt }
  env_secret: { environment: SECRET_VALUE }
configs:
  conf: { file: ./app.conf }
  inline: { content: "hello" }
`, { 'token.txt': 's3cret', 'app.conf': 'x=1' });
  const m = body(p, 'app').HostConfig.Mounts;
  assert.deepEqual(m, [
    { Type: 'bind', Source: join(p.workingDir, 'token.txt'), Target: '/run/secrets/token', ReadOnly: true, BindOptions: {} },
    { Type: 'bind', Source: join(p.workingDir, 'app.conf'), Target: '/conf', ReadOnly: true },
  ]);
  assert.equal(fileTarget({ source: 'x' }, 'secret'), '/run/secrets/x');
  assert.equal(fileTarget({ source: 'x', target: 'y' }, 'secret'), '/run/secrets/y');
  assert.equal(fileTarget({ source: 'x' }, 'config'), '/x');
  assert.equal(fileTarget({ source: 'x', target: '/etc/x' }, 'config'), '/etc/x');
});

test('labels: the service\'s own, compose\'s, the hash, number and dependencies', () => {
  const p = load(`
services:
  web:
    image: busybox
    labels: { tier: front }
    depends_on:
      db: { condition: service_healthy, restart: true }
      cache: { condition: service_started }
  db: { image: busybox }
  cache: { image: busybox }
`);
  const l = serviceLabels(p, p.services.web, { number: 2, hash: 'h', imageId: 'sha256:1', replace: 'web-2' });
  assert.deepEqual(l, {
    tier: 'front',
    'com.docker.compose.project': 'app',
    'com.docker.compose.service': 'web',
    'com.docker.compose.version': '2.40.3',
    'com.docker.compose.project.working_dir': p.workingDir,
    'com.docker.compose.project.config_files': join(p.workingDir, 'compose.yaml'),
    'com.docker.compose.oneoff': 'False',
    'com.docker.compose.image': 'sha256:1',
    'com.docker.compose.replace': 'web-2',
    'com.docker.compose.config-hash': 'h',
    'com.docker.compose.container-number': '2',
    'com.docker.compose.depends_on': 'cache:service_started:false,db:service_healthy:true',
  });
  assert.equal(serviceLabels(p, p.services.db, { number: 0, hash: 'h', oneoff: true })['com.docker.compose.container-number'], undefined);
  assert.deepEqual(mobyEnv({ X: null }), ['X']);
});

test('bad input: start_interval without start_period, interface_name on this API, an unreadable seccomp profile', () => {
  const p = load(`
services:
  a:
    image: busybox
    healthcheck: { test: ["CMD", "true"], start_interval: 1s }
  b:
    image: busybox
    networks: { default: { interface_name: eth5 } }
  c:
    image: busybox
    security_opt: ["seccomp=./missing.json"]
`);
  assert.throws(() => body(p, 'a'), /healthcheck.start_interval requires healthcheck.start_period to be set/);
  assert.throws(() => body(p, 'b'), /interface_name requires Docker Engine v28.1 or later/);
  assert.throws(() => body(p, 'c'), /opening seccomp profile \(\.\/missing\.json\) failed/);
});
