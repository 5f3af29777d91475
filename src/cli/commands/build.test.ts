// `berth build`: flag handling, context selection (directory, -f inside/outside, stdin archive or
// Dockerfile, -f -), docker's error texts, and whole runs against a fake daemon on a unix socket
// that checks the query and reads the streamed tar back.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { gunzipSync, gzipSync } from 'node:zlib';
import { ApiError, queryString } from '../../client/client.ts';
import { TarReader } from '../../archive/tar-reader.ts';
import { tarOfFiles } from '../../archive/context-tar.ts';
import { parseCommandArgs } from '../args.ts';
import { Ctx, StatusError } from '../context.ts';
import { IMAGE_COMMANDS, TOP_LEVEL, GROUPS } from '../spec.ts';
import {
  buildQuery, contextKind, evalSymlinksError, isGitUrl, prepareContext, resolveBuildArgs, resolveLocalContext, runBuild, stdinContext, type BuildIo,
} from './build.ts';

// The CLI's config file is the test's own (none: no credentials), never the machine user's.
process.env.BERTH_CONFIG = join(tmpdir(), `berth-build-test-no-config-${process.pid}`);

const spec = IMAGE_COMMANDS.build;

function parse(argv: string[]): { args: string[]; opts: Record<string, any> } {
  const p = parseCommandArgs(spec, argv);
  for (const o of spec.options) {
    if (o.kind !== 'int') continue;
    const key = o.flags.split(/,\s*/).pop()!.slice(2).replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());
    if (p.opts[key] !== undefined) p.opts[key] = Number(p.opts[key]);
  }
  return { args: p.args, opts: p.opts };
}

function tree(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'berth-build-cli-'));
  for (const [name, content] of Object.entries(files)) {
    const p = join(dir, name);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, content);
  }
  return dir;
}

async function tarEntries(body: AsyncIterable<Buffer | string>): Promise<Record<string, string>> {
  const r = new TarReader(body);
  const out: Record<string, string> = {};
  for (let e = await r.next(); e; e = await r.next()) {
    const parts: Buffer[] = [];
    for await (const c of r.body()) parts.push(Buffer.from(c));
    out[e.name] = Buffer.concat(parts).toString();
  }
  return out;
}

const ctxFor = (host?: string) => new Ctx(host ? { host } : {}, 'berth build', 'berth build [OPTIONS] PATH | URL | -');

test('spec: build and image build, one argument, docker\'s flags', () => {
  assert.equal(TOP_LEVEL.build, spec);
  assert.equal(GROUPS.image.commands.build, spec);
  assert.equal(spec.min, 1);
  assert.equal(spec.max, 1);
  const { opts } = parse(['-t', 'a', '--tag=b:1', '--no-cache', '--rm=false', '-q', '-f', 'x', '--build-arg', 'A=1', '.']);
  assert.deepEqual(opts.tag, ['a', 'b:1']);
  assert.equal(opts.cache, false);
  assert.equal(opts.rm, false);
  assert.equal(opts.quiet, true);
  assert.equal(opts.file, 'x');
  assert.equal(opts.progress, 'auto');
  assert.equal(opts.network, 'default');
});

test('build args: K=V, K from the environment, K unset → null', () => {
  assert.deepEqual(resolveBuildArgs(['A=1', 'B=', 'C=x=y', 'HOME2', 'UNSET'], { HOME2: '/root' }), { A: '1', B: '', C: 'x=y', HOME2: '/root', UNSET: null });
  assert.throws(() => resolveBuildArgs(['=x'], {}), /invalid environment variable: =x/);
});

