/**
 * The README's library example runs as written (importing the package by its
 * own name), and `inventory discover` builds a skeleton from a live API.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUILTIN_SCENARIOS } from '../../mocks/index.js';
import { validateInventory } from '../../src/inventory/load.js';
import { testFleet, type TestFleet } from '../helpers/fleet.js';

const ROOT = join(import.meta.dirname, '../..');

function run(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { cwd: ROOT, env: { ...process.env, NO_COLOR: '1', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '', stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('library example', () => {
  it('examples/library.mjs plans, applies and verifies the simulated cluster', async () => {
    const r = await run(['examples/library.mjs']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/apply ok: true\nsteps left: 0\nverify: compliant/);
  }, 60_000);
});

describe('inventory discover', () => {
  let tf: TestFleet;
  beforeAll(async () => {
    // VM 103 already has passthrough configured by hand: discover must bring it in.
    const scenario = structuredClone(BUILTIN_SCENARIOS.converge) as { clusters: Array<{ vms: Array<{ vmid: number; config: Record<string, string> }> }> };
    Object.assign(scenario.clusters[0]!.vms.find((v) => v.vmid === 103)!.config, {
      hostpci0: '0000:01:00,pcie=1', hostpci2: 'mapping=rx6800,rombar=0', hostpci3: '0000:02:00.0;0000:02:00.1',
    });
    tf = await testFleet(scenario);
  });
  afterAll(async () => {
    await tf.close();
  });

  it('prints a valid inventory skeleton with the cluster\'s nodes and VMs', async () => {
    const lab = tf.fleet.cluster('lab');
    const password = (tf.inventory.clusters[0]!.api!.auth as { ticket: { password: { file: string } } }).ticket.password.file;
    const { readFileSync } = await import('node:fs');
    const out = join(mkdtempSync(join(tmpdir(), 'pvpt-disc-')), 'skeleton.json');
    const r = await run(['dist/src/cli/main.js', 'inventory', 'discover', '--api', lab.server!.url, '--tls-fingerprint', lab.server!.fingerprint, '-o', out],
      { PVE_PASSWORD: readFileSync(password, 'utf8').trim() });
    expect(r.code, r.stderr).toBe(0);
    const skeleton = JSON.parse(readFileSync(out, 'utf8')) as unknown;
    const inv = validateInventory(skeleton, out);
    expect(inv.clusters[0]!.nodes.map((n) => n.name)).toEqual(['pve1', 'pve2', 'pve3']);
    expect(inv.clusters[0]!.vms.map((v) => v.vmid)).toEqual([101, 102, 103]);
    expect(inv.clusters[0]!.vms.find((v) => v.vmid === 101)!.hostpci).toEqual([]);
    // Existing entries in index order; a combined entry the inventory cannot express is left out, with a warning.
    expect(inv.clusters[0]!.vms.find((v) => v.vmid === 103)!.hostpci, r.stderr).toEqual([{ host: '0000:01:00', pcie: true }, { mapping: 'rx6800', rombar: false }]);
    expect(r.stderr).toMatch(/VM 103: hostpci3 joins several devices .*left out/);
    expect(JSON.stringify(skeleton)).not.toContain(readFileSync(password, 'utf8').trim());
    writeFileSync(out, '');
  });

  it('refuses a wrong TLS fingerprint, showing the one it saw', async () => {
    const lab = tf.fleet.cluster('lab');
    const wrong = lab.server!.fingerprint.replace(/^../, lab.server!.fingerprint.startsWith('00') ? '11' : '00');
    const r = await run(['dist/src/cli/main.js', 'inventory', 'discover', '--api', lab.server!.url, '--tls-fingerprint', wrong], { PVE_PASSWORD: 'x' });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(lab.server!.fingerprint);
  });
});
