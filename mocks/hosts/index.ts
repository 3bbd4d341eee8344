/** Public surface of the simulated hosts (see README.md in this folder). */
export { startSimHost, generateClientKey, generateHostKey, generateKeyPair, fingerprintOf } from './server.js';
export type { RunningSimHost, StartSimHostOptions, ClientKey } from './server.js';
export { SimHost } from './host.js';
export type { HostFaults, SimHostOptions, ExecOutcome, Violation, FailableCommand, HostPhase } from './host.js';
export { PROFILES, PROFILE_NAMES, resolveProfile } from './profiles.js';
export type { ProfileData, ProfileOverrides, PciSpec, NetIfaceSpec, BlockRow, BootLoaderKind } from './profile-types.js';
export { parseScript, tokenize, DialectError, readsStdin } from './dialect.js';
export { Vfs } from './vfs.js';
