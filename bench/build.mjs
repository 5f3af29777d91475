#!/usr/bin/env node
// bench/build: wall time of three builds — a 10-step Dockerfile (4 RUN + 3 COPY + ENV/WORKDIR/CMD),
// a 3-stage one, and one with a 50 MB COPY — each cold (--no-cache), fully cached, and after one
// source file changed. The client is the real docker CLI's legacy builder (DOCKER_BUILDKIT=0)
// for both engines, so the figures compare the daemons; `berth build` is timed too.
// The Docker anchor is measured in the same run when BENCH_DOCKER_HOST names a Docker engine
// that has a busybox image (e.g. the reference dockerd, see DESIGN.md).
// Uses a private berthd (own data/exec root and socket).
// Usage: node bench/build.mjs [iterations]   (root; after `npm run build`)
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync, openSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import http from 'node:http';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const N = Number(process.argv[2] ?? 3);
const median = (a) => { const s = [...a].sort((x, y) => x - y); return s[Math.floor(s.length / 2)]; };
const ping = (sock) => new Promise((res) => { const r = http.get({ socketPath: sock, path: '/_ping' }, (x) => { x.resume(); res(x.statusCode === 200); }); r.on('error', () => res(false)); });

const tmp = mkdtempSync(join(tmpdir(), 'berth-bench-build-'));
let daemon;
let cleaned = false;
const cleanup = () => {
  if (cleaned) return;
  cleaned = true;
  if (daemon) {
    daemon.kill('SIGTERM');
    spawnSync('sh', ['-c', `for i in $(seq 1 100); do kill -0 ${daemon.pid} 2>/dev/null || exit 0; sleep 0.05; done`]);
  }
  spawnSync('sh', ['-c', `grep -o '${tmp}[^ ]*' /proc/self/mountinfo | sort -r | xargs -r -n1 umount -l`]);
  rmSync(tmp, { recursive: true, force: true });
};
process.on('exit', cleanup);
process.on('SIGINT', () => process.exit(130));

function write(dir, files) {
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), content);
  }
}

// The three projects. `touch` names the file changed for the third measurement.
const projects = {
  'ten-step': {
    files: {
      Dockerfile: [
        'FROM busybox',
        'ENV APP_HOME=/app',
        'WORKDIR /app',
        'COPY package.txt ./',
        'RUN mkdir -p deps && for i in 1 2 3 4 5; do echo dep$i > deps/$i; done',
        'COPY src/ ./src/',
        'RUN cat src/*.js > bundle.js',
        'COPY config.txt ./',
        'RUN wc -c bundle.js > size.txt',
        'RUN echo done > status.txt',
        'CMD ["cat", "status.txt"]',
      ].join('\n'),
      'package.txt': 'name=app\n',
      'src/a.js': 'console.log("a");\n',
      'src/b.js': 'console.log("b");\n',
      'config.txt': 'debug=false\n',
    },
    touch: 'config.txt',
  },
  'three-stage': {
    files: {
      Dockerfile: [
        'FROM busybox AS deps',
        'RUN mkdir /deps && echo lib > /deps/lib.txt',
        'FROM busybox AS build',
        'COPY src/ /src/',
        'RUN cat /src/*.c > /out.bin',
        'FROM busybox',
        'COPY --from=deps /deps /deps',
        'COPY --from=build /out.bin /app/out.bin',
        'CMD ["ls", "/app"]',
      ].join('\n'),
      'src/main.c': 'int main(){return 0;}\n',
      'src/util.c': 'int util(){return 1;}\n',
    },
    touch: 'src/util.c',
  },
  'copy-50mb': {
    files: {
      Dockerfile: 'FROM busybox\nCOPY big.bin /data/big.bin\nCOPY small.txt /data/small.txt\nCMD ["ls", "-l", "/data"]\n',
      'big.bin': randomBytes(50 * 1024 * 1024),
      'small.txt': 'small\n',
    },
    touch: 'small.txt',
  },
};

