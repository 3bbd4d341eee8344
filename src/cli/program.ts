import { Command } from 'commander';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const pkg = require('../../../package.json') as { version: string };

/** Builds the command tree; returns the exit code. */
export async function run(argv: readonly string[]): Promise<number> {
  let exitCode = 0;
  const program = new Command('pve-passthrough')
    .description('Put PCI(e) passthrough on Proxmox VE fleets into a declared state, and prove it.')
    .version(pkg.version)
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  try {
    await program.parseAsync(argv as string[]);
  } catch (err) {
    const e = err as { code?: string; exitCode?: number };
    if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return 0;
    if (typeof e.exitCode === 'number') return e.exitCode === 0 ? 0 : 1;
    throw err;
  }
  return exitCode;
}
