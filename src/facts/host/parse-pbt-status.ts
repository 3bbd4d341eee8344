/**
 * `proxmox-boot-tool status` plus its exit code (proxmox-kernel-helper's bin/proxmox-boot-tool):
 *   rc 0   configured: `System currently booted with uefi|legacy bios`, then
 *          `<UUID> is configured with: <kind> (versions: …)[, <kind> (versions: …)]`
 *   rc 2   /etc/kernel/proxmox-boot-uuids missing: not in use
 *   rc 127 the tool is not installed
 * `uefi` and `systemd-boot` both mark a systemd-boot ESP (pve8to9 accepts both).
 */
import { cleanEvidence, excerpt, splitLines, type Parsed } from './text.js';

export type EspLoader = 'systemd-boot' | 'grub';

export interface PbtEsp {
  readonly uuid: string;
  readonly loaders: readonly EspLoader[];
  readonly versions: readonly string[];
}

export interface PbtStatus {
  readonly installed: boolean;
  readonly configured: boolean;
  readonly bootedWith: 'uefi' | 'legacy bios' | null;
  readonly esps: readonly PbtEsp[];
  /** Lines worth showing (booted-with, per-ESP, warnings). */
  readonly evidence: readonly string[];
}

const ESP_LINE = /^(\S+) is configured with: (.+)$/;
const KIND = /(uefi|systemd-boot|grub)\s*\(versions:\s*([^)]*)\)/g;

export function parsePbtStatus(output: string, rc: number): Parsed<PbtStatus> {
  const errors: string[] = [];
  const evidence: string[] = [];
  if (rc === 127) return { value: { installed: false, configured: false, bootedWith: null, esps: [], evidence: ['proxmox-boot-tool not installed'] }, errors };
  let bootedWith: PbtStatus['bootedWith'] = null;
  const esps: PbtEsp[] = [];
  for (const raw of splitLines(output)) {
    const line = raw.trim();
    if (line === '') continue;
    const booted = /^System currently booted with (uefi|legacy bios)$/.exec(line);
    if (booted) {
      bootedWith = booted[1] as 'uefi' | 'legacy bios';
      evidence.push(line);
      continue;
    }
    const esp = ESP_LINE.exec(line);
    if (esp?.[1] !== undefined && esp[2] !== undefined) {
      const loaders = new Set<EspLoader>();
      const versions: string[] = [];
      for (const k of esp[2].matchAll(KIND)) {
        loaders.add(k[1] === 'grub' ? 'grub' : 'systemd-boot');
        versions.push(...(k[2] ?? '').split(',').map((v) => v.trim()).filter(Boolean));
      }
      if (loaders.size === 0) errors.push(`proxmox-boot-tool status: unknown ESP kind in ${excerpt(line)}`);
      esps.push({ uuid: esp[1], loaders: [...loaders].sort(), versions: [...new Set(versions)] });
      evidence.push(cleanEvidence(line));
      continue;
    }
    // Warnings such as `WARN: /dev/disk/by-uuid/… does not exist - clean …` and the
    // `E: … does not exist.` of rc 2 are kept as evidence; other chatter is ignored.
    if (/^(?:WARN|E):/.test(line)) evidence.push(cleanEvidence(line));
  }
  const configured = rc === 0;
  if (rc !== 0 && rc !== 2) errors.push(`proxmox-boot-tool status exited with ${rc}`);
  if (configured && bootedWith === null) errors.push('proxmox-boot-tool status: no "System currently booted with" line');
  return { value: { installed: true, configured, bootedWith, esps, evidence: evidence.slice(0, 20) }, errors };
}
