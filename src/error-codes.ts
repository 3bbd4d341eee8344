/**
 * The closed catalogue of error codes: every code the tool raises is declared
 * here and nowhere else (test/errors/catalogue.test.ts greps src/ for code
 * literals). Each code belongs to one layer, and each layer has one error
 * class in src/errors.ts whose `code` is typed by that layer's codes, so a
 * library caller can `switch (err.code)` over a closed set. docs/errors.md is
 * generated from this table (`npm run gen:errors`).
 */

/** Where an error comes from; one error class per layer (src/errors.ts). */
export type ErrorLayer = 'input' | 'format' | 'ssh' | 'api' | 'safety' | 'run';

export interface ErrorCodeInfo {
  readonly layer: ErrorLayer;
  /** One line: what happened. */
  readonly meaning: string;
  /** One line: the usual fix (the error's own `fix`, when it has one, is more precise). */
  readonly fix: string;
}

const CATALOGUE = {
  // input: nothing was contacted
  E_INPUT: { layer: 'input', meaning: 'The inventory, a flag, a plan file or a library argument is invalid; nothing was contacted.', fix: 'Correct the field the message names; every problem is listed at once.' },

  // format: PVE value formats
  E_FORMAT: { layer: 'format', meaning: 'A value in a PVE format (hostpci, machine, mapping entry, UPID) does not parse or cannot be written.', fix: 'Correct the value the message quotes, in the inventory or in the VM config.' },

  // ssh: host-level transport
  E_SSH_CONNECT: { layer: 'ssh', meaning: 'The SSH connection to a node (directly or through its jump host) was refused, reset, closed during setup, or its name does not resolve.', fix: 'Check that the node is up, that sshd runs, and ssh.host / ssh.port / ssh.proxyJump in the inventory.' },
  E_SSH_AUTH: { layer: 'ssh', meaning: 'SSH authentication failed with every method tried.', fix: 'Check ssh.user, ssh.identityFile or the agent, and the public key in the node\'s authorized_keys.' },
  E_SSH_TIMEOUT: { layer: 'ssh', meaning: 'Connecting to a node over SSH timed out.', fix: 'Check that the node is up and that nothing filters the SSH port.' },
  E_SSH_KEY: { layer: 'ssh', meaning: 'The SSH private key cannot be read or used (missing, unreadable, encrypted without its passphrase).', fix: 'Check ssh.identityFile and ssh.passphrase.' },
  E_SSH_CONFIG: { layer: 'ssh', meaning: 'The OpenSSH client config used for a node is invalid or has unsafe permissions.', fix: 'Correct the line the message names, or the file\'s owner and permissions (OpenSSH refuses it too).' },
  E_SSH_CLOSED: { layer: 'ssh', meaning: 'The SSH connection to the node is closed.', fix: 'Reconnect to the node (run the command again).' },
  E_SSH_EXEC: { layer: 'ssh', meaning: 'An SSH channel for a command could not be opened.', fix: 'Check sshd MaxSessions on the node and that the connection is alive.' },
  E_SSH_OUTPUT_TOO_LARGE: { layer: 'ssh', meaning: 'A remote command printed more than the output limit; it was stopped.', fix: 'This output is not expected from a PVE host; inspect the node.' },
  E_KNOWN_HOSTS: { layer: 'ssh', meaning: 'The known_hosts file cannot be read or written, or is not a regular file only its owner can write.', fix: 'Check the path and permissions of hostKey.knownHosts, or pin hostKey.fingerprint.' },
  E_HOST_KEY: { layer: 'ssh', meaning: 'The node\'s SSH host key is unknown or changed; the connection is refused and the fingerprint shown.', fix: 'Verify the fingerprint on the node, then add it to known_hosts or pin hostKey.fingerprint.' },
  E_REMOTE_COMMAND: { layer: 'ssh', meaning: 'A remote command exited non-zero.', fix: 'Read the command\'s stderr in the message and fix the cause on the node.' },
  E_BATCH_PARSE: { layer: 'ssh', meaning: 'The output of a batched remote read is malformed (a section marker is missing or broken, e.g. truncated output).', fix: 'Run again; if it persists, check the node for a login script that prints to stdout.' },
  E_REBOOT_TIMEOUT: { layer: 'ssh', meaning: 'A node did not come back from its reboot in time (no new boot_id, or not online and quorate in the cluster); the rollout of its cluster stopped.', fix: 'Check the node\'s console/BMC; once it is up, run verify, then apply again.' },

  // api: VM-level transport (PVE REST API)
  E_API_PARAM: { layer: 'api', meaning: 'The PVE API rejected a request\'s parameters (HTTP 400); the message lists each parameter\'s error.', fix: 'Correct the value the message names (usually in the inventory\'s VM section).' },
  E_API_AUTH: { layer: 'api', meaning: 'The PVE API refused the login or the token (HTTP 401), or a two-factor step is missing.', fix: 'Check the token id and secret, or the user, password and totp, in the cluster\'s api section.' },
  E_API_PERMISSION: { layer: 'api', meaning: 'The PVE API denied a request (HTTP 403); the message names the likely missing privilege.', fix: 'Grant that privilege to the token or user on the path named.' },
  E_API_NOT_IMPLEMENTED: { layer: 'api', meaning: 'The node\'s PVE version does not implement the request (HTTP 501).', fix: 'Upgrade the node, or leave out the feature that needs it.' },
  E_API_DIGEST: { layer: 'api', meaning: 'A VM config changed between our read and our write (digest mismatch), so the write was refused.', fix: 'Someone else is editing the VM: wait, then plan and apply again.' },
  E_API_SERVER: { layer: 'api', meaning: 'The PVE API answered with a server error (HTTP 5xx or another status).', fix: 'Read the server\'s message; check pveproxy/pvedaemon on the node.' },
  E_API_NETWORK: { layer: 'api', meaning: 'The PVE API cannot be reached (connection refused, reset, name not resolved).', fix: 'Check api.url and the network path to port 8006.' },
  E_API_TIMEOUT: { layer: 'api', meaning: 'The PVE API gave no answer in time, or a task was still running when the wait ended.', fix: 'Check the node\'s load and pveproxy; raise the timeout if the task is known to be slow.' },
  E_API_RESPONSE: { layer: 'api', meaning: 'The PVE API answered with a shape the tool does not accept (no data field, wrong types, no task id).', fix: 'Check that api.url points at a PVE node (port 8006) of a supported version.' },
  E_API_ROOT_ONLY: { layer: 'api', meaning: 'The change needs root@pam itself (raw hostpci by PCI address); a token or another user cannot make it.', fix: 'Use a cluster mapping for the device, or give the cluster a rootTicket login.' },
  E_TASK_FAILED: { layer: 'api', meaning: 'A PVE task (config change, shutdown, start) ended with an error; the message carries its exit status and log tail.', fix: 'Read the task log in the message (or in the PVE UI) and fix its cause.' },
  E_TLS: { layer: 'api', meaning: 'The PVE API\'s TLS certificate is not trusted; no request was sent.', fix: 'Pin its fingerprint (`pvenode cert info`) or give the cluster CA file (pve-root-ca.pem) in the api tls section.' },
  E_TLS_PIN: { layer: 'api', meaning: 'The PVE API\'s TLS certificate does not match the pinned fingerprint; the connection was closed before any request.', fix: 'If the certificate was renewed on purpose, pin the new fingerprint from `pvenode cert info`.' },

  // safety: a gate said no; nothing unsafe was done
  E_PLAN_DIFFERS: { layer: 'safety', meaning: 'A saved plan is not a plan, was made from another inventory, or differs from what the planner makes now; it is not applied.', fix: 'Run plan again with this inventory, review it, and apply that plan.' },
  E_PLAN_MISMATCH: { layer: 'safety', meaning: 'The plan names a cluster that is not in the inventory.', fix: 'Make a new plan from this inventory.' },
  E_CHANGED_SINCE_PLAN: { layer: 'safety', meaning: 'A node\'s files or state changed between plan and apply; nothing was written on that node.', fix: 'Run plan again, review it, then apply.' },
  E_CHANGED_SINCE_RUN: { layer: 'safety', meaning: 'Rollback refused: files changed after the run being rolled back; nothing was restored.', fix: 'Look at the files first; rollback --force restores anyway and keeps their current content in its own backup.' },
  E_MANIFEST: { layer: 'safety', meaning: 'A run\'s backup manifest is unreadable or names a backup outside that run\'s folder; nothing was changed.', fix: 'Inspect /var/lib/pve-passthrough/backups on the node.' },
  E_BACKUP_MISSING: { layer: 'safety', meaning: 'A backup named in the manifest is missing; rollback stopped.', fix: 'Inspect /var/lib/pve-passthrough/backups on the node.' },
  E_BACKUP_CHECKSUM: { layer: 'safety', meaning: 'A backup does not match its checksum in the manifest; rollback stopped.', fix: 'Inspect the backup by hand; nothing was changed.' },
  E_BACKUP: { layer: 'safety', meaning: 'A file could not be backed up before it was to be overwritten, so it was not overwritten.', fix: 'Check free space and permissions under /var/lib/pve-passthrough on the node.' },
  E_QUORUM: { layer: 'safety', meaning: 'A reboot was refused: the cluster would lose quorum, or quorum cannot be read.', fix: 'Bring the cluster back to full quorum (or adjust the policy), then run apply again.' },
  E_GUESTS_RUNNING: { layer: 'safety', meaning: 'A reboot was refused: guests run on the node and the policy does not allow stopping them.', fix: 'Shut them down or migrate them, or set policy.guests to "shutdown" (VMs only).' },
  E_HA_MAINTENANCE: { layer: 'safety', meaning: 'A reboot was refused: HA resources run on the node and could not be moved off it (no maintenance mode, or they did not move).', fix: 'Check `ha-manager status`; move the resources yourself or give them a mapping on another node, then run apply again.' },
  E_ROLLOUT_STOPPED: { layer: 'safety', meaning: 'An earlier node of the cluster failed, so the rollout stopped before this node.', fix: 'Fix the first failed node (see its error), then run apply again.' },
  E_UNSAFE_CONTENT: { layer: 'safety', meaning: 'A value that does not match its strict pattern was about to be written into a host file; refused.', fix: 'Correct the value in the inventory (module names, PCI ids, kernel arguments).' },
  E_UNSAFE_ARGUMENT: { layer: 'safety', meaning: 'A remote command was about to carry an argument that cannot be quoted safely (NUL, line break, bad key); refused.', fix: 'Correct the value in the inventory; no remote command was run with it.' },

  // run: the engine's own state (lease, interruption, cluster vs inventory)
  E_LEASE: { layer: 'run', meaning: 'The run lease (one run per cluster or node at a time) could not be taken or kept.', fix: 'Check that the cluster is quorate (/etc/pve is read-only without quorum), then run again.' },
  E_LEASE_HELD: { layer: 'run', meaning: 'Another pve-passthrough run holds the lease; this run did not start its changes.', fix: 'Wait for that run to finish.' },
  E_LEASE_UNREACHABLE: { layer: 'run', meaning: 'The connection dropped while taking or releasing the lease.', fix: 'Check the node and run again.' },
  E_INTERRUPTED: { layer: 'run', meaning: 'The run was interrupted (Ctrl-C or an abort signal) at a safe point.', fix: 'Run apply again to finish; it picks up where this run stopped.' },
  E_RUN_OVER: { layer: 'run', meaning: 'A job asked for a new connection after its run had ended; none was opened.', fix: 'A bug: report it with the run\'s log.' },
  E_VM_MISSING: { layer: 'run', meaning: 'A VM the inventory declares does not exist in the cluster (or this login cannot see it).', fix: 'Correct the vmid in the inventory; the message lists the VMs the cluster has.' },
  E_VM_NODE: { layer: 'run', meaning: 'A VM runs on another node than the inventory says.', fix: 'Correct the VM\'s node in the inventory (or migrate the VM back).' },
  E_VERIFY: { layer: 'run', meaning: 'After apply, the verification of a node or VM found failing checks.', fix: 'Read the failing checks in the report; run verify for the detail.' },
  E_INTERNAL: { layer: 'run', meaning: 'An unexpected error (a bug, or a failure of a library the tool uses).', fix: 'Report it with the message and the run\'s log.' },
} as const satisfies Record<`E_${string}`, ErrorCodeInfo>;

/** Every error code the tool raises: a closed union. */
export type ErrorCode = keyof typeof CATALOGUE;

/** The codes of one layer, e.g. `CodeOf<'ssh'>`. */
export type CodeOf<L extends ErrorLayer> = { [K in ErrorCode]: (typeof CATALOGUE)[K]['layer'] extends L ? K : never }[ErrorCode];

type ShortName<K extends string> = K extends `E_${infer R}` ? R : never;

/** The codes as constants: `ErrorCode.API_AUTH === 'E_API_AUTH'`. Throw sites use these, never a string. */
export const ErrorCode = Object.freeze(
  Object.fromEntries(Object.keys(CATALOGUE).map((k) => [k.slice(2), k])),
) as { readonly [K in ErrorCode as ShortName<K>]: K };

/** Meaning, usual fix and layer of every code, in declaration order. */
export const ERROR_CATALOGUE: Readonly<Record<ErrorCode, ErrorCodeInfo>> = CATALOGUE;

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(CATALOGUE, value);
}
