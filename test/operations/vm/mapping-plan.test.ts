import { describe, expect, it } from 'vitest';
import { Mapping } from '../../../src/inventory/schema.js';
import { planMappings, type HardwareDevice } from '../../../src/operations/vm/mapping-plan.js';
import { verifyMappings } from '../../../src/operations/vm/verify-vm.js';
import { checkRequest } from '../../helpers/pve-schema.js';

const gpu = (id: string, group: number, sub = true): HardwareDevice => ({
  id, vendor: '0x10de', device: '0x2204', iommugroup: group,
  ...(sub ? { subsystem_vendor: '0x1043', subsystem_device: '0x87B3' } : {}),
});
const hardware = {
  pve1: [gpu('0000:01:00.0', 14), { id: '0000:01:00.1', vendor: '0x10de', device: '0x1aef', iommugroup: 14 }],
  pve2: [gpu('0000:41:00.0', 30, false)],
};
const declared = [Mapping.parse({ id: 'gpu-a', description: 'RTX 3090', nodes: { pve2: '0000:41:00.0', pve1: '0000:01:00.0' } })];
const expectedMap = [
  'node=pve1,path=0000:01:00.0,id=10de:2204,subsystem-id=1043:87b3,iommugroup=14',
  'node=pve2,path=0000:41:00.0,id=10de:2204,iommugroup=30',
];

describe('planMappings', () => {
  it('creates a missing mapping from the hardware (no 0x, subsystem and group as reported)', () => {
    const plan = planMappings(declared, hardware, []);
    expect(plan.refused).toEqual([]);
    expect(plan.actions).toEqual([{ kind: 'create', id: 'gpu-a', map: expectedMap, description: 'RTX 3090' }]);
    expect(checkRequest('POST', '/cluster/mapping/pci', { id: 'gpu-a', map: expectedMap, description: 'RTX 3090' })).toEqual([]);
  });

  it('nothing to do when the cluster already matches (any order, any id case)', () => {
    const existing = [{ id: 'gpu-a', description: 'RTX 3090', digest: 'x', map: [expectedMap[1] as string, (expectedMap[0] as string).replace('87b3', '87B3')] }];
    const plan = planMappings(declared, hardware, existing);
    expect(plan.actions).toEqual([{ kind: 'none', id: 'gpu-a', map: expectedMap }]);
    expect(verifyMappings(plan.actions)).toEqual([expect.objectContaining({ id: 'mapping:gpu-a', status: 'pass' })]);
  });

  it('updates a stale mapping (hardware changed) with its digest', () => {
    const existing = [{ id: 'gpu-a', description: 'RTX 3090', digest: 'abc', map: [(expectedMap[0] as string).replace('iommugroup=14', 'iommugroup=13'), expectedMap[1] as string] }];
    const plan = planMappings(declared, hardware, existing);
    expect(plan.actions).toEqual([{ kind: 'update', id: 'gpu-a', map: expectedMap, description: 'RTX 3090', digest: 'abc', before: existing[0]?.map }]);
    expect(verifyMappings(plan.actions)[0]?.status).toBe('fail');
  });

  it('warns about entries for undeclared nodes, which an update removes', () => {
    const existing = [{ id: 'gpu-a', description: 'RTX 3090', map: [...expectedMap, 'node=pve3,path=0000:02:00.0,id=10de:2204'] }];
    const plan = planMappings(declared, hardware, existing);
    expect(plan.actions[0]?.kind).toBe('update');
    expect(plan.warnings.map((w) => w.message).join()).toMatch(/pve3/);
  });

  it('refuses when a node or device is missing', () => {
    const bad = [Mapping.parse({ id: 'nic', nodes: { pve1: '0000:09:00.0', pve9: '0000:01:00.0' } })];
    const plan = planMappings(bad, hardware, []);
    expect(plan.actions).toEqual([]);
    expect(plan.refused.map((r) => r.reason)).toEqual(['node pve1 has no PCI device 0000:09:00.0', 'no PCI device list from node pve9 (is it online?)']);
  });

  it('warns when the node has no IOMMU group for the device', () => {
    const plan = planMappings(declared, { ...hardware, pve2: [gpu('0000:41:00.0', -1)] }, []);
    expect(plan.warnings.map((w) => w.message).join()).toMatch(/IOMMU is off/);
  });
});
