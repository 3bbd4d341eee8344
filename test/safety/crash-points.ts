/**
 * Crash-point enumeration (shared by crash-points-kill.test.ts and
 * crash-points-drop.test.ts, two files so that vitest runs them side by side): a full apply of a 3-node cluster (files, refreshes,
 * rolling reboots, a VM) run by the real CLI, stopped at every step boundary
 * in turn (the engine's PVE_PASSTHROUGH_STOP_AT_STEPS hook: it announces the
 * boundary and SIGSTOPs itself). At boundary N the test either SIGKILLs the
 * process, or cuts every SSH connection and lets it go on. After each:
 *  - no host's boot state (GRUB args, initramfs, ESP) is anything but its
 *    state before the run or after a complete one, and every host is up;
 *  - no line of any file under /etc was lost (old or planned version only);
 *  - the lease is released, or names the dead run and expires (the next run
 *    takes it over and says so);
 *  - the next apply converges, plan is empty, verify is compliant, and nothing
 *    left the shell dialect; k1 is out of HA maintenance and its HA VM is back.
 */
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { expect } from 'vitest';
import { apply, plan, type EngineEvent } from '../../src/index.js';
import { leaseState, parseLease, type LeaseRecord } from '../../src/engine/lease.js';
import type { Fleet } from '../../mocks/fleet/index.js';
import { runCli } from './cli.js';
import { expectConverges, expectIntact, intended, LEASE_RECORD, snapshot, startSim, VFIO_NODE, type Sim } from './harness.js';

const SCENARIO = {
  clusters: [{
    name: 'trio',
    policy: { maxUnavailable: 1, rebootTimeoutSeconds: 20 },
    // k1 has the work (files, refreshes, a reboot) and a VM to change; k2 and k3 keep the cluster quorate and carry the lease.
    nodes: [VFIO_NODE('k1'), { name: 'k2', profile: 'pve9-intel-grub-lvm', overrides: { hostname: 'k2' } }, { name: 'k3', profile: 'pve9-intel-grub-lvm', overrides: { hostname: 'k3' } }],
    vms: [
      { vmid: 301, node: 'k1', status: 'stopped', config: { name: 'gpu-vm', memory: '4096', machine: 'q35' }, declare: { hostpci: [{ host: '0000:01:00', pcie: true }] } },
      // An HA resource on k1: its reboot goes through HA maintenance, which survives a reboot and a killed run.
      { vmid: 302, node: 'k1', status: 'running', config: { name: 'ha-web', memory: '2048' } },
    ],
    ha: [{ sid: 'vm:302' }],
  }],
};

export type Mode = 'kill' | 'drop';

/** What boots next on each host: the installed layer, not the config files. */
function bootState(fleet: Fleet): Map<string, string> {
  const out = new Map<string, string>();
  for (const c of fleet.clusters) for (const [name, h] of c.hosts) out.set(name, JSON.stringify(h.state.installed));
  return out;
}

async function allUp(fleet: Fleet): Promise<void> {
  const hosts = fleet.clusters.flatMap((c) => [...c.hosts.values()]);
  for (let i = 0; i < 500 && hosts.some((h) => h.down); i++) await new Promise((r) => setTimeout(r, 10));
  expect(hosts.filter((h) => h.down).map((h) => h.name)).toEqual([]);
}

/**
 * Linux: wait until the process is really stopped (state T in /proc/PID/stat).
 * The CLI prints the marker, then stops itself; a SIGCONT sent in between
 * would be lost and the process would stay stopped for good.
 */
async function stopped(pid: number): Promise<void> {
  // Polled every 10 ms, for 10 s at most (a hang detector, not a timing assertion).
  for (let i = 0; i < 1000; i++) {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    if (/^\d+ \(.*\) T /.test(stat)) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`process ${pid} did not stop at its step boundary`);
}

/** Run the CLI apply, acting at boundary `at` (0 = never). Returns how many boundaries it passed. */
async function crashRun(sim: Sim, at: number) {
  let seen = 0;
  let buf = '';
  let chain = Promise.resolve();
  const r = await runCli(['apply', '--yes', '-i', sim.fleet.inventoryPath, '--poll-ms', '10'], {
    home: sim.dir,
    env: { PVE_PASSTHROUGH_STOP_AT_STEPS: '1' },
    timeoutMs: 60_000,
    onStderr: (text, child) => {
      buf += text;
      const pid = (child as ChildProcess).pid!;
      let m: RegExpExecArray | null;
      const re = /@@step-boundary (\d+) [^\n]*\n/g;
      while ((m = re.exec(buf)) !== null) {
        const n = Number(m[1]);
        chain = chain.then(async () => {
          await stopped(pid);
          seen = n;
          if (n === at) child.kill('SIGKILL');
          else child.kill('SIGCONT');
        }).catch(() => undefined);
      }
      buf = buf.slice(buf.lastIndexOf('\n') + 1);
    },
  });
  await chain;
  return { ...r, seen };
}

