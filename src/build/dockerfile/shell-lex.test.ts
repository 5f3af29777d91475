import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DockerfileError } from './ast.ts';
import { ShellLex, expandHeredoc, goQuote } from './shell-lex.ts';

const lex = new ShellLex('\\');
const ENV = { PWD: '/home', SHELL: 'bash', KOREAN: '한국어', NULL: '' };
const word = (w: string, env: Record<string, string | undefined> = ENV) => lex.processWord(w, env);
const words = (w: string, env: Record<string, string | undefined> = ENV) => lex.processWords(w, env);
const fails = (w: string, message: string, l: ShellLex = lex) =>
  assert.throws(() => l.processWord(w, ENV), (e: unknown) => e instanceof DockerfileError && e.message === message, w);

test('plain text passes through and processWord keeps spaces', () => {
  assert.equal(word('hello'), 'hello');
  assert.equal(word('  a  b  '), '  a  b  ');
  assert.equal(word(''), '');
});

test('single quotes are literal: no expansion, no escapes', () => {
  assert.equal(word("'$PWD'"), '$PWD');
  assert.equal(word("'he\\$PWD'"), 'he\\$PWD');
  assert.equal(word("'hello\\'"), 'hello\\');
  assert.equal(word(`'"hello"'`), '"hello"');
  assert.equal(word("he'll'o"), 'hello');
});

test('double quotes expand and escape only ", $ and the escape character', () => {
  assert.equal(word('"he${PWD}"'), 'he/home');
  assert.equal(word(`"he'$PWD'"`), "he'/home'");
  assert.equal(word('"he\\$PWD"'), 'he$PWD');
  assert.equal(word('"he\\\\$PWD"'), 'he\\/home');
  assert.equal(word('"abc\\tdef"'), 'abc\\tdef');
  assert.equal(word('"a\\"b"'), 'a"b');
  assert.equal(word(`"''"`), "''");
});

test('the escape character outside quotes makes the next character literal', () => {
  assert.equal(word('abc\\tdef'), 'abctdef');
  assert.equal(word('he\\$PWD'), 'he$PWD');
  assert.equal(word('he\\\\$PWD'), 'he\\/home');
  assert.equal(word("he\\'llo"), "he'llo");
  assert.equal(word('\\${}'), '${}');
  assert.equal(word('hello\\'), 'hello', 'a trailing escape is dropped');
  assert.equal(word('hello\\\\'), 'hello\\');
});

test('$VAR and ${VAR}; unknown variables expand to nothing', () => {
  assert.equal(word('he$PWD'), 'he/home');
  assert.equal(word('he${PWD}xx'), 'he/homexx');
  assert.equal(word('he$pwd.'), 'he.', 'names are case-sensitive');
  assert.equal(word('he${hi}xx'), 'hexx');
  assert.equal(word('$KOREAN!'), '한국어!');
  assert.equal(word('a$PWD-b'), 'a/home-b', 'a name ends at the first non-name character');
});

test('a lone $ or $ before a non-name character stays', () => {
  assert.equal(word('$'), '$');
  assert.equal(word('$.'), '$.');
  assert.equal(word('he$.x'), 'he$.x');
  assert.equal(word('cost: 5$'), 'cost: 5$');
});

test('$$, special and positional parameters are never set (Docker expands them to nothing)', () => {
  assert.equal(word('a$$b'), 'ab');
  assert.equal(word('${$}'), '');
  assert.equal(word('he$1x'), 'hex');
  assert.equal(word('$999aaa'), 'aaa');
  assert.equal(word('$@@@'), '@@');
  assert.equal(word('${#:-bbb}'), 'bbb');
  assert.equal(word('${001:+bbb}aaa'), 'aaa');
});

test('${VAR:-word} uses word when VAR is unset or empty, ${VAR-word} only when unset', () => {
  assert.equal(word('he${XXX:-000}xx'), 'he000xx');
  assert.equal(word('he${PWD:-000}xx'), 'he/homexx');
  assert.equal(word('${NULL:-dflt}'), 'dflt');
  assert.equal(word('${NULL-dflt}'), '');
  assert.equal(word('${XXX-dflt}'), 'dflt');
});

