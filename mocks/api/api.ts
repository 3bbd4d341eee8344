/**
 * createSimApi: one simulated cluster's REST API as msw handlers, plus the
 * knobs tests and the fleet wiring use (drift, power, faults, reboot hook).
 */
import type { HttpHandler } from 'msw';
import type { SimFaults } from './faults.js';
import { createHandlers } from './handlers.js';
import { SimClusterState, type NodeRebootHook } from './state.js';
import type { SimApiOptions, SimClusterSpec, SimTokenSpec, SimUserSpec, SimVmStatus } from './types.js';
import { declaredReservation, hardStop, startVm } from './vm-ops.js';

export interface SimApi {
  /** msw handlers: for setupServer (global fetch) or startSimApiServer. */
  readonly handlers: HttpHandler[];
  readonly state: SimClusterState;
  readonly faults: SimFaults;
  /** Drift: flip power state directly (no task, pending untouched). */
  setVmStatus(vmid: number, status: SimVmStatus): void;
  /** Drift: edit the config behind the API's back; null deletes. `pending: true` edits the [PENDING] section. */
  setConfig(vmid: number, changes: Readonly<Record<string, string | null>>, opts?: { pending?: boolean }): void;
  setIgnoreAcpiShutdown(vmid: number, ignore: boolean): void;
  /** Called on POST /nodes/{node}/status (reboot or shutdown). Returns an unsubscribe function. */
  onNodeReboot(cb: NodeRebootHook): () => void;
  /** A node went down: its running VMs stop (pending changes stay pending). */
  stopGuestsOnNode(node: string): void;
  /** A node came back: VMs with onboot=1 start (pending applied); start failures leave them stopped. */
  startOnbootGuests(node: string): void;
  addUser(user: SimUserSpec): void;
  addToken(token: SimTokenSpec): void;
  /** Resolves when no task is running. */
  waitForTasks(): Promise<void>;
  /** Cancels every timer (running tasks never finish). */
  close(): void;
}

export function createSimApi(spec: SimClusterSpec, options: SimApiOptions = {}): SimApi {
  const state = new SimClusterState(spec, options);
  const vm = (vmid: number) => {
    const found = state.vms.get(vmid);
    if (!found) throw new Error(`no VM ${vmid} in the simulated cluster ${state.name}`);
    return found;
  };
  return {
    handlers: createHandlers(state),
    state,
    faults: state.faults,
    setVmStatus(vmid, status) {
      const v = vm(vmid);
      if (status === 'stopped') return hardStop(v);
      v.status = 'running';
      v.startedAt = state.options.now();
      v.pid = 20000 + vmid;
      v.runningMachine = state.resolveMachine(v.node, v.file.current.get('machine'));
      v.reservedPci = declaredReservation(state, v);
    },
    setConfig(vmid, changes, opts = {}) {
      const file = vm(vmid).file;
      for (const [k, value] of Object.entries(changes)) {
        if (opts.pending) {
          if (value === null) file.pendingDelete.set(k, false);
          else file.pending.set(k, value);
        } else if (value === null) {
          file.current.delete(k);
        } else {
          file.current.set(k, value);
        }
      }
    },
    setIgnoreAcpiShutdown(vmid, ignore) {
      vm(vmid).ignoreAcpiShutdown = ignore;
    },
    onNodeReboot: (cb) => state.onNodeReboot(cb),
    stopGuestsOnNode(node) {
      for (const v of state.vms.values()) if (v.node === node && v.status === 'running') hardStop(v);
      for (const c of state.containers.values()) if (c.node === node) c.status = 'stopped';
    },
    startOnbootGuests(node) {
      for (const v of state.vms.values()) {
        if (v.node !== node || v.status === 'running' || v.file.current.get('onboot') !== '1') continue;
        try {
          startVm(state, v, { log: () => {} });
        } catch {
          // As on a real boot: the VM stays stopped; its start task would carry the error.
        }
      }
    },
    addUser: (u) => state.auth.addUser(u),
    addToken: (t) => state.auth.addToken(t),
    waitForTasks: () => state.tasks.idle(),
    close: () => state.close(),
  };
}
