/**
 * A full CLI run (plan --out, apply --verbose, verify --json, runs, profile
 * add) against the simulator, then every output is scanned for every secret:
 * stdout, stderr, the run logs under XDG_STATE_HOME, the plan file and the
 * simulator's request log. Also: files the tool writes locally are 0600, and
 * backups on hosts keep the original file's mode and owner.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, type CliResult } from './cli.js';
import { startSim, VFIO_NODE, type Sim } from './harness.js';

describe('secrets never leak; local files 0600; host backups keep mode and owner', () => {
  let sim: Sim;
  beforeAll(async () => {
    sim = await startSim({
      encryptedClientKey: true,
      clusters: [
        {
          name: 'tk', standalone: true, auth: 'ticket', totp: true,
          nodes: [VFIO_NODE('sd1', 'pve9-amd-sdboot-zfs')],
          vms: [{ vmid: 500, node: 'sd1', config: { name: 'v', memory: '2048' }, declare: { hostpci: [{ host: '0000:01:00', pcie: true }] } }],
        },
        { name: 'tok', standalone: true, auth: 'token', nodes: [VFIO_NODE('g1')] },
      ],
    });
    // An edited file with an unusual mode and group: its backup must keep both.
    sim.fleet.host('sd1').state.vfs.write('/etc/kernel/cmdline', 'root=ZFS=rpool/ROOT/pve-1 boot=zfs\n', { mode: 0o640, uid: 0, gid: 4 });
  });
  afterAll(() => sim?.close());

  it('scans every output of a full run', async () => {
    const inv = sim.fleet.inventoryPath;
    const planFile = join(sim.dir, 'plan.json');
    const runs: CliResult[] = [];
    const cli = async (args: string[], code: number) => {
      const r = await runCli(args, { home: sim.dir });
      expect(r.code, `${args.join(' ')}\n${r.stderr}`).toBe(code);
      runs.push(r);
      return r;
    };
    await cli(['plan', '-i', inv, '--out', planFile, '--verbose', '--detailed-exitcode'], 2);
    await cli(['apply', '--yes', '--verbose', '-i', inv, '--poll-ms', '20'], 0);
    await cli(['verify', '--json', '--verbose', '-i', inv], 0);
    await cli(['runs', 'list'], 0);
    await cli(['profile', 'add', 'lab', '--api', 'https://pve.example.com:8006', '--token-id', 'auto@pve!pt', '--token-secret-env', 'PVE_TOKEN'], 0);

    const stateDir = join(sim.dir, 'state', 'pve-passthrough', 'runs');
    const logFiles = readdirSync(stateDir).map((f) => join(stateDir, f));
    expect(logFiles.length).toBeGreaterThanOrEqual(3);
    const outputs: [string, string][] = [
      ...runs.flatMap((r, i): [string, string][] => [[`run ${i} stdout`, r.stdout], [`run ${i} stderr`, r.stderr]]),
      ...logFiles.map((f): [string, string] => [f, readFileSync(f, 'utf8')]),
      [planFile, readFileSync(planFile, 'utf8')],
      ['sim request log', JSON.stringify(sim.requests)],
    ];
    // The scan is not vacuous: the run did authenticate with these secrets and logged commands.
    // root password + token secret per API cluster, the TOTP code and the SSH key passphrase
    expect(sim.fleet.secrets.length).toBeGreaterThanOrEqual(6);
    expect(sim.requests.some((r) => r.path.endsWith('/access/ticket'))).toBe(true);
    expect(runs[1]!.stderr.length).toBeGreaterThan(200);
    for (const secret of sim.fleet.secrets) {
      for (const [where, text] of outputs) expect(text.includes(secret), `a secret appears in ${where}`).toBe(false);
    }

    // Local files: run logs and the plan file 0600 in a 0700 folder; the profile store 0600.
    for (const f of [...logFiles, planFile]) expect((statSync(f).mode & 0o777).toString(8), f).toBe('600');
    expect((statSync(stateDir).mode & 0o777).toString(8)).toBe('700');
    const configDir = join(sim.dir, 'config');
    const profileFiles = readdirSync(configDir, { recursive: true }).map(String).filter((f) => f.endsWith('.json'));
    expect(profileFiles.length).toBe(1);
    expect((statSync(join(configDir, profileFiles[0]!)).mode & 0o777).toString(8)).toBe('600');

    // On the host: the backup of /etc/kernel/cmdline kept 0640 root:4, and so did the file itself.
    const vfs = sim.fleet.host('sd1').state.vfs;
    const backups = vfs.walkFiles('/var/lib/pve-passthrough/backups').filter((p) => p.endsWith('/etc/kernel/cmdline'));
    expect(backups).toHaveLength(1);
    for (const p of [backups[0]!, '/etc/kernel/cmdline']) {
      const n = vfs.get(p)!;
      expect({ path: p, mode: n.mode.toString(8), uid: n.uid, gid: n.gid }).toEqual({ path: p, mode: '640', uid: 0, gid: 4 });
    }
    expect(vfs.read(backups[0]!)).toBe('root=ZFS=rpool/ROOT/pve-1 boot=zfs\n');
    // The manifest holding the checksums is root-only.
    const manifest = vfs.walkFiles('/var/lib/pve-passthrough/backups').find((p) => p.endsWith('/manifest.json'))!;
    expect(vfs.get(manifest)!.mode.toString(8)).toBe('600');
  }, 90_000);
});
