// The CLI's entry point (dist/berth.cjs): turns on Node's on-disk compile cache, then loads the CLI.
// The cache holds V8's compiled code of the CLI's modules, so a command after the first skips most
// of their compilation (Node 22.1+; on Node 20 there is no such API and nothing changes). It lives
// in the user's own ~/.cache, never in a shared /tmp: a root CLI must not load compiled code that
// another user could have placed. NODE_COMPILE_CACHE, when set, is Node's own choice and wins.
import module from 'node:module';
import { homedir } from 'node:os';

const m = module as { enableCompileCache?: (dir?: string) => unknown };
if (!process.env.NODE_COMPILE_CACHE) {
  try { m.enableCompileCache?.(`${homedir()}/.cache/berth/node-compile-cache`); } catch { /* no cache: only slower */ }
}
// Not awaited: the CLI is CommonJS (scripts/build.mjs), which has no top-level await.
void import('./main.ts');
