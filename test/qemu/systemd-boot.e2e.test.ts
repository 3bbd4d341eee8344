/**
 * UEFI (OVMF) + systemd-boot guest whose ESP is managed by proxmox-boot-tool (a stand-in script,
 * scripts/qemu/proxmox-boot-tool.sh): the tool edits /etc/kernel/cmdline in place and runs
 * `proxmox-boot-tool refresh`, which copies kernel, initrd and the options onto the FAT ESP.
 */
import { passthroughFlow } from './flow.js';

passthroughFlow({
  name: 'systemd-boot',
  firmware: 'uefi',
  buildScripts: ['build-image.sh', 'build-esp-image.sh'],
  bootLoader: 'systemd-boot (proxmox-boot-tool)',
  written: ['/etc/kernel/cmdline', '/etc/modules-load.d/pve-passthrough.conf', '/etc/modprobe.d/pve-passthrough.conf'],
  watched: ['/etc/kernel/cmdline', '/etc/modules', '/etc/default/grub'],
});
