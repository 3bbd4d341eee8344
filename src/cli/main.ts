#!/usr/bin/env node
// Entry point. Kept tiny: commands load their heavy modules lazily.
import { run } from './program.js';

run(process.argv).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`pve-passthrough: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
