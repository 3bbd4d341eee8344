/**
 * Named host profiles: plain data, so scenario files can say
 * `{ "profile": "pve9-intel-grub-lvm", "overrides": { … } }`. Device names and
 * ids are real hardware; addresses, MACs and UUIDs are made up.
 */
import type { BlockRow, NetIfaceSpec, PciSpec, ProfileData, ProfileOverrides } from './profile-types.js';

// ---- building blocks ---------------------------------------------------------

const intelHost = (id: string, name: string): PciSpec => ({
  address: '0000:00:00.0', classCode: '0600', className: 'Host bridge', vendor: 'Intel Corporation', device: name, id, rev: '02',
  subsystem: { id: '1043:8882', name: 'ASUSTeK Computer Inc. Device' }, driver: null, modules: [], iommuGroup: 0,
});

const rootPort = (address: string, id: string, name: string, group: number | null, vendor = 'Intel Corporation'): PciSpec => ({
  address, classCode: '0604', className: 'PCI bridge', vendor, device: name, id, rev: '11', driver: 'pcieport', modules: [], iommuGroup: group,
});

/** Firmware, kernel and boot of a current PVE 9 install on an EFI board booting through GRUB with LVM root. */
const pve9EfiGrub = {
  firmware: { efi: true, iommu: true, interruptRemapping: true },
  kernel: { running: '6.17.2-1-pve', installed: ['6.17.2-1-pve'] },
  pveVersion: 'pve-manager/9.1.1/42db4a6cf33dac83',
  debianVersion: '13.2',
  boot: { loader: 'grub' as const, grubRoot: 'root=/dev/mapper/pve-root ro' },
};

const AMD = 'Advanced Micro Devices, Inc. [AMD]';

/** The host bridge and IOMMU every Ryzen (Matisse/Vermeer) board shows; neither is in an IOMMU group. */
const amdRootComplex = (): PciSpec[] => [
  { address: '0000:00:00.0', classCode: '0600', className: 'Host bridge', vendor: AMD, device: 'Starship/Matisse Root Complex', id: '1022:1480', driver: null, modules: [], iommuGroup: null },
  { address: '0000:00:00.2', classCode: '0806', className: 'IOMMU', vendor: AMD, device: 'Starship/Matisse IOMMU', id: '1022:1481', driver: null, modules: [], iommuGroup: null },
];

const amdGppBridge = (address: string, group: number): PciSpec => rootPort(address, '1022:1483', 'Starship/Matisse GPP Bridge', group, AMD);

const nvidiaGpu = (slot: string, group: number, gpu: [string, string], audio: [string, string], parent?: string, bootVga = false): PciSpec[] => [
  { address: `${slot}.0`, classCode: '0300', className: 'VGA compatible controller', vendor: 'NVIDIA Corporation', device: gpu[1], id: gpu[0], rev: 'a1',
    subsystem: { id: '1043:87b8', name: 'ASUSTeK Computer Inc. Device' }, driver: 'nouveau', modules: ['nvidiafb', 'nouveau'], iommuGroup: group, bootVga, ...(parent ? { parent } : {}) },
  { address: `${slot}.1`, classCode: '0403', className: 'Audio device', vendor: 'NVIDIA Corporation', device: audio[1], id: audio[0], rev: 'a1',
    subsystem: { id: '1043:87b8', name: 'ASUSTeK Computer Inc. Device' }, driver: 'snd_hda_intel', modules: ['snd_hda_intel'], iommuGroup: group, ...(parent ? { parent } : {}) },
];

const nic = (address: string, id: string, device: string, driver: string, group: number | null, parent?: string, vendor = 'Intel Corporation', sub?: { id: string; name: string }): PciSpec => ({
  address, classCode: '0200', className: 'Ethernet controller', vendor, device, id, rev: '03', ...(sub ? { subsystem: sub } : {}),
  driver, modules: [driver], iommuGroup: group, ...(parent ? { parent } : {}),
});

const ahci = (address: string, id: string, device: string, group: number): PciSpec => ({
  address, classCode: '0106', className: 'SATA controller', vendor: 'Intel Corporation', device, id, rev: '11', driver: 'ahci', modules: ['ahci'], iommuGroup: group,
});

