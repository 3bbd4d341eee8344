import { describe, expect, it } from 'vitest';
import { withPendingRefresh } from '../../src/engine/plan.js';
import type { HostStep } from '../../src/operations/types.js';

const write: HostStep = { kind: 'write-file', path: '/etc/modprobe.d/pve-passthrough.conf', before: null, after: 'x\n', mode: '0644', uid: 0, gid: 0, reason: 'r' };
const grub: HostStep = { kind: 'refresh', command: 'update-grub', reason: 'GRUB config changed' };

describe('withPendingRefresh (a run stopped between its writes and its refreshes)', () => {
  it('no marker: the plan as it is', () => {
    expect(withPendingRefresh([write, grub], null)).toEqual([write, grub]);
  });
  it('files already match but the marker lists refreshes: they are planned again, in their fixed order', () => {
    const steps = withPendingRefresh([], 'update-grub\nupdate-initramfs\n');
    expect(steps.map((s) => (s.kind === 'refresh' ? s.command : s.kind))).toEqual(['update-initramfs', 'update-grub']);
    expect(steps[0]).toMatchObject({ reason: /stopped before this refresh/ });
  });
  it('merges with refreshes the plan has anyway, after the writes, and ignores unknown lines', () => {
    const steps = withPendingRefresh([write, grub], 'update-initramfs\nrm -rf /\n');
    expect(steps.map((s) => (s.kind === 'refresh' ? s.command : s.kind))).toEqual(['write-file', 'update-initramfs', 'update-grub']);
    expect(steps[2]).toBe(grub);
  });
});
