/**
 * Binding by address on a real kernel: a guest with two identical e1000e NICs (00:03.0 and its
 * twin 00:05.0, same 8086:10d3). Only 00:03.0 is declared (bind "auto": the twin makes it bind by
 * address). After the tool's apply and reboot, the declared NIC is on vfio-pci and the twin still
 * on e1000e, in the guest's own sysfs, and verify exits 0. The `initramfs` variant first puts
 * e1000e into the initramfs (listed in /etc/initramfs-tools/modules, so udev loads it there,
 * before the root fs and its modules-load.d), the case where the host driver wins any race that
 * the root fs's configuration could decide. Phase times go to .cache/qemu/run-<name>/timings.*.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, formatMs, freePort, ROOT, run, script, stepDurations, type RunResult } from './guest.js';
import { E1000E_ADDRESS, guestInventory, TWIN_ADDRESS } from './inventory.js';

export interface TwinVariant {
  readonly name: string;
  /** Put the host driver into the initramfs before the tool runs. */
  readonly driverInInitramfs: boolean;
}

const CACHE = process.env.QEMU_E2E_CACHE ?? join(ROOT, '.cache', 'qemu');
const MIN = 60_000;

interface PlanJson {
  clusters: { nodes: { refused: unknown[]; steps: { kind: string; path?: string; content?: string }[] }[] }[];
}

