/** The simulated PVE REST API: public surface for tests, the fleet wiring and the demo. */
export { createSimApi, type SimApi } from './api.js';
export { createHandlers } from './handlers.js';
export { startSimApiServer, type SimApiServer, type SimApiServerOptions } from './server.js';
export { SimClusterState, SimVm, type QuorumInfo, type NodeRebootHook } from './state.js';
export { SimFaults, type RequestFault, type DelayFault, type TaskFault, type SimFaultSpec } from './faults.js';
export { redactParams, REDACTED } from './redact.js';
export { totpCode } from './totp.js';
export { renderConfigFile } from './config-file.js';
export type { SimTask } from './tasks.js';
export type * from './types.js';