function timeBuild(cmd, args, env, cwd) {
  const t = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { env, cwd, stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 << 20 });
  const ms = Number(process.hrtime.bigint() - t) / 1e6;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr}\n${r.stdout}`);
  return ms;
}

/** cold / cached / one-file-changed medians for one engine through one client. */
function measure(name, client, project, dir) {
  const cold = [];
  const cached = [];
  const touched = [];
  for (let i = 0; i < N; i++) {
    cold.push(client(['--no-cache', '-t', `bench-${name}`, dir]));
    cached.push(client(['-t', `bench-${name}`, dir]));
    writeFileSync(join(dir, project.touch), `changed ${i} ${Date.now()}\n`);
    touched.push(client(['-t', `bench-${name}`, dir]));
  }
  return { cold: median(cold), cached: median(cached), touched: median(touched) };
}

try {
  const sock = join(tmp, 'b.sock');
  const log = openSync(join(tmp, 'berthd.log'), 'a');
  daemon = spawn(join(root, 'bin/berthd'), ['--data-root', join(tmp, 'data'), '--exec-root', join(tmp, 'exec'), '-H', `unix://${sock}`, '-b', 'none'], { stdio: ['ignore', log, log] }); // no bridge: not what this measures, and nothing left on the host
  for (let i = 0; i < 100 && !(await ping(sock)); i++) await new Promise((r) => setTimeout(r, 50));
  const host = `unix://${sock}`;
  const tar = spawnSync('bash', [join(root, 'scripts/busybox-rootfs')], { maxBuffer: 64 << 20 }).stdout;
  const imp = spawnSync(join(root, 'bin/berth'), ['-H', host, 'import', '-c', 'CMD ["sh"]', '-', 'busybox:latest'], { input: tar });
  if (imp.status !== 0) throw new Error(`import failed: ${imp.stderr}`);

  const dockerEnv = (h) => ({ ...process.env, DOCKER_HOST: h, DOCKER_BUILDKIT: '0', DOCKER_CONFIG: join(tmp, 'docker-config') });
  const dockerClient = (h) => (args) => timeBuild('docker', ['build', '-q', '--network', 'none', ...args], dockerEnv(h));
  const berthClient = (args) => timeBuild(join(root, 'bin/berth'), ['build', '-q', ...args], { ...process.env, BERTH_HOST: host });
  const hasDockerCli = spawnSync('docker', ['--version']).status === 0;
  const hasBerthBuild = spawnSync(join(root, 'bin/berth'), ['build', '--help']).status === 0;

  const rows = [];
  for (const [name, project] of Object.entries(projects)) {
    const dir = join(tmp, 'ctx', name);
    write(dir, project.files);
    // warm-up: page cache, first mount
    (hasBerthBuild ? berthClient : dockerClient(host))(['-t', `bench-${name}`, dir]);
    const row = { name };
    if (hasBerthBuild) row.berthCli = measure(name, berthClient, project, dir);
    if (hasDockerCli) row.berthViaDocker = measure(name, dockerClient(host), project, dir);
    if (process.env.BENCH_DOCKER_HOST) {
      dockerClient(process.env.BENCH_DOCKER_HOST)(['-t', `bench-${name}`, dir]);
      row.docker = measure(name, dockerClient(process.env.BENCH_DOCKER_HOST), project, dir);
    }
    rows.push(row);
  }

  const f = (ms) => (ms === undefined ? '-' : `${ms.toFixed(0)} ms`);
  const ratio = (a, b) => (a === undefined || b === undefined ? '-' : `${(a / b).toFixed(2)}x`);
  console.log(`bench/build (median of ${N}; docker CLI ${hasDockerCli ? 'legacy builder, DOCKER_BUILDKIT=0' : 'absent'})`);
  console.log('project      phase    berth CLI   docker CLI->berthd   docker CLI->dockerd   berthd/dockerd');
  for (const r of rows) {
    for (const phase of ['cold', 'cached', 'touched']) {
      const b = r.berthCli?.[phase];
      const bd = r.berthViaDocker?.[phase];
      const dd = r.docker?.[phase];
      console.log(`${r.name.padEnd(12)} ${phase.padEnd(8)} ${f(b).padStart(9)}   ${f(bd).padStart(18)}   ${f(dd).padStart(19)}   ${ratio(bd, dd).padStart(14)}`);
    }
  }
  if (!process.env.BENCH_DOCKER_HOST) console.log('(set BENCH_DOCKER_HOST=unix:///path/to/docker.sock for the Docker ratio; the targets are cold <= 0.8x, cached <= 1x)');
} finally {
  cleanup();
}
process.exit(0);
