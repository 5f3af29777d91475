import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderList } from '../format/formatter.ts';
import { PS_HEADERS, PS_TABLE, combinedStatus, eventLine, imagesTable, psRow, rfc3339Nano, stacksOf, topTable } from './compose-read.ts';
import type { ContainerSummary } from '../../compose/runtime/api.ts';

const NOW = Date.UTC(2026, 0, 2, 3, 4, 5);
const labels = (service: string, n: string, extra: Record<string, string> = {}) => ({
  'com.docker.compose.project': 'shop', 'com.docker.compose.service': service, 'com.docker.compose.container-number': n,
  'com.docker.compose.project.config_files': '/srv/shop/compose.yaml', ...extra,
});
const web: ContainerSummary = {
  Id: 'a'.repeat(64), Names: ['/shop-web-1'], Image: 'nginx:1.27', Command: "nginx -g 'daemon off;'", Created: NOW / 1000 - 65,
  Ports: [{ IP: '0.0.0.0', PrivatePort: 80, PublicPort: 8080, Type: 'tcp' }, { PrivatePort: 443, Type: 'tcp' }],
  Labels: labels('web', '1'), State: 'running', Status: 'Up About a minute',
};
const db: ContainerSummary = {
  Id: 'b'.repeat(64), Names: ['/shop-db-1'], Image: 'postgres', Command: 'docker-entrypoint.sh postgres', Created: NOW / 1000 - 3600 * 3,
  Ports: [], Labels: labels('db', '1'), State: 'exited', Status: 'Exited (1) 2 hours ago',
  Mounts: [{ Type: 'volume', Name: 'shop_data', Source: '', Destination: '/data', RW: true, Driver: 'local' }], NetworkSettings: { Networks: { shop_default: {} } },
};

test('ps: compose\'s default table, quoted and cut COMMAND, CREATED as an age, PORTS as docker shows them', () => {
  const rows = [psRow({ summary: db, health: '', exitCode: 1 }, true, NOW), psRow({ summary: web, health: 'healthy', exitCode: 0 }, true, NOW)];
  assert.equal(renderList('table', PS_TABLE, rows, PS_HEADERS),
    'NAME         IMAGE        COMMAND                  SERVICE   CREATED              STATUS                   PORTS\n' +
    'shop-db-1    postgres     "docker-entrypoint.s…"   db        3 hours ago          Exited (1) 2 hours ago   \n' +
    'shop-web-1   nginx:1.27   "nginx -g \'daemon of…"   web       About a minute ago   Up About a minute        443/tcp, 0.0.0.0:8080->80/tcp\n');
  assert.equal(renderList('{{.Name}} {{.Service}} {{.ExitCode}} {{.Label "com.docker.compose.container-number"}}', PS_TABLE, rows, PS_HEADERS), 'shop-db-1 db 1 1\nshop-web-1 web 0 1\n');
});

test('ps --format json: every field of compose\'s ContainerContext, Go\'s key order and escaping', () => {
  const line = renderList('json', PS_TABLE, [psRow({ summary: web, health: 'healthy', exitCode: 0 }, true, NOW)], PS_HEADERS);
  const o = JSON.parse(line);
  assert.deepEqual(Object.keys(o), ['Command', 'CreatedAt', 'ExitCode', 'Health', 'ID', 'Image', 'Labels', 'LocalVolumes', 'Mounts', 'Name', 'Names', 'Networks', 'Ports', 'Project', 'Publishers', 'RunningFor', 'Service', 'Size', 'State', 'Status']);
  assert.equal(o.ID, 'a'.repeat(12));
  assert.equal(o.Health, 'healthy');
  assert.equal(o.Project, 'shop');
  assert.deepEqual(o.Publishers, [{ URL: '0.0.0.0', TargetPort: 80, PublishedPort: 8080, Protocol: 'tcp' }, { URL: '', TargetPort: 443, PublishedPort: 0, Protocol: 'tcp' }]);
  assert.ok(line.includes('"Ports":"443/tcp, 0.0.0.0:8080-\\u003e80/tcp"'), 'Go escapes > in JSON');
  const full = JSON.parse(renderList('json', PS_TABLE, [psRow({ summary: db, health: '', exitCode: 1 }, false, NOW)], PS_HEADERS));
  assert.equal(full.ID, 'b'.repeat(64));
  assert.equal(full.Command, '"docker-entrypoint.sh postgres"');
  assert.equal(full.LocalVolumes, '1');
  assert.equal(full.Networks, 'shop_default');
});

