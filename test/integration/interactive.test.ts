// Interactive containers in a real terminal (tmux), with the berth CLI and the docker CLI:
// `run -it` (typing, window size, resize, Ctrl-C to the container, Ctrl-P Ctrl-Q detach),
// `attach` again (custom detach keys), `start -ai`, and signal proxying of a non-TTY attach.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { startDaemon, hasDocker, BERTH, type Daemon } from './harness.ts';
import { hasTmux, tmux, waitScreen } from './tty-util.ts';

let d: Daemon;
const tmuxSockets: string[] = [];
before(async () => { d = await startDaemon({ importBusybox: true }); });
after(async () => {
  for (const s of tmuxSockets) spawnSync('tmux', ['-L', s, 'kill-server']);
  await d?.stop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The shell command line that runs a CLI against the test daemon. */
function cliLine(cli: 'berth' | 'docker'): string {
  return cli === 'docker'
    ? `DOCKER_HOST=unix://${d.sock} DOCKER_CONFIG=${join(d.dir, 'docker-config')} docker`
    : `BERTH_HOST=unix://${d.sock} DOCKER_HOST= ${process.execPath} ${BERTH}`;
}

async function state(name: string): Promise<{ Running: boolean; ExitCode: number }> {
  return (await d.api('GET', `/containers/${name}/json`)).json().State;
}

function session(script: string): string {
  const sock = `berth-it-${randomBytes(4).toString('hex')}`;
  tmuxSockets.push(sock);
  // bash, not sh: when a child handles Ctrl-C's SIGINT and exits normally, bash carries on
  // with the script (dash would die with it).
  tmux(sock, 'new-session', '-d', '-x', '100', '-y', '30', 'bash', '-c', `${script}; sleep 60`);
  return sock;
}

for (const cli of ['berth', 'docker'] as const) {
  const skip = !hasTmux ? 'no tmux' : cli === 'docker' && !hasDocker ? 'no docker CLI' : false;

  test(`${cli} run -it: typing, size, resize, Ctrl-C, Ctrl-P Ctrl-Q; attach --detach-keys; start -ai`, { skip }, async () => {
    const name = `it-${cli}`;
    const C = cliLine(cli);
    const sock = session([
      `${C} run -it --name ${name} busybox sh`, 'echo "RUN-EXIT=$?"',
      `${C} attach --detach-keys ctrl-x,x ${name}`, 'echo "ATTACH-EXIT=$?"',
      `${C} start -ai ${name}`, 'echo "START1-EXIT=$?"',
      `${C} start -ai ${name}`, 'echo "START2-EXIT=$?"',
    ].join('; '));
    await waitScreen(sock, /\/ #\s*$/m);
    tmux(sock, 'send-keys', 'echo $((6*7)); stty size', 'Enter');
    await waitScreen(sock, /^42\n30 100$/m);
    // SIGWINCH → POST /containers/{id}/resize → conmon's ctl fifo.
    tmux(sock, 'resize-window', '-x', '120', '-y', '40');
    await sleep(300);
    tmux(sock, 'send-keys', 'clear; stty size', 'Enter');
    await waitScreen(sock, /^40 120$/m);
    // Ctrl-C goes through the raw terminal to the container's pty: it interrupts `sleep` only.
    tmux(sock, 'send-keys', 'sleep 100', 'Enter');
    await sleep(500);
    tmux(sock, 'send-keys', 'C-c');
    tmux(sock, 'send-keys', 'echo after-int', 'Enter');
    await waitScreen(sock, /^after-int$/m);
    // Detach: run returns 0 at once, the shell runs on.
    tmux(sock, 'send-keys', 'C-p', 'C-q');
    await waitScreen(sock, /RUN-EXIT=0/);
    assert.equal((await state(name)).Running, true);
    // attach again: the same shell takes input (stdin was not closed by the first detach), and
    // the prompt is redrawn (one-off resize, as docker attach does).
    tmux(sock, 'send-keys', 'echo again-$((1+1))', 'Enter');
    await waitScreen(sock, /^again-2$/m);
    tmux(sock, 'send-keys', 'C-x', 'x');
    await waitScreen(sock, /read escape sequence\s*\n\s*ATTACH-EXIT=1/);
    assert.equal((await state(name)).Running, true);
    // start -ai of the running container attaches; the shell's exit status is the CLI's.
    tmux(sock, 'send-keys', 'echo third', 'Enter');
    await waitScreen(sock, /^third$/m);
    tmux(sock, 'send-keys', 'exit 4', 'Enter');
    await waitScreen(sock, /START1-EXIT=4/);
    // start -ai of the stopped container starts a new shell.
    await waitScreen(sock, /START1-EXIT=4[\s\S]*\/ #\s*$/m);
    tmux(sock, 'send-keys', 'echo fourth; exit 5', 'Enter');
    await waitScreen(sock, /^fourth\s*\n\s*START2-EXIT=5/m);
    const st = await state(name);
    assert.equal(st.Running, false);
    assert.equal(st.ExitCode, 5);
    tmux(sock, 'kill-server');
  });

  test(`${cli} attach of a non-TTY container: Ctrl-C is proxied as SIGINT (--sig-proxy), --no-stdin`, { skip }, async () => {
    const name = `sp-${cli}`;
    const r = d.berth(['run', '-d', '--name', name, 'busybox', 'sh', '-c', 'trap "echo got-int; exit 7" INT; echo ready; while :; do sleep 0.1; done']);
    assert.equal(r.status, 0, r.stderr);
    const sock = session(`${cliLine(cli)} attach --no-stdin ${name}; echo "ATTACH-EXIT=$?"`);
    await sleep(1500);
    tmux(sock, 'send-keys', 'C-c');
    await waitScreen(sock, /got-int\s*\n\s*ATTACH-EXIT=7/);
    assert.equal((await state(name)).ExitCode, 7);

    // --sig-proxy=false: Ctrl-C is not forwarded; the container runs on.
    const name2 = `nsp-${cli}`;
    assert.equal(d.berth(['run', '-d', '--name', name2, 'busybox', 'sh', '-c', 'trap "exit 7" INT; while :; do sleep 0.1; done']).status, 0);
    const sock2 = session(`${cliLine(cli)} attach --sig-proxy=false ${name2}; echo "ATTACH-EXIT=$?"`);
    await sleep(1500);
    tmux(sock2, 'send-keys', 'C-c');
    await sleep(1000);
    assert.equal((await state(name2)).Running, true);
    d.berth(['rm', '-f', name2]);
    tmux(sock, 'kill-server');
    tmux(sock2, 'kill-server');
  });

  test(`${cli} stats on a terminal: the table is redrawn in place every refresh${cli === 'berth' ? '; Ctrl-C ends it' : ''}`, { skip }, async () => {
    const name = `s${cli[0]}`;
    assert.equal(d.berth(['run', '-d', '--name', name, 'busybox', 'sleep', '600']).status, 0);
    const sock = session(`${cliLine(cli)} stats ${name}; echo "STATS-EXIT=$?"`);
    const row = new RegExp(`^[0-9a-f]{12}\\s+${name}\\s+\\d+\\.\\d+%\\s+\\S+ / \\S+\\s+\\d+\\.\\d+%\\s+.+ / .+\\s+.+ / .+\\s+1$`, 'm');
    await waitScreen(sock, row);
    // Several refreshes later the visible screen still has one header and one row: redrawn, not appended.
    await sleep(3000);
    const screen = tmux(sock, 'capture-pane', '-p');
    assert.equal(screen.match(/^CONTAINER ID\s+NAME\s+CPU %\s+MEM USAGE \/ LIMIT\s+MEM %\s+NET I\/O\s+BLOCK I\/O\s+PIDS$/gm)?.length, 1, screen);
    assert.equal(screen.match(row) ? screen.split('\n').filter((l) => l.includes(name)).length : 0, 1, screen);
    if (cli === 'berth') {
      // Ctrl-C ends berth stats (killed by SIGINT, so the session's bash goes with it).
      tmux(sock, 'send-keys', 'C-c');
      for (let i = 0; i < 50 && spawnSync('tmux', ['-L', sock, 'has-session']).status === 0; i++) await sleep(100);
      assert.notEqual(spawnSync('tmux', ['-L', sock, 'has-session']).status, 0, 'berth stats ended on Ctrl-C');
    }
    // (docker 28.2's stats only blanks its rows on the first Ctrl-C and runs on, against
    // dockerd too; it is not asserted here.)
    d.berth(['rm', '-f', name]);
    tmux(sock, 'kill-server');
  });
}
