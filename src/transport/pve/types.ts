import type { Dispatcher } from 'undici';

/** A TOTP code, or something that produces a fresh one when asked (codes expire every 30 s). */
export type TotpSource = string | (() => string | Promise<string>);

export type PveTls = { readonly fingerprint: string } | { readonly ca: string } | { readonly system: true };

export type PveAuth =
  | { readonly token: { readonly id: string; readonly secret: string } }
  | { readonly ticket: { readonly username: string; readonly password: string; readonly totp?: TotpSource } };

export interface PveClientOptions {
  /** https://host:8006 (a trailing /api2/json is accepted). */
  readonly baseUrl: string;
  /** Fingerprint pin, a CA (PEM text), or the system CAs. */
  readonly tls: PveTls;
  readonly auth: PveAuth;
  /** root@pam password (and TOTP) used only for writes that the root rule reserves (raw host= hostpci). */
  readonly rootTicket?: { readonly password: string; readonly totp?: TotpSource };
  /** Per HTTP request (connect, headers, body). */
  readonly timeoutMs: number;
  /** Injected for tests; otherwise a keep-alive Agent built from `tls`. */
  readonly dispatcher?: Dispatcher;
  /** GET retries on network errors and 502/503/504 (writes are never retried). */
  readonly retries?: { readonly attempts: number; readonly baseDelayMs: number };
  readonly sleep?: (ms: number) => Promise<void>;
  /** Clock for ticket renewal. */
  readonly now?: () => number;
  /** Cluster name for error context. */
  readonly cluster?: string;
}

export interface PendingItem {
  readonly key: string;
  readonly value?: string;
  readonly pending?: string;
  /** 1 = pending delete, 2 = forced delete. */
  readonly delete?: number;
}

export interface VmConfig {
  /** Every option as a string (numbers from the API are stringified). */
  readonly config: Readonly<Record<string, string>>;
  readonly digest: string;
}

export interface VmStatus {
  readonly status: 'running' | 'stopped';
  readonly qmpstatus?: string;
  readonly lock?: string;
  readonly 'running-machine'?: string;
  readonly name?: string;
}

export interface TaskStatus {
  readonly status: 'running' | 'stopped';
  readonly exitstatus?: string;
  readonly upid?: string;
  readonly type?: string;
}

export interface HardwarePciDevice {
  readonly id: string;
  readonly class: string;
  readonly vendor: string;
  readonly device: string;
  readonly subsystem_vendor?: string;
  readonly subsystem_device?: string;
  readonly iommugroup: number;
  readonly mdev?: boolean;
  readonly vendor_name?: string;
  readonly device_name?: string;
}

export interface PciMappingInfo {
  readonly id: string;
  readonly description?: string;
  readonly map: readonly string[];
  readonly digest?: string;
  readonly mdev?: boolean;
  readonly 'live-migration-capable'?: boolean;
  readonly checks?: readonly { severity: string; message: string }[];
}

export type ClusterStatusItem =
  | { readonly type: 'cluster'; readonly name: string; readonly nodes: number; readonly quorate: boolean; readonly version?: number }
  | { readonly type: 'node'; readonly name: string; readonly nodeid?: number; readonly ip?: string; readonly online: boolean; readonly local?: boolean; readonly level?: string };

/** The fields of a /cluster/resources guest the tool uses. */
export interface GuestResource {
  readonly type: 'qemu' | 'lxc' | string;
  readonly vmid: number;
  readonly node: string;
  readonly status: string;
  readonly name?: string;
  readonly template?: number;
  /** `;`-separated PVE tags. */
  readonly tags?: string;
}

export interface HaResource {
  /** `vm:101`, `ct:200`. */
  readonly sid: string;
  readonly type?: string;
  /** Absent = started. */
  readonly state?: string;
  readonly group?: string;
}

export interface NodeListItem {
  readonly node: string;
  readonly status: string;
  readonly ssl_fingerprint?: string;
  readonly uptime?: number;
}

export interface PveVersion {
  readonly version: string;
  readonly release?: string;
  readonly repoid?: string;
}

export interface TaskResult {
  readonly upid: string;
  readonly exitstatus: string;
}

export interface WaitOptions {
  readonly timeoutMs?: number;
  readonly pollMs?: number;
}
