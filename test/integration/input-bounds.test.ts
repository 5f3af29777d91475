// Untrusted input must not make berthd's memory grow with its size, nor hang a build: PAX
// headers in an imported layer, a container's huge log, and ADD <url> downloads. Each test
// replays the attack against a real berthd and reads the daemon's peak RSS from /proc.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { spawn } from 'node:child_process';
import { closeSync, existsSync, fstatSync, openSync, readdirSync, readFileSync, readSync, statSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { startDaemon, hasDocker, type Daemon } from './harness.ts';
import { build, contextDir } from './build-util.ts';

const MiB = 1024 * 1024;
/** The daemon's ADD <url> bounds in this file: a cap above the 1 GiB download, a short idle timeout. */
const CAP = 1100 * MiB;
const IDLE_S = 2;

let d: Daemon;
before(async () => {
  d = await startDaemon({ extraArgs: ['--builder-add-url-max-size', `${CAP / MiB}MiB`, '--builder-add-url-idle-timeout', `${IDLE_S}s`] });
});
after(async () => { await d?.stop(); });

/** berthd's resident memory now and its peak since the last resetPeak, bytes. */
function mem(): { rss: number; hwm: number } {
  const status = readFileSync(`/proc/${d.proc.pid}/status`, 'utf8');
  const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(status)![1]) * 1024;
  return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
}
/** Resets berthd's peak RSS (VmHWM) to its current RSS (proc(5): clear_refs "5"). */
function resetPeak(): number {
  writeFileSync(`/proc/${d.proc.pid}/clear_refs`, '5');
  return mem().rss;
}
const mb = (n: number) => `${(n / MiB).toFixed(0)} MiB`;

// ------------------------------------------------------------------------------------ tar

/** A ustar header block. */
function tarHeader(name: string, flag: string, size: number): Buffer {
  const b = Buffer.alloc(512);
  const oct = (off: number, len: number, v: number) => b.write(v.toString(8).padStart(len - 1, '0'), off, len - 1, 'latin1');
  b.write(name, 0, 100, 'latin1');
  oct(100, 8, 0o644);
  oct(108, 8, 0);
  oct(116, 8, 0);
  oct(124, 12, size);
  oct(136, 12, 1_700_000_000);
  b.write(flag, 156, 1, 'latin1');
  b.write('ustar\u000000', 257, 8, 'latin1');
  b.fill(0x20, 148, 156);
  let sum = 0;
  for (const c of b) sum += c;
  b.write(`${sum.toString(8).padStart(6, '0')}\u0000 `, 148, 8, 'latin1');
  return b;
}
const pad512 = (n: number) => Buffer.alloc((512 - (n % 512)) % 512);

/** One PAX record "<len> <key>=<value>\n" of exactly `size` bytes. */
function paxRecordOfSize(key: string, size: number): Buffer {
  const fixed = ` ${key}=\n`.length + String(size).length;
  return Buffer.concat([Buffer.from(`${size} ${key}=`), Buffer.alloc(size - fixed, 'a'), Buffer.from('\n')]);
}

test('import: 300 PAX headers of 1 MiB - 1 KiB before one entry replace each other (as in Go); berthd memory stays flat', async (t) => {
  // Each header has a key of its own, so headers merged into one map would hold all 300 MiB.
  // Sent gzip'd (one member per header: 300 MiB of PAX data is ~1 MB on the wire).
  const members: Buffer[] = [];
  for (let i = 0; i < 300; i++) {
    const rec = paxRecordOfSize(`berth.test.${i}`, MiB - 1024);
    members.push(gzipSync(Buffer.concat([tarHeader(`PaxHeaders/${i}`, 'x', rec.length), rec, pad512(rec.length)]), { level: 1 }));
  }
  members.push(gzipSync(Buffer.concat([tarHeader('hello', '0', 2), Buffer.from('hi'), pad512(2), Buffer.alloc(1024)])));
  const body = Buffer.concat(members);
  const base = resetPeak();
  const r = await d.api('POST', '/images/create?fromSrc=-&repo=paxbomb&tag=1', body, { 'Content-Type': 'application/x-tar' });
  const peak = mem().hwm;
  assert.equal(r.status, 200, r.body.toString());
  assert.doesNotMatch(r.body.toString(), /error/i);
  // The entry after the headers was unpacked: the image holds its 2 bytes.
  const img = (await d.api('GET', '/images/paxbomb:1/json')).json();
  assert.equal(img.Size, 2);
  t.diagnostic(`berthd peak growth importing 300 MiB of PAX headers: ${mb(peak - base)}`);
  assert.ok(peak - base < 120 * MiB, `berthd grew by ${mb(peak - base)} importing 300 MiB of PAX headers`);

  // One header over 1 MiB is refused, as Go's archive/tar refuses it, and nothing is imported.
  const rec = paxRecordOfSize('comment', MiB + 1);
  const over = gzipSync(Buffer.concat([tarHeader('PaxHeaders/big', 'x', rec.length), rec, pad512(rec.length), tarHeader('f', '0', 0), Buffer.alloc(1024)]));
  const refused = await d.api('POST', '/images/create?fromSrc=-&repo=paxbomb&tag=2', over, { 'Content-Type': 'application/x-tar' });
  assert.match(refused.body.toString(), /header field too long/);
  assert.equal((await d.api('GET', '/images/paxbomb:2/json')).status, 404);
  await d.api('DELETE', '/images/paxbomb:1');
});