const nvme = (address: string, group: number, parent?: string): PciSpec => ({
  address, classCode: '0108', className: 'Non-Volatile memory controller', vendor: 'Samsung Electronics Co Ltd', device: 'NVMe SSD Controller PM9A1/PM9A3/980PRO', id: '144d:a80a',
  subsystem: { id: '144d:a801', name: 'Samsung Electronics Co Ltd SSD 980 PRO' }, driver: 'nvme', modules: ['nvme'], iommuGroup: group, ...(parent ? { parent } : {}),
});

const xhci = (address: string, id: string, device: string, group: number, vendor = 'Intel Corporation'): PciSpec => ({
  address, classCode: '0c03', className: 'USB controller', vendor, device, id, rev: '11', driver: 'xhci_hcd', driverModule: 'xhci_pci', modules: ['xhci_pci'], iommuGroup: group,
});

const lo: NetIfaceSpec = { name: 'lo', kind: 'loopback', addrs: ['127.0.0.1/8'] };

const bridgeNet = (port: string, pci: string, mac: string, addr: string, gw: string): ProfileData['net'] => ({
  ifaces: [lo, { name: port, kind: 'phys', pci, mac, addrs: [] }, { name: 'vmbr0', kind: 'bridge', ports: [port], mac, addrs: [addr] }],
  defaultRoute: { via: gw, dev: 'vmbr0' },
});

const lvmDisk = (disk: string, efi: boolean): BlockRow[] => {
  const p = (n: number): string => (disk.startsWith('nvme') ? `${disk}p${n}` : `${disk}${n}`);
  return [
    { name: disk, pkname: '', type: 'disk', fstype: '', mountpoint: '' },
    { name: p(1), pkname: disk, type: 'part', fstype: '', mountpoint: '' },
    { name: p(2), pkname: disk, type: 'part', fstype: 'vfat', mountpoint: efi ? '/boot/efi' : '' },
    { name: p(3), pkname: disk, type: 'part', fstype: 'LVM2_member', mountpoint: '' },
    { name: 'pve-swap', pkname: p(3), type: 'lvm', fstype: 'swap', mountpoint: '[SWAP]' },
    { name: 'pve-root', pkname: p(3), type: 'lvm', fstype: 'ext4', mountpoint: '/' },
    { name: 'pve-data_tmeta', pkname: p(3), type: 'lvm', fstype: '', mountpoint: '' },
    { name: 'pve-data_tdata', pkname: p(3), type: 'lvm', fstype: '', mountpoint: '' },
  ];
};

const zfsMirror = (disks: readonly string[]): BlockRow[] =>
  disks.flatMap((d): BlockRow[] => [
    { name: d, pkname: '', type: 'disk', fstype: '', mountpoint: '' },
    { name: `${d}p1`, pkname: d, type: 'part', fstype: '', mountpoint: '' },
    { name: `${d}p2`, pkname: d, type: 'part', fstype: 'vfat', mountpoint: '' },
    { name: `${d}p3`, pkname: d, type: 'part', fstype: 'zfs_member', mountpoint: '' },
  ]);

const intelAlderLakeBase: PciSpec[] = [
  intelHost('8086:4668', '12th Gen Core Processor Host Bridge/DRAM Registers'),
  { address: '0000:00:02.0', classCode: '0300', className: 'VGA compatible controller', vendor: 'Intel Corporation', device: 'AlderLake-S GT1 [UHD Graphics 770]', id: '8086:4680', rev: '0c',
    subsystem: { id: '1043:8882', name: 'ASUSTeK Computer Inc. Device' }, driver: 'i915', modules: ['i915', 'xe'], iommuGroup: 1, bootVga: true },
  rootPort('0000:00:01.0', '8086:460d', '12th Gen Core Processor PCI Express x16 Controller #1', 2),
  xhci('0000:00:14.0', '8086:7ae0', 'Alder Lake-S PCH USB 3.2 Gen 2x2 XHCI Controller', 3),
  ahci('0000:00:17.0', '8086:7ae2', 'Alder Lake-S PCH SATA Controller [AHCI Mode]', 5),
  rootPort('0000:00:1c.0', '8086:7ab8', 'Alder Lake-S PCH PCI Express Root Port #1', 6),
  { address: '0000:00:1f.0', classCode: '0601', className: 'ISA bridge', vendor: 'Intel Corporation', device: 'Z690 Chipset LPC/eSPI Controller', id: '8086:7a84', rev: '11', driver: null, modules: [], iommuGroup: 7 },
  { address: '0000:00:1f.3', classCode: '0403', className: 'Audio device', vendor: 'Intel Corporation', device: 'Alder Lake-S HD Audio Controller', id: '8086:7ad0', rev: '11', driver: 'snd_hda_intel', modules: ['snd_hda_intel', 'snd_sof_pci_intel_tgl'], iommuGroup: 7 },
  { address: '0000:00:1f.4', classCode: '0c05', className: 'SMBus', vendor: 'Intel Corporation', device: 'Alder Lake-S PCH SMBus Controller', id: '8086:7aa3', rev: '11', driver: 'i801_smbus', modules: ['i2c_i801'], iommuGroup: 7 },
];

