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
    expect(plan.refused.map((r) => r.reason)).toEqual(['node pve1 has no PCI device 0000:09:00.0', 'no PCI device list from node pve9: the node did not answer (is it online?)']);
  });

  it('no mapping is written while a node\'s IOMMU is off: refused when writing, deferred (said so) when planning', () => {
    const off = { ...hardware, pve2: [gpu('0000:41:00.0', -1)] };
    const write = planMappings(declared, off, []);
    expect(write.actions).toEqual([]);
    expect(write.refused).toEqual([expect.objectContaining({ reason: expect.stringMatching(/node pve2's IOMMU is off .* no mapping is written with iommugroup=-1/), fix: expect.stringMatching(/node pve2 first/) })]);
    const planned = planMappings(declared, off, [], { iommuOff: 'defer' });
    expect(planned.actions.map((a) => a.kind)).toEqual(['create']);
    expect(planned.warnings.map((w) => w.message).join()).toMatch(/IOMMU is off.*written after node pve2 is planned/);
  });
});

describe('mappings as PVE allows them (issue 15 item 4)', () => {
  const gpuAudio = { id: '0000:01:00.1', vendor: '0x10de', device: '0x1aef', subsystem_vendor: '0x1043', subsystem_device: '0x87b3', iommugroup: 14 };
  const hw = { pve1: [gpu('0000:01:00.0', 14), gpuAudio, gpu('0000:02:00.0', 15)], pve2: [gpu('0000:41:00.0', 30)] };

  it('a whole-device path (every function) takes function 0\'s id, subsystem-id and group, and the official schema accepts it', () => {
    const plan = planMappings([Mapping.parse({ id: 'gpu-whole', nodes: { pve1: '0000:01:00' } })], hw, []);
    expect(plan.refused).toEqual([]);
    const map = ['node=pve1,path=0000:01:00,id=10de:2204,subsystem-id=1043:87b3,iommugroup=14'];
    expect(plan.actions).toEqual([{ kind: 'create', id: 'gpu-whole', map }]);
    expect(checkRequest('POST', '/cluster/mapping/pci', { id: 'gpu-whole', map })).toEqual([]);
  });

  it('several entries per node make a pool, one map entry each, in the declared order', () => {
    const plan = planMappings([Mapping.parse({ id: 'pool', nodes: { pve1: ['0000:02:00.0', '0000:01:00'], pve2: '0000:41:00.0' } })], hw, []);
    const a = plan.actions[0]!;
    expect(a.map).toEqual([
      'node=pve1,path=0000:02:00.0,id=10de:2204,subsystem-id=1043:87b3,iommugroup=15',
      'node=pve1,path=0000:01:00,id=10de:2204,subsystem-id=1043:87b3,iommugroup=14',
      'node=pve2,path=0000:41:00.0,id=10de:2204,subsystem-id=1043:87b3,iommugroup=30',
    ]);
    expect(checkRequest('POST', '/cluster/mapping/pci', { id: 'pool', map: a.map })).toEqual([]);
  });

  it('mdev and live-migration-capable are passed through, checked against the schema', () => {
    const vgpu = { ...gpu('0000:01:00.0', 14), mdev: 1 };
    const plan = planMappings([Mapping.parse({ id: 'vgpu', nodes: { pve1: '0000:01:00.0' }, mdev: true, 'live-migration-capable': true })], { pve1: [vgpu] }, []);
    expect(plan.actions[0]).toMatchObject({ kind: 'create', mdev: true, 'live-migration-capable': true });
    expect(checkRequest('POST', '/cluster/mapping/pci', { id: 'vgpu', map: plan.actions[0]!.map, mdev: '1', 'live-migration-capable': '1' })).toEqual([]);
  });

  it('"mdev": true on a device without mediated devices is refused (PVE would refuse it at VM start)', () => {
    const plan = planMappings([Mapping.parse({ id: 'vgpu', nodes: { pve1: '0000:01:00.0' }, mdev: true })], hw, []);
    expect(plan.refused.map((r) => r.reason)).toEqual([expect.stringMatching(/offers no mediated devices/)]);
  });

  it('a flag changed on an existing mapping is an update', () => {
    const m = Mapping.parse({ id: 'gpu-whole', nodes: { pve1: '0000:01:00' }, 'live-migration-capable': true });
    const map = ['node=pve1,path=0000:01:00,id=10de:2204,subsystem-id=1043:87b3,iommugroup=14'];
    expect(planMappings([m], hw, [{ id: 'gpu-whole', map, digest: 'd' }]).actions[0]?.kind).toBe('update');
    expect(planMappings([m], hw, [{ id: 'gpu-whole', map, digest: 'd', 'live-migration-capable': true }]).actions[0]?.kind).toBe('none');
  });

  it('the inventory refuses a path without a domain', () => {
    expect(Mapping.safeParse({ id: 'x', nodes: { pve1: '01:00.0' } }).success).toBe(false);
  });
});
