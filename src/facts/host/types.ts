/**
 * What the tool knows about one host after one batched read. Produced by the
 * pure parsers in src/facts/host/, consumed by src/operations/host/.
 * Every field is data; no functions, no clock: a HostFacts value serialises
 * to JSON and its fingerprint pins a saved plan to the state it was made from.
 */

export type CpuVendor = 'intel' | 'amd' | 'unknown';

/** A file as read on the host. `null` content = the file does not exist. */
export interface RemoteFile {
  readonly path: string;
  readonly content: string | null;
  /** From `stat -c '%n %a %u %g'`, when the file exists. */
  readonly mode?: string; // e.g. "0644"
  readonly uid?: number;
  readonly gid?: number;
}

export interface BootLoader {
  /** Which loader turns the configured cmdline into the running one. */
  readonly kind: 'grub' | 'systemd-boot';
  /** ESPs managed by proxmox-boot-tool (refresh with `proxmox-boot-tool refresh`). */
  readonly proxmoxBootTool: boolean;
  readonly efi: boolean;
  /** The evidence lines the decision was made from. */
  readonly evidence: readonly string[];
}

export interface KernelInfo {
  /** `uname -r`, e.g. 6.8.12-9-pve */
  readonly running: string;
  /** The kernel that will boot next (pin, next-boot pin, else newest installed); equals running when unknown. */
  readonly next: string;
  readonly installed: readonly string[];
}

export interface IommuState {
  /** /sys/class/iommu has entries (what qemu-server itself checks). */
  readonly active: boolean;
  /** dmar* => intel, ivhd* => amd (from /sys/class/iommu, else ACPI tables). */
  readonly kind: 'intel' | 'amd' | null;
  readonly units: readonly string[];
  /** DMAR / IVRS ACPI table present: the firmware has the IOMMU enabled. */
  readonly firmwareTable: 'DMAR' | 'IVRS' | null;
  /** From dmesg: `DMAR-IR: Enabled IRQ remapping` / `AMD-Vi: Interrupt remapping enabled`; null = no evidence either way. */
  readonly interruptRemapping: boolean | null;
  /** `iommu: Default domain type: Passthrough` seen. */
  readonly passthroughDomain: boolean | null;
  /** dmesg lines relevant to IOMMU/vfio (trimmed, at most 200). */
  readonly evidence: readonly string[];
}

export interface PciDevice {
  /** Full address 0000:01:00.0 */
  readonly address: string;
  /** Class code, 4 hex digits from lspci, e.g. "0300". */
  readonly classCode: string;
  readonly className: string;
  readonly description: string;
  /** vendor:device lowercase hex, e.g. "10de:2484". */
  readonly id: string;
  readonly subsystemId: string | null;
  /** `Kernel driver in use`, null when unbound. */
  readonly driver: string | null;
  /** `Kernel modules` candidates. */
  readonly modules: readonly string[];
  /** IOMMU group number, null when the IOMMU is off. */
  readonly iommuGroup: number | null;
  /** boot_vga = 1 */
  readonly bootVga: boolean;
  /** class 06xx (bridges, root ports). */
  readonly isBridge: boolean;
  /** driver_override content, null when "(null)" or unreadable. */
  readonly driverOverride: string | null;
}

export type HostNeedReason =
  | { readonly kind: 'management-network'; readonly iface: string; readonly detail: string }
  | { readonly kind: 'cluster-network'; readonly iface: string; readonly detail: string }
  | { readonly kind: 'root-disk'; readonly detail: string }
  | { readonly kind: 'storage'; readonly detail: string }
  | { readonly kind: 'boot-console'; readonly detail: string };

/** One directive of a modprobe.d file (src/facts/host/modprobe-d.ts). */
export interface ModprobeEntry {
  /** Module name as kmod stores it (`-` turned into `_`). */
  readonly module: string;
  readonly file: string;
  /** First and last physical line of the (possibly continued) line, 1-based. */
  readonly line: number;
  readonly endLine: number;
  /** The logical line as kmod read it. */
  readonly text: string;
}
export interface ModprobeOptions extends ModprobeEntry {
  /** Everything after the separator that follows the module name, as written. */
  readonly options: string;
}
export interface ModprobeSoftdep extends ModprobeEntry {
  readonly pre: readonly string[];
  readonly post: readonly string[];
}

/** Every modprobe.d directive kmod reads, in its reading order (see modprobe-d.ts for what wins). */
export interface ModprobeConfig {
  /** Files read, in kmod's order. */
  readonly files: readonly string[];
  readonly options: readonly ModprobeOptions[];
  readonly softdeps: readonly ModprobeSoftdep[];
  readonly installs: readonly (ModprobeEntry & { readonly command: string })[];
  readonly removes: readonly (ModprobeEntry & { readonly command: string })[];
  readonly blacklist: readonly ModprobeEntry[];
}

