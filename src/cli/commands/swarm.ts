// `berth swarm init|join|join-token|leave|update|unlock|unlock-key|ca`: docker CLI 28's requests
// and texts (with `berth` where docker names itself). Bodies come from swarm-spec.ts.
//
//   berth swarm init --advertise-addr 10.0.0.1
//     Swarm initialized: current node (abc…) is now a manager.
//
//     To add a worker to this swarm, run the following command:
//
//         berth swarm join --token SWMTKN-1-… 10.0.0.1:2377
//
//     To add a manager to this swarm, run 'berth swarm join-token manager' and follow the instructions.
import type { OptionsOf, SWARM_COMMANDS } from '../spec.ts';
import type { SwarmInfo } from '../../api/types/swarm.ts';
import { ApiError } from '../../client/client.ts';
import { StatusError, flagError, type Ctx } from '../context.ts';
import { SpecError, swarmInitBody, swarmJoinBody, swarmUpdateSpec, type SwarmFlags } from './swarm-spec.ts';

/** A SpecError as pflag's `invalid argument` usage error (exit 125). */
export function specFailure(ctx: Ctx, e: unknown): never {
  if (e instanceof SpecError) throw flagError(ctx, e.flag, e.value, e.message);
  throw e;
}

/** Runs a builder, turning a SpecError into the flag error docker prints. */
export function build<T>(ctx: Ctx, f: () => T): T {
  try {
    return f();
  } catch (e) {
    specFailure(ctx, e);
  }
}

/** docker's printJoinCommand: the join hints, from the node's manager address and the tokens. */
export async function joinCommandText(ctx: Ctx, nodeId: string, worker: boolean, manager: boolean): Promise<string> {
  const node = await ctx.client.nodes.inspect(nodeId);
  const sw = await ctx.client.swarm.inspect();
  if (!node.ManagerStatus) return '';
  let out = '';
  const addr = node.ManagerStatus.Addr;
  if (worker) out += `To add a worker to this swarm, run the following command:\n\n    berth swarm join --token ${sw.JoinTokens.Worker} ${addr}\n\n`;
  if (manager) out += `To add a manager to this swarm, run the following command:\n\n    berth swarm join --token ${sw.JoinTokens.Manager} ${addr}\n\n`;
  return out;
}

export function unlockText(key: string): string {
  if (!key) return '';
  return 'To unlock a swarm manager after it restarts, run the `berth swarm unlock`\ncommand and provide the following key:\n\n'
    + `    ${key}\n\nRemember to store this key in a password manager, since without it you\nwill not be able to restart the manager.\n`;
}

async function unlockKeyOrFail(ctx: Ctx): Promise<string> {
  try {
    return (await ctx.client.swarm.unlockKey()).UnlockKey ?? '';
  } catch (e) {
    throw new StatusError(`could not fetch unlock key: ${e instanceof ApiError ? 'Error response from daemon: ' : ''}${(e as Error).message}`, 1);
  }
}

export async function init(ctx: Ctx, _args: string[], o: OptionsOf<typeof SWARM_COMMANDS.init>): Promise<number> {
  const body = build(ctx, () => swarmInitBody(o as SwarmFlags));
  const nodeId = await ctx.client.swarm.init(body);
  process.stdout.write(`Swarm initialized: current node (${nodeId}) is now a manager.\n\n`);
  process.stdout.write(await joinCommandText(ctx, nodeId, true, false));
  process.stdout.write("To add a manager to this swarm, run 'berth swarm join-token manager' and follow the instructions.\n\n");
  if (o.autolock) process.stdout.write(unlockText(await unlockKeyOrFail(ctx)));
  return 0;
}

export async function join(ctx: Ctx, args: string[], o: OptionsOf<typeof SWARM_COMMANDS.join>): Promise<number> {
  const body = build(ctx, () => swarmJoinBody(o as SwarmFlags, args[0]));
  await ctx.client.swarm.join(body);
  const info = await ctx.client.system.info<{ Swarm?: SwarmInfo }>();
  process.stdout.write(info.Swarm?.ControlAvailable ? 'This node joined a swarm as a manager.\n' : 'This node joined a swarm as a worker.\n');
  return 0;
}

