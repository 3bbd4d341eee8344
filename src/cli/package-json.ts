/** This package's own package.json: three levels up from dist/src/cli, two from src/cli (tests import the source). */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

export const PACKAGE = ((): { name: string; version: string } => {
  try {
    return require('../../../package.json') as { name: string; version: string };
  } catch {
    return require('../../package.json') as { name: string; version: string };
  }
})();
