/**
 * Binding by address, judged by the real kmod (test/helpers/kmod.ts): the file the tool renders,
 * next to the operator's files, in a throw-away module tree; kmod says what runs when a host
 * driver loads (udev coldplug, modprobe) and when vfio-pci loads (modules-load.d).
 * Rules cited there: modprobe.d(5) "softdep takes precedence" over install; libkmod-module.c
 * `ignorecmd`; first install/softdep wins; built-in modules are never probed.
 */
import { describe, expect, it } from 'vitest';
import { modprobeConfigFrom } from '../../../src/facts/host/modprobe-d.js';
import type { HostFacts, PciDevice } from '../../../src/facts/host/types.js';
import { coveredAddresses, installLine, isRefusal, planModprobe, renderModprobe, resolveBinding } from '../../../src/operations/host/driver-binding.js';
import { adoptModprobe } from '../../../src/operations/host/modprobe-adopt.js';
import { MODPROBE_FILE } from '../../../src/operations/host/paths.js';
import { kmodMissing, kmodTitle, norm, replayBoot, withKmod, type KmodAction } from '../../helpers/kmod.js';
import { GPU, GPU_AUDIO, makeNode, MGMT_NIC, pci, pve9IntelGrub } from './facts-factory.js';

const TWIN_GPU = pci({ ...GPU, address: '0000:02:00.0', iommuGroup: 15 });
const TWIN_AUDIO = pci({ ...GPU_AUDIO, address: '0000:02:00.1', iommuGroup: 15 });
const NIC_A = pci({ ...MGMT_NIC, address: '0000:05:00.0', iommuGroup: 20, driver: 'igc', modules: ['igc'], id: '8086:15f3' });
const NIC_B = pci({ ...NIC_A, address: '0000:06:00.0', iommuGroup: 21 });
const VFIO = ['drivers/vfio/vfio', 'drivers/vfio/vfio_iommu_type1', 'drivers/vfio/pci/vfio-pci', 'drivers/vfio/pci/vfio-pci-core'];
const HOST_DRIVERS = ['drivers/gpu/drm/nouveau/nouveau', 'drivers/video/fbdev/nvidia/nvidiafb', 'sound/pci/hda/snd-hda-intel', 'drivers/net/ethernet/intel/igb/igb', 'drivers/net/ethernet/intel/igc/igc'];

/** Facts with these operator modprobe.d files, parsed as the facts reader does. */
function host(extraPci: PciDevice[], conf: Record<string, string> = {}, builtin: string[] = []): HostFacts {
  const base = pve9IntelGrub();
  const files = { ...base.files };
  for (const [name, content] of Object.entries(conf)) files[`/etc/modprobe.d/${name}`] = { path: `/etc/modprobe.d/${name}`, content, mode: '0644', uid: 0, gid: 0 };
  return {
    ...base,
    pci: [...base.pci, ...extraPci],
    files,
    modprobe: modprobeConfigFrom(files).value,
    builtinModules: { [base.kernel.next]: builtin },
  };
}

function render(facts: HostFacts, devices: Record<string, unknown>[]) {
  const node = makeNode({ devices });
  const covered = coveredAddresses(node.devices, facts);
  const resolved = node.devices.map((d) => [d.address, resolveBinding(d, facts, covered)] as const);
  const refusals = resolved.flatMap(([, b]) => (isRefusal(b) ? [b] : []));
  const bindings = new Map(resolved.flatMap(([a, b]) => (isRefusal(b) ? [] : [[a, b] as const])));
  const planned = node.devices.filter((d) => bindings.has(d.address));
  const r = planModprobe(node, facts, { devices: planned, bindings, unsafeInterrupts: false, trailer: null });
  const own = r.changes.find((c) => c.path === MODPROBE_FILE)?.after ?? facts.files[MODPROBE_FILE]?.content ?? null;
  return { refusals, plan: r.plan, own };
}

/** The modprobe.d directory kmod reads: every operator *.conf plus the tool's rendered file. */
function confDir(facts: HostFacts, own: string | null): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of Object.values(facts.files)) {
    if (f.content === null || !/^\/etc\/modprobe\.d\/[^/]+\.conf$/.test(f.path) || f.path === MODPROBE_FILE) continue;
    out[f.path.slice('/etc/modprobe.d/'.length)] = f.content;
  }
  if (own !== null) out['pve-passthrough.conf'] = own;
  return out;
}

