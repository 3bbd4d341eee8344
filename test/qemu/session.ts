/**
 * One QEMU guest for one test file: the run folder, phase timings, the guest's shell (fixed
 * commands written in the test files, nothing from input), the compiled CLI against the guest's
 * inventory, and the set-up every variant shares (host packages, cached image, boot to SSH).
 * Phase times go to .cache/qemu/run-<name>/timings.{json,md} and to stderr as they happen.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { CLI, formatMs, freePort, ROOT, run, script, stepDurations, type RunResult } from './guest.js';
import { guestInventory, type GuestAccess } from './inventory.js';

export const CACHE = process.env.QEMU_E2E_CACHE ?? join(ROOT, '.cache', 'qemu');
export const MIN = 60_000;

export interface BootOptions {
  readonly firmware: 'bios' | 'uefi';
  /** Image scripts to run (each with the cache folder as argument), in order. */
  readonly buildScripts: readonly string[];
  /** Extra devices for guest.sh start (`twin`, `spare`). */
  readonly extras?: readonly string[];
  readonly devices?: GuestAccess['devices'];
}

export interface Session {
  readonly runDir: string;
  record(phase: string, ms: number, detail?: string): void;
  /** Runs a fixed command in the guest; throws with its stderr when it fails. */
  guest(command: string, timeoutMs?: number): Promise<string>;
  /** The CLI against the guest (`-i inventory.json` appended), timed as `phase`, inner steps in the detail. */
  cli(phase: string, args: readonly string[], timeoutMs: number): Promise<RunResult>;
  /** Rewrites the inventory (e.g. a changed declaration); same port, key and host key. */
  declare(devices: GuestAccess['devices']): void;
  driverOf(bdf: string): Promise<string>;
  bootId(): Promise<string>;
  /** Reboots the guest by hand (not through the tool) and waits for SSH. */
  reboot(phase: string): Promise<void>;
  /** beforeAll: host packages, image, boot to SSH. */
  boot(o: BootOptions): Promise<void>;
  /** afterAll: timings written, guest stopped. */
  finish(): Promise<void>;
}

const INNER = /update-initramfs|update-grub|proxmox-boot-tool|rebooting/;

export function guestSession(name: string): Session {
  const runDir = join(CACHE, `run-${name}`);
  const env = { ...process.env, QEMU_E2E_CACHE: CACHE };
  const phases: { phase: string; ms: number; detail?: string }[] = [];
  const inventoryPath = join(runDir, 'inventory.json');
  let port = 0;

  const record = (phase: string, ms: number, detail?: string): void => {
    phases.push(detail === undefined ? { phase, ms } : { phase, ms, detail });
    process.stderr.write(`[qemu-e2e ${name}] ${phase}: ${formatMs(ms)}${detail ? ` (${detail})` : ''}\n`);
  };
  const guest = async (command: string, timeoutMs = 5 * MIN): Promise<string> => {
    const r = await script('guest.sh', ['ssh', runDir, String(port), command], { env, timeoutMs });
    if (r.code !== 0) throw new Error(`guest command failed (${r.code}): ${command}\n${r.stderr}`);
    return r.stdout;
  };
  const declare = (devices: GuestAccess['devices']): void => {
    const inventory = guestInventory({
      port,
      identityFile: join(CACHE, 'id_ed25519'),
      hostKeyFingerprint: readFileSync(join(CACHE, 'host_key.fp'), 'utf8').trim(),
      ...(devices ? { devices } : {}),
    });
    writeFileSync(inventoryPath, `${JSON.stringify(inventory, null, 2)}\n`);
  };
  const waitSsh = async (phase: string, since: number): Promise<void> => {
    const up = await script('guest.sh', ['wait-ssh', runDir, String(port), '1800'], { env, timeoutMs: 31 * MIN });
    record(phase, Date.now() - since);
    expect(up.code, up.stderr).toBe(0);
  };

  return {
    runDir,
    record,
    guest,
    declare,
    async cli(phase, args, timeoutMs) {
      const r = await run(process.execPath, [CLI, ...args, '-i', inventoryPath], {
        env: { ...process.env, NO_COLOR: '1', XDG_STATE_HOME: join(runDir, 'state'), XDG_CONFIG_HOME: join(runDir, 'config') },
        timeoutMs,
        echo: true,
      });
      const inner = stepDurations(r.lines, r.ms).filter((s) => INNER.test(s.step)).map((s) => `${s.step.replace(/ -u -k all$/, '')} ${formatMs(s.ms)}`).join('; ');
      record(phase, r.ms, inner || undefined);
      return r;
    },
    driverOf: async (bdf) => (await guest(`basename "$(readlink -f /sys/bus/pci/devices/${bdf}/driver)"`)).trim(),
    bootId: async () => (await guest('cat /proc/sys/kernel/random/boot_id')).trim(),
    async reboot(phase) {
      const t = Date.now();
      const before = (await guest('cat /proc/sys/kernel/random/boot_id')).trim();
      // The SSH session may be cut by the reboot itself: its exit status says nothing.
      await script('guest.sh', ['ssh', runDir, String(port), 'systemctl reboot'], { env, timeoutMs: MIN });
      // SSH may answer a while longer from the old boot: done when the boot id changed.
      for (;;) {
        const up = await script('guest.sh', ['wait-ssh', runDir, String(port), '1800'], { env, timeoutMs: 31 * MIN });
        expect(up.code, up.stderr).toBe(0);
        const id = await script('guest.sh', ['ssh', runDir, String(port), 'cat /proc/sys/kernel/random/boot_id'], { env, timeoutMs: MIN });
        if (id.code === 0 && id.stdout.trim() !== before) break;
        await new Promise((r) => setTimeout(r, 5_000));
      }
      record(phase, Date.now() - t);
    },
    async boot(o) {
      rmSync(runDir, { recursive: true, force: true });
      mkdirSync(runDir, { recursive: true });
      const deps = await script('install-deps.sh', [], { timeoutMs: 20 * MIN, echo: true });
      record('host packages (install-deps.sh)', deps.ms);
      expect(deps.code, deps.stderr).toBe(0);
      for (const s of o.buildScripts) {
        const build = await script(s, [CACHE], { timeoutMs: 40 * MIN, echo: true });
        record(`guest image (${s})`, build.ms, /reusing/.test(build.stdout) ? 'cached image reused' : 'built');
        expect(build.code, build.stdout + build.stderr).toBe(0);
      }
      port = await freePort();
      declare(o.devices);
      const t = Date.now();
      const start = await script('guest.sh', ['start', runDir, String(port), o.firmware, (o.extras ?? []).join(',')], { env, timeoutMs: MIN });
      expect(start.code, start.stderr).toBe(0);
      await waitSsh('boot to SSH', t);
    },
    async finish() {
      const total = phases.reduce((s, p) => s + p.ms, 0);
      const md = [`| phase (${name}) | time | detail |`, '| --- | --- | --- |', ...phases.map((p) => `| ${p.phase} | ${formatMs(p.ms)} | ${p.detail ?? ''} |`), `| **total** | **${formatMs(total)}** | |`].join('\n');
      mkdirSync(runDir, { recursive: true });
      writeFileSync(join(runDir, 'timings.json'), `${JSON.stringify({ variant: name, phases, totalMs: total }, null, 2)}\n`);
      writeFileSync(join(runDir, 'timings.md'), `${md}\n`);
      process.stderr.write(`\n[qemu-e2e ${name}] phase times:\n${md}\n`);
      if (port) await script('guest.sh', ['stop', runDir], { env, timeoutMs: MIN });
    },
  };
}
