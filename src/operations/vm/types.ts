/**
 * Values the VM operations take and return. What they read of a VM is the VM
 * facts' shape (src/facts/vm/types.ts).
 */
import type { HostFacts } from '../../facts/host/types.js';
import type { Node } from '../../inventory/schema.js';
import type { Refusal, Warning } from '../types.js';

export type { OtherAssignment, PendingItem, VmCurrent } from '../../facts/vm/types.js';
import type { OtherAssignment } from '../../facts/vm/types.js';

/** A mapping's node → address(es) table (declared in the inventory or read from the cluster); several = a pool. */
export interface MappingNodes {
  readonly id: string;
  readonly nodes: Readonly<Record<string, string | readonly string[]>>;
}

/** The VM's node as the host-safety check sees it: its declaration and its facts (null: could not be read). */
export interface VmHostContext {
  readonly node: Node;
  readonly facts: HostFacts | null;
  /** Why the facts are missing. */
  readonly error?: string;
}

export interface VmPlanContext {
  readonly mappings: readonly MappingNodes[];
  readonly otherAssignments: readonly OtherAssignment[];
  readonly authKind: 'token' | 'ticket';
  readonly hasRootTicket: boolean;
  /** Machine ids the VM's node offers (GET /nodes/{node}/capabilities/qemu/machines), newest first; unset = not read. */
  readonly machines?: readonly string[];
  /** The VM's node: every hostpci entry is checked against it like a node device (the engine always sets it). */
  readonly host?: VmHostContext;
}

export interface VmChange {
  readonly key: string;
  readonly before?: string;
  readonly after?: string;
}

export interface VmPlan {
  readonly vmid: number;
  readonly node: string;
  readonly set: Readonly<Record<string, string>>;
  readonly delete: readonly string[];
  readonly digest: string;
  readonly changes: readonly VmChange[];
  /** none: applies at once (stopped VM, or nothing to do); pending: left for the next start; restart: shutdown → apply → start. */
  readonly power: 'none' | 'pending' | 'restart';
  readonly shutdown: { readonly timeoutSeconds: number; readonly allowStop: boolean };
  /** The config the plan was made from (old values for the root rule). */
  readonly before: Readonly<Record<string, string>>;
  readonly warnings: readonly Warning[];
  readonly refused: readonly Refusal[];
  /** With `exact: false`: what the VM has that the declaration leaves out, kept (keep-current.ts). */
  readonly kept?: readonly string[];
}