const corosync3 = (cluster: string, me: string, myAddr: string): string => `logging {
  debug: off
  to_syslog: yes
}

nodelist {
  node {
    name: ${me}
    nodeid: 1
    quorum_votes: 1
    ring0_addr: ${myAddr}
  }
  node {
    name: ${me.replace(/\d+$/, '')}2
    nodeid: 2
    quorum_votes: 1
    ring0_addr: ${myAddr.replace(/\d+$/, '12')}
  }
  node {
    name: ${me.replace(/\d+$/, '')}3
    nodeid: 3
    quorum_votes: 1
    ring0_addr: ${myAddr.replace(/\d+$/, '13')}
  }
}

quorum {
  provider: corosync_votequorum
}

totem {
  cluster_name: ${cluster}
  config_version: 3
  interface {
    linknumber: 0
  }
  ip_version: ipv4-6
  link_mode: passive
  secauth: on
  version: 2
}
`;

// ---- the profiles ------------------------------------------------------------

const pve9IntelGrubLvm: ProfileData = {
  name: 'pve9-intel-grub-lvm',
  hostname: 'pve1',
  cpu: { vendor: 'intel', model: '12th Gen Intel(R) Core(TM) i7-12700' },
  firmware: { efi: true, iommu: true, interruptRemapping: true },
  kernel: { running: '6.17.2-1-pve', installed: ['6.14.11-4-pve', '6.17.2-1-pve'] },
  pveVersion: 'pve-manager/9.1.1/42db4a6cf33dac83',
  debianVersion: '13.2',
  boot: { loader: 'grub', grubRoot: 'root=/dev/mapper/pve-root ro' },
  pci: [
    ...intelAlderLakeBase,
    ...nvidiaGpu('0000:01:00', 14, ['10de:2484', 'GA104 [GeForce RTX 3070]'], ['10de:228b', 'GA104 High Definition Audio Controller'], '0000:00:01.0'),
    nic('0000:03:00.0', '8086:1533', 'I210 Gigabit Network Connection', 'igb', 15, '0000:00:1c.0', 'Intel Corporation', { id: '1043:8694', name: 'ASUSTeK Computer Inc. I210 Gigabit Network Connection' }),
  ],
  net: bridgeNet('enp3s0', '0000:03:00.0', 'a8:a1:59:10:20:31', '192.168.10.11/24', '192.168.10.1'),
  block: { rows: lvmDisk('sda', true), controllers: { sda: '0000:00:17.0' } },
  corosync: null,
};

