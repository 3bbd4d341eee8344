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
  env: envName.optional().describe('Name of the environment variable holding the secret, e.g. "PVE_TOKEN_SECRET".'),
  file: filePath.optional().describe('A file holding only the secret; it must be mode 0600 (~ and relative paths are resolved against the inventory).'),
  value: z.string().min(1).optional().describe('The secret itself, inline. Refused unless "allowInline" is true.'),
  allowInline: z.boolean().optional().describe('Set to true to accept an inline "value" (it then lives in the inventory file).'),
  prompt: z.boolean().optional().describe('Ask on the terminal (no echo) when no other source gives a value.'),
}).refine((s) => !(s.value !== undefined && s.allowInline !== true), {
  message: 'inline secrets are refused; use "env" or "file", or set "allowInline": true if you really mean it',
  path: ['value'],
}).meta({ id: 'SecretRef', description: 'Where a secret comes from: an environment variable, a 0600 file, a prompt, or an explicitly allowed inline value. Secrets are redacted from every log and report.' });
export type SecretRef = z.infer<typeof SecretRef>;

export const ApiAuth = z.union([
  z.strictObject({
    token: z.strictObject({
      id: z.string().regex(PVE_TOKEN_ID, { message: 'expected user@realm!tokenid' }).describe('API token id, user@realm!tokenid, e.g. "automation@pve!passthrough".'),
      secret: SecretRef.describe("The token's secret (UUID)."),
    }).describe('API token authentication (recommended). A token cannot write raw host= hostpci entries: use mappings, or add rootTicket.'),
  }),
  z.strictObject({
    ticket: z.strictObject({
      username: z.string().regex(PVE_USER, { message: 'expected user@realm, e.g. "root@pam"' }).describe('PVE user, user@realm, e.g. "root@pam".'),
      password: SecretRef.describe("The user's password."),
      totp: SecretRef.optional().describe('A TOTP code source, when the user has two-factor authentication.'),
    }).describe('Password (ticket) authentication.'),
  }),
]).describe('How to authenticate to the API: exactly one of "token" or "ticket".');
export type ApiAuth = z.infer<typeof ApiAuth>;

export const ApiTls = z.union([
  z.strictObject({ fingerprint: z.string().regex(TLS_FINGERPRINT, { message: 'expected the SHA-256 fingerprint as `pvenode cert info` prints it (AA:BB:…, 32 pairs)' }).describe('Pin the certificate: its SHA-256 fingerprint as `pvenode cert info` prints it (AA:BB:…, 32 pairs).') }),
  z.strictObject({ ca: filePath.describe('A PEM file with the CA that signed the API certificate (e.g. the cluster\'s pve-root-ca.pem).') }),
  z.strictObject({ system: z.literal(true).describe("Trust the system's CA store.") }),
]).describe('How the API certificate is verified: exactly one of "fingerprint", "ca" or "system". Verification is never skipped.');

export const Api = z.strictObject({
  url: z.url({ protocol: /^https$/, error: 'expected an https:// URL such as "https://pve1.example.com:8006"' }).describe('The cluster API, https only, e.g. "https://pve1.example.com:8006".'),
  tls: ApiTls.default({ system: true }),
  auth: ApiAuth,
  /** Optional second identity used only for raw `host=` hostpci writes (root@pam ticket rule). */
  rootTicket: z.strictObject({
    password: SecretRef.describe("root@pam's password."),
    totp: SecretRef.optional().describe('A TOTP code source, when root@pam has two-factor authentication.'),
  }).optional().describe('A root@pam password ticket used only for raw host= hostpci writes, which PVE allows to root@pam alone.'),
  timeoutSeconds: z.number().int().min(1).max(600).default(30).describe('Timeout of one API request, in seconds.'),
}).describe("The cluster's REST API, needed for VMs and mappings (and for quorum and guest checks before reboots).");
export type Api = z.infer<typeof Api>;

