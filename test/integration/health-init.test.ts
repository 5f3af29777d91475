// Healthchecks (State.Health, ps status and filter, health_status events, timeouts, the image's
// HEALTHCHECK, --no-healthcheck, start period, stop) and --init reaping orphaned children,
// through the API, the berth CLI and the docker CLI.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startDaemon, hasDocker, type Daemon } from './harness.ts';
import { build } from './build-util.ts';

let d: Daemon;
before(async () => { d = await startDaemon({ importBusybox: true }); });
after(async () => { await d?.stop(); });

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Health { Status: string; FailingStreak: number; Log: { Start: string; End: string; ExitCode: number; Output: string }[] }

async function health(name: string): Promise<Health | undefined> {
  return (await d.api('GET', `/containers/${name}/json`)).json().State.Health;
}

async function waitHealth(name: string, status: string, ms = 15_000): Promise<Health> {
  let h: Health | undefined;
  for (const t0 = Date.now(); Date.now() - t0 < ms; await sleep(200)) {
    h = await health(name);
    if (h?.Status === status) return h;
  }
  assert.fail(`health of ${name} never became ${status}: ${JSON.stringify(h)}`);
}

test('--health-cmd: starting → unhealthy after Retries failures → healthy; ps, filter, events, Log', async () => {
  const since = Math.floor(Date.now() / 1000) - 1;
  const r = d.berth(['run', '-d', '--name', 'hc', '--health-cmd', 'echo probing; test -f /tmp/ok', '--health-interval', '1s', '--health-retries', '2', 'busybox', 'sleep', '300']);
  assert.equal(r.status, 0, r.stderr);
  const first = await health('hc');
  assert.equal(first?.Status, 'starting');
  assert.match(d.berth(['ps', '--format', '{{.Status}}', '--filter', 'name=hc']).stdout, /^Up .* \(health: starting\)$/m);

  const bad = await waitHealth('hc', 'unhealthy');
  assert.ok(bad.FailingStreak >= 2);
  assert.equal(bad.Log.at(-1)!.ExitCode, 1);
  assert.equal(bad.Log.at(-1)!.Output, 'probing\n');
  assert.match(d.berth(['ps', '--format', '{{.Status}}', '--filter', 'name=hc']).stdout, /^Up .* \(unhealthy\)$/m);
  assert.equal(d.berth(['ps', '-q', '--filter', 'health=unhealthy']).stdout.trim().length, 12);

  assert.equal(d.berth(['exec', 'hc', 'touch', '/tmp/ok']).status, 0);
  const good = await waitHealth('hc', 'healthy');
  assert.equal(good.FailingStreak, 0);
  assert.equal(good.Log.at(-1)!.ExitCode, 0);
  // Docker keeps the last 5 probes.
  await sleep(4000);
  assert.equal((await health('hc'))!.Log.length, 5);
  assert.match(d.berth(['ps', '--format', '{{.Names}} {{.Status}}']).stdout, /^hc Up .* \(healthy\)$/m);
  assert.equal(d.berth(['ps', '-q', '--filter', 'health=unhealthy', '--filter', 'name=hc']).stdout.trim(), '');
  const bad2 = await d.api('GET', `/containers/json?filters=${encodeURIComponent(JSON.stringify({ health: ['sick'] }))}`);
  assert.equal(bad2.status, 400);
  assert.match(bad2.json().message, /Unrecognised filter value for health: sick/);

  const ev = d.berth(['events', '--since', String(since), '--until', String(Math.floor(Date.now() / 1000) + 1), '--filter', 'container=hc', '--format', '{{.Action}}']).stdout;
  assert.match(ev, /^health_status: unhealthy$/m);
  assert.match(ev, /^health_status: healthy$/m);
  assert.match(ev, /^exec_create: \/bin\/sh -c echo probing; test -f \/tmp\/ok$/m);

  if (hasDocker) {
    const o = d.docker(['inspect', '--format', '{{.State.Health.Status}} {{.State.Health.FailingStreak}}', 'hc']);
    assert.equal(o.stdout.trim(), 'healthy 0', o.stderr);
    assert.match(d.docker(['ps', '--filter', 'health=healthy', '--format', '{{.Names}} {{.Status}}']).stdout, /^hc Up .* \(healthy\)$/m);
  }

  // Stopped: no more probes, and Docker reports "unhealthy".
  assert.equal(d.berth(['stop', '-t', '1', 'hc']).status, 0);
  assert.equal((await health('hc'))!.Status, 'unhealthy');
  d.berth(['rm', '-f', 'hc']);
});

test('a probe past --health-timeout is killed and logged as Docker does', async () => {
  assert.equal(d.berth(['run', '-d', '--name', 'hto', '--health-cmd', 'sleep 10', '--health-interval', '1s', '--health-timeout', '300ms', '--health-retries', '1', 'busybox', 'sleep', '300']).status, 0);
  const h = await waitHealth('hto', 'unhealthy');
  assert.equal(h.Log[0].ExitCode, -1);
  assert.equal(h.Log[0].Output, 'Health check exceeded timeout (300ms)');
  assert.ok(Date.parse(h.Log[0].End) - Date.parse(h.Log[0].Start) < 2000);
  d.berth(['rm', '-f', 'hto']);
});

