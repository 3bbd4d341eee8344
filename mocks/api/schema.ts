/**
 * The endpoints the simulator serves, with their parameters, hand-coded from
 * the PVE 9.1 API schema (cross-checked by a test against the extract in
 * test/fixtures/pve-schema). `validateParams` gives PVE's 400 errors.
 */
import { checkValue, type ParamErrors, type PropSchema } from './propstring.js';
import {
  HOSTPCI_FORMAT, MACHINE_FORMAT, MAPPING_DIGEST_MAX_LENGTH, MAPPING_ENTRY_FORMAT, MAX_HOSTPCI_DEVICES,
  VM_DIGEST_MAX_LENGTH,
} from './rules.js';

export interface ArraySchema {
  readonly type: 'array';
  readonly optional?: boolean;
  readonly items: PropSchema;
}

export type ParamSchema = PropSchema | ArraySchema;

export interface EndpointSchema {
  readonly method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** PVE notation: `/nodes/{node}/qemu/{vmid}/config` */
  readonly path: string;
  readonly allowtoken: boolean;
  /** Parameter names as the schema lists them; `hostpci[n]` stands for hostpci0…15. */
  readonly params: Readonly<Record<string, ParamSchema>>;
}

const str: PropSchema = { type: 'string', optional: true };
const bool: PropSchema = { type: 'boolean', optional: true };
const opt = (s: Omit<PropSchema, 'optional'>): PropSchema => ({ ...s, optional: true });
const node: PropSchema = { type: 'string', format: 'pve-node' };
const vmid: PropSchema = { type: 'integer', format: 'pve-vmid', minimum: 100, maximum: 999_999_999 };
const upid: PropSchema = { type: 'string' };
const machine: PropSchema = opt({ type: 'string', format: MACHINE_FORMAT });

/** How many of each `[n]` key qemu-server 9 allows. */
export const INDEXED_KEY_COUNT: Readonly<Record<string, number>> = {
  hostpci: MAX_HOSTPCI_DEVICES, ide: 4, sata: 6, scsi: 31, virtio: 16, net: 32, numa: 8,
  parallel: 3, serial: 4, usb: 14, unused: 256, ipconfig: 32, virtiofs: 10,
};

const KEYBOARDS = ['de', 'de-ch', 'da', 'en-gb', 'en-us', 'es', 'fi', 'fr', 'fr-be', 'fr-ca', 'fr-ch', 'hu', 'is', 'it',
  'ja', 'lt', 'mk', 'nl', 'no', 'pl', 'pt', 'pt-br', 'sv', 'sl', 'tr'];
const OSTYPES = ['other', 'wxp', 'w2k', 'w2k3', 'w2k8', 'wvista', 'win7', 'win8', 'win10', 'win11', 'l24', 'l26', 'solaris'];
const LOCKS = ['backup', 'clone', 'create', 'migrate', 'rollback', 'snapshot', 'snapshot-delete', 'suspending', 'suspended'];

/**
 * VM config keys with a typed rule. Keys the schema gives a property-string
 * format other than hostpci/machine (disks, nics, agent, …) are free strings
 * here: the tool never writes them; see FREE_STRING_KEYS.
 */
const VM_CONFIG_TYPED: Readonly<Record<string, PropSchema>> = {
  acpi: bool, 'allow-ksm': bool, autostart: bool, ciupgrade: bool, force: bool, freeze: bool,
  keephugepages: bool, kvm: bool, localtime: bool, numa: bool, onboot: bool, protection: bool,
  reboot: bool, skiplock: bool, tablet: bool, tdf: bool, template: bool,
  balloon: opt({ type: 'integer', minimum: 0 }),
  cores: opt({ type: 'integer', minimum: 1 }),
  cpuunits: opt({ type: 'integer', minimum: 1, maximum: 262144 }),
  migrate_speed: opt({ type: 'integer', minimum: 0 }),
  shares: opt({ type: 'integer', minimum: 0, maximum: 50000 }),
  smp: opt({ type: 'integer', minimum: 1 }),
  sockets: opt({ type: 'integer', minimum: 1 }),
  vcpus: opt({ type: 'integer', minimum: 1 }),
  cpulimit: opt({ type: 'number', minimum: 0, maximum: 128 }),
  migrate_downtime: opt({ type: 'number', minimum: 0 }),
  arch: opt({ type: 'string', enum: ['x86_64', 'aarch64'] }),
  bios: opt({ type: 'string', enum: ['seabios', 'ovmf'] }),
  citype: opt({ type: 'string', enum: ['configdrive2', 'nocloud', 'opennebula'] }),
  hugepages: opt({ type: 'string', enum: ['any', '2', '1024'] }),
  keyboard: opt({ type: 'string', enum: KEYBOARDS }),
  lock: opt({ type: 'string', enum: LOCKS }),
  ostype: opt({ type: 'string', enum: OSTYPES }),
  scsihw: opt({ type: 'string', enum: ['lsi', 'lsi53c810', 'virtio-scsi-pci', 'virtio-scsi-single', 'megasas', 'pvscsi'] }),
  bootdisk: opt({ type: 'string', pattern: /^(?:ide|sata|scsi|virtio)\d+$/ }),
  'parallel[n]': opt({ type: 'string', pattern: /^(?:\/dev\/parport\d+|\/dev\/usb\/lp\d+)$/ }),
  'serial[n]': opt({ type: 'string', pattern: /^(?:\/dev\/.+|socket)$/ }),
  startdate: opt({ type: 'string', pattern: /^(?:now|\d{4}-\d{1,2}-\d{1,2}(?:T\d{1,2}:\d{1,2}:\d{1,2})?)$/ }),
  vmgenid: opt({ type: 'string', pattern: /^(?:[a-fA-F0-9]{8}(?:-[a-fA-F0-9]{4}){3}-[a-fA-F0-9]{12}|[01])$/ }),
  description: opt({ type: 'string', maxLength: 8192 }),
  digest: opt({ type: 'string', maxLength: VM_DIGEST_MAX_LENGTH }),
  smbios1: opt({ type: 'string', maxLength: 512 }),
  delete: opt({ type: 'string', format: 'pve-configid-list' }),
  revert: opt({ type: 'string', format: 'pve-configid-list' }),
  name: opt({ type: 'string', format: 'dns-name' }),
  machine,
  'hostpci[n]': opt({ type: 'string', format: HOSTPCI_FORMAT }),
  node,
  vmid,
};

