/**
 * A simulated host's hardware and install, as plain JSON-able data, so a
 * scenario file can name a profile and override fields. Everything the host
 * shows (files, sysfs, tool output) is derived from this plus its history.
 */

export interface PciSpec {
  /** 0000:01:00.0 */
  readonly address: string;
  /** 4 hex digits, e.g. "0300"; 06xx = bridge. */
  readonly classCode: string;
  readonly className: string;
  readonly vendor: string;
  readonly device: string;
  /** vendor:device, lowercase hex. */
  readonly id: string;
  readonly rev?: string;
  readonly subsystem?: { readonly id: string; readonly name: string };
  /** Driver the host binds by default (driver name as in `Kernel driver in use`), null = none. */
  readonly driver: string | null;
  /** Module providing `driver` when its name differs (xhci_hcd -> xhci_pci). */
  readonly driverModule?: string;
  /** `Kernel modules:` candidates. */
  readonly modules: readonly string[];
  /** IOMMU group when the IOMMU is on; null = not in a group (e.g. the AMD IOMMU function itself). */
  readonly iommuGroup: number | null;
  readonly bootVga?: boolean;
  /** Upstream bridge address (sysfs path nesting); absent = on the root bus. */
  readonly parent?: string;
}

export type NetIfaceSpec =
  | { readonly name: string; readonly kind: 'loopback'; readonly addrs: readonly string[] }
  | { readonly name: string; readonly kind: 'phys'; readonly pci: string; readonly mac: string; readonly addrs: readonly string[] }
  | { readonly name: string; readonly kind: 'bridge'; readonly ports: readonly string[]; readonly mac: string; readonly addrs: readonly string[] }
  | { readonly name: string; readonly kind: 'bond'; readonly slaves: readonly string[]; readonly mac: string; readonly addrs: readonly string[] }
  | { readonly name: string; readonly kind: 'vlan'; readonly parent: string; readonly mac: string; readonly addrs: readonly string[] };

export interface BlockRow {
  readonly name: string;
  readonly pkname: string;
  readonly type: 'disk' | 'part' | 'lvm' | 'rom' | 'loop';
  readonly fstype: string;
  readonly mountpoint: string;
}

export type BootLoaderKind = 'grub' | 'grub-pbt' | 'systemd-boot';

export interface ProfileData {
  readonly name: string;
  readonly hostname: string;
  readonly cpu: { readonly vendor: 'intel' | 'amd'; readonly model: string };
  readonly firmware: {
    readonly efi: boolean;
    /** DMAR/IVRS table present (VT-d / AMD-Vi enabled in the firmware). */
    readonly iommu: boolean;
    /** The platform supports interrupt remapping. */
    readonly interruptRemapping: boolean;
    /** The GPU the firmware leaves its framebuffer on; default the boot_vga device, null = none (headless firmware). */
    readonly framebuffer?: { readonly address: string } | null;
  };
  readonly kernel: {
    readonly running: string;
    readonly installed: readonly string[];
    /** /etc/kernel/proxmox-boot-pin */
    readonly pin?: string;
  };
  /** `pveversion` output without the running-kernel suffix, e.g. `pve-manager/9.1.4/5ac30304265fbd8e`; null = plain Debian. */
  readonly pveVersion: string | null;
  readonly debianVersion: string;
  readonly boot: {
    readonly loader: BootLoaderKind;
    /** ESP vfat UUIDs in /etc/kernel/proxmox-boot-uuids (PBT loaders). */
    readonly espUuids?: readonly string[];
    /** GRUB: `root=… ro` that grub-mkconfig puts before the GRUB_CMDLINE_* values. */
    readonly grubRoot?: string;
    /** /etc/default/grub content. */
    readonly defaultGrub?: string;
    /** /etc/kernel/cmdline content (systemd-boot). */
    readonly kernelCmdline?: string;
  };
  readonly pci: readonly PciSpec[];
  readonly net: {
    readonly ifaces: readonly NetIfaceSpec[];
    readonly defaultRoute: { readonly via: string; readonly dev: string };
  };
  readonly block: {
    readonly rows: readonly BlockRow[];
    /** Whole disk name -> PCI address of its controller. */
    readonly controllers: Readonly<Record<string, string>>;
  };
  /** /etc/pve/corosync.conf content; null = standalone. */
  readonly corosync: string | null;
  /** Extra files (path -> content) laid down at install time. */
  readonly files?: Readonly<Record<string, string>>;
  /** Extra module names systemd-modules-load can find (beyond device modules and the built-in list). */
  readonly extraModules?: readonly string[];
}

/** Deep partial for overrides: objects merge, arrays and scalars replace. */
export type ProfileOverrides = { readonly [K in keyof ProfileData]?: ProfileData[K] extends readonly unknown[] ? ProfileData[K] : ProfileData[K] extends object | null ? Partial<NonNullable<ProfileData[K]>> | ProfileData[K] : ProfileData[K] };
