import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DockerfileError, type Instruction } from './ast.ts';
import { parseDockerfile, parseHeredocWord, parseJsonArray, splitCommand, suggest } from './parser.ts';

const insts = (text: string) => parseDockerfile(text).instructions;
const one = (text: string): Instruction => {
  const all = insts(text);
  assert.equal(all.length, 1, `one instruction in ${JSON.stringify(text)}`);
  return all[0];
};
const fails = (text: string, message: string, line?: number) =>
  assert.throws(() => parseDockerfile(text), (e: unknown) => {
    assert.ok(e instanceof DockerfileError);
    assert.equal(e.message, message);
    if (line !== undefined) assert.equal(e.line, line);
    return true;
  });

test('instructions with keyword, lines, rest and original', () => {
  const df = parseDockerfile('FROM alpine:3.19\n\nRUN  echo hi  \nCMD ["sh"]\n');
  assert.deepEqual(df.instructions, [
    { cmd: 'from', original: 'FROM alpine:3.19', line: 1, endLine: 1, flags: [], rest: 'alpine:3.19', heredocs: [] },
    { cmd: 'run', original: 'RUN  echo hi', line: 3, endLine: 3, flags: [], rest: 'echo hi', heredocs: [] },
    { cmd: 'cmd', original: 'CMD ["sh"]', line: 4, endLine: 4, flags: [], rest: '["sh"]', json: ['sh'], heredocs: [] },
  ]);
  assert.deepEqual(df.directives, {});
  assert.equal(df.escape, '\\');
  assert.deepEqual(df.warnings, []);
});

test('keywords are case-insensitive; cmd is lower-case, original keeps the case', () => {
  const [a, b] = insts('from x\nRuN echo');
  assert.equal(a.cmd, 'from');
  assert.equal(b.cmd, 'run');
  assert.equal(b.original, 'RuN echo');
});

test('every known instruction is accepted', () => {
  const text = ['FROM a', 'RUN b', 'CMD c', 'ENTRYPOINT d', 'ENV e f', 'ARG g', 'LABEL h=i', 'EXPOSE 1', 'COPY j k',
    'ADD l m', 'WORKDIR /n', 'USER o', 'VOLUME /p', 'STOPSIGNAL 9', 'HEALTHCHECK NONE', 'SHELL ["q"]',
    'ONBUILD RUN r', 'MAINTAINER s'].join('\n');
  assert.deepEqual(insts(text).map((i) => i.cmd), ['from', 'run', 'cmd', 'entrypoint', 'env', 'arg', 'label', 'expose',
    'copy', 'add', 'workdir', 'user', 'volume', 'stopsignal', 'healthcheck', 'shell', 'onbuild', 'maintainer']);
});

test('unknown instruction: Docker\'s text with the line and its typo suggestion', () => {
  fails('FROM a\n\nBANANA x', 'dockerfile parse error on line 3: unknown instruction: BANANA', 3);
  fails('FROM a\nFOO bar', 'dockerfile parse error on line 2: unknown instruction: FOO (did you mean FROM?)', 2);
  fails('FROM a\ncopyy a b', 'dockerfile parse error on line 2: unknown instruction: copyy (did you mean copy?)', 2);
});

test('parser directives at the top: keys case-insensitive, blanks around =', () => {
  const df = parseDockerfile('# syntax=docker/dockerfile:1\n#ESCAPE = `\n#  check = skip=all;error=true  \nFROM a');
  assert.deepEqual(df.directives, { syntax: 'docker/dockerfile:1', escape: '`', check: 'skip=all;error=true' });
  assert.equal(df.escape, '`');
  assert.equal(df.instructions[0].line, 4);
});

test('directives after an instruction, a comment or a blank line are plain comments', () => {
  assert.deepEqual(parseDockerfile('FROM a\n# escape=`').directives, {});
  assert.deepEqual(parseDockerfile('# hello\n# escape=`\nFROM a').directives, {});
  const df = parseDockerfile('\n# escape=`\nFROM a \\\n  b');
  assert.deepEqual(df.directives, {});
  assert.equal(df.escape, '\\');
  assert.equal(df.instructions[0].rest, 'a   b');
});

test('an unknown directive-looking comment is a comment and ends the directives', () => {
  const df = parseDockerfile('# foo=bar\n# escape=`\nFROM a');
  assert.deepEqual(df.directives, {});
  assert.equal(df.escape, '\\');
});

test('a repeated directive is an error', () => {
  fails('# escape=`\n# ESCAPE=\\\nFROM a', 'only one escape parser directive can be used', 2);
  fails('# syntax=a\n# syntax=b\nFROM a', 'only one syntax parser directive can be used', 2);
});

