// The embedded DNS server over real loopback sockets: the server on 127.0.0.1, a fake upstream
// on 127.0.0.1 (another port), and clients bound to 127.0.0.2 / 127.0.0.3 so the server tells
// them apart by source address, as it tells containers apart on a bridge. Nothing leaves lo.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import net from 'node:net';
import { execFile, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import dnsPacket from 'dns-packet';
import { isEngineError } from '../common/errors.ts';
import { EmbeddedDns, parseResolvConfNameservers, LOCAL_TTL, type DnsResolver } from './dns.ts';

const HOST = '127.0.0.1';
const A = '127.0.0.2'; // a container that sees `web`
const B = '127.0.0.3'; // a container on another network: sees nothing local

type Transport = 'udp' | 'tcp';
/** dns-packet's decoded message; its typings lack `rcode`, and OPT in the Answer union hides `data`. */
type Reply = Omit<dnsPacket.DecodedPacket, 'answers'> & { rcode: string; answers?: { type: string; name: string; ttl?: number; data?: unknown }[] };
const decode = (b: Buffer) => dnsPacket.decode(b) as unknown as Reply;

// ------------------------------------------------------------------------------ fake upstream

interface FakeUpstream {
  port: number;
  addr: string;
  /** Queries received, as `<transport> <type> <name>`. */
  seen: string[];
  close(): Promise<void>;
}

/** An upstream on 127.0.0.1 answering every A query with 192.0.2.1 (or `rcode`, or nothing). */
async function fakeUpstream(mode: { silent?: boolean; rcode?: number } = {}): Promise<FakeUpstream> {
  const seen: string[] = [];
  const answer = (raw: Buffer, transport: Transport): Buffer | undefined => {
    const q = dnsPacket.decode(raw);
    seen.push(`${transport} ${q.questions![0].type} ${q.questions![0].name}`);
    if (mode.silent) return undefined;
    return dnsPacket.encode({
      type: 'response', id: q.id, flags: dnsPacket.RECURSION_AVAILABLE | (mode.rcode ?? 0), questions: q.questions,
      answers: mode.rcode || q.questions![0].type !== 'A' ? [] : [{ type: 'A', name: q.questions![0].name, ttl: 30, data: '192.0.2.1' }],
    });
  };
  const conns = new Set<net.Socket>();
  // The kernel picks the UDP port; TCP needs the same one, which another process may hold
  // (tests run beside other work): pick again until both are ours.
  let udp: dgram.Socket;
  let tcp: net.Server;
  let port: number;
  for (let attempt = 0; ; attempt++) {
    udp = dgram.createSocket('udp4');
    await new Promise<void>((res) => udp.bind(0, HOST, () => res()));
    port = udp.address().port;
    tcp = net.createServer((s) => {
      conns.add(s);
      s.on('close', () => conns.delete(s));
      s.on('data', (d) => {
        const a = answer(d.subarray(2, 2 + d.readUInt16BE(0)), 'tcp');
        if (a) { const p = Buffer.alloc(2); p.writeUInt16BE(a.length); s.write(Buffer.concat([p, a])); }
      });
    });
    const t = tcp;
    const ok = await new Promise<boolean>((res) => { t.once('error', () => res(false)); t.listen(port, HOST, () => res(true)); });
    if (ok) break;
    udp.close();
    if (attempt >= 10) throw new Error(`no port free for both UDP and TCP on ${HOST}`);
  }
  const u = udp;
  u.on('message', (m, r) => { const a = answer(m, 'udp'); if (a) u.send(a, r.port, r.address); });
  return {
    port, addr: `${HOST}:${port}`, seen,
    close: async () => {
      for (const c of conns) c.destroy();
      await Promise.all([new Promise<void>((r) => udp.close(() => r())), new Promise<void>((r) => tcp.close(() => r()))]);
    },
  };
}

// ------------------------------------------------------------------------------ client

interface QueryOpts { transport?: Transport; source?: string; timeoutMs?: number; id?: number; edns?: number }

/** One query to 127.0.0.1:port from `source`; undefined when no answer came in time. */
async function ask(port: number, name: string, type: dnsPacket.RecordType, o: QueryOpts = {}): Promise<Reply | undefined> {
  const raw = dnsPacket.encode({
    type: 'query', id: o.id ?? 4242, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type, name, class: 'IN' }],
    additionals: o.edns ? [{ type: 'OPT', name: '.', udpPayloadSize: o.edns, flags: 0 } as dnsPacket.OptAnswer] : [],
  });
  const resp = await (o.transport === 'tcp' ? sendTcp : sendUdp)(port, raw, o.source ?? A, o.timeoutMs ?? 3000);
  return resp && decode(resp);
}

