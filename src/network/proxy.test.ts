// The userland proxy on loopback only (127.0.0.1 and other 127.x addresses); every wait bounded.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import net from 'node:net';
import { UserlandProxy, ProxyBindError, bindingText, type ProxySpec } from './proxy.ts';

const T = 5000;

function within<V>(p: Promise<V>, what: string, ms = T): Promise<V> {
  let t: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(t)),
    new Promise<V>((_, rej) => { t = setTimeout(() => rej(new Error(`timed out: ${what}`)), ms); }),
  ]);
}

/** A port free on ip right now (bound, read, released). */
async function freePort(proto: 'tcp' | 'udp', ip: string): Promise<number> {
  if (proto === 'tcp') {
    const s = net.createServer();
    await new Promise<void>((r, j) => { s.once('error', j); s.listen(0, ip, () => r()); });
    const port = (s.address() as net.AddressInfo).port;
    await new Promise<void>((r) => s.close(() => r()));
    return port;
  }
  const u = dgram.createSocket('udp4');
  await new Promise<void>((r, j) => { u.once('error', j); u.bind(0, ip, () => r()); });
  const port = u.address().port;
  await new Promise<void>((r) => u.close(() => r()));
  return port;
}

async function listen(server: net.Server, ip: string, port = 0): Promise<number> {
  await new Promise<void>((r, j) => { server.once('error', j); server.listen(port, ip, () => { server.off('error', j); r(); }); });
  return (server.address() as net.AddressInfo).port;
}
const closeServer = (s: net.Server) => new Promise<void>((r) => s.close(() => r()));

/** Echo server: pipes each connection back to itself (half-close passed through). */
async function echoServer(ip = '127.0.0.1'): Promise<{ server: net.Server; port: number; conns: Set<net.Socket> }> {
  const conns = new Set<net.Socket>();
  const server = net.createServer({ allowHalfOpen: true }, (c) => {
    conns.add(c);
    c.on('close', () => conns.delete(c));
    c.on('error', () => {});
    c.pipe(c);
  });
  return { server, port: await listen(server, ip), conns };
}

/** Connects, writes payload, ends, and collects everything until the peer ends. */
function roundTrip(port: number, ip: string, payload: Buffer): Promise<Buffer> {
  return within(new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    const c = net.connect({ host: ip, port, allowHalfOpen: true });
    c.on('error', reject);
    c.on('data', (d: Buffer) => chunks.push(d));
    c.on('end', () => { resolve(Buffer.concat(chunks)); c.end(); });
    c.end(payload);
  }), `round trip to ${ip}:${port}`);
}

function connected(port: number, ip: string): Promise<net.Socket> {
  return within(new Promise<net.Socket>((resolve, reject) => {
    const c = net.connect({ host: ip, port }, () => resolve(c));
    c.once('error', reject);
  }), 'connect');
}

function closedPromise(s: net.Socket): Promise<void> {
  return within(new Promise<void>((r) => { if (s.destroyed) r(); else s.once('close', () => r()); }), 'socket closed');
}

/** True when ip:port can be bound (nothing holds it). */
async function bindable(proto: 'tcp' | 'udp', ip: string, port: number): Promise<boolean> {
  if (proto === 'tcp') {
    const s = net.createServer();
    try { await listen(s, ip, port); } catch { return false; }
    await closeServer(s);
    return true;
  }
  const u = dgram.createSocket('udp4');
  const ok = await new Promise<boolean>((r) => { u.once('error', () => r(false)); u.bind(port, ip, () => r(true)); });
  await new Promise<void>((r) => { try { u.close(() => r()); } catch { r(); } });
  return ok;
}

/** UDP echo server: answers `<msg>@<sender port>`. */
async function udpEcho(ip = '127.0.0.1'): Promise<{ sock: dgram.Socket; port: number; senders: Set<number> }> {
  const sock = dgram.createSocket('udp4');
  const senders = new Set<number>();
  sock.on('message', (m, r) => { senders.add(r.port); sock.send(Buffer.from(`${m}@${r.port}`), r.port, r.address); });
  await new Promise<void>((r) => sock.bind(0, ip, () => r()));
  return { sock, port: sock.address().port, senders };
}

