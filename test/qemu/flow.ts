/**
 * Proof on a real kernel: a Debian guest under QEMU (q35, emulated Intel VT-d, TCG) is put into the
 * declared passthrough state by `pve-passthrough apply` (IOMMU tokens on the kernel command line,
 * vfio modules, ids= binding with a softdep, initramfs, boot-loader refresh, reboot), verified,
 * found converged by a second apply, and rolled back until the e1000e is on its own driver again.
 * Every claim is also checked from inside the guest, not only through the tool's own report.
 * Phase times go to .cache/qemu/run-<variant>/timings.{json,md}.
 *
 * The same flow runs per boot-loader variant (grub.e2e.test.ts, systemd-boot.e2e.test.ts).
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, formatMs, freePort, ROOT, run, script, stepDurations, type RunResult } from './guest.js';
import { E1000E_ADDRESS, guestInventory, NODE } from './inventory.js';

export interface Variant {
  /** Short name: run folder and phase labels. */
  readonly name: string;
  readonly firmware: 'bios' | 'uefi';
  /** Image scripts to run, in order, each with the cache folder as argument. */
  readonly buildScripts: readonly string[];
  /** What `plan` says the node boots with, e.g. "grub" or "systemd-boot". */
  readonly bootLoader: string;
  /** Files that apply must write (the plan's write-file steps). */
  readonly written: readonly string[];
  /** Files (besides those written) that must hash the same after rollback as before apply. */
  readonly watched: readonly string[];
  /** A guest command run once before the baseline, to make the image look like an installed host. */
  readonly normalise?: string;
}

const CACHE = process.env.QEMU_E2E_CACHE ?? join(ROOT, '.cache', 'qemu');
const MIN = 60_000;
const TOKENS = /\bintel_iommu=on\b|\biommu=pt\b/;

interface PlanJson {
  clusters: { nodes: { bootLoader: string | null; refused: unknown[]; steps: { kind: string; path?: string }[] }[] }[];
}

