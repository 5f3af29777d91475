// `berth registry serve` and `berth registry gc`: berth's own OCI registry, run in the foreground
// as its own process (it does not talk to berthd).
//
//   berth registry serve --addr 0.0.0.0:5000 --root /srv/reg --htpasswd /etc/berth/htpasswd
//   berth registry serve --root /srv/reg --htpasswd h --token-auth --tls-cert c.pem --tls-key k.pem
//   berth registry gc --root /srv/reg --dry-run
import type { OptionsOf, REGISTRY_COMMANDS } from '../spec.ts';
import { StatusError, type Ctx } from '../context.ts';


export const DEFAULT_ROOT = '/var/lib/berth/registry';

export async function serve(ctx: Ctx, _args: string[], opts: OptionsOf<typeof REGISTRY_COMMANDS.serve>): Promise<number> {
  const { loadConfig, mergeSettings, DEFAULT_ADDR } = await import('../../registry/server/config.ts');
  const { startRegistry } = await import('../../registry/server/server.ts');
  let settings;
  try {
    const file = opts.config ? await loadConfig(opts.config) : {};
    settings = mergeSettings(file, {
      addr: opts.addr, root: opts.root, htpasswd: opts.htpasswd, tokenAuth: opts.tokenAuth,
      tlsCert: opts.tlsCert, tlsKey: opts.tlsKey,
    });
  } catch (e) {
    throw new StatusError(`error: ${(e as Error).message}`, 1);
  }
  let reg;
  try {
    reg = await startRegistry({ ...settings, addr: settings.addr ?? DEFAULT_ADDR, root: settings.root ?? DEFAULT_ROOT, log: (l) => ctx.err(l + '\n') });
  } catch (e) {
    throw new StatusError(`error: cannot start the registry: ${(e as Error).message}`, 1);
  }
  ctx.err(`berth registry listening on ${reg.url} (root ${settings.root ?? DEFAULT_ROOT}, auth ${reg.auth})\n`);
  await new Promise<void>((resolve) => {
    const stop = (sig: string) => {
      ctx.err(`${sig}: shutting down\n`);
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
      reg.close().then(resolve, resolve);
    };
    const onInt = () => stop('SIGINT');
    const onTerm = () => stop('SIGTERM');
    process.on('SIGINT', onInt);
    process.on('SIGTERM', onTerm);
  });
  return 0;
}

export async function gc(ctx: Ctx, _args: string[], opts: OptionsOf<typeof REGISTRY_COMMANDS.gc>): Promise<number> {
  const { collectGarbage } = await import('../../registry/server/gc.ts');
  const { stat } = await import('node:fs/promises');
  const root: string = opts.root ?? DEFAULT_ROOT;
  if (!(await stat(root).then((s) => s.isDirectory(), () => false))) throw new StatusError(`error: ${root}: no such registry root`, 1);
  const r = await collectGarbage(root, { dryRun: Boolean(opts.dryRun), log: (l) => ctx.out(l + '\n') });
  ctx.out(`${r.repositories} repositories, ${r.manifests} manifests, ${r.marked} blobs marked; `
    + `${r.removed.length} blobs ${r.dryRun ? 'eligible for deletion' : 'removed'} (${r.freedBytes} bytes), `
    + `${r.uploads.length} abandoned uploads ${r.dryRun ? 'eligible for deletion' : 'removed'}\n`);
  return 0;
}