test("the image's HEALTHCHECK runs; --no-healthcheck turns it off; the start period does not count failures", async () => {
  const b = await build(d, { Dockerfile: 'FROM busybox\nHEALTHCHECK --interval=1s --retries=1 CMD ["test", "-e", "/etc/passwd"]\n' }, { t: 'hcimg' });
  assert.equal(b.status, 200);
  assert.equal(d.berth(['run', '-d', '--name', 'himg', 'hcimg', 'sleep', '300']).status, 0);
  const h = await waitHealth('himg', 'healthy');
  assert.equal(h.Log[0].ExitCode, 0);

  assert.equal(d.berth(['run', '-d', '--name', 'hnone', '--no-healthcheck', 'hcimg', 'sleep', '300']).status, 0);
  await sleep(2500);
  assert.equal(await health('hnone'), undefined);
  assert.deepEqual((await d.api('GET', '/containers/hnone/json')).json().Config.Healthcheck, { Test: ['NONE'] });
  assert.match(d.berth(['ps', '--format', '{{.Names}} {{.Status}}', '--filter', 'health=none']).stdout, /^hnone Up/m);

  // Failing, but inside a 60 s start period: probes run every start interval, the streak stays
  // 0, the status stays starting.
  const args = ['run', '-d', '--name', 'hsp', '--health-cmd', 'false', '--health-interval', '1s', '--health-retries', '1', '--health-start-period', '60s', '--health-start-interval', '1s', 'busybox', 'sleep', '300'];
  assert.equal(d.berth(args).status, 0);
  await sleep(3500);
  const sp = await health('hsp');
  assert.equal(sp?.Status, 'starting');
  assert.equal(sp?.FailingStreak, 0);
  assert.ok(sp!.Log.length >= 2);
  d.berth(['rm', '-f', 'himg', 'hnone', 'hsp']);
});

test('health survives a daemon restart: the monitor resumes for running containers', async () => {
  assert.equal(d.berth(['run', '-d', '--name', 'hrs', '--health-cmd', 'true', '--health-interval', '1s', 'busybox', 'sleep', '300']).status, 0);
  await waitHealth('hrs', 'healthy');
  await d.restart({ kill9: true });
  const before = (await health('hrs'))!.Log.length;
  assert.ok(before >= 1, 'Health was persisted');
  await waitHealth('hrs', 'healthy');
  await sleep(2500);
  const after = (await health('hrs'))!;
  assert.equal(after.Status, 'healthy');
  assert.ok(after.Log.at(-1)!.Start > new Date(Date.now() - 3000).toISOString(), 'probes run again after the restart');
  d.berth(['rm', '-f', 'hrs']);
});

// A shell that orphans a child and then execs into `sleep`: the orphan is re-parented to PID 1.
// Without --init PID 1 is `sleep`, which never waits, so the orphan stays a zombie; with
// --init, tini (PID 1) reaps it.
const ORPHANER = ['sh', '-c', '(sleep 0.2 &) ; exec sleep 300'];

/** Zombies in the container, from its own /proc (a zombie has left its cgroup, so `top` misses it). */
function zombies(name: string): number {
  const r = d.berth(['exec', name, 'sh', '-c', 'cat /proc/[0-9]*/stat']);
  assert.equal(r.status, 0, r.stderr);
  // "pid (comm) S ppid ...": the state follows the last ')'.
  return r.stdout.split('\n').filter((l) => l.includes(')') && l.slice(l.lastIndexOf(')') + 2).startsWith('Z')).length;
}

test('--init reaps orphaned children; without it they stay zombies', async () => {
  assert.equal(d.berth(['run', '-d', '--name', 'noinit', 'busybox', ...ORPHANER]).status, 0);
  assert.equal(d.berth(['run', '-d', '--init', '--name', 'withinit', 'busybox', ...ORPHANER]).status, 0);
  await sleep(1500);
  assert.equal(zombies('noinit'), 1);
  assert.equal(zombies('withinit'), 0);
  // PID 1 of the --init container is the init (tini); the command runs under it.
  const top = (await d.api('GET', `/containers/withinit/top?ps_args=${encodeURIComponent('-o pid,comm')}`)).json() as { Processes: string[][] };
  assert.ok(top.Processes.some((p) => /tini|init/.test(p[1])), JSON.stringify(top.Processes));
  if (hasDocker) {
    assert.equal(d.docker(['run', '-d', '--init', '--name', 'dinit', 'busybox', ...ORPHANER]).status, 0);
    await sleep(1500);
    assert.equal(zombies('dinit'), 0);
  }
  d.berth(['rm', '-f', 'noinit', 'withinit', 'dinit']);
});