test('ls: a project per label value, states counted and sorted, config files merged', () => {
  const other = { ...web, Id: 'c'.repeat(64), Labels: labels('web', '2', { 'com.docker.compose.project.config_files': '/srv/shop/compose.yaml,/srv/shop/compose.override.yaml' }) };
  const x = { ...db, Labels: { ...labels('x', '1'), 'com.docker.compose.project': 'alpha' } };
  assert.deepEqual(stacksOf([web, db, other, x]), [
    { Name: 'alpha', Status: 'exited(1)', ConfigFiles: '/srv/shop/compose.yaml' },
    { Name: 'shop', Status: 'exited(1), running(2)', ConfigFiles: '/srv/shop/compose.yaml,/srv/shop/compose.override.yaml' },
  ]);
  assert.equal(combinedStatus(['running', 'paused', 'running']), 'paused(1), running(2)');
  const warned: string[] = [];
  const noLabel = { ...web, Labels: { 'com.docker.compose.project': 'p' } };
  assert.deepEqual(stacksOf([noLabel], (m) => warned.push(m)), [{ Name: 'p', Status: 'running(1)', ConfigFiles: 'N/A' }]);
  assert.equal(warned.length, 1);
});

test('top: SERVICE and # first, the ps titles as met, CMD moved last, missing cells as -', () => {
  const out = topTable([
    { name: 'shop-web-1', service: 'web', replica: '1', titles: ['UID', 'PID', 'CMD', 'TTY'], processes: [['root', '10', 'nginx', '?']] },
    { name: 'shop-db-1', service: 'db', replica: '1', titles: ['UID', 'PID', 'CMD'], processes: [['999', '20', 'postgres'], ['999', '21', 'postgres: writer']] },
  ]);
  assert.equal(out,
    'SERVICE  #   UID   PID  TTY  CMD\n' +
    'db       1   999   20   -    postgres\n' +
    'db       1   999   21   -    postgres: writer\n' +
    'web      1   root  10   ?    nginx\n');
  assert.equal(topTable([]), '');
});

test('images: by container, <none> for an untagged image, size and age as compose shows them', () => {
  const out = imagesTable([
    { container: 'shop-web-1', id: `sha256:${'1'.repeat(64)}`, repository: 'nginx', tag: '1.27', platform: 'linux/amd64', size: 1_983_000, lastTagTime: new Date(NOW - 2 * 86400_000).toISOString(), created: '' },
    { container: 'shop-a-1', id: `sha256:${'2'.repeat(64)}`, repository: '', tag: '', platform: 'linux/amd64', size: 10, lastTagTime: '0001-01-01T00:00:00Z', created: '' },
  ], NOW);
  assert.equal(out,
    'CONTAINER           REPOSITORY          TAG                 PLATFORM            IMAGE ID            SIZE                CREATED\n' +
    'shop-a-1            <none>              <none>              linux/amd64         222222222222        10B                 292 years ago\n' +
    'shop-web-1          nginx               1.27                linux/amd64         111111111111        1.98MB              2 days ago\n');
});

test('events: compose\'s text line (a blank line after it) and its --json object', () => {
  const e = { timeNano: 1_767_323_045_123_456_789n, service: 'web', id: 'abc', action: 'start', attributes: { name: 'shop-web-1', image: 'nginx' } };
  const tz = process.env.TZ;
  process.env.TZ = 'UTC';
  try {
    assert.equal(rfc3339Nano(e.timeNano), '2026-01-02T03:04:05.123456789Z');
    assert.equal(rfc3339Nano(1_767_323_045_000_000_000n), '2026-01-02T03:04:05Z');
    assert.equal(eventLine(e, false), '2026-01-02 03:04:05.123456 container start abc (image=nginx, name=shop-web-1)\n\n');
    assert.equal(eventLine(e, true), '{"action":"start","attributes":{"image":"nginx","name":"shop-web-1"},"id":"abc","service":"web","time":"2026-01-02T03:04:05.123456789Z","type":"container"}\n');
  } finally {
    if (tz === undefined) delete process.env.TZ; else process.env.TZ = tz;
  }
});
