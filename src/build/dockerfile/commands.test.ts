import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DockerfileError, type Command } from './ast.ts';
import { parseDockerfile } from './parser.ts';
import { expandCommand, parseCommand, parseGoDuration, parseWords, splitStages } from './commands.ts';

/** The typed command of the last instruction of `text`. */
const cmd = (text: string): Command => {
  const all = parseDockerfile(text).instructions;
  return parseCommand(all[all.length - 1]);
};
/** `text`'s last instruction fails with `msg`; instruction errors carry Docker's line prefix. */
const fails = (text: string, msg: string, prefixed = true) => {
  const all = parseDockerfile(text).instructions;
  const inst = all[all.length - 1];
  const want = prefixed ? `dockerfile parse error on line ${inst.line}: ${msg}` : msg;
  assert.throws(() => parseCommand(inst), (e: unknown) => {
    assert.ok(e instanceof DockerfileError, String(e));
    assert.equal(e.message, want);
    assert.equal(e.line, inst.line);
    return true;
  });
};
const expand = (text: string, env: Record<string, string | undefined>, escape: '\\' | '`' = '\\') => expandCommand(cmd(text), env, escape);

// FROM

test('FROM image, FROM image AS name (name lower-cased), --platform', () => {
  assert.deepEqual(cmd('FROM alpine:3.19'), { kind: 'from', image: 'alpine:3.19' });
  assert.deepEqual(cmd('FROM golang:1.22 as Build-Env'), { kind: 'from', image: 'golang:1.22', stage: 'build-env' });
  assert.deepEqual(cmd('FROM --platform=$BUILDPLATFORM x AS b.1_x'), { kind: 'from', image: 'x', stage: 'b.1_x', platform: '$BUILDPLATFORM' });
});

test('FROM stage names must start with a letter and hold no symbols', () => {
  fails('FROM a AS 1st', 'invalid name for build stage: "1st", name can\'t start with a number or contain symbols');
  fails('FROM a AS my/stage', 'invalid name for build stage: "my/stage", name can\'t start with a number or contain symbols');
});

test('FROM takes one or three arguments', () => {
  fails('FROM', 'FROM requires either one or three arguments');
  fails('FROM a b', 'FROM requires either one or three arguments');
  fails('FROM a FOR b', 'FROM requires either one or three arguments');
});

test('unknown flags: Docker\'s text, with a suggestion for a near miss', () => {
  fails('FROM --plattform=x a', 'unknown flag: plattform (did you mean platform?)');
  fails('FROM --zzz a', 'unknown flag: zzz');
  fails('FROM --platform a', 'missing a value on flag: platform');
});

// RUN / CMD / ENTRYPOINT

test('RUN shell form is one command line, exec form the JSON array', () => {
  assert.deepEqual(cmd('RUN echo "a b" && \\\n  ls'), { kind: 'run', args: ['echo "a b" &&   ls'], shell: true, heredocs: [] });
  assert.deepEqual(cmd('RUN ["echo", "a b"]'), { kind: 'run', args: ['echo', 'a b'], shell: false, heredocs: [] });
  assert.deepEqual(cmd('RUN'), { kind: 'run', args: [''], shell: true, heredocs: [] });
});

test('RUN --network=none|host|default; anything else is Docker\'s error', () => {
  for (const n of ['none', 'host', 'default']) assert.equal((cmd(`RUN --network=${n} x`) as { network?: string }).network, n);
  assert.equal((cmd('RUN x') as { network?: string }).network, undefined);
  fails('RUN --network=bridge x', 'invalid network mode "bridge"');
});

test('RUN --mount and --security are rejected as the classic builder does', () => {
  fails('RUN --mount=type=cache,target=/root/.cache x',
    'the --mount option requires BuildKit. Refer to https://docs.docker.com/go/buildkit/ to learn how to build images with BuildKit enabled', false);
  fails('RUN --security=insecure x',
    'the --security option requires BuildKit. Refer to https://docs.docker.com/go/buildkit/ to learn how to build images with BuildKit enabled', false);
});