// ----------------------------------------------------------------------------------- logs

/** GET a stream and count its bytes without keeping them; returns the count and the last bytes. */
function drain(path: string): Promise<{ status: number; bytes: number; last: Buffer }> {
  return new Promise((res, rej) => {
    const req = http.request({ socketPath: d.sock, path, agent: false }, (r) => {
      let bytes = 0;
      let last = Buffer.alloc(0);
      r.on('data', (c: Buffer) => { bytes += c.length; last = Buffer.concat([last, c]).subarray(-4096); });
      r.on('end', () => res({ status: r.statusCode ?? 0, bytes, last }));
      r.on('error', rej);
    });
    req.on('error', rej);
    req.end();
  });
}

test('logs of a 600 MB log: --tail 1 is fast through the API, berth and docker; a full read streams; berthd memory stays flat', async (t) => {
  // 150000 lines of 4000 x's (600 MB of output), then a marker: a real container, through conmon.
  const LINES = 150_000;
  const LEN = 4000;
  const id = (await d.api('POST', '/containers/create', {
    Image: 'busybox',
    Cmd: ['sh', '-c', `yes "$(head -c ${LEN} /dev/zero | tr '\\0' x)" | head -n ${LINES}; echo last-line-marker`],
  })).json().Id;
  try {
    await d.api('POST', `/containers/${id}/start`);
    await d.api('POST', `/containers/${id}/wait`);
    const logPath = (await d.api('GET', `/containers/${id}/json`)).json().LogPath as string;
    // conmon may still be writing the last of the pipe's backlog when the exit is reported.
    const lastBytes = () => {
      const fd = openSync(logPath, 'r');
      try {
        const b = Buffer.alloc(32);
        return b.subarray(0, readSync(fd, b, 0, 32, Math.max(0, fstatSync(fd).size - 32))).toString();
      } finally { closeSync(fd); }
    };
    for (let i = 0; i < 100 && !lastBytes().endsWith(' F last-line-marker\n'); i++) await new Promise((r) => setTimeout(r, 100));
    assert.ok(statSync(logPath).size > 600e6, `log is ${statSync(logPath).size} bytes`);

    const base = resetPeak();
    let t0 = Date.now();
    const tail = await d.api('GET', `/containers/${id}/logs?stdout=1&stderr=1&tail=1`);
    const tailMs = Date.now() - t0;
    // One stdcopy frame: stdout, the marker.
    assert.deepEqual(tail.body, Buffer.concat([Buffer.from([1, 0, 0, 0, 0, 0, 0, 17]), Buffer.from('last-line-marker\n')]));
    assert.ok(tailMs < 3000, `logs --tail 1 took ${tailMs} ms`);
    const ts = await d.api('GET', `/containers/${id}/logs?stdout=1&tail=1&timestamps=1`);
    assert.match(ts.body.subarray(8).toString(), /^\d{4}-\d\d-\d\dT[\d:.]+Z last-line-marker\n$/);
    for (const [name, cli] of [['berth', d.berth], ['docker', d.docker]] as const) {
      if (name === 'docker' && !hasDocker) continue;
      t0 = Date.now();
      const r = cli(['logs', '--tail', '1', id]);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout, 'last-line-marker\n', name);
      assert.ok(Date.now() - t0 < 5000, `${name} logs --tail 1 took ${Date.now() - t0} ms`);
    }
    const tailPeak = mem().hwm;
    t.diagnostic(`logs --tail 1: ${tailMs} ms; berthd peak growth over the tail reads: ${mb(tailPeak - base)}`);
    assert.ok(tailPeak - base < 50 * MiB, `berthd grew by ${mb(tailPeak - base)} for logs --tail 1`);

    // The whole log, streamed: every line arrives, the daemon holds a chunk at a time.
    resetPeak();
    t0 = Date.now();
    const all = await drain(`/containers/${id}/logs?stdout=1`);
    const allMs = Date.now() - t0;
    const allPeak = mem().hwm;
    t.diagnostic(`full log stream: ${allMs} ms for ${mb(all.bytes)}; berthd peak growth: ${mb(allPeak - base)}`);
    assert.equal(all.status, 200);
    assert.ok(all.last.toString('latin1').endsWith('last-line-marker\n'));
    // Payload: every line and its newline, plus an 8-byte frame header per record (conmon
    // splits long lines into several records, so count them from the total).
    const payload = LINES * (LEN + 1) + 'last-line-marker\n'.length;
    assert.equal((all.bytes - payload) % 8, 0);
    assert.ok(all.bytes > payload && all.bytes < payload + LINES * 8 * 4, `${all.bytes} bytes for ${payload} of payload`);
    assert.ok(allPeak - base < 100 * MiB, `berthd grew by ${mb(allPeak - base)} streaming a 600 MB log (${allMs} ms)`);
  } finally {
    await d.api('DELETE', `/containers/${id}?force=1`);
  }
});

