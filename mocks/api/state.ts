/**
 * The simulated cluster's state: nodes (liveness and hardware come from
 * outside), quorum, VMs with their config files, containers, HA resources,
 * PCI mappings, users and tokens, tasks. Handlers and test helpers change it;
 * nothing here speaks HTTP.
 */
import { AuthRegistry } from './auth.js';
import { emptyConfigFile, type VmConfigFile, configDigest } from './config-file.js';
import { SimFaults } from './faults.js';
import { renderMappingFile, type SimMapping } from './mapping-file.js';
import { machineTypeOf } from './rules.js';
import { declaredReservation } from './vm-ops.js';
import { TaskRunner } from './tasks.js';
import { SimTimers } from './timers.js';
import type {
  SimApiOptions, SimClusterSpec, SimNodeSpec, SimPciDevice, SimVmSpec, SimVmStatus,
} from './types.js';
import { createHash } from 'node:crypto';

export const DEFAULT_MACHINE_VERSIONS: readonly string[] = ['8.0', '8.1', '8.2', '9.0', '9.1', '9.2'];

export interface SimNode {
  readonly spec: SimNodeSpec;
  readonly name: string;
  readonly ip: string;
  readonly nodeid: number;
  readonly votes: number;
  sslFingerprint?: string;
}

export class SimVm {
  status: SimVmStatus;
  readonly file: VmConfigFile = emptyConfigFile();
  ignoreAcpiShutdown: boolean;
  runningMachine?: string;
  startedAt?: number;
  pid?: number;
  /** Full PCI ids this VM's QEMU holds (reservation file in real PVE). */
  reservedPci: string[] = [];

  constructor(
    readonly vmid: number,
    public node: string,
    status: SimVmStatus,
    ignoreAcpiShutdown: boolean,
  ) {
    this.status = status;
    this.ignoreAcpiShutdown = ignoreAcpiShutdown;
  }

  get name(): string | undefined {
    return this.file.pending.get('name') ?? this.file.current.get('name');
  }

  get digest(): string {
    return configDigest(this.file);
  }
}

export interface SimContainer {
  readonly vmid: number;
  node: string;
  name?: string;
  status: SimVmStatus;
}

export interface SimHaResource {
  readonly sid: string;
  state: 'started' | 'stopped' | 'ignored' | 'disabled';
  group?: string;
}

export interface QuorumInfo {
  /** Votes of online nodes (plus the QDevice's). */
  readonly votes: number;
  readonly expected: number;
  /** Votes needed: floor(expected / 2) + 1. */
  readonly quorum: number;
  readonly quorate: boolean;
}

export type NodeRebootHook = (node: string, command: 'reboot' | 'shutdown') => void;

export interface ResolvedOptions {
  readonly baseUrl: string;
  readonly taskMs: number;
  readonly simSecondMs: number;
  readonly authFailureDelayMs: number;
  readonly ticketLifetimeMs: number;
  readonly now: () => number;
}

export function resolveOptions(o: SimApiOptions = {}): ResolvedOptions {
  return {
    baseUrl: (o.baseUrl ?? '*/api2/json').replace(/\/+$/, ''),
    taskMs: o.taskMs ?? 15,
    simSecondMs: o.simSecondMs ?? 1,
    authFailureDelayMs: o.authFailureDelayMs ?? 0,
    ticketLifetimeMs: o.ticketLifetimeMs ?? 2 * 3600 * 1000,
    now: o.now ?? Date.now,
  };
}

export class SimClusterState {
  readonly name: string;
  readonly standalone: boolean;
  readonly nodes: SimNode[];
  readonly vms = new Map<number, SimVm>();
  readonly containers = new Map<number, SimContainer>();
  readonly mappings = new Map<string, SimMapping>();
  readonly ha = new Map<string, SimHaResource>();
  readonly qdeviceVotes: number;
  readonly faults = new SimFaults();
  readonly timers = new SimTimers();
  readonly tasks: TaskRunner;
  readonly auth: AuthRegistry;
  readonly options: ResolvedOptions;
  readonly createdAt: number;
  private readonly rebootHooks = new Set<NodeRebootHook>();
  /** Bumped by the simulated "other user" so its edits differ every time. */
  private concurrentEdits = 0;