test('an escape directive other than ` or \\ is an error', () => {
  fails('# escape=x\nFROM a', 'invalid escape token \'x\' does not match ` or \\', 1);
});

test('escape=`: backtick continues lines, backslash is literal', () => {
  const df = parseDockerfile('# escape=`\nFROM mcr/windows\nRUN dir C:\\ `\n    /s\nCOPY a C:\\dest\\');
  const [, run, copy] = df.instructions;
  assert.equal(run.rest, 'dir C:\\     /s');
  assert.equal(run.line, 3);
  assert.equal(run.endLine, 4);
  assert.equal(run.escape, '`');
  assert.equal(copy.rest, 'a C:\\dest\\', 'a trailing backslash is not a continuation');
});

test('continuations join lines; original keeps the next line\'s indentation', () => {
  const i = one('RUN echo a && \\\n    echo b');
  assert.equal(i.original, 'RUN echo a &&     echo b');
  assert.equal(i.rest, 'echo a &&     echo b');
  assert.equal(i.line, 1);
  assert.equal(i.endLine, 2);
});

test('blanks after the continuation escape are allowed', () => {
  assert.equal(one('RUN a \\  \t\n b').rest, 'a  b');
});

test('an escaped escape at the end of a line does not continue it', () => {
  const [a, b] = insts('RUN echo \\\\\nRUN b');
  assert.equal(a.rest, 'echo \\\\');
  assert.equal(b.line, 2);
});

test('a line that is only the escape continues too', () => {
  assert.equal(one('RUN a \\\n\\\n b').rest, 'a  b');
});

test('comment lines inside a continuation are skipped', () => {
  const i = one('RUN apt-get update && \\\n  # install curl\n    # and more\n  apt-get install curl');
  assert.equal(i.rest, 'apt-get update &&   apt-get install curl');
  assert.equal(i.endLine, 4);
});

test('empty continuation lines are skipped with Docker\'s warning', () => {
  const df = parseDockerfile('FROM a\nRUN echo a \\\n\n   \n  echo b\nRUN ok');
  assert.equal(df.instructions[1].rest, 'echo a   echo b');
  assert.equal(df.instructions[2].line, 6);
  assert.deepEqual(df.warnings, [
    '[WARNING]: Empty continuation line found in: RUN echo a   echo b',
    '[WARNING]: Empty continuation lines will become errors in a future release.',
  ]);
});

test('a continuation at the end of the file ends the instruction', () => {
  const i = one('FROM a \\');
  assert.equal(i.rest, 'a');
});

test('comments and blank lines are ignored; # only counts at line start', () => {
  const df = parseDockerfile('# c1\n\n   # indented comment\nFROM a\nRUN echo # not a comment\n');
  assert.equal(df.instructions.length, 2);
  assert.equal(df.instructions[1].rest, 'echo # not a comment');
});

test('leading whitespace before an instruction is ignored', () => {
  const i = one('   \tRUN x');
  assert.equal(i.original, 'RUN x');
  assert.equal(i.cmd, 'run');
});

test('CRLF line endings are accepted', () => {
  const df = parseDockerfile('# escape=\\\r\nFROM a\r\nRUN b \\\r\n  c\r\n');
  assert.deepEqual(df.directives, { escape: '\\' });
  assert.deepEqual(df.instructions.map((i) => i.rest), ['a', 'b   c']);
});

test('a UTF-8 BOM is stripped, even before a directive', () => {
  const df = parseDockerfile('\uFEFF# syntax=x\nFROM a');
  assert.deepEqual(df.directives, { syntax: 'x' });
  assert.equal(df.instructions[0].cmd, 'from');
});

test('an empty file has no instructions; comments only is Docker\'s error', () => {
  assert.deepEqual(parseDockerfile('').instructions, []);
  fails('# just a comment\n\n', 'file with no instructions');
});

test('leading flags go to flags, the rest is trimmed', () => {
  const i = one('COPY --from=build --chown=app:app  --link /out/ ./bin/ ');
  assert.deepEqual(i.flags, ['--from=build', '--chown=app:app', '--link']);
  assert.equal(i.rest, '/out/ ./bin/');
  assert.equal(i.original, 'COPY --from=build --chown=app:app  --link /out/ ./bin/');
  assert.deepEqual(one('FROM --platform=$BUILDPLATFORM golang AS b').flags, ['--platform=$BUILDPLATFORM']);
  assert.deepEqual(one('RUN --network=none make').flags, ['--network=none']);
});

