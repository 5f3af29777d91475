// Files into a service's running containers through the archive API (compose's tar syncer,
// internal/sync/tar.go): paths that no longer exist on the host are removed in each container
// (`rm -rf`, run with exec), the others travel as one tar extracted at `/` (PUT
// /containers/{id}/archive, owners kept: copyUIDGID), each entry named after its container path.
// The host side is read without following symlinks (archive/copy.ts treeTar).
//
//   await syncFiles(client, 'shop', 'web', [{ hostPath: '/srv/app/src/a.js', containerPath: '/app/src/a.js' }]);
import { existsSync, lstatSync } from 'node:fs';
import { Readable } from 'node:stream';
import type { ApiClient } from '../../client/client.ts';
import { readAll } from '../../client/client.ts';
import { treeTar } from '../../archive/copy.ts';
import { ComposeError } from '../errors.ts';
import { ComposeApi } from '../runtime/api.ts';
import { getContainers } from '../runtime/containers.ts';
import type { PathMapping } from './rules.ts';

const BLOCK = 512;

/** One tar of every mapping that exists on the host (each tree's own end-of-archive dropped). */
export async function* syncTar(paths: PathMapping[]): AsyncGenerator<Buffer> {
  // A directory and a file under it both changed: the directory's tree already holds the file.
  const sorted = [...paths].sort((a, b) => a.containerPath.length - b.containerPath.length);
  const kept: PathMapping[] = [];
  for (const p of sorted) {
    if (kept.some((k) => p.containerPath.startsWith(`${k.containerPath}/`) && lstatSync(k.hostPath, { throwIfNoEntry: false })?.isDirectory())) continue;
    if (!kept.some((k) => k.containerPath === p.containerPath)) kept.push(p);
  }
  for (const p of kept) {
    if (!lstatSync(p.hostPath, { throwIfNoEntry: false })) continue;
    const name = p.containerPath.replace(/^\/+/, '');
    let held: Buffer | undefined;
    for await (const chunk of treeTar(p.hostPath, name)) {
      if (held) yield held;
      held = chunk;
    }
    // treeTar ends with its end-of-archive (two zero blocks): left out between trees.
    if (held && !(held.length === 2 * BLOCK && held.every((b) => b === 0))) yield held;
  }
  yield Buffer.alloc(2 * BLOCK);
}

/** Runs a command in a container (no TTY, stderr kept for the error) and checks its exit code. */
export async function execIn(client: ApiClient, id: string, cmd: string[]): Promise<void> {
  const { Id } = await client.exec.create(id, { Cmd: cmd, AttachStdout: false, AttachStderr: true, Tty: false });
  const res = await client.exec.start(Id, { Detach: false, Tty: false });
  const out = await readAll(res);
  const r = await client.exec.inspect(Id);
  if (r.Running) throw new ComposeError('process still running');
  if (r.ExitCode !== 0) throw new ComposeError(`exit code ${r.ExitCode}${out.length > 8 ? `: ${out.subarray(8).toString().trim()}` : ''}`);
}

/** compose's Tar.Sync: every container of the service (one-offs aside) gets the changes. */
export async function syncFiles(client: ApiClient, project: string, service: string, paths: PathMapping[]): Promise<void> {
  const containers = await getContainers(new ComposeApi(client), project, 'exclude', true, [service]);
  const toDelete = paths.filter((p) => !existsSync(p.hostPath)).map((p) => p.containerPath);
  const toCopy = paths.filter((p) => existsSync(p.hostPath));
  const errors: string[] = [];
  await Promise.all(containers.map(async (c) => {
    if (toDelete.length) {
      try { await execIn(client, c.Id, ['rm', '-rf', ...toDelete]); } catch (e) { errors.push(`deleting paths in ${c.Id}: ${(e as Error).message}`); }
    }
    if (toCopy.length) {
      try {
        await client.containers.putArchive(c.Id, { path: '/', copyUIDGID: 'true' }, Readable.from(syncTar(toCopy)));
      } catch (e) { errors.push(`copying files to ${c.Id}: ${(e as Error).message}`); }
    }
  }));
  if (errors.length) throw new ComposeError(errors.join('\n'));
}
