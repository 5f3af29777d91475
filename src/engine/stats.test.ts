import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseBlkioV1, parseIoStatV2, parseKeyValues, parseNetDev, systemCpuNs } from './stats.ts';
import { statsNumbers } from '../cli/commands/stats.ts';

test('cgroup v1 and v2 text parsers', () => {
  assert.deepEqual(parseKeyValues('cache 4096\nrss 57344\ntotal_inactive_file 8192\n'), { cache: 4096, rss: 57344, total_inactive_file: 8192 });
  assert.deepEqual(parseBlkioV1('8:0 Read 4096\n8:0 Write 512\n8:0 Sync 0\nTotal 4608\n'), [
    { major: 8, minor: 0, op: 'read', value: 4096 }, { major: 8, minor: 0, op: 'write', value: 512 }, { major: 8, minor: 0, op: 'sync', value: 0 },
  ]);
  const io = parseIoStatV2('259:0 rbytes=1048576 wbytes=4096 rios=10 wios=1 dbytes=0 dios=0\n');
  assert.deepEqual(io.bytes, [{ major: 259, minor: 0, op: 'read', value: 1048576 }, { major: 259, minor: 0, op: 'write', value: 4096 }]);
  assert.deepEqual(io.ios.map((e) => e.value), [10, 1]);
  const net = parseNetDev('Inter-|   Receive\n face |bytes packets errs drop fifo frame compressed multicast|bytes packets errs drop fifo colls carrier compressed\n    lo:     100       1    0    0    0     0          0         0      100       1    0    0    0     0       0          0\n  eth0:    1186      15    0    2    0     0          0         0      516       6    1    0    0     0       0          0\n');
  assert.deepEqual(Object.keys(net), ['eth0']);
  assert.deepEqual(net.eth0, { rx_bytes: 1186, rx_packets: 15, rx_errors: 0, rx_dropped: 2, tx_bytes: 516, tx_packets: 6, tx_errors: 1, tx_dropped: 0 });
  assert.equal(systemCpuNs('cpu  100 0 50 850 0 0 0 0 0 0\ncpu0 1 2 3\n'), 1000 * 1e7);
});

test("docker-cli's stats numbers: CPU % from the deltas, memory without inactive file cache", () => {
  const n = statsNumbers({
    read: '', name: '/x', id: 'x',
    cpu_stats: { cpu_usage: { total_usage: 2_000_000_000 }, system_cpu_usage: 10_000_000_000, online_cpus: 2 },
    precpu_stats: { cpu_usage: { total_usage: 1_000_000_000 }, system_cpu_usage: 8_000_000_000 },
    memory_stats: { usage: 10_000, limit: 100_000, stats: { total_inactive_file: 2_000 } },
    networks: { eth0: { rx_bytes: 5, tx_bytes: 7 }, eth1: { rx_bytes: 1, tx_bytes: 1 } },
    blkio_stats: { io_service_bytes_recursive: [{ op: 'Read', value: 3 }, { op: 'write', value: 4 }] },
    pids_stats: { current: 3 },
  });
  assert.equal(n.cpu, 100);
  assert.equal(n.mem, 8_000);
  assert.equal(n.memPct, 8);
  assert.deepEqual([n.rx, n.tx, n.blkRead, n.blkWrite, n.pids], [6, 8, 3, 4, 3]);
});
