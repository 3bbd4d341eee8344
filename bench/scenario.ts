/**
 * The simulated fleets the benchmarks run against, as scenario objects for
 * mocks/fleet. Pure: sizes in, scenario out. Every node declares a GPU, so a
 * plan has real work (files, refresh, reboot) and verify has real checks.
 */

/** Host profiles rotated over the nodes; each has a passthrough-able GPU at 0000:01:00. */
export const BENCH_PROFILES: readonly string[] = ['pve9-intel-grub-lvm', 'pve9-amd-sdboot-zfs', 'pve81-intel-6.5'];

/**
 * Profiles whose plan includes a reboot. (pve9-intel-grub-lvm has its IOMMU
 * on already, so the tool binds its GPU live without one.)
 */
export const REBOOTING_PROFILES: readonly string[] = ['pve9-amd-sdboot-zfs', 'pve81-intel-6.5'];

export interface BenchClusterSpec {
  readonly name: string;
  readonly nodes: number;
  /** Serve a PVE API for this cluster (false: a host-only inventory). */
  readonly api: boolean;
  /** Declared VMs per node, each given the node's GPU. */
  readonly vmsPerNode?: number;
  readonly rebootDelayMs?: number;
  readonly maxUnavailable?: number;
  /** Host profiles rotated over the nodes (default BENCH_PROFILES). */
  readonly profiles?: readonly string[];
}

export interface BenchFleetSpec {
  /** Folder for the inventory, key and secrets. */
  readonly dir: string;
  readonly clusters: readonly BenchClusterSpec[];
  /** Keep the API request log (for request counting). */
  readonly logRequests?: boolean;
  /** API task duration (ms); the default keeps tasks short. */
  readonly taskMs?: number;
}

/** `count` nodes split into clusters of at most `perCluster` (host-only: SSH reads only). */
export function hostOnlyClusters(count: number, perCluster: number): BenchClusterSpec[] {
  const clusters: BenchClusterSpec[] = [];
  for (let start = 0, i = 1; start < count; start += perCluster, i++) {
    clusters.push({ name: `c${i}`, nodes: Math.min(perCluster, count - start), api: false });
  }
  return clusters;
}

export function nodeName(cluster: string, index: number): string {
  return `${cluster}-n${index + 1}`;
}

/** The raw scenario object (parsed by mocks' parseScenario in the simulator process). */
export function benchScenario(spec: BenchFleetSpec): Record<string, unknown> {
  let vmid = 100;
  return {
    name: 'bench',
    description: 'benchmark fleet',
    clusters: spec.clusters.map((c) => {
      const nodes = Array.from({ length: c.nodes }, (_, i) => {
        const profiles = c.profiles ?? BENCH_PROFILES;
        const profile = profiles[i % profiles.length]!;
        return {
          name: nodeName(c.name, i),
          profile,
          ...(c.rebootDelayMs !== undefined ? { rebootDelayMs: c.rebootDelayMs } : {}),
          declare: { devices: [{ address: '0000:01:00.0' }] },
        };
      });
      const vms = nodes.flatMap((n) => Array.from({ length: c.vmsPerNode ?? 0 }, (_, j) => {
        const id = vmid++;
        return {
          vmid: id,
          node: n.name,
          name: `vm${id}`,
          status: 'stopped',
          config: { name: `vm${id}`, ostype: 'l26', memory: '8192', balloon: '0', cores: '4', scsi0: `local-lvm:vm-${id}-disk-0,size=32G`, net0: `virtio=BC:24:11:00:${hex2(id >> 8)}:${hex2(id)},bridge=vmbr0` },
          // Only the first VM of a node holds the GPU; the others get a machine type change.
          declare: j === 0 ? { hostpci: [{ host: '0000:01:00', pcie: true }] } : { machine: 'q35' },
        };
      }));
      return {
        name: c.name,
        api: c.api,
        auth: 'ticket',
        policy: { reboot: 'needed', guests: 'shutdown', maxUnavailable: c.maxUnavailable ?? 1, rebootTimeoutSeconds: 120 },
        nodes,
        vms,
      };
    }),
  };
}

function hex2(n: number): string {
  return (n & 0xff).toString(16).padStart(2, '0').toUpperCase();
}
