/**
 * Wrong TLS certificate, changed SSH host key, unknown host key: refused,
 * with the offered fingerprint shown, and nothing written.
 */
import { symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { plan, type Inventory } from '../../src/index.js';
import { startSim, type Sim } from './harness.js';

describe('trust: TLS and SSH host keys', () => {
  let sim: Sim;
  beforeAll(async () => {
    sim = await startSim({
      clusters: [{
        name: 't',
        standalone: true,
        nodes: [{ name: 'n1', profile: 'pve9-intel-grub-lvm', overrides: { hostname: 'n1' }, declare: { devices: [{ address: '0000:01:00.0' }] } }],
        vms: [{ vmid: 400, node: 'n1', config: { name: 'v', memory: '1024' }, declare: { hostpci: [{ host: '0000:01:00', pcie: true }] } }],
      }],
    });
  });
  afterAll(() => sim?.close());

  const edit = (f: (c: Inventory['clusters'][number]) => Inventory['clusters'][number]): Inventory => ({ ...sim.inventory, clusters: sim.inventory.clusters.map(f) });
  const commandsRun = () => sim.fleet.host('n1').commandLog.length;

  it('a TLS certificate that does not match the pinned fingerprint is refused, showing what was offered', async () => {
    const offered = sim.fleet.cluster('t').server!.fingerprint;
    const wrong = offered.split(':').map((b, i) => (i === 0 ? (b === 'AA' ? 'BB' : 'AA') : b)).join(':');
    const p = await plan(edit((c) => ({ ...c, api: { ...c.api!, tls: { fingerprint: wrong } } })), sim.opts());
    const vm = p.clusters[0]!.vms[0]!;
    expect(vm.error, JSON.stringify(vm)).toBeDefined();
    expect(vm.error!.message.toUpperCase()).toContain(offered.toUpperCase());
    expect(vm.error!.message).toMatch(/fingerprint/i);
    expect(sim.requests.filter((r) => r.method !== 'GET')).toEqual([]);
  });

  it('a changed SSH host key is refused, showing the new fingerprint', async () => {
    const host = sim.fleet.host('n1');
    const pinned = host.hostKeyFingerprint;
    host.rotateHostKey();
    try {
      const before = commandsRun();
      const p = await plan(sim.inventory, sim.opts());
      const n = p.clusters[0]!.nodes[0]!;
      expect(n.error?.code).toBe('E_HOST_KEY');
      expect(n.error!.message).toContain(host.hostKeyFingerprint);
      expect(n.error!.message).not.toContain('undefined');
      expect(host.hostKeyFingerprint).not.toBe(pinned);
      expect(n.steps).toEqual([]);
      expect(commandsRun()).toBe(before);
    } finally {
      // The operator checked the new key out of band and pins it again.
      sim.inventory.clusters[0]!.nodes[0]!.ssh.hostKey = { fingerprint: host.hostKeyFingerprint };
    }
  });

  it('an unknown host key (not in known_hosts) is refused, showing its fingerprint', async () => {
    const knownHosts = join(sim.dir, 'empty_known_hosts');
    writeFileSync(knownHosts, '', { mode: 0o600 });
    const before = commandsRun();
    const p = await plan(edit((c) => ({ ...c, nodes: c.nodes.map((n) => ({ ...n, ssh: { ...n.ssh, hostKey: { knownHosts } } })) })), sim.opts());
    const n = p.clusters[0]!.nodes[0]!;
    expect(n.error?.code).toBe('E_HOST_KEY');
    expect(n.error!.message).toContain(sim.fleet.host('n1').hostKeyFingerprint);
    expect(n.error!.message).toMatch(/not known|unknown/);
    expect(commandsRun()).toBe(before);
  });

  it('knownHosts at /dev/null in any spelling never accepts a changed host key, even with --accept-new-host-keys', async () => {
    const host = sim.fleet.host('n1');
    host.rotateHostKey();
    const link = join(sim.dir, 'kh-link');
    symlinkSync('/dev/null', link);
    try {
      for (const knownHosts of ['/dev/null', '/dev//null', '/dev/./null', link]) {
        const before = commandsRun();
        const p = await plan(edit((c) => ({ ...c, nodes: c.nodes.map((n) => ({ ...n, ssh: { ...n.ssh, hostKey: { knownHosts } } })) })), sim.opts({ acceptNewHostKeys: true }));
        const n = p.clusters[0]!.nodes[0]!;
        expect(n.error?.code, knownHosts).toBe('E_KNOWN_HOSTS');
        expect(n.error!.message).toMatch(/holds no host keys and records none/);
        expect(commandsRun()).toBe(before);
      }
    } finally {
      sim.inventory.clusters[0]!.nodes[0]!.ssh.hostKey = { fingerprint: host.hostKeyFingerprint };
    }
  });
});
