import { describe, expect, it } from 'vitest';
import { ApiError } from '../../src/errors.js';
import { applyVmPlan, type VmApi } from '../../src/engine/apply-vm.js';
import { planVm } from '../../src/operations/vm/plan-vm.js';
import type { VmPlan } from '../../src/operations/vm/types.js';
import { ctx, current, vm } from '../operations/vm/helpers.js';

const OK = { upid: 'UPID:pve1:00000001:00000001:00000001:qmconfig:101:root@pam:', exitstatus: 'OK' };

/** A fake API: records calls; `failWrites` are thrown by successive config writes. */
function fakeApi(failWrites: unknown[] = []): VmApi & { calls: string[]; writes: Array<{ set: Record<string, string>; delete: readonly string[]; digest?: string }> } {
  const calls: string[] = [];
  const writes: Array<{ set: Record<string, string>; delete: readonly string[]; digest?: string }> = [];
  return {
    calls,
    writes,
    async updateVmConfig(_node, _vmid, change) {
      calls.push('config');
      writes.push({ set: { ...change.set }, delete: change.delete, ...(change.digest ? { digest: change.digest } : {}) });
      const f = failWrites.shift();
      if (f) throw f;
      return OK;
    },
    async shutdownVm(_n, _v, o) {
      calls.push(`shutdown(${o.timeout},${o.forceStop})`);
      return OK;
    },
    async startVm() {
      calls.push('start');
      return OK;
    },
  };
}

const digestError = () => new ApiError('E_API_DIGEST', 'POST /nodes/pve1/qemu/101/config: checksum mismatch (file change by other user?)', 500);
const plan = (over: Record<string, unknown> = {}, cfg: Record<string, string> = {}, cur = {}): VmPlan =>
  planVm(vm({ hostpci: [{ mapping: 'gpu-a' }], ...over }), current(cfg, cur), ctx());

