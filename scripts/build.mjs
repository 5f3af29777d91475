// Builds berth with esbuild: the two executables are bundled into one file each (fast CLI start:
// one module to load), and every *.test.ts is bundled on its own so `node --test` runs plain JS.
// Type checking is separate (`npm run typecheck`), esbuild only strips types.
import { build } from 'esbuild';
import { readdirSync, statSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
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
rmSync(join(root, 'dist'), { recursive: true, force: true });
const tests = [...walk(join(root, 'src')), ...walk(join(root, 'test'))];
await Promise.all([
  build({ ...common, entryPoints: { berth: 'src/cli/main.ts', berthd: 'src/daemon/main.ts' }, outdir: 'dist' }),
  tests.length && build({
    ...common,
    entryPoints: Object.fromEntries(tests.map((t) => [relative(root, t).replace(/\.ts$/, ''), t])),
    outdir: 'dist/tests',
  }),
]);