const pve9AmdSdbootZfs: ProfileData = {
  name: 'pve9-amd-sdboot-zfs',
  hostname: 'pve2',
  cpu: { vendor: 'amd', model: 'AMD Ryzen 9 7950X 16-Core Processor' },
  firmware: { efi: true, iommu: true, interruptRemapping: true },
  kernel: { running: '6.14.11-4-pve', installed: ['6.8.12-15-pve', '6.14.11-4-pve'] },
  pveVersion: 'pve-manager/9.0.10/deb1ca707ec72a89',
  debianVersion: '13.1',
  boot: { loader: 'systemd-boot', espUuids: ['7A1B-33C4', '7A1C-0F12'], kernelCmdline: 'root=ZFS=rpool/ROOT/pve-1 boot=zfs\n' },
  pci: [
    { address: '0000:00:00.0', classCode: '0600', className: 'Host bridge', vendor: 'Advanced Micro Devices, Inc. [AMD]', device: 'Raphael/Granite Ridge Root Complex', id: '1022:14d8', driver: null, modules: [], iommuGroup: null },
    { address: '0000:00:00.2', classCode: '0806', className: 'IOMMU', vendor: 'Advanced Micro Devices, Inc. [AMD]', device: 'Raphael/Granite Ridge IOMMU', id: '1022:14d9', driver: null, modules: [], iommuGroup: null },
    rootPort('0000:00:01.1', '1022:14db', 'Raphael/Granite Ridge GPP Bridge', 1, 'Advanced Micro Devices, Inc. [AMD]'),
    rootPort('0000:00:02.1', '1022:14db', 'Raphael/Granite Ridge GPP Bridge', 3, 'Advanced Micro Devices, Inc. [AMD]'),
    rootPort('0000:00:02.2', '1022:14db', 'Raphael/Granite Ridge GPP Bridge', 4, 'Advanced Micro Devices, Inc. [AMD]'),
    rootPort('0000:00:02.3', '1022:14db', 'Raphael/Granite Ridge GPP Bridge', 5, 'Advanced Micro Devices, Inc. [AMD]'),
    { address: '0000:01:00.0', classCode: '0300', className: 'VGA compatible controller', vendor: 'Advanced Micro Devices, Inc. [AMD/ATI]', device: 'Navi 21 [Radeon RX 6800/6800 XT / 6900 XT]', id: '1002:73bf', rev: 'c1',
      subsystem: { id: '1da2:e437', name: 'Sapphire Technology Limited Device' }, driver: 'amdgpu', modules: ['amdgpu'], iommuGroup: 13, parent: '0000:00:01.1' },
    { address: '0000:01:00.1', classCode: '0403', className: 'Audio device', vendor: 'Advanced Micro Devices, Inc. [AMD/ATI]', device: 'Navi 21/23 HDMI/DP Audio Controller', id: '1002:ab28',
      subsystem: { id: '1da2:e437', name: 'Sapphire Technology Limited Device' }, driver: 'snd_hda_intel', modules: ['snd_hda_intel'], iommuGroup: 13, parent: '0000:00:01.1' },
    nvme('0000:02:00.0', 14, '0000:00:02.1'),
    nvme('0000:03:00.0', 15, '0000:00:02.2'),
    nic('0000:04:00.0', '8086:125c', 'Ethernet Controller I226-V', 'igc', 16, '0000:00:02.3'),
    { address: '0000:10:00.0', classCode: '0300', className: 'VGA compatible controller', vendor: 'Advanced Micro Devices, Inc. [AMD/ATI]', device: 'Granite Ridge [Radeon Graphics]', id: '1002:13c0', rev: 'c1',
      driver: 'amdgpu', modules: ['amdgpu'], iommuGroup: 20, bootVga: true },
    xhci('0000:10:00.3', '1022:15b6', 'Raphael/Granite Ridge USB 3.1 xHCI', 21, 'Advanced Micro Devices, Inc. [AMD]'),
  ],
  net: bridgeNet('enp4s0', '0000:04:00.0', '9c:6b:00:11:22:33', '192.168.20.12/24', '192.168.20.1'),
  block: { rows: zfsMirror(['nvme0n1', 'nvme1n1']), controllers: { nvme0n1: '0000:02:00.0', nvme1n1: '0000:03:00.0' } },
  corosync: null,
};

const pve81Intel65: ProfileData = {
  name: 'pve81-intel-6.5',
  hostname: 'pve81',
  cpu: { vendor: 'intel', model: 'Intel(R) Xeon(R) E-2388G CPU @ 3.20GHz' },
  firmware: { efi: true, iommu: true, interruptRemapping: true },
  kernel: { running: '6.5.13-6-pve', installed: ['6.5.13-6-pve'] },
  pveVersion: 'pve-manager/8.1.4/ec5affc9e41f1d79',
  debianVersion: '12.4',
  boot: { loader: 'grub', grubRoot: 'root=/dev/mapper/pve-root ro' },
  pci: [
    intelHost('8086:4c43', 'Rocket Lake-S 8c Host Bridge/DRAM Registers'),
    rootPort('0000:00:01.0', '8086:4c01', 'Rocket Lake PCI Express Controller #1', 1),
    ahci('0000:00:17.0', '8086:43d2', 'Tiger Lake-H SATA Controller', 4),
    rootPort('0000:00:1c.0', '8086:43b8', 'Tiger Lake-H PCI Express Root Port #1', 5),
    rootPort('0000:00:1c.1', '8086:43b9', 'Tiger Lake-H PCI Express Root Port #2', 6),
    ...nvidiaGpu('0000:01:00', 1, ['10de:1c30', 'GP106GL [Quadro P2000]'], ['10de:10f1', 'GP106 High Definition Audio Controller'], '0000:00:01.0'),
    nic('0000:02:00.0', '8086:1533', 'I210 Gigabit Network Connection', 'igb', 7, '0000:00:1c.0'),
    { address: '0000:03:00.0', classCode: '0300', className: 'VGA compatible controller', vendor: 'ASPEED Technology, Inc.', device: 'ASPEED Graphics Family', id: '1a03:2000', rev: '41',
      driver: 'ast', modules: ['ast'], iommuGroup: 8, bootVga: true, parent: '0000:00:1c.1' },
  ],
  net: bridgeNet('enp2s0', '0000:02:00.0', '3c:ec:ef:01:02:03', '10.0.0.81/24', '10.0.0.1'),
  block: { rows: lvmDisk('sda', true), controllers: { sda: '0000:00:17.0' } },
  corosync: null,
};