test('RUN unknown and duplicate flags', () => {
  fails('RUN --foo x', 'unknown flag: foo');
  fails('RUN --network=none --network=host x', 'duplicate flag specified: network');
});

test('RUN carries its heredocs', () => {
  const c = cmd('RUN <<EOF\necho hi\nEOF');
  assert.deepEqual(c, { kind: 'run', args: ['<<EOF'], shell: true, heredocs: [{ name: 'EOF', content: 'echo hi\n', expand: true, chomp: false }] });
});

test('CMD and ENTRYPOINT: exec, shell and empty forms', () => {
  assert.deepEqual(cmd('CMD ["nginx", "-g", "daemon off;"]'), { kind: 'cmd', args: ['nginx', '-g', 'daemon off;'], shell: false });
  assert.deepEqual(cmd('CMD nginx -g "daemon off;"'), { kind: 'cmd', args: ['nginx -g "daemon off;"'], shell: true });
  assert.deepEqual(cmd('ENTRYPOINT []'), { kind: 'entrypoint', args: [], shell: false });
  assert.deepEqual(cmd('ENTRYPOINT'), { kind: 'entrypoint', args: [''], shell: true });
  fails('CMD --help', 'unknown flag: help');
});

// ENV / LABEL

test('ENV legacy form: one pair, the value is the rest of the line, raw', () => {
  assert.deepEqual(cmd('ENV PATH /usr/local/bin:$PATH and "more"'), { kind: 'env', pairs: [['PATH', '/usr/local/bin:$PATH and "more"']] });
});

test('ENV key=value form: several pairs, quotes kept for expansion', () => {
  assert.deepEqual(cmd('ENV A=1 B="x y" C=\'$z\' D= E=a\\ b'), {
    kind: 'env', pairs: [['A', '1'], ['B', '"x y"'], ['C', "'$z'"], ['D', ''], ['E', 'a\\ b']],
  });
});

test('ENV errors', () => {
  fails('ENV', 'ENV requires at least one argument');
  fails('ENV FOO', 'ENV must have two arguments', false);
  fails('ENV A=1 B', 'Syntax error - can\'t find = in "B". Must be of the form: name=value', false);
  fails('ENV =x', 'ENV names can not be blank');
  fails('ENV --x=1 A=1', 'unknown flag: x');
});

test('LABEL both syntaxes and its errors', () => {
  assert.deepEqual(cmd('LABEL "com.example.vendor"="ACME Inc" version=1.0'), {
    kind: 'label', pairs: [['"com.example.vendor"', '"ACME Inc"'], ['version', '1.0']],
  });
  assert.deepEqual(cmd('LABEL maintainer someone@example.com'), { kind: 'label', pairs: [['maintainer', 'someone@example.com']] });
  fails('LABEL', 'LABEL requires at least one argument');
  fails('LABEL a', 'LABEL must have two arguments', false);
  fails('LABEL a=1 =2', 'LABEL names can not be blank');
});

test('ENV/LABEL words split with the file\'s escape character', () => {
  assert.deepEqual(cmd('# escape=`\nENV A=x` y B=C:\\dir\\'), { kind: 'env', pairs: [['A', 'x` y'], ['B', 'C:\\dir\\']] });
  fails('# escape=`\nENV A=x\\ y', 'Syntax error - can\'t find = in "y". Must be of the form: name=value', false);
});

test('parseWords keeps quotes and escapes but not their blanks', () => {
  assert.deepEqual(parseWords('a="b c" d=\'e f\' g=h\\ i j', '\\'), ['a="b c"', "d='e f'", 'g=h\\ i', 'j']);
  assert.deepEqual(parseWords('x="a\\"b" y=\'a\\\' z', '\\'), ['x="a\\"b"', "y='a\\'", 'z']);
  assert.deepEqual(parseWords('a=""  b', '\\'), ['a=""', 'b']);
  assert.deepEqual(parseWords('end\\', '\\'), ['end']);
});

// ARG