test('${VAR:+word} uses word when VAR is set and non-empty, ${VAR+word} when set', () => {
  assert.equal(word('he${XXX:+000}xx'), 'hexx');
  assert.equal(word('he${PWD:+000}xx'), 'he000xx');
  assert.equal(word('${NULL:+alt}'), '');
  assert.equal(word('${NULL+alt}'), 'alt');
  assert.equal(word('${XXX+alt}'), '');
});

test('${VAR:?msg} and ${VAR?msg} fail with Docker\'s texts', () => {
  fails('${XXX:?}', 'failed to process "${XXX:?}": XXX: is not allowed to be unset');
  fails('${NULL:?}', 'failed to process "${NULL:?}": NULL: is not allowed to be empty');
  fails('${XXX?custom $PWD}', 'failed to process "${XXX?custom $PWD}": XXX: custom /home');
  assert.equal(word('he${NULL?}'), 'he');
  assert.equal(word('he${PWD:?}'), 'he/home');
});

test('the word of a modifier is itself expanded, to any depth', () => {
  assert.equal(word('he${XXX:-$PWD}xx'), 'he/homexx');
  assert.equal(word('he${XXX:-${PWD:-yyy}}xx'), 'he/homexx');
  assert.equal(word('he${XXX:-${YYY:-yyy}}xx'), 'heyyyxx');
  assert.equal(word('he${PWD:+${SHELL}}xx'), 'hebashxx');
  assert.equal(word('he${PWD:+${PWD}:}xx'), 'he/home:xx');
  assert.equal(word('he${XXX:-\\$PWD:}xx'), 'he$PWD:xx');
  assert.equal(word('he${XXX:-\\${PWD}z}xx'), 'he${PWDz}xx');
  assert.equal(word('${aaa:-bbb {foo}'), 'bbb {foo');
  assert.equal(word('${aaa}}'), '}');
});

test('syntax errors carry Docker\'s texts', () => {
  fails('he${PWD', 'failed to process "he${PWD": syntax error: missing \'}\'');
  fails('${a', 'failed to process "${a": syntax error: missing \'}\'');
  fails('${', 'failed to process "${": syntax error: missing \'}\'');
  fails('${aaa:-bbb', 'failed to process "${aaa:-bbb": syntax error: missing \'}\'');
  fails('he${}xx', 'failed to process "he${}xx": syntax error: bad substitution');
  fails('${{aaa}', 'failed to process "${{aaa}": syntax error: bad substitution');
  fails('${:-bbb}', 'failed to process "${:-bbb}": syntax error: bad substitution');
  fails('he${.}', 'failed to process "he${.}": unsupported modifier (.) in substitution');
  fails('he${XXX:YYY}', 'failed to process "he${XXX:YYY}": unsupported modifier (:Y) in substitution');
  fails('he${PWD:=000}xx', 'failed to process "he${PWD:=000}xx": unsupported modifier (:=) in substitution');
  fails('${a:#x}', 'failed to process "${a:#x}": unsupported modifier (:#) in substitution');
});

test('unterminated quotes are errors', () => {
  fails('he\'llo', 'failed to process "he\'llo": unexpected end of statement while looking for matching single-quote');
  fails('"hello', 'failed to process "\\"hello": unexpected end of statement while looking for matching double-quote');
  fails('"hello\\"', 'failed to process "\\"hello\\\\\\"": unexpected end of statement while looking for matching double-quote');
  fails('he\\\\\'llo', 'failed to process "he\\\\\\\\\'llo": unexpected end of statement while looking for matching single-quote');
});

