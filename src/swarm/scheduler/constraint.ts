// Placement constraints, as swarmkit's manager/constraint package reads them: a service's
// `Placement.Constraints` is a list of "key op value" strings, all of which must hold (AND).
//
//   parseConstraints(['node.role==manager', 'node.labels.zone != east'])
//     → [{ key: 'node.role', op: '==', value: 'manager' }, { key: 'node.labels.zone', op: '!=', value: 'east' }]
//   parseConstraints(['node.role=manager'])   → throws "constraint expected one operator from ==, !="
//
// Matching (nodeMatches) is swarmkit's NodeMatches: the value is compared with the node's property
// case-insensitively (Go's strings.EqualFold), keys are recognised case-insensitively, but the label
// name after `node.labels.` / `engine.labels.` is case-sensitive. A property the node does not have
// reads as "" (so `==` fails and `!=` holds). An unknown key parses but never matches any node.
// `node.ip` compares with the node's address: a single IP, or a CIDR subnet; a malformed address
// never matches.
import { BlockList, isIP } from 'node:net';
import { invalid } from '../../common/errors.ts';

export type ConstraintOp = '==' | '!=';

export interface Constraint {
  key: string;
  op: ConstraintOp;
  value: string;
}

/** The node properties constraints (and spread preferences) look at. */
export interface ConstraintNode {
  id: string;
  hostname?: string;
  /** 'manager' | 'worker'; swarmkit compares with the enum name (MANAGER/WORKER), case-insensitively. */
  role: string;
  /** The node's address as the cluster sees it, for `node.ip`. */
  addr?: string;
  platform?: { os?: string; architecture?: string };
  /** Node labels (the node spec's, set with `docker node update --label-add`). */
  labels?: Record<string, string>;
  /** Engine labels (the daemon's `--label`s, reported in the node description). */
  engineLabels?: Record<string, string>;
}

export const NODE_LABEL_PREFIX = 'node.labels.';
export const ENGINE_LABEL_PREFIX = 'engine.labels.';

// swarmkit's patterns. The operators are tried in this order, so "a!==b" splits on "==" and its
// key "a!" is refused. Go's `\s` is ASCII whitespace only, hence the explicit class below.
const OPERATORS: ConstraintOp[] = ['==', '!='];
const KEY_PATTERN = /^[a-z_][a-z0-9\-_.]+$/i;
const VALUE_PATTERN = /^[a-z0-9:\-_\t\n\f\r .*()?+[\]\\^$|/]+$/i;

/**
 * Parses constraint expressions, throwing an InvalidParameter error with swarmkit's text for the
 * first malformed one ("constraint expected one operator from ==, !=", "key 'x' is invalid",
 * "value 'y' is invalid").
 */
export function parseConstraints(exprs: readonly string[]): Constraint[] {
  const out: Constraint[] = [];
  for (const e of exprs) {
    const op = OPERATORS.find((o) => e.includes(o));
    if (!op) throw invalid(`constraint expected one operator from ${OPERATORS.join(', ')}`);
    const at = e.indexOf(op);
    const key = e.slice(0, at).trim();
    if (!KEY_PATTERN.test(key)) throw invalid(`key '${key}' is invalid`);
    const value = e.slice(at + op.length).trim();
    if (!VALUE_PATTERN.test(value)) throw invalid(`value '${value}' is invalid`);
    out.push({ key, op, value });
  }
  return out;
}

/** Go's strings.EqualFold, close enough: case-insensitive without locale rules. */
function equalFold(a: string, b: string): boolean {
  return a === b || a.toLowerCase() === b.toLowerCase();
}

function hasPrefixFold(key: string, prefix: string): boolean {
  return key.length > prefix.length && equalFold(key.slice(0, prefix.length), prefix);
}

function matchValue(c: Constraint, what: string): boolean {
  const m = equalFold(c.value, what);
  return c.op === '==' ? m : !m;
}

/** An IP's family and text, IPv4-mapped IPv6 read as IPv4 (Go's IP.Equal treats them as one). */
function parseIP(s: string): { family: 'ipv4' | 'ipv6'; text: string } | undefined {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(s);
  const text = mapped ? mapped[1] : s;
  const v = isIP(text);
  return v === 0 ? undefined : { family: v === 4 ? 'ipv4' : 'ipv6', text };
}

// `node.ip==<ip>` or `node.ip!=<cidr>`. BlockList does the address arithmetic (it normalises IPv6
// spellings and tests subnet membership) so nothing here hand-parses addresses.
function matchIP(c: Constraint, nodeAddr: string): boolean {
  const want = c.op === '==';
  const node = parseIP(nodeAddr);
  const ip = parseIP(c.value);
  if (ip) {
    const bl = new BlockList();
    bl.addAddress(ip.text, ip.family);
    const eq = node !== undefined && node.family === ip.family && bl.check(node.text, node.family);
    return eq === want;
  }
  const slash = c.value.lastIndexOf('/');
  const net = slash > 0 ? parseIP(c.value.slice(0, slash)) : undefined;
  const bitsText = c.value.slice(slash + 1);
  const bits = /^\d{1,3}$/.test(bitsText) ? Number(bitsText) : -1;
  if (net && bits >= 0 && bits <= (net.family === 'ipv4' ? 32 : 128)) {
    const bl = new BlockList();
    bl.addSubnet(net.text, bits, net.family);
    const within = node !== undefined && node.family === net.family && bl.check(node.text, node.family);
    return within === want;
  }
  return false; // malformed address or network: swarmkit rejects the node
}

/** True when the node satisfies every constraint (swarmkit's constraint.NodeMatches). */
export function nodeMatches(constraints: readonly Constraint[], n: ConstraintNode): boolean {
  for (const c of constraints) {
    const k = c.key;
    let ok: boolean;
    if (equalFold(k, 'node.id')) ok = matchValue(c, n.id);
    else if (equalFold(k, 'node.hostname')) ok = matchValue(c, n.hostname ?? '');
    else if (equalFold(k, 'node.ip')) ok = matchIP(c, n.addr ?? '');
    else if (equalFold(k, 'node.role')) ok = matchValue(c, n.role.toUpperCase());
    else if (equalFold(k, 'node.platform.os')) ok = matchValue(c, n.platform?.os ?? '');
    else if (equalFold(k, 'node.platform.arch')) ok = matchValue(c, n.platform?.architecture ?? '');
    else if (hasPrefixFold(k, NODE_LABEL_PREFIX)) ok = matchValue(c, labelValue(n.labels, k.slice(NODE_LABEL_PREFIX.length)));
    else if (hasPrefixFold(k, ENGINE_LABEL_PREFIX)) ok = matchValue(c, labelValue(n.engineLabels, k.slice(ENGINE_LABEL_PREFIX.length)));
    else ok = false; // a key outside the syntax matches no node
    if (!ok) return false;
  }
  return true;
}

/** A label's value, "" when absent (own properties only, so "constructor" is not a label). */
export function labelValue(labels: Record<string, string> | undefined, name: string): string {
  return labels && Object.prototype.hasOwnProperty.call(labels, name) ? labels[name] : '';
}
