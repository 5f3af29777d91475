// `berth compose watch [SERVICE...]`: the services' `develop.watch` rules applied as files change
// (src/compose/watch/): `sync` copies changed files into the running containers and removes
// deleted ones there, `rebuild` builds the image again and recreates the service, `sync+restart`
// syncs then restarts, `restart` restarts, `sync+exec` syncs then runs a command. Changes are
// batched (500 ms of quiet, 5 s at most) and handled one batch at a time. Ctrl-C ends it.
//
//   berth compose watch                  `up -d` first (images built for services under watch)
//   berth compose watch --no-up web      the project is already up: only watch
//
// `up` and the recreate of `rebuild` are the runtime's: `up -d` with its progress, the recreate
// silent (compose's watch logs only its own lines).
import type { OptionsOf, COMPOSE_COMMANDS } from '../spec.ts';
import { Writable } from 'node:stream';
import { buildServices } from '../../compose/build.ts';
import { ComposeError } from '../../compose/errors.ts';
import { LogPrinter, WATCH_LOGGER } from '../../compose/log-printer.ts';
import { LABELS } from '../../compose/model.ts';
import { watchRules } from '../../compose/watch/rules.ts';
import { initialSync, startWatch } from '../../compose/watch/watch.ts';
import type { Ctx } from '../context.ts';
import { QuietWriter } from '../../compose/runtime/progress.ts';
import { withSelectedServices } from '../../compose/project.ts';
import { create, CREATE_DEFAULTS } from '../../compose/runtime/commands.ts';
import { startProject } from '../../compose/runtime/start.ts';
import { registryConfig, runCommand, session } from './compose-common.ts';
import { up } from './compose-runtime.ts';
import { project as loadProject } from './compose.ts';


export async function watch(ctx: Ctx, args: string[], o: OptionsOf<typeof COMPOSE_COMMANDS.watch>): Promise<number> {
  const { s } = session(ctx);
  const project = loadProject(ctx, { services: args });
  const rules = watchRules(project, args);
  if (rules.length === 0) throw new ComposeError("none of the selected services is configured for watch, consider setting a 'develop' section");
  // compose's watch prints its messages bare (no prefix, no colour).
  const log = new LogPrinter({ stdout: process.stdout, stderr: process.stderr, color: false, prefix: false });
  if (o.up !== false) {
    const build = Object.values(project.services).some((s) => s.build && s.develop);
    const code = await up(ctx, args, { detach: true, build });
    if (code !== 0) return code;
  }
  for (const r of rules) if (r.initialSync && (r.action === 'sync' || r.action === 'sync+restart')) await initialSync(ctx.client, project, r);

  const rebuild = async (services: string[]) => {
    const q = JSON.stringify;
    let ids: Record<string, string>;
    // The build's output as the watch logger's lines.
    const stdout = new Writable({
      write(chunk, _enc, cb) { for (const l of String(chunk).replace(/\n$/, '').split('\n')) log.log(WATCH_LOGGER, l); cb(); },
    });
    try {
      ids = await buildServices({ ...s, stdout }, {
        project, services: services.map((n) => project.services[n]).filter((x) => x?.build), w: new QuietWriter(), quiet: Boolean(o.quiet),
      }, { registryConfig });
    } catch (e) {
      log.log(WATCH_LOGGER, `Build failed. Error: ${(e as Error).message}`);
      throw e;
    }
    if (o.prune !== false) await pruneDangling(ctx, project.name, new Set(Object.values(ids)));
    log.log(WATCH_LOGGER, `service(s) [${services.map((s) => q(s)).join(' ')}] successfully built`);
    try {
      // up -d --no-deps --no-build --force-recreate SERVICES.
      const only = withSelectedServices(project, services, { ignoreDependencies: true });
      const quiet = new QuietWriter();
      await runCommand(async () => {
        await create(s, only, { ...CREATE_DEFAULTS, services, build: false, recreate: 'force' }, quiet);
        await startProject(s, only, { w: quiet, services });
      });
    } catch (e) {
      log.log(WATCH_LOGGER, `Failed to recreate services after update. Error: ${(e as Error).message}`);
      throw e;
    }
  };

  const w = await startWatch({ client: ctx.client, project, rules, log, rebuild });
  await new Promise<void>((resolve) => {
    const done = () => resolve();
    process.once('SIGINT', done);
    process.once('SIGTERM', done);
    w.failed.then((e) => { log.err(WATCH_LOGGER, `Watch disabled with errors: ${e.message}`); resolve(); });
  });
  await w.stop();
  return 0;
}

/**
 * compose's pruneDanglingImagesOnRebuild: the project's dangling images, but the ones just built.
 * Best effort, as compose's: an image still used by a container, or gone meanwhile, stays as it is
 * (compose only logs these at debug level).
 */
async function pruneDangling(ctx: Ctx, project: string, keep: Set<string>): Promise<void> {
  let imgs: Array<{ Id: string }> = [];
  try {
    imgs = await ctx.client.images.list<{ Id: string }>({ filters: JSON.stringify({ dangling: ['true'], label: [`${LABELS.project}=${project}`] }) });
  } catch { return; /* best-effort cleanup: the images stay */ }
  for (const i of imgs) {
    if (keep.has(i.Id)) continue;
    try { await ctx.client.images.remove(i.Id); } catch { /* in use or gone: kept */ }
  }
}
