/**
 * A token without a privilege (issue 16 item 9): PVE answers 403
 * `Permission check failed (<path>, <privilege>)`, and plan, apply and verify
 * name that privilege and path, never "VM … does not exist" or "is it online?".
 * Spawned CLI against a simulated cluster whose API token is limited.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testFleet, type TestFleet } from '../helpers/fleet.js';

const MAIN = join(import.meta.dirname, '../../dist/src/cli/main.js');

function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [MAIN, ...args], { env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '', stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const MISLEADING = /does not exist|is it online|cannot reach/i;
let tf: TestFleet;
const vm = { vmid: 102, node: 'pve1', status: 'stopped', config: { name: 'desk', machine: 'q35', balloon: '0' }, declare: { hostpci: [{ mapping: 'gpu', pcie: true }] } } as const;
const gpuMapping = [{ id: 'gpu', map: ['node=pve1,path=0000:01:00,id=10de:2484,iommugroup=14'] }];

beforeAll(async () => {
  tf = await testFleet({
    clusters: [
      // Sees nodes but no guests: the VM is hidden from /cluster/resources and its config is a 403.
      { name: 'blind', standalone: true, auth: 'token', tokenPrivs: ['Sys.Audit', 'Mapping.Audit', 'Mapping.Use'], existingMappings: gpuMapping,
        nodes: [{ name: 'pve1', profile: 'pve9-intel-grub-lvm' }], vms: [vm] },
      // Reads everything, may not change the VM's hardware.
      { name: 'readonly', standalone: true, auth: 'token', tokenPrivs: ['Sys.Audit', 'VM.Audit', 'Mapping.Audit', 'Mapping.Use'], existingMappings: gpuMapping,
        nodes: [{ name: 'pve1', profile: 'pve9-intel-grub-lvm', declare: { devices: [{ address: '0000:01:00.0' }] } }], vms: [vm] },
    ],
  });
}, 60_000);
afterAll(async () => {
  await tf.close();
});

describe('a token without the privilege', () => {
  it('plan names VM.Audit on /vms/102, not a missing VM', async () => {
    const r = await cli(['plan', '-i', tf.fleet.inventoryPath, '--cluster', 'blind']);
    expect(r.code).toBe(1);
    expect(r.stdout + r.stderr).toMatch(/VM\.Audit[^\n]*\/vms\/102|\/vms\/102[^\n]*VM\.Audit/);
    expect(r.stdout + r.stderr).not.toMatch(MISLEADING);
  }, 60_000);

  it('verify names VM.Audit on /vms/102', async () => {
    const r = await cli(['verify', '-i', tf.fleet.inventoryPath, '--cluster', 'blind']);
    expect(r.code).toBe(1);
    expect(r.stdout + r.stderr).toMatch(/VM\.Audit[^\n]*\/vms\/102|\/vms\/102[^\n]*VM\.Audit/);
    expect(r.stdout + r.stderr).not.toMatch(MISLEADING);
  }, 60_000);

  it('apply names VM.Config.HWType on /vms/102 when the token may read but not change the VM', async () => {
    const r = await cli(['apply', '-i', tf.fleet.inventoryPath, '--cluster', 'readonly', '--yes', '--poll-ms', '50']);
    expect(r.code).toBe(1);
    expect(r.stdout + r.stderr).toMatch(/VM\.Config\.HWType[^\n]*\/vms\/102|\/vms\/102[^\n]*VM\.Config\.HWType/);
    expect(r.stdout + r.stderr).not.toMatch(MISLEADING);
  }, 60_000);
});
