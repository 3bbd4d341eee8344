/**
 * The inventory: clusters -> nodes (host state) and VMs (API state).
 * Every string that can reach a host or an API call is pattern-checked here,
 * so that nothing downstream has to trust it.
 */
import { z } from 'zod';
import {
  CONFIG_ID, ENV_NAME, HOST_NAME, KERNEL_PARAM, MODULE_NAME, NODE_NAME, PCI_ADDRESS,
  PCI_ADDRESS_LOOSE, PCI_ID, PVE_TOKEN_ID, PVE_USER, SSH_FINGERPRINT, TLS_FINGERPRINT,
} from '../patterns.js';

const pciAddress = z.string().regex(PCI_ADDRESS, {
  message: 'expected a full PCI address with domain and function, lowercase, e.g. "0000:01:00.0" (see `pve-passthrough devices`)',
});
const pciId = z.string().regex(PCI_ID, { message: 'expected vendor:device as 4+4 lowercase hex digits, e.g. "10de:2484"' });
const moduleName = z.string().regex(MODULE_NAME, { message: 'expected a kernel module/driver name such as "nouveau" or "snd_hda_intel"' });
const envName = z.string().regex(ENV_NAME, { message: 'expected an environment variable name such as "PVE_TOKEN_SECRET"' });
const filePath = z.string().min(1).refine((p) => !p.includes('\0') && !/[\r\n]/.test(p), { message: 'paths may not contain NUL or line breaks' });

/** Where a secret comes from. Inline values need `allowInline: true` so they are never written by accident. */
export const SecretRef = z.strictObject({
  env: envName.optional(),
  file: filePath.optional().describe('a file holding only the secret; must be mode 0600'),
  value: z.string().min(1).optional(),
  allowInline: z.boolean().optional(),
  prompt: z.boolean().optional().describe('ask on the terminal when no other source is set'),
}).refine((s) => !(s.value !== undefined && s.allowInline !== true), {
  message: 'inline secrets are refused; use "env" or "file", or set "allowInline": true if you really mean it',
  path: ['value'],
});
export type SecretRef = z.infer<typeof SecretRef>;

export const ApiAuth = z.union([
  z.strictObject({ token: z.strictObject({ id: z.string().regex(PVE_TOKEN_ID, { message: 'expected user@realm!tokenid' }), secret: SecretRef }) }),
  z.strictObject({
    ticket: z.strictObject({
      username: z.string().regex(PVE_USER, { message: 'expected user@realm, e.g. "root@pam"' }),
      password: SecretRef,
      totp: SecretRef.optional(),
    }),
  }),
]);
export type ApiAuth = z.infer<typeof ApiAuth>;

export const ApiTls = z.union([
  z.strictObject({ fingerprint: z.string().regex(TLS_FINGERPRINT, { message: 'expected the SHA-256 fingerprint as `pvenode cert info` prints it (AA:BB:…, 32 pairs)' }) }),
  z.strictObject({ ca: filePath }),
  z.strictObject({ system: z.literal(true) }),
]);

export const Api = z.strictObject({
  url: z.url({ protocol: /^https$/, error: 'expected an https:// URL such as "https://pve1.example.com:8006"' }),
  tls: ApiTls.default({ system: true }),
  auth: ApiAuth,
  /** Optional second identity used only for raw `host=` hostpci writes (root@pam ticket rule). */
  rootTicket: z.strictObject({ password: SecretRef, totp: SecretRef.optional() }).optional(),
  timeoutSeconds: z.number().int().min(1).max(600).default(30),
});
export type Api = z.infer<typeof Api>;

export const HostKey = z.union([
  z.strictObject({ fingerprint: z.string().regex(SSH_FINGERPRINT, { message: 'expected "SHA256:…" as `ssh-keygen -lf` prints it' }) }),
  z.strictObject({ knownHosts: filePath }),
]);

/**
 * How to reach a node. `host` is what you would type after `ssh`: a name, an
 * address, or a Host alias from ssh_config. Settings left out here are filled
 * from ssh_config (HostName, User, Port, IdentityFile, UserKnownHostsFile,
 * ProxyJump, ...), then default to port 22, user root and ~/.ssh/known_hosts;
 * anything set here wins. See docs/ssh.md.
 */