test('ARG name, name=default, several per line', () => {
  assert.deepEqual(cmd('ARG VERSION'), { kind: 'arg', args: [{ name: 'VERSION' }] });
  assert.deepEqual(cmd('ARG A=1 B C="x y" D='), { kind: 'arg', args: [{ name: 'A', value: '1' }, { name: 'B' }, { name: 'C', value: '"x y"' }, { name: 'D', value: '' }] });
});

test('ARG errors', () => {
  fails('ARG', 'ARG requires at least one argument');
  fails('ARG =1', 'ARG names can not be blank');
});

// EXPOSE

test('EXPOSE words (sorted, as Docker) and its error', () => {
  assert.deepEqual(cmd('EXPOSE 8080/tcp 53/udp  443'), { kind: 'expose', ports: ['443', '53/udp', '8080/tcp'] });
  fails('EXPOSE', 'EXPOSE requires at least one argument');
});

// COPY / ADD

test('COPY sources and dest, shell form split on whitespace', () => {
  assert.deepEqual(cmd('COPY a b/ /dest/'), { kind: 'copy', sources: ['a', 'b/'], dest: '/dest/', link: false, heredocs: [] });
});

test('COPY JSON form', () => {
  assert.deepEqual(cmd('COPY ["my file", "/my dir/"]'), { kind: 'copy', sources: ['my file'], dest: '/my dir/', link: false, heredocs: [] });
});

test('COPY flags --from --chown --chmod --link', () => {
  assert.deepEqual(cmd('COPY --from=build --chown=app:app --chmod=0755 --link /out /bin/'), {
    kind: 'copy', sources: ['/out'], dest: '/bin/', from: 'build', chown: 'app:app', chmod: '0755', link: true, heredocs: [],
  });
  assert.equal((cmd('COPY --link=false a b') as { link: boolean }).link, false);
  assert.equal((cmd('COPY --link=TRUE a b') as { link: boolean }).link, true);
});

test('COPY flag errors', () => {
  fails('COPY --link=maybe a b', 'expecting boolean value for flag link, not: maybe');
  fails('COPY --link= a b', 'missing a value on flag: link');
  fails('COPY --chown a b', 'missing a value on flag: chown');
  fails('COPY --chown=a --chown=b a b', 'duplicate flag specified: chown');
  fails('COPY --exclude=*.md a b', 'unknown flag: exclude');
  fails('COPY --checksum=sha256:x a b', 'unknown flag: checksum');
  fails('COPY --form=build a b', 'unknown flag: form (did you mean from?)');
});

test('COPY needs a source and a destination', () => {
  fails('COPY onlyone', 'COPY requires at least two arguments, but only one was provided. Destination could not be determined');
  fails('ADD', 'ADD requires at least two arguments, but only one was provided. Destination could not be determined');
  fails('COPY ["a"]', 'COPY requires at least two arguments, but only one was provided. Destination could not be determined');
});

test('COPY heredoc sources are <<name; a heredoc destination is an error', () => {
  const c = cmd('COPY <<-"EOF" <<B /etc/\n\tx\n\tEOF\ny\nB\n');
  assert.equal(c.kind, 'copy');
  if (c.kind !== 'copy') return;
  assert.deepEqual(c.sources, ['<<EOF', '<<B']);
  assert.deepEqual(c.heredocs.map((h) => [h.name, h.content, h.expand, h.chomp]), [['EOF', 'x\n', false, true], ['B', 'y\n', true, false]]);
  fails('COPY a <<EOF\nx\nEOF', 'COPY cannot accept a heredoc as a destination');
});

test('ADD --checksum and --keep-git-dir are recorded; --from is not an ADD flag', () => {
  assert.deepEqual(cmd('ADD --checksum=sha256:abc --keep-git-dir https://x/y.tar /'), {
    kind: 'add', sources: ['https://x/y.tar'], dest: '/', link: false, checksum: 'sha256:abc', keepGitDir: true, heredocs: [],
  });
  fails('ADD --from=x a b', 'unknown flag: from');
});

// WORKDIR / USER / STOPSIGNAL / MAINTAINER

