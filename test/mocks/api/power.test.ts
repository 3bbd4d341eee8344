import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startSimWithRoot, TOKEN, type CallOptions, type Sim } from './fixture.js';

let sim: Sim;
let root: CallOptions;
const tok: CallOptions = { token: TOKEN };

beforeAll(async () => {
  ({ sim, root } = await startSimWithRoot());
});
afterAll(async () => {
  await sim.close();
});
afterEach(async () => {
  sim.api.faults.clear();
  await sim.api.waitForTasks();
});

async function power(vmid: number, node: string, action: string, form: Record<string, string> = {}): Promise<Record<string, unknown>> {
  const r = await sim.client.call('POST', `/nodes/${node}/qemu/${vmid}/status/${action}`, { ...tok, form });
  expect(r.status, r.statusText).toBe(200);
  return sim.client.waitTask(r.body.data as string, tok);
}

async function setConfig(vmid: number, node: string, form: Record<string, string>): Promise<void> {
  const r = await sim.client.call('PUT', `/nodes/${node}/qemu/${vmid}/config`, { ...root, form });
  expect(r.status, r.statusText).toBe(200);
}

const status = async (vmid: number, node: string): Promise<Record<string, unknown>> =>
  (await sim.client.call('GET', `/nodes/${node}/qemu/${vmid}/status/current`, tok)).body.data as Record<string, unknown>;

describe('tasks', () => {
  it('run asynchronously: the POST returns a running task that stops later', async () => {
    // A guest that ignores ACPI keeps its shutdown task running for the whole (long) timeout.
    const r = await sim.client.call('POST', '/nodes/pve2/qemu/104/status/shutdown', { ...tok, form: { timeout: '100000' } });
    const upid = r.body.data as string;
    const first = await sim.client.call('GET', `/nodes/pve2/tasks/${encodeURIComponent(upid)}/status`, tok);
    expect(first.body.data).toMatchObject({ status: 'running', type: 'qmshutdown', node: 'pve2', user: 'svc@pve', tokenid: 'deploy' });
    expect((first.body.data as Record<string, unknown>).exitstatus).toBeUndefined();
    // overrule-shutdown aborts it; the stop then goes through.
    const stop = await power(104, 'pve2', 'stop', { 'overrule-shutdown': '1' });
    expect(stop.exitstatus).toBe('OK');
    expect((await sim.client.waitTask(upid, tok)).exitstatus).toBe('interrupted by signal');
    expect((await status(104, 'pve2')).status).toBe('stopped');
    sim.api.setVmStatus(104, 'running');
  });

  it('page their log with start/limit and report total', async () => {
    const r = await sim.client.call('POST', '/nodes/pve1/qemu/101/config', { ...tok, form: { cores: '2', description: 'x' } });
    const upid = r.body.data as string;
    await sim.client.waitTask(upid, tok);
    const all = await sim.client.call('GET', `/nodes/pve1/tasks/${encodeURIComponent(upid)}/log`, tok);
    expect(all.body.total).toBe(2);
    expect(all.body.data).toEqual([{ n: 1, t: 'update VM 101: -cores 2 -description x' }, { n: 2, t: 'TASK OK' }]);
    const page = await sim.client.call('GET', `/nodes/pve1/tasks/${encodeURIComponent(upid)}/log`, { ...tok, query: { start: '1', limit: '5' } });
    expect(page.body).toMatchObject({ data: [{ n: 2, t: 'TASK OK' }], total: 2 });
  });

  it('answer 400 for malformed or unknown UPIDs and for the wrong node', async () => {
    expect((await sim.client.call('GET', '/nodes/pve1/tasks/nonsense/status', tok)).statusText).toBe("unable to parse worker upid 'nonsense'");
    const r = await sim.client.call('POST', '/nodes/pve1/qemu/101/status/stop', tok);
    const upid = r.body.data as string;
    const other = await sim.client.call('GET', `/nodes/pve2/tasks/${encodeURIComponent(upid)}/status`, tok);
    expect(other.status).toBe(400);
    expect(other.statusText).toBe('no such task');
  });

  it('fail with an injected task fault', async () => {
    sim.api.faults.failTask({ type: 'qmstop', message: 'got timeout' });
    expect((await power(101, 'pve1', 'stop')).exitstatus).toBe('got timeout');
    expect((await power(101, 'pve1', 'stop')).exitstatus).toBe('OK');
  });
});