// ------------------------------------------------------------------------------ ADD <url>

interface Server { port: number; close: () => Promise<void> }

/**
 * The test's HTTP server, on 127.0.0.1 only, in a child process: the berth and docker CLIs run
 * through spawnSync, which blocks this process (a server in it could not answer them).
 *   /big.bin       1 GiB generated on the fly, with Content-Length and Last-Modified
 *   /stall.bin     headers and 64 KiB of a 10 MiB body, then nothing (the socket stays open)
 *   /declared.bin  a Content-Length of 2 GiB (a few bytes sent)
 *   /endless.bin   no Content-Length; 1 MiB chunks until the client goes away (at most 2 GiB)
 * It exits when its stdin closes (this process ending, even killed, ends it too).
 */
const SERVER = `
const http = require('node:http');
const MiB = 1024 * 1024;
const chunk = Buffer.alloc(MiB, 'z');
const pump = async (res, total) => {
  for (let sent = 0; sent < total && !res.destroyed;) {
    const n = Math.min(chunk.length, total - sent);
    sent += n;
    if (!res.write(n === chunk.length ? chunk : chunk.subarray(0, n))) {
      await new Promise((r) => { res.once('drain', r); res.once('close', r); });
    }
  }
  res.end();
};
const srv = http.createServer((req, res) => {
  if (req.url === '/big.bin') {
    res.writeHead(200, { 'Content-Length': String(1024 * MiB), 'Last-Modified': 'Wed, 21 Oct 2015 07:28:00 GMT' });
    pump(res, 1024 * MiB);
  } else if (req.url === '/stall.bin') {
    res.writeHead(200, { 'Content-Length': String(10 * MiB) });
    res.write(chunk.subarray(0, 64 * 1024));
  } else if (req.url === '/declared.bin') {
    res.writeHead(200, { 'Content-Length': String(2048 * MiB) });
    res.write('abc');
  } else if (req.url === '/endless.bin') {
    res.writeHead(200);
    pump(res, 2048 * MiB);
  } else {
    res.writeHead(404);
    res.end();
  }
});
srv.listen(0, '127.0.0.1', () => process.stdout.write(srv.address().port + '\\n'));
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
`;

async function serve(): Promise<Server> {
  const child = spawn(process.execPath, ['-e', SERVER], { stdio: ['pipe', 'pipe', 'inherit'] });
  const port = await new Promise<number>((res, rej) => {
    child.stdout!.once('data', (b: Buffer) => res(Number(b.toString().trim())));
    child.once('exit', (code) => rej(new Error(`test server exited with ${code}`)));
  });
  return {
    port,
    close: async () => {
      child.stdin!.end();
      if (child.exitCode === null) await new Promise((r) => child.once('exit', r));
    },
  };
}

/** Nothing of a finished build stays in the daemon's build scratch space (a partial download included). */
function assertNoBuildLeftovers(): void {
  const dir = `${d.dataRoot}/build-tmp`;
  assert.deepEqual(existsSync(dir) ? readdirSync(dir) : [], []);
}