test('WORKDIR, USER, STOPSIGNAL, MAINTAINER take the whole rest as their one argument', () => {
  assert.deepEqual(cmd('WORKDIR /app dir'), { kind: 'workdir', path: '/app dir' });
  assert.deepEqual(cmd('USER app:app'), { kind: 'user', user: 'app:app' });
  assert.deepEqual(cmd('STOPSIGNAL SIGQUIT'), { kind: 'stopsignal', signal: 'SIGQUIT' });
  assert.deepEqual(cmd('MAINTAINER Jane Doe <jane@example.com>'), { kind: 'maintainer', name: 'Jane Doe <jane@example.com>' });
});

test('WORKDIR, USER, STOPSIGNAL, MAINTAINER need exactly one argument', () => {
  for (const k of ['WORKDIR', 'USER', 'STOPSIGNAL', 'MAINTAINER']) fails(k, `${k} requires exactly one argument`);
  fails('USER --x=1 app', 'unknown flag: x');
  assert.deepEqual(cmd('STOPSIGNAL --x=1 9'), { kind: 'stopsignal', signal: '9' }, 'Docker ignores STOPSIGNAL flags');
});

// VOLUME

test('VOLUME JSON or whitespace words', () => {
  assert.deepEqual(cmd('VOLUME ["/data", "/var/log"]'), { kind: 'volume', paths: ['/data', '/var/log'] });
  assert.deepEqual(cmd('VOLUME /data /var/log'), { kind: 'volume', paths: ['/data', '/var/log'] });
});

test('VOLUME errors', () => {
  fails('VOLUME', 'VOLUME requires at least one argument');
  fails('VOLUME []', 'VOLUME requires at least one argument');
  fails('VOLUME ["/a", " "]', 'VOLUME specified can not be an empty string');
});

// HEALTHCHECK

test('HEALTHCHECK NONE', () => {
  assert.deepEqual(cmd('HEALTHCHECK NONE'), { kind: 'healthcheck', test: ['NONE'] });
  assert.deepEqual(cmd('HEALTHCHECK --whatever none'), { kind: 'healthcheck', test: ['NONE'] }, 'flags are not looked at');
  fails('HEALTHCHECK NONE x', 'HEALTHCHECK NONE takes no arguments');
});

test('HEALTHCHECK CMD shell form gives CMD-SHELL, exec form CMD', () => {
  assert.deepEqual(cmd('HEALTHCHECK CMD curl -f http://localhost/ || exit 1'), { kind: 'healthcheck', test: ['CMD-SHELL', 'curl -f http://localhost/ || exit 1'] });
  assert.deepEqual(cmd('HEALTHCHECK cmd ["curl", "-f", "x"]'), { kind: 'healthcheck', test: ['CMD', 'curl', '-f', 'x'] });
});

test('HEALTHCHECK durations in nanoseconds and retries', () => {
  assert.deepEqual(cmd('HEALTHCHECK --interval=30s --timeout=1m30s --start-period=1.5s --start-interval=500ms --retries=3 CMD true'), {
    kind: 'healthcheck', test: ['CMD-SHELL', 'true'],
    interval: 30e9, timeout: 90e9, startPeriod: 1.5e9, startInterval: 500e6, retries: 3,
  });
  assert.equal((cmd('HEALTHCHECK --interval=0s CMD true') as { interval?: number }).interval, 0);
});

test('HEALTHCHECK errors', () => {
  fails('HEALTHCHECK', 'HEALTHCHECK requires at least one argument');
  fails('HEALTHCHECK RUN true', 'Unknown type "RUN" in HEALTHCHECK (try CMD)');
  fails('HEALTHCHECK CMD', 'Missing command after HEALTHCHECK CMD');
  fails('HEALTHCHECK CMD []', 'Missing command after HEALTHCHECK CMD');
  fails('HEALTHCHECK --interval=1ns CMD true', 'Interval "interval" cannot be less than 1ms');
  fails('HEALTHCHECK --start-period=-1s CMD true', 'Interval "start-period" cannot be less than 1ms');
  fails('HEALTHCHECK --timeout=5 CMD true', 'time: missing unit in duration "5"');
  fails('HEALTHCHECK --timeout=5d CMD true', 'time: unknown unit "d" in duration "5d"');
  fails('HEALTHCHECK --timeout=abc CMD true', 'time: invalid duration "abc"');
  fails('HEALTHCHECK --retries=-1 CMD true', '--retries cannot be negative (-1)');
  fails('HEALTHCHECK --retries=x CMD true', 'strconv.ParseInt: parsing "x": invalid syntax');
  fails('HEALTHCHECK --retires=1 CMD true', 'unknown flag: retires (did you mean retries?)');
});

