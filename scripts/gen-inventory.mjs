#!/usr/bin/env node
// Writes inventory.schema.json and docs/inventory.md from the compiled zod schema (run `npm run gen:inventory`).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { inventoryJsonSchema } from '../dist/src/inventory/json-schema.js';
import { renderInventoryDocs } from '../dist/src/inventory/docs.js';

const root = join(import.meta.dirname, '..');
const schema = inventoryJsonSchema();
writeFileSync(join(root, 'inventory.schema.json'), `${JSON.stringify(schema, null, 2)}\n`);
writeFileSync(join(root, 'docs/inventory.md'), renderInventoryDocs(schema));
process.stderr.write('wrote inventory.schema.json and docs/inventory.md\n');