test('ADD <url>: a 1 GiB download streams to disk; berthd memory stays flat; Last-Modified is its mtime', async (t) => {
  const s = await serve();
  try {
    const base = resetPeak();
    const r = await build(d, { Dockerfile: `FROM busybox\nADD http://127.0.0.1:${s.port}/big.bin /data/\n` }, { t: 'addbig:1' });
    const peak = mem().hwm;
    t.diagnostic(`berthd peak growth for a 1 GiB ADD: ${mb(peak - base)}`);
    assert.equal(r.error, undefined, r.output);
    assert.ok(peak - base < 150 * MiB, `berthd grew by ${mb(peak - base)} for a 1 GiB ADD`);
    const out = d.berth(['run', '--rm', 'addbig:1', 'stat', '-c', '%s %Y %a', '/data/big.bin']);
    assert.equal(out.stdout, `${1024 * MiB} ${Date.parse('Wed, 21 Oct 2015 07:28:00 GMT') / 1000} 600\n`, out.stderr);
    assertNoBuildLeftovers();
  } finally {
    await s.close();
    await d.api('DELETE', '/images/addbig:1');
  }
});

test('ADD <url>: a server that stalls mid-body fails the build after the idle timeout (API, berth, docker)', async () => {
  const s = await serve();
  try {
    const dockerfile = `FROM busybox\nADD http://127.0.0.1:${s.port}/stall.bin /stall.bin\n`;
    const want = new RegExp(`ADD failed: failed to GET http://127\\.0\\.0\\.1:${s.port}/stall\\.bin: no data received for ${IDLE_S}s`);
    let t = Date.now();
    const r = await build(d, { Dockerfile: dockerfile });
    assert.match(r.error ?? '', want);
    assert.ok(Date.now() - t < 15_000, `failed after ${Date.now() - t} ms`);
    assertNoBuildLeftovers();
    const dir = contextDir({ Dockerfile: dockerfile });
    for (const [name, cli] of [['berth', d.berth], ['docker', d.docker]] as const) {
      if (name === 'docker' && !hasDocker) continue;
      t = Date.now();
      const c = cli(['build', dir], { env: { DOCKER_BUILDKIT: '0' } });
      assert.notEqual(c.status, 0, name);
      assert.match(c.stdout + c.stderr, want, name);
      assert.ok(Date.now() - t < 15_000, `${name}: failed after ${Date.now() - t} ms`);
    }
    assertNoBuildLeftovers();
  } finally {
    await s.close();
  }
});

test('ADD <url>: a body above the daemon cap is refused with a clear error and leaves no file behind (API, berth, docker)', async (t) => {
  const s = await serve();
  try {
    // Declared too big: refused before reading.
    const declared = `FROM busybox\nADD http://127.0.0.1:${s.port}/declared.bin /x\n`;
    const byLength = /ADD failed: failed to GET http:\/\/127\.0\.0\.1:\d+\/declared\.bin: its Content-Length \(2147483648 bytes\) exceeds the limit of 1\.074GiB set by the daemon's builder-add-url-max-size/;
    const r1 = await build(d, { Dockerfile: declared });
    assert.match(r1.error ?? '', byLength);
    const dir = contextDir({ Dockerfile: declared });
    for (const [name, cli] of [['berth', d.berth], ['docker', d.docker]] as const) {
      if (name === 'docker' && !hasDocker) continue;
      const c = cli(['build', dir], { env: { DOCKER_BUILDKIT: '0' } });
      assert.notEqual(c.status, 0, name);
      assert.match(c.stdout + c.stderr, byLength, name);
    }
    // No length, and more bytes than the cap: cut at the cap, the partial file deleted.
    const base = resetPeak();
    const r2 = await build(d, { Dockerfile: `FROM busybox\nADD http://127.0.0.1:${s.port}/endless.bin /x\n` });
    assert.match(r2.error ?? '', /ADD failed: failed to GET http:\/\/127\.0\.0\.1:\d+\/endless\.bin: the download exceeds the limit of 1\.074GiB set by the daemon's builder-add-url-max-size/);
    t.diagnostic(`berthd peak growth for a download cut at the cap: ${mb(mem().hwm - base)}`);
    assert.ok(mem().hwm - base < 150 * MiB, `berthd grew by ${mb(mem().hwm - base)}`);
    assertNoBuildLeftovers();
  } finally {
    await s.close();
  }
});
