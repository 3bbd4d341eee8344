// The inventory fixtures under test/fixtures/inventory, loaded as the CLI loads a file.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { InputError } from '../../src/errors.js';
import { parseInventoryText } from '../../src/inventory/load.js';

const dir = join(import.meta.dirname, '../fixtures/inventory');

export const loadFixture = (name: string) => parseInventoryText(readFileSync(join(dir, name), 'utf8'), join(dir, name));

/** The InputError a fixture is rejected with; throws when it loads. */
export function problemsOf(name: string): InputError {
  try {
    loadFixture(name);
  } catch (e) {
    if (e instanceof InputError) return e;
    throw e;
  }
  throw new Error(`${name} loaded but should not`);
}