describe('applyVmPlan', () => {
  it('stopped VM: one config write with the digest', async () => {
    const api = fakeApi();
    const r = await applyVmPlan(api, plan(), async () => { throw new Error('no replan expected'); });
    expect(r).toMatchObject({ outcome: 'applied', replanned: false, actions: ['config'] });
    expect(api.writes).toEqual([{ set: { hostpci0: 'mapping=gpu-a' }, delete: [], digest: 'd0' }]);
  });

  it('nothing to do → no call', async () => {
    const api = fakeApi();
    const r = await applyVmPlan(api, plan({}, { hostpci0: 'mapping=gpu-a' }), async () => plan());
    expect(r.outcome).toBe('unchanged');
    expect(api.calls).toEqual([]);
  });

  it('refused plan → no call', async () => {
    const api = fakeApi();
    const refused = planVm(vm({ hostpci: [{ mapping: 'nope' }] }), current({}), ctx());
    expect((await applyVmPlan(api, refused, async () => refused)).outcome).toBe('refused');
    expect(api.calls).toEqual([]);
  });

  it('digest mismatch: re-reads, re-plans once and writes with the new digest', async () => {
    const api = fakeApi([digestError()]);
    let replans = 0;
    const fresh = planVm(vm({ hostpci: [{ mapping: 'gpu-a' }] }), { ...current({ hostpci0: '0000:09:00.0' }), digest: 'd1' }, ctx());
    const r = await applyVmPlan(api, plan(), async () => {
      replans++;
      return fresh;
    });
    expect(replans).toBe(1);
    expect(r).toMatchObject({ outcome: 'applied', replanned: true });
    expect(api.writes.map((w) => w.digest)).toEqual(['d0', 'd1']);
    expect(api.writes[1]?.set).toEqual({ hostpci1: 'mapping=gpu-a' });
  });

  it('a failed task reporting a checksum mismatch counts as a digest conflict too', async () => {
    const api = fakeApi([new ApiError('E_TASK_FAILED', 'task qmconfig on pve1 failed: checksum mismatch (file change by other user?)', null)]);
    const r = await applyVmPlan(api, plan(), async () => ({ ...plan(), digest: 'd2' }));
    expect(r.replanned).toBe(true);
    expect(api.writes.map((w) => w.digest)).toEqual(['d0', 'd2']);
  });

  it('a second mismatch fails with a clear message', async () => {
    const api = fakeApi([digestError(), digestError()]);
    const err = await applyVmPlan(api, plan(), async () => ({ ...plan(), digest: 'd1' })).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'E_API_DIGEST' });
    expect((err as Error).message).toMatch(/changed again while applying/);
    expect(api.calls).toEqual(['config', 'config']);
  });

  it('after re-planning, an already applied change is not written again', async () => {
    const api = fakeApi([digestError()]);
    const r = await applyVmPlan(api, plan(), async () => plan({}, { hostpci0: 'mapping=gpu-a' }));
    expect(api.calls).toEqual(['config']);
    expect(r.outcome).toBe('unchanged');
  });

  it('other errors are not re-planned', async () => {
    const api = fakeApi([new ApiError('E_API_PERMISSION', 'denied', 403)]);
    let replans = 0;
    await expect(applyVmPlan(api, plan(), async () => {
      replans++;
      return plan();
    })).rejects.toMatchObject({ code: 'E_API_PERMISSION' });
    expect(replans).toBe(0);
  });

  it('running VM, whenRunning restart: shutdown (stop only if allowed) → config → start', async () => {
    const api = fakeApi();
    const p = plan({ whenRunning: 'restart', shutdownTimeoutSeconds: 120 }, {}, { status: 'running' });
    const r = await applyVmPlan(api, p, async () => p);
    expect(api.calls).toEqual(['shutdown(120,false)', 'config', 'start']);
    expect(r.actions).toEqual(['shutdown', 'config', 'start']);
    const api2 = fakeApi();
    await applyVmPlan(api2, plan({ whenRunning: 'restart', allowStop: true }, {}, { status: 'running' }), async () => p);
    expect(api2.calls[0]).toBe('shutdown(180,true)');
  });

  it('running VM, whenRunning pending: writes only, no power action', async () => {
    const api = fakeApi();
    const p = plan({}, {}, { status: 'running' });
    expect(p.power).toBe('pending');
    await applyVmPlan(api, p, async () => p);
    expect(api.calls).toEqual(['config']);
  });

  it('restart with only a pending change left: shutdown and start, no write', async () => {
    const api = fakeApi();
    const p = plan({ whenRunning: 'restart' }, { hostpci0: 'mapping=gpu-a' }, { status: 'running', pending: [{ key: 'hostpci0', pending: 'mapping=gpu-a' }] });
    await applyVmPlan(api, p, async () => p);
    expect(api.calls).toEqual(['shutdown(180,false)', 'start']);
  });

  it('a failed write after shutdown starts the VM again and reports the error', async () => {
    const api = fakeApi([new ApiError('E_API_PARAM', 'bad', 400)]);
    const p = plan({ whenRunning: 'restart' }, {}, { status: 'running' });
    await expect(applyVmPlan(api, p, async () => p)).rejects.toMatchObject({ code: 'E_API_PARAM' });
    expect(api.calls).toEqual(['shutdown(180,false)', 'config', 'start']);
  });

  it('a failed shutdown stops everything (nothing written)', async () => {
    const api = fakeApi();
    api.shutdownVm = async () => {
      api.calls.push('shutdown');
      throw new ApiError('E_TASK_FAILED', 'task qmshutdown on pve1 failed: VM quit/powerdown failed', null);
    };
    const p = plan({ whenRunning: 'restart' }, {}, { status: 'running' });
    await expect(applyVmPlan(api, p, async () => p)).rejects.toMatchObject({ code: 'E_TASK_FAILED' });
    expect(api.calls).toEqual(['shutdown']);
  });
});
