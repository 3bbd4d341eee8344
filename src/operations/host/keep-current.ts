/**
 * A node declared with `exact: false` (the --host flags without --exact) only
 * adds: what the declaration does not name is kept as the host has it now.
 * This resolves such a declaration against the facts into a whole one, so the
 * one planner (and verify) run on it unchanged:
 * - kernel tokens the tool's files add (GRUB drop-in, the cmdline ledger) and
 *   the declaration would not: iommu=pt, kernel parameters;
 * - PCI functions the tool's modprobe file binds (`ids=`, the install hook)
 *   that no declared device covers: declared as they are bound;
 * - softdeps, blacklists, disable_vga=1 and allow_unsafe_interrupts=1 that the
 *   tool's modprobe file holds.
 * Each kept item is named in `kept` for the plan. Idempotent: resolving a
 * resolved node keeps nothing more.
 */
import type { HostFacts } from '../../facts/host/types.js';
import type { Device, Node } from '../../inventory/schema.js';
import { PCI_ADDRESS } from '../../patterns.js';
import { coveredAddresses, functionsOf, hostDriversOf } from './driver-binding.js';
import { desiredCmdlineTokens, ownedCmdlineTokens } from './kernel-cmdline.js';
import { MODPROBE_FILE } from './paths.js';
import { normalizeModule, parseModprobeConfig } from '../../facts/host/modprobe-d.js';

export const KEPT_HINT = 'not named; --exact to remove';

export interface KeptNode {
  readonly node: Node;
  /** What was kept that the declaration leaves out, one line each. */
  readonly kept: readonly string[];
}

/** What the tool's own modprobe file configures now (its text, read as kmod reads it). */
function ownedBinding(facts: HostFacts) {
  const cfg = parseModprobeConfig([{ path: MODPROBE_FILE, content: facts.files[MODPROBE_FILE]?.content ?? '' }]).value;
  const own = <T extends { file: string }>(xs: readonly T[]): T[] => xs.filter((x) => x.file === MODPROBE_FILE);
  const vfioOptions = own(cfg.options).filter((o) => o.module === 'vfio_pci').flatMap((o) => o.options.split(/\s+/));
  const ids = new Set(vfioOptions.filter((w) => w.startsWith('ids=')).flatMap((w) => w.slice(4).split(',')).map((i) => i.toLowerCase()));
  const overrides = new Set(own(cfg.installs).filter((i) => i.module === 'vfio_pci')
    .flatMap((i) => [...i.command.matchAll(/\/sys\/bus\/pci\/devices\/([^/\s]+)\/driver_override/g)].map((m) => m[1]!))
    .filter((a) => PCI_ADDRESS.test(a)));
  return {
    ids,
    overrides,
    disableVga: vfioOptions.includes('disable_vga=1'),
    unsafeInterrupts: own(cfg.options).some((o) => o.module === 'vfio_iommu_type1' && /(?:^|\s)allow_unsafe_interrupts=1(?:\s|$)/.test(o.options)),
    softdeps: own(cfg.softdeps).filter((d) => d.pre.some((m) => normalizeModule(m) === 'vfio_pci')).map((d) => d.module),
    blacklist: own(cfg.blacklist).map((b) => b.module),
  };
}

export function keepCurrentHost(node: Node, facts: HostFacts): KeptNode {
  if (node.exact) return { node, kept: [] };
  const kept: string[] = [];
  const owned = ownedBinding(facts);
  const isVga = (address: string) => facts.pci.find((p) => p.address === address)?.classCode === '0300';

  // Declared devices keep the options the flags cannot name.
  const devices: Device[] = node.devices.map((d) => {
    if (!owned.disableVga || d.disableVga || !isVga(d.address)) return d;
    kept.push(`disable_vga=1 for ${d.address}`);
    return { ...d, disableVga: true };
  });
  // Functions the tool binds now that no declared device covers stay bound, as they are.
  const covered = coveredAddresses(node.devices, facts);
  for (const p of facts.pci) {
    if (p.isBridge || covered.has(p.address)) continue;
    const byAddress = owned.overrides.has(p.address);
    if (!byAddress && !owned.ids.has(p.id)) continue;
    const disableVga = owned.disableVga && p.classCode === '0300';
    devices.push({ address: p.address, allFunctions: false, bind: byAddress ? 'address' : 'ids', blacklist: [], disableVga });
    kept.push(`device ${p.address} (${p.id}) bound to vfio-pci by the tool's ${MODPROBE_FILE}`);
  }
  // Softdeps and blacklists no device would produce ride on the first device (the file renders them as one set).
  const produced = new Set(devices.flatMap((d) => hostDriversOf(d, functionsOf(d, facts)).drivers.map(normalizeModule)));
  const extraSoftdeps = owned.softdeps.filter((m) => !produced.has(m));
  const listed = new Set(devices.flatMap((d) => d.blacklist.map(normalizeModule)));
  const extraBlacklist = owned.blacklist.filter((m) => !listed.has(m));
  const first = devices[0];
  if (first && (extraSoftdeps.length || extraBlacklist.length)) {
    devices[0] = {
      ...first,
      ...(extraSoftdeps.length ? { softdep: [...hostDriversOf(first, functionsOf(first, facts)).drivers, ...extraSoftdeps] } : {}),
      ...(extraBlacklist.length ? { blacklist: [...first.blacklist, ...extraBlacklist] } : {}),
    };
    for (const m of extraSoftdeps) kept.push(`softdep ${m} pre: vfio-pci`);
    for (const m of extraBlacklist) kept.push(`blacklist ${m}`);
  }

  let next: Node = { ...node, devices };
  if (owned.unsafeInterrupts && !node.allowUnsafeInterrupts) {
    next = { ...next, allowUnsafeInterrupts: true };
    kept.push('options vfio_iommu_type1 allow_unsafe_interrupts=1');
  }
  // Kernel tokens the tool added that this declaration would not.
  const wanted = new Set(desiredCmdlineTokens(next, facts, true).tokens);
  const extraTokens = ownedCmdlineTokens(facts).filter((t) => !wanted.has(t));
  if (extraTokens.length) {
    next = {
      ...next,
      iommuPassthrough: next.iommuPassthrough || extraTokens.includes('iommu=pt'),
      allowAcsOverride: next.allowAcsOverride || extraTokens.some((t) => t.startsWith('pcie_acs_override')),
      // Kept ones first: the tokens already on the line keep their order and new ones follow.
      kernelParams: [...extraTokens.filter((t) => t !== 'iommu=pt'), ...next.kernelParams],
    };
    for (const t of extraTokens) kept.push(`kernel parameter ${t}`);
  }
  return { node: next, kept: kept.map((k) => `${k} (${KEPT_HINT})`) };
}