const pve7Kernel515: ProfileData = {
  name: 'pve7-5.15',
  hostname: 'pve7',
  cpu: { vendor: 'intel', model: 'Intel(R) Xeon(R) CPU E5-2680 v4 @ 2.40GHz' },
  firmware: { efi: false, iommu: true, interruptRemapping: true },
  kernel: { running: '5.15.158-2-pve', installed: ['5.15.143-1-pve', '5.15.158-2-pve'] },
  pveVersion: 'pve-manager/7.4-19/f98bf8d4',
  debianVersion: '11.11',
  boot: { loader: 'grub', grubRoot: 'root=/dev/mapper/pve-root ro' },
  pci: [
    intelHost('8086:6f00', 'Xeon E7 v4/Xeon E5 v4/Xeon E3 v4/Xeon D DMI2'),
    rootPort('0000:00:03.0', '8086:6f08', 'Xeon E7 v4/Xeon E5 v4/Xeon E3 v4/Xeon D PCI Express Root Port 3', 30),
    ahci('0000:00:1f.2', '8086:8d02', 'C610/X99 series chipset 6-Port SATA Controller [AHCI mode]', 40),
    rootPort('0000:00:1c.0', '8086:8d10', 'C610/X99 series chipset PCI Express Root Port #1', 35),
    ...nvidiaGpu('0000:02:00', 32, ['10de:1c03', 'GP106 [GeForce GTX 1060 6GB]'], ['10de:10f1', 'GP106 High Definition Audio Controller'], '0000:00:03.0', true),
    nic('0000:05:00.0', '8086:10d3', '82574L Gigabit Network Connection', 'e1000e', 36, '0000:00:1c.0'),
  ],
  net: bridgeNet('enp5s0', '0000:05:00.0', '00:25:90:aa:bb:cc', '192.168.7.10/24', '192.168.7.1'),
  block: { rows: lvmDisk('sda', false), controllers: { sda: '0000:00:1f.2' } },
  corosync: null,
};

const consumerBadGroup: ProfileData = {
  name: 'consumer-bad-group',
  hostname: 'homelab',
  cpu: { vendor: 'amd', model: 'AMD Ryzen 5 3600 6-Core Processor' },
  ...pve9EfiGrub,
  pci: [
    ...amdRootComplex(),
    amdGppBridge('0000:00:01.2', 2),
    rootPort('0000:02:00.0', '1022:43c6', '400 Series Chipset PCIe Bridge', 2, 'Advanced Micro Devices, Inc. [AMD]'),
    { ...ahci('0000:01:00.1', '1022:43c8', '400 Series Chipset SATA Controller', 2), vendor: 'Advanced Micro Devices, Inc. [AMD]', parent: '0000:00:01.2' },
    ...nvidiaGpu('0000:07:00', 2, ['10de:1f08', 'TU106 [GeForce RTX 2060 Rev. A]'], ['10de:10f9', 'TU106 High Definition Audio Controller'], '0000:02:00.0', true),
    nic('0000:08:00.0', '10ec:8168', 'RTL8111/8168/8211/8411 PCI Express Gigabit Ethernet Controller', 'r8169', 2, '0000:02:00.0', 'Realtek Semiconductor Co., Ltd.'),
    amdGppBridge('0000:00:03.1', 4),
    nic('0000:09:00.0', '8086:1539', 'I211 Gigabit Network Connection', 'igb', 5, '0000:00:03.1'),
  ],
  net: bridgeNet('enp9s0', '0000:09:00.0', 'b4:2e:99:01:02:03', '192.168.1.50/24', '192.168.1.1'),
  block: { rows: lvmDisk('sda', true), controllers: { sda: '0000:01:00.1' } },
  corosync: null,
};

