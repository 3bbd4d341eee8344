/**
 * Which loader turns the configured command line into the running one
 * (pve-docs system-booting.adoc; proxmox-kernel-helper's bin/proxmox-boot-tool):
 *   /etc/kernel/proxmox-boot-uuids lists ESPs, proxmox-boot-tool is installed,
 *   /sys/firmware/efi exists, and EVERY ESP is set up for systemd-boot only
 *   (`uefi` or `systemd-boot`, no `grub`)          -> systemd-boot
 *   everything else                                -> GRUB
 * ESPs managed by proxmox-boot-tool (uuids file non-empty) need
 * `proxmox-boot-tool refresh` whichever loader they carry.
 */
import type { PbtStatus } from './parse-pbt-status.js';
import { splitLines } from './text.js';
import type { BootLoader } from './types.js';

export function parseBootUuids(content: string | null): string[] {
  if (content === null) return [];
  return splitLines(content)
    .map((l) => l.trim())
    .filter((l) => /^[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}$/.test(l));
}

export function decideBootLoader(input: { efi: boolean; bootUuids: string | null; pbt: PbtStatus }): BootLoader {
  const uuids = parseBootUuids(input.bootUuids);
  const evidence: string[] = [
    `/sys/firmware/efi ${input.efi ? 'exists (UEFI boot)' : 'missing (legacy BIOS boot)'}`,
    input.bootUuids === null
      ? '/etc/kernel/proxmox-boot-uuids missing'
      : `/etc/kernel/proxmox-boot-uuids lists ${uuids.length} ESP${uuids.length === 1 ? '' : 's'}`,
    ...input.pbt.evidence,
  ];
  const proxmoxBootTool = uuids.length > 0 && input.pbt.installed;
  const esps = input.pbt.esps;
  const allSystemdBoot = esps.length > 0 && esps.every((e) => e.loaders.length === 1 && e.loaders[0] === 'systemd-boot');
  const kind = proxmoxBootTool && input.efi && allSystemdBoot ? 'systemd-boot' : 'grub';
  let why: string;
  if (kind === 'systemd-boot') why = 'systemd-boot: UEFI and every proxmox-boot-tool ESP is configured for systemd-boot';
  else if (!proxmoxBootTool) why = 'GRUB: ESPs are not managed by proxmox-boot-tool';
  else if (!input.efi) why = 'GRUB: legacy BIOS boot';
  else if (esps.length === 0) why = 'GRUB: proxmox-boot-tool status lists no ESP';
  else why = 'GRUB: at least one proxmox-boot-tool ESP carries GRUB';
  evidence.push(why);
  return { kind, proxmoxBootTool, efi: input.efi, evidence: evidence.slice(0, 24) };
}