test('parseGoDuration follows time.ParseDuration', () => {
  const cases: [string, number][] = [
    ['0', 0], ['1ns', 1], ['1us', 1e3], ['1µs', 1e3], ['1ms', 1e6], ['2s', 2e9], ['1m', 60e9], ['1h', 3600e9],
    ['1h2m3s', 3723e9], ['1.5h', 5400e9], ['.5s', 5e8], ['5.s', 5e9], ['-2s', -2e9], ['+3ms', 3e6],
  ];
  for (const [s, ns] of cases) assert.equal(parseGoDuration(s), ns, s);
  for (const s of ['', '.', 's', '-', '1', '1x', '1.2.3s', '9999999999h']) assert.throws(() => parseGoDuration(s), /^Error: time: /, s);
});

// SHELL

test('SHELL must be JSON', () => {
  assert.deepEqual(cmd('SHELL ["powershell", "-command"]'), { kind: 'shell', shell: ['powershell', '-command'] });
  fails('SHELL /bin/bash -c', 'SHELL requires the arguments to be in JSON form');
  fails('SHELL []', 'SHELL requires at least one argument');
  fails('SHELL', 'SHELL requires at least one argument');
});

// ONBUILD

test('ONBUILD keeps the trigger text', () => {
  assert.deepEqual(cmd('onbuild  RUN echo "hi there"'), { kind: 'onbuild', expression: 'RUN echo "hi there"' });
  assert.deepEqual(cmd('ONBUILD COPY <<EOF /x\nhello\nEOF'), { kind: 'onbuild', expression: 'COPY <<EOF /x\nhello\nEOF' });
});

test('ONBUILD errors', () => {
  fails('ONBUILD', 'ONBUILD requires at least one argument');
  fails('ONBUILD ONBUILD RUN x', 'Chaining ONBUILD via `ONBUILD ONBUILD` isn\'t allowed');
  fails('ONBUILD from alpine', 'FROM isn\'t allowed as an ONBUILD trigger');
  fails('ONBUILD MAINTAINER me', 'MAINTAINER isn\'t allowed as an ONBUILD trigger');
});

// expandCommand

test('expand FROM image and platform', () => {
  assert.deepEqual(expand('FROM --platform=${P} ${IMG:-alpine}:$V AS b', { V: '3.19', P: 'linux/amd64' }),
    { kind: 'from', image: 'alpine:3.19', stage: 'b', platform: 'linux/amd64' });
});

test('expand ENV keys and values, removing quotes; pairs see the old values', () => {
  assert.deepEqual(expand('ENV A="x $B" $K=\'$B\' C=$A', { B: 'b', K: 'key', A: 'old' }),
    { kind: 'env', pairs: [['A', 'x b'], ['key', '$B'], ['C', 'old']] });
  assert.deepEqual(expand('ENV PATH /opt/bin:$PATH', { PATH: '/bin' }), { kind: 'env', pairs: [['PATH', '/opt/bin:/bin']] });
});

test('expand LABEL keys/values and ARG defaults', () => {
  assert.deepEqual(expand('LABEL "a.b"="v $X"', { X: '1' }), { kind: 'label', pairs: [['a.b', 'v 1']] });
  assert.deepEqual(expand('ARG A=${X:-d} B', {}), { kind: 'arg', args: [{ name: 'A', value: 'd' }, { name: 'B' }] });
});

test('expand EXPOSE splits expanded words (sorted before expansion, as Docker)', () => {
  assert.deepEqual(expand('EXPOSE 22 $PORTS', { PORTS: '80 443/tcp' }), { kind: 'expose', ports: ['80', '443/tcp', '22'] });
});

