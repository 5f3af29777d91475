// A real terminal for tests: tmux sessions on private sockets, and waiting for the screen.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';

export const hasTmux = spawnSync('tmux', ['-V']).status === 0;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function tmux(sock: string, ...args: string[]): string {
  return spawnSync('tmux', ['-L', sock, ...args]).stdout?.toString() ?? '';
}

/** Polls the pane (with 200 lines of history) until it matches; fails with the last screen. */
export async function waitScreen(sock: string, re: RegExp, ms = 10_000): Promise<string> {
  let screen = '';
  for (const t0 = Date.now(); Date.now() - t0 < ms; await sleep(100)) {
    screen = tmux(sock, 'capture-pane', '-p', '-S', '-200');
    if (re.test(screen)) return screen;
  }
  assert.fail(`screen never matched ${re}:\n${screen}`);
}
