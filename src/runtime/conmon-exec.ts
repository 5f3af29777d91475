// `exec` through conmon's exec mode (`conmon -e --exec-attach --exec-process-spec`), as podman
// drives it (libpod/oci_conmon_exec_common.go). conmon is what makes a TTY exec possible from
// Node: `runc exec --tty` hands the pty master over a console socket with SCM_RIGHTS, which
// Node cannot receive; conmon receives it, and serves the process's I/O on the same
// SOCK_SEQPACKET attach socket and `ctl` fifo (window size) that containers use.
//
// The handshake (checked against conmon 2.1.6's src/conmon.c):
//   1. spawn conmon with three extra pipes: fd 3 sync (conmon writes), fd 4 start (we write),
//      fd 5 attach (conmon writes);
//   2. write one byte on the start pipe: conmon forks off its daemon half and creates
//      `<bundle>/attach`, `<bundle>/ctl` and the link `<socket-dir>/<cuuid>` → bundle;
//   3. it writes `{"data": 0}` on the attach pipe: now connect to the attach socket (output is
//      not buffered for sockets, so connecting first is what keeps the first bytes) and apply
//      the window size through `ctl`;
//   4. write a second byte on the start pipe: conmon runs `runc exec --detach --pid-file ...
//      --process process.json [--tty --console-socket ...] <container>`;
//   5. the sync pipe says `{"data": <pid>}` (or `{"data": -1, "message": <runtime error>}`),
//      and, once the process has ended and its output is drained, `{"data": <exit code>}`.
import { spawnProgram } from '../sys/index.ts';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { EngineError, system } from '../common/errors.ts';
import type { RuntimeExec, RuntimeExecOptions } from './runtime.ts';

export interface ConmonExecEnv {
  conmon: string;
  runtimePath: string;
  /** Global runtime arguments (`--root ...`). */
  runtimeArgs: string[];
  socketDir: string;
  cuuid: string;
}

interface SyncMessage { data: number; message?: string }

/** Reads newline-delimited JSON messages from one of conmon's pipes. */
function messages(stream: Readable, onMessage: (m: SyncMessage) => void, onEnd: () => void): void {
  let buf = '';
  stream.on('data', (d: Buffer) => {
    buf += d.toString();
    for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
      const line = buf.slice(0, nl).trim();
      buf = buf.slice(nl + 1);
      if (!line) continue;
      try { onMessage(JSON.parse(line) as SyncMessage); } catch { /* not conmon's: ignore */ }
    }
  });
  stream.on('end', onEnd);
  stream.on('close', onEnd);
  stream.on('error', () => {}); // a read error closes the pipe: onEnd reports it
}

