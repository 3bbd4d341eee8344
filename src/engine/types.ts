/**
 * The plan is a plain serialisable value: what would change, per node and
 * per VM, and what was refused. `apply --plan FILE` executes exactly this,
 * after checking that the facts it was made from still hold.
 */
import type { Check, HostStep, Refusal, Warning } from '../operations/types.js';
import type { VmPlan as OpsVmPlan } from '../operations/vm/types.js';
import type { ErrorCode } from '../error-codes.js';

export interface NodePlan {
  readonly cluster: string;
  readonly node: string;
  /** sha256 of the facts the plan was made from (null when facts could not be read). */
  readonly factsFingerprint: string | null;
  readonly bootId: string | null;
  readonly bootLoader: string | null;
  readonly kernel: string | null;
  readonly steps: readonly HostStep[];
  readonly refused: readonly Refusal[];
  readonly warnings: readonly Warning[];
  /** Empty = no reboot needed. */
  readonly rebootReasons: readonly string[];
  /** With `exact: false` (--host flags without --exact): what the declaration leaves out and the host keeps. */
  readonly kept?: readonly string[];
  /** Set when facts could not be gathered: the node is not planned. */
  readonly error?: ErrorInfo;
}

/** A VM's plan: the pure VM planner's result plus where it is and how it runs. */
export type VmPlan = OpsVmPlan & {
  readonly cluster: string;
  readonly status: 'running' | 'stopped' | 'unknown';
  readonly error?: ErrorInfo;
};

export interface MappingPlan {
  readonly cluster: string;
  readonly id: string;
  readonly action: 'create' | 'update' | 'none';
  readonly map: readonly string[];
  readonly before?: readonly string[];
  readonly digest?: string;
  readonly description?: string;
}

export interface ClusterPlan {
  readonly name: string;
  readonly nodes: readonly NodePlan[];
  readonly vms: readonly VmPlan[];
  readonly mappings: readonly MappingPlan[];
  readonly warnings: readonly Warning[];
}

export interface Plan {
  readonly version: 1;
  readonly runId: string;
  readonly createdAt: string;
  /** sha256 of the canonical inventory the plan was made from. */
  readonly inventoryDigest: string;
  readonly clusters: readonly ClusterPlan[];
}

export interface ErrorInfo {
  /** One of the catalogue's codes (docs/errors.md). */
  readonly code: ErrorCode;
  readonly message: string;
  readonly step?: string;
  readonly fix?: string;
}

export interface PlanSummary {
  readonly nodesWithChanges: number;
  readonly steps: number;
  readonly reboots: number;
  readonly vmsWithChanges: number;
  readonly mappingsWithChanges: number;
  readonly refused: number;
  readonly errors: number;
}

export function summarisePlan(plan: Plan): PlanSummary {
  let nodesWithChanges = 0, steps = 0, reboots = 0, vmsWithChanges = 0, mappingsWithChanges = 0, refused = 0, errors = 0;
  for (const c of plan.clusters) {
    for (const n of c.nodes) {
      if (n.steps.length > 0) nodesWithChanges++;
      steps += n.steps.length;
      if (n.steps.some((s) => s.kind === 'reboot')) reboots++;
      refused += n.refused.length;
      if (n.error) errors++;
    }
    for (const v of c.vms) {
      if (v.changes.length > 0) vmsWithChanges++;
      refused += v.refused.length;
      if (v.error) errors++;
    }
    mappingsWithChanges += c.mappings.filter((m) => m.action !== 'none').length;
  }
  return { nodesWithChanges, steps, reboots, vmsWithChanges, mappingsWithChanges, refused, errors };
}

/** Something to act on: nothing pending and nothing refused means exit 0. */
export function planHasWork(s: PlanSummary): boolean {
  return s.steps > 0 || s.vmsWithChanges > 0 || s.mappingsWithChanges > 0 || s.refused > 0;
}

export interface NodeVerification {
  readonly cluster: string;
  readonly node: string;
  readonly checks: readonly Check[];
  readonly error?: ErrorInfo;
}

export interface VmVerification {
  readonly cluster: string;
  readonly node: string;
  readonly vmid: number;
  readonly checks: readonly Check[];
  readonly error?: ErrorInfo;
}

export interface ClusterVerification {
  readonly cluster: string;
  /** Cluster-wide checks (PCI mappings). */
  readonly checks: readonly Check[];
  readonly error?: ErrorInfo;
}

export interface VerifyReport {
  readonly version: 1;
  readonly runId: string;
  readonly checkedAt: string;
  readonly nodes: readonly NodeVerification[];
  readonly vms: readonly VmVerification[];
  readonly clusters: readonly ClusterVerification[];
  /** compliant: every check pass/na; drift: any fail; error: something could not be checked. */
  readonly verdict: 'compliant' | 'drift' | 'error';
}

export type NodeOutcome = 'unchanged' | 'applied' | 'failed' | 'refused' | 'skipped';

export interface ApplyNodeResult {
  readonly cluster: string;
  readonly node: string;
  readonly outcome: NodeOutcome;
  readonly stepsDone: number;
  readonly rebooted: boolean;
  /** Written and refreshed, but the running system catches up only at the next boot (reboot policy "never"). */
  readonly rebootPending?: boolean;
  readonly message: string;
  readonly checks: readonly Check[];
  readonly error?: ErrorInfo;
}

export interface ApplyVmResult {
  readonly cluster: string;
  readonly node: string;
  readonly vmid: number;
  readonly outcome: NodeOutcome | 'pending';
  readonly message: string;
  readonly error?: ErrorInfo;
}

export interface ApplyReport {
  readonly version: 1;
  readonly runId: string;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly nodes: readonly ApplyNodeResult[];
  readonly vms: readonly ApplyVmResult[];
  readonly mappings: readonly { cluster: string; id: string; outcome: NodeOutcome; message: string }[];
  readonly ok: boolean;
  /** What to do next, for a person. */
  readonly next: readonly string[];
}

/** Progress for the CLI (live lines in a terminal, plain lines otherwise) and for library users. */
export type EngineEvent =
  | { readonly type: 'phase'; readonly phase: 'facts' | 'plan' | 'apply' | 'verify' | 'rollback'; readonly message: string }
  | { readonly type: 'node'; readonly cluster: string; readonly node: string; readonly status: 'start' | 'step' | 'reboot' | 'wait' | 'done' | 'failed' | 'skipped'; readonly message: string }
  | { readonly type: 'vm'; readonly cluster: string; readonly vmid: number; readonly status: 'start' | 'step' | 'done' | 'failed' | 'skipped'; readonly message: string }
  | { readonly type: 'warning'; readonly subject: string; readonly message: string }
  | { readonly type: 'command'; readonly node: string; readonly script: string };

export interface Selection {
  readonly clusters?: readonly string[];
  readonly nodes?: readonly string[];
  readonly vms?: readonly number[];
}