function sendUdp(port: number, raw: Buffer, source: string, timeoutMs: number): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const s = dgram.createSocket('udp4');
    const done = (b?: Buffer) => { clearTimeout(t); s.close(); resolve(b); };
    const t = setTimeout(() => done(), timeoutMs);
    s.on('message', (m) => done(m));
    s.bind(0, source, () => s.send(raw, port, HOST));
  });
}

/** Sends the length-prefixed messages on one connection; resolves to the answers (or, on close
 *  or timeout, those received so far). */
function tcpExchange(port: number, msgs: Buffer[], source: string, timeoutMs: number, rawBytes?: Buffer): Promise<{ answers: Buffer[]; closed: boolean }> {
  return new Promise((resolve) => {
    const answers: Buffer[] = [];
    let buf = Buffer.alloc(0);
    const s = net.connect({ host: HOST, port, localAddress: source });
    const done = (closed: boolean) => { clearTimeout(t); s.destroy(); resolve({ answers, closed }); };
    const t = setTimeout(() => done(false), timeoutMs);
    s.on('connect', () => {
      if (rawBytes) s.write(rawBytes);
      for (const m of msgs) { const p = Buffer.alloc(2); p.writeUInt16BE(m.length); s.write(Buffer.concat([p, m])); }
    });
    s.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        answers.push(buf.subarray(2, 2 + buf.readUInt16BE(0)));
        buf = buf.subarray(2 + buf.readUInt16BE(0));
      }
      if (answers.length === msgs.length && !rawBytes) done(false);
    });
    s.on('error', () => {});
    s.on('close', () => done(true));
  });
}

async function sendTcp(port: number, raw: Buffer, source: string, timeoutMs: number): Promise<Buffer | undefined> {
  return (await tcpExchange(port, [raw], source, timeoutMs)).answers[0];
}

// ------------------------------------------------------------------------------ fixtures

/** A resolver: client A sees web → 10.0.0.7, 10.0.0.8; `noipv4` local without addresses;
 *  `many` with 60 addresses; reverse of 10.0.0.7. Client B sees nothing. Records its calls. */
function resolver(opts: { mayForward?: boolean } = {}): DnsResolver & { calls: string[] } {
  const calls: string[] = [];
  const table: Record<string, string[]> = {
    web: ['10.0.0.7', '10.0.0.8'],
    noipv4: [],
    many: Array.from({ length: 60 }, (_, i) => `10.0.1.${i + 1}`),
  };
  return {
    calls,
    lookup(client, name) {
      calls.push(`lookup ${client} ${name}`);
      return client === A || client === HOST ? table[name] : undefined;
    },
    reverse(client, ip) {
      calls.push(`reverse ${client} ${ip}`);
      return client === A && ip === '10.0.0.7' ? ['web.mynet'] : undefined;
    },
    mayForward: () => opts.mayForward ?? true,
  };
}

const cleanups: (() => Promise<void>)[] = [];
after(async () => { for (const c of cleanups.reverse()) await c(); });

