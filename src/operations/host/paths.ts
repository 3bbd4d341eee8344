/**
 * Paths and markers of the files host operations read or write
 * (docs/architecture.md, "Files the tool owns").
 */
import { OWNED_FILES } from '../../facts/host/script.js';
import { ErrorCode } from '../../error-codes.js';
import { SafetyError } from '../../errors.js';

export const MANAGED_HEADER = '# Managed by pve-passthrough. Changes here are overwritten.';

// The owned paths are declared once, beside the read script that reads them.
export const GRUB_DROPIN = OWNED_FILES.grubDropIn;
export const MODULES_LOAD_FILE = OWNED_FILES.modulesLoad;
export const MODPROBE_FILE = OWNED_FILES.modprobe;

export const ETC_DEFAULT_GRUB = '/etc/default/grub';
export const GRUB_D = '/etc/default/grub.d/';
export const KERNEL_CMDLINE_FILE = '/etc/kernel/cmdline';
export const ETC_MODULES = '/etc/modules';
export const MODULES_LOAD_D = '/etc/modules-load.d/';
export const MODPROBE_D = '/etc/modprobe.d/';

/** Mode and owner of the files the tool creates. */
export const OWNED_MODE = { mode: '0644', uid: 0, gid: 0 } as const;

/** Every file whose change means the initramfs must be rebuilt (module loading and binding). */
export function isInitramfsInput(path: string): boolean {
  return path === ETC_MODULES || (path.startsWith(MODPROBE_D) && path.endsWith('.conf')) || (path.startsWith(MODULES_LOAD_D) && path.endsWith('.conf'));
}

export function isGrubInput(path: string): boolean {
  return path === ETC_DEFAULT_GRUB || (path.startsWith(GRUB_D) && path.endsWith('.cfg'));
}

/** Thrown when a builder meets a value that must never reach a file on a host. */
export class UnsafeContentError extends SafetyError {
  constructor(what: string, value: string) {
    super(ErrorCode.UNSAFE_CONTENT, `refusing to write ${what} ${JSON.stringify(value.slice(0, 80))}: it does not match the strict pattern`);
  }
}