describe('start', () => {
  it('applies pending changes and reports the running machine', async () => {
    await setConfig(101, 'pve1', { machine: 'q35', hostpci0: '0000:02:00.0,pcie=1' });
    const task = await power(101, 'pve1', 'start');
    expect(task).toMatchObject({ exitstatus: 'OK', type: 'qmstart' });
    expect(await status(101, 'pve1')).toMatchObject({ status: 'running', 'running-machine': 'pc-q35-9.2+pve1' });
    expect((await power(101, 'pve1', 'start')).exitstatus).toBe('VM 101 already running');
    await power(101, 'pve1', 'stop');
    await setConfig(101, 'pve1', { delete: 'hostpci0,machine' });
  });

  it('fails in the task when pcie=1 meets i440fx', async () => {
    await setConfig(101, 'pve1', { hostpci0: '0000:02:00.0,pcie=1' });
    const task = await power(101, 'pve1', 'start');
    expect(task.exitstatus).toMatch(/^q35 machine model is not enabled/);
    expect((await status(101, 'pve1')).status).toBe('stopped');
    await setConfig(101, 'pve1', { delete: 'hostpci0' });
  });

  it('fails when another running VM holds the device', async () => {
    await setConfig(101, 'pve1', { hostpci0: '0000:01:00.0' });
    expect((await power(101, 'pve1', 'start')).exitstatus).toBe("PCI device '0000:01:00.0' already in use by VMID '102'");
    await setConfig(101, 'pve1', { delete: 'hostpci0' });
  });

  it('fails when the node has no such device', async () => {
    await setConfig(101, 'pve1', { hostpci0: '0000:07:00' });
    expect((await power(101, 'pve1', 'start')).exitstatus).toBe("no PCI device found for '0000:07:00'");
    await setConfig(101, 'pve1', { delete: 'hostpci0' });
  });

  it('fails without an IOMMU', async () => {
    const saved = sim.hw.pve1;
    sim.hw.pve1 = saved.map((d) => ({ ...d, iommugroup: -1 }));
    await setConfig(101, 'pve1', { hostpci0: '0000:02:00.0' });
    expect((await power(101, 'pve1', 'start')).exitstatus).toBe('cannot prepare PCI pass-through, IOMMU not present');
    sim.hw.pve1 = saved;
    await setConfig(101, 'pve1', { delete: 'hostpci0' });
  });

  it('checks a mapping against the hardware at start', async () => {
    await power(102, 'pve1', 'stop');
    await setConfig(101, 'pve1', { hostpci0: 'mapping=gpu-a' });
    const saved = sim.hw.pve1;
    sim.hw.pve1 = saved.map((d) => (d.id === '0000:01:00.0' ? { ...d, iommugroup: 99 } : d));
    expect((await power(101, 'pve1', 'start')).exitstatus).toBe("PCI device mapping invalid (hardware probably changed): 'iommugroup' does not match for 'gpu-a' (99 != 14)");
    sim.hw.pve1 = saved;
    expect((await power(101, 'pve1', 'start')).exitstatus).toBe('OK');
    await power(101, 'pve1', 'stop');
    await setConfig(101, 'pve1', { delete: 'hostpci0' });
    await power(102, 'pve1', 'start');
  });

  it('fails for a mapping with no entry on this node', async () => {
    await setConfig(103, 'pve2', { hostpci1: 'mapping=gpu-a' });
    await power(103, 'pve2', 'stop');
    expect((await power(103, 'pve2', 'start')).exitstatus).toBe("PCI device mapping not found for 'gpu-a'");
  });

  it('is refused without quorum', async () => {
    sim.api.faults.setQuorumLost(true);
    const r = await sim.client.call('POST', '/nodes/pve1/qemu/101/status/start', tok);
    expect(r.status).toBe(500);
    expect(r.statusText).toBe('cluster not ready - no quorum?');
  });
});