export async function joinToken(ctx: Ctx, args: string[], o: OptionsOf<typeof SWARM_COMMANDS['join-token']>): Promise<number> {
  const role = args[0];
  const worker = role === 'worker';
  const manager = role === 'manager';
  if (!worker && !manager) throw new StatusError(`unknown role ${role}`, 1);
  const c = ctx.client;
  if (o.rotate) {
    const sw = await c.swarm.inspect();
    await c.swarm.update({ version: sw.Version.Index, rotateWorkerToken: worker, rotateManagerToken: manager }, sw.Spec);
    if (!o.quiet) process.stdout.write(`Successfully rotated ${role} join token.\n\n`);
  }
  // Only a manager can read the tokens (GET /swarm answers 503 elsewhere, with the daemon's text).
  if (o.quiet) {
    const sw = await c.swarm.inspect();
    process.stdout.write(`${worker ? sw.JoinTokens.Worker : sw.JoinTokens.Manager}\n`);
    return 0;
  }
  const info = await c.system.info<{ Swarm?: SwarmInfo }>();
  process.stdout.write(await joinCommandText(ctx, info.Swarm?.NodeID ?? '', worker, manager));
  return 0;
}

export async function leave(ctx: Ctx, _args: string[], o: OptionsOf<typeof SWARM_COMMANDS.leave>): Promise<number> {
  await ctx.client.swarm.leave({ force: Boolean(o.force) });
  process.stdout.write('Node left the swarm.\n');
  return 0;
}

export async function update(ctx: Ctx, _args: string[], o: OptionsOf<typeof SWARM_COMMANDS.update>): Promise<number> {
  const c = ctx.client;
  const sw = await c.swarm.inspect();
  const wasLocked = Boolean(sw.Spec.EncryptionConfig?.AutoLockManagers);
  const spec = build(ctx, () => swarmUpdateSpec(sw.Spec, o as SwarmFlags));
  await c.swarm.update({ version: sw.Version.Index }, spec);
  process.stdout.write('Swarm updated.\n');
  if (o.autolock && !wasLocked) process.stdout.write(unlockText(await unlockKeyOrFail(ctx)));
  return 0;
}

/** Reads one line from stdin (the unlock key; docker hides it on a terminal). */
async function readLine(): Promise<string> {
  const stdin = process.stdin;
  const raw = stdin.isTTY;
  return new Promise((resolve) => {
    let buf = '';
    const done = () => { stdin.off('data', onData); stdin.off('end', done); if (raw) stdin.setRawMode(false); stdin.pause(); resolve(buf.replace(/\r?\n.*$/s, '')); };
    const onData = (d: Buffer) => {
      buf += d.toString();
      if (raw && buf.includes('\r')) buf = buf.replace(/\r/g, '\n');
      if (buf.includes('\n')) done();
    };
    if (raw) stdin.setRawMode(true);
    stdin.on('data', onData);
    stdin.on('end', done);
    stdin.resume();
  });
}

export async function unlock(ctx: Ctx): Promise<number> {
  const info = await ctx.client.system.info<{ Swarm?: SwarmInfo }>();
  switch (info.Swarm?.LocalNodeState) {
    case 'inactive': throw new StatusError('Error: This node is not part of a swarm', 1);
    case 'locked': break;
    case 'pending': case 'active': case 'error': throw new StatusError('Error: swarm is not locked', 1);
    default: break;
  }
  if (process.stdin.isTTY) process.stdout.write('Enter unlock key: ');
  const key = (await readLine()).trim();
  if (process.stdin.isTTY) process.stdout.write('\n');
  await ctx.client.swarm.unlock({ UnlockKey: key });
  return 0;
}

export async function unlockKey(ctx: Ctx, _args: string[], o: OptionsOf<typeof SWARM_COMMANDS['unlock-key']>): Promise<number> {
  const c = ctx.client;
  if (o.rotate) {
    const sw = await c.swarm.inspect();
    if (!sw.Spec.EncryptionConfig?.AutoLockManagers) throw new StatusError('cannot rotate because autolock is not turned on', 1);
    await c.swarm.update({ version: sw.Version.Index, rotateManagerUnlockKey: true }, sw.Spec);
    if (!o.quiet) process.stdout.write('Successfully rotated manager unlock key.\n\n');
  }
  const key = await unlockKeyOrFail(ctx);
  if (!key) throw new StatusError('no unlock key is set', 1);
  process.stdout.write(o.quiet ? `${key}\n` : unlockText(key));
  return 0;
}

/** `swarm ca`: prints the root CA certificate. Rotation (--rotate, --ca-cert, --ca-key) is not
 *  implemented by berth's swarm; asking for it is an error rather than a silent no-op. */
export async function ca(ctx: Ctx, _args: string[], o: OptionsOf<typeof SWARM_COMMANDS.ca>): Promise<number> {
  if (o.rotate || o.caCert || o.caKey || o.certExpiry) throw new StatusError('berth swarm ca: rotating the root CA is not supported', 1);
  const sw = await ctx.client.swarm.inspect();
  process.stdout.write(`${(sw.TLSInfo?.TrustRoot ?? '').trim()}\n`);
  return 0;
}
