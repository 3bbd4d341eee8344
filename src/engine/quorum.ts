/**
 * Safety arithmetic for rolling reboots: how many nodes of one cluster may be
 * down at once without losing quorum. Pure; quorum itself is a fact
 * (src/facts/cluster/quorum.ts).
 */

import type { QuorumInfo } from '../facts/cluster/quorum.js';

export interface RebootBudget {
  /** Nodes that may be rebooting at the same time (0 = none). */
  readonly allowed: number;
  readonly reason: string;
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
