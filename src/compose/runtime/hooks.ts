// Lifecycle hooks (compose's hook.go): `post_start` commands run in a container right after it
// starts, `pre_stop` ones right before it is stopped, through the exec API. A hook that exits
// non-zero fails the command: `web hook exited with status 3`. When `up` is attached, a hook's
// output is shown with the container's prefix and an arrow (`web-1 -> | ...`).
//
//   await runHook(s, container, service, { command: ['sh', '-c', 'touch /ready'] });
import { Demuxer } from '../../common/stdcopy.ts';
import { ComposeError } from '../errors.ts';
import type { Hook, Service } from '../model.ts';
import { readAll, type ContainerSummary } from './api.ts';
import { nameWithoutProject } from './containers.ts';
import { mobyEnv } from './create-config.ts';
import { LineSplitter } from '../log-printer.ts';
import type { Session } from './session.ts';

export type HookOutput = (source: string, line: string) => void;

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export async function runHook(s: Session, c: ContainerSummary, service: Service, hook: Hook, output?: HookOutput): Promise<void> {
  const detached = output === undefined;
  const { Id: execId } = await s.api.client.exec.create(c.Id, {
    
      User: hook.user ?? '', Privileged: Boolean(hook.privileged), Env: mobyEnv(hook.environment) ?? null,
      WorkingDir: hook.workingDir ?? '', Cmd: hook.command ?? null, AttachStdout: !detached, AttachStderr: !detached,
  });
  const inspect = () => s.api.client.exec.inspect(execId);
  const failed = (code: number | null) => new ComposeError(`${service.name} hook exited with status ${code}`);
  if (detached) {
    try {
      await readAll(await s.api.client.exec.start(execId, { Detach: true, Tty: Boolean(service.tty) }));
    } catch {
      // compose ignores a start that fails here (the container may be gone).
      return;
    }
    // There is no wait for an exec: poll it, as compose does.
    for (;;) {
      await sleep(100);
      let x;
      try { x = await inspect(); } catch { return; }
      if (!x.Running) {
        if (x.ExitCode !== 0) throw failed(x.ExitCode);
        return;
      }
    }
  }
  const source = `${nameWithoutProject(c)} ->`;
  const lines = new LineSplitter((l) => output(source, l));
  const h = await s.api.client.exec.startHijacked(execId, { Detach: false, Tty: Boolean(service.tty) });
  await new Promise<void>((resolve) => {
    const demux = new Demuxer((_k, payload) => lines.write(payload));
    h.socket.on('data', (b: Buffer) => {
      if (service.tty) lines.write(b);
      else { try { demux.push(b); } catch { h.socket.destroy(); } }
    });
    h.socket.once('end', () => resolve());
    h.socket.once('close', () => resolve());
    h.socket.once('error', () => resolve());
    h.socket.resume();
  });
  lines.end();
  // The stream ends as the process does; the exec's state may follow a moment later.
  let x = await inspect();
  for (let i = 0; x.Running && i < 100; i++) { await sleep(50); x = await inspect(); }
  if (x.ExitCode !== 0) throw failed(x.ExitCode);
}
