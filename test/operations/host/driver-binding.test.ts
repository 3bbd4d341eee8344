import { describe, expect, it } from 'vitest';
import {
  coveredAddresses, functionsOf, hostDriversOf, installLine, isRefusal, planModprobe, renderModprobe, resolveBinding,
} from '../../../src/operations/host/driver-binding.js';
import { UnsafeContentError } from '../../../src/operations/host/paths.js';
import type { Device } from '../../../src/inventory/schema.js';
import { fixture, GPU, GPU_AUDIO, makeNode, MGMT_NIC, pci, pve9IntelGrub, withFiles } from './facts-factory.js';

const HEADER = '# Managed by pve-passthrough. Changes here are overwritten.';
const TWIN_GPU = pci({ ...GPU, address: '0000:02:00.0', iommuGroup: 15 });
const TWIN_AUDIO = pci({ ...GPU_AUDIO, address: '0000:02:00.1', iommuGroup: 15 });

function plan(devices: Record<string, unknown>[], facts = pve9IntelGrub(), unsafeInterrupts = false) {
  const node = makeNode({ devices });
  const covered = coveredAddresses(node.devices, facts);
  const bindings = new Map(node.devices.map((d) => {
    const b = resolveBinding(d, facts, covered);
    if (isRefusal(b)) throw new Error(b.reason);
    return [d.address, b] as const;
  }));
  return planModprobe(node, facts, { devices: node.devices, bindings, unsafeInterrupts, trailer: null });
}

describe('functions and drivers', () => {
  it('allFunctions takes every function of the slot, sorted', () => {
    const d = makeNode({ devices: [{ address: '0000:01:00.0' }] }).devices[0] as Device;
    expect(functionsOf(d, pve9IntelGrub()).map((f) => f.address)).toEqual(['0000:01:00.0', '0000:01:00.1']);
    expect(functionsOf({ ...d, allFunctions: false }, pve9IntelGrub()).map((f) => f.address)).toEqual(['0000:01:00.0']);
  });
  it('default host drivers: current driver + candidates, never vfio-pci; invalid names dropped', () => {
    const d = { address: '0000:01:00.0', allFunctions: true, bind: 'auto', blacklist: [], disableVga: false } as Device;
    expect(hostDriversOf(d, [GPU, GPU_AUDIO]).drivers).toEqual(['nouveau', 'nvidiafb', 'snd_hda_intel']);
    const hostile = pci({ ...GPU, driver: 'vfio-pci', modules: ['nouveau', 'vfio_pci', 'x;reboot', 'NVIDIA'] });
    expect(hostDriversOf(d, [hostile])).toEqual({ drivers: ['NVIDIA', 'nouveau'], dropped: ['x;reboot'] });
    expect(hostDriversOf({ ...d, softdep: ['nvidia'] }, [GPU]).drivers).toEqual(['nvidia']);
  });
});

