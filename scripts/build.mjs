// Builds berth with esbuild: the two executables are bundled into one file each (fast CLI start:
// one module to load), and every *.test.ts is bundled on its own so `node --test` runs plain JS.
// Type checking is separate (`npm run typecheck`), esbuild only strips types.
import { build } from 'esbuild';
import { readdirSync, statSync, rmSync, mkdirSync, writeFileSync, existsSync, symlinkSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';

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
rmSync(dist, { recursive: true, force: true });
const tests = [...walk(join(root, 'src')), ...walk(join(root, 'test'))];
await Promise.all([
  build({ ...common, entryPoints: { berth: 'src/cli/main.ts', berthd: 'src/daemon/main.ts' }, outdir: dist }),
  tests.length && build({
    ...common,
    entryPoints: Object.fromEntries(tests.map((t) => [relative(root, t).replace(/\.ts$/, ''), t])),
    outdir: join(dist, 'tests'),
  }),
]);
