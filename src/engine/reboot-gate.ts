/**
 * The reboot gate of one cluster. Before each reboot it reads quorum again
 * (API /cluster/status, or `pvecm status` over SSH without an API), counts
 * the nodes already down, and either lets the node go, waits for a node in
 * flight to come back, or refuses. It also deals with running guests per the
 * policy, and after the reboot waits for SSH with a new boot_id, then for
 * the node to be online in a quorate cluster again.
 */
import type { Cluster, Node } from '../inventory/schema.js';
import { SafetyError } from '../errors.js';
import { batch, cmd, parseBatch, render, type Script } from '../transport/shell.js';
import { quorumFromApi, quorumFromPvecm, rebootBudget, type QuorumInfo } from './quorum.js';
import type { EngineContext } from './context.js';
import { guests } from './plan-vms.js';

export class RebootGate {
  private inFlight = 0;
  private stoppedReason: string | null = null;
  private waiters: (() => void)[] = [];

  constructor(private readonly ctx: EngineContext, private readonly cluster: Cluster) {}

  stop(reason: string): void {
    this.stoppedReason = reason;
    this.wake();
  }

  /**
   * Holds one of the cluster's reboot slots while `fn` runs. A node that will
   * reboot takes its slot before anything is written, so a stopped rollout
   * leaves the nodes after it untouched.
   */
  async withSlot<T>(node: Node, say: (m: string) => void, fn: () => Promise<T>): Promise<T> {
    await this.acquire(node, say);
    try {
      return await fn();
    } finally {
      this.release();
    }
  }

  /** Inside a slot: guests per policy, reboot, wait for a new boot_id and a healthy cluster. */
  async reboot(node: Node, say: (m: string) => void): Promise<void> {
    if (this.stoppedReason) throw new SafetyError('E_ROLLOUT_STOPPED', this.stoppedReason, { node: node.name, step: 'reboot gate' });
    const stoppedGuests = await this.handleGuests(node, say);
    const { rebootAndWait } = await import('../transport/ssh/index.js');
    const host = await this.ctx.conn.ssh(this.cluster, node);
    const bootIdBefore = (await host.exec(render(cmd(['cat', '/proc/sys/kernel/random/boot_id'])) as Script)).stdout.trim();
    say('rebooting');
    const timeoutMs = this.cluster.policy.rebootTimeoutSeconds * 1000;
    await rebootAndWait(host, { bootIdBefore, timeoutMs, pollMs: Math.min(this.ctx.pollMs, 2000) });
    say('back with a new boot_id; waiting for the cluster');
    await this.waitClusterHealthy(node, timeoutMs);
    await this.restartGuests(node, stoppedGuests, say);
  }

