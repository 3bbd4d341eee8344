/**
 * Safety arithmetic for rolling reboots: how many nodes of one cluster may be
 * down at once without losing quorum. Pure.
 */

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

export interface RebootBudget {
  /** Nodes that may be rebooting at the same time (0 = none). */
  readonly allowed: number;
  readonly reason: string;
}

export interface ClusterStatusItem {
  readonly type: string;
  readonly name?: string;
  readonly quorate?: number | boolean;
  readonly nodes?: number;
  readonly online?: number | boolean;
}

/** From GET /cluster/status: one vote per node (the API does not show QDevice votes). */
export function quorumFromApi(items: readonly ClusterStatusItem[]): QuorumInfo {
  const cluster = items.find((i) => i.type === 'cluster');
  const nodes = items.filter((i) => i.type === 'node');
  if (!cluster) return { standalone: true, quorate: true, totalVotes: 1, quorumVotes: 1, expectedVotes: 1 };
  const expected = cluster.nodes ?? nodes.length;
  const online = nodes.filter((n) => n.online === 1 || n.online === true).length;
  return {
    standalone: false,
    quorate: cluster.quorate === 1 || cluster.quorate === true,
    totalVotes: online,
    quorumVotes: Math.floor(expected / 2) + 1,
    expectedVotes: expected,
  };
}

/** From `pvecm status` text; a non-clustered node's error message means standalone. */
export function quorumFromPvecm(text: string, rc: number): QuorumInfo | null {
  if (/does not exist - is this node part of a cluster\?/.test(text)) {
    return { standalone: true, quorate: true, totalVotes: 1, quorumVotes: 1, expectedVotes: 1 };
  }
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

export function rebootBudget(
  q: QuorumInfo,
  policy: { readonly maxUnavailable: number; readonly allowQuorumLoss: boolean },
  haActive: boolean,
): RebootBudget {
  if (q.standalone) return { allowed: 1, reason: 'standalone node: no quorum to keep' };
  if (!q.quorate) return { allowed: 0, reason: 'the cluster is not quorate now: no reboot until it is' };
  if (q.totalVotes < q.expectedVotes) {
    const spare = q.totalVotes - q.quorumVotes;
    if (spare <= 0) return { allowed: 0, reason: `only ${q.totalVotes} of ${q.expectedVotes} votes present; another node down would lose quorum` };
  }
  const spare = q.totalVotes - q.quorumVotes;
  if (spare <= 0) {
    if (haActive) return { allowed: 0, reason: 'rebooting would lose quorum while HA resources are active (the surviving node would self-fence)' };
    if (policy.allowQuorumLoss) return { allowed: 1, reason: 'quorum will be lost while the node reboots (allowed by policy.allowQuorumLoss)' };
    return { allowed: 0, reason: `${q.expectedVotes}-vote cluster with quorum ${q.quorumVotes}: any reboot loses quorum; add a QDevice or set policy.allowQuorumLoss` };
  }
  const allowed = Math.min(spare, policy.maxUnavailable);
  return { allowed, reason: `${q.totalVotes} votes, quorum ${q.quorumVotes}: up to ${spare} may be down; policy allows ${policy.maxUnavailable}` };
}

/**
 * How many more nodes may take a reboot slot now. Slots already held count as
 * unavailable even while their node is still online (writing files, rebuilding
 * the initramfs): it will be down soon. Down nodes never exceed total votes −
 * quorum votes, whatever maxUnavailable says; maxUnavailable only lowers it.
 * `heldOnline`: holders that are still online (offline ones are already
 * missing from `totalVotes`); `held`: every holder.
 */
export function slotsFree(
  q: QuorumInfo,
  policy: { readonly maxUnavailable: number; readonly allowQuorumLoss: boolean },
  haActive: boolean,
  held: number,
  heldOnline: number,
): RebootBudget {
  if (q.standalone) return held === 0 ? { allowed: 1, reason: 'standalone node: no quorum to keep' } : { allowed: 0, reason: 'standalone node: it is rebooting already' };
  if (!q.quorate) return { allowed: 0, reason: 'the cluster is not quorate now: no reboot until it is' };
  const spare = q.totalVotes - heldOnline - q.quorumVotes;
  const unavailable = Math.max(0, q.expectedVotes - q.totalVotes) + heldOnline;
  if (held === 0 && q.totalVotes === q.expectedVotes && spare <= 0) return rebootBudget(q, policy, haActive);
  const allowed = Math.max(0, Math.min(spare, policy.maxUnavailable - unavailable));
  return {
    allowed,
    reason: `${q.totalVotes} of ${q.expectedVotes} votes present, quorum ${q.quorumVotes}, ${held} node(s) of this run rebooting or about to: ${allowed > 0 ? `${allowed} more may go` : spare <= 0 ? 'another node down would lose quorum' : `policy.maxUnavailable ${policy.maxUnavailable} reached`}`,
  };
}