async function server(o: { resolver?: DnsResolver; upstreams?: string[] | (() => string[]); timeoutMs?: number } = {}) {
  const logs: string[] = [];
  const ups = o.upstreams ?? [];
  const dns = new EmbeddedDns({
    resolver: o.resolver ?? resolver(),
    upstreams: typeof ups === 'function' ? ups : () => ups,
    timeoutMs: o.timeoutMs ?? 300,
    log: (m) => logs.push(m),
  });
  const port = await dns.listen(HOST, 0);
  cleanups.push(() => dns.closeAll());
  return { dns, port, logs };
}

const ips = (p?: Reply) => (p?.answers ?? []).map((a) => a.data);

// ------------------------------------------------------------------------------ tests

test('local name: all A records, authoritative, TTL 600, the query ID and RD echoed', async () => {
  const { port } = await server();
  for (const transport of ['udp', 'tcp'] as const) {
    const r = await ask(port, 'web', 'A', { transport, id: 777 });
    assert.ok(r, transport);
    assert.equal(r.id, 777);
    assert.equal(r.rcode, 'NOERROR');
    assert.ok(r.flag_aa && r.flag_qr && r.flag_rd && r.flag_ra);
    assert.deepEqual(ips(r), ['10.0.0.7', '10.0.0.8']);
    assert.ok(r.answers!.every((a) => a.ttl === LOCAL_TTL && a.name === 'web'));
  }
});

test('names are case-insensitive, a trailing dot is ignored, the question case is echoed', async () => {
  const res = resolver();
  const { port } = await server({ resolver: res });
  const r = await ask(port, 'WeB.', 'A');
  assert.deepEqual(ips(r), ['10.0.0.7', '10.0.0.8']);
  assert.equal(r!.questions![0].name, 'WeB');
  assert.equal(r!.answers![0].name, 'WeB');
  assert.ok(res.calls.includes(`lookup ${A} web`));
});

test('AAAA and other types of a local name: NOERROR without records, never forwarded', async () => {
  const up = await fakeUpstream();
  cleanups.push(() => up.close());
  const { port } = await server({ upstreams: [up.addr] });
  for (const type of ['AAAA', 'MX', 'TXT'] as const) {
    const r = await ask(port, 'web', type);
    assert.equal(r?.rcode, 'NOERROR', type);
    assert.equal(r!.answers!.length, 0, type);
  }
  // A local name without IPv4: A is empty too.
  const r = await ask(port, 'noipv4', 'A');
  assert.equal(r?.rcode, 'NOERROR');
  assert.equal(r!.answers!.length, 0);
  assert.deepEqual(up.seen, []);
});

test('AAAA of a local name on an IPv6 network: its IPv6 addresses; ip6.arpa PTR by the resolver', async () => {
  const up = await fakeUpstream();
  cleanups.push(() => up.close());
  const base = resolver();
  const six: DnsResolver = {
    ...base,
    lookup6: (client, name) => (client === A && name === 'web' ? ['fd00:1:2:3::7'] : []),
    reverse: (client, ip) => (client === A && ip === 'fd00:1:2:3::7' ? ['web.six'] : base.reverse!(client, ip)),
  };
  const { port } = await server({ resolver: six, upstreams: [up.addr] });
  for (const transport of ['udp', 'tcp'] as const) {
    const r = await ask(port, 'web', 'AAAA', { transport });
    assert.equal(r?.rcode, 'NOERROR');
    assert.deepEqual(r!.answers!.map((x) => [x.type, x.data, x.ttl]), [['AAAA', 'fd00:1:2:3::7', LOCAL_TTL]]);
  }
  const none = await ask(port, 'noipv4', 'AAAA');
  assert.deepEqual([none?.rcode, none?.answers?.length], ['NOERROR', 0]);
  const ptr = await ask(port, `${'7.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.0.0.d.f'}.ip6.arpa`, 'PTR');
  assert.deepEqual(ips(ptr), ['web.six']);
  assert.deepEqual(ips(await ask(port, 'web', 'A')), ['10.0.0.7', '10.0.0.8']);
  assert.deepEqual(up.seen, []);
});

