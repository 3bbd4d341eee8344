/**
 * The shape of a simulated PVE cluster as a test or the fleet wiring declares
 * it. Hardware and node liveness come from outside (closures over the
 * simulated SSH hosts), so the API and the hosts never disagree.
 */

/** One PCI function as `GET /nodes/{node}/hardware/pci` reports it. */
export interface SimPciDevice {
  /** Always with domain, lowercase: `0000:01:00.0`. */
  readonly id: string;
  /** `0x030000` */
  readonly class: string;
  /** `0x10de` */
  readonly vendor: string;
  /** `0x2484` */
  readonly device: string;
  readonly subsystem_vendor?: string;
  readonly subsystem_device?: string;
  /** -1 when the node runs without an IOMMU. */
  readonly iommugroup: number;
  readonly vendor_name?: string;
  readonly device_name?: string;
  readonly subsystem_vendor_name?: string;
  readonly subsystem_device_name?: string;
  readonly mdev?: 0 | 1;
}

export interface SimNodeSpec {
  readonly name: string;
  readonly ip: string;
  readonly nodeid?: number;
  /** Corosync votes, default 1. */
  readonly votes?: number;
  /** Default: always online. */
  readonly online?: () => boolean;
  /** Default: no devices. */
  readonly pci?: () => SimPciDevice[];
  /** Default: true when any device has an IOMMU group >= 0. */
  readonly iommu?: () => boolean;
  /** `AA:BB:…`; default: the fingerprint of the certificate the sim server serves. */
  readonly sslFingerprint?: string;
  /** Default `9.1.9`. */
  readonly pveVersion?: string;
  /** Machine versions this node's QEMU knows, oldest first; default 8.0 … 9.2. */
  readonly machineVersions?: readonly string[];
  /** Seconds; default: since the sim was created. */
  readonly uptime?: () => number;
  readonly maxcpu?: number;
  readonly maxmem?: number;
}

export type SimVmStatus = 'running' | 'stopped';

export interface SimVmSpec {
  readonly vmid: number;
  readonly node: string;
  /** Shortcut for `config.name`. */
  readonly name?: string;
  readonly status?: SimVmStatus;
  /** Config keys as in the qemu-server file (`hostpci0`, `machine`, …). */
  readonly config?: Readonly<Record<string, string>>;
  readonly pending?: Readonly<Record<string, string>>;
  readonly pendingDelete?: readonly string[];
  /** The guest ignores the ACPI power button: shutdown times out unless forceStop. */
  readonly ignoreAcpiShutdown?: boolean;
  /** For a VM declared running: the machine its QEMU process runs (default: resolved from config). */
  readonly runningMachine?: string;
}

export interface SimContainerSpec {
  readonly vmid: number;
  readonly node: string;
  readonly name?: string;
  readonly status?: SimVmStatus;
}

export interface SimMappingSpec {
  readonly id: string;
  /** Property strings: `node=pve1,path=0000:01:00,id=10de:2204,…`. */
  readonly map: readonly string[];
  readonly description?: string;
  readonly mdev?: boolean;
  readonly 'live-migration-capable'?: boolean;
}

export interface SimTotpSpec {
  /** Base32 secret: codes per RFC 6238 (30 s steps, 6 digits, ±1 step). */
  readonly secret?: string;
  /** A fixed code that is always accepted (simpler for tests). */
  readonly code?: string;
}

export interface SimUserSpec {
  /** `root@pam` */
  readonly userid: string;
  readonly password: string;
  readonly totp?: SimTotpSpec;
  /** Privileges on every path; default all. root@pam always has all. */
  readonly privs?: readonly string[];
}

export interface SimTokenSpec {
  /** `svc@pve!deploy` */
  readonly tokenid: string;
  readonly secret: string;
  /** Effective privileges; default all. */
  readonly privs?: readonly string[];
  readonly expired?: boolean;
}

export interface SimHaResourceSpec {
  /** `vm:101` or `ct:200` */
  readonly sid: string;
  readonly state?: 'started' | 'stopped' | 'ignored' | 'disabled';
  readonly group?: string;
}

export interface SimClusterSpec {
  readonly name: string;
  /** A single node without a cluster: /cluster/status has no cluster item. */
  readonly standalone?: boolean;
  readonly nodes: readonly SimNodeSpec[];
  readonly vms?: readonly SimVmSpec[];
  readonly containers?: readonly SimContainerSpec[];
  readonly mappings?: readonly SimMappingSpec[];
  readonly users?: readonly SimUserSpec[];
  readonly tokens?: readonly SimTokenSpec[];
  readonly ha?: readonly SimHaResourceSpec[];
  /** Extra votes from a QDevice (default 0). */
  readonly qdeviceVotes?: number;
}

export interface SimApiOptions {
  /** msw URL prefix; default `*\/api2/json` (any origin). */
  readonly baseUrl?: string;
  /** How long a task stays `running` before its work completes (ms, default 15). */
  readonly taskMs?: number;
  /** Real milliseconds per simulated second for timeouts (default 1). */
  readonly simSecondMs?: number;
  /** Delay before a 401 (real PVE waits 3 s; default 0). */
  readonly authFailureDelayMs?: number;
  /** Ticket lifetime (default 2 h). */
  readonly ticketLifetimeMs?: number;
  /** Clock in ms (default Date.now). */
  readonly now?: () => number;
}

/** One line of the request log; secrets are already redacted. */
export interface SimRequestLogEntry {
  readonly time: string;
  readonly method: string;
  readonly path: string;
  readonly params: Readonly<Record<string, string | readonly string[]>>;
  readonly status?: number;
}
