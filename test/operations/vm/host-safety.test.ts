/**
 * Every path to a VM gets the node-device host-safety check (issue 15 item 3):
 * raw hostpci entries and mapping entries, with the node's facts, the same
 * reasons and fixes as under the node's `devices`.
 */
import { describe, expect, it } from 'vitest';
import { checkSafety } from '../../../src/operations/host/safety.js';
import { planVm } from '../../../src/operations/vm/plan-vm.js';
import { makeNode, MGMT_NIC, pve9IntelGrub } from '../host/facts-factory.js';
import { ctx, current, vm } from './helpers.js';

const gpuNode = makeNode({ devices: [{ address: '0000:01:00.0' }] });
const facts = pve9IntelGrub();
const host = (node = gpuNode, f: typeof facts | null = facts) => ({ node, facts: f });

describe('VM devices: the host-safety check of node devices', () => {
  it('a raw hostpci entry aimed at the management NIC is refused with the node-device wording, and nothing is written', () => {
    const p = planVm(vm({ hostpci: [{ host: '0000:03:00.0', pcie: true }] }), current({ machine: 'q35' }), ctx({ host: host() }));
    const nodeWording = checkSafety(makeNode({ devices: [{ address: MGMT_NIC.address }] }), facts).deviceRefusals[0]!;
    expect(p.refused.map((r) => r.reason)).toContainEqual(`hostpci0 (host 0000:03:00.0): ${nodeWording.reason}`);
    expect(p.refused.find((r) => r.reason.includes('management network'))!.fix).toBe(nodeWording.fix);
    expect(p.set).toEqual({});
  });

  it('a mapping whose entry on this node is the management NIC is refused the same way', () => {
    const p = planVm(vm({ hostpci: [{ mapping: 'nic' }] }), current({}), ctx({ mappings: [{ id: 'nic', nodes: { pve1: '0000:03:00.0' } }], host: host() }));
    expect(p.refused.map((r) => r.reason).join('\n')).toMatch(/^hostpci0 \(mapping=nic on pve1 0000:03:00\.0\): the host needs it: 0000:03:00\.0 \(a function of the device\) carries the management network/m);
  });

  it('every entry of a pool mapping is checked (PVE may pick any of them)', () => {
    const p = planVm(vm({ hostpci: [{ mapping: 'pool' }] }), current({}), ctx({ mappings: [{ id: 'pool', nodes: { pve1: ['0000:01:00.0', '0000:03:00.0'] } }], host: host() }));
    expect(p.refused).toHaveLength(1);
    expect(p.refused[0]!.reason).toMatch(/0000:03:00\.0/);
  });

  it('a device the node declares and plans passes', () => {
    const p = planVm(vm({ hostpci: [{ host: '0000:01:00', pcie: true }] }), current({ machine: 'q35' }), ctx({ host: host() }));
    expect(p.refused).toEqual([]);
    expect(p.set.hostpci0).toBe('0000:01:00,pcie=1');
  });

  it('a safe device the node does not declare is refused with the fix to declare it', () => {
    const p = planVm(vm({ hostpci: [{ host: '0000:01:00' }] }), current({}), ctx({ host: host(makeNode()) }));
    expect(p.refused).toEqual([expect.objectContaining({
      reason: expect.stringMatching(/0000:01:00\.0, 0000:01:00\.1 are not under node pve1's "devices"/),
      fix: 'add { "address": "0000:01:00.0" } to node pve1\'s "devices"',
    })]);
  });

  it('a single function declared alone does not cover the whole device', () => {
    const p = planVm(vm({ hostpci: [{ host: '0000:01:00' }] }), current({}), ctx({ host: host(makeNode({ devices: [{ address: '0000:01:00.0', allFunctions: false }] })) }));
    expect(p.refused.map((r) => r.reason).join('\n')).toMatch(/0000:01:00\.1 is not under node pve1's "devices"/);
  });

  it('a device the node refused carries the node\'s own refusal', () => {
    const node = makeNode({ devices: [{ address: '0000:01:00.0', id: '10de:1b80' }] });
    const p = planVm(vm({ hostpci: [{ host: '0000:01:00.0' }] }), current({}), ctx({ host: host(node) }));
    expect(p.refused.map((r) => r.reason).join('\n')).toMatch(/hardware says 10de:2484, the inventory expects 10de:1b80/);
  });

  it('node facts that could not be read: refused (fail closed)', () => {
    const p = planVm(vm({ hostpci: [{ host: '0000:01:00' }] }), current({}), ctx({ host: { node: gpuNode, facts: null, error: 'connection refused' } }));
    expect(p.refused.map((r) => r.reason).join('\n')).toMatch(/facts of node pve1 could not be read \(connection refused\)/);
  });

  it('the IOMMU off in the firmware: refused with the firmware fix', () => {
    const off = pve9IntelGrub({ iommu: { active: false, units: [], firmwareTable: null, kind: null } });
    const p = planVm(vm({ hostpci: [{ host: '0000:01:00' }] }), current({}), ctx({ host: host(gpuNode, off) }));
    expect(p.refused[0]!.reason).toMatch(/cannot take passthrough devices: the IOMMU is off in the firmware/);
    expect(p.refused[0]!.fix).toMatch(/BIOS/);
  });

  it('mediated devices (mdev) stay with the host driver and are not refused for it', () => {
    const p = planVm(vm({ hostpci: [{ host: '0000:00:02.0', mdev: 'i915-GVTg_V5_4' }] }), current({}), ctx({ host: host(makeNode()) }));
    expect(p.refused).toEqual([]);
  });
});
