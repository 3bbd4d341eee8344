/**
 * Messages between the benchmark runner and the simulator process, one JSON
 * object per line (commands on the simulator's stdin, answers on its stdout).
 * The simulator runs in its own process so that the tool's CPU and memory
 * figures do not include the simulated hosts.
 */

export interface SimHostInfo {
  readonly cluster: string;
  readonly node: string;
  readonly port: number;
  /** `SHA256:…` as pinned in the inventory. */
  readonly fingerprint: string;
}

export interface ReadyMessage {
  readonly type: 'ready';
  readonly inventoryPath: string;
  readonly keyPath: string;
  readonly hosts: readonly SimHostInfo[];
}

export interface RequestCount {
  readonly method: string;
  /** The path with node names and VM ids replaced by {node} and {vmid}. */
  readonly route: string;
  readonly count: number;
}

export interface StatsMessage {
  readonly type: 'stats';
  /** Connections accepted per node since the simulator started. */
  readonly connections: Readonly<Record<string, number>>;
  /** API requests since the previous stats message. */
  readonly requests: readonly RequestCount[];
  /** CPU seconds the simulator used since the previous stats message. */
  readonly cpuSeconds: number;
  readonly rssMb: number;
}

export interface ErrorMessage {
  readonly type: 'error';
  readonly message: string;
}

export type SimMessage = ReadyMessage | StatsMessage | ErrorMessage;

export type SimCommand = { readonly cmd: 'stats' } | { readonly cmd: 'quit' };

/** /nodes/pve1/qemu/101/config → /nodes/{node}/qemu/{vmid}/config */
export function routeOf(path: string): string {
  return path
    .replace(/^\/api2\/json/, '')
    .replace(/\/nodes\/[^/]+/, '/nodes/{node}')
    .replace(/\/(qemu|lxc)\/\d+/, '/$1/{vmid}')
    .replace(/\/tasks\/[^/]+/, '/tasks/{upid}')
    .replace(/\/mapping\/pci\/[^/]+/, '/mapping/pci/{id}');
}
