export * from './types.js';
export { planVm, entryToHostpci, addressesOn } from './plan-vm.js';
export { ROOT_RULE_MESSAGE, rootRuleRefusals, writeNeedsRoot } from './root-rule.js';
export * from './mapping-plan.js';
export { verifyVm, verifyMappings, type VmObserved } from './verify-vm.js';
export { applyVmPlan, type VmApi, type ApplyVmResult } from './apply-vm.js';