  constructor(spec: SimClusterSpec, options: SimApiOptions = {}) {
    this.options = resolveOptions(options);
    this.createdAt = this.options.now();
    this.name = spec.name;
    this.standalone = spec.standalone ?? false;
    this.qdeviceVotes = spec.qdeviceVotes ?? 0;
    this.nodes = spec.nodes.map((n, i) => ({
      spec: n, name: n.name, ip: n.ip, nodeid: n.nodeid ?? i + 1, votes: n.votes ?? 1,
      ...(n.sslFingerprint !== undefined ? { sslFingerprint: n.sslFingerprint } : {}),
    }));
    for (const ct of spec.containers ?? []) {
      this.assertFreeVmid(ct.vmid);
      this.containers.set(ct.vmid, { vmid: ct.vmid, node: ct.node, status: ct.status ?? 'stopped', ...(ct.name ? { name: ct.name } : {}) });
    }
    for (const m of spec.mappings ?? []) {
      this.mappings.set(m.id, {
        id: m.id, map: [...m.map],
        ...(m.description !== undefined ? { description: m.description } : {}),
        ...(m.mdev !== undefined ? { mdev: m.mdev } : {}),
        ...(m['live-migration-capable'] !== undefined ? { liveMigrationCapable: m['live-migration-capable'] } : {}),
      });
    }
    // After the mappings: a VM declared running reserves the devices they name.
    for (const vm of spec.vms ?? []) this.addVm(vm);
    for (const h of spec.ha ?? []) this.ha.set(h.sid, { sid: h.sid, state: h.state ?? 'started', ...(h.group ? { group: h.group } : {}) });
    this.tasks = new TaskRunner(this.timers, {
      taskMs: this.options.taskMs,
      now: this.options.now,
      injectedFailure: (type, id) => this.faults.takeTaskFault(type, id)?.message,
    });
    this.auth = new AuthRegistry(spec.users ?? [], spec.tokens ?? [], {
      now: this.options.now,
      ticketLifetimeMs: this.options.ticketLifetimeMs,
      ...(this.standalone ? {} : { clusterName: spec.name }),
    });
  }

  private assertFreeVmid(vmid: number): void {
    if (this.vms.has(vmid) || this.containers.has(vmid)) throw new Error(`VMID ${vmid} declared twice`);
  }

  addVm(spec: SimVmSpec): SimVm {
    this.assertFreeVmid(spec.vmid);
    if (!this.node(spec.node)) throw new Error(`VM ${spec.vmid}: unknown node ${spec.node}`);
    const vm = new SimVm(spec.vmid, spec.node, spec.status ?? 'stopped', spec.ignoreAcpiShutdown ?? false);
    if (spec.name !== undefined) vm.file.current.set('name', spec.name);
    for (const [k, v] of Object.entries(spec.config ?? {})) vm.file.current.set(k, v);
    for (const [k, v] of Object.entries(spec.pending ?? {})) vm.file.pending.set(k, v);
    for (const k of spec.pendingDelete ?? []) vm.file.pendingDelete.set(k, false);
    if (vm.status === 'running') {
      vm.startedAt = this.options.now();
      vm.pid = 10000 + spec.vmid;
      vm.runningMachine = spec.runningMachine ?? this.resolveMachine(vm.node, vm.file.current.get('machine'));
    }
    this.vms.set(vm.vmid, vm);
    if (vm.status === 'running') vm.reservedPci = declaredReservation(this, vm);
    return vm;
  }

  node(name: string): SimNode | undefined {
    return this.nodes.find((n) => n.name === name);
  }

  /** The quorumLost fault takes every node but the first offline. */
  nodeOnline(name: string): boolean {
    const n = this.node(name);
    if (!n) return false;
    if (this.faults.quorumLost && n !== this.nodes[0]) return false;
    return n.spec.online ? n.spec.online() : true;
  }