test('the asker decides: another client gets the name forwarded', async () => {
  const up = await fakeUpstream();
  cleanups.push(() => up.close());
  const { port } = await server({ upstreams: [up.addr] });
  assert.deepEqual(ips(await ask(port, 'web', 'A', { source: A })), ['10.0.0.7', '10.0.0.8']);
  assert.deepEqual(ips(await ask(port, 'web', 'A', { source: B })), ['192.0.2.1']);
  assert.deepEqual(up.seen, ['udp A web']);
});

test('forwarding: UDP over UDP, TCP over TCP, the upstream answer relayed with the query ID', async () => {
  const up = await fakeUpstream();
  cleanups.push(() => up.close());
  const { port } = await server({ upstreams: [up.addr] });
  const u = await ask(port, 'example.com', 'A', { id: 1001 });
  assert.equal(u?.id, 1001);
  assert.deepEqual(ips(u), ['192.0.2.1']);
  assert.equal(u!.answers![0].ttl, 30); // the upstream's bytes, not a local answer
  const t = await ask(port, 'example.org', 'A', { id: 1002, transport: 'tcp' });
  assert.equal(t?.id, 1002);
  assert.deepEqual(ips(t), ['192.0.2.1']);
  assert.deepEqual(up.seen, ['udp A example.com', 'tcp A example.org']);
});

test('an upstream given as bare ip means port 53; unparsable upstreams are skipped with a log', async () => {
  const up = await fakeUpstream();
  cleanups.push(() => up.close());
  const { port, logs } = await server({ upstreams: ['not-an-ip', up.addr] });
  assert.deepEqual(ips(await ask(port, 'example.com', 'A')), ['192.0.2.1']);
  assert.ok(logs.some((l) => l.includes('not-an-ip')));
});

test('a silent upstream times out and the next one answers; all silent → SERVFAIL', async () => {
  const silent = await fakeUpstream({ silent: true });
  const good = await fakeUpstream();
  cleanups.push(() => silent.close(), () => good.close());
  const { port } = await server({ upstreams: [silent.addr, good.addr], timeoutMs: 200 });
  for (const transport of ['udp', 'tcp'] as const) {
    const started = Date.now();
    const r = await ask(port, 'example.com', 'A', { transport });
    assert.deepEqual(ips(r), ['192.0.2.1'], transport);
    assert.ok(Date.now() - started >= 150, 'waited for the first upstream');
  }
  assert.equal(silent.seen.length, 2);

  const s2 = await server({ upstreams: [silent.addr], timeoutMs: 200 });
  const r = await ask(s2.port, 'example.com', 'A', { id: 9 });
  assert.equal(r?.rcode, 'SERVFAIL');
  assert.equal(r!.id, 9);
  assert.equal(r!.questions![0].name, 'example.com');
});

test('no upstreams → SERVFAIL; an upstream that refuses the connection → the next one at once', async () => {
  const { port } = await server({ upstreams: [] });
  assert.equal((await ask(port, 'example.com', 'A'))?.rcode, 'SERVFAIL');
  // A closed port on loopback: ICMP port unreachable (UDP) / RST (TCP), no waiting for the timeout.
  const dead = await fakeUpstream();
  await dead.close();
  const good = await fakeUpstream();
  cleanups.push(() => good.close());
  const s = await server({ upstreams: [dead.addr, good.addr], timeoutMs: 2000 });
  for (const transport of ['udp', 'tcp'] as const) {
    const started = Date.now();
    assert.deepEqual(ips(await ask(s.port, 'example.com', 'A', { transport })), ['192.0.2.1'], transport);
    assert.ok(Date.now() - started < 1000, `${transport}: refused upstream skipped at once`);
  }
});

