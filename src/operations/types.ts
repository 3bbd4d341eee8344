/**
 * Steps are what operations return: plain data describing one change, with a
 * before/after for the diff. The engine executes them in order; a plan that
 * holds no steps means the declared state already holds.
 */

export type HostStep =
  | {
      readonly kind: 'write-file';
      readonly path: string;
      /** Current content, null when the file does not exist yet. */
      readonly before: string | null;
      readonly after: string;
      readonly mode: string;
      readonly uid: number;
      readonly gid: number;
      readonly reason: string;
    }
  | { readonly kind: 'remove-file'; readonly path: string; readonly before: string; readonly reason: string }
  | {
      readonly kind: 'refresh';
      /** Exactly one of the fixed refresh commands. */
      readonly command: 'update-initramfs' | 'update-grub' | 'proxmox-boot-tool-refresh';
      readonly reason: string;
    }
  | {
      /** Live rebind without reboot (unbind, driver_override, bind vfio-pci). */
      readonly kind: 'live-bind';
      readonly address: string;
      readonly from: string | null;
      readonly reason: string;
    }
  | {
      /** End the HA maintenance an earlier run of the tool turned on and did not turn off. */
      readonly kind: 'leave-ha-maintenance';
      readonly run: string;
      readonly reason: string;
    }
  | { readonly kind: 'reboot'; readonly reasons: readonly string[] };

/** Something the tool will not do, and why (exit 2 on plan, reported on apply). */
export interface Refusal {
  readonly subject: string; // e.g. "device 0000:01:00.0" or "VM 101"
  readonly reason: string;
  readonly fix?: string;
}

export interface Warning {
  readonly subject: string;
  readonly message: string;
}

/** A verification check: pass / fail / n/a with the evidence line. */
export interface Check {
  readonly id: string; // stable, e.g. "iommu-active", "device-bound:0000:01:00.0"
  readonly status: 'pass' | 'fail' | 'na';
  readonly message: string;
  readonly evidence?: string;
}

export interface HostPlanResult {
  readonly steps: readonly HostStep[];
  readonly refused: readonly Refusal[];
  readonly warnings: readonly Warning[];
  /** Why the node must reboot for the change to take effect; empty = no reboot. */
  readonly rebootReasons: readonly string[];
  /** With `exact: false`: what the host has that the declaration leaves out, kept (keep-current.ts). */
  readonly kept?: readonly string[];
}
