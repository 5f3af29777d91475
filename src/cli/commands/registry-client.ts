// `berth login`, `logout` and `push`: credentials in the CLI's config file (src/cli/credentials.ts),
// checked by the daemon (POST /auth) and sent with every pull and push as X-Registry-Auth.
import type { OptionsOf, IMAGE_COMMANDS, TOP_LEVEL } from '../spec.ts';
import type { AuthResponse } from '../../api/types/responses.ts';
import { ApiError } from '../../client/client.ts';
import { StreamError, displayJsonMessages } from '../../client/streams.ts';
import { StatusError, type Ctx } from '../context.ts';
import { authHeaderFor, configPath, eraseAuth, getAuth, loggedIn, logoutKeys, serverKey, storeAuth, type AuthConfig } from '../credentials.ts';


function readLine(prompt: string, hidden: boolean): Promise<string> {
  return new Promise((resolve) => {
    process.stdout.write(prompt);
    const stdin = process.stdin;
    const raw = hidden && stdin.isTTY;
    if (raw) stdin.setRawMode(true);
    let buf = '';
    const onData = (d: Buffer) => {
      for (const ch of d.toString()) {
        if (ch === '\r' || ch === '\n') {
          stdin.off('data', onData);
          if (raw) { stdin.setRawMode(false); process.stdout.write('\n'); }
          stdin.pause();
          resolve(buf);
          return;
        }
        if (ch === '\u0003') { if (raw) stdin.setRawMode(false); process.exit(130); }
        if (ch === '\u007f') buf = buf.slice(0, -1); else buf += ch;
      }
    };
    stdin.on('data', onData);
    stdin.resume();
  });
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString();
}

export async function login(ctx: Ctx, args: string[], o: OptionsOf<typeof TOP_LEVEL.login>): Promise<number> {
  const key = serverKey(args[0]);
  if (o.password !== undefined && o.passwordStdin) throw new StatusError('--password and --password-stdin are mutually exclusive', 1);
  if (o.passwordStdin && !o.username) throw new StatusError('Must provide --username with --password-stdin', 1);
  let username: string | undefined = o.username;
  let password: string | undefined = o.password;
  if (password !== undefined) process.stderr.write('WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n');
  if (o.passwordStdin) password = (await readStdin()).replace(/\r?\n$/, '');
  if (!username || password === undefined) {
    if (!process.stdin.isTTY) throw new StatusError('Error: Cannot perform an interactive login from a non TTY device', 1);
    if (!username) {
      const stored = getAuth(key).username;
      username = (await readLine(stored ? `Username (${stored}): ` : 'Username: ', false)).trim() || stored;
      if (!username) throw new StatusError('Error: Non-null Username Required', 1);
    }
    if (password === undefined) password = await readLine('Password: ', true);
    if (!password) throw new StatusError('Error: Password Required', 1);
  }
  const auth: AuthConfig = { username, password, serveraddress: key };
  let r: AuthResponse;
  try {
    r = await ctx.client.system.auth(auth);
  } catch (e) {
    if (e instanceof ApiError) throw new StatusError(`Error response from daemon: ${e.message}`, 1);
    throw e;
  }
  const where = storeAuth(key, r.IdentityToken ? { username, identitytoken: r.IdentityToken, serveraddress: key } : auth);
  if (where === 'file') {
    process.stderr.write(`WARNING! Your credentials are stored unencrypted in '${configPath()}'.\nConfigure a credential helper to remove this warning. See\nhttps://docs.docker.com/go/credential-store/\n\n`);
  }
  process.stdout.write(`${r.Status || 'Login Succeeded'}\n`);
  return 0;
}

export async function logout(_ctx: Ctx, args: string[]): Promise<number> {
  const key = serverKey(args[0]);
  const keys = logoutKeys(key);
  if (!loggedIn(keys)) {
    process.stdout.write(`Not logged in to ${key}\n`);
    return 0;
  }
  process.stdout.write(`Removing login credentials for ${key}\n`);
  const errs = keys.map((k) => [k, eraseAuth(k)] as const).filter(([, e]) => e !== undefined);
  // As docker: a warning only when every form failed to erase.
  if (errs.length === keys.length) {
    process.stderr.write('WARNING: could not erase credentials:\n');
    for (const [k, e] of errs) process.stdout.write(`${k}: ${e}\n`);
  }
  return 0;
}

/** docker's display of a pull/push stream: bars on a terminal, lines otherwise; errors exit 1. */
export async function showProgress(res: NodeJS.ReadableStream, out: NodeJS.WritableStream, quiet: boolean): Promise<void> {
  try {
    await displayJsonMessages(res as any, (quiet ? { write: () => true } : out) as any, { tty: !quiet && Boolean((out as any).isTTY) });
  } catch (e) {
    if (e instanceof StreamError) throw new StatusError(e.message, 1);
    throw e;
  }
}

export async function push(ctx: Ctx, args: string[], o: OptionsOf<typeof IMAGE_COMMANDS.push>): Promise<number> {
  const image = args[0];
  const lastSlash = image.lastIndexOf('/');
  const colon = image.lastIndexOf(':');
  const hasTag = colon > lastSlash;
  if (image.includes('@')) throw new StatusError(`invalid argument "${image}" for push: cannot push a digest reference`, 1);
  const name = hasTag ? image.slice(0, colon) : image;
  let tag: string | undefined = hasTag ? image.slice(colon + 1) : undefined;
  if (o.allTags && hasTag) throw new StatusError('tag can\'t be used with --all-tags/-a', 1);
  if (!o.allTags && !tag) {
    tag = 'latest';
    if (!o.quiet) process.stdout.write('Using default tag: latest\n');
  }
  let res;
  try {
    res = await ctx.client.images.push(name, { tag }, { headers: authHeaderFor(name) });
  } catch (e) {
    if (e instanceof ApiError) throw new StatusError(`Error response from daemon: ${e.message}`, 1);
    throw e;
  }
  await showProgress(res, process.stdout, Boolean(o.quiet));
  if (o.quiet) process.stdout.write(`${hasTag || !o.allTags ? `${name}:${tag}` : name}\n`);
  return 0;
}
