// `berth registry serve` and `gc` as actions: a YAML config plus flags, a request, SIGTERM, and gc's report.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Ctx } from '../context.ts';
import { serve, gc } from './registry.ts';
import { call, digestOf } from '../../registry/server/testing.ts';

function fakeCtx() {
  const out: string[] = [];
  const err: string[] = [];
  const ctx = { out: (s: string) => out.push(s), err: (s: string) => err.push(s) } as unknown as Ctx;
  return { ctx, out, err };
}

test('serve: config file + flags, logs one line per request, stops on SIGTERM; gc reports', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-registry-cli-'));
  try {
    writeFileSync(join(dir, 'registry.yaml'), `addr: 127.0.0.1:5999\nroot: ${join(dir, 'ignored')}\n`);
    const { ctx, err } = fakeCtx();
    const running = serve(ctx, [], { config: join(dir, 'registry.yaml'), addr: '127.0.0.1:0', root: join(dir, 'data') });
    let url = '';
    for (let i = 0; i < 100 && !url; i++) {
      await new Promise((r) => setTimeout(r, 20));
      url = /listening on (\S+)/.exec(err.join(''))?.[1] ?? '';
    }
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.match(err.join(''), new RegExp(`root ${join(dir, 'data')}`));
    const blob = Buffer.from('orphan');
    const r = await call(url, 'POST', `/v2/x/blobs/uploads/?digest=${digestOf(blob)}`, { body: blob });
    assert.equal(r.status, 201);
    assert.match(err.join(''), /"POST \/v2\/x\/blobs\/uploads\/\?digest=sha256:[0-9a-f]+" 201/);
    process.emit('SIGTERM');
    assert.equal(await running, 0);

    const g = fakeCtx();
    assert.equal(await gc(g.ctx, [], { root: join(dir, 'data'), dryRun: true }), 0);
    assert.match(g.out.join(''), /would remove blob sha256:/);
    assert.match(g.out.join(''), /1 blobs eligible for deletion \(6 bytes\)/);
    const g2 = fakeCtx();
    await gc(g2.ctx, [], { root: join(dir, 'data') });
    assert.match(g2.out.join(''), /1 blobs removed/);
    await assert.rejects(gc(fakeCtx().ctx, [], { root: join(dir, 'nope') }), /no such registry root/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
