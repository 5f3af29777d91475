// `berth builder prune`: flags, docker's prompt (only y/Y goes ahead, declining exits 0 with no
// request), the query sent to POST /build/prune and the report, against a fake daemon.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { parseCommandArgs } from '../args.ts';
import { Ctx, StatusError } from '../context.ts';
import { BUILDER_COMMANDS, GROUPS, IMAGE_COMMANDS } from '../spec.ts';
import { pruneReport, runPrune, PRUNE_WARNING, PRUNE_ALL_WARNING } from './builder.ts';
import { confirm } from '../prompt.ts';

const spec = BUILDER_COMMANDS.prune;

test('spec: builder group with prune (and build, as docker has it), docker\'s flags', () => {
  assert.equal(GROUPS.builder.desc, 'Manage builds');
  assert.equal(GROUPS.builder.commands.prune, spec);
  assert.equal(GROUPS.builder.commands.build, IMAGE_COMMANDS.build);
  assert.equal(spec.max, 0);
  const p = parseCommandArgs(spec, ['-a', '-f', '--filter', 'until=24h', '--filter', 'type=regular', '--keep-storage', '1g']);
  assert.deepEqual(p.args, []);
  assert.equal(p.opts.all, true);
  assert.equal(p.opts.force, true);
  assert.deepEqual(p.opts.filter, ['until=24h', 'type=regular']);
  assert.equal(p.opts.keepStorage, '1g');
  const q = parseCommandArgs(spec, ['--all=false', '--force']);
  assert.equal(q.opts.all, false);
  assert.equal(q.opts.force, true);
});

test('pruneReport: deleted IDs then a blank line, only when something went; go-units HumanSize', () => {
  assert.equal(pruneReport({ CachesDeleted: ['abc', 'def'], SpaceReclaimed: 1_234_567 }),
    'Deleted build cache objects:\nabc\ndef\n\nTotal reclaimed space: 1.235MB\n');
  assert.equal(pruneReport({ CachesDeleted: [], SpaceReclaimed: 0 }), 'Total reclaimed space: 0B\n');
  assert.equal(pruneReport({ CachesDeleted: null }), 'Total reclaimed space: 0B\n');
  assert.equal(pruneReport({ SpaceReclaimed: 999_999 }), 'Total reclaimed space: 1000kB\n');
});

function sink() {
  let text = '';
  const w = new Writable({ write(c, _e, cb) { text += c.toString(); cb(); } });
  return { w, text: () => text };
}

async function answer(input: string | null, message = PRUNE_WARNING): Promise<{ yes: boolean; shown: string }> {
  const inp = new PassThrough();
  const out = sink();
  const p = confirm(message, inp, out.w);
  if (input !== null) inp.write(input);
  inp.end();
  return { yes: await p, shown: out.text() };
}

test('confirm: docker\'s prompt text; only "y" or "Y" (spaces trimmed) is yes', async () => {
  assert.deepEqual(await answer('y\n'), { yes: true, shown: `${PRUNE_WARNING} [y/N] ` });
  assert.equal((await answer('Y\n')).yes, true);
  assert.equal((await answer('  y \r\n')).yes, true);
  assert.equal((await answer('y')).yes, true); // the last line needs no newline
  assert.equal((await answer('yes\n')).yes, false);
  assert.equal((await answer('n\n')).yes, false);
  assert.equal((await answer('\ny\n')).yes, false); // only the first line counts
  assert.equal((await answer(null)).yes, false);
  assert.equal(PRUNE_WARNING, 'WARNING! This will remove all dangling build cache. Are you sure you want to continue?');
  assert.equal(PRUNE_ALL_WARNING, 'WARNING! This will remove all build cache. Are you sure you want to continue?');
});