export const Ssh = z.strictObject({
  host: z.string().regex(HOST_NAME, { message: 'expected a host name, IP address or ssh_config Host alias' }),
  port: z.number().int().min(1).max(65535).optional(),
  user: z.string().regex(/^[a-z_][a-z0-9_-]{0,31}$/, { message: 'expected a Unix user name' }).optional(),
  identityFile: filePath.optional(),
  passphrase: SecretRef.optional(),
  /** true: offer the ssh-agent; false: never; unset: only when no key file is available. */
  agent: z.boolean().optional(),
  hostKey: HostKey.optional(),
  /** Jump hosts as OpenSSH's ProxyJump: `user@host:port,user2@host2`, or "none" to ignore one from ssh_config. */
  proxyJump: z.string().max(1000).regex(
    /^(?:none|(?:ssh:\/\/)?(?:[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}@)?(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?(?:,(?:ssh:\/\/)?(?:[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}@)?(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?)*)$/,
    { message: 'expected ProxyJump syntax: [user@]host[:port], comma-separated, or "none"' },
  ).optional(),
  /** Read ssh_config for this node (default true; the file is optional unless -F names one). */
  useSshConfig: z.boolean().default(true),
  /** Non-root users: run every remote script under `sudo -n sh -c`. */
  sudo: z.boolean().default(false),
  connectTimeoutSeconds: z.number().int().min(1).max(300).default(15),
});
export type Ssh = z.infer<typeof Ssh>;

export const Device = z.strictObject({
  address: pciAddress,
  /** Expected vendor:device; the plan refuses when the hardware says otherwise. */
  id: pciId.optional(),
  /** Pass every function of the slot (e.g. GPU + its HDMI audio). */
  allFunctions: z.boolean().default(true),
  /** ids: `options vfio-pci ids=`; address: driver_override via modprobe install hook; auto: ids unless an undeclared twin exists. */
  bind: z.enum(['auto', 'ids', 'address']).default('auto'),
  /** Drivers to order after vfio-pci (softdep). Default: the device's current driver and its candidate modules. */
  softdep: z.array(moduleName).optional(),
  /** Drivers to blacklist entirely (host-wide). Only when asked. */
  blacklist: z.array(moduleName).default([]),
});
export type Device = z.infer<typeof Device>;

export const Node = z.strictObject({
  name: z.string().regex(NODE_NAME, { message: 'expected the PVE node name (a DNS label such as "pve1")' }),
  ssh: Ssh,
  devices: z.array(Device).default([]),
  /** Extra kernel parameters the operator wants (e.g. initcall_blacklist=sysfb_init for a boot GPU). */
  kernelParams: z.array(z.string().regex(KERNEL_PARAM, { message: 'expected one kernel parameter such as "iommu=pt" (no spaces or quotes)' })).default([]),
  /** Add iommu=pt. */
  iommuPassthrough: z.boolean().default(false),
  /** Explicit, logged opt-in for badly grouped boards. */
  allowAcsOverride: z.boolean().default(false),
  /** Explicit opt-in when interrupt remapping is missing. */
  allowUnsafeInterrupts: z.boolean().default(false),
});
export type Node = z.infer<typeof Node>;

const bool01 = z.boolean().optional();
export const HostpciEntry = z.strictObject({
  host: z.string().regex(PCI_ADDRESS_LOOSE, { message: 'expected a PCI address such as "0000:01:00" (all functions) or "0000:01:00.0"' }).transform((s) => s.toLowerCase()).optional(),
  mapping: z.string().regex(CONFIG_ID, { message: 'expected a mapping id: a letter, then letters, digits, _ or -' }).optional(),
  pcie: bool01,
  'x-vga': bool01,
  rombar: bool01,
  romfile: z.string().regex(/^[A-Za-z0-9_.+-]+$/, { message: 'expected a file name under /usr/share/kvm/' }).optional(),
  mdev: z.string().regex(/^[^/.:,;\s]+$/).optional(),
  'legacy-igd': bool01,
  driver: z.enum(['vfio', 'keep']).optional(),
  'vendor-id': z.string().regex(/^0x[0-9a-fA-F]{4}$/).optional(),
  'device-id': z.string().regex(/^0x[0-9a-fA-F]{4}$/).optional(),
  'sub-vendor-id': z.string().regex(/^0x[0-9a-fA-F]{4}$/).optional(),
  'sub-device-id': z.string().regex(/^0x[0-9a-fA-F]{4}$/).optional(),
}).refine((e) => (e.host === undefined) !== (e.mapping === undefined), { message: 'set exactly one of "host" or "mapping"' });
export type HostpciEntry = z.infer<typeof HostpciEntry>;

export const Vm = z.strictObject({
  vmid: z.number().int().min(100).max(999_999_999),
  node: z.string().regex(NODE_NAME),
  /** Desired machine type. Default: q35 when any entry has pcie, else leave as is. */
  machine: z.string().regex(/^(?:pc|q35|pc-(?:i440fx-)?\d+(?:\.\d+)+(?:\+pve\d+)?|pc-q35-\d+(?:\.\d+)+(?:\+pve\d+)?)(?:\.pxe)?(?:,viommu=(?:intel|virtio))?$/, { message: 'expected a machine type such as "q35" or "pc-q35-9.2+pve1"' }).optional(),
  hostpci: z.array(HostpciEntry).max(16, { message: 'a VM can have at most 16 hostpci entries (hostpci0..hostpci15)' }).default([]),
  /** true: hostpci entries not declared here are removed. */
  manageAllHostpci: z.boolean().default(false),
  /** What to do when the VM is running: leave the change pending, or shut down, apply and start. */
  whenRunning: z.enum(['pending', 'restart']).default('pending'),
  /** Hard stop after the shutdown timeout (restart only). */
  allowStop: z.boolean().default(false),
  shutdownTimeoutSeconds: z.number().int().min(10).max(3600).default(180),
});
export type Vm = z.infer<typeof Vm>;

export const Mapping = z.strictObject({
  id: z.string().regex(CONFIG_ID),
  description: z.string().max(200).optional(),
  /** node name -> PCI address on that node */
  nodes: z.record(z.string().regex(NODE_NAME), pciAddress),
});
export type Mapping = z.infer<typeof Mapping>;

export const Policy = z.strictObject({
  /** Nodes of this cluster that may be down at once; can only lower what quorum allows. */
  maxUnavailable: z.number().int().min(1).default(1),
  /** never | needed | always */
  reboot: z.enum(['never', 'needed', 'always']).default('needed'),
  /** A node to do first and verify before any other. */
  canary: z.string().regex(NODE_NAME).optional(),
  /** Running guests on a node about to reboot: refuse, or shut them down first. */
  guests: z.enum(['refuse', 'shutdown']).default('refuse'),
  /** Reboot a 2-node cluster without QDevice (quorum is lost while a node is down). */
  allowQuorumLoss: z.boolean().default(false),
  rebootTimeoutSeconds: z.number().int().min(1).max(7200).default(900),
  /** Stop this cluster's rollout after this many failed nodes. */
  maxFailures: z.number().int().min(1).default(1),
});
export type Policy = z.infer<typeof Policy>;

export const Cluster = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/, { message: 'expected a short cluster name' }),
  api: Api.optional(),
  policy: Policy.default(Policy.parse({})),
  nodes: z.array(Node).min(1, { message: 'a cluster needs at least one node' }),
  vms: z.array(Vm).default([]),
  mappings: z.array(Mapping).default([]),
});
export type Cluster = z.infer<typeof Cluster>;

