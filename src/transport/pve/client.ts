/**
 * PveClient: the handle the engine holds for one cluster. Its core
 * (./core.ts) is request, auth, retries and task waiting; each method here is
 * one line binding an endpoint function of ./endpoints/ (where the path, the
 * form and the zod shape of the answer live), so callers and the fakes they
 * inject keep one object.
 */
import { PveCore } from './core.js';
import * as cluster from './endpoints/cluster.js';
import * as mapping from './endpoints/mapping.js';
import * as nodeEp from './endpoints/node.js';
import * as vm from './endpoints/vm.js';
import type { WaitOptions } from './types.js';

export { TaskFailedError, taskSucceeded } from './core.js';

export class PveClient extends PveCore {
  version() { return cluster.version(this); }
  clusterStatus() { return cluster.clusterStatus(this); }
  guests() { return cluster.guests(this); }
  haResources() { return cluster.haResources(this); }
  nodes() { return cluster.nodes(this); }

  vmConfig(node: string, vmid: number, o: { current?: boolean } = {}) { return vm.vmConfig(this, node, vmid, o); }
  vmPending(node: string, vmid: number) { return vm.vmPending(this, node, vmid); }
  vmStatus(node: string, vmid: number) { return vm.vmStatus(this, node, vmid); }
  updateVmConfig(node: string, vmid: number, change: vm.VmConfigChange, wait?: WaitOptions) { return vm.updateVmConfig(this, node, vmid, change, wait); }
  shutdownVm(node: string, vmid: number, o: { timeout: number; forceStop: boolean }, wait?: WaitOptions) { return vm.shutdownVm(this, node, vmid, o, wait); }
  stopVm(node: string, vmid: number, o?: { timeout?: number }, wait?: WaitOptions) { return vm.stopVm(this, node, vmid, o, wait); }
  startVm(node: string, vmid: number, o?: { timeout?: number }, wait?: WaitOptions) { return vm.startVm(this, node, vmid, o, wait); }

  hardwarePci(node: string) { return nodeEp.hardwarePci(this, node); }
  qemuMachines(node: string) { return nodeEp.qemuMachines(this, node); }
  rebootNode(node: string) { return nodeEp.rebootNode(this, node); }

  pciMappings() { return mapping.pciMappings(this); }
  pciMapping(id: string) { return mapping.pciMapping(this, id); }
  createPciMapping(m: Parameters<typeof mapping.createPciMapping>[1]) { return mapping.createPciMapping(this, m); }
  updatePciMapping(id: string, m: Parameters<typeof mapping.updatePciMapping>[2]) { return mapping.updatePciMapping(this, id, m); }
}
