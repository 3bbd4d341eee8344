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
    tf = await testFleet(BUILTIN_SCENARIOS.converge);
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