export const Inventory = z.strictObject({
  $schema: z.string().optional(),
  version: z.literal(1, { message: 'expected "version": 1' }),
  clusters: z.array(Cluster).min(1, { message: 'the inventory needs at least one cluster' }),
}).superRefine((inv, ctx) => {
  const seenNodes = new Map<string, string>();
  inv.clusters.forEach((c, ci) => {
    if (inv.clusters.findIndex((o) => o.name === c.name) !== ci) {
      ctx.addIssue({ code: 'custom', path: ['clusters', ci, 'name'], message: `duplicate cluster name "${c.name}"` });
    }
    c.nodes.forEach((n, ni) => {
      const key = `${c.name}/${n.name}`;
      if (seenNodes.has(key)) ctx.addIssue({ code: 'custom', path: ['clusters', ci, 'nodes', ni, 'name'], message: `duplicate node "${n.name}" in cluster "${c.name}"` });
      seenNodes.set(key, key);
      n.devices.forEach((d, di) => {
        if (n.devices.findIndex((o) => o.address === d.address) !== di) {
          ctx.addIssue({ code: 'custom', path: ['clusters', ci, 'nodes', ni, 'devices', di, 'address'], message: `device ${d.address} is listed twice` });
        }
      });
    });
    c.vms.forEach((v, vi) => {
      if (c.vms.findIndex((o) => o.vmid === v.vmid) !== vi) {
        ctx.addIssue({ code: 'custom', path: ['clusters', ci, 'vms', vi, 'vmid'], message: `duplicate VM id ${v.vmid}` });
      }
      if (!c.nodes.some((n) => n.name === v.node)) {
        ctx.addIssue({ code: 'custom', path: ['clusters', ci, 'vms', vi, 'node'], message: `VM ${v.vmid} names node "${v.node}", which is not a node of cluster "${c.name}"` });
      }
      if (!c.api) {
        ctx.addIssue({ code: 'custom', path: ['clusters', ci, 'api'], message: `cluster "${c.name}" declares VMs but has no "api" section to reach them` });
      }
    });
    if (c.policy.canary && !c.nodes.some((n) => n.name === c.policy.canary)) {
      ctx.addIssue({ code: 'custom', path: ['clusters', ci, 'policy', 'canary'], message: `canary "${c.policy.canary}" is not a node of cluster "${c.name}"` });
    }
  });
});
export type Inventory = z.infer<typeof Inventory>;