/** The same boundaries in process (library apply): cut every SSH connection at boundary `at`. */
async function dropRun(sim: Sim, at: number) {
  let seen = 0;
  let applying = false;
  await apply(sim.inventory, sim.opts({
    pollMs: 10,
    onEvent: (e) => {
      if (e.type === 'phase') applying ||= e.phase === 'apply';
      if (!applying || (e.type !== 'node' && e.type !== 'vm')) return;
      if (++seen === at) for (const c of sim.fleet.clusters) for (const h of c.hosts.values()) h.dropConnections();
    },
  }));
  return { signal: null, stderr: '', seen };
}

export async function crashPoint(mode: Mode, at: number, afterBoot: Map<string, string> | null): Promise<{ seen: number; afterBoot: Map<string, string> }> {
  const sim = await startSim(SCENARIO, { rebootDelayMs: 30 });
  try {
    const planned = intended(await plan(sim.inventory, sim.opts()));
    const before = snapshot(sim.fleet);
    const beforeBoot = bootState(sim.fleet);
    const r = mode === 'kill' ? await crashRun(sim, at) : await dropRun(sim, at);
    const where = `${mode} at boundary ${at}`;
    if (mode === 'kill' && at > 0) expect(r.signal, `${where}: ${r.stderr.slice(-400)}`).toBe('SIGKILL');
    else expect(r.signal, `${where}: ${r.stderr.slice(-400)}`).toBeNull();
    await allUp(sim.fleet);

    expectIntact(before, snapshot(sim.fleet), planned);
    const crashedBoot = bootState(sim.fleet);
    if (afterBoot) {
      for (const [node, b] of crashedBoot) expect([beforeBoot.get(node), afterBoot.get(node)], `${where}: ${node} boots a mix of old and new`).toContain(b);
    }

    // The lease: released, or left by the killed run and expiring by itself.
    const lease = sim.fleet.host('k1').state.vfs.readOr(LEASE_RECORD);
    const events: EngineEvent[] = [];
    if (lease !== null) {
      expect(mode, `${where}: a run that ended left its lease: ${lease}`).toBe('kill');
      const rec = parseLease(lease);
      expect(rec, `${where}: ${lease}`).toMatchObject({ ttl: expect.any(Number) });
      sim.fleet.advanceClock(((rec as LeaseRecord).ttl + 1) * 1000);
      expect(leaseState(rec, 'the-next-run', sim.fleet.host('k2').state.nowSeconds())).toBe('expired');
    }
    await expectConverges(sim, { onEvent: (e) => events.push(e) });
    const tookOver = events.some((e) => e.type === 'warning' && /took over an expired lease/.test(e.message));
    // The next run takes the dead run's lease over when it has anything to write; otherwise the record just stays expired.
    const after = sim.fleet.host('k3').state.vfs.readOr(LEASE_RECORD);
    if (after !== null) expect(leaseState(parseLease(after), 'the-next-run', sim.fleet.host('k2').state.nowSeconds()), where).toBe('expired');
    else if (lease !== null) expect(tookOver || events.every((e) => e.type !== 'node' || e.status !== 'step'), where).toBe(true);
    for (const c of sim.fleet.clusters) for (const h of c.hosts.values()) expect(h.state.phase, `${where}: ${h.name}`).toBe('up');
    const api = sim.fleet.cluster('trio').api!.state;
    await api.tasks.idle();
    expect([...api.maintenance], `${where}: left in HA maintenance`).toEqual([]);
    expect(api.vms.get(302), where).toMatchObject({ node: 'k1', status: 'running' });
    return { seen: r.seen, afterBoot: bootState(sim.fleet) };
  } finally {
    await sim.close();
  }
}


/** Every boundary of a clean run in turn, in one mode; prints how many crash points it tried. */
export async function enumerate(mode: Mode): Promise<number> {
  const clean = await crashPoint('drop', 0, null);
  expect(clean.seen).toBeGreaterThan(8);
  for (let at = 1; at <= clean.seen; at++) await crashPoint(mode, at, clean.afterBoot);
  console.log(`crash points tried (${mode === 'kill' ? 'SIGKILL of the CLI' : 'every SSH connection dropped'}): ${clean.seen}`);
  return clean.seen;
}
