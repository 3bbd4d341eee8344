/**
 * The reboot gate of one cluster. Before each reboot it reads quorum again
 * (API /cluster/status, or `pvecm status` over SSH without an API), counts
 * the nodes already down, and either lets the node go, waits for a node in
 * flight to come back, or refuses. It also deals with running guests per the
 * policy, and after the reboot waits for SSH with a new boot_id, then for
 * the node to be online in a quorate cluster again.
 */
import type { Cluster, Node } from '../inventory/schema.js';
import { createHash } from 'node:crypto';
import { ApiError, SafetyError, SshError } from '../errors.js';
import { anyHaStarted, haSid, readStartedHaOn } from '../facts/cluster/ha-resources.js';
import { onlineNodes, quorumFromApi, readPvecmQuorum, type QuorumInfo } from '../facts/cluster/quorum.js';
import { HA_MAINTENANCE_FILE } from '../facts/host/script.js';
import { hasHaMaintenanceMode, haMaintenanceMarker } from '../operations/host/ha-maintenance.js';
import { readPveRelease } from '../facts/host/pve-version.js';
import { atomicWrite, cmd, haMaintenance, removeFile, render, type Script } from '../transport/shell.js';
import { run } from './host-apply.js';
import { slotsFree, type RebootBudget } from './quorum.js';
import type { EngineContext } from './context.js';
import { readGuests, type GuestResource } from '../facts/cluster/guests.js';
import { ErrorCode } from '../error-codes.js';

export class RebootGate {
  /** Nodes holding a slot: they reboot (or are about to) and count as unavailable until they are back. */
  private readonly held = new Set<string>();
  private stoppedReason: string | null = null;
  private waiters: (() => void)[] = [];

  constructor(private readonly ctx: EngineContext, private readonly cluster: Cluster) {}

