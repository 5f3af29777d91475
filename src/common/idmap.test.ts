import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IdMap, OVERFLOW_ID, parseSubIds, rangesToMap } from './idmap.ts';

test('parseSubIds: the user\'s lines by name or uid, malformed ones skipped', () => {
  const text = 'alice:100000:65536\n# comment\nberthremap:165536:65536\nbad line\n1001:300000:10\nberthremap:x:1\nberthremap:400000:0\n';
  assert.deepEqual(parseSubIds(text, 'berthremap'), [{ start: 165536, count: 65536 }]);
  assert.deepEqual(parseSubIds(text, 'bob', 1001), [{ start: 300000, count: 10 }]);
  assert.deepEqual(parseSubIds(text, 'nobody'), []);
});

test('rangesToMap lays ranges end to end from container ID 0, in host order (Docker\'s createIDMap)', () => {
  assert.deepEqual(rangesToMap([{ start: 500000, count: 10 }, { start: 100000, count: 65536 }]), [
    { containerID: 0, hostID: 100000, size: 65536 },
    { containerID: 65536, hostID: 500000, size: 10 },
  ]);
});

test('IdMap: container to host and back; unmapped host IDs read as 65534; unmapped container IDs refused', () => {
  const m = new IdMap(rangesToMap([{ start: 100000, count: 65536 }, { start: 500000, count: 10 }]), rangesToMap([{ start: 200000, count: 65536 }]));
  assert.deepEqual(m.root, { uid: 100000, gid: 200000 });
  assert.deepEqual(m.toHost(1000, 50), { uid: 101000, gid: 200050 });
  assert.deepEqual(m.toHost(65537, 0), { uid: 500001, gid: 200000 });
  assert.deepEqual(m.toContainer(101000, 200050), { uid: 1000, gid: 50 });
  assert.deepEqual(m.toContainer(0, 0), { uid: OVERFLOW_ID, gid: OVERFLOW_ID });
  assert.throws(() => m.toHost(70000, 0), /Container ID 70000 cannot be mapped to a host ID/);
  assert.throws(() => new IdMap([], []), /at least one/);
});
