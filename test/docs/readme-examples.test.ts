// Every inventory example in README.md (fenced json, jsonc or yaml blocks holding an inventory) loads as written.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseInventoryText } from '../../src/inventory/load.js';

const readme = readFileSync(join(import.meta.dirname, '../../README.md'), 'utf8');
const blocks = [...readme.matchAll(/^```(json|jsonc|yaml)\n([\s\S]*?)^```$/gm)]
  .map((m, i) => ({ lang: m[1]!, text: m[2]!, i }))
  .filter((b) => /"?version"?\s*:\s*1/.test(b.text) && /clusters/.test(b.text));

describe('README inventory examples', () => {
  it('the README has a JSON-with-comments and a YAML example', () => {
    expect(blocks.map((b) => b.lang).sort()).toEqual(['jsonc', 'yaml']);
  });

  it.each(blocks.map((b) => [`${b.lang} example #${b.i}`, b] as const))('%s loads', (_, b) => {
    const inv = parseInventoryText(b.text, `/tmp/README-example.${b.lang === 'yaml' ? 'yaml' : 'json'}`);
    expect(inv.clusters.length).toBeGreaterThan(0);
    for (const n of inv.clusters.flatMap((c) => c.nodes)) expect(n.ssh.host).toBeTruthy();
  });
});
