import { describe, expect, it } from 'vitest';
import { parseScenario } from '../../mocks/index.js';
import { countSections, factsScript, factsSectionCount } from '../../bench/baseline.js';
import { fingerprintOfLine } from '../../bench/known-hosts.js';
import { parseOptions } from '../../bench/options.js';
import { routeOf } from '../../bench/protocol.js';
import { rolloutBreakdown } from '../../bench/runlog-timeline.js';
import { benchScenario, hostOnlyClusters, REBOOTING_PROFILES } from '../../bench/scenario.js';
import { median, summarize } from '../../bench/stats.js';

describe('stats', () => {
  it('takes the middle value, or the mean of the two middle ones', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(summarize([5, 1, 3])).toEqual({ median: 3, min: 1, max: 5, n: 3 });
  });
});

describe('scenario', () => {
  it('splits hosts into clusters of at most perCluster', () => {
    expect(hostOnlyClusters(25, 10).map((c) => c.nodes)).toEqual([10, 10, 5]);
  });

  it('builds a fleet the simulator accepts, with VMs and the chosen profiles', () => {
    const raw = benchScenario({ dir: '/tmp/x', clusters: [{ name: 'c1', nodes: 2, api: true, vmsPerNode: 2, rebootDelayMs: 50, profiles: REBOOTING_PROFILES }] });
    const s = parseScenario(raw, 'bench');
    const c = s.clusters[0]!;
    expect(c.nodes.map((n) => [n.name, n.profile, n.rebootDelayMs])).toEqual([['c1-n1', REBOOTING_PROFILES[0], 50], ['c1-n2', REBOOTING_PROFILES[1], 50]]);
    expect(c.vms.map((v) => [v.vmid, v.node])).toEqual([[100, 'c1-n1'], [101, 'c1-n1'], [102, 'c1-n2'], [103, 'c1-n2']]);
    expect(c.vms[0]!.declare).toEqual({ hostpci: [{ host: '0000:01:00', pcie: true }] });
  });
});

describe('baseline', () => {
  it('counts one closing marker per section of the facts script', () => {
    const nonce = '0123456789abcdef';
    const oneHost = Array.from({ length: factsSectionCount() }, (_, i) => `@@${nonce} k${i}\nx\n@@${nonce} rc=0\n`).join('');
    expect(countSections(oneHost + oneHost, nonce)).toBe(2 * factsSectionCount());
    expect(countSections(oneHost.replaceAll(nonce, 'ffffffffffffffff'), nonce)).toBe(0);
    expect(factsScript(nonce)).toContain(`'@@${nonce} %s\\n'`);
  });

  it('computes the SHA256 fingerprint ssh-keygen prints for a known_hosts line', () => {
    // Scanned from a simulated host whose pinned fingerprint was this one.
    const line = '[127.0.0.1]:38255 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPZmMD61s6QJ12BLnn8QeYJdnaVG1ufkJw091Rssw8C0';
    expect(fingerprintOfLine(line)).toBe('SHA256:93+KSi8D/HuN87b3bUusowrcugj4nvRdOUfgcHCFHT8');
    expect(fingerprintOfLine('garbage')).toBeNull();
  });
});

describe('routeOf', () => {
  it('replaces node names, VM ids and UPIDs', () => {
    expect(routeOf('/api2/json/nodes/pve1/qemu/101/config')).toBe('/nodes/{node}/qemu/{vmid}/config');
    expect(routeOf('/api2/json/nodes/c1-n2/tasks/UPID:c1-n2:0001:qmconfig:101:root@pam:/status')).toBe('/nodes/{node}/tasks/{upid}/status');
    expect(routeOf('/api2/json/cluster/resources')).toBe('/cluster/resources');
  });
});

describe('rolloutBreakdown', () => {
  const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, 0) + s * 1000).toISOString();
  const ev = (s: number, e: Record<string, unknown>) => JSON.stringify({ time: at(s), ...e });
  it('splits the overhead of the chain that finished last', () => {
    const log = [
      ev(0, { type: 'run' }),
      ev(1, { type: 'node', cluster: 'a', node: 'a1', status: 'reboot', message: 'rebooting' }),
      ev(1.2, { type: 'node', cluster: 'b', node: 'b1', status: 'reboot', message: 'rebooting' }),
      ev(3.1, { type: 'node', cluster: 'a', node: 'a1', status: 'reboot', message: 'back with a new boot_id; waiting for the cluster' }),
      ev(3.3, { type: 'node', cluster: 'b', node: 'b1', status: 'reboot', message: 'back with a new boot_id; waiting for the cluster' }),
      ev(3.4, { type: 'node', cluster: 'a', node: 'a2', status: 'reboot', message: 'rebooting' }),
      ev(5.5, { type: 'node', cluster: 'a', node: 'a2', status: 'reboot', message: 'back with a new boot_id; waiting for the cluster' }),
      ev(5.6, { type: 'summary' }),
      '',
    ].join('\n');
    const b = rolloutBreakdown(log, 6, 2);
    expect(b.reboots).toBe(2);
    expect(b.processS).toBeCloseTo(0.4);
    expect(b.leadInS).toBeCloseTo(1);
    expect(b.noticeS).toBeCloseTo(0.2);
    expect(b.handoverS).toBeCloseTo(0.3);
    expect(b.tailS).toBeCloseTo(0.1);
    // The parts add up to the overhead above the critical path (2 reboots × 2 s).
    expect(b.processS + b.leadInS + b.noticeS + b.handoverS + b.tailS).toBeCloseTo(6 - 4);
  });
});

describe('options', () => {
  it('has full and quick defaults and rejects unknown figures', () => {
    const full = parseOptions([]);
    const quick = parseOptions(['--quick']);
    if (full === 'help' || quick === 'help') throw new Error('unexpected help');
    expect(full.sizes).toEqual([10, 100, 1000]);
    expect(full.rebootMs).toEqual([2000, 6000]);
    expect(quick.sizes).toEqual([10, 100]);
    expect(quick.rebootMs).toEqual([2000]);
    expect(() => parseOptions(['--only', 'verify,speed'])).toThrow(/unknown figure "speed"/);
    expect(() => parseOptions(['--sizes', '10,x'])).toThrow(/whole numbers/);
  });
});
