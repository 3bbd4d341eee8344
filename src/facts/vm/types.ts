/**
 * The VM facts (src/facts/vm/vm-config.ts) as values. Structural copies of
 * what the API client returns, so the operations that take them do not import
 * the transport.
 */

export interface PendingItem {
  readonly key: string;
  readonly value?: string;
  readonly pending?: string;
  readonly delete?: number;
}

/** What plan reads of a VM. */
export interface VmCurrent {
  /** GET …/config (pending values merged in). */
  readonly config: Readonly<Record<string, string>>;
  readonly digest: string;
  readonly pending: readonly PendingItem[];
  readonly status: 'running' | 'stopped';
}

/** What verify reads of a VM. */
export interface VmObserved {
  /** GET …/config?current=1: what is in effect now. */
  readonly config: Readonly<Record<string, string>>;
  readonly pending: readonly PendingItem[];
  readonly status: 'running' | 'stopped';
  /** status/current running-machine, when running. */
  readonly runningMachine?: string;
}

/** A hostpci entry of another VM, for "already assigned" checks. */
export interface OtherAssignment {
  readonly vmid: number;
  readonly node: string;
  readonly key: string;
  readonly value: string;
}
