import { test } from 'node:test';
import assert from 'node:assert/strict';
import { locate, parseCommandArgs, parseArgs, ParseError, GLOBAL_OPTIONS } from './args.ts';
import { TOP_LEVEL, GROUPS, type CommandSpec } from './spec.ts';

test('locate finds the verb past global flags, and a group sub-verb', () => {
  assert.deepEqual(locate(['-H', 'unix:///s', 'ps', '-a']), { verbAt: 2, verb: 'ps' });
  assert.deepEqual(locate(['--tls', 'container', '-a', 'ls']), { verbAt: 1, verb: 'container', sub: 'ls', subAt: 3 });
  assert.deepEqual(locate(['-D']), { verbAt: -1 });
});

test('run: flags end at the image; the rest is the command, verbatim', () => {
  const p = parseCommandArgs(TOP_LEVEL.run, ['--rm', '-it', '-e', 'A=1', '-e=B=2', '-p8080:80', '--name=web', 'busybox', 'ls', '-l', '--', '-x']);
  assert.deepEqual(p.args, ['busybox', 'ls', '-l', '--', '-x']);
  assert.equal(p.opts.rm, true);
  assert.equal(p.opts.interactive, true);
  assert.equal(p.opts.tty, true);
  assert.deepEqual(p.opts.env, ['A=1', 'B=2']);
  assert.deepEqual(p.opts.publish, ['8080:80']);
  assert.equal(p.opts.name, 'web');
  assert.equal(p.opts.sigProxy, true); // default
  assert.equal(p.opts.pull, 'missing'); // default
});

test('pflag spellings: --bool=false, -d=true, aliases, negated switches', () => {
  const p = parseCommandArgs(TOP_LEVEL.run, ['--sig-proxy=false', '--rm=true', '--net', 'none', '--no-healthcheck', 'img']);
  assert.equal(p.opts.sigProxy, false);
  assert.equal(p.opts.rm, true);
  assert.deepEqual(p.opts.network, ['none']);
  assert.equal(p.opts.healthcheck, false);
  const ps = parseCommandArgs(TOP_LEVEL.ps, ['--no-trunc', '-aq']);
  assert.equal(ps.opts.trunc, false);
  assert.equal(ps.opts.all, true);
  assert.equal(ps.opts.quiet, true);
  assert.equal(parseCommandArgs(TOP_LEVEL.ps, []).opts.trunc, true);
});

test('interspersed flags for ordinary verbs; -- ends flags', () => {
  const p = parseCommandArgs(TOP_LEVEL.rm, ['a', '-f', 'b']);
  assert.deepEqual(p.args, ['a', 'b']);
  assert.equal(p.opts.force, true);
  assert.deepEqual(parseCommandArgs(TOP_LEVEL.rm, ['--', '-f']).args, ['-f']);
});

test('help flags: -h is help except where it is a flag (run --hostname)', () => {
  assert.equal(parseCommandArgs(TOP_LEVEL.ps, ['-h']).help, true);
  assert.equal(parseCommandArgs(TOP_LEVEL.ps, ['--help']).help, true);
  const r = parseCommandArgs(TOP_LEVEL.run, ['-h', 'box', 'img']);
  assert.equal(r.help, false);
  assert.equal(r.opts.hostname, 'box');
  assert.equal(parseCommandArgs(GROUPS.container.commands.ls, ['-a']).opts.all, true);
});

test('errors carry pflag wording', () => {
  const err = (args: string[], spec: CommandSpec = TOP_LEVEL.ps) => { try { parseCommandArgs(spec, args); } catch (e) { assert.ok(e instanceof ParseError); return (e as Error).message; } return ''; };
  assert.equal(err(['--foo']), 'unknown flag: --foo');
  assert.equal(err(['-x']), "unknown shorthand flag: 'x' in -x");
  assert.equal(err(['--filter']), 'flag needs an argument: --filter');
  assert.equal(err(['-f']), "flag needs an argument: 'f' in -f");
  assert.equal(err(['--rm=maybe', 'img'], TOP_LEVEL.run), 'invalid argument "maybe" for "--rm" flag: strconv.ParseBool: parsing "maybe": invalid syntax');
});

test('global options', () => {
  const g = parseArgs(GLOBAL_OPTIONS, ['-H', 'unix:///x', '--tlsverify', '-D'], { interspersed: true, shortHelp: true });
  assert.equal(g.opts.host, 'unix:///x');
  assert.equal(g.opts.tlsverify, true);
  assert.equal(g.opts.debug, true);
  assert.equal(g.opts.logLevel, 'info');
});
