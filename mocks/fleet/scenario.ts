/**
 * Scenario files: which clusters, nodes (host profiles), VMs and faults the
 * simulator serves, and what the generated inventory declares for them.
 * Validated with zod so a typo in a scenario is one clear error.
 */
import { z } from 'zod';

const hostFaults = z.strictObject({
  neverReturns: z.boolean().optional(),
  rebootDelayMs: z.number().int().min(0).max(600_000).optional(),
  guestsStartDelayMs: z.number().int().min(0).max(600_000).optional(),
  dropDuringWrite: z.union([z.boolean(), z.strictObject({ times: z.number().int().min(1).optional(), pathIncludes: z.string().optional(), at: z.enum(['cat', 'after-mv']).optional() })]).optional(),
  failCommand: z.partialRecord(z.enum(['update-grub', 'update-initramfs', 'proxmox-boot-tool refresh']), z.union([z.string(), z.strictObject({ stderr: z.string(), times: z.number().int().min(1) })])).optional(),
  slowCommand: z.partialRecord(z.enum(['update-grub', 'update-initramfs', 'proxmox-boot-tool refresh']), z.strictObject({ ms: z.number().int().min(1), times: z.number().int().min(1).optional() })).optional(),
  hostKeyChanged: z.boolean().optional(),
});

/** The inventory's node fields a scenario may declare (checked by the tool's own schema later). */
const declareNode = z.strictObject({
  devices: z.array(z.record(z.string(), z.unknown())).default([]),
  kernelParams: z.array(z.string()).optional(),
  iommuPassthrough: z.boolean().optional(),
  allowAcsOverride: z.boolean().optional(),
  allowUnsafeInterrupts: z.boolean().optional(),
  console: z.enum(['keep', 'headless']).optional(),
});

export const ScenarioNode = z.strictObject({
  name: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/),
  profile: z.string(),
  /** Deep-merged into the profile (see mocks/hosts/README.md). */
  overrides: z.record(z.string(), z.unknown()).optional(),
  faults: hostFaults.optional(),
  /** Login user; anything but root logs in as that user and uses sudo -n. */
  user: z.string().regex(/^[a-z_][a-z0-9_-]*$/).default('root'),
  rebootDelayMs: z.number().int().min(0).max(600_000).optional(),
  declare: declareNode.default({ devices: [] }),
});

export const ScenarioVm = z.strictObject({
  vmid: z.number().int().min(100),
  node: z.string(),
  name: z.string().optional(),
  status: z.enum(['running', 'stopped']).default('stopped'),
  config: z.record(z.string(), z.string()).default({}),
  ignoreAcpiShutdown: z.boolean().optional(),
  /** What the inventory declares for this VM (omit: the VM exists but is not declared). */
  declare: z.record(z.string(), z.unknown()).optional(),
});

export const ScenarioCluster = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/),
  standalone: z.boolean().default(false),
  /** ticket: root@pam password (raw hostpci allowed); token: an API token (mappings only). */
  auth: z.enum(['ticket', 'token']).default('ticket'),
  /** With auth "token": the token's privileges (default: all). PVE answers 403 `Permission check failed (<path>, <priv>)` where one lacks. */
  tokenPrivs: z.array(z.string().regex(/^[A-Z][A-Za-z.]*$/)).optional(),
  /** root@pam has a TOTP second factor (the inventory gets a code file). */
  totp: z.boolean().default(false),
  /** No API at all: a host-only inventory. */
  api: z.boolean().default(true),
  qdeviceVotes: z.number().int().min(0).max(1).optional(),
  policy: z.record(z.string(), z.unknown()).default({}),
  nodes: z.array(ScenarioNode).min(1),
  vms: z.array(ScenarioVm).default([]),
  containers: z.array(z.strictObject({ vmid: z.number().int(), node: z.string(), status: z.enum(['running', 'stopped']).default('stopped') })).default([]),
  /** Mappings the inventory declares (created by apply). */
  mappings: z.array(z.strictObject({
    id: z.string(), description: z.string().optional(), nodes: z.record(z.string(), z.union([z.string(), z.array(z.string())])),
    mdev: z.boolean().optional(), 'live-migration-capable': z.boolean().optional(),
  })).default([]),
  /** Mappings that already exist in the cluster (property strings as in the API). */
  existingMappings: z.array(z.strictObject({ id: z.string(), map: z.array(z.string()), description: z.string().optional() })).default([]),
  ha: z.array(z.strictObject({ sid: z.string(), state: z.enum(['started', 'stopped', 'ignored', 'disabled']).optional() })).default([]),
  /** mocks/api fault spec: requests, delays, tasks, digestConflictOnce, quorumLost. */
  apiFaults: z.record(z.string(), z.unknown()).optional(),
});

export const Scenario = z.strictObject({
  $schema: z.string().optional(),
  name: z.string().default('custom'),
  description: z.string().default(''),
  /** The client key the inventory uses is encrypted; its passphrase goes into a 0600 file. */
  encryptedClientKey: z.boolean().default(false),
  clusters: z.array(ScenarioCluster).min(1),
});

export type Scenario = z.infer<typeof Scenario>;
export type ScenarioCluster = z.infer<typeof ScenarioCluster>;
export type ScenarioNode = z.infer<typeof ScenarioNode>;

export function parseScenario(raw: unknown, source = 'scenario'): Scenario {
  const r = Scenario.safeParse(raw);
  if (!r.success) {
    const lines = r.error.issues.map((i) => `  - ${i.path.join('.') || '(top)'}: ${i.message}`);
    throw new Error(`${source}: ${r.error.issues.length} problem(s):\n${lines.join('\n')}`);
  }
  for (const c of r.data.clusters) {
    for (const v of c.vms) {
      if (!c.nodes.some((n) => n.name === v.node)) throw new Error(`${source}: VM ${v.vmid} names node "${v.node}", not in cluster "${c.name}"`);
    }
    if (c.standalone && c.nodes.length !== 1) throw new Error(`${source}: standalone cluster "${c.name}" must have exactly one node`);
  }
  return r.data;
}
