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
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { E1000E_ADDRESS, NODE } from './inventory.js';
import { guestSession, MIN } from './session.js';

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

const TOKENS = /\bintel_iommu=on\b|\biommu=pt\b/;

interface PlanJson {
  clusters: { nodes: { bootLoader: string | null; refused: unknown[]; steps: { kind: string; path?: string }[] }[] }[];
}

export function passthroughFlow(v: Variant): void {
  const owned = ['/etc/modules-load.d/pve-passthrough.conf', '/etc/modprobe.d/pve-passthrough.conf', '/etc/default/grub.d/pve-passthrough.cfg'];
  const g = guestSession(v.name);
  const { guest } = g;
  let baseline: Record<string, string> = {};
  const driverOf = (): Promise<string> => g.driverOf(E1000E_ADDRESS);
  const bootId = (): Promise<string> => g.bootId();
  const cmdline = async (): Promise<string> => (await guest('cat /proc/cmdline')).trim();
  const snapshot = async (): Promise<Record<string, string>> => {
    const out: Record<string, string> = {};
    for (const path of [...v.watched, ...owned]) {
      out[path] = (await guest(`if test -e ${path}; then sha256sum ${path} | cut -d' ' -f1; else echo absent; fi`)).trim();
    }
    return out;
  };

  describe(`passthrough on a real kernel: ${v.name} (QEMU guest, emulated VT-d)`, () => {
    beforeAll(async () => {
      await g.boot({ firmware: v.firmware, buildScripts: v.buildScripts });
      if (v.normalise) {
        const t = Date.now();
        await guest(`${v.normalise} 2>&1`, 15 * MIN);
        g.record(`normalise (${v.normalise})`, Date.now() - t);
      }
    }, 90 * MIN);

    afterAll(() => g.finish());

    it('starts from a guest where the e1000e is on its own driver and the tool sees work to do', async () => {
      expect(await driverOf()).toBe('e1000e');
      expect(await cmdline()).not.toMatch(TOKENS);
      baseline = await snapshot();
      for (const path of owned) expect(baseline[path], path).toBe('absent');

      const plan = await g.cli('plan (before)', ['plan', '--json', '--detailed-exitcode'], 5 * MIN);
      expect(plan.code, plan.stderr).toBe(2);
      const node = (JSON.parse(plan.stdout) as PlanJson).clusters[0]?.nodes[0];
      expect(node?.bootLoader).toBe(v.bootLoader);
      expect(node?.refused).toEqual([]);
      expect(node?.steps.filter((s) => s.kind === 'write-file').map((s) => s.path).sort()).toEqual([...v.written].sort());
      expect(node?.steps.map((s) => s.kind)).toContain('reboot');

      const verify = await g.cli('verify (before)', ['verify', '--json'], 5 * MIN);
      expect(verify.code, verify.stderr).toBe(2);
    }, 15 * MIN);

    it('apply sets the IOMMU tokens, vfio modules, ids= binding with softdep, rebuilds the initramfs and reboots', async () => {
      const before = await bootId();
      const apply = await g.cli('apply (write, initramfs, boot-loader refresh, reboot, verify)', ['apply', '--yes'], 60 * MIN);
      expect(apply.code, apply.stdout + apply.stderr).toBe(0);
      expect(await bootId()).not.toBe(before);
    }, 61 * MIN);

    it('verify exits 0, and the guest itself shows vfio-pci on the e1000e and the new tokens in /proc/cmdline', async () => {
      const verify = await g.cli('verify (after apply)', ['verify'], 5 * MIN);
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
      const plan = await g.cli('plan (converged)', ['plan', '--json', '--detailed-exitcode'], 5 * MIN);
      expect(plan.code, plan.stderr).toBe(0);
      const nodes = (JSON.parse(plan.stdout) as PlanJson).clusters.flatMap((c) => c.nodes);
      expect(nodes.map((n) => [n.steps.length, n.refused.length])).toEqual([[0, 0]]);
      const again = await g.cli('apply again (no-op)', ['apply', '--yes'], 10 * MIN);
      expect(again.code, again.stderr).toBe(0);
      expect(again.stderr).toMatch(/Nothing to do/);
      expect(await bootId()).toBe(before);
    }, 20 * MIN);

    it('rollback restores the files and, after its reboot, the e1000e is back on its own driver', async () => {
      const before = await bootId();
      const rb = await g.cli('rollback (restore, initramfs, boot-loader refresh, reboot)', ['rollback', '--node', NODE, '--yes'], 60 * MIN);
      expect(rb.code, rb.stdout + rb.stderr).toBe(0);
      expect(await bootId()).not.toBe(before);
      expect(await snapshot()).toEqual(baseline);
      expect(await driverOf()).toBe('e1000e');
      expect(await cmdline()).not.toMatch(TOKENS);
      const verify = await g.cli('verify (after rollback: drift expected)', ['verify'], 5 * MIN);
      expect(verify.code, verify.stdout).toBe(2);
    }, 61 * MIN);
  });
}