async function udpClient(ip = '127.0.0.1'): Promise<dgram.Socket> {
  const c = dgram.createSocket('udp4');
  await new Promise<void>((r) => c.bind(0, ip, () => r()));
  return c;
}

/** Sends msg until a reply arrives (UDP may drop); bounded. */
function ask(c: dgram.Socket, port: number, ip: string, msg: string, tries = 20): Promise<string> {
  return within(new Promise<string>((resolve, reject) => {
    let n = 0;
    const timer = setInterval(() => {
      if (++n > tries) { clearInterval(timer); c.off('message', on); reject(new Error(`no UDP reply to ${msg}`)); return; }
      c.send(msg, port, ip);
    }, 100);
    const on = (m: Buffer) => { clearInterval(timer); c.off('message', on); resolve(m.toString()); };
    c.on('message', on);
    c.send(msg, port, ip);
  }), `UDP reply to ${msg}`);
}
const closeUdp = (s: dgram.Socket) => new Promise<void>((r) => { try { s.close(() => r()); } catch { r(); } });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

test('TCP: echo through the proxy, a 5 MB payload intact', async () => {
  const echo = await echoServer();
  const proxy = new UserlandProxy();
  const hostPort = await freePort('tcp', '127.0.0.2');
  const spec: ProxySpec = { proto: 'tcp', hostIp: '127.0.0.2', hostPort, targetIp: '127.0.0.1', targetPort: echo.port };
  try {
    await proxy.add(spec);
    assert.equal((await roundTrip(hostPort, '127.0.0.2', Buffer.from('hello'))).toString(), 'hello');
    const big = randomBytes(5 * 1024 * 1024);
    const back = await roundTrip(hostPort, '127.0.0.2', big);
    assert.equal(back.length, big.length);
    assert.equal(sha(back), sha(big));
    // Several at once.
    const outs = await Promise.all([1, 2, 3, 4].map((i) => roundTrip(hostPort, '127.0.0.2', Buffer.alloc(100_000, i))));
    outs.forEach((o, i) => assert.ok(o.equals(Buffer.alloc(100_000, i + 1))));
  } finally {
    await proxy.closeAll();
    await closeServer(echo.server);
  }
});

test('TCP half-close: the client ends its side, the server still replies', async () => {
  const server = net.createServer({ allowHalfOpen: true }, (c) => {
    let n = 0;
    c.on('error', () => {});
    c.on('data', (d: Buffer) => { n += d.length; });
    c.on('end', () => { setTimeout(() => c.end(`got ${n} bytes`), 50); });
  });
  const targetPort = await listen(server, '127.0.0.1');
  const proxy = new UserlandProxy();
  const hostPort = await freePort('tcp', '127.0.0.1');
  try {
    await proxy.add({ proto: 'tcp', hostIp: '127.0.0.1', hostPort, targetIp: '127.0.0.1', targetPort });
    assert.equal((await roundTrip(hostPort, '127.0.0.1', Buffer.from('0123456789'))).toString(), 'got 10 bytes');
    // The server ends first; the client may still send and the server reads it.
    const got: string[] = [];
    const s2 = net.createServer({ allowHalfOpen: true }, (c) => {
      c.on('error', () => {});
      c.end('bye');
      c.on('data', (d: Buffer) => got.push(d.toString()));
    });
    const p2 = await listen(s2, '127.0.0.1');
    const h2 = await freePort('tcp', '127.0.0.1');
    await proxy.add({ proto: 'tcp', hostIp: '127.0.0.1', hostPort: h2, targetIp: '127.0.0.1', targetPort: p2 });
    const c = net.connect({ host: '127.0.0.1', port: h2, allowHalfOpen: true });
    c.on('error', () => {});
    await within(new Promise<void>((r) => { c.on('data', () => {}); c.once('end', () => r()); }), 'server end seen');
    c.end('late');
    await within((async () => { while (got.join('') !== 'late') await sleep(10); })(), 'late data after server FIN');
    await closedPromise(c);
    await closeServer(s2);
  } finally {
    await proxy.closeAll();
    await closeServer(server);
  }
});

