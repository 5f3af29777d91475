import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { ApiClient, readAll } from './client.ts';
import { path } from './endpoints.ts';

// A server on a unix socket that records each request line (and body) and answers `{}` (or a
// 101 for upgrades): what the typed methods send is what the test asserts.
let dir: string;
let server: http.Server;
let client: ApiClient;
const seen: Array<{ line: string; body: string; ct?: string; auth?: string }> = [];

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'berth-endpoints-test-'));
  const sock = join(dir, 'd.sock');
  server = http.createServer(async (req, res) => {
    const body = (await readAll(req)).toString();
    seen.push({ line: `${req.method} ${req.url}`, body, ct: req.headers['content-type'], auth: req.headers['x-registry-auth'] as string | undefined });
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(req.method === 'HEAD' ? undefined : '{}');
  });
  server.on('upgrade', (req, socket) => {
    seen.push({ line: `UPGRADE ${req.method} ${req.url}`, body: '' });
    socket.end('HTTP/1.1 101 UPGRADED\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n');
  });
  await new Promise<void>((r) => server.listen(sock, r));
  client = new ApiClient({ kind: 'unix', path: sock, url: `unix://${sock}` } as any, { version: '1.47' });
});

after(() => {
  client.close();
  server.close();
  rmSync(dir, { recursive: true, force: true });
});

/** The request line(s) `fn` sends. */
async function sent(fn: () => Promise<unknown>): Promise<string> {
  const from = seen.length;
  const r = await fn();
  if (r && typeof r === 'object' && 'resume' in r && typeof (r as Readable).resume === 'function') await readAll(r as Readable);
  if (r && typeof r === 'object' && 'socket' in r) (r as { socket: { destroy(): void } }).socket.destroy();
  return seen.slice(from).map((s) => s.line).join('\n');
}

test('path encodes each parameter as one segment and nothing else', () => {
  assert.equal(path`/containers/${'abc'}/start`, '/containers/abc/start');
  assert.equal(path`/images/${'localhost:5000/a/b:1'}/json`, '/images/localhost%3A5000%2Fa%2Fb%3A1/json');
  assert.equal(path`/volumes/${'a b?#%'}`, '/volumes/a%20b%3F%23%25');
  assert.equal(path`/networks`, '/networks');
});

