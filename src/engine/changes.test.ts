import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyChanges, changeInstructions, parseKeyValues } from './changes.ts';

test('import --change instructions update the config like docker', () => {
  const c = applyChanges({ Env: ['PATH=/bin', 'A=old'] }, [
    'CMD ["sh", "-c", "echo hi"]',
    'ENTRYPOINT /bin/run --flag',
    'ENV A=new B="two words"',
    'ENV LEGACY value with spaces',
    'EXPOSE 80 53/udp',
    'USER nobody',
    'WORKDIR /srv',
    'LABEL version="1.0" team=core',
    'VOLUME ["/data", "/logs"]',
    'STOPSIGNAL SIGINT',
  ]);
  assert.deepEqual(c.Cmd, ['sh', '-c', 'echo hi']);
  assert.deepEqual(c.Entrypoint, ['/bin/sh', '-c', '/bin/run --flag']);
  assert.deepEqual(c.Env, ['PATH=/bin', 'A=new', 'B=two words', 'LEGACY=value with spaces']);
  assert.deepEqual(c.ExposedPorts, { '80/tcp': {}, '53/udp': {} });
  assert.equal(c.User, 'nobody');
  assert.equal(c.WorkingDir, '/srv');
  assert.deepEqual(c.Labels, { version: '1.0', team: 'core' });
  assert.deepEqual(c.Volumes, { '/data': {}, '/logs': {} });
  assert.equal(c.StopSignal, 'SIGINT');
});

test('disallowed change instructions are refused', () => {
  assert.throws(() => applyChanges({}, ['RUN rm -rf /']), /RUN is not a valid change command/);
  assert.throws(() => applyChanges({}, ['FROM busybox']), /not a valid change command/);
});

test('parseKeyValues handles quotes and escapes', () => {
  assert.deepEqual(parseKeyValues('a=1 b="x y" c=z\\ w', false), [['a', '1'], ['b', 'x y'], ['c', 'z w']]);
});

test('one change value may hold several instructions, as Docker parses the joined values as a Dockerfile', () => {
  // What the testcontainers client sends on commit: one `changes` value, newline-joined.
  const c = applyChanges({ Env: ['PATH=/bin'], Labels: { 'org.testcontainers.session-id': 's1', keep: 'y' } }, [
    'ENV COMMITTED=yes\nLABEL extra=1\nLABEL org.testcontainers.session-id=',
  ]);
  assert.deepEqual(c.Env, ['PATH=/bin', 'COMMITTED=yes']);
  assert.deepEqual(c.Labels, { 'org.testcontainers.session-id': '', keep: 'y', extra: '1' });
  assert.deepEqual(changeInstructions(['# a comment\n\nLABEL a=1 \\\n  b=2\r\nUSER x', '', 'WORKDIR /w']), ['LABEL a=1   b=2', 'USER x', 'WORKDIR /w']);
  assert.throws(() => applyChanges({}, ['USER x\nRUN true']), /RUN is not a valid change command/);
});
