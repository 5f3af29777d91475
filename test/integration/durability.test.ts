// kill -9 of berthd: containers keep running, exits that happen while it is down are recorded,
// and a daemon killed during 20 concurrent `run -d` restarts with whole containers only.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { startDaemon, type Daemon } from './harness.ts';

let d: Daemon;
before(async () => { d = await startDaemon(); });
after(async () => { await d?.stop(); });

async function runD(cmd: string[], name?: string): Promise<string> {
  const c = await d.api('POST', `/containers/create${name ? `?name=${name}` : ''}`, { Image: 'busybox', Cmd: cmd });
  assert.equal(c.status, 201, c.body.toString());
  const id = c.json().Id;
  const s = await d.api('POST', `/containers/${id}/start`);
  assert.equal(s.status, 204, s.body.toString());
  return id;
}

test('containers outlive kill -9 of the daemon; exits meanwhile are recorded', async () => {
  const long = await runD(['sleep', '300'], 'survivor');
  const short = await runD(['sh', '-c', 'sleep 1; exit 42'], 'shortlived');
  const pid = (await d.api('GET', `/containers/${long}/json`)).json().State.Pid;
  await d.restart({ kill9: true });
  await new Promise((r) => setTimeout(r, 1200));
  // The survivor is the same process, re-adopted.
  const st = (await d.api('GET', `/containers/${long}/json`)).json().State;
  assert.equal(st.Running, true);
  assert.equal(st.Pid, pid);
  let s2: any;
  for (let i = 0; i < 50; i++) {
    s2 = (await d.api('GET', `/containers/${short}/json`)).json().State;
    if (s2.Status === 'exited') break;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(s2.Status, 'exited');
  assert.equal(s2.ExitCode, 42);
  // And it can still be stopped normally after the restart.
  assert.equal((await d.api('POST', `/containers/${long}/stop?t=1`)).status, 204);
  assert.equal((await d.api('GET', `/containers/${long}/json`)).json().State.Running, false);
});

test('kill -9 during 20 concurrent run -d: every container exists fully or not at all', async () => {
  const started = Array.from({ length: 20 }, (_, i) => runD(['sleep', '300'], `burst${i}`).catch(() => undefined));
  await new Promise((r) => setTimeout(r, 150 + Math.random() * 200));
  await d.restart({ kill9: true });
  await Promise.all(started);
  const list = (await d.api('GET', '/containers/json?all=1')).json() as any[];
  const burst = list.filter((c) => c.Names[0].startsWith('/burst'));
  for (const c of burst) {
    const i = (await d.api('GET', `/containers/${c.Id}/json`));
    assert.equal(i.status, 200);
    const st = i.json().State;
    assert.ok(['created', 'running', 'exited'].includes(st.Status), st.Status);
    if (st.Status === 'running') assert.ok(existsSync(`/proc/${st.Pid}`));
    // A container that is not running has no mounted rootfs.
    const merged = i.json().GraphDriver.Data.MergedDir;
    const mounted = readFileSync('/proc/self/mountinfo', 'utf8').includes(` ${merged} `);
    assert.equal(mounted, st.Status === 'running', `${c.Names[0]} ${st.Status} mounted=${mounted}`);
  }
  // No directory without a record, no rw layer without a container.
  const ids = new Set(list.map((c) => c.Id));
  for (const dir of readdirSync(join(d.dataRoot, 'containers'))) assert.ok(ids.has(dir), `orphan container dir ${dir}`);
  for (const dir of readdirSync(join(d.dataRoot, 'overlay', 'rw'))) assert.ok(ids.has(dir), `orphan rw layer ${dir}`);
  // Every container can be removed cleanly.
  for (const c of burst) assert.equal((await d.api('DELETE', `/containers/${c.Id}?force=1`)).status, 204);
  assert.equal(readFileSync('/proc/self/mountinfo', 'utf8').includes(join(d.dataRoot, 'overlay', 'rw')), false);
});