/** Keys accepted as plain strings (their real format is not re-implemented). */
export const FREE_STRING_KEYS: readonly string[] = [
  'affinity', 'agent', 'amd-sev', 'args', 'audio0', 'boot', 'cdrom', 'cicustom', 'cipassword', 'ciuser', 'cpu',
  'efidisk0', 'hookscript', 'hotplug', 'ide[n]', 'intel-tdx', 'ipconfig[n]', 'ivshmem', 'memory', 'nameserver',
  'net[n]', 'numa[n]', 'rng0', 'sata[n]', 'scsi[n]', 'searchdomain', 'spice_enhancements', 'sshkeys', 'startup',
  'tags', 'tpmstate0', 'unused[n]', 'usb[n]', 'vga', 'virtio[n]', 'virtiofs[n]', 'vmstatestorage', 'watchdog',
];

const VM_CONFIG_PUT: Readonly<Record<string, ParamSchema>> = {
  ...VM_CONFIG_TYPED,
  ...Object.fromEntries(FREE_STRING_KEYS.map((k) => [k, str])),
};

const VM_CONFIG_POST: Readonly<Record<string, ParamSchema>> = {
  ...VM_CONFIG_PUT,
  background_delay: opt({ type: 'integer', minimum: 1, maximum: 30 }),
  'import-working-storage': str,
};

const mapArray = (optional: boolean): ArraySchema => ({
  type: 'array', optional, items: { type: 'string', format: MAPPING_ENTRY_FORMAT },
});

