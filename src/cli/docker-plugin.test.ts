import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolvePluginInvocation } from './docker-plugin.ts';

function configDir(contexts: Record<string, string>, current?: string, tls?: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'berth-plugin-'));
  for (const [name, host] of Object.entries(contexts)) {
    const id = createHash('sha256').update(name).digest('hex');
    mkdirSync(join(dir, 'contexts', 'meta', id), { recursive: true });
    writeFileSync(join(dir, 'contexts', 'meta', id, 'meta.json'), JSON.stringify({ Name: name, Metadata: {}, Endpoints: { docker: { Host: host, SkipTLSVerify: false } } }));
    if (tls === name) {
      mkdirSync(join(dir, 'contexts', 'tls', id, 'docker'), { recursive: true });
      writeFileSync(join(dir, 'contexts', 'tls', id, 'docker', 'ca.pem'), 'x');
    }
  }
  if (current) writeFileSync(join(dir, 'config.json'), JSON.stringify({ currentContext: current }));
  return dir;
}

test('the engine as the docker CLI picks it: -H, DOCKER_HOST, --context, DOCKER_CONTEXT, currentContext, default', () => {
  const dir = configDir({ remote: 'tcp://10.0.0.9:2376', other: 'unix:///run/other.sock' }, 'other', 'remote');
  try {
    const env = { DOCKER_CONFIG: dir };
    const r = (argv: string[], e: Record<string, string> = {}) => resolvePluginInvocation(argv, { ...env, ...e });
    assert.deepEqual(r(['-H', 'unix:///x.sock', 'compose', 'ps', '-a']).args, ['ps', '-a']);
    assert.equal(r(['-H', 'unix:///x.sock', 'compose', 'ps']).globals.host, 'unix:///x.sock');
    assert.equal(r(['compose', 'ps'], { DOCKER_HOST: 'unix:///env.sock' }).globals.host, 'unix:///env.sock');
    assert.equal(r(['compose', 'ps']).globals.host, 'unix:///run/other.sock', 'config.json currentContext');
    assert.equal(r(['compose', 'ps'], { DOCKER_CONTEXT: 'default' }).globals.host, 'unix:///var/run/docker.sock');
    assert.equal(r(['--context', 'other', 'compose', 'ps'], { DOCKER_HOST: 'unix:///env.sock' }).globals.host, 'unix:///run/other.sock', '--context wins over DOCKER_HOST');
    const tls = r(['-c', 'remote', 'compose', 'ls']);
    assert.equal(tls.globals.host, 'tcp://10.0.0.9:2376');
    assert.equal(tls.globals.tlsverify, true);
    assert.equal(tls.globals.tlscacert, join(dir, 'contexts', 'tls', createHash('sha256').update('remote').digest('hex'), 'docker', 'ca.pem'));
    assert.equal(tls.configDir, dir);
    assert.equal(r(['--config', '/elsewhere', '--tlsverify', '-H', 'tcp://h:1', 'compose', 'ls']).configDir, '/elsewhere');
    assert.equal(resolvePluginInvocation(['compose', 'ls'], {}).globals.host, 'unix:///var/run/docker.sock', 'nothing named: docker\'s default socket');
    assert.throws(() => r(['-H', 'unix:///a', '--context', 'other', 'compose', 'ls']), /conflicting options: cannot specify both --host and --context/);
    assert.throws(() => r(['--context', 'nope', 'compose', 'ls']), /context "nope": context not found/);
    assert.throws(() => r(['ps']), /runs as "docker compose"/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
