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
import { kmodMissing, withKmod } from '../../helpers/kmod.js';
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