test('backtick escape: ` escapes, backslash is an ordinary character', () => {
  const b = new ShellLex('`');
  assert.equal(b.processWord('C:\\path\\$PWD', ENV), 'C:\\path\\/home');
  assert.equal(b.processWord('`$PWD', ENV), '$PWD');
  assert.equal(b.processWord('a` b', ENV), 'a b');
  assert.equal(b.processWord('"x`"y"', ENV), 'x"y');
  assert.equal(b.processWord('"x\\t"', ENV), 'x\\t');
  assert.deepEqual(b.processWords('a` b c', ENV), ['a b', 'c']);
});

test('processWords splits unquoted text and expansions after substitution', () => {
  const env = { hi: 'hi', space: 'abc  def', leading: '  ab c', trailing: 'ab c   ' };
  const cases: [string, string[]][] = [
    ['hello', ['hello']],
    ['hello${hi}bye', ['hellohibye']],
    ['hello${space}bye', ['helloabc', 'defbye']],
    ['hello"${space}"bye', ['helloabc  defbye']],
    ['hello "${space}"bye', ['hello', 'abc  defbye']],
    ['hello${leading}def', ['hello', 'ab', 'cdef']],
    ['hello"${leading}" def', ['hello  ab c', 'def']],
    ['hello${leading}', ['hello', 'ab', 'c']],
    ['hello${trailing}', ['helloab', 'c']],
    ['hello${trailing}d', ['helloab', 'c', 'd']],
    ['hello"${trailing}"d', ['helloab c   d']],
    ['hello" there  "', ['hello there  ']],
    ['hello there     ', ['hello', 'there']],
    ['hello\\ there', ['hello there']],
    ['hello\\" there', ['hello"', 'there']],
    ["hello'\\\\there'", ['hello\\\\there']],
    ['  ', []],
  ];
  for (const [input, want] of cases) assert.deepEqual(lex.processWords(input, env), want, input);
});

test('processWords: a word made only of an empty quoted string yields nothing (as Docker)', () => {
  assert.deepEqual(words('""'), []);
  assert.deepEqual(words("a '' b"), ['a', 'b']);
  assert.deepEqual(words('a""b'), ['ab']);
  assert.deepEqual(words('"" x'), ['x']);
});

test('processWords keeps << and the blanks after it together (heredoc words)', () => {
  assert.deepEqual(words('cat << EOF > x'), ['cat', '<< EOF', '>', 'x']);
  assert.deepEqual(words('a<b'), ['a<b']);
  assert.equal(word('cat << EOF'), 'cat << EOF');
});

test('${VAR%pattern}, ${VAR%%pattern}, ${VAR#pattern}, ${VAR##pattern}', () => {
  const env = { F: 'archive.tar.gz', P: '/usr/local/bin', S: 'a*b' };
  assert.equal(lex.processWord('${F%.*}', env), 'archive.tar');
  assert.equal(lex.processWord('${F%%.*}', env), 'archive');
  assert.equal(lex.processWord('${P#*/}', env), 'usr/local/bin');
  assert.equal(lex.processWord('${P##*/}', env), 'bin');
  assert.equal(lex.processWord('${F#nomatch}', env), 'archive.tar.gz');
  assert.equal(lex.processWord('${S#a\\*}', env), 'b', 'escaped * is literal');
  assert.equal(lex.processWord('${UNSET%x}', env), '');
  assert.throws(() => lex.processWord('${F#\\x}', env), /invalid escape '\\x'/);
});

test('${VAR/pattern/repl} replaces the first match, ${VAR//pattern/repl} all', () => {
  const env = { V: 'a-b-c' };
  assert.equal(lex.processWord('${V/-/+}', env), 'a+b-c');
  assert.equal(lex.processWord('${V//-/+}', env), 'a+b+c');
  assert.equal(lex.processWord('${V//?/x}', env), 'xxxxx');
  assert.equal(lex.processWord('${V/z/y}', env), 'a-b-c');
  assert.equal(lex.processWord('${V//-/$}', env), 'a$b$c', 'the replacement is literal');
  fails('${V/a', 'failed to process "${V/a": syntax error: missing \'/\' in ${}');
  fails('${V/a/b', 'failed to process "${V/a/b": syntax error: missing \'}\'');
});