const twinNics: ProfileData = {
  name: 'twin-nics',
  hostname: 'pve-twin',
  cpu: { vendor: 'intel', model: 'Intel(R) Xeon(R) Silver 4310 CPU @ 2.10GHz' },
  ...pve9EfiGrub,
  pci: [
    intelHost('8086:09a2', 'Ice Lake Memory Map/VT-d'),
    ahci('0000:00:17.0', '8086:a182', 'C620 Series Chipset Family SATA Controller [AHCI mode]', 3),
    rootPort('0000:00:1c.0', '8086:a190', 'C620 Series Chipset Family PCI Express Root Port #1', 4),
    nic('0000:05:00.0', '8086:1572', 'Ethernet Controller X710 for 10GbE SFP+', 'i40e', 20, '0000:00:1c.0', 'Intel Corporation', { id: '8086:0007', name: 'Intel Corporation Ethernet Converged Network Adapter X710-2' }),
    nic('0000:05:00.1', '8086:1572', 'Ethernet Controller X710 for 10GbE SFP+', 'i40e', 21, '0000:00:1c.0', 'Intel Corporation', { id: '8086:0000', name: 'Intel Corporation Ethernet Converged Network Adapter X710' }),
    nic('0000:06:00.0', '8086:1521', 'I350 Gigabit Network Connection', 'igb', 22, '0000:00:1c.0'),
    nic('0000:06:00.1', '8086:1521', 'I350 Gigabit Network Connection', 'igb', 23, '0000:00:1c.0'),
  ],
  net: {
    ifaces: [
      lo,
      { name: 'enp5s0f0np0', kind: 'phys', pci: '0000:05:00.0', mac: '3c:fd:fe:a0:00:01', addrs: [] },
      { name: 'enp5s0f1np1', kind: 'phys', pci: '0000:05:00.1', mac: '3c:fd:fe:a0:00:02', addrs: [] },
      { name: 'enp6s0f0', kind: 'phys', pci: '0000:06:00.0', mac: 'a0:36:9f:00:00:01', addrs: [] },
      { name: 'enp6s0f1', kind: 'phys', pci: '0000:06:00.1', mac: 'a0:36:9f:00:00:02', addrs: [] },
      { name: 'vmbr0', kind: 'bridge', ports: ['enp5s0f0np0'], mac: '3c:fd:fe:a0:00:01', addrs: ['10.10.0.21/24'] },
      { name: 'enp6s0f0.50', kind: 'vlan', parent: 'enp6s0f0', mac: 'a0:36:9f:00:00:01', addrs: ['10.50.0.21/24'] },
    ],
    defaultRoute: { via: '10.10.0.1', dev: 'vmbr0' },
  },
  block: { rows: lvmDisk('sda', true), controllers: { sda: '0000:00:17.0' } },
  corosync: corosync3('lab', 'pve-twin1', '10.50.0.21').replace('name: pve-twin1', 'name: pve-twin'),
};

const mgmtInTargetGroup: ProfileData = {
  ...pve9IntelGrubLvm,
  name: 'mgmt-in-target-group',
  hostname: 'pve-shared',
  pci: pve9IntelGrubLvm.pci.map((d) => (d.address === '0000:03:00.0' ? { ...d, address: '0000:02:00.0', parent: '0000:00:01.0', iommuGroup: 14 } : d)),
  net: bridgeNet('enp2s0', '0000:02:00.0', 'a8:a1:59:10:20:32', '192.168.10.12/24', '192.168.10.1'),
};

const debianPlainGrub: ProfileData = {
  ...pve9IntelGrubLvm,
  name: 'debian-plain-grub',
  hostname: 'deb13',
  kernel: { running: '6.12.48+deb13-amd64', installed: ['6.12.48+deb13-amd64'] },
  pveVersion: null,
  debianVersion: '13.1',
  boot: { loader: 'grub', grubRoot: 'root=UUID=5d3a1f0e-8c1b-4b7e-9d2a-0f6b1c2d3e4f ro' },
  block: {
    rows: [
      { name: 'sda', pkname: '', type: 'disk', fstype: '', mountpoint: '' },
      { name: 'sda1', pkname: 'sda', type: 'part', fstype: 'vfat', mountpoint: '/boot/efi' },
      { name: 'sda2', pkname: 'sda', type: 'part', fstype: 'ext4', mountpoint: '/' },
      { name: 'sda3', pkname: 'sda', type: 'part', fstype: 'swap', mountpoint: '[SWAP]' },
    ],
    controllers: { sda: '0000:00:17.0' },
  },
};