export function passthroughFlow(v: Variant): void {
  const runDir = join(CACHE, `run-${v.name}`);
  const owned = ['/etc/modules-load.d/pve-passthrough.conf', '/etc/modprobe.d/pve-passthrough.conf', '/etc/default/grub.d/pve-passthrough.cfg'];
  const phases: { phase: string; ms: number; detail?: string }[] = [];
  let port = 0;
  let inventoryPath = '';
  let baseline: Record<string, string> = {};

  const record = (phase: string, ms: number, detail?: string): void => {
    phases.push(detail === undefined ? { phase, ms } : { phase, ms, detail });
    process.stderr.write(`[qemu-e2e ${v.name}] ${phase}: ${formatMs(ms)}${detail ? ` (${detail})` : ''}\n`);
  };
  const timed = async (phase: string, p: Promise<RunResult>, detail?: (r: RunResult) => string): Promise<RunResult> => {
    const r = await p;
    record(phase, r.ms, detail?.(r));
    return r;
  };
  const env = { ...process.env, QEMU_E2E_CACHE: CACHE };
  /** Runs a fixed command in the guest (literal strings written in this file, nothing from input). */
  const guest = async (command: string, timeoutMs = 5 * MIN): Promise<string> => {
    const r = await script('guest.sh', ['ssh', runDir, String(port), command], { env, timeoutMs });
    if (r.code !== 0) throw new Error(`guest command failed (${r.code}): ${command}\n${r.stderr}`);
    return r.stdout;
  };
  const cli = (args: readonly string[], timeoutMs: number): Promise<RunResult> =>
    run(process.execPath, [CLI, ...args, '-i', inventoryPath], {
      env: { ...process.env, NO_COLOR: '1', XDG_STATE_HOME: join(runDir, 'state'), XDG_CONFIG_HOME: join(runDir, 'config') },
      timeoutMs,
      echo: true,
    });
  const driverOf = async (): Promise<string> => (await guest(`basename "$(readlink -f /sys/bus/pci/devices/${E1000E_ADDRESS}/driver)"`)).trim();
  const bootId = async (): Promise<string> => (await guest('cat /proc/sys/kernel/random/boot_id')).trim();
  const cmdline = async (): Promise<string> => (await guest('cat /proc/cmdline')).trim();
  const snapshot = async (): Promise<Record<string, string>> => {
    const out: Record<string, string> = {};
    for (const path of [...v.watched, ...owned]) {
      out[path] = (await guest(`if test -e ${path}; then sha256sum ${path} | cut -d' ' -f1; else echo absent; fi`)).trim();
    }
    return out;
  };
  const innerSteps = (r: RunResult): string =>
    stepDurations(r.lines, r.ms)
      .filter((s) => /update-initramfs|update-grub|proxmox-boot-tool|rebooting/.test(s.step))
      .map((s) => `${s.step.replace(/ -u -k all$/, '')} ${formatMs(s.ms)}`)
      .join('; ');
  const writeTimings = (): void => {
    const total = phases.reduce((s, p) => s + p.ms, 0);
    const md = [
      `| phase (${v.name}) | time | detail |`,
      '| --- | --- | --- |',
      ...phases.map((p) => `| ${p.phase} | ${formatMs(p.ms)} | ${p.detail ?? ''} |`),
      `| **total** | **${formatMs(total)}** | |`,
    ].join('\n');
    mkdirSync(runDir, { recursive: true });
    writeFileSync(join(runDir, 'timings.json'), `${JSON.stringify({ variant: v.name, phases, totalMs: total }, null, 2)}\n`);
    writeFileSync(join(runDir, 'timings.md'), `${md}\n`);
    process.stderr.write(`\n[qemu-e2e ${v.name}] phase times:\n${md}\n`);
  };

  describe(`passthrough on a real kernel: ${v.name} (QEMU guest, emulated VT-d)`, () => {
    beforeAll(async () => {
      rmSync(runDir, { recursive: true, force: true });
      mkdirSync(runDir, { recursive: true });
      const deps = await timed('host packages (install-deps.sh)', script('install-deps.sh', [], { timeoutMs: 20 * MIN, echo: true }));
      expect(deps.code, deps.stderr).toBe(0);
      for (const s of v.buildScripts) {
        const build = await timed(`guest image (${s})`, script(s, [CACHE], { timeoutMs: 40 * MIN, echo: true }), (r) =>
          (/reusing/.test(r.stdout) ? 'cached image reused' : 'built'));
        expect(build.code, build.stdout + build.stderr).toBe(0);
      }

      port = await freePort();
      inventoryPath = join(runDir, 'inventory.json');
      const inventory = guestInventory({
        port,
        identityFile: join(CACHE, 'id_ed25519'),
        hostKeyFingerprint: readFileSync(join(CACHE, 'host_key.fp'), 'utf8').trim(),
      });
      writeFileSync(inventoryPath, `${JSON.stringify(inventory, null, 2)}\n`);

      const start = await script('guest.sh', ['start', runDir, String(port), v.firmware], { env, timeoutMs: MIN });
      expect(start.code, start.stderr).toBe(0);
      const up = await script('guest.sh', ['wait-ssh', runDir, String(port), '1800'], { env, timeoutMs: 31 * MIN });
      record('boot to SSH', start.ms + up.ms);
      expect(up.code, up.stderr).toBe(0);

      if (v.normalise) {
        const t = Date.now();
        await guest(`${v.normalise} 2>&1`, 15 * MIN);
        record(`normalise (${v.normalise})`, Date.now() - t);
      }
    }, 90 * MIN);

    afterAll(async () => {
      writeTimings();
      if (port) await script('guest.sh', ['stop', runDir], { env, timeoutMs: MIN });
    });

    it('starts from a guest where the e1000e is on its own driver and the tool sees work to do', async () => {
      expect(await driverOf()).toBe('e1000e');
      expect(await cmdline()).not.toMatch(TOKENS);
      baseline = await snapshot();
      for (const path of owned) expect(baseline[path], path).toBe('absent');

      const plan = await timed('plan (before)', cli(['plan', '--json', '--detailed-exitcode'], 5 * MIN));
      expect(plan.code, plan.stderr).toBe(2);
      const node = (JSON.parse(plan.stdout) as PlanJson).clusters[0]?.nodes[0];
      expect(node?.bootLoader).toBe(v.bootLoader);
      expect(node?.refused).toEqual([]);
      expect(node?.steps.filter((s) => s.kind === 'write-file').map((s) => s.path).sort()).toEqual([...v.written].sort());
      expect(node?.steps.map((s) => s.kind)).toContain('reboot');

      const verify = await timed('verify (before)', cli(['verify', '--json'], 5 * MIN));
      expect(verify.code, verify.stderr).toBe(2);
    }, 15 * MIN);

    it('apply sets the IOMMU tokens, vfio modules, ids= binding with softdep, rebuilds the initramfs and reboots', async () => {
      const before = await bootId();
      const apply = await timed('apply (write, initramfs, boot-loader refresh, reboot, verify)', cli(['apply', '--yes'], 60 * MIN), innerSteps);
      expect(apply.code, apply.stdout + apply.stderr).toBe(0);
      expect(await bootId()).not.toBe(before);
    }, 61 * MIN);

    it('verify exits 0, and the guest itself shows vfio-pci on the e1000e and the new tokens in /proc/cmdline', async () => {
      const verify = await timed('verify (after apply)', cli(['verify'], 5 * MIN));
      expect(verify.code, verify.stdout + verify.stderr).toBe(0);
      expect(await driverOf()).toBe('vfio-pci');
      const line = await cmdline();
      expect(line).toMatch(/\bintel_iommu=on\b/);
      expect(line).toMatch(/\biommu=pt\b/);
      expect(await guest('cat /etc/modprobe.d/pve-passthrough.conf')).toMatch(/^softdep e1000e pre: vfio-pci$/m);
      expect(await guest('dmesg')).toMatch(/Default domain type: Passthrough/);
    }, 10 * MIN);

    it('a second apply plans nothing and does not reboot', async () => {
      const before = await bootId();
      const plan = await timed('plan (converged)', cli(['plan', '--json', '--detailed-exitcode'], 5 * MIN));
      expect(plan.code, plan.stderr).toBe(0);
      const nodes = (JSON.parse(plan.stdout) as PlanJson).clusters.flatMap((c) => c.nodes);
      expect(nodes.map((n) => [n.steps.length, n.refused.length])).toEqual([[0, 0]]);
      const again = await timed('apply again (no-op)', cli(['apply', '--yes'], 10 * MIN));
      expect(again.code, again.stderr).toBe(0);
      expect(again.stderr).toMatch(/Nothing to do/);
      expect(await bootId()).toBe(before);
    }, 20 * MIN);

    it('rollback restores the files and, after its reboot, the e1000e is back on its own driver', async () => {
      const before = await bootId();
      const rb = await timed('rollback (restore, initramfs, boot-loader refresh, reboot)', cli(['rollback', '--node', NODE, '--yes'], 60 * MIN), innerSteps);
      expect(rb.code, rb.stdout + rb.stderr).toBe(0);
      expect(await bootId()).not.toBe(before);
      expect(await snapshot()).toEqual(baseline);
      expect(await driverOf()).toBe('e1000e');
      expect(await cmdline()).not.toMatch(TOKENS);
      const verify = await timed('verify (after rollback: drift expected)', cli(['verify'], 5 * MIN));
      expect(verify.code, verify.stdout).toBe(2);
    }, 61 * MIN);
  });
}