test('SERVFAIL from an upstream moves on; when no upstream answers well the last answer is relayed', async () => {
  const failing = await fakeUpstream({ rcode: 2 });
  const nx = await fakeUpstream({ rcode: 3 }); // NXDOMAIN, not authoritative
  const good = await fakeUpstream();
  cleanups.push(() => failing.close(), () => nx.close(), () => good.close());
  const s1 = await server({ upstreams: [failing.addr, good.addr] });
  assert.deepEqual(ips(await ask(s1.port, 'example.com', 'A')), ['192.0.2.1']);
  const s2 = await server({ upstreams: [failing.addr, nx.addr] });
  assert.equal((await ask(s2.port, 'example.com', 'A'))?.rcode, 'NXDOMAIN');
  assert.equal(failing.seen.length, 2);
});

test('mayForward=false (--internal): outside names get SERVFAIL, upstreams are never asked', async () => {
  const up = await fakeUpstream();
  cleanups.push(() => up.close());
  const { port } = await server({ resolver: resolver({ mayForward: false }), upstreams: [up.addr] });
  assert.deepEqual(ips(await ask(port, 'web', 'A')), ['10.0.0.7', '10.0.0.8']);
  for (const transport of ['udp', 'tcp'] as const) {
    assert.equal((await ask(port, 'example.com', 'A', { transport }))?.rcode, 'SERVFAIL');
  }
  assert.deepEqual(up.seen, []);
});

test('PTR: in-addr.arpa names go to reverse(); unknown addresses are forwarded', async () => {
  const up = await fakeUpstream();
  cleanups.push(() => up.close());
  const res = resolver();
  const { port } = await server({ resolver: res, upstreams: [up.addr] });
  const r = await ask(port, '7.0.0.10.IN-ADDR.ARPA', 'PTR');
  assert.equal(r?.rcode, 'NOERROR');
  assert.deepEqual(ips(r), ['web.mynet']);
  assert.ok(res.calls.includes(`reverse ${A} 10.0.0.7`));
  assert.equal((await ask(port, '9.0.0.10.in-addr.arpa', 'PTR'))?.rcode, 'NOERROR');
  assert.deepEqual(up.seen, ['udp PTR 9.0.0.10.in-addr.arpa']);
  assert.ok(!res.calls.some((c) => c.includes('lookup') && c.includes('arpa')));
});

test('a long local answer is truncated over UDP (TC set), whole over TCP and with EDNS', async () => {
  const { port } = await server();
  const u = await ask(port, 'many', 'A');
  assert.ok(u?.flag_tc);
  assert.ok(u!.answers!.length > 0 && u!.answers!.length < 60);
  const e = await ask(port, 'many', 'A', { edns: 4096 });
  assert.ok(!e?.flag_tc);
  assert.equal(e!.answers!.length, 60);
  assert.ok(e!.additionals!.some((a) => a.type === 'OPT'));
  const t = await ask(port, 'many', 'A', { transport: 'tcp' });
  assert.ok(!t?.flag_tc);
  assert.equal(t!.answers!.length, 60);
});

test('TCP: several queries on one connection are all answered', async () => {
  const up = await fakeUpstream();
  cleanups.push(() => up.close());
  const { port } = await server({ upstreams: [up.addr] });
  const q = (id: number, name: string) => dnsPacket.encode({ type: 'query', id, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: 'A', name }] });
  const { answers } = await tcpExchange(port, [q(1, 'web'), q(2, 'example.com'), q(3, 'web')], A, 3000);
  const byId = new Map(answers.map((b) => { const p = decode(b); return [p.id, ips(p)]; }));
  assert.deepEqual(byId.get(1), ['10.0.0.7', '10.0.0.8']);
  assert.deepEqual(byId.get(2), ['192.0.2.1']);
  assert.deepEqual(byId.get(3), ['10.0.0.7', '10.0.0.8']);
});

