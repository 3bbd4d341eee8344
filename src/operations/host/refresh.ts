/**
 * Which refresh commands a set of file changes needs, in order:
 *   writes -> update-initramfs -> update-grub | proxmox-boot-tool refresh
 * (the reboot is the engine's decision).
 *
 * - update-initramfs: a modprobe.d / modules-load.d / /etc/modules file
 *   changed in more than comments (binding must be in the initramfs to beat
 *   the host driver).
 * - update-grub: plain GRUB (no proxmox-boot-tool) and a GRUB file changed.
 * - proxmox-boot-tool refresh: any host whose ESPs proxmox-boot-tool manages,
 *   after a GRUB or /etc/kernel/cmdline change or a rebuilt initramfs; and on
 *   systemd-boot always after a /etc/kernel/cmdline change.
 *
 * Plan uses refreshSteps (a file counts when it changed in more than
 * comments); rollback uses refreshStepsForPaths over the files it restores
 * (every restored file counts): the same rule either way.
 */
import type { HostFacts } from '../../facts/host/types.js';
import type { HostStep } from '../types.js';
import { isGrubInput, isInitramfsInput, KERNEL_CMDLINE_FILE } from './paths.js';

type FileStep = Extract<HostStep, { kind: 'write-file' | 'remove-file' }>;

/** Non-empty, non-comment lines: what modprobe / systemd actually read. */
function effectiveLines(content: string | null): string {
  return (content ?? '').split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#')).join('\n');
}

function changedInEffect(s: FileStep): boolean {
  return s.kind === 'remove-file'
    ? effectiveLines(s.before) !== ''
    : effectiveLines(s.before) !== effectiveLines(s.after);
}

export function refreshSteps(fileSteps: readonly FileStep[], facts: HostFacts): HostStep[] {
  const initramfs = fileSteps.filter((s) => isInitramfsInput(s.path) && changedInEffect(s)).map((s) => s.path);
  return refreshFor(initramfs, fileSteps.map((s) => s.path), facts);
}

/** The refreshes after these files changed in unknown ways (rollback restores bytes it does not read). */
export function refreshStepsForPaths(paths: readonly string[], facts: HostFacts): HostStep[] {
  return refreshFor(paths.filter(isInitramfsInput), paths, facts);
}

function refreshFor(initramfs: readonly string[], changed: readonly string[], facts: HostFacts): HostStep[] {
  const grub = changed.filter(isGrubInput);
  const cmdline = changed.filter((p) => p === KERNEL_CMDLINE_FILE);
  const steps: HostStep[] = [];
  if (initramfs.length) {
    steps.push({ kind: 'refresh', command: 'update-initramfs', reason: `module config changed: ${initramfs.join(', ')}` });
  }
  const pbt = facts.bootLoader.proxmoxBootTool;
  const sdboot = facts.bootLoader.kind === 'systemd-boot';
  if (!pbt && grub.length && !sdboot) {
    steps.push({ kind: 'refresh', command: 'update-grub', reason: `GRUB config changed: ${grub.join(', ')}` });
  }
  const pbtWhy = [
    ...(cmdline.length && (pbt || sdboot) ? ['/etc/kernel/cmdline changed'] : []),
    ...(grub.length && pbt && !sdboot ? ['GRUB config changed'] : []),
    ...(initramfs.length && pbt ? ['initramfs rebuilt'] : []),
  ];
  if (pbtWhy.length) steps.push({ kind: 'refresh', command: 'proxmox-boot-tool-refresh', reason: `sync the ESPs: ${pbtWhy.join(', ')}` });
  return steps;
}