export const ENDPOINTS: readonly EndpointSchema[] = [
  { method: 'GET', path: '/version', allowtoken: true, params: {} },
  { method: 'GET', path: '/cluster/status', allowtoken: true, params: {} },
  { method: 'GET', path: '/cluster/resources', allowtoken: true, params: { type: opt({ type: 'string', enum: ['vm', 'storage', 'node', 'sdn'] }) } },
  { method: 'GET', path: '/cluster/ha/resources', allowtoken: true, params: { type: opt({ type: 'string', enum: ['ct', 'vm'] }) } },
  { method: 'GET', path: '/nodes', allowtoken: true, params: {} },
  { method: 'POST', path: '/nodes/{node}/status', allowtoken: true, params: { command: { type: 'string', enum: ['reboot', 'shutdown'] }, node } },
  { method: 'GET', path: '/nodes/{node}/qemu', allowtoken: true, params: { full: bool, node } },
  {
    method: 'GET', path: '/nodes/{node}/qemu/{vmid}/config', allowtoken: true,
    params: { current: bool, node, snapshot: opt({ type: 'string', format: 'pve-configid', maxLength: 40 }), vmid },
  },
  { method: 'POST', path: '/nodes/{node}/qemu/{vmid}/config', allowtoken: true, params: VM_CONFIG_POST },
  { method: 'PUT', path: '/nodes/{node}/qemu/{vmid}/config', allowtoken: true, params: VM_CONFIG_PUT },
  { method: 'GET', path: '/nodes/{node}/qemu/{vmid}/pending', allowtoken: true, params: { node, vmid } },
  { method: 'GET', path: '/nodes/{node}/qemu/{vmid}/status/current', allowtoken: true, params: { node, vmid } },
  {
    method: 'POST', path: '/nodes/{node}/qemu/{vmid}/status/start', allowtoken: true,
    params: {
      'force-cpu': str, machine, migratedfrom: opt(node), migration_network: str,
      migration_type: opt({ type: 'string', enum: ['secure', 'insecure'] }),
      'nets-host-mtu': opt({ type: 'string', pattern: /^net\d+=\d+(?:,net\d+=\d+)*$/ }),
      node, skiplock: bool, stateuri: opt({ type: 'string', maxLength: 128 }), targetstorage: str,
      timeout: opt({ type: 'integer', minimum: 0 }), vmid, 'with-conntrack-state': bool,
    },
  },
  {
    method: 'POST', path: '/nodes/{node}/qemu/{vmid}/status/stop', allowtoken: true,
    params: {
      keepActive: bool, migratedfrom: opt(node), node, 'overrule-shutdown': bool, skiplock: bool,
      timeout: opt({ type: 'integer', minimum: 0 }), vmid,
    },
  },
  {
    method: 'POST', path: '/nodes/{node}/qemu/{vmid}/status/shutdown', allowtoken: true,
    params: { forceStop: bool, keepActive: bool, node, skiplock: bool, timeout: opt({ type: 'integer', minimum: 0 }), vmid },
  },
  { method: 'GET', path: '/nodes/{node}/tasks/{upid}/status', allowtoken: true, params: { node, upid } },
  {
    method: 'GET', path: '/nodes/{node}/tasks/{upid}/log', allowtoken: true,
    params: { download: bool, limit: opt({ type: 'integer', minimum: 0 }), node, start: opt({ type: 'integer', minimum: 0 }), upid },
  },
  {
    method: 'GET', path: '/nodes/{node}/hardware/pci', allowtoken: true,
    params: { node, 'pci-class-blacklist': opt({ type: 'string', format: 'string-list' }), verbose: bool },
  },
  {
    method: 'GET', path: '/nodes/{node}/capabilities/qemu/machines', allowtoken: true,
    params: { arch: opt({ type: 'string', enum: ['x86_64', 'aarch64'] }), node },
  },
  { method: 'GET', path: '/cluster/mapping/pci', allowtoken: true, params: { 'check-node': opt(node) } },
  {
    method: 'POST', path: '/cluster/mapping/pci', allowtoken: true,
    params: {
      description: opt({ type: 'string', maxLength: 4096 }), id: { type: 'string', format: 'pve-configid' },
      'live-migration-capable': bool, map: mapArray(false), mdev: bool,
    },
  },
  { method: 'GET', path: '/cluster/mapping/pci/{id}', allowtoken: true, params: { id: { type: 'string', format: 'pve-configid' } } },
  {
    method: 'PUT', path: '/cluster/mapping/pci/{id}', allowtoken: true,
    params: {
      delete: opt({ type: 'string', format: 'pve-configid-list', maxLength: 4096 }),
      description: opt({ type: 'string', maxLength: 4096 }),
      digest: opt({ type: 'string', maxLength: MAPPING_DIGEST_MAX_LENGTH }),
      id: { type: 'string', format: 'pve-configid' }, 'live-migration-capable': bool, map: mapArray(true), mdev: bool,
    },
  },
  { method: 'DELETE', path: '/cluster/mapping/pci/{id}', allowtoken: true, params: { id: { type: 'string', format: 'pve-configid' } } },
  {
    method: 'POST', path: '/access/ticket', allowtoken: false,
    params: {
      'new-format': bool, otp: str, password: { type: 'string' }, path: opt({ type: 'string', maxLength: 64 }),
      privs: opt({ type: 'string', maxLength: 64 }),
      realm: opt({ type: 'string', maxLength: 32 }), 'tfa-challenge': str,
      username: { type: 'string', maxLength: 64 },
    },
  },
];

export function findEndpoint(method: string, path: string): EndpointSchema | undefined {
  return ENDPOINTS.find((e) => e.method === method && e.path === path);
}

/** `hostpci3` → the schema entry `hostpci[n]` when 3 is in range. */
export function schemaFor(endpoint: EndpointSchema, name: string): ParamSchema | undefined {
  const direct = endpoint.params[name];
  if (direct) return direct;
  const m = /^([a-z]+)(\d+)$/.exec(name);
  if (!m) return undefined;
  const family = m[1] as string;
  const index = Number(m[2]);
  const count = INDEXED_KEY_COUNT[family];
  if (count === undefined || index >= count || String(index) !== m[2]) return undefined;
  return endpoint.params[`${family}[n]`];
}

export type RawParams = Record<string, string | string[]>;

/** The schema check of pve-common `validate`: unknown parameters, missing ones, types, formats. */
export function validateParams(endpoint: EndpointSchema, params: RawParams): ParamErrors {
  const errors: ParamErrors = {};
  for (const [name, schema] of Object.entries(endpoint.params)) {
    if (name.endsWith('[n]')) continue;
    if (params[name] === undefined && !schema.optional) errors[name] = 'property is missing and it is not optional';
  }
  for (const [name, value] of Object.entries(params)) {
    const schema = schemaFor(endpoint, name);
    if (!schema) {
      errors[name] = 'property is not defined in schema and the schema does not allow additional properties';
      continue;
    }
    if (schema.type === 'array') {
      const items = Array.isArray(value) ? value : [value];
      items.forEach((item, i) => checkValue(item, schema.items, `${name}[${i}]`, errors));
    } else if (Array.isArray(value)) {
      errors[name] = `type check ('${schema.type}') failed - got ARRAY`;
    } else {
      checkValue(value, schema, name, errors);
    }
  }
  return errors;
}
