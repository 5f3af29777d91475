// What compose's engine-facing commands share: which project they are about (compose's
// projectOrName / toProjectName: a command on a running project works without its files when
// -p or COMPOSE_PROJECT_NAME names it), whether to print colours (--ansi), and where progress
// goes (--progress).
//
//   const { project, name } = projectOrName(ctx, ['web']);   // project undefined with -p alone
//   const name = projectName(ctx);                             // -p, COMPOSE_PROJECT_NAME, or the files' name
import { isComposeError, type Project } from '../../compose/index.ts';
import { plainProgress, quietProgress, type Progress } from '../../compose/progress-lite.ts';
import { StatusError, type Ctx } from '../context.ts';
import { project as loadProject } from './compose.ts';

/**
 * compose's projectOrName: with files given (-f) or no -p, the project is loaded (the named
 * services checked); if that fails and COMPOSE_PROJECT_NAME is set, the name alone serves.
 */
export function projectOrName(ctx: Ctx, services: string[] = []): { project?: Project; name: string } {
  const g = ctx.globals.compose ?? {};
  if ((g.file?.length ?? 0) > 0 || !g.projectName) {
    try {
      const p = loadProject(ctx, { services });
      return { project: p, name: p.name };
    } catch (e) {
      const env = process.env.COMPOSE_PROJECT_NAME;
      if (env && isComposeError(e)) return { name: env.toLowerCase() };
      throw e;
    }
  }
  return { name: g.projectName.toLowerCase() };
}

/** compose's toProjectName: -p, else COMPOSE_PROJECT_NAME, else the loaded project's name. */
export function projectName(ctx: Ctx): string {
  const g = ctx.globals.compose ?? {};
  if (g.projectName) return g.projectName.toLowerCase();
  if (process.env.COMPOSE_PROJECT_NAME) return process.env.COMPOSE_PROJECT_NAME.toLowerCase();
  return loadProject(ctx).name;
}

/** compose's useAnsi: --ansi always|never|auto (auto: stdout is a terminal); --no-ansi is never. */
export function useAnsi(ctx: Ctx, stream: { isTTY?: boolean } = process.stdout): boolean {
  const g = ctx.globals.compose ?? {};
  if (g.noAnsi) return false;
  const mode = g.ansi ?? process.env.COMPOSE_ANSI ?? 'auto';
  if (mode === 'always') return true;
  if (mode === 'never') return false;
  return Boolean(stream.isTTY);
}

/** Progress on stderr in compose's plain form, or nothing with --progress quiet|none. */
export function progressFor(ctx: Ctx): Progress {
  const mode = ctx.globals.compose?.progress ?? process.env.COMPOSE_PROGRESS ?? 'auto';
  if (mode === 'quiet' || mode === 'none') return quietProgress;
  return plainProgress(process.stderr);
}

/** compose's --parallel / COMPOSE_PARALLEL_LIMIT: how many operations at once (Infinity: no limit). */
export function parallelLimit(ctx: Ctx): number {
  const g = ctx.globals.compose?.parallel;
  const env = Number.parseInt(process.env.COMPOSE_PARALLEL_LIMIT ?? '', 10);
  const n = g !== undefined && g !== -1 ? g : Number.isFinite(env) && env > 0 ? env : -1;
  return n > 0 ? n : Number.POSITIVE_INFINITY;
}

/** Runs `fn` over the items with at most `limit` at once; rejects with the first error after all settle. */
export async function eachLimited<T>(items: T[], limit: number, fn: (x: T) => Promise<void>): Promise<void> {
  let i = 0;
  let first: unknown;
  const worker = async () => {
    while (i < items.length) {
      const x = items[i++];
      try { await fn(x); } catch (e) { first ??= e; }
    }
  };
  await Promise.all(Array.from({ length: Math.min(items.length, limit) }, worker));
  if (first !== undefined) throw first;
}

/**
 * Runs this CLI's own `compose ARGS` (same engine, same global flags) and resolves when it exits
 * 0: what another compose command owns (down, up) is reached through the path users take.
 */
export async function composeSelf(ctx: Ctx, args: string[], o: { stdio?: 'inherit' | 'pipe' } = {}): Promise<string> {
  const { spawn } = await import('node:child_process');
  const g = ctx.globals;
  const c = g.compose ?? {};
  const globals = [
    ...(g.host ? ['-H', g.host] : []), ...(g.tls ? ['--tls'] : []), ...(g.tlsverify ? ['--tlsverify'] : []),
    ...(g.tlscacert ? ['--tlscacert', g.tlscacert] : []), ...(g.tlscert ? ['--tlscert', g.tlscert] : []), ...(g.tlskey ? ['--tlskey', g.tlskey] : []),
  ];
  const composeGlobals = [
    ...(c.file ?? []).flatMap((f) => ['-f', f]), ...(c.projectDirectory ? ['--project-directory', c.projectDirectory] : []),
    ...(c.envFile ?? []).flatMap((f) => ['--env-file', f]), ...(c.profile ?? []).flatMap((p) => ['--profile', p]),
    ...(c.ansi ? ['--ansi', c.ansi] : []), ...(c.progress ? ['--progress', c.progress] : []),
    ...(c.projectName && !args.includes('-p') ? ['-p', c.projectName] : []),
  ];
  const argv = [...process.execArgv, process.argv[1], ...globals, 'compose', ...composeGlobals, ...args];
  return new Promise<string>((resolve, reject) => {
    const p = spawn(process.execPath, argv, { stdio: ['ignore', o.stdio === 'pipe' ? 'pipe' : 'inherit', o.stdio === 'pipe' ? 'pipe' : 'inherit'] });
    let out = '';
    p.stdout?.on('data', (d) => { out += d; });
    p.stderr?.on('data', (d) => { out += d; });
    p.on('error', reject);
    p.on('exit', (code) => (code === 0 ? resolve(out) : reject(new StatusError(out.trim() || `compose ${args.join(' ')} exited with code ${code}`, code ?? 1))));
  });
}