test('container endpoints: methods, paths and queries', async () => {
  const c = client.containers;
  assert.equal(await sent(() => c.list({ all: true, limit: 3, size: false, filters: '{"a":["b"]}' })), 'GET /v1.47/containers/json?all=1&limit=3&filters=%7B%22a%22%3A%5B%22b%22%5D%7D');
  assert.equal(await sent(() => c.list()), 'GET /v1.47/containers/json');
  assert.equal(await sent(() => c.create({ Image: 'x' }, { name: 'web/1' })), 'POST /v1.47/containers/create?name=web%2F1');
  assert.equal(seen.at(-1)!.body, '{"Image":"x"}');
  assert.equal(seen.at(-1)!.ct, 'application/json');
  assert.equal(await sent(() => c.inspect('my ctr', { size: true })), 'GET /v1.47/containers/my%20ctr/json?size=1');
  assert.equal(await sent(() => c.start('a/b')), 'POST /v1.47/containers/a%2Fb/start');
  assert.equal(await sent(() => c.stop('x', { t: 0, signal: undefined })), 'POST /v1.47/containers/x/stop?t=0');
  assert.equal(await sent(() => c.restart('x', { t: 5, signal: 'SIGUSR1' })), 'POST /v1.47/containers/x/restart?t=5&signal=SIGUSR1');
  assert.equal(await sent(() => c.kill('x', { signal: 'HUP' })), 'POST /v1.47/containers/x/kill?signal=HUP');
  assert.equal(await sent(() => c.remove('x', { force: true, v: false, link: undefined })), 'DELETE /v1.47/containers/x?force=1');
  assert.equal(await sent(() => c.rename('x', 'new name')), 'POST /v1.47/containers/x/rename?name=new%20name');
  assert.equal(await sent(() => c.pause('x')), 'POST /v1.47/containers/x/pause');
  assert.equal(await sent(() => c.unpause('x')), 'POST /v1.47/containers/x/unpause');
  assert.equal(await sent(() => c.wait('x', { condition: 'next-exit' })), 'POST /v1.47/containers/x/wait?condition=next-exit');
  assert.equal(await sent(() => c.resize('x', { h: 24, w: 80 })), 'POST /v1.47/containers/x/resize?h=24&w=80');
  assert.equal(await sent(() => c.logs('x', { stdout: 1, tail: 'all', follow: false })), 'GET /v1.47/containers/x/logs?stdout=1&tail=all');
  assert.equal(await sent(() => c.top('x', { ps_args: 'aux -o pid' })), 'GET /v1.47/containers/x/top?ps_args=aux%20-o%20pid');
  assert.equal(await sent(() => c.export('x')), 'GET /v1.47/containers/x/export');
  assert.equal(await sent(() => c.changes('x')), 'GET /v1.47/containers/x/changes');
  assert.equal(await sent(() => c.statsOnce('x')), 'GET /v1.47/containers/x/stats?stream=false');
  assert.equal(await sent(() => c.update('x', { Memory: 1 })), 'POST /v1.47/containers/x/update');
  assert.equal(await sent(() => c.prune({ filters: '{}' })), 'POST /v1.47/containers/prune?filters=%7B%7D');
  assert.equal(await sent(() => c.statPath('x', '/etc/a b')), 'HEAD /v1.47/containers/x/archive?path=%2Fetc%2Fa%20b');
  assert.equal(await sent(() => c.getArchive('x', '/etc')), 'GET /v1.47/containers/x/archive?path=%2Fetc');
  assert.equal(await sent(() => c.putArchive('x', { path: '/', copyUIDGID: 'true' }, Buffer.from('tar'))), 'PUT /v1.47/containers/x/archive?path=%2F&copyUIDGID=true');
  assert.equal(seen.at(-1)!.ct, 'application/x-tar');
  assert.equal(await sent(() => c.commit({ container: 'x', repo: 'r', changes: ['ENV a=1', 'CMD x'] })), 'POST /v1.47/commit?container=x&repo=r&changes=ENV%20a%3D1&changes=CMD%20x');
  assert.equal(await sent(() => c.attach('x', { stream: true, stdin: false, stdout: true, detachKeys: 'ctrl-a' })), 'UPGRADE POST /v1.47/containers/x/attach?stream=1&stdout=1&detachKeys=ctrl-a');
});

test('exec endpoints', async () => {
  const e = client.exec;
  assert.equal(await sent(() => e.create('c 1', { Cmd: ['ls'] })), 'POST /v1.47/containers/c%201/exec');
  assert.equal(seen.at(-1)!.body, '{"Cmd":["ls"]}');
  assert.equal(await sent(() => e.start('e1', { Detach: true, Tty: false })), 'POST /v1.47/exec/e1/start');
  assert.equal(seen.at(-1)!.body, '{"Detach":true,"Tty":false}');
  assert.equal(await sent(() => e.inspect('e1')), 'GET /v1.47/exec/e1/json');
  assert.equal(await sent(() => e.resize('e1', { h: 1, w: 2 })), 'POST /v1.47/exec/e1/resize?h=1&w=2');
  assert.equal(await sent(() => e.startHijacked('e1', { Detach: false, Tty: true })), 'UPGRADE POST /v1.47/exec/e1/start');
});

