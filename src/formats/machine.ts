/**
 * The `machine` property string (qemu-server Machine.pm `$machine_fmt`): `type`
 * is the default key. Unset type means i440fx (`pc`) on x86_64.
 */
import { FormatError, show } from './errors.js';
import { parseBool, propertyMap } from './property-string.js';

const F = 'machine';

export interface Machine {
  readonly type?: string;
  readonly viommu?: 'intel' | 'virtio';
  readonly 'aw-bits'?: number;
  readonly 'enable-s3'?: boolean;
  readonly 'enable-s4'?: boolean;
}

/** The schema pattern for `type` (PVE anchors it), max length 40. */
export const MACHINE_TYPE = /^(?:pc|pc(-i440fx)?-\d+(\.\d+)+(\+pve\d+)?(\.pxe)?|q35|pc-q35-\d+(\.\d+)+(\+pve\d+)?(\.pxe)?|virt(?:-\d+(\.\d+)+)?(\+pve\d+)?)$/;
const KNOWN = new Set(['type', 'viommu', 'aw-bits', 'enable-s3', 'enable-s4']);

function checkType(type: string): void {
  if (type.length > 40 || !MACHINE_TYPE.test(type)) {
    throw new FormatError(F, `type ${show(type)} is not a machine type such as "q35", "pc-q35-9.2+pve1" or "pc-i440fx-8.1"`);
  }
}
function checkAwBits(n: number): void {
  if (!Number.isInteger(n) || n < 32 || n > 64) throw new FormatError(F, `"aw-bits" must be a number from 32 to 64, got ${show(String(n))}`);
}

export function parseMachine(text: string): Machine {
  const out: { -readonly [K in keyof Machine]: Machine[K] } = {};
  for (const [key, value] of propertyMap(F, text, 'type', KNOWN)) {
    if (key === 'type') {
      checkType(value);
      out.type = value;
    } else if (key === 'viommu') {
      if (value !== 'intel' && value !== 'virtio') throw new FormatError(F, `"viommu" must be intel or virtio, got ${show(value)}`);
      out.viommu = value;
    } else if (key === 'aw-bits') {
      if (!/^\d+$/.test(value)) throw new FormatError(F, `"aw-bits" must be a number from 32 to 64, got ${show(value)}`);
      checkAwBits(Number(value));
      out['aw-bits'] = Number(value);
    } else if (key === 'enable-s3' || key === 'enable-s4') out[key] = parseBool(F, key, value);
  }
  return out;
}

export function serialiseMachine(m: Machine): string {
  const parts: string[] = [];
  if (m.type !== undefined) {
    checkType(m.type);
    parts.push(m.type);
  }
  if (m['aw-bits'] !== undefined) {
    checkAwBits(m['aw-bits']);
    parts.push(`aw-bits=${m['aw-bits']}`);
  }
  for (const k of ['enable-s3', 'enable-s4'] as const) if (m[k] !== undefined) parts.push(`${k}=${m[k] ? 1 : 0}`);
  if (m.viommu !== undefined) {
    if (m.viommu !== 'intel' && m.viommu !== 'virtio') throw new FormatError(F, `"viommu" must be intel or virtio`);
    parts.push(`viommu=${m.viommu}`);
  }
  if (parts.length === 0) throw new FormatError(F, 'nothing to write (no type and no option)');
  return parts.join(',');
}

function typeOf(m: Machine | string | undefined): string {
  if (m === undefined) return 'pc';
  const parsed = typeof m === 'string' ? parseMachine(m) : m;
  return parsed.type ?? 'pc';
}

/** PVE's rule: q35 when the type contains "q35". Unset means pc (i440fx). */
export function isQ35(m: Machine | string | undefined): boolean {
  return typeOf(m).includes('q35');
}

export function machineKind(m: Machine | string | undefined): 'q35' | 'i440fx' | 'virt' {
  const t = typeOf(m);
  if (t.includes('q35')) return 'q35';
  if (t.startsWith('virt')) return 'virt';
  return 'i440fx';
}

/**
 * The q35 type for an i440fx type, keeping the version pin (Windows guests are
 * pinned: pc-i440fx-8.1 → pc-q35-8.1, not a bare q35). `pc` → `q35`.
 */
export function i440fxToQ35(type: string): string {
  checkType(type);
  if (type.includes('q35')) return type;
  if (type.startsWith('virt')) throw new FormatError(F, `"${type}" is an ARM machine; there is no q35 equivalent`);
  if (type === 'pc') return 'q35';
  const rest = type.replace(/^pc(?:-i440fx)?-/, '');
  const out = `pc-q35-${rest}`;
  checkType(out);
  return out;
}

/** Same effective machine: type (unset = pc) and every option compared by value. */
export function machineEqual(a: Machine | string | undefined, b: Machine | string | undefined): boolean {
  const pa = a === undefined ? {} : typeof a === 'string' ? parseMachine(a) : a;
  const pb = b === undefined ? {} : typeof b === 'string' ? parseMachine(b) : b;
  return (pa.type ?? 'pc') === (pb.type ?? 'pc') && pa.viommu === pb.viommu && pa['aw-bits'] === pb['aw-bits']
    && (pa['enable-s3'] ?? null) === (pb['enable-s3'] ?? null) && (pa['enable-s4'] ?? null) === (pb['enable-s4'] ?? null);
}