test('malformed packets are dropped (UDP) or end the connection (TCP); the server keeps answering', async () => {
  const { port } = await server();
  assert.equal(await sendUdp(port, Buffer.from('garbage'), A, 300), undefined);
  assert.equal(await sendUdp(port, Buffer.alloc(0), A, 300), undefined);
  // A header promising questions that are not there.
  assert.equal(await sendUdp(port, Buffer.from([0, 1, 1, 0, 0, 5, 0, 0, 0, 0, 0, 0]), A, 300), undefined);
  // A response is never answered (two servers could echo each other forever).
  const resp = dnsPacket.encode({ type: 'response', id: 5, questions: [{ type: 'A', name: 'web' }] });
  assert.equal(await sendUdp(port, resp, A, 300), undefined);
  const tcp = await tcpExchange(port, [], A, 2000, Buffer.from([0, 4, 1, 2, 3, 4]));
  assert.ok(tcp.closed);
  assert.deepEqual(ips(await ask(port, 'web', 'A')), ['10.0.0.7', '10.0.0.8']);
  assert.deepEqual(ips(await ask(port, 'web', 'A', { transport: 'tcp' })), ['10.0.0.7', '10.0.0.8']);
});

test('a throwing resolver or upstream list → SERVFAIL and a log line, never a crash', async () => {
  const { port, logs } = await server({
    resolver: { lookup: () => { throw new Error('boom'); }, mayForward: () => true },
  });
  assert.equal((await ask(port, 'web', 'A'))?.rcode, 'SERVFAIL');
  assert.ok(logs.some((l) => l.includes('boom')));
  const s2 = await server({ upstreams: () => { throw new Error('no resolv.conf'); } });
  assert.equal((await ask(s2.port, 'example.com', 'A', { source: B }))?.rcode, 'SERVFAIL');
});

test('never forwards to itself', async () => {
  let own = '';
  const res = resolver();
  const dns = new EmbeddedDns({ resolver: res, upstreams: () => [own], timeoutMs: 2000 });
  const port = await dns.listen(HOST, 0);
  cleanups.push(() => dns.closeAll());
  own = `${HOST}:${port}`;
  assert.equal((await ask(port, 'example.com', 'A'))?.rcode, 'SERVFAIL');
  // Asked once: the query did not come back to us through the forwarder.
  assert.deepEqual(res.calls, [`lookup ${A} example.com`]);
});

test('listen is idempotent per address; close stops answering; an opcode other than QUERY → NOTIMP', async () => {
  const dns = new EmbeddedDns({ resolver: resolver(), upstreams: () => [] });
  const port = await dns.listen(HOST, 0);
  assert.equal(await dns.listen(HOST, port), port);
  assert.deepEqual(await Promise.all([dns.listen(HOST, port), dns.listen(HOST, port)]), [port, port]);
  assert.deepEqual(dns.addresses(), [`${HOST}:${port}`]);
  const notify = dnsPacket.encode({ type: 'query', id: 3, questions: [{ type: 'SOA', name: 'web' }] });
  notify[2] |= 4 << 3; // opcode NOTIFY
  assert.equal(decode((await sendUdp(port, notify, A, 1000))!).rcode, 'NOTIMP');
  await dns.close(HOST, port);
  await dns.close(HOST, port); // twice is fine
  assert.deepEqual(dns.addresses(), []);
  assert.equal(await ask(port, 'web', 'A', { timeoutMs: 300 }), undefined);
  assert.equal(await ask(port, 'web', 'A', { timeoutMs: 300, transport: 'tcp' }), undefined);
  // A second server can take the address again.
  assert.equal(await dns.listen(HOST, port), port);
  await dns.closeAll();
});

test('closing while a forward is pending ends it without an answer or an error', async () => {
  const silent = await fakeUpstream({ silent: true });
  cleanups.push(() => silent.close());
  const logs: string[] = [];
  const dns = new EmbeddedDns({ resolver: resolver(), upstreams: () => [silent.addr], timeoutMs: 5000, log: (m) => logs.push(m) });
  const port = await dns.listen(HOST, 0);
  const pending = ask(port, 'example.com', 'A', { timeoutMs: 1000 });
  await new Promise((r) => setTimeout(r, 100));
  const started = Date.now();
  await dns.closeAll();
  assert.equal(await pending, undefined);
  assert.ok(Date.now() - started < 1000);
});