export const HostKey = z.union([
  z.strictObject({ fingerprint: z.string().regex(SSH_FINGERPRINT, { message: 'expected "SHA256:…" as `ssh-keygen -lf` prints it' }).describe('Pin the host key: "SHA256:…" as `ssh-keygen -lf` prints it.') }),
  z.strictObject({ knownHosts: filePath.describe('An OpenSSH known_hosts file to check the host key against (hashed entries and [host]:port are understood).') }),
]).describe('How the SSH host key is verified: a pinned fingerprint or a known_hosts file. Default: UserKnownHostsFile from ssh_config, else ~/.ssh/known_hosts. A changed key is always refused.');

/**
 * How to reach a node. `host` is what you would type after `ssh`: a name, an
 * address, or a Host alias from ssh_config. Settings left out here are filled
 * from the cluster's `defaults.ssh`, then from ssh_config (HostName, User,
 * Port, IdentityFile, UserKnownHostsFile, ProxyJump, ...), then default to
 * port 22, user root and ~/.ssh/known_hosts; anything set here wins. See docs/ssh.md.
 */
const sshFields = {
  port: z.number().int().min(1).max(65535).optional().describe('SSH port. Default: Port from ssh_config, else 22.'),
  user: z.string().regex(/^[a-z_][a-z0-9_-]{0,31}$/, { message: 'expected a Unix user name' }).optional().describe('SSH user. Default: User from ssh_config, else root. A user other than root needs "sudo": true.'),
  identityFile: filePath.optional().describe('Private key file (~ and relative paths are resolved against the inventory). Default: IdentityFile from ssh_config.'),
  passphrase: SecretRef.optional().describe("The private key's passphrase, when it has one."),
  agent: z.boolean().optional().describe('true: offer the ssh-agent ($SSH_AUTH_SOCK); false: never; unset: only when no key file is available.'),
  hostKey: HostKey.optional(),
  proxyJump: z.string().max(1000).regex(
    /^(?:none|(?:ssh:\/\/)?(?:[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}@)?(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?(?:,(?:ssh:\/\/)?(?:[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}@)?(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?)*)$/,
    { message: 'expected ProxyJump syntax: [user@]host[:port], comma-separated, or "none"' },
  ).optional().describe('Jump hosts as OpenSSH\'s ProxyJump: "user@host:port,user2@host2", or "none" to ignore one from ssh_config. Host keys are verified on every hop.'),
  useSshConfig: z.boolean().default(true).describe('Read ssh_config for this node (the file is optional unless -F names one).'),
  sudo: z.boolean().default(false).describe('Run every remote script under `sudo -n sh -c` (for a user other than root; needs passwordless sudo).'),
  connectTimeoutSeconds: z.number().int().min(1).max(300).default(15).describe('How long to wait for the SSH connection and handshake, in seconds.'),
};

export const Ssh = z.strictObject({
  host: z.string().regex(HOST_NAME, { message: 'expected a host name, IP address or ssh_config Host alias' }).describe('What you would type after `ssh`: a host name, an IP address, or a Host alias from ssh_config.'),
  ...sshFields,
}).describe('How to reach the node over SSH. Unset settings come from the cluster\'s defaults.ssh, then ssh_config, then port 22, user root and ~/.ssh/known_hosts.');
export type Ssh = z.infer<typeof Ssh>;

const kernelParams = z.array(z.string().regex(KERNEL_PARAM, { message: 'expected one kernel parameter such as "iommu=pt" (no spaces or quotes)' }));
const softdep = z.array(moduleName);

export const Device = z.strictObject({
  address: pciAddress.describe('Full PCI address with domain and function, lowercase, e.g. "0000:01:00.0" (see `pve-passthrough devices`).'),
  id: pciId.optional().describe('Expected vendor:device, e.g. "10de:2484"; the plan refuses the device when the hardware says otherwise.'),
  allFunctions: z.boolean().default(true).describe('Pass every function of the slot (e.g. a GPU and its HDMI audio).'),
  bind: z.enum(['auto', 'ids', 'address']).default('auto').describe('"ids": `options vfio-pci ids=`; "address": driver_override for this address only (an identical device stays with the host); "auto": ids unless an undeclared device shares the vendor:device id.'),
  softdep: softdep.optional().describe("Drivers that must load after vfio-pci (softdep … pre: vfio-pci). Default: the cluster's defaults.softdep, else the device's current driver and its candidate modules."),
  blacklist: z.array(moduleName).default([]).describe('Drivers to blacklist entirely on the host (every device they drive). Only when asked.'),
  disableVga: z.boolean().default(false).describe('VGA-class devices (class 0300) only: `options vfio-pci disable_vga=1`, so vfio-pci opts the GPU out of legacy VGA decoding (the host\'s VGA arbiter no longer routes VGA I/O to it). disable_vga is a module-wide vfio-pci option: it applies to every VGA device vfio-pci drives on the node, declared with it or not.'),
}).describe('A PCI device this node gives to VMs (bound to vfio-pci).');
export type Device = z.infer<typeof Device>;

export const Node = z.strictObject({
  name: z.string().regex(NODE_NAME, { message: 'expected the PVE node name (a DNS label such as "pve1")' }).describe('The PVE node name (as in `pvecm nodes`), e.g. "pve1".'),
  ssh: Ssh,
  devices: z.array(Device).default([]).describe('PCI devices to pass through. A device taken out of the list is removed from what the tool owns.'),
  kernelParams: kernelParams.default([]).describe("Extra kernel parameters, e.g. \"initcall_blacklist=sysfb_init\" for a boot GPU. Default: the cluster's defaults.kernelParams."),
  iommuPassthrough: z.boolean().default(false).describe("Add iommu=pt to the kernel command line. Default: the cluster's defaults.iommuPassthrough, else false."),
  allowAcsOverride: z.boolean().default(false).describe('Explicit, logged opt-in for boards with badly grouped devices (pcie_acs_override).'),
  allowUnsafeInterrupts: z.boolean().default(false).describe('Explicit, logged opt-in when interrupt remapping is missing (vfio_iommu_type1 allow_unsafe_interrupts).'),
  exact: z.boolean().default(true).describe(
    'true: this declaration is the whole host-level state (what it leaves out is removed from what the tool owns). false: it only adds; what it does not name is kept as the host has it now (kernel parameters and iommu=pt in the tool\'s files, other devices the tool binds, their options). --host flags set false unless --exact.',
  ),
  console: z.enum(['keep', 'headless']).default('keep').describe(
    'The boot GPU (boot_vga = 1). "keep": it may go to a VM only when the host has another display device (warned; the plan adds the token that frees the firmware framebuffer, initcall_blacklist=sysfb_init on kernels >= 5.15); with no other display device it is refused. "headless": it may go to a VM and the host console goes dark after early boot (manage the host over SSH or the API).',
  ),
}).describe('A PVE node: how to reach it and the host-level state it should be in.');
export type Node = z.infer<typeof Node>;

/**
 * Cluster-wide values every node starts from; a value a node sets wins
 * (for kernelParams and softdep: the node's whole list replaces the default).
 * Merged in by `validateInventory` before validation of the nodes.
 */
export const Defaults = z.strictObject({
  ssh: z.strictObject(sshFields).partial().optional().describe('SSH settings for every node ("host" excepted); a setting in a node\'s own "ssh" wins.'),
  kernelParams: kernelParams.optional().describe('Kernel parameters for every node that sets no "kernelParams" of its own.'),
  iommuPassthrough: z.boolean().optional().describe('iommu=pt for every node that does not set "iommuPassthrough".'),
  softdep: softdep.optional().describe('Softdeps for every device that sets no "softdep" of its own.'),
}).describe("Cluster-level defaults for the nodes (SSH user, identity, host-key policy, kernel parameters, softdeps); a node's own value wins.");
export type Defaults = z.infer<typeof Defaults>;

const bool01 = (what: string) => z.boolean().optional().describe(what);
export const HostpciEntry = z.strictObject({
  host: z.string().regex(PCI_ADDRESS_LOOSE, { message: 'expected a PCI address such as "0000:01:00" (all functions) or "0000:01:00.0"' }).transform((s) => s.toLowerCase()).optional().describe('Raw PCI address on the VM\'s node: "0000:01:00" (all functions) or "0000:01:00.0". Only root@pam with a password ticket may write it (see api.rootTicket).'),
  mapping: z.string().regex(CONFIG_ID, { message: 'expected a mapping id: a letter, then letters, digits, _ or -' }).optional().describe('A cluster resource mapping id (see "mappings"); works with API tokens.'),
  pcie: bool01('Attach as PCI Express (needs machine q35).'),
  'x-vga': bool01('Primary GPU of the VM.'),
  rombar: bool01("Expose the device's ROM BAR to the guest."),
  romfile: z.string().regex(/^[A-Za-z0-9_.+-]+$/, { message: 'expected a file name under /usr/share/kvm/' }).optional().describe('A ROM file name under /usr/share/kvm/.'),
  mdev: z.string().regex(/^[^/.:,;\s]+$/).optional().describe('Mediated device type (vGPU), e.g. "nvidia-63".'),
  'legacy-igd': bool01('Legacy Intel IGD passthrough mode.'),
  driver: z.enum(['vfio', 'keep']).optional().describe('PVE\'s driver option: "vfio" (default in PVE) or "keep".'),
  'vendor-id': z.string().regex(/^0x[0-9a-fA-F]{4}$/).optional().describe('Override the vendor id the guest sees, e.g. "0x10de".'),
  'device-id': z.string().regex(/^0x[0-9a-fA-F]{4}$/).optional().describe('Override the device id the guest sees.'),
  'sub-vendor-id': z.string().regex(/^0x[0-9a-fA-F]{4}$/).optional().describe('Override the subsystem vendor id the guest sees.'),
  'sub-device-id': z.string().regex(/^0x[0-9a-fA-F]{4}$/).optional().describe('Override the subsystem device id the guest sees.'),
}).refine((e) => (e.host === undefined) !== (e.mapping === undefined), { message: 'set exactly one of "host" or "mapping"' })
  .describe('One hostpciN entry, in PVE\'s own option names; exactly one of "host" or "mapping".');
export type HostpciEntry = z.infer<typeof HostpciEntry>;

export const Vm = z.strictObject({
  vmid: z.number().int().min(100).max(999_999_999).describe('The VM id.'),
  node: z.string().regex(NODE_NAME).describe('The node the VM lives on (a node of this cluster).'),
  machine: z.string().regex(/^(?:pc|q35|pc-(?:i440fx-)?\d+(?:\.\d+)+(?:\+pve\d+)?|pc-q35-\d+(?:\.\d+)+(?:\+pve\d+)?)(?:\.pxe)?(?:,viommu=(?:intel|virtio))?$/, { message: 'expected a machine type such as "q35" or "pc-q35-9.2+pve1"' }).optional().describe('Desired machine type, e.g. "q35" or "pc-q35-9.2+pve1". Default: q35 when any entry has pcie (a pc-i440fx-X pin becomes pc-q35-X), else left as is.'),
  hostpci: z.array(HostpciEntry).max(16, { message: 'a VM can have at most 16 hostpci entries (hostpci0..hostpci15)' }).default([]).describe('The hostpci entries the VM should have (at most 16).'),
  exact: z.boolean().default(true).describe(
    'true: each hostpci entry is exactly as declared. false: options an entry leaves unset keep the value the VM has now (x-vga, rombar, romfile, pcie…), a new entry gets pcie=1 only on a q35 VM, and the machine type is kept unless "machine" is set. --host flags set false unless --exact.',
  ),
  manageAllHostpci: z.boolean().default(false).describe('true: hostpci entries not declared here are removed from the VM.'),
  whenRunning: z.enum(['pending', 'restart']).default('pending').describe('A running VM: "pending" leaves the change pending (verify reports it); "restart" shuts it down, applies and starts it.'),
  allowStop: z.boolean().default(false).describe('With "restart": stop the VM hard when it does not shut down within shutdownTimeoutSeconds.'),
  shutdownTimeoutSeconds: z.number().int().min(10).max(3600).default(180).describe('How long a clean shutdown may take, in seconds.'),
}).describe('A VM and the PCI devices it should have (API level).');
export type Vm = z.infer<typeof Vm>;

const mappingPath = z.string().regex(/^[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}(?:\.[0-7])?$/, {
  message: 'expected a PCI address with domain, lowercase: "0000:01:00.0" for one function or "0000:01:00" for the whole device',
});

export const Mapping = z.strictObject({
  id: z.string().regex(CONFIG_ID).describe('The mapping id, used by hostpci "mapping".'),
  description: z.string().max(200).optional().describe('Free text shown in the PVE web interface.'),
  nodes: z.record(z.string().regex(NODE_NAME), z.union([mappingPath, z.array(mappingPath).min(1).max(16)])).describe(
    'Node name → the device(s) on that node: a full PCI address ("0000:01:00.0"), a whole device with every function ("0000:01:00", e.g. GPU + HDMI audio), or a list of them (a pool: the VM gets the first free one). id, subsystem-id and iommugroup are read from the hardware.',
  ),
  mdev: z.boolean().optional().describe('The devices provide mediated devices (vGPU, GVT-g); must match what the hardware reports.'),
  'live-migration-capable': z.boolean().optional().describe('Mark the mapping as usable for live migration (PVE 8.3+).'),
}).describe('A cluster resource mapping (/cluster/mapping/pci), so API tokens can assign devices.');
export type Mapping = z.infer<typeof Mapping>;

export const Policy = z.strictObject({
  maxUnavailable: z.number().int().min(1).default(1).describe('Nodes of this cluster that may be rebooting at once; can only lower what quorum allows.'),
  reboot: z.enum(['never', 'needed', 'always']).default('needed').describe('"needed": reboot only nodes whose change needs it; "never": write and leave the reboot to you; "always": reboot every changed node.'),
  canary: z.string().regex(NODE_NAME).optional().describe('A node to do first and verify before any other.'),
  guests: z.enum(['refuse', 'shutdown']).default('refuse').describe('Running guests on a node about to reboot: "refuse" the reboot, or "shutdown" them first and start them again afterwards.'),
  allowQuorumLoss: z.boolean().default(false).describe('Reboot a 2-node cluster without QDevice (quorum is lost while a node is down).'),
  rebootTimeoutSeconds: z.number().int().min(1).max(7200).default(900).describe('How long a node may take to come back with a new boot_id, in seconds.'),
  refreshTimeoutSeconds: z.number().int().min(1).max(7200).default(600).describe('How long one node\'s boot refresh (update-initramfs -u -k all, then update-grub or proxmox-boot-tool refresh) may take, in seconds; raise it for slow disks or many installed kernels.'),
  maxFailures: z.number().int().min(1).default(1).describe("Stop this cluster's rollout after this many failed nodes."),
}).describe('How changes are rolled out in this cluster.');
export type Policy = z.infer<typeof Policy>;

export const Cluster = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/, { message: 'expected a short cluster name' }).describe('A short name for the cluster, used by --cluster and in reports.'),
  api: Api.optional(),
  policy: Policy.default(Policy.parse({})),
  defaults: Defaults.optional(),
  nodes: z.array(Node).min(1, { message: 'a cluster needs at least one node' }).describe('The nodes of this cluster the tool manages.'),
  vms: z.array(Vm).default([]).describe('VMs whose hostpci entries and machine type the tool manages.'),
  mappings: z.array(Mapping).default([]).describe('PCI resource mappings the tool manages.'),
}).describe('A Proxmox VE cluster (or a single node).');
export type Cluster = z.infer<typeof Cluster>;

export const Inventory = z.strictObject({
  $schema: z.string().optional().describe('The JSON Schema for editors, e.g. "./inventory.schema.json"; ignored by the tool.'),
  version: z.literal(1, { message: 'expected "version": 1' }).describe('The inventory format version: 1.'),
  clusters: z.array(Cluster).min(1, { message: 'the inventory needs at least one cluster' }).describe('The clusters (or single nodes) to manage.'),
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
}).describe('A pve-passthrough inventory: the declared passthrough state of one or more Proxmox VE clusters. JSON (comments allowed) or YAML.');
export type Inventory = z.infer<typeof Inventory>;