const steps = (as: readonly KmodAction[]) => as.map((a) => `${a.kind} ${a.module}`);
const pinned = (as: readonly KmodAction[]) => as.flatMap((a) => (a.kind === 'install' ? [...a.command.matchAll(/echo vfio-pci > \/sys\/bus\/pci\/devices\/([^/]+)\/driver_override/g)].map((m) => m[1]) : []));

describe.skipIf(kmodMissing !== null)(kmodTitle('binding by address, as the real kmod runs it'), () => {
  const cases: { name: string; extra: PciDevice[]; devices: Record<string, unknown>[]; conf?: Record<string, string>; pins: string[]; drivers: string[] }[] = [
    { name: 'a GPU with its audio function, twin GPU undeclared (auto)', extra: [TWIN_GPU, TWIN_AUDIO], devices: [{ address: '0000:01:00.0' }], pins: ['0000:01:00.0', '0000:01:00.1'], drivers: ['nouveau', 'nvidiafb', 'snd_hda_intel'] },
    { name: 'one of two identical NICs, by address', extra: [NIC_A, NIC_B], devices: [{ address: '0000:05:00.0', bind: 'address' }], pins: ['0000:05:00.0'], drivers: ['igc'] },
    { name: 'the twin of the management NIC (auto)', extra: [pci({ ...MGMT_NIC, address: '0000:05:00.0', iommuGroup: 19 })], devices: [{ address: '0000:05:00.0' }], pins: ['0000:05:00.0'], drivers: ['igb'] },
    { name: 'an ids= GPU and a NIC by address side by side, next to a hand-made softdep', extra: [NIC_A, NIC_B], devices: [{ address: '0000:01:00.0' }, { address: '0000:06:00.0', bind: 'address' }], conf: { 'vfio.conf': 'softdep nouveau pre: vfio-pci\n' }, pins: ['0000:06:00.0'], drivers: ['igc'] },
  ];

  it.each(cases)('$name: every host driver load first runs the hook that pins exactly the declared functions', (c) => {
    const facts = host(c.extra, c.conf);
    const { refusals, own, plan } = render(facts, c.devices);
    expect(refusals).toEqual([]);
    expect(plan.overrides).toEqual(c.pins);
    withKmod({ modules: [...VFIO, ...HOST_DRIVERS], conf: confDir(facts, own) }, (kmod) => {
      for (const drv of c.drivers) {
        const actions = kmod.showDepends(drv);
        expect(steps(actions), drv).toEqual(['install vfio_pci', `insmod ${norm(drv)}`]);
        expect(pinned(actions), drv).toEqual(c.pins);
        expect(actions[0]?.kind === 'install' && actions[0].command).toMatch(/; modprobe -i vfio-pci /);
      }
      // vfio-pci loaded first (systemd-modules-load) runs the same hook.
      expect(pinned(kmod.showDepends('vfio_pci'))).toEqual(c.pins);
      // Never two ids= for vfio-pci in the effective configuration.
      expect((kmod.config().options.get('vfio_pci') ?? []).join(' ').match(/(^|\s)ids=/g)?.length ?? 0).toBeLessThanOrEqual(1);
      expect(kmod.config().errors).toEqual([]);
    });
  });

  it('a boot, whatever loads first: the hook runs once, before any host driver binds', () => {
    const facts = host([NIC_A, NIC_B]);
    const { own } = render(facts, [{ address: '0000:05:00.0', bind: 'address' }]);
    withKmod({ modules: [...VFIO, ...HOST_DRIVERS], conf: confDir(facts, own) }, (kmod) => {
      for (const order of [['udev', 'modules-load'], ['modules-load', 'udev']] as const) {
        const requests = order.flatMap((by): { by: 'udev' | 'modules-load'; module: string }[] => (by === 'udev' ? [{ by, module: 'igc' }] : ['vfio', 'vfio_iommu_type1', 'vfio_pci'].map((module) => ({ by, module }))));
        const boot = replayBoot(kmod, requests);
        const all = boot.flatMap((b) => b.actions);
        expect(all.filter((a) => a.kind === 'install').map((a) => a.module)).toEqual(['vfio_pci']);
        expect(steps(all).indexOf('install vfio_pci')).toBeLessThan(steps(all).indexOf('insmod igc'));
      }
    });
  });

  it('the host driver in the initramfs without vfio-pci.ko there: kmod still runs the hook before the driver', () => {
    const facts = host([NIC_A, NIC_B]);
    const { own } = render(facts, [{ address: '0000:05:00.0', bind: 'address' }]);
    // initramfs-tools copies every modprobe.d file but only the modules it resolves (no `install` targets).
    withKmod({ modules: HOST_DRIVERS, conf: confDir(facts, own) }, (kmod) => {
      expect(steps(kmod.showDepends('igc'))).toEqual(['install vfio_pci', 'insmod igc']);
    });
  });

  const refused: { name: string; conf?: Record<string, string>; builtin?: string[]; reason: RegExp; kmodSays: (kmod: Parameters<Parameters<typeof withKmod>[1]>[0]) => void }[] = [
    {
      name: 'the host driver is built into the next kernel',
      builtin: ['drivers/net/ethernet/intel/igc/igc'],
      reason: /igc is built into kernel 6\.17\.2-1-pve \(modules\.builtin\)/,
      kmodSays: (k) => expect(replayBoot(k, [{ by: 'udev', module: 'igc' }]).flatMap((b) => steps(b.actions))).toEqual(['builtin igc']),
    },
    {
      name: 'vfio-pci is built into the next kernel',
      builtin: ['drivers/vfio/pci/vfio-pci'],
      reason: /vfio-pci is built into kernel/,
      kmodSays: (k) => expect(replayBoot(k, [{ by: 'modules-load', module: 'vfio_pci' }]).flatMap((b) => steps(b.actions))).toEqual(['builtin vfio_pci']),
    },
    {
      name: 'an operator install command for vfio-pci is read first',
      conf: { 'local.conf': 'install vfio_pci /sbin/modprobe --ignore-install vfio-pci\n' },
      reason: /local\.conf line 1 has its own "install vfio_pci".*the tool's hook would never run/,
      kmodSays: (k) => expect(k.config().installs.get('vfio_pci')).toBe('/sbin/modprobe --ignore-install vfio-pci'),
    },
    {
      name: 'an operator softdep on vfio-pci',
      conf: { 'vfio.conf': 'softdep vfio-pci pre: vfio_iommu_type1\n' },
      reason: /gives vfio-pci a softdep/,
      kmodSays: (k) => expect(pinned(k.showDepends('igc'))).toEqual([]),
    },
  ];

  it.each(refused)('refused when the hook would not run: $name (and kmod agrees)', (c) => {
    const facts = host([NIC_A, NIC_B], c.conf, (c.builtin ?? []).map((m) => norm(m.slice(m.lastIndexOf('/') + 1))));
    const { refusals } = render(facts, [{ address: '0000:05:00.0', bind: 'address' }]);
    expect(refusals.map((r) => r.reason).join('\n')).toMatch(c.reason);
    // What kmod does with the tool's file as it would have been written anyway:
    const forced = render(host([NIC_A, NIC_B], c.conf), [{ address: '0000:05:00.0', bind: 'address' }]).own;
    const modules = [...VFIO, ...HOST_DRIVERS, 'kernel/ptp'].filter((m) => !(c.builtin ?? []).includes(m));
    withKmod({ modules, builtin: c.builtin ?? [], conf: confDir(facts, forced) }, c.kmodSays);
  });

  it('an operator install command for vfio-pci read after the hook is refused too: kmod would run only the hook, never that line', () => {
    const conf = { 'zz-local.conf': 'install vfio_pci /sbin/modprobe --ignore-install vfio-pci && echo loaded > /run/vfio\n' };
    const { refusals } = render(host([NIC_A, NIC_B], conf), [{ address: '0000:05:00.0', bind: 'address' }]);
    expect(refusals.map((r) => r.reason).join('\n')).toMatch(/zz-local\.conf line 1 has its own "install vfio_pci".*would silently stop running/);
    // The hook as it would be written, next to that line (pve-passthrough.conf is read first):
    withKmod({ modules: [...VFIO, ...HOST_DRIVERS], conf: { ...conf, 'pve-passthrough.conf': `${installLine(['0000:05:00.0'])}\n` } }, (k) => {
      expect(k.config().installs.get('vfio_pci')).toMatch(/^echo vfio-pci > /);
      expect(pinned(k.showDepends('vfio_pci'))).toEqual(['0000:05:00.0']);
    });
  });

  /** The plan as plan-host makes it: binding, then adoption of the operator's lines; kmod reads the result. */
  function adopted(facts: HostFacts, devices: Record<string, unknown>[]) {
    const { refusals, plan } = render(facts, devices);
    const a = adoptModprobe(facts, renderModprobe(plan), 'run1');
    const conf = confDir(facts, a.owned);
    for (const c of a.changes) if (c.after !== null) conf[c.path.slice('/etc/modprobe.d/'.length)] = c.after;
    return { refusals: [...refusals, ...a.blocking], conf, edited: a.changes.map((c) => c.path), owned: a.owned };
  }

  // One binding rule: an operator softdep/install line next to the address binding is taken over or refused
  // with the reason; in no case is it left to make kmod skip vfio-pci's hook (asked of the real kmod).
  it.each<{ name: string; conf: Record<string, string> }>([
    { name: 'softdep igc without vfio-pci, read first', conf: { 'igc.conf': 'softdep igc pre: ptp\n' } },
    { name: 'softdep igc without vfio-pci, read after', conf: { 'zz-igc.conf': 'softdep igc pre: ptp\n' } },
  ])('an operator $name is taken over: vfio-pci joins its pre: list, the hook runs before igc', (c) => {
    const facts = host([NIC_A, NIC_B], c.conf);
    const r = adopted(facts, [{ address: '0000:05:00.0', bind: 'address' }]);
    expect(r.refusals).toEqual([]);
    expect(r.edited).toEqual([`/etc/modprobe.d/${Object.keys(c.conf)[0]}`]);
    expect(r.owned).toMatch(/^softdep igc pre: ptp vfio-pci$/m);
    withKmod({ modules: [...VFIO, ...HOST_DRIVERS, 'kernel/ptp'], conf: r.conf }, (k) => {
      expect(steps(k.showDepends('igc'))).toEqual(['insmod ptp', 'install vfio_pci', 'insmod igc']);
      expect(pinned(k.showDepends('igc'))).toEqual(['0000:05:00.0']);
      expect(k.config().errors).toEqual([]);
    });
  });

  it('an operator softdep igc pre: vfio-pci (the PVE-docs line) is kept as is: no second softdep, the hook runs', () => {
    const facts = host([NIC_A, NIC_B], { 'vfio.conf': 'softdep igc pre: vfio-pci\n' });
    const r = adopted(facts, [{ address: '0000:05:00.0', bind: 'address' }]);
    expect(r.refusals).toEqual([]);
    expect(r.edited).toEqual([]);
    expect(r.owned).not.toMatch(/^softdep/m);
    withKmod({ modules: [...VFIO, ...HOST_DRIVERS], conf: r.conf }, (k) => expect(steps(k.showDepends('igc'))).toEqual(['install vfio_pci', 'insmod igc']));
  });

  it.each<{ name: string; conf: Record<string, string>; reason: RegExp }>([
    { name: 'install igc (the old per-driver hook)', conf: { 'local.conf': 'install igc echo vfio-pci > /sys/bus/pci/devices/0000:05:00.0/driver_override; modprobe -i igc\n' }, reason: /line 1: install igc is the operator's; a softdep for igc .* would make kmod ignore/ },
    { name: 'softdep vfio-pci', conf: { 'vfio.conf': 'softdep vfio-pci pre: vfio_iommu_type1\n' }, reason: /vfio\.conf line 1 gives vfio-pci a softdep/ },
    { name: 'install vfio-pci', conf: { 'local.conf': 'install vfio_pci /sbin/modprobe --ignore-install vfio-pci\n' }, reason: /local\.conf line 1 has its own "install vfio_pci"/ },
  ])('an operator $name cannot be combined with the hook: refused with the reason, nothing edited', (c) => {
    const r = adopted(host([NIC_A, NIC_B], c.conf), [{ address: '0000:05:00.0', bind: 'address' }]);
    expect(r.refusals.map((x) => x.reason).join('\n')).toMatch(c.reason);
    expect(r.edited).toEqual([]);
  });

  it('an operator softdep read first that already loads vfio-pci is fine', () => {
    const facts = host([NIC_A, NIC_B], { '00-vfio.conf': 'softdep igc pre: vfio-pci\n' });
    const { refusals, own } = render(facts, [{ address: '0000:05:00.0', bind: 'address' }]);
    expect(refusals).toEqual([]);
    withKmod({ modules: [...VFIO, ...HOST_DRIVERS], conf: confDir(facts, own) }, (k) => expect(steps(k.showDepends('igc'))).toEqual(['install vfio_pci', 'insmod igc']));
  });
});
