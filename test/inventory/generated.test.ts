// inventory.schema.json and docs/inventory.md are generated from the zod schema; CI fails when either is stale.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { inventoryJsonSchema } from '../../src/inventory/json-schema.js';
import { renderInventoryDocs } from '../../src/inventory/docs.js';

const root = join(import.meta.dirname, '../..');
const stale = 'stale: run `npm run gen:inventory` and commit the result';

describe('generated inventory schema and reference', () => {
  const schema = inventoryJsonSchema();

  it('inventory.schema.json is current', () => {
    expect(readFileSync(join(root, 'inventory.schema.json'), 'utf8'), stale).toBe(`${JSON.stringify(schema, null, 2)}\n`);
  });

  it('docs/inventory.md is current', () => {
    expect(readFileSync(join(root, 'docs/inventory.md'), 'utf8'), stale).toBe(renderInventoryDocs(schema));
  });

  it('every field of the schema carries a description, so the reference documents it', () => {
    const missing: string[] = [];
    const visit = (s: Record<string, unknown>, path: string): void => {
      for (const [k, p] of Object.entries((s.properties ?? {}) as Record<string, Record<string, unknown>>)) {
        if (typeof p.description !== 'string' || p.description.length < 5) missing.push(`${path}.${k}`);
        visit(p, `${path}.${k}`);
      }
      for (const key of ['items', 'additionalProperties'] as const) if (s[key] && typeof s[key] === 'object') visit(s[key] as Record<string, unknown>, `${path}[]`);
      for (const alt of (s.anyOf ?? []) as Record<string, unknown>[]) visit(alt, path);
    };
    visit(schema, '');
    for (const def of Object.values((schema.$defs ?? {}) as Record<string, Record<string, unknown>>)) visit(def, '$defs');
    expect(missing).toEqual([]);
  });

  it('documents the fields the issue found undocumented', () => {
    const doc = renderInventoryDocs(schema);
    for (const f of ['connectTimeoutSeconds', 'timeoutSeconds', 'shutdownTimeoutSeconds', 'useSshConfig', 'proxyJump', 'rootTicket', 'defaults']) expect(doc).toContain(`\`${f}\``);
  });

  it('inventory.example.json names the schema', () => {
    expect(JSON.parse(readFileSync(join(root, 'inventory.example.json'), 'utf8')).$schema).toBe('./inventory.schema.json');
  });
});
