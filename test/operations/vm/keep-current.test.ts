// exact: false (--host flags without --exact) only adds: options a declared entry leaves unset keep the VM's values (issue 16 item 8).
import { describe, expect, it } from 'vitest';
import { planVm } from '../../../src/operations/vm/plan-vm.js';
import { verifyVm } from '../../../src/operations/vm/verify-vm.js';
import { applied, ctx, current, vm } from './helpers.js';

describe('planVm with exact: false', () => {
  it('keeps x-vga, rombar and pcie of the entry that already passes the device, and says so', () => {
    const config = { machine: 'q35', hostpci0: '0000:01:00,pcie=1,rombar=0,x-vga=1' };
    const p = planVm(vm({ exact: false, hostpci: [{ host: '0000:01:00' }] }), current(config), ctx());
    expect(p.set).toEqual({});
    expect(p.delete).toEqual([]);
    expect(p.kept).toEqual([expect.stringMatching(/^hostpci0 pcie=1,rombar=0,x-vga=1 \(not named; --exact to remove\)$/)]);
    // The same declaration with exact (the default) rewrites the entry as declared.
    expect(planVm(vm({ hostpci: [{ host: '0000:01:00' }] }), current(config), ctx()).set).toEqual({ hostpci0: '0000:01:00' });
  });

  it('changes only what the declaration sets on an existing entry', () => {
    const p = planVm(vm({ exact: false, hostpci: [{ host: '0000:01:00', 'x-vga': true }] }), current({ machine: 'q35', hostpci0: '0000:01:00,pcie=1,rombar=0' }), ctx());
    expect(p.set).toEqual({ hostpci0: '0000:01:00,pcie=1,rombar=0,x-vga=1' });
  });

  it('a new entry gets pcie=1 on a q35 VM; on an i440fx VM the machine is kept and the entry has no pcie', () => {
    const q35 = planVm(vm({ exact: false, hostpci: [{ host: '0000:01:00' }] }), current({ machine: 'pc-q35-9.2+pve1' }), ctx());
    expect(q35.set).toEqual({ hostpci0: '0000:01:00,pcie=1' });
    const pc = planVm(vm({ exact: false, hostpci: [{ host: '0000:01:00' }] }), current({}), ctx());
    expect(pc.set).toEqual({ hostpci0: '0000:01:00' });
    expect(pc.kept).toEqual([expect.stringMatching(/machine pc \(i440fx, the default\): new entries get no pcie=1/)]);
    // exact: the declared pcie=1 moves the VM to q35, as before.
    expect(planVm(vm({ hostpci: [{ host: '0000:01:00', pcie: true }] }), current({}), ctx()).set).toMatchObject({ machine: 'q35' });
  });

  it('an entry that sets pcie=1 itself on an i440fx VM is refused rather than changing the kept machine', () => {
    const p = planVm(vm({ exact: false, hostpci: [{ host: '0000:01:00', pcie: true }] }), current({}), ctx());
    expect(p.refused.map((r) => r.reason).join()).toMatch(/pcie=1 needs a q35 machine and this VM's machine \(pc\) is kept/);
    expect(p.set).toEqual({});
  });

  it('verify judges the same resolved entries, and a second plan is empty', () => {
    const desired = vm({ exact: false, hostpci: [{ host: '0000:01:00' }] });
    const config = { machine: 'q35' };
    const p = planVm(desired, current(config), ctx());
    const after = applied(current(config).config, p);
    expect(planVm(desired, current(after), ctx()).set).toEqual({});
    const checks = verifyVm(desired, { config: after, pending: [], status: 'stopped' });
    expect(checks.filter((c) => c.status === 'fail')).toEqual([]);
    expect(checks.find((c) => c.id === 'vm-hostpci:0')?.message).toMatch(/0000:01:00,pcie=1/);
  });
});