export async function conmonExec(env: ConmonExecEnv, o: RuntimeExecOptions): Promise<RuntimeExec> {
  await mkdir(o.dir, { recursive: true });
  const spec = join(o.dir, 'process.json');
  await writeFile(spec, JSON.stringify(o.process));
  const args = [
    '--api-version', '1',
    '-c', o.containerId, '-u', env.cuuid, '-n', o.name,
    '-r', env.runtimePath,
    '-b', o.dir,
    '-p', join(o.dir, 'pid'),
    '-P', join(o.dir, 'conmon.pid'),
    '--exit-dir', o.dir,
    '--persist-dir', o.dir,
    '--socket-dir-path', env.socketDir,
    '-l', 'none:',
    '--log-level', 'error',
    '--no-sync-log',
    '-e', '--exec-attach', '--exec-process-spec', spec,
  ];
  for (const a of env.runtimeArgs) args.push('--runtime-arg', a);
  if (o.terminal) args.push('-t');
  if (o.stdin) args.push('-i');
  const child = spawnProgram(env.conmon, args, {
    cwd: o.dir,
    // fd 3: sync pipe (conmon writes), 4: start pipe (we write), 5: attach pipe (conmon writes).
    stdio: ['ignore', 'ignore', 'read', 'read', 'write', 'read'],
    env: { ...process.env, _OCI_SYNCPIPE: '3', _OCI_STARTPIPE: '4', _OCI_ATTACHPIPE: '5' },
    detached: true,
  });
  child.unref();
  const sync = child.stdio[3] as Readable;
  const start = child.stdio[4] as Writable;
  const attach = (child.stdio as unknown as Readable[])[5];
  const stderr: Buffer[] = [];
  child.stderr!.on('data', (d: Buffer) => stderr.push(d));
  // stderr only adds detail to a failure; a write to the start pipe fails (EPIPE) when conmon is
  // gone, which the sync pipe's end reports.
  child.stderr!.on('error', () => {});
  start.on('error', () => {});
  const errText = () => Buffer.concat(stderr).toString().trim();

  // Sync pipe: first the pid (or the runtime's failure), then the exit code.
  let onPid!: (m: SyncMessage) => void;
  let pidFailed!: (e: Error) => void;
  const pid = new Promise<number>((res, rej) => {
    onPid = (m) => (m.data > 0 ? res(m.data) : rej(new EngineError('System', `OCI runtime exec failed: ${cleanMessage(m.message ?? 'unknown error')}`, { code: 'RuntimeExec' })));
    pidFailed = rej;
  });
  pid.catch(() => {}); // its rejection reaches start()'s caller; an exec never started must not leave it unhandled
  let gotPid = false;
  let exitResolve!: (code: number) => void;
  const exited = new Promise<number>((res) => { exitResolve = res; });
  let exitCode: number | undefined;
  // Best effort, after the exit code is delivered: a leftover is a small directory under the exec
  // root (a tmpfs, /run by default).
  const cleanup = async () => {
    await rm(join(env.socketDir, env.cuuid), { force: true }).catch(() => {});
    await rm(o.dir, { recursive: true, force: true }).catch(() => {});
  };
  messages(sync, (m) => {
    if (!gotPid) { gotPid = true; onPid(m); return; }
    exitCode ??= m.data;
  }, () => {
    if (!gotPid) { gotPid = true; pidFailed(system(`conmon exited without starting the exec session${errText() ? `: ${errText()}` : ''}`)); }
    // conmon gone: the exit code it sent, or the one it wrote to the exit file, or "killed".
    void (async () => {
      if (exitCode === undefined) {
        const t = await readFile(join(o.dir, 'exit'), 'utf8').catch(() => '');
        exitCode = t.trim() !== '' ? Number(t.trim()) : 137;
      }
      exitResolve(exitCode < 0 ? 126 : exitCode);
      await cleanup();
    })();
  });

  // Attach pipe: the socket and the ctl fifo exist.
  const ready = new Promise<void>((res, rej) => {
    let done = false;
    messages(attach, (m) => {
      if (done) return;
      done = true;
      if (m.data < 0) rej(system(`conmon: ${m.message ?? 'attach setup failed'}`)); else res();
    }, () => { if (!done) { done = true; rej(system(`conmon exited before the exec session was ready${errText() ? `: ${errText()}` : ''}`)); } });
  });
  const spawnErr = new Promise<never>((_, rej) => child.on('error', (e) => rej(system(`conmon: ${e.message}`, e))));
  spawnErr.catch(() => {}); // raced below; an error after that race must not be unhandled
  start.write(Buffer.from([0]));
  try {
    await Promise.race([ready, spawnErr]);
  } catch (e) {
    start.destroy();
    try { if (child.pid) process.kill(-child.pid, 'SIGKILL'); } catch { /* gone */ }
    await cleanup();
    throw e;
  }
  attach.destroy();
  child.stderr!.destroy();
  let started = false;
  return {
    attachSocket: join(env.socketDir, env.cuuid, 'attach'),
    ctlFile: join(env.socketDir, env.cuuid, 'ctl'),
    exited,
    start: () => {
      if (!started) {
        started = true;
        start.end(Buffer.from([0]));
      }
      return pid;
    },
    abort: () => {
      // conmon's daemon half waits on the start pipe; closing it without the second byte makes
      // its read return 0 and it runs the runtime anyway, so kill it instead.
      if (started) return;
      started = true;
      const conmonPid = Number.isInteger(child.pid) ? child.pid! : 0;
      void (async () => {
        // Not written yet: only the child's pid is killed (0 is skipped).
        const p = Number((await readFile(join(o.dir, 'conmon.pid'), 'utf8').catch(() => '')).trim());
        for (const x of [p, conmonPid]) if (x > 0) { try { process.kill(x, 'SIGKILL'); } catch { /* gone */ } }
        start.destroy();
        sync.destroy();
        await cleanup();
      })();
    },
  };
}

/** runc prints `time=... level=error msg="..."`; keep the message, as Docker shows it. */
function cleanMessage(s: string): string {
  const lines = s.trim().split('\n').filter(Boolean);
  const msgs = lines.map((l) => {
    const m = /msg="((?:[^"\\]|\\.)*)"/.exec(l);
    return m ? m[1].replace(/\\"/g, '"').replace(/\\\\/g, '\\') : l;
  });
  return msgs[msgs.length - 1] ?? s.trim();
}
