import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isEngineError } from '../../common/errors.ts';
import { parseConstraints, nodeMatches, type ConstraintNode } from './constraint.ts';

function parseError(exprs: string[]): string {
  try {
    parseConstraints(exprs);
  } catch (e) {
    assert.ok(isEngineError(e, 'InvalidParameter'), `expected InvalidParameter, got ${String(e)}`);
    return e.message;
  }
  assert.fail(`${JSON.stringify(exprs)} parsed`);
}

test('parse: key, operator and value, spaces around them trimmed', () => {
  assert.deepEqual(parseConstraints(['node.role==manager', ' node.labels.zone != east ']), [
    { key: 'node.role', op: '==', value: 'manager' },
    { key: 'node.labels.zone', op: '!=', value: 'east' },
  ]);
  assert.deepEqual(parseConstraints([]), []);
  // Values may hold the regexp-ish characters swarmkit allows, and spaces inside.
  assert.deepEqual(parseConstraints(['engine.labels.x==a b:c/d*(e)?+[f]\\^$|.g']), [
    { key: 'engine.labels.x', op: '==', value: 'a b:c/d*(e)?+[f]\\^$|.g' },
  ]);
});

test('parse errors carry swarmkit\'s texts', () => {
  assert.equal(parseError(['node.role=manager']), 'constraint expected one operator from ==, !=');
  assert.equal(parseError(['node.role']), 'constraint expected one operator from ==, !=');
  assert.equal(parseError(['node.role<manager']), 'constraint expected one operator from ==, !=');
  assert.equal(parseError(['==manager']), "key '' is invalid");
  assert.equal(parseError(['n==manager']), "key 'n' is invalid"); // a key has at least two characters
  assert.equal(parseError(['1node==x']), "key '1node' is invalid");
  assert.equal(parseError(['node.role!==manager']), "key 'node.role!' is invalid"); // "==" is tried first
  assert.equal(parseError(['node.role==']), "value '' is invalid");
  assert.equal(parseError(['node.role==a=b']), "value 'a=b' is invalid");
  assert.equal(parseError(['node.role==a>b']), "value 'a>b' is invalid");
  assert.equal(parseError(['node.role==a!=b']), "value 'a!=b' is invalid");
  // The first malformed expression decides, after valid ones.
  assert.equal(parseError(['node.role==manager', 'bad']), 'constraint expected one operator from ==, !=');
});

const node: ConstraintNode = {
  id: 'Node1ABC',
  hostname: 'Host-A',
  role: 'manager',
  addr: '10.0.5.7',
  platform: { os: 'linux', architecture: 'x86_64' },
  labels: { zone: 'East', 'Disk': 'ssd' },
  engineLabels: { tier: 'front' },
};

const matches = (...exprs: string[]) => nodeMatches(parseConstraints(exprs), node);

test('match node.id, node.hostname, node.role with == and !=, values case-insensitive', () => {
  assert.ok(matches('node.id==Node1ABC'));
  assert.ok(matches('node.id==node1abc'));
  assert.ok(!matches('node.id!=node1abc'));
  assert.ok(matches('node.id!=other'));
  assert.ok(matches('node.hostname==host-a'));
  assert.ok(!matches('node.hostname==host-b'));
  assert.ok(matches('node.hostname!=host-b'));
  assert.ok(matches('node.role==manager'));
  assert.ok(matches('node.role==MANAGER'));
  assert.ok(!matches('node.role==worker'));
  assert.ok(matches('node.role!=worker'));
  // Keys are recognised case-insensitively too.
  assert.ok(matches('Node.Role==manager'));
});

test('match node.platform.os and node.platform.arch', () => {
  assert.ok(matches('node.platform.os==linux'));
  assert.ok(matches('node.platform.os!=windows'));
  assert.ok(!matches('node.platform.os==windows'));
  assert.ok(matches('node.platform.arch==x86_64'));
  assert.ok(!matches('node.platform.arch!=X86_64'));
  const bare: ConstraintNode = { id: 'n', role: 'worker' };
  assert.ok(!nodeMatches(parseConstraints(['node.platform.os==linux']), bare));
  assert.ok(nodeMatches(parseConstraints(['node.platform.os!=linux']), bare));
});

test('match node labels and engine labels: label names case-sensitive, missing labels read ""', () => {
  assert.ok(matches('node.labels.zone==east'));
  assert.ok(!matches('node.labels.zone==west'));
  assert.ok(matches('node.labels.zone!=west'));
  assert.ok(matches('node.labels.Disk==SSD'));
  assert.ok(!matches('node.labels.disk==ssd')); // label name is case-sensitive
  assert.ok(matches('node.labels.disk!=ssd'));
  assert.ok(matches('NODE.LABELS.zone==east')); // the prefix is not
  assert.ok(!matches('node.labels.missing==x'));
  assert.ok(matches('node.labels.missing!=x'));
  assert.ok(!matches('node.labels.constructor==x'));
  assert.ok(matches('engine.labels.tier==front'));
  assert.ok(!matches('engine.labels.tier==back'));
  assert.ok(matches('engine.labels.tier!=back'));
  assert.ok(!matches('engine.labels.zone==east')); // node labels are not engine labels
  const bare: ConstraintNode = { id: 'n', role: 'worker' };
  assert.ok(!nodeMatches(parseConstraints(['node.labels.zone==east']), bare));
  assert.ok(nodeMatches(parseConstraints(['engine.labels.zone!=east']), bare));
});

test('match node.ip against an address or a subnet', () => {
  assert.ok(matches('node.ip==10.0.5.7'));
  assert.ok(!matches('node.ip!=10.0.5.7'));
  assert.ok(matches('node.ip!=10.0.5.8'));
  assert.ok(matches('node.ip==10.0.0.0/16'));
  assert.ok(!matches('node.ip==10.1.0.0/16'));
  assert.ok(matches('node.ip!=10.1.0.0/16'));
  assert.ok(!matches('node.ip==10.0.0.0/33')); // malformed: no node matches, whatever the operator
  assert.ok(!matches('node.ip!=banana'));
  const v6: ConstraintNode = { id: 'n', role: 'worker', addr: '2001:db8::2' };
  assert.ok(nodeMatches(parseConstraints(['node.ip==2001:0db8:0:0::2']), v6));
  assert.ok(nodeMatches(parseConstraints(['node.ip==2001:db8::/32']), v6));
  assert.ok(!nodeMatches(parseConstraints(['node.ip==10.0.0.0/8']), v6));
});

test('several constraints are ANDed; an unknown key matches no node', () => {
  assert.ok(matches('node.role==manager', 'node.labels.zone==east', 'engine.labels.tier!=back'));
  assert.ok(!matches('node.role==manager', 'node.labels.zone==west'));
  assert.ok(!matches('node.foo==bar'));
  assert.ok(!matches('node.foo!=bar'));
  assert.ok(matches()); // no constraints: every node
});
