// `berth build [OPTIONS] PATH | URL | -`: the docker CLI's legacy builder client
// (`DOCKER_BUILDKIT=0 docker build`, cli/command/image/build.go), over POST /build.
//
//   berth build -t app:1 .                 the directory is the context, ./Dockerfile the Dockerfile
//   berth build -f ci/Dockerfile .         -f is relative to the current directory, not the context
//   berth build -f ../Dockerfile.dev .     a Dockerfile outside the context travels inside the tar
//                                          under a generated name (.dockerfile.<hex>)
//   berth build - < context.tar.gz         stdin is the context (tar, gzip, bzip2, xz, zstd) ...
//   berth build - < Dockerfile             ... or, when it is not an archive, the only file of it
//   berth build -f - . < Dockerfile        the Dockerfile from stdin, the context from the directory
//
// The context tar is streamed as it is produced (createContextTar), filtered by .dockerignore, or
// by `<Dockerfile>.dockerignore` when there is one beside the Dockerfile. The answer is a
// JSON-message stream: `stream` texts (the legacy builder's "Step 1/3 : FROM busybox" lines),
// `aux` with the image ID, `error` when the build fails. Output modes:
//   plain (auto without a terminal)   the texts as they come, on stdout, as docker prints them;
//   tty   (auto on a terminal)        a live per-step display on stderr (build-progress.ts);
//   -q                                only the image ID, at the end.
// A failed build prints the daemon's text on stderr and exits with the failed command's status
// (docker's jsonmessage error code), or 1. Ctrl-C aborts the request; the daemon then cancels
// the build.
import type { OptionsOf, IMAGE_COMMANDS } from '../spec.ts';
import { randomBytes } from 'node:crypto';
import { lstatSync, readFileSync, readlinkSync, realpathSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { Readable, pipeline, type Writable } from 'node:stream';
import { createGzip } from 'node:zlib';
import { ApiError, type QueryValue } from '../../client/client.ts';
import { jsonMessages, messageError } from '../../client/streams.ts';
import { parseReference } from '../../common/reference.ts';
import { peekBytes } from '../../common/streams.ts';
import { humanSize, parseBytes } from '../../common/units.ts';
import { createContextTar, isArchive, tarOfFiles, type ContextTarOptions } from '../../archive/context-tar.ts';
import { contextExcludes, locateDockerignore, parseDockerignore } from '../../build/context/dockerignore.ts';
import { TtyProgress } from '../build-progress.ts';
import { StatusError, flagError, type Ctx } from '../context.ts';
import { parseUlimit } from '../run-config.ts';
import { allAuths, encodeRegistryConfig } from '../credentials.ts';

type Opts = OptionsOf<typeof IMAGE_COMMANDS.build>;

export interface BuildIo {
  stdin: NodeJS.ReadableStream;
  stdout: Writable & { isTTY?: boolean; columns?: number; rows?: number };
  stderr: Writable & { isTTY?: boolean; columns?: number; rows?: number };
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** Aborts the build (Ctrl-C). */
  signal?: AbortSignal;
}

/** The spec's action: the process's streams, SIGINT/SIGTERM abort the request. */
export async function build(ctx: Ctx, args: string[], o: OptionsOf<typeof IMAGE_COMMANDS.build>): Promise<number> {
  const ac = new AbortController();
  const onSignal = () => ac.abort();
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    return await runBuild(ctx, args, o, {
      stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd(), signal: ac.signal,
    });
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

const prepareError = (msg: string) => new StatusError(`unable to prepare context: ${msg}`, 1);

export async function runBuild(ctx: Ctx, args: string[], o: Opts, io: BuildIo): Promise<number> {
  const mode = progressMode(ctx, o, io);
  const query = buildQuery(ctx, o, io.env);
  const spec = args[0];
  const file: string | undefined = o.file || undefined;
  if (file === '-' && spec === '-') throw new StatusError("invalid argument: can't use stdin for both build context and dockerfile", 1);
  if (o.iidfile) {
    // No stale ID should survive a failed build.
    try { unlinkSync(o.iidfile); } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new StatusError(`Removing image ID file: ${(e as Error).message}`, 1);
    }
  }
  const prepared = await prepareContext(spec, file, io);
  if (prepared.dockerfile) query.dockerfile = prepared.dockerfile;
  // --compress: gzip on the way (the daemon detects it); an archive from stdin goes as it is.
  const body = o.compress && spec !== '-' ? pipeline(Readable.from(prepared.body), createGzip(), () => {}) : prepared.body;

  const display = mode === 'tty' ? new TtyProgress(io.stderr, { color: !io.env.NO_COLOR }) : undefined;
  let contextError: Error | undefined;
  let sent = 0;
  const upload = Readable.from((async function* () {
    try {
      for await (const c of body) {
        const b = Buffer.isBuffer(c) ? c : Buffer.from(c as string);
        sent += b.length;
        display?.contextProgress(sent, false);
        yield b;
      }
    } catch (e) {
      contextError = e as Error;
      throw e;
    }
    display?.contextProgress(sent, true);
    // docker's upload progress line, as a non-terminal shows its last state.
    if (mode === 'plain') io.stdout.write(`Sending build context to Docker daemon ${humanSize(sent, 4).padStart(8)}\n`);
  })(), { objectMode: false });

  display?.contextProgress(0, false);
  display?.start();
  const aborted = () => io.signal?.aborted === true;
  let imageId: string | undefined;
  let quietOut = '';
  try {
    let res;
    try {
      // X-Registry-Config: every registry credential the CLI has, for the FROM pulls ("{}" when none).
      let registryConfig = 'e30=';
      try { registryConfig = encodeRegistryConfig(allAuths()); } catch { /* an unreadable config: none */ }
      res = await ctx.client.build.build(query, upload, { signal: io.signal, headers: { 'X-Registry-Config': registryConfig } });
    } catch (e) {
      if (contextError) throw new StatusError(`error checking context: ${contextError.message}`, 1);
      throw e;
    }
    for await (const m of jsonMessages(res)) {
      const err = messageError(m);
      if (err !== undefined) {
        if (display) display.finish({ ok: false });
        if (mode === 'quiet') io.stderr.write(quietOut);
        throw new StatusError(err, m.errorDetail?.code || 1);
      }
      if (m.aux !== undefined) {
        const id = (m.aux as { ID?: unknown } | null)?.ID;
        if (typeof id === 'string') { imageId = id; display?.aux(id); }
        continue;
      }
      if (typeof m.stream === 'string') {
        if (mode === 'quiet') quietOut += m.stream;
        else if (display) display.stream(m.stream);
        else io.stdout.write(m.stream);
        continue;
      }
      // Other messages (a base image pull's `status`): progress-bar updates are left out, as
      // docker leaves them out without a terminal.
      if (m.progressDetail && (m.progressDetail.current || m.progressDetail.total)) continue;
      const line = `${m.id ? `${m.id}: ` : ''}${m.status ?? ''}`;
      if (!line) continue;
      if (display) display.stream(`${line}\n`);
      else if (mode === 'plain') io.stdout.write(`${line}\n`);
    }
  } catch (e) {
    if (aborted()) {
      display?.finish({ ok: false });
      return 130;
    }
    display?.finish({ ok: false });
    if (e instanceof StatusError || e instanceof ApiError) throw e;
    if (contextError) throw new StatusError(`error checking context: ${contextError.message}`, 1);
    throw e;
  } finally {
    upload.destroy();
  }
  display?.finish({ ok: true });
  if (mode === 'quiet') io.stdout.write(quietOut || (imageId ? `${imageId}\n` : ''));
  // A quiet build's reply is the image ID alone, no aux (moby): the docker CLI takes it, newline
  // and all, for --iidfile.
  if (mode === 'quiet' && quietOut) imageId = quietOut;
  if (o.iidfile) {
    if (!imageId) throw new StatusError(`Server did not provide an image ID. Cannot write ${o.iidfile}`, 1);
    writeFileSync(o.iidfile, imageId, { mode: 0o666 });
  }
  return 0;
}

// ---------------------------------------------------------------------------------------------
// Flags → query

export type ProgressMode = 'plain' | 'tty' | 'quiet';

export function progressMode(ctx: Ctx, o: Opts, io: Pick<BuildIo, 'stdout' | 'stderr' | 'env'>): ProgressMode {
  const p = String(o.progress ?? 'auto');
  if (!['auto', 'plain', 'tty'].includes(p)) throw flagError(ctx, '--progress', p, 'must be one of "auto", "plain" or "tty"');
  if (o.quiet) return 'quiet';
  if (p !== 'auto') return p as ProgressMode;
  return io.stdout.isTTY && io.stderr.isTTY && io.env.TERM !== 'dumb' ? 'tty' : 'plain';
}

/**
 * `--build-arg` as docker reads it (opts.ValidateEnv, then ConvertKVStringsToMapWithNil):
 * `K=V` is V; a bare `K` takes the local environment's value, or null ("declared, no value": the
 * Dockerfile's default applies) when the variable is unset.
 */
export function resolveBuildArgs(items: string[], env: NodeJS.ProcessEnv): Record<string, string | null> {
  const out: Record<string, string | null> = {};
  for (const it of items) {
    const eq = it.indexOf('=');
    const key = eq < 0 ? it : it.slice(0, eq);
    if (key === '') throw new Error(`invalid environment variable: ${it}`);
    if (eq >= 0) out[key] = it.slice(eq + 1);
    else out[key] = env[key] ?? null;
  }
  return out;
}

/** pflag's StringSlice: each value may hold several, comma-separated. */
const slice = (v: string[] | undefined) => (v ?? []).flatMap((x) => x.split(','));

/** The POST /build query for the flags, with docker's flag errors (exit 125). */
export function buildQuery(ctx: Ctx, o: Opts, env: NodeJS.ProcessEnv): Record<string, QueryValue> {
  const tags: string[] = o.tag ?? [];
  for (const t of tags) {
    try { parseReference(t); } catch (e) { throw flagError(ctx, '-t, --tag', t, (e as Error).message); }
  }
  let buildArgs: Record<string, string | null>;
  try { buildArgs = resolveBuildArgs(o.buildArg ?? [], env); } catch (e) {
    const bad = (o.buildArg as string[]).find((a) => a.startsWith('=')) ?? '';
    throw flagError(ctx, '--build-arg', bad, (e as Error).message);
  }
  const labels: Record<string, string> = {};
  for (const l of (o.label ?? []) as string[]) {
    const eq = l.indexOf('=');
    const key = eq < 0 ? l : l.slice(0, eq);
    if (key.trim() === '') throw flagError(ctx, '--label', l, `invalid label '${l}': empty name`);
    labels[key] = eq < 0 ? '' : l.slice(eq + 1);
  }
  const extraHosts = ((o.addHost ?? []) as string[]).map((h) => {
    // host:ip, or host=ip (docker turns it into host:ip).
    const eq = h.indexOf('=');
    const c = h.indexOf(':');
    if (eq > 0 && (c < 0 || eq < c)) return `${h.slice(0, eq)}:${h.slice(eq + 1)}`;
    if (c <= 0) throw flagError(ctx, '--add-host', h, `bad format for add-host: "${h}"`);
    return h;
  });
  const bytes = (flag: string, v: string | undefined): number | undefined => {
    if (v === undefined || v === '') return undefined;
    try { return parseBytes(v); } catch (e) { throw flagError(ctx, flag, v, (e as Error).message); }
  };
  const memswap = o.memorySwap === '-1' ? -1 : bytes('--memory-swap', o.memorySwap);
  const cacheFrom = slice(o.cacheFrom);
  const ulimits = ((o.ulimit ?? []) as string[]).map(parseUlimit);
  const network: string = o.network ?? 'default';
  const platform: string | undefined = o.platform || env.DOCKER_DEFAULT_PLATFORM || undefined;
  const nz = (n: number | undefined) => (n ? n : undefined);
  return {
    t: tags,
    // `dockerfile` is set once the context is known.
    buildargs: Object.keys(buildArgs).length ? JSON.stringify(buildArgs) : undefined,
    nocache: o.cache === false,
    target: o.target || undefined,
    labels: Object.keys(labels).length ? JSON.stringify(labels) : undefined,
    networkmode: network && network !== 'default' ? network : undefined,
    pull: Boolean(o.pull),
    // The daemon removes intermediate containers by default; docker only sends the opt-out.
    rm: o.rm === false ? '0' : undefined,
    forcerm: Boolean(o.forceRm),
    q: Boolean(o.quiet),
    platform: platform?.toLowerCase(),
    cachefrom: cacheFrom.length ? JSON.stringify(cacheFrom) : undefined,
    extrahosts: extraHosts,
    securityopt: slice(o.securityOpt),
    shmsize: nz(bytes('--shm-size', o.shmSize)),
    memory: nz(bytes('-m, --memory', o.memory)),
    memswap: nz(memswap),
    cpushares: nz(o.cpuShares),
    cpuperiod: nz(o.cpuPeriod),
    cpuquota: nz(o.cpuQuota),
    cpusetcpus: o.cpusetCpus || undefined,
    cpusetmems: o.cpusetMems || undefined,
    cgroupparent: o.cgroupParent || undefined,
    isolation: o.isolation && o.isolation !== 'default' ? o.isolation : undefined,
    ulimits: ulimits.length ? JSON.stringify(ulimits) : undefined,
    squash: Boolean(o.squash),
    // The legacy builder (BuilderV1), as DOCKER_BUILDKIT=0 sends it.
    version: '1',
  };
}

// ---------------------------------------------------------------------------------------------
// The context

export interface PreparedContext {
  /** The request body: a tar, maybe compressed (stdin). */
  body: AsyncIterable<Buffer | string>;
  /** The `dockerfile` parameter: the Dockerfile's path inside the context, when not the default. */
  dockerfile?: string;
}

/** docker's urlutil.IsGitURL / IsURL. */
export function isGitUrl(s: string): boolean {
  return /^https?:\/\/.*\.git(?:#.+)?$/.test(s) || s.startsWith('git://') || s.startsWith('github.com/') || s.startsWith('git@');
}
const isUrl = (s: string) => s.startsWith('http://') || s.startsWith('https://');

/** Picks the kind of context as docker does: stdin, a local path, a git URL, a URL. */
export function contextKind(spec: string, cwd: string): 'stdin' | 'dir' | 'git' | 'url' | 'missing' {
  if (spec === '-') return 'stdin';
  try {
    statSync(resolve(cwd, spec));
    return 'dir';
  } catch { /* not a local path */ }
  if (isGitUrl(spec)) return 'git';
  if (isUrl(spec)) return 'url';
  return 'missing';
}

export async function prepareContext(spec: string, file: string | undefined, io: Pick<BuildIo, 'stdin' | 'cwd'>): Promise<PreparedContext> {
  switch (contextKind(spec, io.cwd)) {
    case 'stdin': return stdinContext(io.stdin, file);
    case 'dir': return localContext(spec, file, io);
    case 'git':
    case 'url':
      throw prepareError(`remote build contexts (git repositories and URLs) are not supported: fetch ${JSON.stringify(spec)} yourself and build from the local directory`);
    default:
      throw prepareError(`path ${JSON.stringify(spec)} not found`);
  }
}

/**
 * `-` (docker's GetContextFromReader): an archive on stdin is the context as it is, `-f` naming
 * the Dockerfile inside it; anything else is a Dockerfile, and the context a tar of only it.
 */
export async function stdinContext(stdin: AsyncIterable<Buffer | string>, file: string | undefined): Promise<PreparedContext> {
  const { head, all } = await peekBytes(stdin, 512);
  if (isArchive(head)) return { body: all, dockerfile: file };
  if (file === '-') throw prepareError('build context is not an archive');
  const parts: Buffer[] = [];
  for await (const c of all) parts.push(c);
  return { body: Readable.from([tarOfFiles([{ name: 'Dockerfile', content: Buffer.concat(parts) }])]), dockerfile: 'Dockerfile' };
}

const ERRNO_TEXT: Record<string, string> = {
  ENOENT: 'no such file or directory', ENOTDIR: 'not a directory', EACCES: 'permission denied', ELOOP: 'too many levels of symbolic links',
};
const errnoText = (e: unknown) => ERRNO_TEXT[(e as NodeJS.ErrnoException).code ?? ''] ?? (e as Error).message;

/**
 * The error Go's filepath.EvalSymlinks gives for a path that does not resolve: the lstat of the
 * first component that is missing (`lstat /ctx/Dockerfile: no such file or directory`).
 */
export function evalSymlinksError(path: string): string {
  const queue = path.split('/').filter((c) => c && c !== '.');
  let cur = '';
  for (let hops = 0; queue.length;) {
    const c = queue.shift()!;
    if (c === '..') { cur = cur ? dirname(cur) : ''; if (cur === '/') cur = ''; continue; }
    const next = `${cur}/${c}`;
    let st;
    try { st = lstatSync(next); } catch (e) { return `lstat ${next}: ${errnoText(e)}`; }
    if (st.isSymbolicLink()) {
      if (++hops > 255) return 'EvalSymlinks: too many links';
      const target = readlinkSync(next);
      if (target.startsWith('/')) cur = '';
      queue.unshift(...target.split('/').filter((x) => x && x !== '.'));
      continue;
    }
    if (!st.isDirectory() && queue.length) return 'not a directory';
    cur = next;
  }
  return `lstat ${path}: no such file or directory`;
}

export interface LocalContext {
  /** The context directory, symlinks resolved. */
  contextDir: string;
  /** The Dockerfile relative to it (`../…` when outside), or '-' for stdin. */
  relDockerfile: string;
  /** The Dockerfile's path as named (absolute, symlinks not resolved): its `.dockerignore` sits beside it. */
  dockerfilePath?: string;
}

/** docker's GetContextFromLocalDir: the context directory and where the Dockerfile is. */
export function resolveLocalContext(spec: string, file: string | undefined, cwd: string): LocalContext {
  const abs = resolve(cwd, spec);
  let contextDir: string;
  try { contextDir = realpathSync(abs); } catch { throw prepareError(`unable to evaluate symlinks in context path: ${evalSymlinksError(abs)}`); }
  if (!lstatSync(contextDir).isDirectory()) throw prepareError(`context must be a directory: ${contextDir}`);
  if (file === '-') return { contextDir, relDockerfile: '-' };
  let dockerfilePath: string;
  if (file) {
    // -f is relative to the current directory, not to the context.
    dockerfilePath = resolve(cwd, file);
  } else {
    dockerfilePath = join(contextDir, 'Dockerfile');
    // docker accepts a lower-case `dockerfile` when there is no `Dockerfile`.
    const lower = join(contextDir, 'dockerfile');
    if (!lstatSync(dockerfilePath, { throwIfNoEntry: false }) && lstatSync(lower, { throwIfNoEntry: false })) dockerfilePath = lower;
  }
  let real: string;
  try { real = realpathSync(dockerfilePath); } catch {
    throw prepareError(`unable to evaluate symlinks in Dockerfile path: ${evalSymlinksError(dockerfilePath)}`);
  }
  return { contextDir, relDockerfile: relative(contextDir, real).split(sep).join('/'), dockerfilePath };
}

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR') return undefined;
    throw new StatusError(`open ${path}: ${errnoText(e)}`, 1);
  }
}

