/** SSH transport: one connection per host per run, host key checks, exec, reboot wait. */
export { connectSsh, type SshConnectOptions } from './connect.js';
export { SshHost, DEFAULT_MAX_OUTPUT_BYTES, type SshExecResult } from './ssh-host.js';
export { rebootAndWait, REBOOT_SCRIPT, BOOT_ID_SCRIPT, type RebootableHost, type RebootWaitOptions } from './reboot.js';
export { fingerprintOf, expandHome, decideKnownHosts, preferredHostKeyAlgorithms, type HostKeyPolicy, type KnownHostsDecision } from './host-key.js';
export { checkHostKey, loadKnownHosts, knownHostsPath } from './host-key-check.js';
export { parseKnownHosts, hostMatches, hostToken, knownHostsLine, type KnownHostsEntry, type KnownHostsFile } from './known-hosts.js';
export { JumpPool, sharedJumpPool, type JumpHop, type JumpLease, type JumpTunnel } from './jump.js';
export { parseSshConfig, evaluateSshConfig, type SshConfig, type ConfigFile, type HostQuery, type RawHostConfig } from './ssh-config.js';
export { loadSshConfig, DEFAULT_SYSTEM_SSH_CONFIG, type LoadSshConfigOptions } from './ssh-config-load.js';
export { resolveSshTarget, parseProxyJump, type SshTargetSpec, type ResolveContext, type ResolvedTarget, type ResolvedEndpoint, type JumpSpec } from './resolve-target.js';
export { sshOptionsFor, type TargetOptionsInput } from './target-options.js';
