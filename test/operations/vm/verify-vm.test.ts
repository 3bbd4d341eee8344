import { describe, expect, it } from 'vitest';
import { verifyVm } from '../../../src/operations/vm/verify-vm.js';
import { vm } from './helpers.js';

const byId = (checks: ReturnType<typeof verifyVm>) => Object.fromEntries(checks.map((c) => [c.id, c.status]));

describe('verifyVm', () => {
  it('passes when machine and entries are in effect and nothing is pending', () => {
    const checks = verifyVm(vm({ hostpci: [{ mapping: 'gpu-a', pcie: true }, { host: '0000:02:00.0' }] }), {
      config: { machine: 'pc-q35-9.2+pve1', hostpci3: 'mapping=gpu-a,pcie=on', hostpci0: '02:00.0' }, pending: [], status: 'running', runningMachine: 'pc-q35-9.2+pve1',
    });
    expect(byId(checks)).toEqual({ 'vm-machine': 'pass', 'vm-hostpci:0': 'pass', 'vm-hostpci:1': 'pass', 'vm-pending': 'pass' });
    expect(checks.find((c) => c.id === 'vm-hostpci:0')?.message).toMatch(/hostpci3/);
  });

  it('fails a change that is only pending', () => {
    const checks = verifyVm(vm({ hostpci: [{ mapping: 'gpu-a', pcie: true }] }), {
      config: {}, pending: [{ key: 'hostpci0', pending: 'mapping=gpu-a,pcie=1' }, { key: 'machine', pending: 'q35' }, { key: 'name', pending: 'x' }], status: 'running',
    });
    expect(byId(checks)).toEqual({ 'vm-machine': 'fail', 'vm-hostpci:0': 'fail', 'vm-pending': 'fail' });
    expect(checks.find((c) => c.id === 'vm-pending')?.message).toBe('changes only pending until the VM is stopped and started: hostpci0, machine');
  });

  it('checks a declared machine by type and vIOMMU', () => {
    expect(byId(verifyVm(vm({ machine: 'q35,viommu=virtio' }), { config: { machine: 'q35,viommu=virtio,enable-s3=1' }, pending: [], status: 'stopped' }))['vm-machine']).toBe('pass');
    expect(byId(verifyVm(vm({ machine: 'q35' }), { config: { machine: 'q35,viommu=virtio' }, pending: [], status: 'stopped' }))['vm-machine']).toBe('fail');
    expect(byId(verifyVm(vm({}), { config: {}, pending: [], status: 'stopped' }))['vm-machine']).toBe('na');
  });

  it('flags undeclared entries when manageAllHostpci', () => {
    const checks = verifyVm(vm({ manageAllHostpci: true, hostpci: [{ host: '0000:02:00.0' }] }), {
      config: { hostpci0: '0000:02:00.0', hostpci1: '0000:03:00.0' }, pending: [], status: 'stopped',
    });
    expect(byId(checks)['vm-hostpci:undeclared']).toBe('fail');
  });
});
