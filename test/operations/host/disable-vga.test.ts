/**
 * disableVga on a declared device (issue 15 item 6): `disable_vga=1` on vfio-pci's one
 * options line, under the one-owner rules of modprobe-adopt.ts, checked by verify, refused
 * on a device that is not VGA class. disable_vga is a module parameter of vfio-pci
 * (drivers/vfio/pci/vfio_pci.c: module_param(disable_vga, bool, S_IRUGO)), so it is
 * module-wide; it only acts on class 0300 devices (vfio_pci_is_vga: class >> 8 ==
 * PCI_CLASS_DISPLAY_VGA). The effective configuration is asked of the real kmod
 * (`modprobe -c`, test/helpers/kmod.ts): exactly one `options vfio_pci` line, with the ids
 * and disable_vga=1.
 */
import { describe, expect, it } from 'vitest';
import type { HostFacts } from '../../../src/facts/host/types.js';
import { Device } from '../../../src/inventory/schema.js';
import { planHost } from '../../../src/operations/host/plan-host.js';
import { verifyHost } from '../../../src/operations/host/verify-host.js';
import type { HostStep } from '../../../src/operations/types.js';
import { kernelBool } from '../../../mocks/hosts/kernel.js';
import { configuredCmdline } from '../../../src/operations/host/kernel-cmdline.js';
import { nextBootDisableVga } from '../../../src/operations/host/disable-vga.js';
import { cmdlineOracleMissing, kmodMissing, kmodTitle, withKmod } from '../../helpers/kmod.js';
import { applyStepsToFacts } from './apply-steps.js';
import { GPU, makeNode, pci, pve9IntelGrub, withFiles } from './facts-factory.js';

const OWNED = '/etc/modprobe.d/pve-passthrough.conf';
const ALL_LOADED = { '/etc/modules': 'vfio\nvfio_iommu_type1\nvfio_pci\n' };
const SOFTDEPS = 'softdep nouveau pre: vfio-pci\nsoftdep snd-hda-intel pre: vfio-pci\n';
const gpuVga = makeNode({ devices: [{ address: '0000:01:00.0', disableVga: true }] });
const writes = (steps: readonly HostStep[]): Record<string, string | null> =>
  Object.fromEntries(steps.flatMap((s): [string, string | null][] => (s.kind === 'write-file' ? [[s.path, s.after]] : s.kind === 'remove-file' ? [[s.path, null]] : [])));
const fileSteps = (steps: readonly HostStep[]) => steps.filter((s) => 'path' in s);

/** `modprobe -c` of every /etc/modprobe.d file of these facts: vfio_pci's options lines. */
function kmodVfioOptions(f: HostFacts): string[] {
  const conf = Object.fromEntries(Object.values(f.files)
    .filter((x) => /^\/etc\/modprobe\.d\/[^/]+\.conf$/.test(x.path) && x.content !== null)
    .map((x) => [x.path.slice('/etc/modprobe.d/'.length), x.content as string]));
  return withKmod({ modules: ['vfio-pci', 'nouveau', 'snd-hda-intel'], conf }, (k) => [...(k.config().options.get('vfio_pci') ?? [])]);
}

describe('the inventory field', () => {
  it('defaults to false and says it is module-wide and VGA-only', () => {
    expect(Device.parse({ address: '0000:01:00.0' }).disableVga).toBe(false);
    expect(Device.shape.disableVga.description).toMatch(/module-wide/);
    expect(Device.shape.disableVga.description).toMatch(/class 0300/);
  });
});

