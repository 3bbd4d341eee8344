/**
 * Where an apply's time went, from the run log the tool writes (one JSON
 * event per line, with `time`). Pure: log text and figures in, breakdown out.
 */

export interface RolloutBreakdown {
  /** Process start, module loading and exit: wall time outside the run log. */
  readonly processS: number;
  /** First event to the first reboot: facts, plan, API login, the first gate and writes. */
  readonly leadInS: number;
  /** Per reboot on the longest chain: how much later than the simulated reboot time the node was seen back. */
  readonly noticeS: number;
  /** Between one node back and the next one rebooting: verify, the gate's quorum check, lock, writes, refresh. */
  readonly handoverS: number;
  /** Last node back to the last event: its verification and the VM side. */
  readonly tailS: number;
  readonly reboots: number;
}

interface Ev {
  readonly t: number;
  readonly node?: string;
  readonly cluster?: string;
  readonly status?: string;
  readonly message?: string;
}

export function rolloutBreakdown(log: string, wallS: number, rebootS: number): RolloutBreakdown {
  const events: Ev[] = log.split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as { time?: string } & Omit<Ev, 't'>)
    .filter((e) => typeof e.time === 'string')
    .map((e) => ({ t: Date.parse(e.time!) / 1000, node: e.node, cluster: e.cluster, status: e.status, message: e.message }));
  if (events.length === 0) throw new Error('empty run log');
  const first = events[0]!.t;
  const last = events[events.length - 1]!.t;
  const byCluster = new Map<string, { down: number; up: number }[]>();
  const open = new Map<string, number>();
  for (const e of events) {
    if (e.status !== 'reboot' || !e.node) continue;
    if (e.message === 'rebooting') open.set(e.node, e.t);
    else if (e.message?.startsWith('back') && open.has(e.node)) {
      const list = byCluster.get(e.cluster ?? '') ?? [];
      list.push({ down: open.get(e.node)!, up: e.t });
      byCluster.set(e.cluster ?? '', list);
    }
  }
  // The chain that finished last decides the wall time.
  const chain = [...byCluster.values()].sort((a, b) => Math.max(...b.map((x) => x.up)) - Math.max(...a.map((x) => x.up)))[0] ?? [];
  chain.sort((a, b) => a.down - b.down);
  if (chain.length === 0) return { processS: wallS - (last - first), leadInS: last - first, noticeS: 0, handoverS: 0, tailS: 0, reboots: 0 };
  let handover = 0;
  for (let i = 1; i < chain.length; i++) handover += chain[i]!.down - chain[i - 1]!.up;
  return {
    processS: wallS - (last - first),
    leadInS: chain[0]!.down - first,
    noticeS: chain.reduce((s, r) => s + (r.up - r.down - rebootS), 0),
    handoverS: handover,
    tailS: last - chain[chain.length - 1]!.up,
    reboots: chain.length,
  };
}
