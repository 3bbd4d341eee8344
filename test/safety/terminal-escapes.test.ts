/**
 * End to end: a host file with terminal escapes (an operator's hand-edited
 * owned file holding ESC[1A ESC[2K, an OSC title, C1 CSI, a bidi override)
 * reaches `plan`'s output shown, never obeyed; `--json` keeps the bytes as
 * JSON escapes. The CLI runs as a user would (dist/), stdout not a TTY and
 * NO_COLOR set, so the tool itself writes no escape at all.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSim, VFIO_NODE, type Sim } from './harness.js';
import { runCli } from './cli.js';

const V = JSON.parse(readFileSync(join(import.meta.dirname, '../fixtures/hostile/terminal/values.json'), 'utf8')) as Record<string, string>;
const OBEYED = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/;

describe('terminal escapes from a host file', () => {
  let sim: Sim;
  beforeAll(async () => {
    sim = await startSim({ clusters: [{ name: 'c', standalone: true, nodes: [VFIO_NODE('n1')] }] });
    // Comment lines, so the module-config model reads the file cleanly and the plan shows it as a diff.
    const hostile = `# ${V['erase-lines']}${V['erase-lines']}hidden\n# ${V['vm-description']} ${V['c1-csi']} ${V['bidi-override']} ${V['osc-8-link']}\noptions vfio-pci ids=10de:2204\n`;
    sim.fleet.host('n1').state.drift.writeFile('/etc/modprobe.d/pve-passthrough.conf', hostile);
  });
  afterAll(() => sim?.close());

  it('plan shows them escaped; --json keeps them as JSON escapes', async () => {
    const r = await runCli(['plan', '--inventory', sim.fleet.inventoryPath], { home: sim.dir });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('- # \\x1b[1A\\x1b[2K\\x1b[1A\\x1b[2Khidden');
    expect(r.stdout).toContain('\\x9b2Jcleared');
    expect(r.stdout).not.toMatch(OBEYED);
    expect(r.stderr).not.toMatch(OBEYED);
    const j = await runCli(['plan', '--inventory', sim.fleet.inventoryPath, '--json'], { home: sim.dir });
    const step = (JSON.parse(j.stdout) as { clusters: { nodes: { steps: { path?: string; before?: string }[] }[] }[] }).clusters[0]!.nodes[0]!.steps.find((s) => s.path === '/etc/modprobe.d/pve-passthrough.conf');
    expect(step?.before).toContain(V['erase-lines']);
  });
});
