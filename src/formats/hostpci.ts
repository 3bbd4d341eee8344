/**
 * `hostpciN` property strings (qemu-server PCI.pm `$hostpci_fmt`). `host` is the
 * default key: `0000:01:00,pcie=1` and `host=0000:01:00,pcie=1` are the same.
 * Parsed values keep what was written (so serialise(parse(x)) is stable); use
 * hostpciEqual for comparisons, which applies PVE's defaults.
 */
import { CONFIG_ID } from '../patterns.js';
import { FormatError, show } from './errors.js';
import { assertPlainValue, parseBool, propertyMap } from './property-string.js';

const F = 'hostpci';

export interface Hostpci {
  /** Host PCI ids as written (`01:00`, `0000:01:00.0`); several = one combined guest device. */
  readonly host?: readonly string[];
  readonly mapping?: string;
  readonly pcie?: boolean;
  readonly rombar?: boolean;
  readonly romfile?: string;
  readonly 'x-vga'?: boolean;
  readonly mdev?: string;
  readonly 'legacy-igd'?: boolean;
  readonly driver?: 'vfio' | 'keep';
  readonly 'vendor-id'?: string;
  readonly 'device-id'?: string;
  readonly 'sub-vendor-id'?: string;
  readonly 'sub-device-id'?: string;
}

export const MAX_HOSTPCI = 16;
/** hostpci0 … hostpci15 */
export const HOSTPCI_KEYS: readonly string[] = Array.from({ length: MAX_HOSTPCI }, (_, i) => `hostpci${i}`);
const HOSTPCI_KEY = /^hostpci(\d|1[0-5])$/;

export function isHostpciKey(key: string): boolean {
  return HOSTPCI_KEY.test(key);
}
export function hostpciIndex(key: string): number | undefined {
  const m = HOSTPCI_KEY.exec(key);
  return m ? Number(m[1]) : undefined;
}

/** `[DOMAIN:]BB:DD[.F]`, lowercase only, as the PVE pattern (case-sensitive) requires. */
export const HOSTPCI_ID = /^(?:[0-9a-f]{4,}:)?[0-9a-f]{2}:[0-9a-f]{2}(?:\.[0-9a-f])?$/;
const HEX_ID = /^0x[0-9a-fA-F]{4}$/;
const MDEV = /^[^/.:]+$/;
const ROMFILE = /^[^;]+$/;

const BOOL_KEYS = ['pcie', 'rombar', 'x-vga', 'legacy-igd'] as const;
const HEX_KEYS = ['vendor-id', 'device-id', 'sub-vendor-id', 'sub-device-id'] as const;
type BoolKey = (typeof BOOL_KEYS)[number];
type HexKey = (typeof HEX_KEYS)[number];
const KNOWN = new Set<string>(['host', 'mapping', 'romfile', 'mdev', 'driver', ...BOOL_KEYS, ...HEX_KEYS]);
/** PVE prints the default key first, the rest sorted; we do the same. */
const PRINT_ORDER = ['mapping', ...[...KNOWN].filter((k) => k !== 'host' && k !== 'mapping').sort()] as const;

function parseHostIds(value: string): string[] {
  const ids = value.split(';');
  for (const id of ids) {
    if (!HOSTPCI_ID.test(id)) {
      throw new FormatError(F, `host id ${show(id)} is not [DOMAIN:]BB:DD[.F] in lowercase hex (e.g. "0000:01:00.0" or "01:00")`);
    }
  }
  return ids;
}

/** The entry, or undefined when it is not one this tool can read (PVE rejects such a value on its own). */
export function tryParseHostpci(text: string): Hostpci | undefined {
  try {
    return parseHostpci(text);
  } catch {
    return undefined;
  }
}

export function parseHostpci(text: string): Hostpci {
  const map = propertyMap(F, text, 'host', KNOWN);
  const out: Record<string, unknown> = {};
  for (const [key, value] of map) {
    if (key === 'host') out.host = parseHostIds(value);
    else if (key === 'mapping') {
      if (!CONFIG_ID.test(value)) throw new FormatError(F, `mapping ${show(value)} is not a mapping id (letter first, then letters, digits, _ or -)`);
      out.mapping = value;
    } else if ((BOOL_KEYS as readonly string[]).includes(key)) out[key] = parseBool(F, key, value);
    else if ((HEX_KEYS as readonly string[]).includes(key)) {
      if (!HEX_ID.test(value)) throw new FormatError(F, `"${key}" must be 0x followed by 4 hex digits, got ${show(value)}`);
      out[key] = value;
    } else if (key === 'driver') {
      if (value !== 'vfio' && value !== 'keep') throw new FormatError(F, `"driver" must be vfio or keep, got ${show(value)}`);
      out.driver = value;
    } else if (key === 'mdev') {
      if (!MDEV.test(value)) throw new FormatError(F, `"mdev" may not contain "/", "." or ":", got ${show(value)}`);
      out.mdev = value;
    } else if (key === 'romfile') {
      if (!ROMFILE.test(value)) throw new FormatError(F, `"romfile" may not contain ";", got ${show(value)}`);
      out.romfile = value;
    }
  }
  if (out.host !== undefined && out.mapping !== undefined) throw new FormatError(F, `cannot set both "host" and "mapping" in ${show(text)}`);
  if (out.host === undefined && out.mapping === undefined) throw new FormatError(F, `either "host" or "mapping" must be set in ${show(text)}`);
  return out as Hostpci;
}