describe('planModprobe', () => {
  it('ids + softdeps for a GPU with its audio function', () => {
    const r = plan([{ address: '0000:01:00.0', id: '10de:2484' }]);
    expect(r.changes[0]?.after).toBe([
      HEADER,
      'options vfio-pci ids=10de:228b,10de:2484',
      'softdep nouveau pre: vfio-pci',
      'softdep nvidiafb pre: vfio-pci',
      'softdep snd_hda_intel pre: vfio-pci',
      '',
    ].join('\n'));
  });
  it('blacklist only when asked; allow_unsafe_interrupts when allowed', () => {
    const r = plan([{ address: '0000:01:00.0', blacklist: ['nouveau'], softdep: ['nouveau'] }], pve9IntelGrub(), true);
    expect(r.plan.blacklist).toEqual(['nouveau']);
    expect(r.changes[0]?.after).toContain('options vfio_iommu_type1 allow_unsafe_interrupts=1\n');
  });
  it('auto with an undeclared twin switches to binding by address: softdeps plus one install hook on vfio-pci', () => {
    const facts = { ...pve9IntelGrub(), pci: [...pve9IntelGrub().pci, TWIN_GPU, TWIN_AUDIO] };
    const r = plan([{ address: '0000:01:00.0' }], facts);
    expect(r.plan.ids).toEqual([]);
    expect(r.changes[0]?.after).toBe([
      HEADER,
      'softdep nouveau pre: vfio-pci',
      'softdep nvidiafb pre: vfio-pci',
      'softdep snd_hda_intel pre: vfio-pci',
      'install vfio-pci echo vfio-pci > /sys/bus/pci/devices/0000:01:00.0/driver_override; echo vfio-pci > /sys/bus/pci/devices/0000:01:00.1/driver_override; modprobe -i vfio-pci $CMDLINE_OPTS',
      '',
    ].join('\n'));
  });
  it('ids with an undeclared twin is refused; declaring both is fine', () => {
    const facts = { ...pve9IntelGrub(), pci: [...pve9IntelGrub().pci, TWIN_GPU, TWIN_AUDIO] };
    const node = makeNode({ devices: [{ address: '0000:01:00.0', bind: 'ids' }] });
    const b = resolveBinding(node.devices[0]!, facts, coveredAddresses(node.devices, facts));
    expect(isRefusal(b) && b.reason).toMatch(/0000:02:00.0 \(10de:2484, nouveau\)/);
    expect(plan([{ address: '0000:01:00.0', bind: 'ids' }, { address: '0000:02:00.0', bind: 'ids' }], facts).plan.ids).toEqual(['10de:228b', '10de:2484']);
  });
  it('is deterministic whatever the declaration order', () => {
    const facts = { ...pve9IntelGrub(), pci: [...pve9IntelGrub().pci, TWIN_GPU, TWIN_AUDIO] };
    const a = plan([{ address: '0000:01:00.0', bind: 'address' }, { address: '0000:02:00.0', bind: 'address' }], facts);
    const b = plan([{ address: '0000:02:00.0', bind: 'address' }, { address: '0000:01:00.0', bind: 'address' }], facts);
    expect(a.changes[0]?.after).toBe(b.changes[0]?.after);
  });
  it('no devices: removes an existing owned file; unchanged file: no change', () => {
    const written = plan([{ address: '0000:01:00.0' }]).changes[0]!.after!;
    const f = withFiles(pve9IntelGrub(), { '/etc/modprobe.d/pve-passthrough.conf': written });
    expect(plan([], f).changes).toEqual([{ path: '/etc/modprobe.d/pve-passthrough.conf', after: null, reason: expect.any(String) }]);
    expect(plan([{ address: '0000:01:00.0' }], f).changes).toEqual([]);
  });
  it('warns about an install command its softdep makes kmod ignore; an operator ids= line is adoption\'s (taken over, never a second one), not a warning', () => {
    const f = withFiles(pve9IntelGrub(), {
      '/etc/modprobe.d/vfio.conf': fixture('modprobe-d/howto-vfio.conf'),
      '/etc/modprobe.d/local.conf': fixture('modprobe-d/own-install.conf'),
    });
    expect(plan([{ address: '0000:01:00.0' }], f).warnings.map((w) => w.subject)).toEqual(['file /etc/modprobe.d/local.conf']);
    const byAddress = plan([{ address: '0000:01:00.0', bind: 'address' }], f).warnings;
    expect(byAddress.map((w) => w.subject)).toEqual(['file /etc/modprobe.d/local.conf']);
    expect(byAddress[0]?.message).toMatch(/softdep on nouveau makes kmod ignore it/);
  });
});

describe('renderers assert patterns', () => {
  const base = { ids: [], softdeps: [], blacklist: [], overrides: [], unsafeInterrupts: false, disableVga: [], trailer: null };
  it.each([
    ['softdep', { ...base, softdeps: ['nouveau pre: evil'] }],
    ['blacklist', { ...base, blacklist: ['x\ninstall y /bin/sh'] }],
    ['ids', { ...base, ids: ['10de:2484 disable_vga=1'] }],
    ['install address', { ...base, overrides: ['0000:01:00.0/../../x'] }],
    ['install address with a command', { ...base, overrides: ['0000:01:00.0; reboot'] }],
    ['trailer', { ...base, trailer: 'not a comment' }],
  ])('%s', (_n, p) => {
    expect(() => renderModprobe(p)).toThrow(UnsafeContentError);
  });
  it('install line format', () => {
    expect(installLine(['0000:05:00.1', '0000:05:00.0', '0000:05:00.1'])).toBe(
      'install vfio-pci echo vfio-pci > /sys/bus/pci/devices/0000:05:00.0/driver_override; echo vfio-pci > /sys/bus/pci/devices/0000:05:00.1/driver_override; modprobe -i vfio-pci $CMDLINE_OPTS');
  });
  it('an empty plan renders nothing', () => {
    expect(renderModprobe(base)).toBeNull();
  });
  it('a management NIC twin is never part of ids=', () => {
    const twin = pci({ ...MGMT_NIC, address: '0000:05:00.0', iommuGroup: 19 });
    const facts = { ...pve9IntelGrub(), pci: [...pve9IntelGrub().pci, twin] };
    const r = plan([{ address: '0000:05:00.0' }], facts);
    expect(r.plan.ids).toEqual([]);
    expect(r.plan.overrides).toEqual(['0000:05:00.0']);
  });
});
