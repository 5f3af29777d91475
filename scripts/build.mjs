// Builds berth with esbuild: the daemon is bundled into one file, the CLI into an entry and the
// chunks its commands load on demand (dist/chunks), and every *.test.ts is bundled on its own so
// `node --test` runs plain JS.
// Type checking is separate (`npm run typecheck`), esbuild only strips types.
import { build, transform } from 'esbuild';
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { readdirSync, statSync, rmSync, mkdirSync, writeFileSync, existsSync, symlinkSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
// `--out=DIR` builds into DIR/dist instead of ./dist, so several people (or helpers) can each
// test their own build on one checkout: DIR gets a package.json (the harness's root marker) and
// a link to scripts/; node_modules resolve from the checkout above it.
const outArg = process.argv.find((a) => a.startsWith('--out='));
const outRoot = outArg ? resolve(root, outArg.slice(6)) : root;
if (outArg) {
  mkdirSync(outRoot, { recursive: true });
  writeFileSync(join(outRoot, 'package.json'), '{"type":"module","private":true}\n');
  if (!existsSync(join(outRoot, 'scripts'))) symlinkSync(join(root, 'scripts'), join(outRoot, 'scripts'));
}
const dist = join(outRoot, 'dist');
function walk(dir, out = []) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}
const common = {
  bundle: true, platform: 'node', format: 'esm', target: 'node20', packages: 'external',
  sourcemap: false, logLevel: 'warning', absWorkingDir: root,
  // commander and friends are CommonJS; give bundled ESM a `require` for the rare dynamic case.
  banner: { js: "import { createRequire as __berthCreateRequire } from 'node:module'; const require = __berthCreateRequire(import.meta.url);" },
};
// The CLI ships as CommonJS (dist/berth.cjs, dist/chunks/*.cjs). esbuild splits only ESM, so the
// split ESM output is turned into CommonJS file by file: require() is synchronous and skips the ESM
// loader's resolve/link/evaluate jobs and its package.json lookups for every module, and a command's
// dynamic import() of its chunk becomes a require(). A builtin is required, never imported, so Node
// does not build its whole namespace (fs's `promises` getter alone loads 14 internal modules).
// Measured (40 runs interleaved, Node 24): `berth version` 45.0 → 43.9 ms. The import() becomes a
// require() only with `dynamic-import: false`; until then every command still loaded main and its
// own chunk through the ESM loader (resolve, module job, the CJS translator): `berth version`
// 120.2 → 118.6 ms, `ps -a` 130.4 → 128.6, `exec` 213.8 → 211.5 (40 runs interleaved, a slower machine).
async function buildCli() {
  const { banner: _esmOnly, ...cjsCommon } = common;
  const r = await build({
    ...cjsCommon, entryPoints: { berth: 'src/cli/entry.ts' }, outdir: dist, splitting: true, chunkNames: 'chunks/[name]-[hash]',
    outExtension: { '.js': '.cjs' }, write: false,
  });
  for (const f of r.outputFiles) {
    // import.meta.url only feeds createRequire (yaml, ajv, the compose schema), which takes a path.
    const out = await transform(f.text, { format: 'cjs', target: 'node20', platform: 'node', loader: 'js', define: { 'import.meta.url': '__filename' }, supported: { 'dynamic-import': false } });
    mkdirSync(dirname(f.path), { recursive: true });
    writeFileSync(f.path, out.code);
  }
}
rmSync(dist, { recursive: true, force: true });
const tests = [...walk(join(root, 'src')), ...walk(join(root, 'test'))];
await Promise.all([
  // The CLI is split: its entry (src/cli/entry.ts) turns on Node's compile cache and loads main,
  // which holds the command table and the client, and each command's module (already a dynamic
  // import in src/cli/spec.ts) becomes a chunk loaded only when that command runs. Compiling the
  // whole 1 MB bundle was most of every command's start-up.
  buildCli(),
  build({ ...common, entryPoints: { berthd: 'src/daemon/main.ts' }, outdir: dist }),
  tests.length && build({
    ...common,
    entryPoints: Object.fromEntries(tests.map((t) => [relative(root, t).replace(/\.ts$/, ''), t])),
    outdir: join(dist, 'tests'),
  }),
]);

// berth-spawn, the daemon's program starter (src/sys/berth-spawn.c, its netlink part in
// berth-spawn-net.c), with the machine's C
// compiler (gcc, which scripts/install-deps installs). Without one, berthd forks as before.
{
  const args = ['-O2', '-Wall', '-Wextra', '-Werror', '-o', join(dist, 'berth-spawn'), join(root, 'src/sys/berth-spawn.c'), join(root, 'src/sys/berth-spawn-net.c')];
  let r;
  for (const cc of process.env.CC ? [process.env.CC] : ['cc', 'gcc']) {
    r = spawnSync(cc, args, { encoding: 'utf8' });
    if (!r.error) break; // found (built or not): its message is the one to show
  }
  if (r.status !== 0) process.stderr.write(`build: berth-spawn not built (${r.error?.message ?? r.stderr.trim()}); berthd will fork its programs\n`);
}

// compose's JSON-schema validator, compiled ahead of time (ajv standalone): compiling the schema
// takes ~0.3 s, which every compose command would pay; loading the compiled code takes ~20 ms.
// src/compose/schema.ts uses it when its schema hash matches, and compiles at run time otherwise.
{
  const require = createRequire(import.meta.url);
  const Ajv = require('ajv').default;
  const standalone = require('ajv/dist/standalone').default;
  const spec = JSON.parse(readFileSync(join(root, 'src/compose/compose-spec.json'), 'utf8'));
  const specHash = createHash('sha256').update(JSON.stringify(spec)).digest('hex');
  delete spec.$schema;
  const options = JSON.parse(readFileSync(join(root, 'src/compose/ajv-options.json'), 'utf8'));
  const ajv = new Ajv({ ...options, code: { source: true } });
  const code = standalone(ajv, ajv.compile(spec));
  // Beside the CLI's chunks: src/compose/schema.ts requires it relative to its own module.
  writeFileSync(join(dist, 'chunks', 'compose-schema.cjs'), `${code}\nmodule.exports.specHash = ${JSON.stringify(specHash)};\n`);
}