export function serialiseHostpci(h: Hostpci): string {
  if ((h.host === undefined) === (h.mapping === undefined)) throw new FormatError(F, 'set exactly one of "host" or "mapping"');
  const parts: string[] = [];
  if (h.host !== undefined) {
    if (h.host.length === 0) throw new FormatError(F, '"host" needs at least one PCI id');
    for (const id of h.host) if (!HOSTPCI_ID.test(id)) throw new FormatError(F, `host id ${show(id)} is not [DOMAIN:]BB:DD[.F] in lowercase hex`);
    parts.push(h.host.join(';'));
  }
  for (const key of PRINT_ORDER) {
    const v = (h as Record<string, unknown>)[key];
    if (v === undefined) continue;
    if (typeof v === 'boolean') {
      if (!(BOOL_KEYS as readonly string[]).includes(key)) throw new FormatError(F, `"${key}" is not a boolean option`);
      parts.push(`${key}=${v ? 1 : 0}`);
      continue;
    }
    if (typeof v !== 'string') throw new FormatError(F, `"${key}" must be a string`);
    const pattern = key === 'mapping' ? CONFIG_ID : key === 'mdev' ? MDEV : key === 'romfile' ? ROMFILE
      : key === 'driver' ? /^(?:vfio|keep)$/ : (HEX_KEYS as readonly string[]).includes(key) ? HEX_ID : /^$/;
    assertPlainValue(F, key, v, pattern);
    parts.push(`${key}=${v}`);
  }
  return parts.join(',');
}

/** Full lowercase id with a 4-digit domain: `01:00` → `0000:01:00`. */
export function normaliseHostId(id: string): string {
  const lower = id.toLowerCase();
  const parts = lower.split(':');
  if (parts.length === 2) return `0000:${lower}`;
  const domain = (parts[0] ?? '').replace(/^0+(?=[0-9a-f]{4})/, '');
  return [domain, ...parts.slice(1)].join(':');
}

const DEFAULTS: Readonly<Record<BoolKey, boolean>> = { pcie: false, rombar: true, 'x-vga': false, 'legacy-igd': false };

/** The comparable form: domains filled in, defaults applied, hex ids lowercase. */
export function normaliseHostpci(h: Hostpci): Record<string, string | boolean | string[]> {
  const out: Record<string, string | boolean | string[]> = {};
  if (h.host) out.host = h.host.map(normaliseHostId);
  if (h.mapping) out.mapping = h.mapping;
  for (const k of BOOL_KEYS) out[k] = h[k] ?? DEFAULTS[k];
  out.driver = h.driver ?? 'vfio';
  for (const k of HEX_KEYS as readonly HexKey[]) if (h[k] !== undefined) out[k] = (h[k] as string).toLowerCase();
  if (h.romfile !== undefined) out.romfile = h.romfile;
  if (h.mdev !== undefined) out.mdev = h.mdev;
  return out;
}

/** True when both entries mean the same guest device, so an equal entry never shows as a change. */
export function hostpciEqual(a: Hostpci | string, b: Hostpci | string): boolean {
  const na = normaliseHostpci(typeof a === 'string' ? parseHostpci(a) : a);
  const nb = normaliseHostpci(typeof b === 'string' ? parseHostpci(b) : b);
  const keys = new Set([...Object.keys(na), ...Object.keys(nb)]);
  for (const k of keys) {
    const x = na[k];
    const y = nb[k];
    if (Array.isArray(x) && Array.isArray(y)) {
      if (x.length !== y.length || x.some((v, i) => v !== y[i])) return false;
    } else if (x !== y) return false;
  }
  return true;
}

/**
 * Whether two host ids touch the same function: `0000:01:00` (all functions)
 * overlaps `0000:01:00.1`; `0000:01:00.0` and `0000:01:00.1` do not.
 */
export function hostIdsOverlap(a: string, b: string): boolean {
  const x = normaliseHostId(a);
  const y = normaliseHostId(b);
  return x === y || x.startsWith(`${y}.`) || y.startsWith(`${x}.`);
}
