export * from './types.js';
export { planVm, entryToHostpci, addressesOn, ROOT_RULE_REFUSAL } from './plan-vm.js';
export * from './mapping-plan.js';
export { verifyVm, verifyMappings, type VmObserved } from './verify-vm.js';
export { applyVmPlan, type VmApi, type ApplyVmResult } from './apply-vm.js';