describe('disable_vga=1 in the plan', () => {
  it('a fresh host: the tool writes one options line with the ids and disable_vga=1; real kmod sees exactly that', () => {
    const f = pve9IntelGrub();
    const p = planHost(gpuVga, f);
    expect(p.refused).toEqual([]);
    expect(writes(p.steps)[OWNED]).toMatch(/^options vfio-pci ids=10de:228b,10de:2484 disable_vga=1$/m);
    expect(writes(p.steps)[OWNED]?.match(/^options vfio-pci/gm)).toHaveLength(1);
    const after = applyStepsToFacts(f, p.steps);
    expect(fileSteps(planHost(gpuVga, after).steps)).toEqual([]);
    if (kmodMissing) return void console.warn(`disable-vga.test.ts: real-kmod check skipped: ${kmodMissing}`);
    expect(kmodVfioOptions(after)).toEqual(['ids=10de:228b,10de:2484 disable_vga=1']);
  });

  it('without disableVga the line carries no disable_vga (the default stays off)', () => {
    const p = planHost(makeNode({ devices: [{ address: '0000:01:00.0' }] }), pve9IntelGrub());
    expect(writes(p.steps)[OWNED]).not.toMatch(/disable_vga/);
  });

  it('a hand-written options line that already has the ids and disable_vga=1 satisfies it: no modprobe step', () => {
    const f = withFiles(pve9IntelGrub(), { ...ALL_LOADED, '/etc/modprobe.d/vfio.conf': `options vfio-pci ids=10de:2484,10de:228b disable_vga=1\n${SOFTDEPS}` });
    const p = planHost(gpuVga, f);
    expect(p.refused).toEqual([]);
    expect(fileSteps(p.steps)).toEqual([]);
    expect(verifyHost(gpuVga, f).find((c) => c.id === 'vfio-disable-vga')).toMatchObject({ status: 'pass', evidence: '/etc/modprobe.d/vfio.conf:1: options vfio-pci ids=10de:2484,10de:228b disable_vga=1' });
  });

  it('an operator ids line without disable_vga is taken over, not duplicated; real kmod sees one line with both; removing disableVga puts it back', () => {
    const hand = `options vfio-pci ids=10de:2484,10de:228b\n${SOFTDEPS}`;
    const f = withFiles(pve9IntelGrub(), { ...ALL_LOADED, '/etc/modprobe.d/vfio.conf': hand });
    const p = planHost(gpuVga, f, { runId: 'RUN1' });
    expect(p.refused).toEqual([]);
    const w = writes(p.steps);
    expect(w['/etc/modprobe.d/vfio.conf']).toBe(`# pve-passthrough RUN1 took over: options vfio-pci ids=10de:2484,10de:228b\n${SOFTDEPS}`);
    expect(w[OWNED]).toMatch(/^options vfio-pci ids=10de:2484,10de:228b disable_vga=1$/m);
    expect(p.warnings.map((x) => x.message).join('\n')).toMatch(/line 1 \(options vfio-pci ids=10de:2484,10de:228b\) is taken over/);
    const after = applyStepsToFacts(f, p.steps);
    expect(verifyHost(gpuVga, after).find((c) => c.id === 'vfio-disable-vga')?.status).toBe('pass');
    expect(fileSteps(planHost(gpuVga, after, { runId: 'RUN2' }).steps)).toEqual([]);
    const back = writes(planHost(makeNode({ devices: [{ address: '0000:01:00.0' }] }), after, { runId: 'RUN3' }).steps);
    expect(back['/etc/modprobe.d/vfio.conf']).toBe(hand);
    if (kmodMissing) return void console.warn(`disable-vga.test.ts: real-kmod check skipped: ${kmodMissing}`);
    expect(kmodVfioOptions(after)).toEqual(['ids=10de:2484,10de:228b disable_vga=1']);
  });

  it('an operator line with disable_vga=0 is taken over with the declared value', () => {
    const f = withFiles(pve9IntelGrub(), { ...ALL_LOADED, '/etc/modprobe.d/vfio.conf': `options vfio-pci ids=10de:2484,10de:228b disable_vga=0\n${SOFTDEPS}` });
    const p = planHost(gpuVga, f, { runId: 'RUN1' });
    expect(writes(p.steps)[OWNED]).toMatch(/^options vfio-pci ids=10de:2484,10de:228b disable_vga=1$/m);
    if (kmodMissing) return void console.warn(`disable-vga.test.ts: real-kmod check skipped: ${kmodMissing}`);
    expect(kmodVfioOptions(applyStepsToFacts(f, p.steps))).toEqual(['ids=10de:2484,10de:228b disable_vga=1']);
  });

  it('bound by address (no ids=): its own options vfio-pci disable_vga=1 line', () => {
    const node = makeNode({ devices: [{ address: '0000:01:00.0', disableVga: true, bind: 'address' }] });
    const own = writes(planHost(node, pve9IntelGrub()).steps)[OWNED];
    expect(own).toMatch(/^options vfio-pci disable_vga=1$/m);
    expect(own).not.toMatch(/ids=/);
  });

  it('refused on a device that is not VGA class, with the field and the fix', () => {
    const node = makeNode({ devices: [{ address: '0000:01:00.1', allFunctions: false, disableVga: true }] });
    const p = planHost(node, pve9IntelGrub());
    expect(p.refused).toEqual([expect.objectContaining({
      subject: 'device 0000:01:00.1',
      reason: expect.stringMatching(/"disableVga" applies to VGA-class devices only .* class 0403 \(Audio device\)/),
      fix: expect.stringMatching(/remove "disableVga"/),
    })]);
    expect(writes(p.steps)[OWNED] ?? '').not.toMatch(/disable_vga/);
  });

  it('two GPUs share it: the plan says disable_vga is module-wide and names both', () => {
    const gpu2 = pci({ ...GPU, address: '0000:02:00.0', id: '1002:73bf', description: 'AMD Navi 21', driver: 'amdgpu', modules: ['amdgpu'], iommuGroup: 15 });
    const f = pve9IntelGrub({ pci: [...pve9IntelGrub().pci, gpu2] });
    const node = makeNode({ devices: [{ address: '0000:01:00.0', disableVga: true }, { address: '0000:02:00.0' }] });
    const p = planHost(node, f);
    expect(p.refused).toEqual([]);
    expect(p.warnings).toContainEqual({ subject: 'module vfio-pci', message: expect.stringMatching(/module-wide: it applies to every VGA device vfio-pci drives \(0000:01:00\.0, 0000:02:00\.0\)/) });
  });
});