test('UDP: two clients each get their own replies, through their own flows', async () => {
  const echo = await udpEcho();
  const proxy = new UserlandProxy();
  const hostPort = await freePort('udp', '127.0.0.3');
  const a = await udpClient();
  const b = await udpClient('127.0.0.4');
  try {
    await proxy.add({ proto: 'udp', hostIp: '127.0.0.3', hostPort, targetIp: '127.0.0.1', targetPort: echo.port });
    const [ra, rb] = await Promise.all([ask(a, hostPort, '127.0.0.3', 'from-a'), ask(b, hostPort, '127.0.0.3', 'from-b')]);
    assert.match(ra, /^from-a@\d+$/);
    assert.match(rb, /^from-b@\d+$/);
    assert.notEqual(ra.split('@')[1], rb.split('@')[1], 'one upstream socket per client');
    // The same client keeps its flow.
    const again = await ask(a, hostPort, '127.0.0.3', 'a2');
    assert.equal(again.split('@')[1], ra.split('@')[1]);
    // Datagrams sent back to back before the flow connects are not lost (queued).
    const c = await udpClient();
    const seen: string[] = [];
    c.on('message', (m) => seen.push(m.toString().split('@')[0]));
    for (const m of ['q1', 'q2', 'q3']) c.send(m, hostPort, '127.0.0.3');
    await within((async () => { while (seen.length < 3) await sleep(10); })(), 'queued datagrams answered');
    assert.deepEqual(seen.sort(), ['q1', 'q2', 'q3']);
    await closeUdp(c);
  } finally {
    await proxy.closeAll();
    await Promise.all([closeUdp(a), closeUdp(b), closeUdp(echo.sock)]);
  }
});

test('UDP: idle flows close after udpIdleMs; at most udpMaxFlows, least recently used evicted', async () => {
  const echo = await udpEcho();
  const proxy = new UserlandProxy({ udpIdleMs: 150, udpMaxFlows: 2 });
  const hostPort = await freePort('udp', '127.0.0.1');
  const cs = await Promise.all([udpClient(), udpClient(), udpClient()]);
  const port = (s: string) => s.split('@')[1];
  try {
    await proxy.add({ proto: 'udp', hostIp: '127.0.0.1', hostPort, targetIp: '127.0.0.1', targetPort: echo.port });
    const first = port(await ask(cs[0], hostPort, '127.0.0.1', 'x'));
    assert.equal(port(await ask(cs[0], hostPort, '127.0.0.1', 'x')), first, 'flow kept while active');
    await sleep(400);
    assert.notEqual(port(await ask(cs[0], hostPort, '127.0.0.1', 'x')), first, 'idle flow closed, a new one opened');

    const p0 = port(await ask(cs[0], hostPort, '127.0.0.1', 'y'));
    const p1 = port(await ask(cs[1], hostPort, '127.0.0.1', 'y'));
    assert.equal(port(await ask(cs[0], hostPort, '127.0.0.1', 'y')), p0); // cs[1] now least recent
    await ask(cs[2], hostPort, '127.0.0.1', 'y'); // third flow: cs[1]'s goes
    assert.equal(port(await ask(cs[0], hostPort, '127.0.0.1', 'y')), p0);
    assert.notEqual(port(await ask(cs[1], hostPort, '127.0.0.1', 'y')), p1, 'evicted flow reopened');
  } finally {
    await proxy.closeAll();
    await Promise.all([...cs.map(closeUdp), closeUdp(echo.sock)]);
  }
});

