/**
 * Machine type rules (issue 15 item 5; qemu-server
 * Machine.pm windows_get_pinned_machine_version): a pinned i440fx keeps its
 * version when it becomes q35, an unpinned Windows guest gets the node's
 * current versioned q35, every version is checked against
 * GET /nodes/{node}/capabilities/qemu/machines (the +pveN revision aside).
 */
import { describe, expect, it } from 'vitest';
import { planVm } from '../../../src/operations/vm/plan-vm.js';
import { ctx, current, vm } from './helpers.js';

/** As the API lists them: newest first, the newest with its +pve revision. */
const MACHINES = ['pc-q35-10.1+pve1', 'pc-i440fx-10.1+pve1', 'pc-q35-10.1', 'pc-i440fx-10.1', 'pc-q35-9.2', 'pc-i440fx-9.2', 'pc-q35-8.1', 'pc-i440fx-8.1'];
const gpu = [{ host: '0000:01:00', pcie: true }];

describe('machine type', () => {
  it('declared q35 on a VM pinned to pc-i440fx-8.1 becomes pc-q35-8.1 (the pin is kept)', () => {
    const p = planVm(vm({ machine: 'q35', hostpci: gpu }), current({ machine: 'pc-i440fx-8.1', ostype: 'win11' }), ctx({ machines: MACHINES }));
    expect(p.set.machine).toBe('pc-q35-8.1');
    expect(p.refused).toEqual([]);
  });

  it('declared q35 on a VM already pinned to a q35 version changes nothing', () => {
    const p = planVm(vm({ machine: 'q35', hostpci: gpu }), current({ machine: 'pc-q35-9.2', ostype: 'win11' }), ctx({ machines: MACHINES }));
    expect(p.set.machine).toBeUndefined();
  });

  it('an unpinned Windows guest gets the node\'s current versioned q35, said in a warning', () => {
    const p = planVm(vm({ hostpci: gpu }), current({ ostype: 'win11' }), ctx({ machines: MACHINES }));
    expect(p.set.machine).toBe('pc-q35-10.1+pve1');
    expect(p.warnings.map((w) => w.message).join('\n')).toMatch(/pinned to pc-q35-10\.1\+pve1, the newest q35 node pve1 offers/);
    const declared = planVm(vm({ machine: 'q35', hostpci: gpu }), current({ ostype: 'win10' }), ctx({ machines: MACHINES }));
    expect(declared.set.machine).toBe('pc-q35-10.1+pve1');
  });

  it('a Linux guest keeps a floating q35', () => {
    expect(planVm(vm({ hostpci: gpu }), current({ ostype: 'l26' }), ctx({ machines: MACHINES })).set.machine).toBe('q35');
  });

  it('a version the node does not offer is refused', () => {
    const p = planVm(vm({ machine: 'pc-q35-5.1', hostpci: gpu }), current({}), ctx({ machines: MACHINES }));
    expect(p.refused.map((r) => r.reason)).toEqual([expect.stringMatching(/machine pc-q35-5\.1 is not offered by this node's QEMU/)]);
    expect(p.set).toEqual({});
  });

  it('a +pveN revision of an offered version is accepted', () => {
    const p = planVm(vm({ hostpci: gpu }), current({ machine: 'pc-i440fx-9.2+pve1', ostype: 'win11' }), ctx({ machines: MACHINES }));
    expect(p.set.machine).toBe('pc-q35-9.2+pve1');
    expect(p.refused).toEqual([]);
  });

  it('x-vga with SeaBIOS is warned (OVMF is what PVE documents); the bios is left alone', () => {
    const p = planVm(vm({ hostpci: [{ host: '0000:01:00', pcie: true, 'x-vga': true }] }), current({ machine: 'q35', bios: 'seabios' }), ctx());
    expect(p.warnings.map((w) => w.message).join('\n')).toMatch(/x-vga is set but the VM boots seabios \(SeaBIOS\), not OVMF/);
    expect(p.set.bios).toBeUndefined();
  });
});
