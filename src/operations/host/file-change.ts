/**
 * A desired file state produced by one of the host modules: the full new
 * content, or null to remove a file the tool owns. plan-host turns these
 * into write-file / remove-file steps by comparing with facts.files.
 */
import type { Refusal, Warning } from '../types.js';

export interface FileChange {
  readonly path: string;
  /** null = the file should not exist (only for files the tool owns). */
  readonly after: string | null;
  readonly reason: string;
}

/** What every host module returns. `blocking` refusals stop the whole node (no steps at all). */
export interface ModuleResult {
  readonly changes: readonly FileChange[];
  readonly refused: readonly Refusal[];
  readonly blocking: readonly Refusal[];
  readonly warnings: readonly Warning[];
}