test('flags stop at the first word not starting with -- and lose quotes like Docker', () => {
  const i = one('RUN --network=none echo --not-a-flag');
  assert.deepEqual(i.flags, ['--network=none']);
  assert.equal(i.rest, 'echo --not-a-flag');
  assert.deepEqual(one('COPY --chown="a b" x y').flags, ['--chown=a b']);
  assert.deepEqual(one('COPY --chmod=\\7\'55\' x y').flags, ['--chmod=755']);
});

test('a bare -- ends the flags', () => {
  const i = one('RUN --network=host -- --help');
  assert.deepEqual(i.flags, ['--network=host']);
  assert.equal(i.rest, '--help');
});

test('exec form: rest that is a JSON array of strings sets json', () => {
  assert.deepEqual(one('RUN ["echo", "a b"]').json, ['echo', 'a b']);
  assert.deepEqual(one('ENTRYPOINT  [ "/bin/sh" , "-c" ]').json, ['/bin/sh', '-c']);
  assert.deepEqual(one('CMD []').json, []);
  assert.deepEqual(one('COPY ["a b", "/c"]').json, ['a b', '/c']);
  assert.deepEqual(one('VOLUME ["/data"]').json, ['/data']);
  assert.deepEqual(one('SHELL ["pwsh", "-c"]').json, ['pwsh', '-c']);
});

test('shell form: text that is not valid JSON leaves json undefined', () => {
  assert.equal(one('RUN [ -f x ] && echo').json, undefined);
  assert.equal(one("CMD ['single', 'quotes']").json, undefined);
  assert.equal(one('CMD ["a"] trailing').json, undefined);
  assert.equal(one('RUN echo ["a"]').json, undefined);
});

test('json is only for the instructions that take exec/list form', () => {
  assert.equal(one('LABEL ["a"]').json, undefined);
  assert.equal(one('ENV ["a"]').json, undefined);
  assert.equal(one('WORKDIR ["a"]').json, undefined);
  assert.deepEqual(one('HEALTHCHECK --interval=5s CMD ["curl", "-f", "x"]').json, ['curl', '-f', 'x']);
  assert.equal(one('HEALTHCHECK CMD curl -f x').json, undefined);
});

test('a JSON array with a non-string is Docker\'s parse error', () => {
  fails('FROM a\nCMD ["a", 1]', 'when using JSON array syntax, arrays must be comprised of strings only', 2);
  fails('FROM a\nONBUILD RUN [null]', 'when using JSON array syntax, arrays must be comprised of strings only', 2);
});

test('heredoc <<EOF: body follows the instruction up to the delimiter', () => {
  const [run, after] = insts('RUN <<EOF\necho hello\n  echo $HOME\nEOF\nCMD x');
  assert.equal(run.rest, '<<EOF');
  assert.equal(run.original, 'RUN <<EOF');
  assert.deepEqual(run.heredocs, [{ name: 'EOF', content: 'echo hello\n  echo $HOME\n', expand: true, chomp: false }]);
  assert.equal(run.line, 1);
  assert.equal(run.endLine, 4);
  assert.equal(after.line, 5);
});

test('heredoc <<-EOF strips leading tabs from the body and the delimiter', () => {
  const i = one('COPY <<-EOT /etc/motd\n\t\thello\n\t  world\n\tEOT\n');
  assert.deepEqual(i.heredocs, [{ name: 'EOT', content: 'hello\n  world\n', expand: true, chomp: true }]);
});

test('heredoc with quoted delimiter does not expand', () => {
  assert.deepEqual(one('RUN <<"EOF"\n$X\nEOF').heredocs, [{ name: 'EOF', content: '$X\n', expand: false, chomp: false }]);
  assert.deepEqual(one("RUN <<'EOF'\n$X\nEOF").heredocs, [{ name: 'EOF', content: '$X\n', expand: false, chomp: false }]);
  assert.deepEqual(one('RUN <<-"E"OF\n\tx\nEOF').heredocs, [{ name: 'EOF', content: 'x\n', expand: false, chomp: true }]);
});

test('several heredocs on one line are read one after the other', () => {
  const i = one('COPY <<A <<B /dest/\nfile a\nA\nfile b\nB\n');
  assert.equal(i.rest, '<<A <<B /dest/');
  assert.deepEqual(i.heredocs.map((h) => [h.name, h.content]), [['A', 'file a\n'], ['B', 'file b\n']]);
  assert.equal(i.endLine, 5);
  const r = one('RUN python3 <<PY > out && cat <<-SH\nprint(1)\nPY\n\techo\n\tSH');
  assert.deepEqual(r.heredocs.map((h) => [h.name, h.content]), [['PY', 'print(1)\n'], ['SH', 'echo\n']]);
});

