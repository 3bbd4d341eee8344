/**
 * Issue 16's "Why" bullets that are about what a command concludes, through
 * the compiled CLI against the simulated fleet: a selection that matches
 * nothing is an error listing the known names (never "Compliant" or
 * "No changes"), nothing checked is never compliant, `apply --reboot never`
 * (documented) is a success that ends "reboot pending on N node(s)", and
 * --format json works where --json does.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUILTIN_SCENARIOS } from '../../mocks/index.js';
import { verdictOf } from '../../src/engine/verify.js';
import { testFleet, type TestFleet } from '../helpers/fleet.js';
import { runCli } from '../safety/cli.js';

let tf: TestFleet;
let home: string;
let inv: string;
const cli = (args: string[]) => runCli(args, { home, timeoutMs: 60_000 });

beforeAll(async () => {
  tf = await testFleet(BUILTIN_SCENARIOS.converge);
  inv = tf.fleet.inventoryPath;
  home = mkdtempSync(join(tmpdir(), 'pvpt-hour-'));
});
afterAll(async () => {
  await tf.close();
  rmSync(home, { recursive: true, force: true });
});

describe('a selection that matches nothing is an error listing the known names', () => {
  const cases: [string, string[], RegExp, RegExp][] = [
    ['--node', ['--node', 'no-such-node'], /--node no-such-node: no such node/, /nodes: pve1, pve2, pve3, pve84/],
    ['--vm', ['--vm', '999'], /--vm 999: no such VM/, /VMs: 101, 102, 103, 201/],
    ['--cluster', ['--cluster', 'prod'], /--cluster prod: no such cluster/, /clusters: lab, edge/],
    ['--tag', ['--tag', 'no-such-tag'], /--tag no-such-tag matches no VM or node/, /tags in use|carries a tag/],
    ['--node of another cluster', ['--cluster', 'edge', '--node', 'pve1'], /--node pve1: no such node in cluster edge/, /nodes: pve84/],
  ];
  it.each(cases)('verify %s', async (_label, sel, what, known) => {
    const r = await cli(['verify', '-i', inv, ...sel]);
    expect(r.code, r.stdout + r.stderr).toBe(1);
    expect(r.stderr).toMatch(what);
    expect(r.stderr).toMatch(known);
    expect(r.stdout).not.toMatch(/Compliant/);
  });
  it.each(cases.slice(0, 2))('plan %s', async (_label, sel, what) => {
    const r = await cli(['plan', '-i', inv, ...sel]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(what);
    expect(r.stdout).not.toMatch(/No changes/);
  });
  it('with --json the error is one JSON object on stdout', async () => {
    const r = await cli(['verify', '-i', inv, '--node', 'nope', '--format', 'json']);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout)).toMatchObject({ error: { code: 'E_INPUT', fix: expect.stringMatching(/nodes: pve1/) } });
  });
  it('nothing checked is never compliant', () => {
    expect(verdictOf([])).toBe('error');
    expect(verdictOf([{ checks: [] }, { checks: [{ status: 'na' }] }])).toBe('error');
    expect(verdictOf([{ checks: [{ status: 'pass' }, { status: 'na' }] }])).toBe('compliant');
  });
});

describe('apply --reboot never', () => {
  it('exits 0, writes the config, and ends "reboot pending on N node(s)"; verify then reports the drift', async () => {
    const before = tf.fleet.host('pve1').reboots;
    const r = await cli(['apply', '-i', inv, '--yes', '--reboot', 'never', '--poll-ms', '50']);
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stdout).not.toMatch(/FAILED|rollback/);
    expect(r.stdout.trimEnd()).toMatch(/reboot pending on [1-9]\d* node\(s\)\.$/);
    expect(r.stdout).toMatch(/^pending +node lab\/pve1: applied \d+ step\(s\); reboot pending: cmdline token iommu=pt/m);
    expect(tf.fleet.host('pve1').reboots).toBe(before);
    // A second run has nothing to write and still says the reboot is the user's to do.
    const again = await cli(['apply', '-i', inv, '--yes', '--reboot', 'never', '--format', 'json']);
    expect(again.code, again.stderr).toBe(0);
    const report = JSON.parse(again.stdout) as { ok: boolean; nodes: { node: string; rebootPending?: boolean; stepsDone: number }[] };
    expect(report.ok).toBe(true);
    expect(report.nodes.find((n) => n.node === 'pve1')).toMatchObject({ rebootPending: true, stepsDone: 0 });
    const v = await cli(['verify', '-i', inv, '--node', 'pve1']);
    expect(v.code).toBe(2);
    expect(v.stdout).toMatch(/reboot-pending\s+FAIL/);
  }, 60_000);
});

describe('a typo in a declared address leaves a working GPU alone (fail closed)', () => {
  let typo: TestFleet;
  beforeAll(async () => {
    typo = await testFleet(BUILTIN_SCENARIOS.converge);
  });
  afterAll(async () => {
    await typo.close();
  });

  it('refuses the whole node with "did you mean 0000:01:00.0", plans no removal, and apply changes nothing there', async () => {
    const { readFileSync, writeFileSync } = await import('node:fs');
    const good = typo.fleet.inventoryPath;
    const conv = await cli(['apply', '-i', good, '--yes', '--poll-ms', '50', '--node', 'pve1']);
    expect(conv.code, conv.stdout + conv.stderr).toBe(0);
    const host = typo.fleet.host('pve1');
    const modprobe = host.state.vfs.readOr('/etc/modprobe.d/pve-passthrough.conf');
    expect(modprobe).toMatch(/vfio-pci/);
    const reboots = host.reboots;

    const inv = JSON.parse(readFileSync(good, 'utf8')) as { clusters: { nodes: { name: string; devices: { address: string }[] }[] }[] };
    inv.clusters[0]!.nodes.find((n) => n.name === 'pve1')!.devices = [{ address: '0000:02:00.0' }];
    const bad = join(home, 'typo.json');
    writeFileSync(bad, JSON.stringify(inv));
    const plan = await cli(['plan', '-i', bad, '--node', 'pve1', '--detailed-exitcode']);
    expect(plan.code, plan.stderr).toBe(2);
    expect(plan.stdout).toMatch(/device 0000:02:00\.0: not found in lspci on this host \(did you mean 0000:01:00\.0[ ,)]/);
    expect(plan.stdout).toMatch(/nothing on this node is planned, removals included/);
    expect(plan.stdout).not.toMatch(/- remove|remove \/etc/);

    const apply = await cli(['apply', '-i', bad, '--node', 'pve1', '--yes', '--poll-ms', '50']);
    expect(apply.code).toBe(1);
    expect(host.state.vfs.readOr('/etc/modprobe.d/pve-passthrough.conf')).toBe(modprobe);
    expect(host.reboots).toBe(reboots);
    const v = await cli(['verify', '-i', good, '--node', 'pve1']);
    expect(v.code, v.stdout).toBe(0);
  }, 120_000);
});