  private async acquire(node: Node, say: (m: string) => void): Promise<void> {
    for (;;) {
      if (this.stoppedReason) throw new SafetyError('E_ROLLOUT_STOPPED', this.stoppedReason, { node: node.name, step: 'reboot gate' });
      const { quorum, haActive } = await this.readQuorum(node);
      const budget = rebootBudget(quorum, this.cluster.policy, haActive);
      // Nodes already rebooting are counted by quorum (they are offline) and by maxUnavailable.
      const free = Math.min(budget.allowed, this.cluster.policy.maxUnavailable - this.inFlight);
      if (free > 0 && (quorum.standalone || budget.allowed > 0)) {
        this.inFlight++;
        return;
      }
      if (this.inFlight === 0) {
        throw new SafetyError('E_QUORUM', `reboot refused: ${budget.reason}`, { node: node.name, step: 'reboot gate', fix: 'bring the cluster back to full quorum (or adjust the policy), then re-run apply' });
      }
      say(`waiting: ${this.inFlight} node(s) of ${this.cluster.name} rebooting`);
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  private release(): void {
    this.inFlight--;
    this.wake();
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  private async readQuorum(node: Node): Promise<{ quorum: QuorumInfo; haActive: boolean }> {
    const api = await this.ctx.conn.api(this.cluster);
    if (api) {
      const [status, ha] = await Promise.all([api.clusterStatus(), api.haResources().catch(() => [])]);
      const haActive = ha.some((r: { state?: string }) => r.state === undefined || r.state === 'started');
      const fromApi = quorumFromApi(status);
      // The API counts one vote per node and cannot see a QDevice; when that leaves no spare
      // vote, ask corosync itself. Only a clustered answer may loosen the API's view.
      if (!fromApi.standalone && fromApi.quorate && fromApi.totalVotes - fromApi.quorumVotes <= 0) {
        const q = await this.pvecm(node).catch(() => null);
        if (q && !q.standalone && q.quorate && q.totalVotes - q.quorumVotes > 0) return { quorum: q, haActive };
      }
      return { quorum: fromApi, haActive };
    }
    const q = await this.pvecm(node);
    if (!q) throw new SafetyError('E_QUORUM', 'could not read quorum (`pvecm status` gave no usable answer)', { node: node.name, step: 'reboot gate', fix: 'add the cluster\'s API to the inventory, or check corosync on the node' });
    return { quorum: q, haActive: false };
  }

  /** Quorum from corosync on the node; no /etc/pve/corosync.conf (plain Debian, a lone PVE node) = standalone. */
  private async pvecm(node: Node): Promise<QuorumInfo | null> {
    const host = await this.ctx.conn.logged(this.cluster, node);
    const nonce = this.ctx.nonce();
    const r = parseBatch((await host.exec(batch([
      { key: 'corosync', cmd: cmd(['test', '-e', '/etc/pve/corosync.conf']) },
      { key: 'pvecm', cmd: cmd(['pvecm', 'status']) },
    ], nonce))).stdout, nonce);
    const corosync = r.get('corosync');
    if (corosync && corosync.rc === 1) return { standalone: true, quorate: true, totalVotes: 1, quorumVotes: 1, expectedVotes: 1 };
    const pvecm = r.get('pvecm');
    return pvecm ? quorumFromPvecm(pvecm.output, pvecm.rc) : null;
  }


  /** Running guests on the node: refuse, or shut down per policy. Returns the VMs it stopped. */
  private async handleGuests(node: Node, say: (m: string) => void): Promise<number[]> {
    const api = await this.ctx.conn.api(this.cluster);
    if (!api) {
      this.ctx.emit({ type: 'warning', subject: `node ${node.name}`, message: 'no API in the inventory: running guests were not checked before the reboot' });
      return [];
    }
    const running = (await guests(api)).filter((r) => r.node === node.name && r.status === 'running');
    if (running.length === 0) return [];
    const ids = running.map((r) => `${r.type === 'lxc' ? 'CT' : 'VM'} ${r.vmid}`).join(', ');
    if (this.cluster.policy.guests === 'refuse' || running.some((r) => r.type !== 'qemu')) {
      throw new SafetyError('E_GUESTS_RUNNING', `reboot refused: guests running on ${node.name}: ${ids}`, {
        node: node.name,
        step: 'reboot gate',
        fix: 'shut them down or migrate them, or set policy.guests to "shutdown" (VMs only)',
      });
    }
    const stopped: number[] = [];
    for (const g of running) {
      const vm = this.cluster.vms.find((v) => v.vmid === g.vmid);
      say(`shutting down VM ${g.vmid}`);
      await api.shutdownVm(node.name, g.vmid, { timeout: vm?.shutdownTimeoutSeconds ?? 180, forceStop: vm?.allowStop ?? false });
      stopped.push(g.vmid);
    }
    return stopped;
  }

  private async restartGuests(node: Node, vmids: readonly number[], say: (m: string) => void): Promise<void> {
    if (vmids.length === 0) return;
    const api = await this.ctx.conn.api(this.cluster);
    if (!api) return;
    for (const vmid of vmids) {
      // Declared VMs set to restart are started by their own VM step, after their config change.
      const vm = this.cluster.vms.find((v) => v.vmid === vmid);
      if (vm?.whenRunning === 'restart') continue;
      say(`starting VM ${vmid} again`);
      await api.startVm(node.name, vmid);
    }
  }

  private async waitClusterHealthy(node: Node, timeoutMs: number): Promise<void> {
    const api = await this.ctx.conn.api(this.cluster);
    if (!api) return;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const status = await api.clusterStatus().catch(() => null);
      if (status) {
        const me = status.find((s) => s.type === 'node' && s.name === node.name);
        const q = quorumFromApi(status);
        if ((q.standalone || q.quorate) && (!me || (me.type === 'node' && me.online))) return;
      }
      if (Date.now() > deadline) {
        throw new SafetyError('E_REBOOT_TIMEOUT', `${node.name} answers SSH again but the cluster did not report it online and quorate in time`, { node: node.name, step: 'wait for cluster', fix: 'check corosync and pve-cluster on the node' });
      }
      await new Promise((r) => setTimeout(r, Math.min(this.ctx.pollMs, 2000)));
    }
  }
}