test('undefined values are unset and object prototype names are not variables', () => {
  assert.equal(lex.processWord('${A-unset}', { A: undefined }), 'unset');
  assert.equal(lex.processWord('[$constructor][${toString:-d}]', {}), '[][d]');
  assert.equal(lex.processWord('${__proto__:-p}', {}), 'p');
});

test('Unicode words and names', () => {
  assert.equal(word("안'녕'하세요"), '안녕하세요');
  assert.equal(word('안녕\\t하세요'), '안녕t하세요');
  assert.equal(word('안녕$KOREAN'), '안녕한국어');
  assert.equal(lex.processWord('$é', { 'é': 'e-acute' }), 'e-acute');
});

test('raw options: quotes and escapes kept, unset references kept as written', () => {
  const raw = new ShellLex('\\', { rawQuotes: true, rawEscapes: true, skipUnsetEnv: true });
  assert.deepEqual(raw.processWords(`RUN cat <<"EOF" 'a b' \\x $U \${U:-d}`, {}), ['RUN', 'cat', '<<"EOF"', "'a b'", '\\x', '$U', '${U:-d}']);
  const skip = new ShellLex('\\', { skipUnsetEnv: true });
  assert.equal(skip.processWord('$SET ${U} $U', { SET: 'y' }), 'y ${U} $U');
});

test('expandHeredoc expands variables but keeps quotes, with backslash as escape', () => {
  assert.equal(expandHeredoc('echo "hi $NAME" \'$NAME\'\n', { NAME: 'bob' }), 'echo "hi bob" \'bob\'\n');
  assert.equal(expandHeredoc('cost \\$5\n', {}), 'cost $5\n');
});

test('goQuote matches Go %q for the texts in messages', () => {
  assert.equal(goQuote('a"b\\c'), '"a\\"b\\\\c"');
  assert.equal(goQuote('x\ny\t'), '"x\\ny\\t"');
  assert.equal(goQuote('\x01é'), '"\\x01é"');
});

test('wildcard patterns run in linear time, as BuildKit\'s Go regular expressions do (found by the fuzz test)', () => {
  // parser.fuzz.test.ts, seed 42: as a backtracking regular expression the first never returned.
  const env = { L: `${'a'.repeat(100)}b${'a'.repeat(100)}` };
  const lex = new ShellLex('\\');
  const t0 = Date.now();
  assert.equal(lex.processWord('${L%abb***\\**?a***a*?a**a**?}', env), env.L);
  assert.equal(lex.processWord('${L#*a*a*a*a*a*a*a*a*b*b}', env), env.L);
  assert.equal(lex.processWord('${L//*a*a*a*a*a*a*a*a*c/x}', env), env.L);
  assert.ok(Date.now() - t0 < 2000, `${Date.now() - t0} ms`);
  // Shortest and longest matches as before.
  assert.equal(lex.processWord('${L#*b}', env), 'a'.repeat(100));
  assert.equal(lex.processWord('${L##*a}', env), '');
  assert.equal(lex.processWord('${L%a*}', env), `${'a'.repeat(100)}b${'a'.repeat(99)}`);
  assert.equal(lex.processWord('${L%%b*}', env), 'a'.repeat(100));
});

test('replacing counts characters, not UTF-16 units: an empty match before an emoji ends', () => {
  // The regular-expression version looped forever here (its next search started inside the pair).
  const lex = new ShellLex('\\');
  assert.equal(lex.processWord('${V///}', { V: '\ra😀' }), '\ra😀');
  assert.equal(lex.processWord('${W//*/x}', { W: '😀\n😀' }), 'x\nx');
  assert.equal(lex.processWord('${W/?/y}', { W: '😀\n😀' }), 'y\n😀');
  assert.equal(lex.processWord('${V//a/😀}', { V: '\ra😀' }), '\r😀😀');
});