/** One module systemd-modules-load loads at boot, with where it is named. */
export interface ModuleToLoad {
  readonly module: string;
  readonly file: string;
  readonly line: number;
}

/** One assignment to GRUB_CMDLINE_LINUX or GRUB_CMDLINE_LINUX_DEFAULT, in grub-mkconfig's sourcing order. */
export interface GrubCmdlineAssignment {
  readonly file: string;
  /** 1-based line where the assignment starts. */
  readonly line: number;
  /** GRUB_CMDLINE_LINUX_DEFAULT or GRUB_CMDLINE_LINUX. */
  readonly name: string;
  /** Expanded value; null when it cannot be known (command substitution, inside if/for/case). */
  readonly value: string | null;
  /** Right-hand side as written, quotes included. */
  readonly raw: string;
  /** Refers to itself (`$GRUB_CMDLINE_LINUX_DEFAULT …`): extends rather than replaces. */
  readonly selfReference: boolean;
  readonly conditional: boolean;
}

/** What /etc/default/grub plus /etc/default/grub.d/*.cfg configure, evaluated like grub-mkconfig sources them. */
export interface GrubFacts {
  /** Effective values after sourcing every file; null when some assignment could not be evaluated. */
  readonly cmdlineLinuxDefault: string | null;
  readonly cmdlineLinux: string | null;
  readonly assignments: readonly GrubCmdlineAssignment[];
  /** Files sourced, in order (/etc/default/grub first, then grub.d/*.cfg in byte order). */
  readonly order: readonly string[];
}

/** A firmware framebuffer range of /proc/iomem and the PCI BAR it lies on (null: on no BAR). */
export interface FramebufferClaim {
  /** BOOTFB (sysfb/simpledrm), efifb, vesafb, simplefb … as /proc/iomem names it. */
  readonly name: string;
  /** Lowercase hex without 0x. */
  readonly start: string;
  readonly end: string;
  readonly address: string | null;
  /** BAR index 0..5, 6 = ROM. */
  readonly bar: number | null;
}

export interface HostFacts {
  readonly hostname: string;
  readonly cpuVendor: CpuVendor;
  readonly kernel: KernelInfo;
  /** `pve-manager/9.1.4/…` version, null when not a PVE host (plain Debian is supported, with a warning). */
  readonly pveVersion: string | null;
  readonly debianVersion: string | null;
  readonly bootLoader: BootLoader;
  /** Running kernel command line (/proc/cmdline): the only ground truth. */
  readonly procCmdline: string;
  /** Every file read that the operations may look at or change, keyed by absolute path. */
  readonly files: Readonly<Record<string, RemoteFile>>;
  /** The effective modprobe.d configuration (every directory kmod reads, the tool's file included). */
  readonly modprobe: ModprobeConfig;
  /** Modules systemd-modules-load loads at boot (modules-load.d directories, /etc/modules through modules.conf), in order. */
  readonly modulesToLoad: readonly ModuleToLoad[];
  /** systemd reads /etc/modules (Debian's /etc/modules-load.d/modules.conf -> ../modules); absent = assume so, as Debian ships it. */
  readonly readsEtcModules?: boolean;
  /** /proc/modules names. */
  readonly modulesLoaded: readonly string[];
  /**
   * Kernel release -> modules built into it (modules.builtin, names with `_`). Absent or
   * without the next kernel: unknown. A built-in driver cannot be kept off a device by address.
   */
  readonly builtinModules?: Readonly<Record<string, readonly string[]>>;
  /**
   * The disable_vga vfio-pci runs with (/sys/module/vfio_pci/parameters/disable_vga): true = `Y`,
   * false = `N`, null = no such file (vfio_pci not loaded, or built without VGA support).
   * Absent: not read, or unreadable (then a parse error says why).
   */
  readonly vfioDisableVga?: boolean | null;
  readonly iommu: IommuState;
  readonly pci: readonly PciDevice[];
  /** Firmware framebuffers from /proc/iomem and the BARs they hold; `hidden`: iomem showed only zero addresses. */
  readonly framebuffer: { readonly claims: readonly FramebufferClaim[]; readonly hidden: boolean };
  /** BDF -> why the host cannot give this device away. */
  readonly hostNeeds: Readonly<Record<string, readonly HostNeedReason[]>>;
  readonly bootId: string;
  /** `systemctl --failed` unit names. */
  readonly failedUnits: readonly string[];
  /** Problems met while parsing (garbled output); a non-empty list blocks writes. */
  readonly parseErrors: readonly string[];
  /** Added by the facts parsers (optional): the GRUB command line as configured; absent when no GRUB defaults file exists. */
  readonly grub?: GrubFacts;
}
