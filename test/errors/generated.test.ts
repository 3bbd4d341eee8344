// docs/errors.md is generated from the error catalogue; CI fails when it is stale.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderErrorDocs } from '../../src/error-docs.js';
import { ERROR_CATALOGUE } from '../../src/error-codes.js';

const root = join(import.meta.dirname, '../..');

describe('generated error reference', () => {
  it('docs/errors.md is current', () => {
    expect(readFileSync(join(root, 'docs/errors.md'), 'utf8'), 'stale: run `npm run gen:errors` and commit the result').toBe(renderErrorDocs());
  });

  it('lists every code once, with its meaning and fix', () => {
    const doc = renderErrorDocs();
    for (const [code, info] of Object.entries(ERROR_CATALOGUE)) {
      expect(doc.split(`| \`${code}\` |`).length - 1, code).toBe(1);
      expect(doc).toContain(info.meaning.replace(/\|/g, '\\|'));
      expect(doc).toContain(info.fix.replace(/\|/g, '\\|'));
    }
  });
});