async function readAll(src: AsyncIterable<Buffer | string>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of src) parts.push(Buffer.isBuffer(c) ? c : Buffer.from(c));
  return Buffer.concat(parts);
}

/** A directory context: its tar, with the Dockerfile added when it comes from elsewhere. */
export async function localContext(spec: string, file: string | undefined, io: Pick<BuildIo, 'stdin' | 'cwd'>): Promise<PreparedContext> {
  const lc = resolveLocalContext(spec, file, io.cwd);
  const outside = lc.relDockerfile === '-' || lc.relDockerfile === '..' || lc.relDockerfile.startsWith('../');
  const ignore = locateDockerignore(readText, lc.dockerfilePath, lc.contextDir);
  const opts: ContextSpec = { excludes: parseDockerignore(ignore?.text ?? ''), owner: { uid: 0, gid: 0 } };
  if (!outside) {
    opts.dockerfilePath = lc.relDockerfile;
  } else {
    let content: Buffer;
    if (lc.relDockerfile === '-') content = await readAll(io.stdin);
    else {
      try { content = readFileSync(resolve(io.cwd, file!)); } catch (e) {
        throw new StatusError(`unable to open Dockerfile: open ${file}: ${errnoText(e)}`, 1);
      }
    }
    // docker's AddDockerfileToBuildContext: the Dockerfile under a generated name, and that name
    // added to .dockerignore so the daemon drops the file from the context once it has read it.
    const name = `.dockerfile.${randomBytes(10).toString('hex')}`;
    opts.dockerfile = { name, content };
    const rootIgnore = readText(join(lc.contextDir, '.dockerignore'));
    opts.files = { '.dockerignore': Buffer.from(`${rootIgnore ?? '.dockerignore'}\n${name}\n`) };
    if (ignore && ignore.path !== join(lc.contextDir, '.dockerignore')) {
      // The Dockerfile's own ignore file, from beside it, for the daemon too (it looks for
      // `<dockerfile>.dockerignore` first), listing the generated names.
      opts.files[`${name}.dockerignore`] = Buffer.from(`${ignore.text}\n${name}\n${name}.dockerignore\n`);
    }
    return { body: tarBody(lc.contextDir, opts), dockerfile: name };
  }
  return { body: tarBody(lc.contextDir, opts), dockerfile: lc.relDockerfile };
}

/** A context's options with its ignore patterns, and the Dockerfile's path when it is inside. */
type ContextSpec = Omit<ContextTarOptions, 'exclude'> & { excludes: string[]; dockerfilePath?: string };

function tarBody(dir: string, { excludes, dockerfilePath, ...opts }: ContextSpec): Readable {
  try {
    return createContextTar(dir, { ...opts, exclude: contextExcludes(excludes, dockerfilePath) });
  } catch (e) {
    throw new StatusError(`error checking context: ${(e as Error).message}`, 1);
  }
}