const firmwareIommuOff: ProfileData = {
  ...pve9IntelGrubLvm,
  name: 'firmware-iommu-off',
  hostname: 'pve-novtd',
  firmware: { efi: true, iommu: false, interruptRemapping: false },
};

/** ZFS on legacy BIOS: GRUB on ESPs managed by proxmox-boot-tool (the third loader case). */
const pve84ZfsBiosGrubPbt: ProfileData = {
  ...pve9IntelGrubLvm,
  name: 'pve84-intel-zfs-bios',
  hostname: 'pve84',
  firmware: { efi: false, iommu: true, interruptRemapping: true },
  kernel: { running: '6.8.12-9-pve', installed: ['6.8.12-9-pve'] },
  pveVersion: 'pve-manager/8.4.1/2a5fa54a8503f96d',
  debianVersion: '12.10',
  boot: {
    loader: 'grub-pbt',
    espUuids: ['5C2E-1A7B', '5C2E-9D04'],
    grubRoot: 'root=ZFS=/ROOT/pve-1 ro',
    defaultGrub: 'GRUB_DEFAULT=0\nGRUB_TIMEOUT=5\nGRUB_DISTRIBUTOR="Proxmox VE"\nGRUB_CMDLINE_LINUX_DEFAULT="quiet"\nGRUB_CMDLINE_LINUX="root=ZFS=rpool/ROOT/pve-1 boot=zfs"\n',
  },
  block: {
    rows: zfsMirror(['nvme0n1']).concat([
      { name: 'sda', pkname: '', type: 'disk', fstype: '', mountpoint: '' },
      { name: 'sda1', pkname: 'sda', type: 'part', fstype: '', mountpoint: '' },
      { name: 'sda2', pkname: 'sda', type: 'part', fstype: 'vfat', mountpoint: '' },
      { name: 'sda3', pkname: 'sda', type: 'part', fstype: 'zfs_member', mountpoint: '' },
    ]),
    controllers: { nvme0n1: '0000:04:00.0', sda: '0000:00:17.0' },
  },
  pci: [...pve9IntelGrubLvm.pci, { ...nvme('0000:04:00.0', 16, '0000:00:1c.0') }],
};

/** A homelab box run headless: a Ryzen without integrated graphics, one GPU (the boot GPU), managed over the network. */
const singleGpu: ProfileData = {
  name: 'single-gpu',
  hostname: 'pve-solo',
  cpu: { vendor: 'amd', model: 'AMD Ryzen 7 5800X 8-Core Processor' },
  ...pve9EfiGrub,
  pci: [
    ...amdRootComplex(),
    amdGppBridge('0000:00:01.1', 1),
    amdGppBridge('0000:00:03.1', 3),
    amdGppBridge('0000:00:01.2', 2),
    nvme('0000:01:00.0', 12, '0000:00:01.1'),
    nic('0000:02:00.0', '8086:1539', 'I211 Gigabit Network Connection', 'igb', 13, '0000:00:01.2'),
    ...nvidiaGpu('0000:0a:00', 20, ['10de:2503', 'GA106 [GeForce RTX 3060]'], ['10de:228e', 'GA106 High Definition Audio Controller'], '0000:00:03.1', true),
  ],
  net: bridgeNet('enp2s0', '0000:02:00.0', 'b4:2e:99:0a:0b:0c', '192.168.1.60/24', '192.168.1.1'),
  block: { rows: lvmDisk('nvme0n1', true), controllers: { nvme0n1: '0000:01:00.0' } },
  corosync: null,
};

/** The firmware is set to the discrete GPU first (PEG), so the RTX 3070 is the boot GPU; the iGPU stays with the host. */
const primaryDgpuIgpu: ProfileData = {
  ...pve9IntelGrubLvm,
  name: 'primary-dgpu-igpu',
  hostname: 'pve-ws',
  pci: pve9IntelGrubLvm.pci.map((d) => (d.address === '0000:01:00.0' ? { ...d, bootVga: true } : d.address === '0000:00:02.0' ? { ...d, bootVga: false } : d)),
};

