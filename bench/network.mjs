#!/usr/bin/env node
// bench/network: what berth's networking costs, measured in one run on this machine.
//  1. TCP throughput (MB/s, one download of BENCH_MIB MiB from busybox httpd in a container) and
//     connection rate (sequential HTTP requests, each on a new connection, bounded count), via:
//       - direct: the container's address on berth's bridge (the anchor: no NAT, no proxy);
//       - proxy:  127.0.0.1:<published port> through berthd's userland proxy (Docker's default);
//       - dnat:   127.0.0.1:<published port> through nftables DNAT (berthd --userland-proxy=false).
//     Ratios are against direct.
//  2. Container start with bridge networking vs --network none: median `berth run --rm busybox
//     true` of each, the ratio is the added cost of networking per start.
// Traffic goes only to loopback and to the container's address on the bridge berthd made.
// Usage: node bench/network.mjs [starts]   (root; after `npm run build`; BENCH_MIB, BENCH_CONNS)
import http from 'node:http';
import { startBerthd, median, time } from './lib/daemon.mjs';

const STARTS = Number(process.argv[2] ?? 15);
const MIB = Number(process.env.BENCH_MIB ?? 256);
const CONNS = Number(process.env.BENCH_CONNS ?? 500);

function download(host, port) {
  return new Promise((resolve, reject) => {
    const t = process.hrtime.bigint();
    let n = 0;
    const req = http.get({ host, port, path: '/big', agent: false, timeout: 60_000 }, (r) => {
      r.on('data', (c) => { n += c.length; });
      r.on('end', () => resolve({ bytes: n, ms: Number(process.hrtime.bigint() - t) / 1e6 }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

function small(host, port) {
  return new Promise((resolve, reject) => {
    const req = http.get({ host, port, path: '/small', agent: false, timeout: 5000 }, (r) => { r.resume(); r.on('end', resolve); });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

async function measure(host, port) {
  for (let i = 0; i < 50; i++) { try { await small(host, port); break; } catch { await new Promise((r) => setTimeout(r, 100)); } }
  await download(host, port); // warm-up
  const runs = [];
  for (let i = 0; i < 3; i++) { const d = await download(host, port); runs.push(d.bytes / 1048576 / (d.ms / 1000)); }
  const t = process.hrtime.bigint();
  for (let i = 0; i < CONNS; i++) await small(host, port);
  const connPerSec = CONNS / (Number(process.hrtime.bigint() - t) / 1e9);
  return { mbps: median(runs), connPerSec };
}

const SERVE = ['sh', '-c', `mkdir -p /www && head -c ${MIB}m /dev/zero > /www/big && echo ok > /www/small && exec httpd -f -p 80 -h /www`];

async function throughput(extraArgs, label) {
  const d = await startBerthd(extraArgs);
  try {
    const port = 20000 + Math.floor(Math.random() * 20000);
    const r = d.berth(['run', '-d', '--tmpfs', `/www:size=${MIB + 16}m`, '-p', `127.0.0.1:${port}:80`, 'busybox', ...SERVE]);
    if (r.status !== 0) throw new Error(`server: ${r.stderr}`);
    const id = r.stdout.toString().trim();
    const ip = d.berth(['inspect', '-f', '{{.NetworkSettings.IPAddress}}', id]).stdout.toString().trim();
    const direct = await measure(ip, 80);
    const published = await measure('127.0.0.1', port);
    return { direct, published, label, d };
  } catch (e) { d.stop(); throw e; }
}

const fmt = (x, u) => `${x.toFixed(1).padStart(9)} ${u}`;

const proxy = await throughput([], 'proxy');
const dnat = await throughput(['--userland-proxy=false'], 'dnat');
dnat.d.stop();

// Start cost: bridge vs none (the first daemon).
const d = proxy.d;
for (let i = 0; i < 3; i++) { d.berth(['run', '--rm', 'busybox', 'true']); d.berth(['run', '--rm', '--network', 'none', 'busybox', 'true']); }
const bridgeT = [];
const noneT = [];
for (let i = 0; i < STARTS; i++) {
  bridgeT.push(time(() => d.berth(['run', '--rm', 'busybox', 'true'])));
  noneT.push(time(() => d.berth(['run', '--rm', '--network', 'none', 'busybox', 'true'])));
}
d.stop();

console.log(`bench/network: ${MIB} MiB downloads (median of 3), ${CONNS} sequential connections, ${STARTS} starts`);
console.log('path                                  throughput      ratio     conn rate      ratio');
const row = (name, m, anchor) => console.log(`${name.padEnd(36)}${fmt(m.mbps, 'MB/s')}  ${(m.mbps / anchor.mbps).toFixed(2).padStart(6)}x ${fmt(m.connPerSec, 'c/s')}  ${(m.connPerSec / anchor.connPerSec).toFixed(2).padStart(6)}x`);
row('direct to container IP (anchor)', proxy.direct, proxy.direct);
row('127.0.0.1 published, userland proxy', proxy.published, proxy.direct);
row('127.0.0.1 published, nftables DNAT', dnat.published, dnat.direct);
console.log(`(direct, second daemon: ${dnat.direct.mbps.toFixed(1)} MB/s, ${dnat.direct.connPerSec.toFixed(0)} c/s)`);
const b = median(bridgeT);
const n = median(noneT);
console.log(`start: berth run --rm busybox true, bridge ${b.toFixed(1)} ms vs --network none ${n.toFixed(1)} ms: ${(b / n).toFixed(2)}x (+${(b - n).toFixed(1)} ms per start)`);
