// The inventory built from --host flags (issue 16 item 8): short addresses, --x-vga, --identity, node names.
import { describe, expect, it } from 'vitest';
import { fullPciAddress, inventoryFromFlags } from '../../src/inventory/from-flags.js';

describe('inventoryFromFlags', () => {
  it('reads lspci\'s short address as domain 0000 and leaves other forms to the schema', () => {
    expect(fullPciAddress('01:00.0')).toBe('0000:01:00.0');
    expect(fullPciAddress('0A:00.1')).toBe('0000:0a:00.1');
    expect(fullPciAddress('0001:01:00.0')).toBe('0001:01:00.0');
    expect(() => inventoryFromFlags({ host: 'root@pve1', devices: ['1:0.0'], vms: [] })).toThrow(/PCI address/);
  });

  it('declares devices, x-vga, kernel parameters, iommu=pt and the identity file', () => {
    const inv = inventoryFromFlags({ host: 'root@pve1.lan', api: 'https://pve1:8006', devices: ['01:00.0'], vms: [100], xVga: true, kernelParams: ['video=efifb:off,vesafb:off'], iommuPassthrough: true, identityFile: '/keys/lab' });
    const node = inv.clusters[0]!.nodes[0]!;
    expect(node.name).toBe('pve1');
    expect(node.devices.map((d) => d.address)).toEqual(['0000:01:00.0']);
    expect(node.kernelParams).toEqual(['video=efifb:off,vesafb:off']);
    expect(node.iommuPassthrough).toBe(true);
    expect(node.ssh.identityFile).toBe('/keys/lab');
    expect(inv.clusters[0]!.vms[0]!.hostpci).toEqual([expect.objectContaining({ host: '0000:01:00', 'x-vga': true })]);
  });

  it('marks the node and VMs exact: false (only adds) unless --exact; only --exact declares pcie=1 itself', () => {
    const keep = inventoryFromFlags({ host: 'root@pve1', api: 'https://pve1:8006', devices: ['01:00.0'], vms: [100] }).clusters[0]!;
    expect(keep.nodes[0]!.exact).toBe(false);
    expect(keep.vms[0]!.exact).toBe(false);
    expect(keep.vms[0]!.hostpci[0]!.pcie).toBeUndefined();
    const exact = inventoryFromFlags({ host: 'root@pve1', api: 'https://pve1:8006', devices: ['01:00.0'], vms: [100], exact: true }).clusters[0]!;
    expect(exact.nodes[0]!.exact).toBe(true);
    expect(exact.vms[0]!.exact).toBe(true);
    expect(exact.vms[0]!.hostpci[0]!.pcie).toBe(true);
  });

  it('does not name a node after the first part of an IP address', () => {
    for (const host of ['root@127.0.0.1', 'root@[::1]:22', '10.0.0.11']) {
      expect(() => inventoryFromFlags({ host, devices: [], vms: [] })).toThrow(/IP address[\s\S]*/);
    }
    expect(inventoryFromFlags({ host: 'root@127.0.0.1', nodeName: 'pve1', devices: [], vms: [] }).clusters[0]!.nodes[0]!.name).toBe('pve1');
  });
});
