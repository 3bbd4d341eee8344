/**
 * Vendor realities (issue 15 item 6), as warnings or refusals with the fix:
 * the AMD reset bug (families from gnif/vendor-reset's device list) and
 * romfile= being root@pam-only since qemu-server 9.2.6 (commit 79782166).
 */
import { describe, expect, it } from 'vitest';
import { checkSafety } from '../../src/operations/host/safety.js';
import { amdResetFamily } from '../../src/operations/host/vendor-quirks.js';
import { planVm } from '../../src/operations/vm/plan-vm.js';
import { writeNeedsRoot } from '../../src/operations/vm/root-rule.js';
import { GPU, GPU_AUDIO, makeNode, pve9IntelGrub } from './host/facts-factory.js';
import { ctx, current, vm } from './vm/helpers.js';

describe('AMD reset bug', () => {
  it.each([
    ['1002:67df', 'Polaris 10'], ['1002:699f', 'Polaris 12'], ['1002:687f', 'Vega 10'], ['1002:66af', 'Vega 20'],
    ['1002:731f', 'Navi 10'], ['1002:7340', 'Navi 14'], ['1002:73bf', null], ['1002:744c', null], ['10de:2484', null],
  ])('%s → %s', (id, family) => {
    expect(amdResetFamily(id)).toBe(family);
  });

  it('a Navi 10 target is planned with a warning pointing at vendor-reset (nothing installed)', () => {
    const navi = { ...GPU, id: '1002:731f', driver: 'amdgpu', modules: ['amdgpu'] };
    const facts = pve9IntelGrub({ pci: pve9IntelGrub().pci.map((p) => (p.address === GPU.address ? navi : p.address === GPU_AUDIO.address ? { ...p, id: '1002:ab38' } : p)) });
    const r = checkSafety(makeNode({ devices: [{ address: '0000:01:00.0' }] }), facts);
    expect(r.deviceRefusals).toEqual([]);
    expect(r.warnings).toContainEqual({ subject: 'device 0000:01:00.0', message: expect.stringMatching(/AMD Navi 10 \(1002:731f\) has the known reset bug.*vendor-reset/) });
  });
});

describe('romfile is root@pam-only (qemu-server >= 9.2.6)', () => {
  const entry = [{ mapping: 'gpu-a', pcie: true, romfile: 'rtx3070.rom' }];
  it('refused for a token, with the reason and the fix', () => {
    const p = planVm(vm({ hostpci: entry }), current({ machine: 'q35' }), ctx({ authKind: 'token' }));
    expect(p.refused).toEqual([expect.objectContaining({ reason: expect.stringMatching(/romfile= can only be written by root@pam .* since qemu-server 9\.2\.6, also on mapped devices/), fix: expect.stringMatching(/rootTicket/) })]);
    expect(p.set).toEqual({});
  });
  it('allowed with a root ticket, and the client sends it as root', () => {
    const p = planVm(vm({ hostpci: entry }), current({ machine: 'q35' }), ctx({ authKind: 'token', hasRootTicket: true }));
    expect(p.refused).toEqual([]);
    expect(writeNeedsRoot(p.set, p.delete, {})).toBe(true);
  });
  it('a mapped entry without romfile still needs no root', () => {
    expect(writeNeedsRoot({ hostpci0: 'mapping=gpu-a,pcie=1' }, [], {})).toBe(false);
  });
});
