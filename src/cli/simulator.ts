/**
 * The simulated fleet is its own package, @pve-passthrough/simulator (the
 * repository's mocks/ folder, an npm workspace), so that installing the tool
 * does not install msw and selfsigned. Only `demo` and `sim` load it, here, on
 * demand; the library (src/index.ts) never does.
 */
import { createRequire } from 'node:module';
import { InputError } from '../errors.js';
import { PACKAGE } from './package-json.js';

export const SIMULATOR_PACKAGE = '@pve-passthrough/simulator';

export type Simulator = typeof import('@pve-passthrough/simulator');

const require = createRequire(import.meta.url);

/**
 * The simulator module, or an InputError naming the package and how to install
 * it. Both packages are released together and the simulator's API is internal
 * to them, so its version must be the tool's own.
 */
export async function loadSimulator(command: string): Promise<Simulator> {
  const install = `npm install ${SIMULATOR_PACKAGE}@${PACKAGE.version} beside pve-passthrough (with -g if pve-passthrough is installed with -g)`;
  let version: string;
  try {
    version = (require(`${SIMULATOR_PACKAGE}/package.json`) as { version: string }).version;
  } catch (err) {
    if ((err as { code?: string }).code !== 'MODULE_NOT_FOUND') throw err;
    throw new InputError(`\`${command}\` needs the simulator package ${SIMULATOR_PACKAGE}, which is not installed`, [], {
      fix: `${install}; a clone of the repository has it after npm ci`,
    });
  }
  if (version !== PACKAGE.version) {
    throw new InputError(`\`${command}\` needs ${SIMULATOR_PACKAGE} ${PACKAGE.version} (the tool's own version), but ${version} is installed`, [], { fix: install });
  }
  // A dependency missing inside it (msw, …) is a broken install: that error is reported as it is.
  return await import('@pve-passthrough/simulator');
}
