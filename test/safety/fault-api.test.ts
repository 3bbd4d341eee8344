/**
 * API faults while VMs are changed: a 500, a request that never answers, a
 * task that fails after it was accepted, and digest conflicts from a
 * concurrent writer. Each VM is left as it was (or with the change pending),
 * reported, and a write is never retried; a digest conflict is re-read and
 * re-planned once, then fails clearly.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apply, plan, type Inventory } from '../../src/index.js';
import { startVm } from '../../mocks/api/vm-ops.js';
import { expectConverges, expectIntact, intended, snapshot, startSim, type Sim } from './harness.js';

const VM_CONFIG = (vmid: number) => ({ name: `vm${vmid}`, ostype: 'l26', memory: '4096', cores: '2', scsi0: `local-lvm:vm-${vmid}-disk-0,size=16G` });
const GPU = { hostpci: [{ host: '0000:01:00', pcie: true }] };
const vm = (vmid: number, extra: Record<string, unknown> = {}) => ({ vmid, node: 'n1', status: 'stopped', config: VM_CONFIG(vmid), declare: GPU, ...extra });

describe('fault: the PVE API fails while VMs are changed', () => {
  let sim: Sim;
  beforeAll(async () => {
    sim = await startSim({
      clusters: [{
        name: 'api',
        standalone: true,
        nodes: [{ name: 'n1', profile: 'pve9-intel-grub-lvm', overrides: { hostname: 'n1' }, declare: { devices: [{ address: '0000:01:00.0' }] } }],
        vms: [
          vm(301), vm(302), vm(303),
          // Running and left "pending": the change waits for the next VM restart.
          vm(304, { status: 'running', declare: { ...GPU, whenRunning: 'pending' } }),
          vm(305), vm(306),
        ],
      }],
    });
  });
  afterAll(() => sim?.close());

  const configPath = (vmid: number) => `/api2/json/nodes/n1/qemu/${vmid}/config`;
  const writesTo = (vmid: number) => sim.requests.filter((r) => r.method !== 'GET' && r.path === configPath(vmid)).length;
  const vmState = (vmid: number) => sim.fleet.cluster('api').api!.state.vms.get(vmid)!;
  const configOf = (vmid: number) => Object.fromEntries(vmState(vmid).file.current);

  it('leaves each VM as it was or pending, reports it, never retries a write, re-plans a digest conflict once', async () => {
    const api = sim.fleet.cluster('api').api!;
    // A short API timeout so the request that never answers gives up quickly.
    const inv: Inventory = { ...sim.inventory, clusters: sim.inventory.clusters.map((c) => ({ ...c, api: c.api && { ...c.api, timeoutSeconds: 1 } })) };
    const planned = intended(await plan(inv, sim.opts()));
    api.faults.apply({
      requests: [{ method: 'POST', path: '^/nodes/n1/qemu/301/config$', status: 500, message: 'internal error: could not lock config' }],
      delays: [{ method: 'POST', path: '^/nodes/n1/qemu/302/config$' }],
      tasks: [{ type: 'qmconfig', vmid: 303, message: 'unable to parse value of hostpci0 - device busy' }],
      digestConflictOnce: [305, 306],
    });
    // VM 306 has a writer that keeps editing: every read of its config is followed by another change.
    sim.onRequest.push((e) => {
      if (e.method === 'GET' && e.path === configPath(306)) api.faults.digestConflictOnce(306);
    });
    const before = { 301: configOf(301), 302: configOf(302), 303: configOf(303) };
    const hostsBefore = snapshot(sim.fleet);

    const report = await apply(inv, sim.opts());
    const r = Object.fromEntries(report.vms.map((v) => [v.vmid, v]));
    expect(report.ok).toBe(false);

    expect(r[301]).toMatchObject({ outcome: 'failed' });
    expect(r[301]!.message).toMatch(/could not lock config/);
    expect(r[302]).toMatchObject({ outcome: 'failed' });
    expect(r[302]!.message).toMatch(/time|abort/i);
    expect(r[303]).toMatchObject({ outcome: 'failed' });
    expect(r[303]!.message).toMatch(/device busy/);
    for (const id of [301, 302, 303] as const) {
      expect(configOf(id), `VM ${id} config`).toEqual(before[id]);
      expect(writesTo(id), `writes to VM ${id}`).toBe(1);
    }
    expect(r[304]).toMatchObject({ outcome: 'pending' });
    expect(Object.keys(Object.fromEntries(vmState(304).file.pending))).toContain('hostpci0');
    expect(vmState(304).status).toBe('running');

    expect(r[305]).toMatchObject({ outcome: 'applied' });
    expect(r[305]!.message).toMatch(/re-planned once after a concurrent change/);
    expect(configOf(305).description).toMatch(/edited by another user/);
    expect(writesTo(305)).toBe(2);
    expect(r[306]).toMatchObject({ outcome: 'failed' });
    expect(r[306]!.message).toMatch(/changed again while applying \(digest mismatch twice\); someone else is editing it/);
    expect(writesTo(306)).toBe(2);
    // The report says what to do for each failed VM.
    for (const id of [301, 302, 303, 306]) expect(report.next.some((l) => l.startsWith(`api/VM ${id}:`))).toBe(true);
    expect(report.next.some((l) => l.startsWith('api/VM 304: the change is pending'))).toBe(true);
    expectIntact(hostsBefore, snapshot(sim.fleet), planned);

    // The writer stops; the API is healthy again: the re-run converges (VM 304 restarted to apply what is pending).
    sim.onRequest.length = 0;
    api.faults.clear();
    // The owner of VM 304 restarts it (a stop and start applies what is pending).
    api.setVmStatus(304, 'stopped');
    startVm(api.state, vmState(304), { log: () => undefined });
    await expectConverges(sim);
  });
});