test('expand COPY sources, dest and flags, but not heredoc sources', () => {
  const c = expand('COPY --from=$S --chown=${U}:${U} --chmod=$M <<EOF "$SRC" ${D}/\n$X\nEOF', { S: 'build', U: 'app', M: '644', SRC: 'a b', D: '/dst' });
  assert.equal(c.kind, 'copy');
  if (c.kind !== 'copy') return;
  assert.deepEqual([c.from, c.chown, c.chmod, c.sources, c.dest], ['build', 'app:app', '644', ['<<EOF', 'a b'], '/dst/']);
  assert.equal(c.heredocs[0].content, '$X\n', 'heredoc bodies are left to the executor');
});

test('expand WORKDIR, USER, VOLUME, STOPSIGNAL', () => {
  const env = { H: '/home/app', U: 'app', S: 'SIGTERM' };
  assert.deepEqual(expand('WORKDIR $H/src', env), { kind: 'workdir', path: '/home/app/src' });
  assert.deepEqual(expand('USER ${U}', env), { kind: 'user', user: 'app' });
  assert.deepEqual(expand('VOLUME ["$H", "/x"]', env), { kind: 'volume', paths: ['/home/app', '/x'] });
  assert.deepEqual(expand('STOPSIGNAL $S', env), { kind: 'stopsignal', signal: 'SIGTERM' });
});

test('RUN, CMD, ENTRYPOINT, SHELL, HEALTHCHECK, ONBUILD, MAINTAINER are not expanded', () => {
  const env = { X: 'x' };
  for (const t of ['RUN echo $X', 'CMD ["$X"]', 'ENTRYPOINT $X', 'SHELL ["$X"]', 'HEALTHCHECK CMD $X', 'ONBUILD RUN $X', 'MAINTAINER $X']) {
    const c = cmd(t);
    assert.equal(expandCommand(c, env, '\\'), c, t);
  }
});

test('expansion uses the file\'s escape character', () => {
  assert.deepEqual(expand('# escape=`\nWORKDIR C:\\$D\\`$X', { D: 'dir' }, '`'), { kind: 'workdir', path: 'C:\\dir\\$X' });
});

test('expansion errors read like Docker\'s', () => {
  assert.throws(() => expand('WORKDIR ${X', {}), (e: unknown) => e instanceof DockerfileError && e.message === 'failed to process "${X": syntax error: missing \'}\'');
  assert.throws(() => expand('USER ${U:?must be set}', {}), { message: 'failed to process "${U:?must be set}": U: must be set' });
});

// splitStages

test('splitStages: global ARGs, then stages with names and indexes', () => {
  const df = parseDockerfile('ARG BASE=alpine\nARG V\nFROM $BASE AS Build\nRUN a\nARG X\nFROM scratch\nCOPY --from=build /a /a\n');
  const { globalArgs, stages } = splitStages(df);
  assert.deepEqual(globalArgs.map((i) => i.line), [1, 2]);
  assert.equal(stages.length, 2);
  assert.deepEqual([stages[0].index, stages[0].name, stages[0].from.line, stages[0].body.map((i) => i.cmd)], [0, 'build', 3, ['run', 'arg']]);
  assert.deepEqual([stages[1].index, stages[1].name, stages[1].body.map((i) => i.cmd)], [1, undefined, ['copy']]);
});

test('splitStages: only ARG may come before the first FROM', () => {
  assert.throws(() => splitStages(parseDockerfile('ARG A\nRUN x\nFROM a')), (e: unknown) =>
    e instanceof DockerfileError && e.message === 'no build stage in current context' && e.line === 2);
});

test('splitStages types every instruction in file order', () => {
  assert.throws(() => splitStages(parseDockerfile('FROM a\nCOPY x\nRUN --bad y')), {
    message: 'dockerfile parse error on line 2: COPY requires at least two arguments, but only one was provided. Destination could not be determined',
  });
  assert.deepEqual(splitStages(parseDockerfile('')), { globalArgs: [], stages: [] });
});