test('image endpoints', async () => {
  const i = client.images;
  assert.equal(await sent(() => i.list({ all: true, filters: '{}' })), 'GET /v1.47/images/json?all=1&filters=%7B%7D');
  assert.equal(await sent(() => i.create({ fromImage: 'alpine', tag: '3', platform: undefined }, { headers: { 'X-Registry-Auth': 'abc' } })), 'POST /v1.47/images/create?fromImage=alpine&tag=3');
  assert.equal(seen.at(-1)!.auth, 'abc');
  assert.equal(await sent(() => i.create({ fromSrc: '-', changes: ['CMD a', 'ENV b=c'] }, { raw: Readable.from([Buffer.from('x')]) })), 'POST /v1.47/images/create?fromSrc=-&changes=CMD%20a&changes=ENV%20b%3Dc');
  assert.equal(seen.at(-1)!.ct, 'application/x-tar');
  assert.equal(await sent(() => i.inspect('reg:5000/a/b:t')), 'GET /v1.47/images/reg%3A5000%2Fa%2Fb%3At/json');
  assert.equal(await sent(() => i.history('a')), 'GET /v1.47/images/a/history');
  assert.equal(await sent(() => i.tag('a', { repo: 'b/c', tag: 'd' })), 'POST /v1.47/images/a/tag?repo=b%2Fc&tag=d');
  assert.equal(await sent(() => i.remove('a:1', { force: false, noprune: true })), 'DELETE /v1.47/images/a%3A1?noprune=1');
  assert.equal(await sent(() => i.prune({ filters: '{}' })), 'POST /v1.47/images/prune?filters=%7B%7D');
  assert.equal(await sent(() => i.push('r/a', { tag: 't' })), 'POST /v1.47/images/r%2Fa/push?tag=t');
  assert.equal(await sent(() => i.save({ names: ['a', 'b'] })), 'GET /v1.47/images/get?names=a&names=b');
  assert.equal(await sent(() => i.load({ quiet: '1' }, Readable.from([Buffer.from('x')]))), 'POST /v1.47/images/load?quiet=1');
});

test('network, volume, system and build endpoints', async () => {
  const n = client.networks;
  assert.equal(await sent(() => n.list({ filters: '{}' })), 'GET /v1.47/networks?filters=%7B%7D');
  assert.equal(await sent(() => n.inspect('n 1', { verbose: true })), 'GET /v1.47/networks/n%201?verbose=1');
  assert.equal(await sent(() => n.create({ Name: 'n' })), 'POST /v1.47/networks/create');
  assert.equal(await sent(() => n.remove('n')), 'DELETE /v1.47/networks/n');
  assert.equal(await sent(() => n.connect('n', { Container: 'c' })), 'POST /v1.47/networks/n/connect');
  assert.equal(await sent(() => n.disconnect('n', { Container: 'c', Force: true })), 'POST /v1.47/networks/n/disconnect');
  assert.equal(seen.at(-1)!.body, '{"Container":"c","Force":true}');
  assert.equal(await sent(() => n.prune({})), 'POST /v1.47/networks/prune');
  const v = client.volumes;
  assert.equal(await sent(() => v.list({ filters: '{}' })), 'GET /v1.47/volumes?filters=%7B%7D');
  assert.equal(await sent(() => v.inspect('v')), 'GET /v1.47/volumes/v');
  assert.equal(await sent(() => v.create({ Name: 'v' })), 'POST /v1.47/volumes/create');
  assert.equal(await sent(() => v.remove('v', { force: true })), 'DELETE /v1.47/volumes/v?force=1');
  assert.equal(await sent(() => v.prune({ all: true })), 'POST /v1.47/volumes/prune?all=1');
  const s = client.system;
  assert.equal(await sent(() => s.info()), 'GET /v1.47/info');
  assert.equal(await sent(() => s.version()), 'GET /v1.47/version');
  assert.equal(await sent(() => s.df()), 'GET /v1.47/system/df');
  assert.equal(await sent(() => s.events({ since: '1', filters: '{}' })), 'GET /v1.47/events?since=1&filters=%7B%7D');
  assert.equal(await sent(() => s.auth({ username: 'u' })), 'POST /v1.47/auth');
  const b = client.build;
  assert.equal(await sent(() => b.build({ t: ['a', 'b'], rm: true }, Readable.from([Buffer.from('tar')]), { headers: { 'X-Registry-Config': 'e30=' } })), 'POST /v1.47/build?t=a&t=b&rm=1');
  assert.equal(seen.at(-1)!.ct, 'application/x-tar');
  assert.equal(await sent(() => b.prune({ all: true, 'keep-storage': 5 })), 'POST /v1.47/build/prune?all=1&keep-storage=5');
});
