/**
 * FileChange -> write-file / remove-file steps, and the reverse: the files a
 * host would hold after those steps ran (used to compute reboot reasons on
 * the configured state, and by tests to prove idempotency).
 * New files get 0644 root:root; edited files keep their mode and owner.
 */
import type { HostFacts, RemoteFile } from '../../facts/host/types.js';
import type { HostStep } from '../types.js';
import type { FileChange } from './file-change.js';
import { OWNED_MODE } from './paths.js';

export type FileStep = Extract<HostStep, { kind: 'write-file' | 'remove-file' }>;

export function fileSteps(changes: readonly FileChange[], facts: HostFacts): FileStep[] {
  const steps: FileStep[] = [];
  for (const c of changes) {
    const cur = facts.files[c.path];
    const before = cur?.content ?? null;
    if (before === c.after) continue;
    if (c.after === null) {
      if (before !== null) steps.push({ kind: 'remove-file', path: c.path, before, reason: c.reason });
      continue;
    }
    steps.push({
      kind: 'write-file',
      path: c.path,
      before,
      after: c.after,
      mode: cur?.content != null && cur.mode ? cur.mode : OWNED_MODE.mode,
      uid: cur?.content != null && cur.uid !== undefined ? cur.uid : OWNED_MODE.uid,
      gid: cur?.content != null && cur.gid !== undefined ? cur.gid : OWNED_MODE.gid,
      reason: c.reason,
    });
  }
  return steps;
}

export function applyFileSteps(files: Readonly<Record<string, RemoteFile>>, steps: readonly HostStep[]): Record<string, RemoteFile> {
  const out: Record<string, RemoteFile> = { ...files };
  for (const s of steps) {
    if (s.kind === 'write-file') out[s.path] = { path: s.path, content: s.after, mode: s.mode, uid: s.uid, gid: s.gid };
    else if (s.kind === 'remove-file') out[s.path] = { path: s.path, content: null };
  }
  return out;
}
