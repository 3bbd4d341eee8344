/**
 * The API edge for one VM plan: write the config in one call (with the digest),
 * re-plan once on a digest mismatch, and for whenRunning "restart" do
 * shutdown → apply → start, waiting on each task. The decisions (what the
 * write is, whether there is one) are operations/vm/vm-write.ts's.
 */
import { ErrorCode } from '../error-codes.js';
import { ApiError } from '../errors.js';
import { isDigestMismatch } from '../transport/pve/http-errors.js';
import type { VmPlan } from '../operations/vm/types.js';
import { vmWrite } from '../operations/vm/vm-write.js';

interface TaskLike {
  readonly upid: string;
  readonly exitstatus: string;
}

/** What applyVmPlan needs from the API client (PveClient has these). */
export interface VmApi {
  updateVmConfig(
    node: string, vmid: number,
    change: { set: Readonly<Record<string, string>>; delete: readonly string[]; digest?: string; before?: Readonly<Record<string, string>> },
  ): Promise<TaskLike | null>;
  shutdownVm(node: string, vmid: number, o: { timeout: number; forceStop: boolean }): Promise<TaskLike | null>;
  startVm(node: string, vmid: number): Promise<TaskLike | null>;
}

export interface ApplyVmResult {
  readonly outcome: 'applied' | 'unchanged' | 'refused';
  /** The plan that was applied (the re-made one after a digest conflict). */
  readonly plan: VmPlan;
  readonly replanned: boolean;
  /** In order: "shutdown", "config", "start". */
  readonly actions: readonly string[];
}

export async function applyVmPlan(client: VmApi, plan: VmPlan, replan: () => Promise<VmPlan>): Promise<ApplyVmResult> {
  const actions: string[] = [];
  if (plan.refused.length > 0) return { outcome: 'refused', plan, replanned: false, actions };
  if (vmWrite(plan) === null && plan.power !== 'restart') return { outcome: 'unchanged', plan, replanned: false, actions };

  const stopped = plan.power === 'restart';
  if (stopped) {
    await client.shutdownVm(plan.node, plan.vmid, { timeout: plan.shutdown.timeoutSeconds, forceStop: plan.shutdown.allowStop });
    actions.push('shutdown');
  }
  let written: WriteResult;
  try {
    written = await writeWithOneReplan(client, plan, replan);
  } catch (err) {
    // Do not leave a VM down because the write failed: start it with its old config.
    if (stopped) await client.startVm(plan.node, plan.vmid).catch(() => undefined);
    throw err;
  }
  if (written.refused) {
    if (stopped) await client.startVm(plan.node, plan.vmid);
    return { outcome: 'refused', plan: written.plan, replanned: written.replanned, actions: stopped ? [...actions, 'start'] : actions };
  }
  if (written.wrote) actions.push('config');
  if (stopped) {
    await client.startVm(plan.node, plan.vmid);
    actions.push('start');
  }
  return { outcome: written.wrote || stopped ? 'applied' : 'unchanged', plan: written.plan, replanned: written.replanned, actions };
}

interface WriteResult {
  readonly plan: VmPlan;
  readonly replanned: boolean;
  readonly wrote: boolean;
  readonly refused: boolean;
}

/** The write; someone else wrote the config since we read it (digest mismatch): read again, plan again, once. */
async function writeWithOneReplan(client: VmApi, plan: VmPlan, replan: () => Promise<VmPlan>): Promise<WriteResult> {
  if (vmWrite(plan) === null) return { plan, replanned: false, wrote: false, refused: false };
  try {
    await write(client, plan);
    return { plan, replanned: false, wrote: true, refused: false };
  } catch (err) {
    if (!isDigestMismatch(err)) throw err;
  }
  const again = await replan();
  if (again.refused.length > 0) return { plan: again, replanned: true, wrote: false, refused: true };
  if (vmWrite(again) === null) return { plan: again, replanned: true, wrote: false, refused: false };
  try {
    await write(client, again);
  } catch (err) {
    if (!isDigestMismatch(err)) throw err;
    throw new ApiError(ErrorCode.API_DIGEST, `the config of VM ${plan.vmid} changed again while applying (digest mismatch twice); someone else is editing it`, null, {}, {
      node: plan.node, vmid: plan.vmid, step: 'update VM config', fix: 'wait until the other change is done and run apply again',
    });
  }
  return { plan: again, replanned: true, wrote: true, refused: false };
}

function write(client: VmApi, p: VmPlan): Promise<TaskLike | null> {
  return client.updateVmConfig(p.node, p.vmid, vmWrite(p)!);
}
