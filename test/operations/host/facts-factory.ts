/**
 * Complete, realistic HostFacts values for the host-operation tests, built
 * from the fixture files, with overrides. Profiles:
 *  - pve9IntelGrub: PVE 9.1, 6.17 kernel, Intel, plain GRUB on LVM; RTX 3070
 *    (+ HDMI audio) alone in group 14; I210 management NIC; NVMe root disk;
 *    iGPU as boot console.
 *  - pve9AmdSdboot: PVE 9.0, 6.14, AMD, systemd-boot via proxmox-boot-tool, ZFS.
 *  - pve7Intel: PVE 7.4, 5.15, Intel, GRUB, IOMMU not active yet (needs intel_iommu=on).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { HostFacts, PciDevice, RemoteFile } from '../../../src/facts/host/types.js';
import { Node } from '../../../src/inventory/schema.js';

const FIXTURES = fileURLToPath(new URL('../../fixtures/operations/', import.meta.url));
export function fixture(rel: string): string {
  return readFileSync(FIXTURES + rel, 'utf8');
}

export function pci(p: Partial<PciDevice> & Pick<PciDevice, 'address' | 'id'>): PciDevice {
  return {
    classCode: '0200', className: 'Ethernet controller', description: 'Device', subsystemId: null,
    driver: null, modules: [], iommuGroup: null, bootVga: false, isBridge: false, driverOverride: null,
    ...p,
  };
}

export const GPU = pci({ address: '0000:01:00.0', id: '10de:2484', classCode: '0300', className: 'VGA compatible controller', description: 'NVIDIA Corporation GA104 [GeForce RTX 3070]', subsystemId: '1043:87b8', driver: 'nouveau', modules: ['nvidiafb', 'nouveau'], iommuGroup: 14 });
export const GPU_AUDIO = pci({ address: '0000:01:00.1', id: '10de:228b', classCode: '0403', className: 'Audio device', description: 'NVIDIA Corporation GA104 High Definition Audio Controller', subsystemId: '1043:87b8', driver: 'snd_hda_intel', modules: ['snd_hda_intel'], iommuGroup: 14 });
export const ROOT_PORT = pci({ address: '0000:00:01.0', id: '8086:a70d', classCode: '0604', className: 'PCI bridge', description: 'Intel Corporation Raptor Lake PCIe 5.0 Graphics Port', driver: 'pcieport', iommuGroup: 1, isBridge: true });
export const IGPU = pci({ address: '0000:00:02.0', id: '8086:a780', classCode: '0300', className: 'VGA compatible controller', description: 'Intel Corporation Raptor Lake-S GT1 [UHD Graphics 770]', driver: 'i915', modules: ['i915', 'xe'], iommuGroup: 0, bootVga: true });
export const MGMT_NIC = pci({ address: '0000:03:00.0', id: '8086:1533', description: 'Intel Corporation I210 Gigabit Network Connection', subsystemId: '15d9:1533', driver: 'igb', modules: ['igb'], iommuGroup: 17 });
export const NVME = pci({ address: '0000:04:00.0', id: '144d:a80a', classCode: '0108', className: 'Non-Volatile memory controller', description: 'Samsung Electronics Co Ltd NVMe SSD Controller PM9A1/PM9A3/980PRO', driver: 'nvme', modules: ['nvme'], iommuGroup: 18 });

function files(entries: Record<string, string | null>): Record<string, RemoteFile> {
  const out: Record<string, RemoteFile> = {};
  for (const [path, content] of Object.entries(entries)) {
    out[path] = content === null ? { path, content } : { path, content, mode: '0644', uid: 0, gid: 0 };
  }
  return out;
}

const OWNED_ABSENT = {
  '/etc/default/grub.d/pve-passthrough.cfg': null,
  '/etc/modules-load.d/pve-passthrough.conf': null,
  '/etc/modprobe.d/pve-passthrough.conf': null,
};

export type FactsOverrides = Partial<Omit<HostFacts, 'kernel' | 'iommu' | 'bootLoader'>> & {
  kernel?: Partial<HostFacts['kernel']>;
  iommu?: Partial<HostFacts['iommu']>;
  bootLoader?: Partial<HostFacts['bootLoader']>;
};

function merge(base: HostFacts, o: FactsOverrides): HostFacts {
  return {
    ...base,
    ...o,
    kernel: { ...base.kernel, ...o.kernel },
    iommu: { ...base.iommu, ...o.iommu },
    bootLoader: { ...base.bootLoader, ...o.bootLoader },
  };
}

export function pve9IntelGrub(o: FactsOverrides = {}): HostFacts {
  const base: HostFacts = {
    hostname: 'pve1',
    cpuVendor: 'intel',
    kernel: { running: '6.17.2-1-pve', next: '6.17.2-1-pve', installed: ['6.14.11-4-pve', '6.17.2-1-pve'] },
    pveVersion: 'pve-manager/9.1.4/5ac30304265fbd8e (running kernel: 6.17.2-1-pve)',
    debianVersion: '13.2',
    bootLoader: { kind: 'grub', proxmoxBootTool: false, efi: true, evidence: ['E: /etc/kernel/proxmox-boot-uuids does not exist.'] },
    procCmdline: 'BOOT_IMAGE=/boot/vmlinuz-6.17.2-1-pve root=/dev/mapper/pve-root ro quiet\n',
    files: files({
      '/etc/default/grub': fixture('grub-default/debian-stock.txt'),
      '/etc/modules': fixture('etc-modules/debian-stock.txt'),
      '/etc/kernel/cmdline': null,
      '/etc/modprobe.d/pve-blacklist.conf': fixture('modprobe-d/pve-blacklist.conf'),
      ...OWNED_ABSENT,
    }),
    modprobe: { files: ['/etc/modprobe.d/pve-blacklist.conf'], options: [], softdeps: [], installs: [], removes: [], blacklist: [{ module: 'nvidiafb', file: '/etc/modprobe.d/pve-blacklist.conf', line: 4, endLine: 4, text: 'blacklist nvidiafb' }] },
    modulesToLoad: [],
    modulesLoaded: ['snd_hda_intel', 'nouveau', 'igb', 'nvme', 'i915', 'kvm_intel', 'kvm'],
    iommu: {
      active: true, kind: 'intel', units: ['dmar0', 'dmar1'], firmwareTable: 'DMAR', interruptRemapping: true, passthroughDomain: false,
      evidence: ['DMAR: Host address width 39', 'DMAR-IR: Enabled IRQ remapping in x2apic mode', 'iommu: Default domain type: Translated'],
    },
    pci: [IGPU, ROOT_PORT, GPU, GPU_AUDIO, MGMT_NIC, NVME],
    framebuffer: { claims: [], hidden: false },
    hostNeeds: {
      '0000:03:00.0': [{ kind: 'management-network', iface: 'vmbr0', detail: 'vmbr0 -> eno1 holds 192.168.1.10, default route' }],
      '0000:04:00.0': [{ kind: 'root-disk', detail: 'nvme0n1 holds / (pve-root, LVM2_member)' }],
      '0000:00:02.0': [{ kind: 'boot-console', detail: 'boot_vga = 1' }],
    },
    bootId: '6f1c2a36-3b7e-4c58-9d1e-0a7b5c2d9e11',
    failedUnits: [],
    parseErrors: [],
  };
  return merge(base, o);
}

export function pve9AmdSdboot(o: FactsOverrides = {}): HostFacts {
  const base = pve9IntelGrub({
    hostname: 'pve2',
    cpuVendor: 'amd',
    kernel: { running: '6.14.8-2-pve', next: '6.14.8-2-pve', installed: ['6.14.8-2-pve'] },
    pveVersion: 'pve-manager/9.0.10/deb1ca707ec72a89 (running kernel: 6.14.8-2-pve)',
    bootLoader: { kind: 'systemd-boot', proxmoxBootTool: true, efi: true, evidence: ['7A1B-33C4 is configured with: uefi (versions: 6.14.8-2-pve)'] },
    procCmdline: 'initrd=\\EFI\\proxmox\\6.14.8-2-pve\\initrd.img-6.14.8-2-pve root=ZFS=rpool/ROOT/pve-1 boot=zfs\n',
    files: files({
      '/etc/default/grub': fixture('grub-default/debian-stock.txt'),
      '/etc/kernel/cmdline': fixture('kernel-cmdline/zfs.txt'),
      '/etc/kernel/proxmox-boot-uuids': '7A1B-33C4\n7A1C-0F12\n',
      '/etc/modules': fixture('etc-modules/debian-stock.txt'),
      '/etc/modprobe.d/pve-blacklist.conf': fixture('modprobe-d/pve-blacklist.conf'),
      '/etc/modprobe.d/zfs.conf': 'options zfs zfs_arc_max=8589934592\n',
      ...OWNED_ABSENT,
    }),
    iommu: {
      active: true, kind: 'amd', units: ['ivhd0'], firmwareTable: 'IVRS', interruptRemapping: true, passthroughDomain: false,
      evidence: ['pci 0000:00:00.2: AMD-Vi: Found IOMMU cap 0x40', 'AMD-Vi: Interrupt remapping enabled'],
    },
    pci: [ROOT_PORT, GPU, GPU_AUDIO, MGMT_NIC, NVME],
    hostNeeds: {
      '0000:03:00.0': [{ kind: 'management-network', iface: 'vmbr0', detail: 'vmbr0 -> enp3s0 holds 10.0.0.2' }],
      '0000:04:00.0': [{ kind: 'storage', detail: 'nvme0n1 is a zfs_member of rpool' }],
    },
  });
  return merge(base, o);
}

export function pve7Intel(o: FactsOverrides = {}): HostFacts {
  const base = pve9IntelGrub({
    kernel: { running: '5.15.158-2-pve', next: '5.15.158-2-pve', installed: ['5.15.158-2-pve'] },
    pveVersion: 'pve-manager/7.4-19/f98bf8d4 (running kernel: 5.15.158-2-pve)',
    debianVersion: '11.11',
    procCmdline: 'BOOT_IMAGE=/boot/vmlinuz-5.15.158-2-pve root=/dev/mapper/pve-root ro quiet\n',
    iommu: { active: false, kind: 'intel', units: [], firmwareTable: 'DMAR', interruptRemapping: true, passthroughDomain: null, evidence: ['DMAR: Host address width 39', 'DMAR-IR: Enabled IRQ remapping in x2apic mode'] },
    pci: [IGPU, ROOT_PORT, GPU, GPU_AUDIO, MGMT_NIC, NVME].map((p) => ({ ...p, iommuGroup: null })),
  });
  return merge(base, o);
}

/** A copy of facts with some files replaced (null = absent). */
export function withFiles(f: HostFacts, entries: Record<string, string | null>): HostFacts {
  return { ...f, files: { ...f.files, ...files(entries) } };
}

export function makeNode(o: Record<string, unknown> = {}): Node {
  return Node.parse({ name: 'pve1', ssh: { host: '192.168.1.10' }, ...o });
}