  quorum(): QuorumInfo {
    const expected = this.nodes.reduce((s, n) => s + n.votes, 0) + this.qdeviceVotes;
    const votes = this.nodes.filter((n) => this.nodeOnline(n.name)).reduce((s, n) => s + n.votes, 0) + this.qdeviceVotes;
    const quorum = Math.floor(expected / 2) + 1;
    return { votes, expected, quorum, quorate: !this.faults.quorumLost && votes >= quorum };
  }

  pci(node: string): SimPciDevice[] {
    const n = this.node(node);
    return n?.spec.pci ? [...n.spec.pci()].sort((a, b) => a.id.localeCompare(b.id)) : [];
  }

  iommu(node: string): boolean {
    const n = this.node(node);
    if (n?.spec.iommu) return n.spec.iommu();
    return this.pci(node).some((d) => d.iommugroup >= 0);
  }

  machineVersions(node: string): readonly string[] {
    return this.node(node)?.spec.machineVersions ?? DEFAULT_MACHINE_VERSIONS;
  }

  /** What `running-machine` shows: unversioned types resolve to the node's newest version. */
  resolveMachine(node: string, machine: string | undefined): string {
    const type = machineTypeOf(machine);
    const versions = this.machineVersions(node);
    const latest = versions[versions.length - 1] ?? '9.2';
    if (type === 'q35') return `pc-q35-${latest}+pve1`;
    if (type === 'pc') return `pc-i440fx-${latest}+pve1`;
    return type;
  }

  uptime(node: string): number {
    const n = this.node(node);
    if (n?.spec.uptime) return n.spec.uptime();
    return Math.floor((this.options.now() - this.createdAt) / 1000);
  }

  /** Nodes in HA maintenance, and where each HA resource it moved away came from. */
  readonly maintenance = new Set<string>();
  readonly haMovedFrom = new Map<string, string>();

  /**
   * HA maintenance as the CRM does it (pve-docs ha-manager.adoc): started HA
   * resources leave the node for another online node not in maintenance (VMs
   * migrate online), and come back when maintenance is disabled. Moves happen
   * after `delayMs`, like the CRM acting on its next round.
   */
  setMaintenance(node: string, enable: boolean, delayMs = 40): Promise<void> {
    if (enable) this.maintenance.add(node);
    else this.maintenance.delete(node);
    return new Promise((resolve) => setTimeout(() => {
      for (const h of this.ha.values()) {
        if (h.state !== 'started') continue;
        const id = Number(h.sid.split(':')[1]);
        const g = this.vms.get(id) ?? this.containers.get(id);
        if (!g) continue;
        if (enable && this.maintenance.has(g.node) && g.node === node) {
          const to = this.nodes.find((n) => n.name !== node && this.nodeOnline(n.name) && !this.maintenance.has(n.name));
          if (!to) continue;
          this.haMovedFrom.set(h.sid, node);
          g.node = to.name;
        } else if (!enable && this.haMovedFrom.get(h.sid) === node) {
          this.haMovedFrom.delete(h.sid);
          g.node = node;
        }
      }
      resolve();
    }, delayMs));
  }

  haFor(vmid: number): SimHaResource | undefined {
    return this.ha.get(`vm:${vmid}`) ?? this.ha.get(`ct:${vmid}`);
  }

  mappingFileText(): string {
    return renderMappingFile([...this.mappings.values()]);
  }

  /** Digest of mapping/pci.cfg: one for all entries, like the cluster file's. */
  mappingDigest(): string {
    return createHash('sha1').update(this.mappingFileText()).digest('hex');
  }

  onNodeReboot(hook: NodeRebootHook): () => void {
    this.rebootHooks.add(hook);
    return () => this.rebootHooks.delete(hook);
  }

  fireNodeReboot(node: string, command: 'reboot' | 'shutdown'): void {
    for (const hook of this.rebootHooks) hook(node, command);
  }

  /** Another admin edits the config (the digestConflictOnce fault). */
  concurrentEdit(vm: SimVm): void {
    this.concurrentEdits += 1;
    const prev = vm.file.current.get('description');
    const note = `edited by another user (${this.concurrentEdits})`;
    vm.file.current.set('description', prev === undefined ? note : `${prev}\n${note}`);
  }

  close(): void {
    this.timers.close();
  }
}