test('listening on an address this host does not have fails with the error', async () => {
  const dns = new EmbeddedDns({ resolver: resolver(), upstreams: () => [] });
  // 192.0.2.0/24 is TEST-NET-1: never assigned. Nothing is sent, bind fails locally.
  await assert.rejects(dns.listen('192.0.2.55', 0), (e) => isEngineError(e, 'System') && /192\.0\.2\.55:0: .*EADDRNOTAVAIL/.test(e.message));
  await assert.rejects(dns.listen('nope'), (e) => isEngineError(e, 'InvalidParameter'));
  assert.deepEqual(dns.addresses(), []);
});

test('parseResolvConfNameservers', () => {
  const text = [
    '# generated by NetworkManager',
    'search example.com',
    'nameserver 127.0.0.53',
    'nameserver   10.0.0.1  # office',
    ';nameserver 10.9.9.9',
    'nameserver 2001:db8::1',
    'nameserver fe80::1%eth0',
    'nameserver not-an-ip',
    'nameserver',
    'options edns0 trust-ad',
    '\tnameserver 8.8.8.8\r',
  ].join('\n');
  assert.deepEqual(parseResolvConfNameservers(text), ['127.0.0.53', '10.0.0.1', '2001:db8::1', 'fe80::1%eth0', '8.8.8.8']);
  assert.deepEqual(parseResolvConfNameservers(''), []);
});

// busybox's nslookup (the base image's resolver client) against the server: it asks A and AAAA
// at once, and must get the A record and an empty AAAA without waiting.
test('busybox nslookup resolves a local name and an outside one', async (t) => {
  if (!existsSync('/bin/busybox')) { t.skip('no /bin/busybox'); return; }
  const up = await fakeUpstream();
  cleanups.push(() => up.close());
  const { port } = await server({ upstreams: [up.addr] });
  const nslookup = (name: string) => new Promise<{ status: number | null; out: string }>((resolve) => {
    // Not spawnSync: that would block the event loop the server answers on.
    execFile('/bin/busybox', ['nslookup', name, `${HOST}:${port}`], { timeout: 10_000 },
      (err, stdout, stderr) => resolve({ status: err ? (err as { code?: number }).code ?? 1 : 0, out: stdout + stderr }));
  });
  const probe = spawnSync('/bin/busybox', ['nslookup'], { encoding: 'utf8' });
  if (!/DNS_SERVER/.test(probe.stdout + probe.stderr)) { t.skip('busybox without nslookup'); return; }
  const local = await nslookup('web');
  assert.equal(local.status, 0, local.out);
  assert.match(local.out, /10\.0\.0\.7/);
  assert.match(local.out, /10\.0\.0\.8/);
  const outside = await nslookup('example.com');
  assert.equal(outside.status, 0, outside.out);
  assert.match(outside.out, /192\.0\.2\.1/);
});

test('many concurrent forwards: all answered, no listener-leak warning', async () => {
  const up = await fakeUpstream();
  cleanups.push(() => up.close());
  const { port } = await server({ upstreams: [up.addr] });
  const warnings: string[] = [];
  const onWarning = (w: Error) => warnings.push(w.message);
  process.on('warning', onWarning);
  try {
    const rs = await Promise.all(Array.from({ length: 100 }, (_, i) => ask(port, `n${i}.example.com`, 'A', { id: i })));
    assert.ok(rs.every((r, i) => r?.id === i && ips(r)[0] === '192.0.2.1'));
    await new Promise((r) => setImmediate(r));
  } finally {
    process.off('warning', onWarning);
  }
  assert.deepEqual(warnings, []);
});