test('bind conflict: Docker 28\'s error, nothing kept listening, the port free again later', async () => {
  const holder = net.createServer();
  const hostPort = await listen(holder, '127.0.0.5');
  const proxy = new UserlandProxy();
  const spec: ProxySpec = { proto: 'tcp', hostIp: '127.0.0.5', hostPort, targetIp: '172.17.0.2', targetPort: 80 };
  try {
    await assert.rejects(proxy.add(spec), (e: unknown) => {
      assert.ok(e instanceof ProxyBindError);
      assert.equal(e.code, 'EADDRINUSE');
      assert.equal(e.message, `failed to bind host port for 127.0.0.5:${hostPort}:172.17.0.2:80/tcp: address already in use`);
      return true;
    });
    assert.deepEqual(proxy.list(), []);
    await closeServer(holder);
    assert.ok(await bindable('tcp', '127.0.0.5', hostPort), 'the failed proxy holds nothing');
    await proxy.add(spec); // and works once the port is free
    assert.equal(proxy.list().length, 1);
    assert.equal(await bindable('tcp', '127.0.0.5', hostPort), false, 'the proxy holds the port');

    // UDP alike.
    const u = await udpClient('127.0.0.5');
    const uport = u.address().port;
    const uspec: ProxySpec = { proto: 'udp', hostIp: '127.0.0.5', hostPort: uport, targetIp: '172.17.0.2', targetPort: 53 };
    await assert.rejects(proxy.add(uspec), { message: `failed to bind host port for 127.0.0.5:${uport}:172.17.0.2:53/udp: address already in use` });
    assert.equal(proxy.list().length, 1);
    await closeUdp(u);
    assert.ok(await bindable('udp', '127.0.0.5', uport));
  } finally {
    await proxy.closeAll();
    if (holder.listening) await closeServer(holder);
  }
  // IPv6 addresses go in brackets, '' is 0.0.0.0 (libnetwork's PortBinding.String()).
  assert.equal(bindingText({ proto: 'udp', hostIp: '', hostPort: 53, targetIp: 'fd00::2', targetPort: 53 }), '0.0.0.0:53:[fd00::2]:53/udp');
});

test('add is idempotent (sequential and concurrent); another target on a held port conflicts', async () => {
  const echo = await echoServer();
  const proxy = new UserlandProxy();
  const hostPort = await freePort('tcp', '127.0.0.6');
  const spec: ProxySpec = { proto: 'tcp', hostIp: '127.0.0.6', hostPort, targetIp: '127.0.0.1', targetPort: echo.port };
  try {
    await Promise.all([proxy.add(spec), proxy.add({ ...spec })]);
    await proxy.add(spec);
    assert.deepEqual(proxy.list(), [spec]);
    assert.equal((await roundTrip(hostPort, '127.0.0.6', Buffer.from('once'))).toString(), 'once');
    await assert.rejects(proxy.add({ ...spec, targetPort: echo.port + 1 }), /failed to bind host port for 127\.0\.0\.6:\d+:127\.0\.0\.1:\d+\/tcp: address already in use/);
    assert.equal(proxy.list().length, 1);
    // list() hands out copies.
    proxy.list()[0].hostPort = 1;
    assert.equal(proxy.list()[0].hostPort, hostPort);
  } finally {
    await proxy.closeAll();
    await closeServer(echo.server);
  }
});

test('remove closes live connections and frees the port; removing twice is fine', async () => {
  const echo = await echoServer();
  const proxy = new UserlandProxy();
  const hostPort = await freePort('tcp', '127.0.0.7');
  const spec: ProxySpec = { proto: 'tcp', hostIp: '127.0.0.7', hostPort, targetIp: '127.0.0.1', targetPort: echo.port };
  try {
    await proxy.add(spec);
    const c = await connected(hostPort, '127.0.0.7');
    c.on('error', () => {});
    const reply = within(new Promise<string>((r) => c.once('data', (d: Buffer) => r(d.toString()))), 'echo');
    c.write('ping');
    assert.equal(await reply, 'ping');
    assert.equal(echo.conns.size, 1);
    const closed = closedPromise(c);
    await within(proxy.remove(spec), 'remove');
    await closed;
    await within((async () => { while (echo.conns.size) await sleep(10); })(), 'upstream connection closed');
    assert.deepEqual(proxy.list(), []);
    assert.ok(await bindable('tcp', '127.0.0.7', hostPort), 're-bindable after remove');
    await proxy.remove(spec);
    await proxy.remove({ ...spec, proto: 'udp' });

    // UDP: remove frees the port too.
    const uecho = await udpEcho();
    const uport = await freePort('udp', '127.0.0.7');
    const uspec: ProxySpec = { proto: 'udp', hostIp: '127.0.0.7', hostPort: uport, targetIp: '127.0.0.1', targetPort: uecho.port };
    await proxy.add(uspec);
    const u = await udpClient();
    assert.match(await ask(u, uport, '127.0.0.7', 'hi'), /^hi@/);
    await proxy.remove(uspec);
    assert.ok(await bindable('udp', '127.0.0.7', uport));
    await Promise.all([closeUdp(u), closeUdp(uecho.sock)]);
  } finally {
    await proxy.closeAll();
    await closeServer(echo.server);
  }
});

