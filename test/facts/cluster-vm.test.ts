/**
 * The cluster and VM facts (src/facts/cluster/, src/facts/vm/), run by the
 * same fixture runner as the host facts: one folder per fact under
 * test/fixtures/facts/, one raw input and one full expected value per case.
 * API inputs are the raw `data` of the answer and pass the transport's zod
 * shape first, as a live read does; a malformed answer names the field.
 */
import { describe, expect, it } from 'vitest';
import { anyHaStarted, startedHaByNode } from '../../src/facts/cluster/ha-resources.js';
import { onlineNodes, quorumFromApi, quorumFromPvecm, quorumFromPvecmSections, type QuorumInfo } from '../../src/facts/cluster/quorum.js';
import { parsePveRelease, type PveRelease } from '../../src/facts/host/pve-version.js';
import { hostpciOf, vmCurrentFrom, vmObservedFrom } from '../../src/facts/vm/vm-config.js';
import { hasHaMaintenanceMode } from '../../src/operations/host/ha-maintenance.js';
import { ClusterStatusShape, GuestResourcesShape, HaResourcesShape, PendingShape, VmConfigShape, VmStatusShape } from '../../src/transport/pve/schemas.js';
import { cases } from './host/fixtures.js';

/** The zod error of a malformed answer names `field`. */
function expectRejected(read: () => unknown, field: string): void {
  expect(read).toThrow(new RegExp(field));
}

describe('pvecm status', () => {
  it.each(cases<{ rc: number; value: QuorumInfo | null }>('pvecm-status'))('$name', ({ input, expected }) => {
    expect(quorumFromPvecm(input, expected.rc)).toEqual(expected.value);
  });
  it('no /etc/pve/corosync.conf is standalone whatever pvecm says', () => {
    const sections = new Map([['corosync', { output: '', rc: 1 }], ['pvecm', { output: 'Cannot initialize CMAP service\n', rc: 2 }]]);
    expect(quorumFromPvecmSections(sections)).toEqual({ standalone: true, quorate: true, totalVotes: 1, quorumVotes: 1, expectedVotes: 1 });
    expect(quorumFromPvecmSections(new Map([['corosync', { output: '', rc: 0 }], ['pvecm', sections.get('pvecm')!]]))).toBeNull();
  });
});

describe('GET /cluster/status', () => {
  type E = { quorum: QuorumInfo; online: string[] } | { error: string };
  it.each(cases<E>('cluster-status'))('$name', ({ input, expected }) => {
    const read = () => ClusterStatusShape.parse(JSON.parse(input));
    if ('error' in expected) return expectRejected(read, expected.error);
    expect({ quorum: quorumFromApi(read()), online: onlineNodes(read()) }).toEqual(expected);
  });
});

describe('HA resources', () => {
  type E = { anyStarted: boolean; byNode: Record<string, string[]> } | { error: string };
  it.each(cases<E>('ha-resources'))('$name', ({ input, expected }) => {
    const raw = JSON.parse(input) as { ha: unknown; guests: unknown };
    const read = () => ({ ha: HaResourcesShape.parse(raw.ha), guests: GuestResourcesShape.parse(raw.guests) });
    if ('error' in expected) return expectRejected(read, expected.error);
    const { ha, guests } = read();
    expect({ anyStarted: anyHaStarted(ha), byNode: startedHaByNode(ha, guests) }).toEqual(expected);
  });
});

describe('VM config, pending and status', () => {
  type E = { current: object; runningMachine?: string; hostpci: object[] } | { error: string };
  it.each(cases<E>('vm-config'))('$name', ({ input, expected }) => {
    const raw = JSON.parse(input) as { config: unknown; pending: unknown; status: unknown };
    const read = () => ({ cfg: VmConfigShape.parse(raw.config), pending: PendingShape.parse(raw.pending), status: VmStatusShape.parse(raw.status) });
    if ('error' in expected) return expectRejected(read, expected.error);
    const { cfg, pending, status } = read();
    const current = vmCurrentFrom(cfg, pending, status.status);
    expect({ current, ...(status['running-machine'] !== undefined ? { runningMachine: status['running-machine'] } : {}), hostpci: hostpciOf(100, 'pve1', cfg.config) }).toEqual(expected);
    // verify reads the same answers (config?current=1) into the same shape, with the running machine
    expect(vmObservedFrom(cfg, pending, status)).toEqual({ config: current.config, pending: current.pending, status: current.status, runningMachine: status['running-machine'] });
  });
});

describe('pveversion (HA maintenance needs PVE 7.3)', () => {
  it.each(cases<{ value: PveRelease | null }>('pveversion'))('$name', ({ input, expected }) => {
    expect(parsePveRelease(input)).toEqual(expected.value);
  });
  it.each([[{ major: 7, minor: 2 }, false], [{ major: 7, minor: 3 }, true], [{ major: 8, minor: 0 }, true], [{ major: 6, minor: 4 }, false], [null, false]] as const)('%j has the maintenance mode: %s', (release, want) => {
    expect(hasHaMaintenanceMode(release)).toBe(want);
  });
});