describe('shutdown', () => {
  it('stops a cooperative guest', async () => {
    await power(101, 'pve1', 'start');
    expect((await power(101, 'pve1', 'shutdown')).exitstatus).toBe('OK');
    expect((await status(101, 'pve1')).status).toBe('stopped');
  });

  it('times out on a guest that ignores ACPI, unless forceStop', async () => {
    expect((await power(104, 'pve2', 'shutdown', { timeout: '5' })).exitstatus).toBe('VM quit/powerdown failed - got timeout');
    expect((await status(104, 'pve2')).status).toBe('running');
    const forced = await power(104, 'pve2', 'shutdown', { timeout: '5', forceStop: '1' });
    expect(forced.exitstatus).toBe('OK');
    expect((await status(104, 'pve2')).status).toBe('stopped');
    const log = await sim.client.call('GET', `/nodes/pve2/tasks/${encodeURIComponent(forced.upid as string)}/log`, tok);
    expect(log.body.data).toContainEqual({ n: 1, t: 'VM still running - terminating now with SIGTERM' });
  });

  it('fails for a VM that is not running', async () => {
    expect((await power(101, 'pve1', 'shutdown')).exitstatus).toBe('VM 101 not running');
  });
});

describe('HA-managed VMs', () => {
  it('start through an hastart task that ends before the VM runs', async () => {
    const task = await power(105, 'pve2', 'start');
    expect(task).toMatchObject({ type: 'hastart', exitstatus: 'OK' });
    await sim.api.waitForTasks();
    expect(await status(105, 'pve2')).toMatchObject({ status: 'running', ha: { managed: 1, state: 'started' } });
  });
});

describe('node reboot', () => {
  it('returns null at once and calls the reboot hook', async () => {
    const calls: string[] = [];
    const off = sim.api.onNodeReboot((node, command) => calls.push(`${node}:${command}`));
    const r = await sim.client.call('POST', '/nodes/pve3/status', { ...tok, form: { command: 'reboot' } });
    expect(r.status).toBe(200);
    expect(r.body.data).toBeNull();
    expect(calls).toEqual(['pve3:reboot']);
    off();
  });

  it('is unreachable while the node is offline, and the cluster sees it', async () => {
    sim.hw.online.pve3 = false;
    const r = await sim.client.call('POST', '/nodes/pve3/status', { ...tok, form: { command: 'reboot' } });
    expect(r.status).toBe(595);
    const cs = (await sim.client.call('GET', '/cluster/status', tok)).body.data as Array<Record<string, unknown>>;
    expect(cs.find((i) => i.name === 'pve3')).toMatchObject({ type: 'node', online: 0 });
    expect(cs[0]).toMatchObject({ type: 'cluster', name: 'lab', quorate: 1, nodes: 3 });
    const res = (await sim.client.call('GET', '/cluster/resources', { ...tok, query: { type: 'vm' } })).body.data as Array<Record<string, unknown>>;
    expect(res.find((g) => g.vmid === 200)).toMatchObject({ type: 'lxc', status: 'unknown' });
    sim.hw.online.pve3 = true;
  });

  it('stops guests when the node goes down and starts onboot ones when it is back', async () => {
    await setConfig(101, 'pve1', { onboot: '1', machine: 'q35' });
    sim.api.stopGuestsOnNode('pve1');
    expect((await status(102, 'pve1')).status).toBe('stopped');
    sim.api.startOnbootGuests('pve1');
    expect(await status(101, 'pve1')).toMatchObject({ status: 'running', 'running-machine': 'pc-q35-9.2+pve1' });
    expect((await status(102, 'pve1')).status).toBe('stopped');
  });
});