test('query: every flag as docker\'s client sends it', () => {
  const { opts } = parse([
    '-t', 'app', '-t', 'reg.example:5000/team/app:1', '--build-arg', 'A=1', '--build-arg', 'FROM_ENV', '--build-arg', 'NOPE',
    '--no-cache', '--target', 'prod', '--label', 'x=1', '--label', 'flag', '--network', 'host', '--pull', '--rm=false', '--force-rm',
    '--platform', 'Linux/AMD64', '--cache-from', 'a,b', '--cache-from', 'c', '--add-host', 'h1:1.2.3.4', '--add-host', 'h2=5.6.7.8',
    '--shm-size', '64m', '-m', '1g', '--memory-swap', '-1', '-c', '512', '--cpuset-cpus', '0-1', '--ulimit', 'nofile=10:20', '--squash', '.',
  ]);
  const q = buildQuery(ctxFor(), opts, { FROM_ENV: 'e' });
  assert.equal(queryString(q), '?' + [
    't=app', 't=reg.example%3A5000%2Fteam%2Fapp%3A1',
    `buildargs=${encodeURIComponent('{"A":"1","FROM_ENV":"e","NOPE":null}')}`,
    'nocache=1', 'target=prod', `labels=${encodeURIComponent('{"x":"1","flag":""}')}`, 'networkmode=host', 'pull=1', 'rm=0', 'forcerm=1',
    'platform=linux%2Famd64', `cachefrom=${encodeURIComponent('["a","b","c"]')}`, 'extrahosts=h1%3A1.2.3.4', 'extrahosts=h2%3A5.6.7.8',
    `shmsize=${64 << 20}`, `memory=${1 << 30}`, 'memswap=-1', 'cpushares=512', 'cpusetcpus=0-1',
    `ulimits=${encodeURIComponent('[{"Name":"nofile","Hard":20,"Soft":10}]')}`, 'squash=1', 'version=1',
  ].join('&'));
  // Defaults send almost nothing.
  assert.equal(queryString(buildQuery(ctxFor(), parse(['.']).opts, {})), '?version=1');
  assert.equal(queryString(buildQuery(ctxFor(), parse(['-q', '.']).opts, { DOCKER_DEFAULT_PLATFORM: 'linux/arm64' })), '?q=1&platform=linux%2Farm64&version=1');
});

test('flag errors: docker\'s texts, exit 125', () => {
  const bad = (argv: string[], re: RegExp) => {
    assert.throws(() => buildQuery(ctxFor(), parse(argv).opts, {}), (e: unknown) => e instanceof StatusError && e.status === 125 && re.test(e.message));
  };
  bad(['-t', 'Upper', '.'], /^invalid argument "Upper" for "-t, --tag" flag: invalid reference format: repository name \(library\/Upper\) must be lowercase/);
  bad(['-t', 'a b', '.'], /invalid argument "a b" for "-t, --tag" flag: invalid reference format/);
  bad(['--build-arg', '=x', '.'], /invalid argument "=x" for "--build-arg" flag: invalid environment variable: =x/);
  bad(['--add-host', 'nohost', '.'], /bad format for add-host: "nohost"/);
  bad(['--shm-size', 'lots', '.'], /invalid argument "lots" for "--shm-size" flag: invalid size: 'lots'/);
  bad(['--label', '=v', '.'], /invalid label '=v': empty name/);
});

