// Test helper for rendered nftables files (nft.ts's ruleset, vip.ts's tables): the rules of one
// chain, trimmed, without blank lines and comments. Asserts that the chain exists.
import assert from 'node:assert/strict';

export function chain(text: string, name: string): string[] {
  const all = text.split('\n');
  const i = all.findIndex((l) => l.trim() === `chain ${name} {`);
  assert.ok(i >= 0, `chain ${name} missing`);
  const out: string[] = [];
  for (let j = i + 1; all[j].trim() !== '}'; j++) if (all[j].trim() && !all[j].trim().startsWith('#')) out.push(all[j].trim());
  return out;
}
