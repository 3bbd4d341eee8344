/**
 * The library API: the same engine the CLI runs.
 *
 *   import { loadInventory, plan, apply, verify } from 'pve-passthrough';
 *   const { inventory } = await loadInventory('inventory.json');
 *   const p = await plan(inventory, { onEvent: (e) => console.error(e) });
 *
 * Every entry point opens its own connections and closes them before it
 * returns. Events report progress; nothing is printed.
 */
export { loadInventory, parseInventoryText, validateInventory, type LoadedInventory } from './inventory/load.js';
export { inventoryFromFlags, type FlagInventory } from './inventory/from-flags.js';
export { Inventory, Cluster, Node, Vm, Device, HostpciEntry, Mapping, Policy } from './inventory/schema.js';
export { SecretStore } from './inventory/secrets.js';
export { openProfileStore, type Profile, type ProfileStore } from './inventory/profiles.js';
export { plan } from './engine/plan.js';
export { apply, type ApplyOptions } from './engine/apply.js';
export { verify } from './engine/verify.js';
export { rollback, type RollbackOptions, type RollbackReport } from './engine/rollback.js';
export { devices, describeDevices, type DeviceInfo, type NodeDevices } from './engine/devices.js';
export type { EngineOptions } from './engine/context.js';
export { summarisePlan, planHasWork } from './engine/types.js';
export type {
  Plan, ClusterPlan, NodePlan, VmPlan, MappingPlan, PlanSummary, ApplyReport, ApplyNodeResult, ApplyVmResult,
  VerifyReport, NodeVerification, VmVerification, ClusterVerification, EngineEvent, Selection, ErrorInfo,
} from './engine/types.js';
export type { Check, HostStep, Refusal, Warning } from './operations/types.js';
export type { HostFacts, PciDevice } from './facts/host/types.js';
// Errors: one base, one class per layer, a closed set of codes (docs/errors.md).
export {
  PassthroughError, InputError, SshError, HostKeyError, RemoteCommandError, ApiError, SafetyError, RunError, redact, type ErrorContext,
  ErrorCode, ERROR_CATALOGUE, isErrorCode, type CodeOf, type ErrorCodeInfo, type ErrorLayer,
} from './errors.js';
export { FormatError } from './formats/errors.js';
export { BatchParseError, UnsafeArgumentError } from './transport/shell.js';
export { UnsafeContentError } from './operations/host/paths.js';
export { TaskFailedError } from './transport/pve/client.js';
export { TlsPinError } from './transport/pve/tls.js';
export { LeaseError } from './engine/lease.js';
export { renderPlan } from './cli/render/plan.js';
export { renderVerify, type VerifyFormat } from './cli/render/verify.js';