test('context kinds: stdin, local path, git and URL contexts, missing paths', () => {
  const dir = tree({ 'Dockerfile': 'FROM x' });
  try {
    assert.equal(contextKind('-', dir), 'stdin');
    assert.equal(contextKind('.', dir), 'dir');
    assert.equal(contextKind(dir, '/'), 'dir');
    assert.equal(contextKind('github.com/docker/app', dir), 'git');
    assert.equal(contextKind('git@github.com:docker/app.git', dir), 'git');
    assert.equal(contextKind('https://example.com/app.git#main:sub', dir), 'git');
    assert.equal(contextKind('https://example.com/context.tar.gz', dir), 'url');
    assert.equal(contextKind('nope', dir), 'missing');
    assert.equal(isGitUrl('https://example.com/x'), false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('local context: default Dockerfile, lower-case dockerfile, -f relative to the current directory, outside the context', () => {
  const root = tree({ 'ctx/Dockerfile': 'FROM a', 'ctx/sub/app.Dockerfile': 'FROM b', 'lower/dockerfile': 'FROM c', 'other/Dockerfile.dev': 'FROM d' });
  try {
    const ctx = join(root, 'ctx');
    assert.deepEqual(resolveLocalContext('ctx', undefined, root), { contextDir: ctx, relDockerfile: 'Dockerfile', dockerfilePath: join(ctx, 'Dockerfile') });
    assert.equal(resolveLocalContext('lower', undefined, root).relDockerfile, 'dockerfile');
    assert.equal(resolveLocalContext('ctx', 'ctx/sub/app.Dockerfile', root).relDockerfile, 'sub/app.Dockerfile');
    assert.equal(resolveLocalContext('.', 'sub/app.Dockerfile', ctx).relDockerfile, 'sub/app.Dockerfile');
    assert.equal(resolveLocalContext('ctx', 'other/Dockerfile.dev', root).relDockerfile, '../other/Dockerfile.dev');
    assert.equal(resolveLocalContext('ctx', '-', root).relDockerfile, '-');
    // A symlinked context directory is resolved.
    symlinkSync(ctx, join(root, 'link'));
    assert.equal(resolveLocalContext('link', undefined, root).contextDir, ctx);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('local context errors: docker\'s texts', async () => {
  const root = tree({ 'empty/.keep': '', 'afile': 'x' });
  const io = { stdin: Readable.from([]), cwd: root };
  try {
    await assert.rejects(prepareContext('empty', undefined, io), (e: unknown) => e instanceof StatusError && e.status === 1 &&
      e.message === `unable to prepare context: unable to evaluate symlinks in Dockerfile path: lstat ${join(root, 'empty', 'Dockerfile')}: no such file or directory`);
    await assert.rejects(prepareContext('empty', 'nodir/Dockerfile', io), {
      message: `unable to prepare context: unable to evaluate symlinks in Dockerfile path: lstat ${join(root, 'nodir')}: no such file or directory`,
    });
    await assert.rejects(prepareContext('nope', undefined, io), { message: 'unable to prepare context: path "nope" not found' });
    await assert.rejects(prepareContext('afile', undefined, io), { message: `unable to prepare context: context must be a directory: ${join(root, 'afile')}` });
    await assert.rejects(prepareContext('https://example.com/app.git', undefined, io), /remote build contexts/);
    assert.equal(evalSymlinksError(join(root, 'afile', 'x')), 'not a directory');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('stdin: an archive (plain or compressed) is the context; anything else is the Dockerfile', async () => {
  const tar = tarOfFiles([{ name: 'Dockerfile', content: Buffer.from('FROM busybox\n') }, { name: 'a.txt', content: Buffer.from('a') }]);
  const asIs = await stdinContext(Readable.from([tar.subarray(0, 100), tar.subarray(100)]), 'Dockerfile');
  assert.equal(asIs.dockerfile, 'Dockerfile');
  assert.deepEqual(await tarEntries(asIs.body), { 'Dockerfile': 'FROM busybox\n', 'a.txt': 'a' });
  const gz = gzipSync(tar);
  const z = await stdinContext(Readable.from([gz]), undefined);
  assert.equal(z.dockerfile, undefined);
  const back: Buffer[] = [];
  for await (const c of z.body) back.push(Buffer.from(c));
  assert.ok(Buffer.concat(back).equals(gz), 'compressed contexts go as they are');
  const df = await stdinContext(Readable.from(['FROM busybox\n', 'RUN echo hi\n']), 'ignored');
  assert.equal(df.dockerfile, 'Dockerfile');
  assert.deepEqual(await tarEntries(df.body), { 'Dockerfile': 'FROM busybox\nRUN echo hi\n' });
  await assert.rejects(stdinContext(Readable.from(['FROM x']), '-'), { message: 'unable to prepare context: build context is not an archive' });
});

// ---------------------------------------------------------------------------------------------
// Against a fake daemon

interface Seen { path: string; query: URLSearchParams; headers: http.IncomingHttpHeaders; files: Record<string, string> }
let dir: string;
let sock: string;
let server: http.Server;
const requests: Seen[] = [];
let reply: (res: http.ServerResponse, seen: Seen) => void = () => {};

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'berth-build-daemon-'));
  sock = join(dir, 'd.sock');
  server = http.createServer(async (req, res) => {
    if (req.url === '/_ping') { res.writeHead(200, { 'API-Version': '1.47' }); res.end('OK'); return; }
    const url = new URL(req.url ?? '/', 'http://x');
    const parts: Buffer[] = [];
    try {
      for await (const c of req) parts.push(c as Buffer);
    } catch {
      res.destroy(); // the client gave up on the upload
      return;
    }
    let body = Buffer.concat(parts);
    const gzipped = body[0] === 0x1f && body[1] === 0x8b;
    if (gzipped) body = gunzipSync(body);
    const files = await tarEntries(Readable.from([body]));
    if (gzipped) files['(gzip)'] = '';
    const seen = { path: url.pathname, query: url.searchParams, headers: req.headers, files };
    requests.push(seen);
    reply(res, seen);
  });
  await new Promise<void>((r) => server.listen(sock, r));
});
after(() => { server.close(); rmSync(dir, { recursive: true, force: true }); });

function stream(res: http.ServerResponse, msgs: object[]): void {
  res.writeHead(200, { 'Content-Type': 'application/json' });
  for (const m of msgs) res.write(`${JSON.stringify(m)}\r\n`);
  res.end();
}

const ID = `sha256:${'ab'.repeat(32)}`;
const OK_MESSAGES = [
  { stream: 'Step 1/2 : FROM busybox\n' }, { stream: ' ---> 3f57d9401f8d\n' },
  { stream: 'Step 2/2 : RUN echo hi\n' }, { stream: ' ---> Running in 0123456789ab\n' }, { stream: 'hi\n' },
  { stream: 'Removing intermediate container 0123456789ab\n' }, { stream: ' ---> abababababab\n' },
  { aux: { ID } }, { stream: 'Successfully built abababababab\n' }, { stream: 'Successfully tagged app:latest\n' },
];

function sink(isTTY = false) {
  let text = '';
  const w = new Writable({ write(c, _e, cb) { text += c.toString(); cb(); } }) as Writable & { isTTY?: boolean; columns?: number; rows?: number };
  w.isTTY = isTTY;
  w.columns = 80;
  w.rows = 30;
  return { w, text: () => text };
}

async function run(argv: string[], o: { cwd: string; stdin?: Buffer | string; tty?: boolean; env?: NodeJS.ProcessEnv }) {
  const out = sink(o.tty);
  const err = sink(o.tty);
  const io: BuildIo = {
    stdin: Readable.from(o.stdin === undefined ? [] : [Buffer.from(o.stdin)]), stdout: out.w, stderr: err.w, env: o.env ?? {}, cwd: o.cwd,
  };
  const { args, opts } = parse(argv);
  let code: number;
  try {
    code = await runBuild(ctxFor(`unix://${sock}`), args, opts, io);
  } catch (e) {
    if (e instanceof StatusError) code = e.status;
    else throw e;
    return { code, out: out.text(), err: err.text(), error: e };
  }
  return { code, out: out.text(), err: err.text(), error: undefined };
}

test('a directory build: query, streamed tar without ignored files, plain output, iidfile', async () => {
  const ctx = tree({
    'Dockerfile': 'FROM busybox\nRUN echo hi\n', '.dockerignore': '*.log\nsecret/\n!secret/ok\n', 'app.txt': 'app',
    'debug.log': 'x', 'secret/key': 'k', 'secret/ok': 'ok',
  });
  try {
    reply = (res) => stream(res, OK_MESSAGES);
    requests.length = 0;
    const iid = join(ctx, 'out', 'iid');
    mkdirSync(dirname(iid));
    writeFileSync(iid, 'stale');
    const r = await run(['-t', 'app', '-t', 'app:2', '--build-arg', 'V=1', '--iidfile', iid, '--progress', 'plain', '.'], { cwd: ctx });
    assert.equal(r.code, 0, r.err);
    const s = requests[0];
    assert.equal(s.path, '/v1.47/build');
    assert.deepEqual(s.query.getAll('t'), ['app', 'app:2']);
    assert.equal(s.query.get('dockerfile'), 'Dockerfile');
    assert.equal(s.query.get('buildargs'), '{"V":"1"}');
    assert.equal(s.headers['content-type'], 'application/x-tar');
    assert.equal(s.headers['transfer-encoding'], 'chunked');
    assert.equal(s.headers['x-registry-config'], 'e30=');
    assert.deepEqual(Object.keys(s.files), ['.dockerignore', 'Dockerfile', 'app.txt', 'out/', 'secret/ok']);
    assert.match(r.out, /^Sending build context to Docker daemon +\d+(\.\d+)?k?B\n/);
    assert.ok(r.out.endsWith([
      'Step 1/2 : FROM busybox', ' ---> 3f57d9401f8d', 'Step 2/2 : RUN echo hi', ' ---> Running in 0123456789ab', 'hi',
      'Removing intermediate container 0123456789ab', ' ---> abababababab', 'Successfully built abababababab', 'Successfully tagged app:latest', '',
    ].join('\n')), r.out);
    assert.equal(readFileSync(iid, 'utf8'), ID);
  } finally {
    rmSync(ctx, { recursive: true, force: true });
  }
});

test('-q prints only the image ID; a failed step exits with its status and the daemon\'s text', async () => {
  const ctx = tree({ 'Dockerfile': 'FROM busybox\nRUN exit 3\n' });
  try {
    reply = (res) => stream(res, [{ aux: { ID } }, { stream: `${ID}\n` }]);
    const q = await run(['-q', '.'], { cwd: ctx });
    assert.equal(q.code, 0);
    assert.equal(q.out, `${ID}\n`);
    assert.equal(q.err, '');

    reply = (res) => stream(res, [
      { stream: 'Step 1/2 : FROM busybox\n' }, { stream: ' ---> 3f57d9401f8d\n' }, { stream: 'Step 2/2 : RUN exit 3\n' },
      { stream: ' ---> Running in 0123456789ab\n' },
      { errorDetail: { code: 3, message: "The command '/bin/sh -c exit 3' returned a non-zero code: 3" }, error: "The command '/bin/sh -c exit 3' returned a non-zero code: 3" },
    ]);
    requests.length = 0;
    const f = await run(['--iidfile', join(ctx, 'iid'), '.'], { cwd: ctx });
    assert.equal(f.code, 3);
    assert.equal(f.error?.message, "The command '/bin/sh -c exit 3' returned a non-zero code: 3");
    assert.match(f.out, /Step 2\/2 : RUN exit 3\n ---> Running in 0123456789ab\n$/);
    assert.equal(existsSync(join(ctx, 'iid')), false);
    // Quiet failures show what the build printed, on stderr.
    const fq = await run(['-q', '.'], { cwd: ctx });
    assert.equal(fq.code, 3);
    assert.equal(fq.out, '');
    assert.match(fq.err, /Step 2\/2 : RUN exit 3/);
    // An error without a code exits 1.
    reply = (res) => stream(res, [{ error: 'COPY failed: file not found', errorDetail: { message: 'COPY failed: file not found' } }]);
    assert.equal((await run(['.'], { cwd: ctx })).code, 1);
    // An HTTP error is the client's ApiError ("Error response from daemon: …" in main).
    reply = (res) => { res.writeHead(400, { 'Content-Type': 'application/json' }); res.end('{"message":"dockerfile parse error line 2: unknown instruction: RUNN"}'); };
    await assert.rejects(run(['.'], { cwd: ctx }), (e: unknown) => e instanceof ApiError && /unknown instruction: RUNN/.test(e.message));
  } finally {
    rmSync(ctx, { recursive: true, force: true });
  }
});

test('--compress sends the context gzipped', async () => {
  const ctx = tree({ 'Dockerfile': 'FROM busybox\n', 'a': 'a' });
  try {
    reply = (res) => stream(res, OK_MESSAGES);
    requests.length = 0;
    assert.equal((await run(['--compress', '.'], { cwd: ctx })).code, 0);
    assert.deepEqual(requests[0].files, { 'Dockerfile': 'FROM busybox\n', 'a': 'a', '(gzip)': '' });
  } finally {
    rmSync(ctx, { recursive: true, force: true });
  }
});

test('an unusable context fails with docker\'s "error checking context"', async () => {
  const ctx = tree({ 'Dockerfile': 'FROM busybox\n', '.dockerignore': 'ok\n[\n' });
  try {
    const r = await run(['.'], { cwd: ctx });
    assert.equal(r.code, 1);
    assert.equal(r.error?.message, 'error checking context: syntax error in pattern');
    // A failure in the middle of the walk (here a file name that is not UTF-8) stops the upload.
    writeFileSync(join(ctx, '.dockerignore'), '');
    writeFileSync(Buffer.concat([Buffer.from(`${ctx}/`), Buffer.from([0xfe])]), 'x');
    reply = (res) => stream(res, OK_MESSAGES);
    const m = await run(['.'], { cwd: ctx });
    assert.equal(m.code, 1);
    assert.match(m.error!.message, /^error checking context: can't add .* the file name is not valid UTF-8$/);
  } finally {
    rmSync(ctx, { recursive: true, force: true });
  }
});

test('-f outside the context: the Dockerfile travels under a generated name listed in .dockerignore', async () => {
  const root = tree({ 'ctx/a.txt': 'a', 'ctx/.dockerignore': '*.md\n', 'ctx/x.md': 'x', 'df/Dockerfile.dev': 'FROM busybox\n', 'df/Dockerfile.dev.dockerignore': 'a.txt\n' });
  try {
    reply = (res) => stream(res, OK_MESSAGES);
    requests.length = 0;
    const r = await run(['-f', 'df/Dockerfile.dev', 'ctx'], { cwd: root });
    assert.equal(r.code, 0, r.err);
    const s = requests[0];
    const name = s.query.get('dockerfile')!;
    assert.match(name, /^\.dockerfile\.[0-9a-f]{20}$/);
    // The Dockerfile's own ignore file applied (a.txt out, x.md in), and goes along for the daemon.
    assert.deepEqual(Object.keys(s.files), ['.dockerignore', 'x.md', name, `${name}.dockerignore`]);
    assert.equal(s.files[name], 'FROM busybox\n');
    assert.equal(s.files['.dockerignore'], `*.md\n\n${name}\n`);
    assert.equal(s.files[`${name}.dockerignore`], `a.txt\n\n${name}\n${name}.dockerignore\n`);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('-f - reads the Dockerfile from stdin; - alone takes a Dockerfile or a tar from stdin', async () => {
  const ctx = tree({ 'a.txt': 'a' });
  try {
    reply = (res) => stream(res, OK_MESSAGES);
    requests.length = 0;
    const r = await run(['-f', '-', '.'], { cwd: ctx, stdin: 'FROM busybox\nCOPY a.txt /\n' });
    assert.equal(r.code, 0, r.err);
    let s = requests[0];
    const name = s.query.get('dockerfile')!;
    assert.deepEqual(Object.keys(s.files), ['a.txt', name, '.dockerignore']);
    assert.equal(s.files[name], 'FROM busybox\nCOPY a.txt /\n');
    assert.equal(s.files['.dockerignore'], `.dockerignore\n${name}\n`);

    requests.length = 0;
    assert.equal((await run(['-'], { cwd: ctx, stdin: 'FROM busybox\n' })).code, 0);
    s = requests[0];
    assert.equal(s.query.get('dockerfile'), 'Dockerfile');
    assert.deepEqual(s.files, { 'Dockerfile': 'FROM busybox\n' });

    requests.length = 0;
    const tar = tarOfFiles([{ name: 'build/Dockerfile', content: Buffer.from('FROM busybox\n') }]);
    assert.equal((await run(['-f', 'build/Dockerfile', '-'], { cwd: ctx, stdin: tar })).code, 0);
    s = requests[0];
    assert.equal(s.query.get('dockerfile'), 'build/Dockerfile');
    assert.deepEqual(s.files, { 'build/Dockerfile': 'FROM busybox\n' });

    const both = await run(['-f', '-', '-'], { cwd: ctx, stdin: 'FROM x' });
    assert.equal(both.code, 1);
    assert.equal(both.error?.message, "invalid argument: can't use stdin for both build context and dockerfile");
  } finally {
    rmSync(ctx, { recursive: true, force: true });
  }
});

test('--progress=tty (and auto on a terminal): the step display on stderr, nothing on stdout', async () => {
  const ctx = tree({ 'Dockerfile': 'FROM busybox\nRUN echo hi\n' });
  try {
    reply = (res) => stream(res, OK_MESSAGES);
    const r = await run(['-t', 'app', '.'], { cwd: ctx, tty: true, env: { TERM: 'xterm' } });
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out, '');
    assert.match(r.err, /\[\+\] Building \d+\.\ds \(3\/3\) FINISHED/);
    assert.match(r.err, / => \[internal\] load build context/);
    assert.match(r.err, / => \[2\/2\] RUN echo hi +\d+\.\ds/);
    assert.match(r.err, / => => naming to app:latest/);
    // A terminal with TERM=dumb, or an explicit plain, prints the texts.
    const p = await run(['.'], { cwd: ctx, tty: true, env: { TERM: 'dumb' } });
    assert.match(p.out, /Step 1\/2 : FROM busybox/);
    const bad = await run(['--progress', 'fancy', '.'], { cwd: ctx });
    assert.equal(bad.code, 125);
    assert.match(bad.error!.message, /invalid argument "fancy" for "--progress" flag/);
  } finally {
    rmSync(ctx, { recursive: true, force: true });
  }
});
