/**
 * Fact: cluster quorum, from the API or from corosync on a node.
 *
 * API read: GET /cluster/status (validated by the transport's shape). Parsed
 * by `quorumFromApi` into
 *   { standalone: false, quorate: true, totalVotes: 3, quorumVotes: 2, expectedVotes: 3 }
 * with one vote per online node (the API does not show QDevice votes); no
 * `cluster` entry = a standalone node { standalone: true, quorate: true, 1, 1, 1 }.
 * `onlineNodes` gives the node names the API sees online, e.g. ['pve1', 'pve3'].
 *
 * Command: `test -e /etc/pve/corosync.conf; pvecm status` in one batch
 * (`pvecmSections`). Parsed by `quorumFromPvecm(text, rc)`:
 *   Expected votes:   3          -> expectedVotes 3
 *   Total votes:      4          -> totalVotes 4 (a QDevice's vote included)
 *   Quorum:           2          -> quorumVotes 2
 *   Quorate:          Yes        -> quorate true
 * "… does not exist - is this node part of a cluster?" (or no corosync.conf)
 * = standalone; anything else unreadable = null (the caller refuses).
 */
import { batch, cmd, parseBatch, type Section, type SectionResult } from '../../transport/shell.js';
import type { RemoteHost } from '../../transport/types.js';
import type { ClusterStatusItem } from '../../transport/pve/types.js';

export interface QuorumInfo {
  /** A single node that is not part of a cluster. */
  readonly standalone: boolean;
  readonly quorate: boolean;
  /** Votes present now (online nodes, 1 each unless pvecm says otherwise). */
  readonly totalVotes: number;
  /** Votes needed for quorum. */
  readonly quorumVotes: number;
  readonly expectedVotes: number;
}

const STANDALONE: QuorumInfo = { standalone: true, quorate: true, totalVotes: 1, quorumVotes: 1, expectedVotes: 1 };

/** From GET /cluster/status: one vote per node (the API does not show QDevice votes). */
export function quorumFromApi(items: readonly ClusterStatusItem[]): QuorumInfo {
  const cluster = items.find((i) => i.type === 'cluster');
  const nodes = items.filter((i) => i.type === 'node');
  if (!cluster) return STANDALONE;
  const expected = cluster.nodes ?? nodes.length;
  const online = nodes.filter((n) => n.online).length;
  return {
    standalone: false,
    quorate: cluster.quorate,
    totalVotes: online,
    quorumVotes: Math.floor(expected / 2) + 1,
    expectedVotes: expected,
  };
}

/** The nodes GET /cluster/status reports online. */
export function onlineNodes(items: readonly ClusterStatusItem[]): string[] {
  return items.flatMap((s) => (s.type === 'node' && s.online ? [s.name] : []));
}

/** The batch that reads quorum on a node (keys `corosync`, `pvecm`). */
export function pvecmSections(): Section[] {
  return [
    { key: 'corosync', cmd: cmd(['test', '-e', '/etc/pve/corosync.conf']) },
    { key: 'pvecm', cmd: cmd(['pvecm', 'status']) },
  ];
}

/** The batch's sections: no /etc/pve/corosync.conf (plain Debian, a lone PVE node) = standalone. */
export function quorumFromPvecmSections(sections: ReadonlyMap<string, SectionResult>): QuorumInfo | null {
  if (sections.get('corosync')?.rc === 1) return STANDALONE;
  const pvecm = sections.get('pvecm');
  return pvecm ? quorumFromPvecm(pvecm.output, pvecm.rc) : null;
}

/** From `pvecm status` text; a non-clustered node's error message means standalone. */
export function quorumFromPvecm(text: string, rc: number): QuorumInfo | null {
  if (/does not exist - is this node part of a cluster\?/.test(text)) return STANDALONE;
  if (rc !== 0) return null;
  const num = (label: string): number | null => {
    const m = new RegExp(`^${label}:\\s+(\\d+)`, 'm').exec(text);
    return m ? Number(m[1]) : null;
  };
  const total = num('Total votes');
  const quorum = num('Quorum');
  const expected = num('Expected votes');
  if (total === null || quorum === null || expected === null) return null;
  return { standalone: false, quorate: /^Quorate:\s+Yes/m.test(text), totalVotes: total, quorumVotes: quorum, expectedVotes: expected };
}

/** Runs the batch on the node and parses it. */
export async function readPvecmQuorum(host: RemoteHost, nonce: string): Promise<QuorumInfo | null> {
  return quorumFromPvecmSections(parseBatch((await host.exec(batch(pvecmSections(), nonce))).stdout, nonce));
}
