/** See docs/architecture.md, "Streams and exit codes". */
export const EXIT = {
  ok: 0,
  /** Could not plan / check, bad input, any apply failure. */
  error: 1,
  /** plan: changes pending or refusals; verify: drift. */
  changes: 2,
} as const;
