/**
 * Telling hand edits of the files the tool owns apart from its own writes,
 * without any state on the side: every owned file ends with a seal line,
 *   # pve-passthrough-sha256: <sha256 of the rest of the file>
 * A file whose rest no longer hashes to its seal was edited by hand since the
 * tool wrote it. The planner works on the unsealed text (so the renderers
 * compare like with like) and seals what it writes. The seal is a comment for
 * GRUB (sh), modprobe and systemd-modules-load, so it changes nothing there.
 */
import { createHash } from 'node:crypto';
import type { HostFacts, RemoteFile } from '../../facts/host/types.js';
import type { Warning } from '../types.js';
import type { FileStep } from './file-steps.js';
import { OWNED_FILE_PATHS } from '../../facts/host/script.js';

export const SEAL_PREFIX = '# pve-passthrough-sha256: ';

/** intact: the seal matches; edited: it does not (or lines follow it); unsealed: no seal line at all. */
export type SealState = 'intact' | 'edited' | 'unsealed';

const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');

export function sealContent(body: string): string {
  const text = body === '' || body.endsWith('\n') ? body : `${body}\n`;
  return `${text}${SEAL_PREFIX}${sha256(text)}\n`;
}

/** The file without its seal line(s), and whether the seal still matches. */
export function unseal(content: string): { body: string; state: SealState } {
  const lines = content.split('\n');
  const sealAt = lines.map((l, i) => (l.startsWith(SEAL_PREFIX) ? i : -1)).filter((i) => i >= 0);
  if (sealAt.length === 0) return { body: content, state: 'unsealed' };
  const body = lines.filter((_, i) => !sealAt.includes(i)).join('\n');
  const last = sealAt[sealAt.length - 1] as number;
  const recorded = (lines[last] ?? '').slice(SEAL_PREFIX.length).trim();
  const trailing = lines.slice(last + 1).some((l) => l !== '');
  return { body, state: sealAt.length === 1 && !trailing && recorded === sha256(body) ? 'intact' : 'edited' };
}

export interface Unsealed {
  /** The facts with every owned file's seal line taken out. */
  readonly facts: HostFacts;
  readonly states: ReadonlyMap<string, SealState>;
}

export function unsealOwnedFiles(facts: HostFacts): Unsealed {
  const states = new Map<string, SealState>();
  const files: Record<string, RemoteFile> = { ...facts.files };
  for (const path of OWNED_FILE_PATHS) {
    const f = facts.files[path];
    if (!f || f.content === null) continue;
    const u = unseal(f.content);
    states.set(path, u.state);
    files[path] = { ...f, content: u.body };
  }
  return { facts: { ...facts, files }, states };
}

/**
 * Owned-file steps made on unsealed facts, turned back into steps on the real
 * files: `before` is what is on disk, `after` carries the seal. Hand edits the
 * step would overwrite or remove are reported as warnings.
 */
export function sealSteps(steps: readonly FileStep[], raw: HostFacts, states: ReadonlyMap<string, SealState>): { steps: FileStep[]; warnings: Warning[] } {
  const out: FileStep[] = [];
  const warnings: Warning[] = [];
  for (const s of steps) {
    if (!OWNED_FILE_PATHS.includes(s.path)) {
      out.push(s);
      continue;
    }
    const onDisk = raw.files[s.path]?.content ?? null;
    const state = states.get(s.path);
    const verb = s.kind === 'remove-file' ? 'removes' : 'replaces';
    if (onDisk !== null && state === 'edited') {
      warnings.push({ subject: `file ${s.path}`, message: `edited by hand since pve-passthrough wrote it; this run ${verb} it (the current content is kept in the run's backup)` });
    } else if (onDisk !== null && state === 'unsealed') {
      warnings.push({ subject: `file ${s.path}`, message: `has no pve-passthrough seal line, so hand edits cannot be told apart; this run ${verb} it (the current content is kept in the run's backup)` });
    }
    if (s.kind === 'remove-file') {
      out.push(onDisk === null ? s : { ...s, before: onDisk });
      continue;
    }
    const after = sealContent(s.after);
    if (after === onDisk) continue;
    out.push({ ...s, before: onDisk, after });
  }
  return { steps: out, warnings };
}
