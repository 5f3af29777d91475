// Joining a hijacked attach/exec connection to the local terminal, as the docker CLI's
// hijackedIOStreamer does:
//   - output: raw bytes with a TTY, else stdcopy frames demultiplexed onto stdout/stderr;
//   - input (only when asked: without -i stdin is never read): copied to the socket, whose write
//     side is half-closed at EOF so the container sees EOF too;
//   - with a TTY on stdin: raw mode (restored on exit), and the detach sequence (default
//     ctrl-p,ctrl-q) is caught here, before it reaches the daemon, so the CLI can leave at once;
//   - window size sent after start and on SIGWINCH (POST …/resize?h=&w=).
import type { Socket } from 'node:net';
import { demuxTo } from '../client/streams.ts';
import type { ApiClient } from '../client/client.ts';
import type { Size } from '../client/endpoints.ts';
import { DEFAULT_DETACH_KEYS, DetachScanner, parseDetachKeys } from '../common/detach-keys.ts';

export interface StreamOptions {
  tty: boolean;
  /** Copy local stdin to the connection. */
  stdin: boolean;
  detachKeys?: string;
}

/** Puts the terminal in raw mode when stdin is a TTY; returns the restore function. */
export function rawTerminal(): () => void {
  const stdin = process.stdin;
  if (!stdin.isTTY) return () => {};
  stdin.setRawMode(true);
  // libuv's raw mode keeps output post-processing (ONLCR), so the container's "\r\n" would
  // reach the screen as "\r\r\n"; docker's raw mode clears OPOST. Leaving raw mode restores
  // the saved termios, OPOST included. (`require`: child_process is loaded only here.)
  try {
    (require('node:child_process') as typeof import('node:child_process')).spawnSync('stty', ['-opost'], { stdio: ['inherit', 'ignore', 'ignore'] });
  } catch { /* no stty: cosmetic only */ }
  let restored = false;
  const restore = () => {
    if (restored) return;
    restored = true;
    try { stdin.setRawMode(false); } catch { /* terminal gone */ }
  };
  process.once('exit', restore);
  return restore;
}

/**
 * Runs the streams until the output ends (resolves 'ended') or the user types the detach
 * sequence (resolves 'detached'). Rejects on a stream error.
 */
export function pumpStreams(socket: Socket, o: StreamOptions): Promise<'ended' | 'detached'> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const finish = (how: 'ended' | 'detached') => {
      if (settled) return;
      settled = true;
      if (o.stdin) process.stdin.pause();
      resolve(how);
    };
    const output = o.tty
      ? new Promise<void>((res, rej) => {
        if (socket.readableEnded || (socket.destroyed && socket.readableLength === 0)) { res(); return; }
        socket.on('data', (c: Buffer) => process.stdout.write(c));
        socket.on('end', res);
        socket.on('close', () => res());
        socket.on('error', rej);
        socket.resume(); // handed over paused
      })
      : demuxTo(socket, process.stdout, process.stderr);
    output.then(() => finish('ended'), (e) => { if (!settled) { settled = true; reject(e); } });

    // Nothing to send: half-close at once, as the docker CLI does (daemons may wait for it).
    if (!o.stdin) { socket.end(); return; }
    const scanner = o.tty && process.stdin.isTTY ? new DetachScanner(parseDetachKeys(o.detachKeys || DEFAULT_DETACH_KEYS)) : undefined;
    process.stdin.on('data', (chunk: Buffer) => {
      if (settled) return;
      if (scanner) {
        const r = scanner.push(chunk);
        if (r.forward.length) socket.write(r.forward);
        if (r.detached) { socket.destroy(); finish('detached'); }
        return;
      }
      socket.write(chunk);
    });
    // EOF on stdin: half-close so the container's stdin sees EOF; keep reading its output.
    process.stdin.on('end', () => { if (!settled && !socket.destroyed) socket.end(); });
    process.stdin.on('error', () => { if (!socket.destroyed) socket.end(); });
    process.stdin.resume();
  });
}

/** Sends the terminal size now and on every SIGWINCH with `resize` (a container's or an exec's). */
export function monitorTtySize(resize: (size: Size) => Promise<void>): void {
  const out = process.stdout;
  if (!out.isTTY) return;
  const send = () => {
    const [w, h] = out.getWindowSize();
    if (!h || !w) return;
    resize({ h, w }).catch(() => { /* best effort: the container or exec may be gone */ });
  };
  send();
  process.on('SIGWINCH', send);
}

/** Signals the docker CLI forwards with --sig-proxy (all it can catch, minus SIGCHLD/SIGPIPE/SIGURG/SIGWINCH). */
const PROXIED_SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2', 'SIGALRM', 'SIGCONT', 'SIGTSTP', 'SIGTTIN', 'SIGTTOU'];

/** Forwards signals this process receives to the container (POST /containers/{id}/kill). */
export function proxySignals(client: ApiClient, id: string): void {
  for (const sig of PROXIED_SIGNALS) {
    process.on(sig, () => {
      client.containers.kill(id, { signal: sig }).catch(() => { /* best effort: the container may be gone */ });
    });
  }
}
