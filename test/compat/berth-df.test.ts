// `berth system df` and `berth builder prune` against a real berthd, with the docker CLI as the
// oracle: the same daemon state must print the same text (relative times aside), exit codes alike.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startDaemon, hasDocker, type Daemon, type RunOut } from '../integration/harness.ts';
import { build } from '../integration/build-util.ts';

const skip = hasDocker ? false : 'no docker client installed on this machine';
let d: Daemon;
before(async () => { if (!skip) d = await startDaemon(); });
after(async () => { await d?.stop(); });

const DOCKERFILE = 'FROM busybox\nRUN echo x > /x\nRUN head -c 300000 /dev/zero > /big\n';
const PROMPT = 'WARNING! This will remove all dangling build cache. Are you sure you want to continue? [y/N] ';
const PROMPT_ALL = 'WARNING! This will remove all build cache. Are you sure you want to continue? [y/N] ';

// Relative times ("3 seconds ago", "Up 2 seconds") are measured when each CLI runs; once they
// are masked, column widths may differ too, so runs of spaces are collapsed.
const TIME = /Less than a second|About a minute|About an hour|\d+ (?:seconds?|minutes?|hours?|days?|weeks?|months?|years?)/g;
const untimed = (s: string) => s.replace(TIME, '<t>').replace(/ +/g, ' ');

/** Runs both CLIs with the same arguments until their outputs agree (a second may tick between
 *  them); if they never do, they must agree once relative times are masked. */
function compare(args: string[]): { berth: RunOut; docker: RunOut } {
  let berth!: RunOut;
  let docker!: RunOut;
  for (let i = 0; i < 3; i++) {
    berth = d.berth(args);
    docker = d.docker(args);
    if (berth.stdout === docker.stdout) break;
  }
  assert.equal(berth.status, docker.status, `${args.join(' ')}: ${berth.stderr}`);
  assert.equal(berth.stderr, docker.stderr);
  if (berth.stdout !== docker.stdout) assert.equal(untimed(berth.stdout), untimed(docker.stdout), args.join(' '));
  return { berth, docker };
}

/** Build cache records exist after a build through the API. */
async function buildWithCache(tag: string): Promise<void> {
  let b;
  try {
    b = await build(d, { Dockerfile: DOCKERFILE }, { t: tag });
  } catch (e) {
    // The harness reuses keep-alive sockets: one the daemon has just closed as idle fails at
    // once (EPIPE/ECONNRESET) without reaching it, so the request is sent again.
    if (!['EPIPE', 'ECONNRESET'].includes((e as NodeJS.ErrnoException).code ?? '')) throw e;
    b = await build(d, { Dockerfile: DOCKERFILE }, { t: tag });
  }
  assert.equal(b.error, undefined, b.output);
  assert.ok(b.id);
}

const buildCacheRow = (out: string) => out.split('\n').find((l) => l.startsWith('Build Cache'));

test('system df: summary, -v and --format identical to docker\'s for the same daemon', { skip }, async () => {
  await buildWithCache('x:1');
  // A stopped container with a writable layer, a running one (ACTIVE), a created one.
  assert.equal(d.berth(['run', '--name', 'done', 'x:1', 'sh', '-c', 'head -c 20000 /dev/zero > /f']).status, 0);
  assert.equal(d.berth(['run', '-d', '--name', 'live', 'busybox', 'sleep', '300']).status, 0);
  assert.equal(d.berth(['create', '--name', 'fresh', 'busybox']).status, 0);

  // The summary has no times: byte for byte.
  const berth = d.berth(['system', 'df']);
  const docker = d.docker(['system', 'df']);
  assert.equal(berth.status, 0, berth.stderr);
  assert.equal(berth.stderr, '');
  assert.equal(berth.stdout, docker.stdout);
  assert.match(berth.stdout, /^TYPE {12}TOTAL {5}ACTIVE {4}SIZE {6}RECLAIMABLE\nImages {10}2 {9}2 {9}/);
  assert.match(berth.stdout, /\nContainers {6}3 {9}1 {9}\S+/);
  assert.match(buildCacheRow(berth.stdout)!, /^Build Cache {5}2 {9}0 {9}\S+/);
  for (const f of ['{{json .}}', 'json', 'raw', 'table {{.Type}}\\t{{.Reclaimable}}', '{{.Type}}: {{.TotalCount}}/{{.Active}} {{.Size}}']) {
    const r = d.berth(['system', 'df', '--format', f]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, d.docker(['system', 'df', '--format', f]).stdout, f);
  }

  // -v: the same tables (CREATED / LAST USED / STATUS are relative times).
  const v = compare(['system', 'df', '-v']);
  assert.match(v.berth.stdout, /^Images space usage:\n\nREPOSITORY +TAG +IMAGE ID +CREATED +SIZE +SHARED SIZE +UNIQUE SIZE +CONTAINERS\n/);
  assert.match(v.berth.stdout, /\nContainers space usage:\n\nCONTAINER ID +IMAGE +COMMAND +LOCAL VOLUMES +SIZE +CREATED +STATUS +NAMES\n/);
  assert.match(v.berth.stdout, /\nLocal Volumes space usage:\n\nVOLUME NAME +LINKS +SIZE\n\nBuild cache usage: \S+\n\nCACHE ID +CACHE TYPE +SIZE +CREATED +LAST USED +USAGE +SHARED\n(?:[0-9a-f]{12} +regular .*\n){2}$/);
  compare(['system', 'df', '-v', '--format', '{{json .}}']);
  compare(['system', 'df', '-v', '--format', 'raw']);
  compare(['system', 'df', '-v', '--format', '{{range .BuildCache}}{{.ID}} {{.Size}} {{.UsageCount}} {{.Shared}} {{.Description}}\n{{end}}']);
  compare(['system', 'df', '-v', '--format', '{{range .Containers}}{{.Names}} {{.Size}} {{.State}}\n{{end}}']);

  // Template errors: same message, exit 1.
  for (const f of ['{{.Foo}}', '{{.Foo', 'table {{.Type}}\t{{nosuch .}}']) {
    const r = compare(['system', 'df', '--format', f]);
    assert.equal(r.berth.status, 1);
    assert.match(r.berth.stderr, /^template parsing error: template: /);
  }
  const extra = d.berth(['system', 'df', 'x']);
  const dextra = d.docker(['system', 'df', 'x']);
  assert.equal(extra.status, 1);
  assert.equal(extra.stderr, dextra.stderr.replaceAll('docker', 'berth'));
});

