// The exec router against a fake backend (src/api/inject.ts): create, inspect, resize, and start
// detached or streamed (stdcopy frames unless the start asks for a TTY).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { conflict, notFound } from '../../../common/errors.ts';
import { demux } from '../../../common/stdcopy.ts';
import type { ExecCreateOptions, ExecRecord, ExecStart } from '../../../engine/exec.ts';
import { injector } from '../../inject.ts';
import type { ExecBackend } from './backend.ts';
import { execRoutes } from './routes.ts';

const created: ExecCreateOptions[] = [];
const resized: number[][] = [];
const rec = (id: string): ExecRecord => ({
  id, containerId: 'c'.repeat(64), entrypoint: 'echo', args: ['hi'], tty: false, privileged: false, user: '',
  openStdin: false, openStdout: true, openStderr: true, detachKeys: Buffer.from([16, 17]), running: false, exitCode: null, pid: 0, canRemove: false,
} as ExecRecord);
const started = new Set<string>();

const backend: ExecBackend = {
  create: async (ref, o) => { if (ref !== 'web') throw notFound(`No such container: ${ref}`); created.push(o); return { Id: 'e'.repeat(64) }; },
  inspect: (id) => { if (!id.startsWith('e')) throw notFound(`No such exec instance: ${id}`); return rec(id); },
  begin: (id): ExecStart => {
    if (!id.startsWith('e')) throw notFound(`No such exec instance: ${id}`);
    if (started.has(id)) throw conflict(`Exec command ${id} has already run`);
    started.add(id);
    return {
      tty: false,
      cancel: () => {},
      run: async (io) => {
        // The process writes one line to each stream and exits.
        setImmediate(() => { io?.onOutput(1, Buffer.from('hi\n')); io?.onOutput(2, Buffer.from('oops\n')); io?.onEnd(); });
        return { writeStdin: () => {}, closeStdin: () => {}, detach: () => {} };
      },
    };
  },
  resize: async (id, h, w) => { resized.push([h, w]); },
};

const api = await injector(execRoutes(backend));
after(() => api.close());

test('POST /containers/{id}/exec: 201 with the ID; ConsoleSize only from API 1.42; 400 without a command; 404 unknown container', async () => {
  let r = await api.request('POST', '/v1.47/containers/web/exec', { body: { Cmd: ['echo', 'hi'], ConsoleSize: [10, 20] } });
  assert.equal(r.status, 201);
  assert.deepEqual(r.json(), { Id: 'e'.repeat(64) });
  r = await api.request('POST', '/v1.41/containers/web/exec', { body: { Cmd: ['echo', 'hi'], ConsoleSize: [10, 20] } });
  assert.equal(r.status, 201);
  assert.deepEqual(created.map((c) => c.ConsoleSize), [[10, 20], null]);
  r = await api.request('POST', '/containers/web/exec', { body: { Cmd: [] } });
  assert.equal(r.status, 400);
  assert.deepEqual(r.json(), { message: 'No exec command specified' });
  assert.equal((await api.request('POST', '/containers/nope/exec', { body: { Cmd: ['true'] } })).status, 404);
});

test('GET /exec/{id}/json: Docker\'s field order, DetachKeys as base64; 404 unknown', async () => {
  const r = await api.request('GET', `/exec/${'e'.repeat(64)}/json`);
  assert.equal(r.status, 200);
  assert.deepEqual(Object.keys(r.json()), ['ID', 'Running', 'ExitCode', 'ProcessConfig', 'OpenStdin', 'OpenStderr', 'OpenStdout', 'CanRemove', 'ContainerID', 'DetachKeys', 'Pid']);
  assert.equal(r.json().DetachKeys, Buffer.from([16, 17]).toString('base64'));
  assert.equal((await api.request('GET', '/exec/nope/json')).status, 404);
});

test('POST /exec/{id}/resize: 200; a bad size is 400', async () => {
  assert.equal((await api.request('POST', '/exec/e1/resize?h=24&w=80')).status, 200);
  assert.deepEqual(resized, [[24, 80]]);
  assert.equal((await api.request('POST', '/exec/e1/resize?h=-1&w=80')).status, 400);
  assert.equal((await api.request('POST', '/exec/e1/resize?h=x')).status, 400);
});

test('POST /exec/{id}/start: detached 200; attached (no upgrade) stdcopy frames; a second start 409; unknown 404', async () => {
  let r = await api.request('POST', '/exec/e-detached/start', { body: { Detach: true } });
  assert.equal(r.status, 200);
  r = await api.request('POST', '/exec/e-attached/start', { body: { Detach: false, Tty: false } });
  assert.equal(r.status, 200);
  assert.equal(r.headers['content-type'], 'application/vnd.docker.raw-stream');
  assert.deepEqual([...r.body.subarray(0, 8)], [1, 0, 0, 0, 0, 0, 0, 3]);
  assert.deepEqual(demux(r.body).map((f) => [f.stream, f.payload.toString()]), [[1, 'hi\n'], [2, 'oops\n']]);
  // A TTY start: raw bytes, and stderr of a process without a terminal dropped.
  r = await api.request('POST', '/exec/e-tty/start', { body: { Tty: true } });
  assert.equal(r.body.toString(), 'hi\n');
  r = await api.request('POST', '/exec/e-attached/start', { body: {} });
  assert.equal(r.status, 409);
  assert.equal((await api.request('POST', '/exec/nope/start', { body: {} })).status, 404);
  assert.equal((await api.request('POST', '/exec/e-x/start', { body: [] })).status, 400);
});