test('target down: the client connection is closed, the proxy lives on', async () => {
  const logs: string[] = [];
  const proxy = new UserlandProxy({ log: (m) => logs.push(m) });
  const deadPort = await freePort('tcp', '127.0.0.1');
  const hostPort = await freePort('tcp', '127.0.0.8');
  const spec: ProxySpec = { proto: 'tcp', hostIp: '127.0.0.8', hostPort, targetIp: '127.0.0.1', targetPort: deadPort };
  const udead = await freePort('udp', '127.0.0.1');
  const uport = await freePort('udp', '127.0.0.8');
  const uspec: ProxySpec = { proto: 'udp', hostIp: '127.0.0.8', hostPort: uport, targetIp: '127.0.0.1', targetPort: udead };
  try {
    await proxy.add(spec);
    await proxy.add(uspec);
    for (let i = 0; i < 3; i++) {
      const c = net.connect({ host: '127.0.0.8', port: hostPort });
      c.on('error', () => {});
      c.write('anyone?');
      await closedPromise(c);
    }
    assert.ok(logs.some((l) => l.includes('connection refused') || l.includes('ECONNREFUSED')), logs.join('\n'));
    // UDP to nobody: datagrams vanish (ICMP unreachable closes the flow), nothing throws.
    const u = await udpClient();
    for (let i = 0; i < 5; i++) { u.send('void', uport, '127.0.0.8'); await sleep(20); }
    await closeUdp(u);
    // The target comes up: the same proxy now forwards.
    const server = net.createServer((c) => { c.on('error', () => {}); c.end('up'); });
    await listen(server, '127.0.0.1', deadPort);
    assert.equal((await roundTrip(hostPort, '127.0.0.8', Buffer.alloc(0))).toString(), 'up');
    await closeServer(server);
  } finally {
    await proxy.closeAll();
  }
});

test('closeAll stops everything and frees every port', async () => {
  const echo = await echoServer();
  const uecho = await udpEcho();
  const proxy = new UserlandProxy();
  const tport = await freePort('tcp', '127.0.0.9');
  const uport = await freePort('udp', '127.0.0.9');
  await proxy.add({ proto: 'tcp', hostIp: '127.0.0.9', hostPort: tport, targetIp: '127.0.0.1', targetPort: echo.port });
  await proxy.add({ proto: 'udp', hostIp: '127.0.0.9', hostPort: uport, targetIp: '127.0.0.1', targetPort: uecho.port });
  assert.equal(proxy.list().length, 2);
  const c = await connected(tport, '127.0.0.9');
  c.on('error', () => {});
  const u = await udpClient();
  assert.match(await ask(u, uport, '127.0.0.9', 'z'), /^z@/);
  const closed = closedPromise(c);
  await within(proxy.closeAll(), 'closeAll');
  await closed;
  assert.deepEqual(proxy.list(), []);
  assert.ok(await bindable('tcp', '127.0.0.9', tport));
  assert.ok(await bindable('udp', '127.0.0.9', uport));
  await proxy.closeAll(); // again: nothing to do
  await Promise.all([closeUdp(u), closeUdp(uecho.sock), closeServer(echo.server)]);
});
