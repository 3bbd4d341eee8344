/**
 * The shape of every API answer the tool reads (field names and types as in
 * PVE's API schema, pve-docs api-viewer). Each must hold or the read is an
 * E_API_RESPONSE naming the endpoint and the field: nothing falls back to a
 * default, least of all a safety input (cluster status, HA resources, guests,
 * VM status). Fields the tool does not use pass through loosely.
 */
import { z } from 'zod';

const bool01 = z.union([z.boolean(), z.number()]).transform((v) => v === true || v === 1);
const scalar = z.union([z.string(), z.number(), z.boolean()]).transform((v) => (typeof v === 'boolean' ? (v ? '1' : '0') : String(v)));

export const VmConfigShape = z.looseObject({ digest: z.string().min(1) }).transform((o) => {
  const config: Record<string, string> = {};
  for (const [k, v] of Object.entries(o)) {
    if (k === 'digest') continue;
    const parsed = scalar.safeParse(v);
    if (parsed.success) config[k] = parsed.data;
  }
  return { config, digest: o.digest };
});

export const PendingShape = z.array(z.looseObject({
  key: z.string(),
  value: scalar.optional(),
  pending: scalar.optional(),
  delete: z.number().optional(),
}));

export const VmStatusShape = z.looseObject({
  status: z.enum(['running', 'stopped']),
  qmpstatus: z.string().optional(),
  lock: z.string().optional(),
  'running-machine': z.string().optional(),
  name: z.string().optional(),
});

export const TaskStatusShape = z.looseObject({
  status: z.enum(['running', 'stopped']),
  exitstatus: z.string().optional(),
  upid: z.string().optional(),
  type: z.string().optional(),
});

export const TaskLogShape = z.array(z.looseObject({ n: z.number(), t: z.string() }));

export const HardwarePciShape = z.array(z.looseObject({
  id: z.string(),
  class: z.string(),
  vendor: z.string(),
  device: z.string(),
  subsystem_vendor: z.string().optional(),
  subsystem_device: z.string().optional(),
  iommugroup: z.number().int(),
  mdev: bool01.optional(),
  vendor_name: z.string().optional(),
  device_name: z.string().optional(),
}));

export const ClusterStatusShape = z.array(z.union([
  z.looseObject({ type: z.literal('cluster'), name: z.string(), nodes: z.number(), quorate: bool01, version: z.number().optional() }),
  z.looseObject({
    type: z.literal('node'), name: z.string(), nodeid: z.number().optional(), ip: z.string().optional(),
    online: bool01, local: bool01.optional(), level: z.string().optional(),
  }),
]));

export const QemuMachinesShape = z.array(z.looseObject({ id: z.string(), type: z.string(), version: z.string().optional() }));

export const PciMappingShape = z.looseObject({
  id: z.string(),
  description: z.string().optional(),
  map: z.array(z.string()),
  digest: z.string().optional(),
  mdev: bool01.optional(),
  'live-migration-capable': bool01.optional(),
  checks: z.array(z.looseObject({ severity: z.string(), message: z.string() })).optional(),
});

export const PciMappingsShape = z.array(PciMappingShape);

/** GET /cluster/resources?type=vm: the guests (VMs and containers) this login may audit, on every node. */
export const GuestResourcesShape = z.array(z.looseObject({
  type: z.string().min(1),
  vmid: z.number().int(),
  node: z.string().min(1),
  status: z.string(),
  name: z.string().optional(),
  template: bool01.transform((b) => (b ? 1 : 0)).optional(),
  tags: z.string().optional(),
}));

/** GET /cluster/ha/resources: `state` absent means started (pve-ha-manager's default). */
export const HaResourcesShape = z.array(z.looseObject({
  sid: z.string().min(1),
  type: z.string().optional(),
  state: z.string().optional(),
  group: z.string().optional(),
}));

export const NodesShape = z.array(z.looseObject({
  node: z.string().min(1),
  status: z.string(),
  ssl_fingerprint: z.string().optional(),
  uptime: z.number().optional(),
}));

export const VersionShape = z.looseObject({ version: z.string().min(1), release: z.string().optional(), repoid: z.string().optional() });

export const TicketShape = z.looseObject({
  username: z.string(),
  ticket: z.string().min(1),
  CSRFPreventionToken: z.string().optional(),
  NeedTFA: bool01.optional(),
});