  /** Nodes holding a slot now (the lease avoids renewing through them: they may be down). */
  holding(): ReadonlySet<string> {
    return this.held;
  }

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
      this.release(node);
    }
  }

  /** Inside a slot: guests per policy, reboot, wait for a new boot_id and a healthy cluster. */
  async reboot(node: Node, say: (m: string) => void): Promise<void> {
    if (this.stoppedReason) throw new SafetyError(ErrorCode.ROLLOUT_STOPPED, this.stoppedReason, { node: node.name, step: 'reboot gate' });
    const stoppedGuests = await this.handleGuests(node, say);
    const { rebootAndWait } = await import('../transport/ssh/index.js');
    const host = await this.ctx.conn.ssh(this.cluster, node);
    const bootIdBefore = (await host.exec(render(cmd(['cat', '/proc/sys/kernel/random/boot_id'])) as Script)).stdout.trim();
    // The last reading was before the writes and the refresh (minutes on a real host): read quorum again.
    const last = await this.budget(node, node.name);
    if (this.stoppedReason) throw new SafetyError(ErrorCode.ROLLOUT_STOPPED, this.stoppedReason, { node: node.name, step: 'reboot gate' });
    if (last.allowed < 1) {
      throw new SafetyError(ErrorCode.QUORUM, `reboot refused right before it started: ${last.reason}; the files are written, the reboot is pending`, { node: node.name, step: 'reboot gate', fix: 'bring the cluster back to full quorum, then re-run apply to reboot and verify' });
    }
    say('rebooting');
    const timeoutMs = this.cluster.policy.rebootTimeoutSeconds * 1000;
    await rebootAndWait(host, { bootIdBefore, timeoutMs, pollMs: Math.min(this.ctx.pollMs, 2000) });
    say('back with a new boot_id; waiting for the cluster');
    await this.waitClusterHealthy(node, timeoutMs);
    await this.restartGuests(node, stoppedGuests, say);
  }

  /** For plan: would a reboot be allowed now (nothing held)? */
  async budgetNow(node: Node): Promise<RebootBudget> {
    return this.budget(node, null);
  }

  private async acquire(node: Node, say: (m: string) => void): Promise<void> {
    for (;;) {
      if (this.stoppedReason) throw new SafetyError(ErrorCode.ROLLOUT_STOPPED, this.stoppedReason, { node: node.name, step: 'reboot gate' });
      const budget = await this.budget(node, null);
      if (budget.allowed > 0) {
        this.held.add(node.name);
        return;
      }
      if (this.held.size === 0) {
        throw new SafetyError(ErrorCode.QUORUM, `reboot refused: ${budget.reason}`, { node: node.name, step: 'reboot gate', fix: 'bring the cluster back to full quorum (or adjust the policy), then re-run apply' });
      }
      say(`waiting: ${[...this.held].join(', ')} of ${this.cluster.name} rebooting or about to`);
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  /**
   * Slots free now, from a fresh quorum reading. `self`: a holder asking
   * whether it may go down itself (counted as not holding yet).
   */
  private async budget(node: Node, self: string | null): Promise<RebootBudget> {
    const { quorum, haActive, online } = await this.readQuorum(node);
    const holders = [...this.held].filter((n) => n !== self);
    // Without per-node liveness (pvecm only) every holder counts as still online: the safe side.
    const heldOnline = holders.filter((n) => online === null || online.has(n)).length;
    return slotsFree(quorum, this.cluster.policy, haActive, holders.length, heldOnline);
  }

  private release(node: Node): void {
    this.held.delete(node.name);
    this.wake();
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  private async readQuorum(node: Node): Promise<{ quorum: QuorumInfo; haActive: boolean; online: Set<string> | null }> {
    const api = await this.ctx.conn.api(this.cluster);
    if (api) {
      // Both are safety inputs: an unreadable HA list is an error, never "no HA".
      const [status, ha] = await Promise.all([api.clusterStatus(), api.haResources()]);
      const haActive = anyHaStarted(ha);
      const online = new Set(onlineNodes(status));
      const fromApi = quorumFromApi(status);
      // The API counts one vote per node and cannot see a QDevice; when that leaves no spare
      // vote, ask corosync itself. Only a clustered answer may loosen the API's view.
      if (!fromApi.standalone && fromApi.quorate && fromApi.totalVotes - fromApi.quorumVotes <= this.held.size) {
        const q = await this.pvecm(node).catch(() => null);
        if (q && !q.standalone && q.quorate && q.totalVotes - q.quorumVotes > fromApi.totalVotes - fromApi.quorumVotes) return { quorum: q, haActive, online };
      }
      return { quorum: fromApi, haActive, online };
    }
    const q = await this.pvecm(node);
    if (!q) throw new SafetyError(ErrorCode.QUORUM, 'could not read quorum (`pvecm status` gave no usable answer)', { node: node.name, step: 'reboot gate', fix: 'add the cluster\'s API to the inventory, or check corosync on the node' });
    return { quorum: q, haActive: false, online: null };
  }

  /** Quorum from corosync on the node (the fact src/facts/cluster/quorum.ts). */
  private async pvecm(node: Node): Promise<QuorumInfo | null> {
    return readPvecmQuorum(await this.ctx.conn.logged(this.cluster, node), this.ctx.nonce());
  }


  /**
   * The guest decision, made before anything is written on the node (and
   * again right before the reboot): with policy.guests "refuse", or a running
   * container, running guests refuse the node. Returns what is running.
   */
  async checkGuests(node: Node): Promise<GuestResource[]> {
    const api = await this.ctx.conn.api(this.cluster);
    if (!api) return [];
    // Started HA resources are not this gate's to stop: HA maintenance moves them away (enterHaMaintenance).
    const ha = new Set(await this.haResourcesOn(node));
    const running = (await readGuests(api)).filter((r) => r.node === node.name && r.status === 'running' && !ha.has(haSid(r)));
    if (running.length === 0) return [];
    const ids = running.map((r) => `${r.type === 'lxc' ? 'CT' : 'VM'} ${r.vmid}`).join(', ');
    if (this.cluster.policy.guests === 'refuse' || running.some((r) => r.type !== 'qemu')) {
      throw new SafetyError(ErrorCode.GUESTS_RUNNING, `reboot refused: guests running on ${node.name}: ${ids}`, {
        node: node.name,
        step: 'reboot gate',
        fix: 'shut them down or migrate them, or set policy.guests to "shutdown" (VMs only)',
      });
    }
    return running;
  }

  /** Started HA resources placed on the node now (`vm:101`, `ct:200`), from /cluster/ha/resources + /cluster/resources. */
  async haResourcesOn(node: Node): Promise<string[]> {
    const api = await this.ctx.conn.api(this.cluster);
    if (!api) return [];
    return readStartedHaOn(api, node.name);
  }

  /**
   * Before anything is written: a node with HA resources needs HA maintenance
   * (`ha-manager crm-command node-maintenance`, PVE >= 7.3) to move them away;
   * an older PVE refuses the reboot with the reason.
   */
  async checkHaMaintenance(node: Node): Promise<void> {
    const sids = await this.haResourcesOn(node);
    if (sids.length === 0) return;
    const host = await this.ctx.conn.logged(this.cluster, node);
    const { line, release } = await readPveRelease(host);
    if (hasHaMaintenanceMode(release)) return;
    throw new SafetyError(ErrorCode.HA_MAINTENANCE, `reboot refused: HA resources ${sids.join(', ')} run on ${node.name} and its PVE (${line.split(/\s/)[0] || 'unknown version'}) has no HA maintenance mode (ha-manager crm-command node-maintenance needs PVE 7.3 or later)`, {
      node: node.name,
      step: 'reboot gate',
      fix: `upgrade the node to PVE 7.3 or later, or move these resources away yourself (ha-manager migrate SID NODE) and re-run apply`,
    });
  }

  /**
   * Puts the node in HA maintenance and waits (bounded by rebootTimeoutSeconds,
   * saying what is left) until HA has moved its started resources away.
   * Returns false when the node has none (nothing enabled). The caller
   * disables maintenance after verification and on every failure path.
   */
  async enterHaMaintenance(node: Node, say: (m: string) => void): Promise<boolean> {
    let left = await this.haResourcesOn(node);
    if (left.length === 0) return false;
    await this.markHaMaintenance(node);
    await this.runHaMaintenance(node, 'enable');
    const deadline = Date.now() + this.cluster.policy.rebootTimeoutSeconds * 1000;
    let said = '';
    for (;;) {
      // Said when it changes, not per poll: the events a run emits must not depend on timing (crash-point enumeration).
      const now = `HA maintenance: waiting for HA to move ${left.join(', ')} away`;
      if (now !== said) say(now);
      said = now;
      await new Promise((r) => setTimeout(r, Math.min(this.ctx.pollMs, 2000)));
      left = await this.haResourcesOn(node);
      if (left.length === 0) return true;
      if (this.stoppedReason) throw new SafetyError(ErrorCode.ROLLOUT_STOPPED, this.stoppedReason, { node: node.name, step: 'HA maintenance' });
      if (Date.now() > deadline) {
        throw new SafetyError(ErrorCode.HA_MAINTENANCE, `reboot refused: HA did not move ${left.join(', ')} off ${node.name} in time (a resource bound to this node, e.g. by raw passthrough, cannot move)`, {
          node: node.name,
          step: 'HA maintenance',
          fix: 'check `ha-manager status`; give the resource a mapping on another node or migrate it yourself, then re-run apply',
        });
      }
    }
  }

  /** Maintenance survives reboots: the marker names this run, so the next plan ends it if this run dies first. */
  async markHaMaintenance(node: Node): Promise<void> {
    const host = await this.ctx.conn.logged(this.cluster, node);
    const marker = haMaintenanceMarker(this.ctx.runId);
    await run(host, atomicWrite(HA_MAINTENANCE_FILE, { mode: '0600', uid: 0, gid: 0, sha256: createHash('sha256').update(marker).digest('hex') }), 'mark the HA maintenance', marker);
  }

  /** Ends HA maintenance: HA brings the moved resources back. */
  async leaveHaMaintenance(node: Node): Promise<void> {
    await this.runHaMaintenance(node, 'disable');
    const host = await this.ctx.conn.logged(this.cluster, node);
    await run(host, removeFile(HA_MAINTENANCE_FILE), 'clear the HA maintenance marker');
  }

  private async runHaMaintenance(node: Node, action: 'enable' | 'disable'): Promise<void> {
    const host = await this.ctx.conn.logged(this.cluster, node);
    const r = await host.exec(haMaintenance(action, node.name));
    if (r.code !== 0) {
      throw new SafetyError(ErrorCode.HA_MAINTENANCE, `ha-manager crm-command node-maintenance ${action} ${node.name} failed (exit ${r.code ?? 'none'}): ${r.stdout.trim()}`, {
        node: node.name,
        step: 'HA maintenance',
        fix: `run \`ha-manager crm-command node-maintenance ${action} ${node.name}\` on the node and check \`ha-manager status\``,
      });
    }
  }

  /** Running guests on the node: refuse, or shut down per policy. Returns the VMs it stopped. */
  private async handleGuests(node: Node, say: (m: string) => void): Promise<number[]> {
    const api = await this.ctx.conn.api(this.cluster);
    if (!api) {
      this.ctx.emit({ type: 'warning', subject: `node ${node.name}`, message: 'no API in the inventory: running guests were not checked before the reboot' });
      return [];
    }
    const running = await this.checkGuests(node);
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
    await this.waitBootGuestStart(node, say);
    for (const vmid of vmids) {
      // Declared VMs set to restart are started by their own VM step, after their config change.
      const vm = this.cluster.vms.find((v) => v.vmid === vmid);
      if (vm?.whenRunning === 'restart') continue;
      // PVE starts onboot VMs itself after the boot: start only what is still stopped (never fail "already running").
      // An unreadable status is an error: guessing "stopped" would start a VM twice.
      if ((await api.vmStatus(node.name, vmid)).status === 'running') {
        say(`VM ${vmid} is running again (started at boot)`);
        continue;
      }
      say(`starting VM ${vmid} again`);
      await api.startVm(node.name, vmid);
    }
  }

  /**
   * PVE starts onboot guests from pve-guests.service (a oneshot running
   * `pvesh create /nodes/localhost/startall`), which is "activating" until
   * they are up; SSH and the API answer well before. Starting a guest in that
   * window races the boot and fails "already running", so wait for the unit
   * to settle (any state but "activating"), bounded by the reboot timeout.
   */
  private async waitBootGuestStart(node: Node, say: (m: string) => void): Promise<void> {
    const host = await this.ctx.conn.ssh(this.cluster, node);
    const deadline = Date.now() + this.cluster.policy.rebootTimeoutSeconds * 1000;
    let told = false;
    for (;;) {
      const r = await host.exec(render(cmd(['systemctl', 'is-active', 'pve-guests.service'])) as Script);
      if (r.stdout.trim() !== 'activating') return;
      if (Date.now() > deadline) {
        this.ctx.emit({ type: 'warning', subject: `node ${node.name}`, message: 'pve-guests.service was still starting the onboot guests when the reboot timeout ran out; starting the stopped guests now' });
        return;
      }
      if (!told) say('waiting for PVE to start its onboot guests (pve-guests.service)');
      told = true;
      await new Promise((r) => setTimeout(r, Math.min(this.ctx.pollMs, 2000)));
    }
  }

  private async waitClusterHealthy(node: Node, timeoutMs: number): Promise<void> {
    const api = await this.ctx.conn.api(this.cluster);
    if (!api) return;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      // Unreachable while the cluster settles: ask again. A malformed answer is an error, not "not yet".
      const status = await api.clusterStatus().catch((err: unknown) => {
        if (err instanceof ApiError && err.code === ErrorCode.API_RESPONSE) throw err;
        return null;
      });
      if (status) {
        const me = status.find((s) => s.type === 'node' && s.name === node.name);
        const q = quorumFromApi(status);
        if ((q.standalone || q.quorate) && (!me || (me.type === 'node' && me.online))) return;
      }
      if (Date.now() > deadline) {
        throw new SshError(ErrorCode.REBOOT_TIMEOUT, `${node.name} answers SSH again but the cluster did not report it online and quorate in time`, { node: node.name, step: 'wait for cluster', fix: 'check corosync and pve-cluster on the node' });
      }
      await new Promise((r) => setTimeout(r, Math.min(this.ctx.pollMs, 2000)));
    }
  }
}
