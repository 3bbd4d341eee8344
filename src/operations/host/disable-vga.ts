/**
 * disableVga (vfio-pci's module-wide `disable_vga`) judged on effect, in one place for
 * verify and plan:
 *
 *   vfio-disable-vga          the next boot loads vfio-pci with it: the last
 *                             `vfio_pci.disable_vga=` of the configured command line (kmod appends
 *                             the command line after every modprobe.d option), else the last
 *                             `disable_vga=` of vfio_pci's effective modprobe.d options;
 *   vfio-disable-vga-running  the running vfio-pci has it: /sys/module/vfio_pci/parameters/disable_vga.
 *
 * vfio-pci reads the parameter once, when it loads (drivers/vfio/pci/vfio_pci.c vfio_pci_init;
 * `module_param(disable_vga, bool, S_IRUGO)`: read-only at run time). A vfio-pci loaded before
 * the option was written (by hand, or by a boot without it) runs without it until it loads
 * again: a reboot, or `modprobe -r vfio-pci && modprobe vfio-pci` while no device is on it.
 * Built without CONFIG_VFIO_PCI_VGA the parameter does not exist and vfio_pci_init passes
 * `is_disable_vga = true`: VGA access is always off, which is what disableVga asks.
 */
import { modprobeConfigFrom, normalizeModule, optionsOf } from '../../facts/host/modprobe-d.js';
import { VFIO_DISABLE_VGA_PARAM } from '../../facts/host/parse-vfio-disable-vga.js';
import type { HostFacts, ModprobeConfig } from '../../facts/host/types.js';
import type { Device, Node } from '../../inventory/schema.js';
import type { Check } from '../types.js';
import { configuredCmdline } from './kernel-cmdline.js';

const MAX_EVIDENCE = 400;
const clip = (s: string) => (s.length > MAX_EVIDENCE ? `${s.slice(0, MAX_EVIDENCE)}…` : s);

/** A `disable_vga[=value]` word (parameter names compare with `-` = `_`: kernel/params.c parameq). */
export function isDisableVgaWord(word: string): boolean {
  return normalizeModule(word.split('=')[0]!) === 'disable_vga';
}

/**
 * Whether such a word turns it on, as the kernel sets a bool (kernel/params.c param_set_bool:
 * no `=` means set; lib/kstrtox.c kstrtobool: 1/y/t or "on" first; next_arg strips quotes).
 * Anything else is off here (an invalid value makes the kernel refuse to load vfio-pci at all).
 */
export function setsDisableVga(word: string): boolean {
  const eq = word.indexOf('=');
  return eq < 0 || /^"?(?:[1yt]|on)/i.test(word.slice(eq + 1));
}

/** The declared devices that ask for disable_vga. */
export function disableVgaAskers(devices: readonly Device[]): string[] {
  return devices.filter((d) => d.disableVga).map((d) => d.address);
}

/**
 * disable_vga as vfio-pci loads with this modprobe.d configuration and kernel command line:
 * the kernel applies the words kmod passes in order (modprobe.d options in reading order, then
 * the command line's, which libkmod-config.c reads after the files), the last one wins.
 */
export function disableVgaFrom(cfg: ModprobeConfig, cmdline: readonly string[]): { readonly on: boolean; readonly evidence: string; readonly cmdlineToken?: string } {
  const token = [...cmdline].reverse().find((t) => /^vfio[-_]pci\./.test(t) && isDisableVgaWord(t.slice(t.indexOf('.') + 1)));
  if (token !== undefined) return { on: setsDisableVga(token.slice(token.indexOf('.') + 1)), evidence: `next boot's command line: ${token}`, cmdlineToken: token };
  for (const line of [...optionsOf(cfg, 'vfio_pci')].reverse()) {
    const word = line.options.split(/[ \t]+/).filter(isDisableVgaWord).at(-1);
    if (word !== undefined) return { on: setsDisableVga(word), evidence: `${line.file}:${line.line}: ${line.text}` };
  }
  return { on: false, evidence: 'no disable_vga for vfio_pci in the effective modprobe.d configuration' };
}

/** disable_vga as the next boot loads vfio-pci (the configured command line and every modprobe.d file), and the line that decides it. */
export function nextBootDisableVga(facts: HostFacts): { readonly on: boolean; readonly evidence: string } {
  return disableVgaFrom(modprobeConfigFrom(facts.files).value, configuredCmdline(facts) ?? []);
}

