/**
 * VFIO modules loaded at boot.
 *
 * Rules:
 * - The modules wanted at boot: vfio, vfio_iommu_type1, vfio_pci, plus
 *   vfio_virqfd only when the NEXT kernel is older than 6.2 (it was folded
 *   into vfio.ko in 6.2).
 * - /etc/modules-load.d/pve-passthrough.conf lists only those that the
 *   operator's own modules-load configuration (every directory systemd reads,
 *   /etc/modules through modules.conf; src/facts/host/modules-load-d.ts) does
 *   not already load. A host set up by hand gets no file; nothing left to
 *   add, or no devices planned: an existing one is removed.
 * - Next kernel >= 6.2: a `vfio_virqfd` line in /etc/modules or any other
 *   modules-load.d/*.conf makes systemd-modules-load fail; that one line is
 *   dropped from that file, everything else kept byte for byte. This is the
 *   only edit made to a file the tool does not own.
 */
import { MODULE_NAME } from '../../patterns.js';
import { normalizeModule } from '../../facts/host/modprobe-d.js';
import { modulesToLoadFrom } from '../../facts/host/modules-load-d.js';
import type { HostFacts } from '../../facts/host/types.js';
import type { Warning } from '../types.js';
import type { FileChange, ModuleResult } from './file-change.js';
import { kernelBelow, VIRQFD_FOLDED } from './kernel-version.js';
import { ETC_MODULES, MANAGED_HEADER, MODULES_LOAD_D, MODULES_LOAD_FILE, UnsafeContentError } from './paths.js';

export const VFIO_MODULES = ['vfio', 'vfio_iommu_type1', 'vfio_pci'] as const;

export function needsVirqfd(facts: HostFacts): boolean {
  return kernelBelow(facts.kernel.next, VIRQFD_FOLDED.major, VIRQFD_FOLDED.minor) === true;
}

export function desiredVfioModules(facts: HostFacts): string[] {
  return needsVirqfd(facts) ? [...VFIO_MODULES, 'vfio_virqfd'] : [...VFIO_MODULES];
}

export function renderModulesLoad(modules: readonly string[]): string {
  for (const m of modules) if (!MODULE_NAME.test(m)) throw new UnsafeContentError('module name', m);
  return `${MANAGED_HEADER}\n${modules.join('\n')}\n`;
}

/** The module a modules-load line names: its first word, unless the line is a comment. */
function moduleOfLine(line: string): string | null {
  const t = line.trim();
  if (t === '' || t.startsWith('#') || t.startsWith(';')) return null;
  return t.split(/\s+/)[0] ?? null;
}

export function planVfioModules(facts: HostFacts, hasDevices: boolean): ModuleResult {
  const changes: FileChange[] = [];
  const warnings: Warning[] = [];
  const current = facts.files[MODULES_LOAD_FILE]?.content ?? null;
  const theirs = new Set(modulesToLoadFrom(facts.files, facts.readsEtcModules ?? true, [MODULES_LOAD_FILE]).value.map((m) => normalizeModule(m.module)));
  const missing = desiredVfioModules(facts).filter((m) => !theirs.has(normalizeModule(m)));
  const after = hasDevices && missing.length ? renderModulesLoad(missing) : null;
  if (current !== after) {
    changes.push({
      path: MODULES_LOAD_FILE,
      after,
      reason: after ? 'load the vfio modules at boot' : hasDevices ? 'the operator\'s modules-load configuration already loads the vfio modules' : 'no devices declared: vfio modules no longer needed',
    });
  }
  if (!needsVirqfd(facts)) {
    const others = Object.keys(facts.files)
      .filter((p) => p === ETC_MODULES || (p.startsWith(MODULES_LOAD_D) && p.endsWith('.conf') && p !== MODULES_LOAD_FILE))
      .sort();
    for (const path of others) {
      const content = facts.files[path]?.content;
      if (content == null) continue;
      const lines = content.split('\n');
      const kept = lines.filter((l) => {
        const m = moduleOfLine(l);
        return m === null || normalizeModule(m) !== 'vfio_virqfd';
      });
      if (kept.length === lines.length) continue;
      changes.push({ path, after: kept.join('\n'), reason: `drop vfio_virqfd: kernel ${facts.kernel.next} has it built into vfio.ko and systemd-modules-load fails on it` });
      warnings.push({ subject: `file ${path}`, message: 'removing a leftover vfio_virqfd line (a backup is kept)' });
    }
  }
  return { changes, refused: [], blocking: [], warnings };
}
