/**
 * The inventory's JSON Schema, generated from the zod schema so editors
 * complete and check the same rules the loader applies. `npm run gen:inventory`
 * writes it to inventory.schema.json; a test keeps the file current.
 */
import { z } from 'zod';
import { Inventory } from './schema.js';

export const INVENTORY_SCHEMA_ID = 'https://github.com/pve-passthrough/pve-passthrough/raw/main/inventory.schema.json';

export function inventoryJsonSchema(): Record<string, unknown> {
  // io "input": what a user writes (defaults make fields optional); refinements and transforms are not representable and are checked by the loader.
  const schema = z.toJSONSchema(Inventory, { io: 'input', unrepresentable: 'any', target: 'draft-2020-12' }) as Record<string, unknown>;
  return { ...schema, title: 'pve-passthrough inventory' };
}
