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
  const initramfs = fileSteps.filter((s) => isInitramfsInput(s.path) && changedInEffect(s));
  const grub = fileSteps.filter((s) => isGrubInput(s.path));
  const cmdline = fileSteps.filter((s) => s.path === KERNEL_CMDLINE_FILE);
  const steps: HostStep[] = [];
  if (initramfs.length) {
    steps.push({ kind: 'refresh', command: 'update-initramfs', reason: `module config changed: ${initramfs.map((s) => s.path).join(', ')}` });
  }
  const pbt = facts.bootLoader.proxmoxBootTool;
  const sdboot = facts.bootLoader.kind === 'systemd-boot';
  if (!pbt && grub.length && !sdboot) {
    steps.push({ kind: 'refresh', command: 'update-grub', reason: `GRUB config changed: ${grub.map((s) => s.path).join(', ')}` });
  }
  const pbtWhy = [
    ...(cmdline.length && (pbt || sdboot) ? ['/etc/kernel/cmdline changed'] : []),
    ...(grub.length && pbt && !sdboot ? ['GRUB config changed'] : []),
    ...(initramfs.length && pbt ? ['initramfs rebuilt'] : []),
  ];
  if (pbtWhy.length) steps.push({ kind: 'refresh', command: 'proxmox-boot-tool-refresh', reason: `sync the ESPs: ${pbtWhy.join(', ')}` });
  return steps;
}