let dir: string;
let sock: string;
let server: http.Server;
const seen: URL[] = [];
let report: object = {};

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'berth-builder-'));
  sock = join(dir, 'd.sock');
  server = http.createServer((req, res) => {
    if (req.url === '/_ping') { res.writeHead(200, { 'API-Version': '1.47' }); res.end('OK'); return; }
    req.resume();
    const url = new URL(req.url ?? '/', 'http://x');
    seen.push(url);
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify(report));
  });
  await new Promise<void>((r) => server.listen(sock, r));
});
after(() => { server.close(); rmSync(dir, { recursive: true, force: true }); });

const ctx = () => new Ctx({ host: `unix://${sock}` }, 'berth builder prune', 'berth builder prune');

async function prune(argv: string[], input = '') {
  const opts = parseCommandArgs(spec, argv).opts;
  const inp = new PassThrough();
  inp.end(input);
  const out = sink();
  seen.length = 0;
  const code = await runPrune(ctx(), opts, { input: inp, out: out.w });
  return { code, out: out.text(), requests: [...seen] };
}

test('prune -f: POST /build/prune with all, keep-storage and filters; docker\'s report', async () => {
  report = { CachesDeleted: ['7b954e1438582316d1256e5b468991f206901e671275a037213d239b1675a774'], SpaceReclaimed: 2048 };
  const r = await prune(['-f']);
  assert.equal(r.code, 0);
  assert.equal(r.out, 'Deleted build cache objects:\n7b954e1438582316d1256e5b468991f206901e671275a037213d239b1675a774\n\nTotal reclaimed space: 2.048kB\n');
  assert.equal(r.requests.length, 1);
  assert.equal(r.requests[0].pathname, '/v1.47/build/prune');
  assert.equal(r.requests[0].search, '');

  report = { CachesDeleted: null, SpaceReclaimed: 0 };
  const a = await prune(['-a', '-f', '--keep-storage', '1.5g', '--filter', 'until=24h']);
  assert.equal(a.out, 'Total reclaimed space: 0B\n');
  const q = a.requests[0].searchParams;
  assert.equal(q.get('all'), '1');
  assert.equal(q.get('keep-storage'), String(1.5 * 1024 ** 3));
  assert.deepEqual(JSON.parse(q.get('filters')!), { until: { '24h': true } });
});

test('prune without -f: asks; anything but y leaves without a request, exit 0', async () => {
  report = { CachesDeleted: ['x'], SpaceReclaimed: 1 };
  const no = await prune([], 'n\n');
  assert.deepEqual(no, { code: 0, out: `${PRUNE_WARNING} [y/N] `, requests: [] });
  const eof = await prune(['-a']);
  assert.deepEqual(eof, { code: 0, out: `${PRUNE_ALL_WARNING} [y/N] `, requests: [] });
  const yes = await prune(['--all'], 'y\n');
  assert.equal(yes.out, `${PRUNE_ALL_WARNING} [y/N] Deleted build cache objects:\nx\n\nTotal reclaimed space: 1B\n`);
  assert.equal(yes.requests[0].searchParams.get('all'), '1');
});

test('prune: bad --keep-storage or --filter is a flag error (125) before any prompt', async () => {
  const bad = async (argv: string[], message: string) => {
    const opts = parseCommandArgs(spec, argv).opts;
    const out = sink();
    seen.length = 0;
    await assert.rejects(runPrune(ctx(), opts, { input: new PassThrough(), out: out.w }), (e: unknown) => {
      assert.ok(e instanceof StatusError);
      assert.equal(e.status, 125);
      assert.equal(e.message.split('\n')[0], message);
      return true;
    });
    assert.equal(out.text(), '');
    assert.equal(seen.length, 0);
  };
  await bad(['--keep-storage', 'abc'], 'invalid argument "abc" for "--keep-storage" flag: invalid size: \'abc\'');
  await bad(['--keep-storage', '10x'], 'invalid argument "10x" for "--keep-storage" flag: invalid suffix: \'x\'');
  await bad(['--filter', 'abc'], 'invalid argument "abc" for "--filter" flag: bad format of filter (expected name=value)');
});