export type RunningDisableVga =
  | { readonly state: 'on' | 'off' | 'no-parameter' | 'not-loaded'; readonly evidence: string }
  | { readonly state: 'unknown'; readonly evidence: string };

function vfioPciLoaded(facts: HostFacts): 'module' | 'built-in' | null {
  if (facts.modulesLoaded.some((m) => normalizeModule(m) === 'vfio_pci')) return 'module';
  return (facts.builtinModules?.[facts.kernel.running] ?? []).includes('vfio_pci') ? 'built-in' : null;
}

/** disable_vga as the running vfio-pci has it. */
export function runningDisableVga(facts: HostFacts): RunningDisableVga {
  const v = facts.vfioDisableVga;
  if (v === true || v === false) return { state: v ? 'on' : 'off', evidence: `${VFIO_DISABLE_VGA_PARAM}: ${v ? 'Y' : 'N'}` };
  if (v === undefined) return { state: 'unknown', evidence: `${VFIO_DISABLE_VGA_PARAM} was not read` };
  const loaded = vfioPciLoaded(facts);
  return loaded
    ? { state: 'no-parameter', evidence: `${VFIO_DISABLE_VGA_PARAM}: no such file; vfio_pci ${loaded === 'module' ? 'in /proc/modules' : `built into ${facts.kernel.running}`}` }
    : { state: 'not-loaded', evidence: `${VFIO_DISABLE_VGA_PARAM}: no such file; vfio_pci not in /proc/modules` };
}

/**
 * Why vfio-pci must load again before the declaration holds although the next boot has it
 * right (a reboot reason for plan, reboot-pending for verify), or null.
 */
export function disableVgaReloadReason(devices: readonly Device[], facts: HostFacts): string | null {
  if (disableVgaAskers(devices).length === 0 || runningDisableVga(facts).state !== 'off' || !nextBootDisableVga(facts).on) return null;
  return 'vfio-pci runs with disable_vga=N (it reads the option only when it loads); the next boot loads it with disable_vga=1';
}

/** How to get the running vfio-pci onto disable_vga=1. */
function runningFix(facts: HostFacts, nextOn: boolean): string {
  if (!nextOn) return 'apply first (the next boot would load vfio-pci without it too, see vfio-disable-vga), then reboot';
  const onVfio = facts.pci.filter((p) => p.driver === 'vfio-pci').map((p) => p.address);
  if (vfioPciLoaded(facts) === 'built-in') return 'reboot (vfio-pci is built into the kernel: only a boot sets it)';
  if (onVfio.length) return `reboot (reloading vfio-pci would unbind ${onVfio.join(', ')} from it, and wait for any VM using them)`;
  return 'reboot, or reload it now that no device is on it: modprobe -r vfio-pci && modprobe vfio-pci';
}

/** The next-boot and the running check, when a declared device asks for disable_vga; none otherwise. */
export function disableVgaChecks(node: Node, facts: HostFacts): Check[] {
  const askers = disableVgaAskers(node.devices);
  if (askers.length === 0) return [];
  const by = `asked by ${askers.join(', ')}`;
  const next = nextBootDisableVga(facts);
  const nextCheck: Check = {
    id: 'vfio-disable-vga',
    status: next.on ? 'pass' : 'fail',
    message: next.on ? `vfio-pci loads with disable_vga=1 at the next boot (${by}; module-wide)` : `vfio-pci would load without disable_vga=1 at the next boot (${by})`,
    evidence: clip(next.evidence),
  };
  const running = runningDisableVga(facts);
  const id = 'vfio-disable-vga-running';
  const evidence = clip(running.evidence);
  const runningCheck: Check =
    running.state === 'on' ? { id, status: 'pass', message: `vfio-pci runs with disable_vga=1 (${by})`, evidence }
      : running.state === 'off' ? { id, status: 'fail', message: `vfio-pci runs without disable_vga=1: it was loaded before the option was set and reads it only when it loads (${by}); fix: ${runningFix(facts, next.on)}`, evidence }
        : running.state === 'no-parameter' ? { id, status: 'pass', message: `vfio-pci has no disable_vga parameter (built without CONFIG_VFIO_PCI_VGA): it never gives VGA access (${by})`, evidence }
          : running.state === 'not-loaded' ? { id, status: 'na', message: 'vfio-pci is not loaded: nothing running to judge (vfio-modules and device-bound say why)', evidence }
            : { id, status: 'na', message: 'the running value could not be read', evidence };
  return [nextCheck, runningCheck];
}
