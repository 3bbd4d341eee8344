/** Host operations: pure planning and verification for one PVE node. */
export { planHost } from './plan-host.js';
export { verifyHost, rebootPendingReasons } from './verify-host.js';
export { checkSafety, firmwareIommuOff } from './safety.js';
export { desiredCmdlineTokens, planKernelCmdline, iommuKind, configuredCmdline } from './kernel-cmdline.js';
export { desiredVfioModules, planVfioModules, VFIO_MODULES } from './vfio-modules.js';
export { planModprobe, renderModprobe, installLine, resolveBinding, functionsOf } from './driver-binding.js';
export { refreshSteps } from './refresh.js';
export { applyFileSteps, fileSteps } from './file-steps.js';
export { GRUB_DROPIN, MODULES_LOAD_FILE, MODPROBE_FILE, MANAGED_HEADER } from './paths.js';