test('builder prune: the prompt declines without a request; -f deletes and reports as docker does', { skip }, async () => {
  if (!buildCacheRow(d.berth(['system', 'df']).stdout)!.match(/^Build Cache\s+[1-9]/)) await buildWithCache('x:1');
  const before = d.berth(['system', 'df']).stdout;

  // Anything but y/Y: the prompt only, exit 0, nothing removed (docker's text exactly).
  for (const input of ['n\n', '\n', 'yes\n', '']) {
    const r = d.berth(['builder', 'prune'], { input });
    assert.deepEqual([r.status, r.stdout, r.stderr], [0, PROMPT, ''], JSON.stringify(input));
  }
  assert.equal(d.docker(['builder', 'prune'], { input: 'n\n' }).stdout, PROMPT);
  const all = d.berth(['builder', 'prune', '-a'], { input: 'N\n' });
  assert.deepEqual([all.status, all.stdout], [0, PROMPT_ALL]);
  assert.equal(d.docker(['builder', 'prune', '-a'], { input: 'N\n' }).stdout, PROMPT_ALL);
  assert.equal(d.berth(['system', 'df']).stdout, before);

  // Flag errors come before the prompt: exit 125 with docker's message.
  for (const [flag, value] of [['--keep-storage', 'abc'], ['--filter', 'abc']]) {
    const r = d.berth(['builder', 'prune', flag, value]);
    const dr = d.docker(['builder', 'prune', flag, value]);
    assert.equal(r.status, 125);
    assert.equal(dr.status, 125);
    assert.equal(r.stdout, '');
    const line = r.stderr.split('\n')[0];
    assert.match(line, new RegExp(`^invalid argument "abc" for "${flag}" flag: `));
    assert.ok(dr.stderr.split('\n').includes(line), dr.stderr);
  }

  // -f: the deleted records, a blank line, the total; no build cache afterwards.
  const pruned = d.berth(['builder', 'prune', '-f']);
  assert.equal(pruned.status, 0, pruned.stderr);
  assert.equal(pruned.stderr, '');
  assert.match(pruned.stdout, /^Deleted build cache objects:\n(?:[0-9a-f]{25}\n){2}\nTotal reclaimed space: \d+(?:\.\d+)?[kMG]?B\n$/);
  assert.equal(buildCacheRow(d.berth(['system', 'df']).stdout), 'Build Cache     0         0         0B        0B');
  assert.equal(d.berth(['system', 'df']).stdout, d.docker(['system', 'df']).stdout);
  // Nothing left: only the total.
  assert.equal(d.berth(['builder', 'prune', '-f']).stdout, 'Total reclaimed space: 0B\n');

  // The same state again, pruned by docker: the same text once IDs are masked.
  await buildWithCache('x:1');
  const dpruned = d.docker(['builder', 'prune', '-f']);
  assert.equal(dpruned.status, 0, dpruned.stderr);
  const mask = (s: string) => s.replace(/^[0-9a-f]{25}$/gm, '<id>');
  assert.equal(mask(pruned.stdout), mask(dpruned.stdout));
  assert.equal(d.docker(['builder', 'prune', '-f']).stdout, 'Total reclaimed space: 0B\n');
  assert.equal(buildCacheRow(d.berth(['system', 'df']).stdout), 'Build Cache     0         0         0B        0B');

  // y goes ahead like -f.
  await buildWithCache('x:1');
  const yes = d.berth(['builder', 'prune', '--all'], { input: 'y\n' });
  assert.equal(yes.status, 0, yes.stderr);
  assert.match(yes.stdout, /^WARNING! This will remove all build cache\. Are you sure you want to continue\? \[y\/N\] Deleted build cache objects:\n(?:[0-9a-f]{25}\n){2}\nTotal reclaimed space: /);
  assert.equal(buildCacheRow(d.berth(['system', 'df']).stdout), 'Build Cache     0         0         0B        0B');
});
