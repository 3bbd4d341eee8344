/** One node: its PCI hardware, its QEMU machine types, its reboot. */
import { seg, type PveCore } from '../core.js';
import { HardwarePciShape, QemuMachinesShape } from '../schemas.js';
import type { HardwarePciDevice } from '../types.js';

/** GET /nodes/{node}/hardware/pci; an empty blacklist lists every class (bridges and all), as the GUI's mapping view does. */
export function hardwarePci(api: PveCore, node: string): Promise<HardwarePciDevice[]> {
  return api.read(`/nodes/${seg(node)}/hardware/pci`, HardwarePciShape, { query: { 'pci-class-blacklist': '' }, ctx: { node } });
}

/** GET /nodes/{node}/capabilities/qemu/machines (any user): the machine types the node's QEMU offers, newest first. */
export function qemuMachines(api: PveCore, node: string): Promise<{ id: string; type: string; version?: string }[]> {
  return api.read(`/nodes/${seg(node)}/capabilities/qemu/machines`, QemuMachinesShape, { ctx: { node } });
}

/** POST /nodes/{node}/status command=reboot: returns at once; no task exists. */
export function rebootNode(api: PveCore, node: string): Promise<void> {
  return api.write('POST', `/nodes/${seg(node)}/status`, { command: 'reboot' }, { node, step: 'reboot' });
}
