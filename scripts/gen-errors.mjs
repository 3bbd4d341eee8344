#!/usr/bin/env node
// Writes docs/errors.md from the compiled error catalogue (run `npm run gen:errors`).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderErrorDocs } from '../dist/src/error-docs.js';

writeFileSync(join(import.meta.dirname, '..', 'docs/errors.md'), renderErrorDocs());
process.stderr.write('wrote docs/errors.md\n');
