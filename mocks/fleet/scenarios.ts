/**
 * Built-in scenarios. `converge` is what `sim` serves by default: every item
 * can be brought to the declared state (plan 2 → apply 0 → plan 0 → verify 0).
 * `demo` adds the teaching case the walkthrough explains: a consumer board
 * whose GPU shares its IOMMU group with a NIC and the SATA controller.
 */
import { parseScenario, type Scenario } from './scenario.js';

const lab = {
  name: 'lab',
  policy: { reboot: 'needed', guests: 'shutdown', maxUnavailable: 1, rebootTimeoutSeconds: 60 },
  nodes: [
    { name: 'pve1', profile: 'pve9-intel-grub-lvm', overrides: { hostname: 'pve1' }, declare: { devices: [{ address: '0000:01:00.0' }], iommuPassthrough: true } },
    { name: 'pve2', profile: 'pve9-amd-sdboot-zfs', overrides: { hostname: 'pve2' }, declare: { devices: [{ address: '0000:01:00.0' }] } },
    { name: 'pve3', profile: 'pve81-intel-6.5', overrides: { hostname: 'pve3' }, declare: { devices: [{ address: '0000:01:00.0' }] } },
  ],
  vms: [
    {
      vmid: 101, node: 'pve1', name: 'gpu-workstation', status: 'stopped',
      config: { name: 'gpu-workstation', ostype: 'win11', machine: 'pc-i440fx-9.2+pve1', bios: 'ovmf', memory: '16384', balloon: '0', cores: '8', scsi0: 'local-lvm:vm-101-disk-0,size=128G', net0: 'virtio=BC:24:11:00:01:01,bridge=vmbr0' },
      declare: { hostpci: [{ host: '0000:01:00', pcie: true, 'x-vga': true }] },
    },
    {
      vmid: 102, node: 'pve2', name: 'render', status: 'running',
      config: { name: 'render', ostype: 'l26', machine: 'q35', bios: 'ovmf', memory: '32768', balloon: '0', cores: '16', scsi0: 'local-zfs:vm-102-disk-0,size=64G', net0: 'virtio=BC:24:11:00:01:02,bridge=vmbr0', onboot: '1' },
      declare: { hostpci: [{ mapping: 'rx6800', pcie: true }], whenRunning: 'restart', allowStop: true },
    },
    {
      vmid: 103, node: 'pve3', name: 'cuda', status: 'stopped',
      config: { name: 'cuda', ostype: 'l26', memory: '8192', balloon: '0', cores: '4', scsi0: 'local-lvm:vm-103-disk-0,size=32G', net0: 'virtio=BC:24:11:00:01:03,bridge=vmbr0' },
      declare: { hostpci: [{ host: '0000:01:00', pcie: true }] },
    },
  ],
  mappings: [{ id: 'rx6800', description: 'Radeon RX 6800 for rendering', nodes: { pve2: '0000:01:00.0' } }],
};

const edge = {
  name: 'edge',
  standalone: true,
  policy: { reboot: 'needed', guests: 'shutdown', rebootTimeoutSeconds: 60 },
  nodes: [{ name: 'pve84', profile: 'pve84-intel-zfs-bios', overrides: { hostname: 'pve84' }, declare: { devices: [{ address: '0000:01:00.0' }], iommuPassthrough: true } }],
  vms: [
    {
      vmid: 201, node: 'pve84', name: 'nvr', status: 'stopped',
      config: { name: 'nvr', ostype: 'l26', machine: 'q35', memory: '4096', balloon: '0', cores: '2', scsi0: 'local-zfs:vm-201-disk-0,size=16G' },
      declare: { hostpci: [{ host: '0000:01:00', pcie: true }] },
    },
  ],
};

const home = {
  name: 'home',
  standalone: true,
  policy: { reboot: 'needed', guests: 'shutdown', rebootTimeoutSeconds: 60 },
  nodes: [{ name: 'homelab', profile: 'consumer-bad-group', overrides: { hostname: 'homelab' }, declare: { devices: [{ address: '0000:07:00.0' }] } }],
  vms: [],
};

export const BUILTIN_SCENARIOS: Readonly<Record<string, Scenario>> = {
  converge: parseScenario({ name: 'converge', description: 'Two clusters that converge completely: PVE 9 Intel GRUB, PVE 9 AMD systemd-boot on ZFS, PVE 8.1 (needs intel_iommu=on), GRUB via proxmox-boot-tool; three VMs and a resource mapping.', clusters: [lab, edge] }, 'converge'),
  demo: parseScenario({ name: 'demo', description: 'The converging fleet plus a consumer board whose GPU shares its IOMMU group with a NIC and the SATA controller (refused).', clusters: [lab, edge, home] }, 'demo'),
};