test('heredoc bodies are raw: no continuation, comments or directives', () => {
  const i = one('RUN <<EOF\n# a comment\nline \\\n\nEOF');
  assert.equal(i.heredocs[0].content, '# a comment\nline \\\n\n');
});

test('a heredoc on a continued line starts after the last line', () => {
  const i = one('RUN cat <<EOF \\\n  > /f\nbody\nEOF');
  assert.equal(i.rest, 'cat <<EOF   > /f');
  assert.equal(i.heredocs[0].content, 'body\n');
  assert.equal(i.endLine, 4);
});

test('heredoc "<< EOF" with blanks after << (current BuildKit)', () => {
  assert.deepEqual(one('RUN cat << EOF\nx\nEOF').heredocs.map((h) => h.name), ['EOF']);
});

test('a missing heredoc terminator is an error', () => {
  fails('FROM a\nRUN <<EOF\necho\nEOFX\n', 'unterminated heredoc', 2);
});

test('heredoc delimiters in CRLF files', () => {
  const i = one('RUN <<EOF\r\necho\r\nEOF\r\n');
  assert.equal(i.heredocs[0].content, 'echo\r\n');
  assert.equal(i.endLine, 3);
});

test('no heredocs in JSON form, quoted text, here-strings or other instructions', () => {
  assert.equal(one('RUN ["cat", "<<EOF"]').heredocs.length, 0);
  // ...so the next line is an instruction of its own.
  fails('RUN ["cat", "<<EOF"]\nEOF', 'dockerfile parse error on line 2: unknown instruction: EOF (did you mean ENV?)', 2);
  assert.equal(one('RUN echo "<<EOF"').heredocs.length, 0);
  assert.equal(one("RUN echo '<<EOF'").heredocs.length, 0);
  assert.equal(one('RUN cat <<<word').heredocs.length, 0);
  assert.equal(one('LABEL a=<<EOF').heredocs.length, 0);
  assert.equal(one('RUN echo "unbalanced <<EOF').heredocs.length, 0);
});

test('ONBUILD RUN/COPY triggers take heredocs', () => {
  const i = one('ONBUILD RUN <<EOF\necho hi\nEOF');
  assert.equal(i.rest, 'RUN <<EOF');
  assert.deepEqual(i.heredocs, [{ name: 'EOF', content: 'echo hi\n', expand: true, chomp: false }]);
  assert.equal(one('ONBUILD RUN ["<<EOF"]').heredocs.length, 0);
});

test('parseHeredocWord recognises the heredoc word forms', () => {
  assert.deepEqual(parseHeredocWord('<<EOF'), { name: 'EOF', content: '', expand: true, chomp: false });
  assert.deepEqual(parseHeredocWord('<<-EOF'), { name: 'EOF', content: '', expand: true, chomp: true });
  assert.deepEqual(parseHeredocWord('<<"EOF"'), { name: 'EOF', content: '', expand: false, chomp: false });
  assert.deepEqual(parseHeredocWord("<<'E F'"), { name: 'E F', content: '', expand: false, chomp: false });
  assert.equal(parseHeredocWord('<<E F'), undefined, 'must be one word');
  assert.deepEqual(parseHeredocWord('2<<EOF')?.name, 'EOF');
  for (const w of ['<<', 'x<<EOF', '<<<EOF', '/dest', '<<""']) assert.equal(parseHeredocWord(w), undefined, w);
});

test('parseJsonArray and splitCommand helpers', () => {
  assert.deepEqual(parseJsonArray('  ["a"]'), ['a']);
  assert.equal(parseJsonArray('{"a":1}'), undefined);
  assert.deepEqual(splitCommand('  COPY\t--link a b  '), { keyword: 'COPY', flags: ['--link'], rest: 'a b' });
  assert.deepEqual(splitCommand('RUN'), { keyword: 'RUN', flags: [], rest: '' });
  assert.deepEqual(splitCommand('RUN --flag'), { keyword: 'RUN', flags: ['--flag'], rest: '' });
});

test('suggest finds names within two edits, matching the case given', () => {
  assert.equal(suggest('FORM', ['FROM', 'RUN'], false), 'FROM');
  assert.equal(suggest('form', ['FROM', 'RUN'], false), 'from');
  assert.equal(suggest('chonw', ['chown', 'chmod', 'from'], true), 'chown');
  assert.equal(suggest('zzzzz', ['from'], true), undefined);
});
