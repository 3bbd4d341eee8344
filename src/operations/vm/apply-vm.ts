/**
 * The API edge for one VM plan: write the config in one call (with the digest),
 * re-plan once on a digest mismatch, and for whenRunning "restart" do
 * shutdown → apply → start, waiting on each task.
 */
import { ApiError } from '../../errors.js';
import type { VmPlan } from './types.js';
import { ErrorCode } from '../../error-codes.js';

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

const DIGEST = /checksum mismatch|digest mismatch|file change by other user/i;
function digestMismatch(err: unknown): boolean {
  return err instanceof ApiError && (err.code === ErrorCode.API_DIGEST || DIGEST.test(err.message));
}

const hasWrite = (p: VmPlan): boolean => Object.keys(p.set).length > 0 || p.delete.length > 0;

export async function applyVmPlan(client: VmApi, plan: VmPlan, replan: () => Promise<VmPlan>): Promise<ApplyVmResult> {
  const actions: string[] = [];
  if (plan.refused.length > 0) return { outcome: 'refused', plan, replanned: false, actions };
  if (!hasWrite(plan) && plan.power !== 'restart') return { outcome: 'unchanged', plan, replanned: false, actions };
  const ctx = { node: plan.node, vmid: plan.vmid };

  let stopped = false;
  if (plan.power === 'restart') {
    await client.shutdownVm(plan.node, plan.vmid, { timeout: plan.shutdown.timeoutSeconds, forceStop: plan.shutdown.allowStop });
    actions.push('shutdown');
    stopped = true;
  }

  let current = plan;
  let replanned = false;
  try {
    if (hasWrite(current)) {
      let written = true;
      try {
        await write(client, current);
      } catch (err) {
        if (!digestMismatch(err)) throw err;
        // Someone else wrote the config since we read it: read again, plan again, once.
        current = await replan();
        replanned = true;
        if (current.refused.length > 0) {
          if (stopped) await client.startVm(plan.node, plan.vmid);
          return { outcome: 'refused', plan: current, replanned, actions: stopped ? [...actions, 'start'] : actions };
        }
        written = hasWrite(current);
        if (written) {
          try {
            await write(client, current);
          } catch (again) {
            if (!digestMismatch(again)) throw again;
            throw new ApiError(ErrorCode.API_DIGEST, `the config of VM ${plan.vmid} changed again while applying (digest mismatch twice); someone else is editing it`, null, {}, {
              ...ctx, step: 'update VM config', fix: 'wait until the other change is done and run apply again',
            });
          }
        }
      }
      if (written) actions.push('config');
    }
  } catch (err) {
    // Do not leave a VM down because the write failed: start it with its old config.
    if (stopped) await client.startVm(plan.node, plan.vmid).catch(() => undefined);
    throw err;
  }

  if (stopped) {
    await client.startVm(plan.node, plan.vmid);
    actions.push('start');
  }
  return { outcome: actions.includes('config') || stopped ? 'applied' : 'unchanged', plan: current, replanned, actions };
}

function write(client: VmApi, p: VmPlan): Promise<TaskLike | null> {
  return client.updateVmConfig(p.node, p.vmid, { set: p.set, delete: p.delete, digest: p.digest, before: p.before });
}