export function twinFlow(v: TwinVariant): void {
  const runDir = join(CACHE, `run-${v.name}`);
  const phases: { phase: string; ms: number; detail?: string }[] = [];
  let port = 0;
  let inventoryPath = '';
  const env = { ...process.env, QEMU_E2E_CACHE: CACHE };
  const record = (phase: string, ms: number, detail?: string): void => {
    phases.push(detail === undefined ? { phase, ms } : { phase, ms, detail });
    process.stderr.write(`[qemu-e2e ${v.name}] ${phase}: ${formatMs(ms)}${detail ? ` (${detail})` : ''}\n`);
  };
  const guest = async (command: string, timeoutMs = 5 * MIN): Promise<string> => {
    const r = await script('guest.sh', ['ssh', runDir, String(port), command], { env, timeoutMs });
    if (r.code !== 0) throw new Error(`guest command failed (${r.code}): ${command}\n${r.stderr}`);
    return r.stdout;
  };
  const cli = async (phase: string, args: readonly string[], timeoutMs: number): Promise<RunResult> => {
    const r = await run(process.execPath, [CLI, ...args, '-i', inventoryPath], {
      env: { ...process.env, NO_COLOR: '1', XDG_STATE_HOME: join(runDir, 'state'), XDG_CONFIG_HOME: join(runDir, 'config') },
      timeoutMs,
      echo: true,
    });
    const inner = stepDurations(r.lines, r.ms).filter((s) => /update-initramfs|update-grub|rebooting/.test(s.step)).map((s) => `${s.step.replace(/ -u -k all$/, '')} ${formatMs(s.ms)}`).join('; ');
    record(phase, r.ms, inner || undefined);
    return r;
  };
  const driverOf = async (bdf: string): Promise<string> => (await guest(`basename "$(readlink -f /sys/bus/pci/devices/${bdf}/driver)"`)).trim();

  describe(`binding by address on a real kernel: ${v.name} (two identical e1000e, one declared)`, () => {
    beforeAll(async () => {
      rmSync(runDir, { recursive: true, force: true });
      mkdirSync(runDir, { recursive: true });
      const deps = await script('install-deps.sh', [], { timeoutMs: 20 * MIN, echo: true });
      expect(deps.code, deps.stderr).toBe(0);
      const build = await script('build-image.sh', [CACHE], { timeoutMs: 40 * MIN, echo: true });
      record('guest image (build-image.sh)', build.ms, /reusing/.test(build.stdout) ? 'cached image reused' : 'built');
      expect(build.code, build.stdout + build.stderr).toBe(0);
      port = await freePort();
      inventoryPath = join(runDir, 'inventory.json');
      const inventory = guestInventory({
        port,
        identityFile: join(CACHE, 'id_ed25519'),
        hostKeyFingerprint: readFileSync(join(CACHE, 'host_key.fp'), 'utf8').trim(),
        devices: [{ address: E1000E_ADDRESS }],
      });
      writeFileSync(inventoryPath, `${JSON.stringify(inventory, null, 2)}\n`);
      const start = await script('guest.sh', ['start', runDir, String(port), 'bios', 'twin'], { env, timeoutMs: MIN });
      expect(start.code, start.stderr).toBe(0);
      const up = await script('guest.sh', ['wait-ssh', runDir, String(port), '1800'], { env, timeoutMs: 31 * MIN });
      record('boot to SSH', start.ms + up.ms);
      expect(up.code, up.stderr).toBe(0);
      const t = Date.now();
      await guest('update-grub 2>&1', 15 * MIN);
      if (v.driverInInitramfs) {
        await guest('echo e1000e >> /etc/initramfs-tools/modules && update-initramfs -u -k all 2>&1', 30 * MIN);
      }
      record(v.driverInInitramfs ? 'normalise (update-grub; e1000e into the initramfs)' : 'normalise (update-grub)', Date.now() - t);
    }, 90 * MIN);

    afterAll(async () => {
      const total = phases.reduce((s, p) => s + p.ms, 0);
      const md = [`| phase (${v.name}) | time | detail |`, '| --- | --- | --- |', ...phases.map((p) => `| ${p.phase} | ${formatMs(p.ms)} | ${p.detail ?? ''} |`), `| **total** | **${formatMs(total)}** | |`].join('\n');
      writeFileSync(join(runDir, 'timings.json'), `${JSON.stringify({ variant: v.name, phases, totalMs: total }, null, 2)}\n`);
      writeFileSync(join(runDir, 'timings.md'), `${md}\n`);
      process.stderr.write(`\n[qemu-e2e ${v.name}] phase times:\n${md}\n`);
      if (port) await script('guest.sh', ['stop', runDir], { env, timeoutMs: MIN });
    });

    it('starts with both NICs on e1000e; the plan binds the declared one by address (no ids=)', async () => {
      expect([await driverOf(E1000E_ADDRESS), await driverOf(TWIN_ADDRESS)]).toEqual(['e1000e', 'e1000e']);
      if (v.driverInInitramfs) expect(await guest('lsinitramfs /boot/initrd.img-$(uname -r) | grep -c "/e1000e.ko"')).not.toMatch(/^0/);
      const plan = await cli('plan (before)', ['plan', '--json', '--detailed-exitcode'], 5 * MIN);
      expect(plan.code, plan.stderr).toBe(2);
      const node = (JSON.parse(plan.stdout) as PlanJson).clusters[0]?.nodes[0];
      expect(node?.refused).toEqual([]);
    }, 15 * MIN);

    it('apply writes the hook on vfio-pci, rebuilds the initramfs, reboots and verifies', async () => {
      const apply = await cli('apply (write, initramfs, boot-loader refresh, reboot, verify)', ['apply', '--yes'], 60 * MIN);
      expect(apply.code, apply.stdout + apply.stderr).toBe(0);
      const conf = await guest('cat /etc/modprobe.d/pve-passthrough.conf');
      expect(conf).toMatch(/^softdep e1000e pre: vfio-pci$/m);
      expect(conf).toMatch(new RegExp(`^install vfio-pci echo vfio-pci > /sys/bus/pci/devices/${E1000E_ADDRESS}/driver_override; modprobe -i vfio-pci \\$CMDLINE_OPTS$`, 'm'));
      expect(conf).not.toMatch(/ids=/);
    }, 61 * MIN);

    it('after the reboot the declared NIC is on vfio-pci and its twin still on e1000e; verify exits 0', async () => {
      expect(await driverOf(E1000E_ADDRESS)).toBe('vfio-pci');
      expect(await driverOf(TWIN_ADDRESS)).toBe('e1000e');
      expect((await guest(`cat /sys/bus/pci/devices/${E1000E_ADDRESS}/driver_override`)).trim()).toBe('vfio-pci');
      expect((await guest(`cat /sys/bus/pci/devices/${TWIN_ADDRESS}/driver_override`)).trim()).toBe('(null)');
      const verify = await cli('verify (after apply)', ['verify'], 5 * MIN);
      expect(verify.code, verify.stdout + verify.stderr).toBe(0);
    }, 10 * MIN);
  });
}
