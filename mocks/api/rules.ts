/**
 * Hand-coded PVE value rules (qemu-server, pve-guest-common, pve-common).
 * mocks/ may not read the schema extract at run time; a test cross-checks
 * these against test/fixtures/pve-schema/endpoints.json.
 */
import type { PropFormat, PropSchema } from './propstring.js';

/** qemu-server PCI.pm `$PCIRE`: optional domain, optional function, lowercase hex only. */
const PCIRE = '(?:[a-f0-9]{4,}:)?[a-f0-9]{2}:[a-f0-9]{2}(?:\\.[a-f0-9])?';
/** hostpci `host`: one or more IDs joined by `;` (one multi-device guest device). */
export const HOSTPCI_HOST = new RegExp(`^${PCIRE}(?:;${PCIRE})*$`);
export const HEX_ID_0X = /^0x[0-9a-fA-F]{4}$/;

/** Mapping `path`: the domain is required. The `.` before the function is unescaped in PVE too. */
const MAP_PCI = '[a-f0-9]{4,}:[a-f0-9]{2}:[a-f0-9]{2}(?:.[a-f0-9])?';
export const MAPPING_PATH = new RegExp(`^(?:${MAP_PCI};)*${MAP_PCI}$`);
/** Mapping `id` / `subsystem-id`: vvvv:dddd without 0x, any case. */
export const MAPPING_DEVICE_ID = /^[0-9A-Fa-f]{4}:[0-9A-Fa-f]{4}$/;

/** Machine `type` (qemu-server Machine.pm). */
export const MACHINE_TYPE =
  /^(?:pc|pc(?:-i440fx)?-\d+(?:\.\d+)+(?:\+pve\d+)?(?:\.pxe)?|q35|pc-q35-\d+(?:\.\d+)+(?:\+pve\d+)?(?:\.pxe)?|virt(?:-\d+(?:\.\d+)+)?(?:\+pve\d+)?)$/;
export const MACHINE_TYPE_MAX_LENGTH = 40;

/** VM config digest is SHA-1 (40 hex); mapping digests allow 64 (pve-config-digest). */
export const VM_DIGEST_MAX_LENGTH = 40;
export const MAPPING_DIGEST_MAX_LENGTH = 64;

export const MAX_HOSTPCI_DEVICES = 16;

const bool: PropSchema = { type: 'boolean', optional: true };
const hexId: PropSchema = { type: 'string', optional: true, pattern: HEX_ID_0X };

/** `pve-qm-hostpci` */
export const HOSTPCI_FORMAT: PropFormat = {
  host: { type: 'string', optional: true, defaultKey: true, pattern: HOSTPCI_HOST },
  mapping: { type: 'string', optional: true, format: 'pve-configid' },
  rombar: bool,
  romfile: { type: 'string', optional: true, pattern: /^[^,;]+$/ },
  pcie: bool,
  'x-vga': bool,
  'legacy-igd': bool,
  mdev: { type: 'string', optional: true, pattern: /^[^/.:]+$/ },
  'vendor-id': hexId,
  'device-id': hexId,
  'sub-vendor-id': hexId,
  'sub-device-id': hexId,
  driver: { type: 'string', optional: true, enum: ['vfio', 'keep'] },
};

/** `machine` property string. */
export const MACHINE_FORMAT: PropFormat = {
  type: { type: 'string', optional: true, defaultKey: true, pattern: MACHINE_TYPE, maxLength: MACHINE_TYPE_MAX_LENGTH },
  viommu: { type: 'string', optional: true, enum: ['intel', 'virtio'] },
  'aw-bits': { type: 'number', optional: true, minimum: 32, maximum: 64 },
  'enable-s3': bool,
  'enable-s4': bool,
};

/** One entry of a cluster PCI mapping's `map`. */
export const MAPPING_ENTRY_FORMAT: PropFormat = {
  node: { type: 'string', format: 'pve-node' },
  path: { type: 'string', pattern: MAPPING_PATH },
  id: { type: 'string', pattern: MAPPING_DEVICE_ID },
  'subsystem-id': { type: 'string', optional: true, pattern: MAPPING_DEVICE_ID },
  iommugroup: { type: 'integer', optional: true },
  description: { type: 'string', optional: true, maxLength: 4096 },
};

/** A machine type is q35 when it contains `q35`; unset means `pc` (i440fx) on x86_64. */
export function machineTypeOf(machine: string | undefined): string {
  if (machine === undefined) return 'pc';
  for (const part of machine.split(',')) {
    if (!part.includes('=')) return part;
    if (part.startsWith('type=')) return part.slice(5);
  }
  return 'pc';
}

export const isQ35 = (machine: string | undefined): boolean => machineTypeOf(machine).includes('q35');

/**
 * Keys a running VM applies at once (qemu-server `$fast_plug_option`); every
 * other change (hostpci, machine, bios, disks, nics: hotplug is not modelled)
 * stays pending until the next start.
 */
export const FAST_PLUG_KEYS: ReadonlySet<string> = new Set([
  'name', 'description', 'onboot', 'shares', 'startup', 'protection', 'tags',
  'hookscript', 'vmstatestorage', 'lock', 'cpulimit', 'cpuunits',
]);

/** Keys only root@pam may set (besides raw hostpci). */
export const ROOT_ONLY_KEYS: ReadonlySet<string> = new Set(['args', 'lock']);