/**
 * Configured by hand the way many guides say: nouveau blacklisted, so the
 * boot GPU comes up without a driver and sysfb's BOOTFB keeps its BAR 1:
 * a VM with this GPU fails with "BAR 1: can't reserve".
 */
const bootfbClaimsBar: ProfileData = {
  ...primaryDgpuIgpu,
  name: 'bootfb-claims-bar',
  hostname: 'pve-fb',
  files: { '/etc/modprobe.d/blacklist-nouveau.conf': 'blacklist nouveau\noptions nouveau modeset=0\n' },
};

/**
 * Set up by hand the way the PVE admin guide ("PCI(e) Passthrough") describes:
 * the vfio modules in /etc/modules, `options vfio-pci ids=… disable_vga=1`
 * plus softdeps in /etc/modprobe.d/vfio.conf, `iommu=pt` in /etc/default/grub,
 * update-initramfs and update-grub run: the RTX 3070 and its audio boot on vfio-pci.
 */
const handVfioFiles = {
  '/etc/modules': '# /etc/modules: kernel modules to load at boot time.\n#\n# This file contains the names of kernel modules that should be loaded\n# at boot time, one per line. Lines beginning with "#" are ignored.\n# Parameters can be specified after the module name.\n\nvfio\nvfio_iommu_type1\nvfio_pci\n',
  '/etc/modprobe.d/vfio.conf': 'options vfio-pci ids=10de:2484,10de:228b disable_vga=1\nsoftdep nouveau pre: vfio-pci\nsoftdep snd_hda_intel pre: vfio-pci\n',
};
const handGrub = (tokens: string): string =>
  `GRUB_DEFAULT=0\nGRUB_TIMEOUT=5\nGRUB_DISTRIBUTOR="Proxmox VE"\nGRUB_CMDLINE_LINUX_DEFAULT="quiet ${tokens}"\nGRUB_CMDLINE_LINUX=""\n`;

const pve9HandVfio: ProfileData = {
  ...pve9IntelGrubLvm,
  name: 'pve9-hand-vfio',
  hostname: 'pve-hand',
  boot: { ...pve9IntelGrubLvm.boot, defaultGrub: handGrub('iommu=pt') },
  files: handVfioFiles,
};

/** Half done by hand: an `ids=` line for the GPU only (not its audio), no softdeps, IOMMU tokens in GRUB; nouveau still wins the boot. */
const pve9HandPartial: ProfileData = {
  ...pve9HandVfio,
  name: 'pve9-hand-partial',
  hostname: 'pve-half',
  files: {
    '/etc/modules': handVfioFiles['/etc/modules'],
    '/etc/modprobe.d/vfio.conf': '# added by hand, see the wiki\noptions vfio-pci ids=10de:2484 disable_vga=1\n',
  },
};

export const PROFILES: Readonly<Record<string, ProfileData>> = Object.fromEntries(
  [pve9IntelGrubLvm, pve9AmdSdbootZfs, pve81Intel65, pve7Kernel515, consumerBadGroup, twinNics, mgmtInTargetGroup, debianPlainGrub, firmwareIommuOff, pve84ZfsBiosGrubPbt, singleGpu, primaryDgpuIgpu, bootfbClaimsBar, pve9HandVfio, pve9HandPartial].map((p) => [p.name, p]),
);

export const PROFILE_NAMES: readonly string[] = Object.keys(PROFILES);

/** A profile by name or as data, with overrides merged (objects merge, arrays and scalars replace). A deep copy. */
export function resolveProfile(profile: string | ProfileData, overrides?: ProfileOverrides): ProfileData {
  const base = typeof profile === 'string' ? PROFILES[profile] : profile;
  if (!base) throw new Error(`unknown host profile ${JSON.stringify(profile)}; known: ${PROFILE_NAMES.join(', ')}`);
  const copy = structuredClone(base) as ProfileData;
  return overrides ? (merge(copy, overrides) as ProfileData) : copy;
}

function merge(a: unknown, b: unknown): unknown {
  if (b === undefined) return a;
  if (b === null || typeof b !== 'object' || Array.isArray(b) || a === null || typeof a !== 'object' || Array.isArray(a)) return structuredClone(b);
  const out: Record<string, unknown> = { ...(a as Record<string, unknown>) };
  for (const [k, v] of Object.entries(b as Record<string, unknown>)) out[k] = merge(out[k], v);
  return out;
}