describe('verify', () => {
  it('fails while the next boot would load vfio-pci without disable_vga=1, passes once applied; absent when not asked', () => {
    const f = pve9IntelGrub();
    expect(verifyHost(gpuVga, f).find((c) => c.id === 'vfio-disable-vga')).toMatchObject({ status: 'fail', message: expect.stringMatching(/without disable_vga=1/) });
    const after = applyStepsToFacts(f, planHost(gpuVga, f).steps, { reboot: true });
    expect(verifyHost(gpuVga, after).find((c) => c.id === 'vfio-disable-vga')).toMatchObject({ status: 'pass', evidence: expect.stringContaining('disable_vga=1') });
    expect(verifyHost(makeNode({ devices: [{ address: '0000:01:00.0' }] }), after).find((c) => c.id === 'vfio-disable-vga')).toBeUndefined();
  });
});

/**
 * The running value (issue 13: compliance on effect): vfio-pci reads disable_vga once, when it
 * loads (drivers/vfio/pci/vfio_pci.c vfio_pci_init; the parameter is S_IRUGO, read-only), so
 * one loaded before the option was written runs without it. The facts carry
 * /sys/module/vfio_pci/parameters/disable_vga (Y/N; null = no such file).
 */
describe('verify: the disable_vga vfio-pci runs with (vfio-disable-vga-running)', () => {
  const HAND = { ...ALL_LOADED, '/etc/modprobe.d/vfio.conf': `options vfio-pci ids=10de:2484,10de:228b disable_vga=1\n${SOFTDEPS}` };
  const VFIO_LOADED = ['vfio_pci', 'vfio_pci_core', 'vfio_iommu_type1', 'vfio', 'kvm_intel', 'kvm', 'igb', 'nvme', 'i915'];
  const onVfio = (f: HostFacts): HostFacts => ({ ...f, pci: f.pci.map((p) => (p.address.startsWith('0000:01:00.') ? { ...p, driver: 'vfio-pci' } : p)) });
  /** The hand-configured host whose vfio-pci loaded before disable_vga=1 was added (running N). */
  const loadedBefore = (o: { vfioDisableVga?: boolean | null; bound?: boolean; modulesLoaded?: string[] } = {}): HostFacts => {
    const f = withFiles(pve9IntelGrub({ modulesLoaded: o.modulesLoaded ?? VFIO_LOADED }), HAND);
    return { ...(o.bound === false ? f : onVfio(f)), vfioDisableVga: 'vfioDisableVga' in o ? o.vfioDisableVga : false };
  };
  const check = (f: HostFacts, node = gpuVga) => verifyHost(node, f).find((c) => c.id === 'vfio-disable-vga-running');

  it('N while the next boot has it: fails with the fix (a reboot; a reload would unbind the GPU), reboot-pending says why, and the plan reboots', () => {
    const f = loadedBefore();
    const checks = verifyHost(gpuVga, f);
    expect(checks.find((c) => c.id === 'vfio-disable-vga')?.status).toBe('pass');
    expect(check(f)).toEqual({
      id: 'vfio-disable-vga-running', status: 'fail',
      message: expect.stringMatching(/^vfio-pci runs without disable_vga=1: it was loaded before the option was set .*fix: reboot \(reloading vfio-pci would unbind 0000:01:00\.0, 0000:01:00\.1 from it/),
      evidence: '/sys/module/vfio_pci/parameters/disable_vga: N',
    });
    expect(checks.find((c) => c.id === 'reboot-pending')).toMatchObject({ status: 'fail', message: expect.stringContaining('vfio-pci runs with disable_vga=N') });
    const p = planHost(gpuVga, f);
    expect(fileSteps(p.steps)).toEqual([]);
    expect(p.rebootReasons).toEqual(['vfio-pci runs with disable_vga=N (it reads the option only when it loads); the next boot loads it with disable_vga=1']);
  });

  it('N with no device on vfio-pci: the fix also offers the reload', () => {
    expect(check(loadedBefore({ bound: false }))?.message).toMatch(/fix: reboot, or reload it now that no device is on it: modprobe -r vfio-pci && modprobe vfio-pci$/);
  });

  it('N with vfio-pci built into the running kernel: only a boot sets it', () => {
    const f = { ...loadedBefore({ modulesLoaded: ['vfio', 'vfio_iommu_type1', 'kvm'] }), builtinModules: { '6.17.2-1-pve': ['vfio_pci'] } };
    expect(check(f)?.message).toMatch(/fix: reboot \(vfio-pci is built into the kernel/);
  });

  it('N and the next boot lacks it too: the fix says apply first; the plan writes it and reboots for it', () => {
    const f = { ...onVfio(withFiles(pve9IntelGrub({ modulesLoaded: VFIO_LOADED }), { ...ALL_LOADED, '/etc/modprobe.d/vfio.conf': `options vfio-pci ids=10de:2484,10de:228b\n${SOFTDEPS}` })), vfioDisableVga: false };
    expect(check(f)?.message).toMatch(/fix: apply first \(the next boot would load vfio-pci without it too, see vfio-disable-vga\), then reboot$/);
    expect(verifyHost(gpuVga, f).find((c) => c.id === 'reboot-pending')?.message ?? '').not.toContain('disable_vga'); // nothing configured waits yet
    const p = planHost(gpuVga, f);
    expect(writes(p.steps)[OWNED]).toMatch(/disable_vga=1/);
    expect(p.rebootReasons).toContain('vfio-pci runs with disable_vga=N (it reads the option only when it loads); the next boot loads it with disable_vga=1');
  });

  it('Y passes; no plan reason', () => {
    const f = loadedBefore({ vfioDisableVga: true });
    expect(check(f)).toMatchObject({ status: 'pass', evidence: '/sys/module/vfio_pci/parameters/disable_vga: Y' });
    expect(planHost(gpuVga, f).rebootReasons).toEqual([]);
  });

  it('no such file while vfio_pci is loaded: built without CONFIG_VFIO_PCI_VGA, VGA access is always off (pass)', () => {
    expect(check(loadedBefore({ vfioDisableVga: null }))).toMatchObject({ status: 'pass', message: expect.stringMatching(/no disable_vga parameter/), evidence: expect.stringContaining('vfio_pci in /proc/modules') });
  });

  it('vfio-pci not loaded: not judged here (na); not read: na', () => {
    const notLoaded = { ...withFiles(pve9IntelGrub(), HAND), vfioDisableVga: null };
    expect(check(notLoaded)).toMatchObject({ status: 'na', message: expect.stringMatching(/not loaded/) });
    expect(planHost(gpuVga, notLoaded).rebootReasons.join(';')).not.toContain('disable_vga');
    expect(check(withFiles(pve9IntelGrub(), HAND))).toMatchObject({ status: 'na', message: 'the running value could not be read' });
  });

  it('no device asks for it: neither check, whatever vfio-pci runs with', () => {
    const plain = makeNode({ devices: [{ address: '0000:01:00.0' }] });
    const f = loadedBefore();
    expect(verifyHost(plain, f).filter((c) => c.id.startsWith('vfio-disable-vga'))).toEqual([]);
    expect(verifyHost(plain, f).find((c) => c.id === 'reboot-pending')?.message ?? '').not.toContain('disable_vga');
  });
});

/**
 * The next-boot rule against real kmod: the value is the last disable_vga word kmod passes to
 * vfio-pci (`modprobe --show-depends`: modprobe.d options in reading order, then the command
 * line's), as the kernel reads a bool (kernelBool: param_set_bool + kstrtobool, cited in
 * mocks/hosts/kernel.ts; an invalid value counts as off: the kernel would not load vfio-pci).
 * Command-line cases show kmod the configured command line through a bind-mounted /proc/cmdline
 * (test/helpers/kmod.ts) and skip, saying so, where that needs root it lacks.
 */
describe.skipIf(kmodMissing !== null)(kmodTitle('the next boot\'s disable_vga = what real kmod hands vfio-pci'), () => {
  const grub = (tokens: string) => `GRUB_DEFAULT=0\nGRUB_CMDLINE_LINUX_DEFAULT="quiet ${tokens}"\nGRUB_CMDLINE_LINUX=""\n`;
  const cases: { name: string; conf: Record<string, string>; grubTokens?: string }[] = [
    { name: 'disable_vga=1', conf: { 'vfio.conf': 'options vfio-pci ids=10de:2484 disable_vga=1\n' } },
    { name: 'none', conf: { 'vfio.conf': 'options vfio-pci ids=10de:2484\n' } },
    { name: 'bare disable_vga (set)', conf: { 'vfio.conf': 'options vfio-pci disable_vga=0\noptions vfio_pci disable_vga\n' } },
    { name: 'quoted "1"', conf: { 'vfio.conf': 'options vfio-pci disable_vga="1"\n' } },
    { name: 'disable-vga with a dash (parameq)', conf: { 'vfio.conf': 'options vfio-pci disable-vga=1\n' } },
    { name: 'two words: the last', conf: { 'vfio.conf': 'options vfio-pci disable_vga=1 disable_vga=off\n' } },
    { name: 'two files: the one read last', conf: { 'b.conf': 'options vfio-pci disable_vga=Yes\n', 'a.conf': 'options vfio-pci disable_vga=n\n' } },
    { name: 'an invalid value', conf: { 'vfio.conf': 'options vfio-pci disable_vga=maybe\n' } },
    { name: 'the command line after modprobe.d', conf: { 'vfio.conf': 'options vfio-pci disable_vga=1\n' }, grubTokens: 'vfio_pci.disable_vga=0' },
    { name: 'a bare command-line word', conf: { 'vfio.conf': 'options vfio-pci disable_vga=0\n' }, grubTokens: 'vfio-pci.disable_vga' },
  ];
  it.each(cases)('$name', (c) => {
    if (c.grubTokens !== undefined && cmdlineOracleMissing() !== null) return void console.warn(`disable-vga.test.ts: "${c.name}" skipped: ${cmdlineOracleMissing()}`);
    const files = Object.fromEntries(Object.entries(c.conf).map(([n, t]) => [`/etc/modprobe.d/${n}`, t]));
    const f = withFiles(pve9IntelGrub(), { ...files, ...(c.grubTokens !== undefined ? { '/etc/default/grub': grub(c.grubTokens) } : {}) });
    const cmdline = c.grubTokens !== undefined ? `BOOT_IMAGE=/boot/vmlinuz root=/dev/mapper/pve-root ro ${(configuredCmdline(f) ?? []).join(' ')}` : undefined;
    const insmod = withKmod({ modules: ['vfio-pci'], conf: c.conf, ...(cmdline !== undefined ? { cmdline } : {}) }, (t) => t.showDepends('vfio-pci')).find((a) => a.kind === 'insmod');
    const words = (insmod?.kind === 'insmod' ? insmod.options : '').split(/\s+/).filter((w) => /^disable[-_]vga(=|$)/.test(w));
    const last = words.at(-1);
    const kernel = last === undefined ? false : (kernelBool(last.includes('=') ? last.slice(last.indexOf('=') + 1).replace(/^"|"$/g, '') : null) ?? false);
    expect(nextBootDisableVga(f).on).toBe(kernel);
  });
});

/** A hand-written setting the kernel reads as disable_vga on is the operator's, whatever its spelling (issue 13: plan only what the effective configuration lacks). */
describe('the plan judges the operator\'s disable_vga by its effect', () => {
  const GRUB = (tokens: string) => `GRUB_DEFAULT=0\nGRUB_CMDLINE_LINUX_DEFAULT="quiet ${tokens}"\nGRUB_CMDLINE_LINUX=""\n`;
  const modprobeSteps = (steps: readonly HostStep[]) => fileSteps(steps).filter((s) => 'path' in s && s.path.startsWith('/etc/modprobe.d/'));

  it.each(['disable_vga=Y', 'disable_vga', 'disable-vga=on'])('options vfio-pci ids=… %s: nothing to write, config-applied passes', (word) => {
    const f = withFiles(pve9IntelGrub(), { ...ALL_LOADED, '/etc/modprobe.d/vfio.conf': `options vfio-pci ids=10de:2484,10de:228b ${word}\n${SOFTDEPS}` });
    expect(fileSteps(planHost(gpuVga, f).steps)).toEqual([]);
    const c = Object.fromEntries(verifyHost(gpuVga, f).map((x) => [x.id, x.status]));
    expect(c['vfio-disable-vga']).toBe('pass');
    expect(c['config-applied']).toBe('pass');
  });

  it('vfio_pci.disable_vga=1 on the configured command line: the operator ids= line is left alone', () => {
    const f = withFiles(pve9IntelGrub(), { ...ALL_LOADED, '/etc/default/grub': GRUB('vfio_pci.disable_vga=1'), '/etc/modprobe.d/vfio.conf': `options vfio-pci ids=10de:2484,10de:228b\n${SOFTDEPS}` });
    const p = planHost(gpuVga, f);
    expect(p.refused).toEqual([]);
    expect(modprobeSteps(p.steps)).toEqual([]);
    expect(verifyHost(gpuVga, f).find((c) => c.id === 'vfio-disable-vga')).toMatchObject({ status: 'pass', evidence: "next boot's command line: vfio_pci.disable_vga=1" });
  });

  it('vfio_pci.disable_vga=0 on the configured command line wins over anything in modprobe.d: refused with the token and the fix, nothing written', () => {
    const f = withFiles(pve9IntelGrub(), { ...ALL_LOADED, '/etc/default/grub': GRUB('vfio_pci.disable_vga=0'), '/etc/modprobe.d/vfio.conf': `options vfio-pci ids=10de:2484,10de:228b\n${SOFTDEPS}` });
    const p = planHost(gpuVga, f);
    expect(p.steps).toEqual([]);
    expect(p.refused).toContainEqual({
      subject: 'kernel command line',
      reason: 'vfio_pci.disable_vga=0 is configured for the next boot; kmod passes it after every modprobe.d option, so it wins over the declared disable_vga=1',
      fix: 'remove vfio_pci.disable_vga=0 from the kernel command line (or make it agree with disableVga), then plan again',
    });
  });
});
