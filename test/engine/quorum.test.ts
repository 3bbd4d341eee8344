import { describe, expect, it } from 'vitest';
import { quorumFromApi } from '../../src/facts/cluster/quorum.js';
import { rebootBudget, slotsFree } from '../../src/engine/quorum.js';
import type { ClusterStatusItem } from '../../src/transport/pve/types.js';

const policy = { maxUnavailable: 1, allowQuorumLoss: false };
const status = (n: number, online: number, quorate = true): ClusterStatusItem[] => [
  { type: 'cluster', name: 'c', nodes: n, quorate },
  ...Array.from({ length: n }, (_, i) => ({ type: 'node' as const, name: `pve${i + 1}`, online: i < online })),
];

describe('rebootBudget', () => {
  it('3-node cluster: one at a time', () => {
    expect(rebootBudget(quorumFromApi(status(3, 3)), policy, false).allowed).toBe(1);
  });
  it('5-node cluster: quorum allows 2, maxUnavailable lowers it', () => {
    const q = quorumFromApi(status(5, 5));
    expect(rebootBudget(q, { ...policy, maxUnavailable: 5 }, false).allowed).toBe(2);
    expect(rebootBudget(q, policy, false).allowed).toBe(1);
  });
  it('3-node cluster with one node already down: none', () => {
    expect(rebootBudget(quorumFromApi(status(3, 2)), policy, false).allowed).toBe(0);
  });
  it('2-node cluster: refused unless opted in, never with HA', () => {
    const q = quorumFromApi(status(2, 2));
    expect(rebootBudget(q, policy, false).allowed).toBe(0);
    expect(rebootBudget(q, { ...policy, allowQuorumLoss: true }, false).allowed).toBe(1);
    expect(rebootBudget(q, { ...policy, allowQuorumLoss: true }, true).allowed).toBe(0);
  });
  it('standalone node: allowed', () => {
    expect(rebootBudget(quorumFromApi([{ type: 'node', name: 'pve1', online: true }]), policy, false).allowed).toBe(1);
  });
  it('not quorate: none', () => {
    expect(rebootBudget(quorumFromApi(status(3, 3, false)), policy, false).allowed).toBe(0);
  });
});

describe('slotsFree (the gate: held slots count as unavailable)', () => {
  const loose = { maxUnavailable: 2, allowQuorumLoss: false };
  it('3 nodes, maxUnavailable 2: a slot held by a node still online leaves none for the next', () => {
    const q = quorumFromApi(status(3, 3));
    expect(slotsFree(q, loose, false, 0, 0).allowed).toBe(1);
    expect(slotsFree(q, loose, false, 1, 1).allowed).toBe(0);
  });
  it('a holder already offline is counted once (by quorum), not twice', () => {
    const q = quorumFromApi(status(5, 4));
    expect(slotsFree(q, loose, false, 1, 0).allowed).toBe(1);
    expect(slotsFree(q, loose, false, 1, 1).allowed).toBe(0);
  });
  it('a node down for another reason counts against maxUnavailable', () => {
    expect(slotsFree(quorumFromApi(status(5, 4)), { ...loose, maxUnavailable: 1 }, false, 0, 0).allowed).toBe(0);
  });
  it('never more than total votes − quorum votes, whatever maxUnavailable says', () => {
    const q = quorumFromApi(status(5, 5));
    expect(slotsFree(q, { ...loose, maxUnavailable: 5 }, false, 0, 0).allowed).toBe(2);
    expect(slotsFree(q, { ...loose, maxUnavailable: 5 }, false, 2, 2).allowed).toBe(0);
  });
  it('allowQuorumLoss lets one node of a 2-node cluster go, never a second', () => {
    const q = quorumFromApi(status(2, 2));
    expect(slotsFree(q, { ...loose, allowQuorumLoss: true }, false, 0, 0).allowed).toBe(1);
    expect(slotsFree(q, { ...loose, allowQuorumLoss: true }, false, 1, 1).allowed).toBe(0);
  });
  it('standalone: one at a time', () => {
    const q = quorumFromApi([{ type: 'node', name: 'pve1', online: true }]);
    expect(slotsFree(q, loose, false, 0, 0).allowed).toBe(1);
    expect(slotsFree(q, loose, false, 1, 1).allowed).toBe(0);
  });
});
