// exact: false (--host flags without --exact) only adds: what the declaration leaves out is resolved to what the host has now (issue 16 item 8).
import { describe, expect, it } from 'vitest';
import type { HostFacts } from '../../../src/facts/host/types.js';
import type { Node } from '../../../src/inventory/schema.js';
import { keepCurrentHost } from '../../../src/operations/host/keep-current.js';
import { planHost } from '../../../src/operations/host/plan-host.js';
import { verifyHost } from '../../../src/operations/host/verify-host.js';
import { applyStepsToFacts } from './apply-steps.js';
import { makeNode, pve9AmdSdboot, pve9IntelGrub } from './facts-factory.js';

const gpu = { address: '0000:01:00.0' };
const converged = (node: Node, facts: HostFacts): HostFacts => applyStepsToFacts(facts, planHost(node, facts).steps, { reboot: true });

describe.each([['GRUB drop-in', pve9IntelGrub], ['systemd-boot ledger', pve9AmdSdboot]] as const)('keepCurrentHost (%s)', (_, base) => {
  const full = makeNode({ devices: [{ ...gpu, blacklist: ['nouveau'] }], iommuPassthrough: true, kernelParams: ['video=efifb:off'] });
  const facts = converged(full, base());

  it('a declaration without iommu=pt, the kernel parameter, the blacklist or the device plans nothing and names what it keeps', () => {
    const bare = makeNode({ exact: false });
    const p = planHost(bare, facts);
    expect(p.steps).toEqual([]);
    expect(p.refused).toEqual([]);
    expect(p.kept).toEqual(expect.arrayContaining([
      'kernel parameter iommu=pt (not named; --exact to remove)',
      'kernel parameter video=efifb:off (not named; --exact to remove)',
      'blacklist nouveau (not named; --exact to remove)',
      expect.stringMatching(/^device 0000:01:00\.0 \(10de:2484\) bound to vfio-pci/),
      expect.stringMatching(/^device 0000:01:00\.1 \(10de:228b\) bound to vfio-pci/),
    ]));
    expect(verifyHost(bare, facts).filter((c) => c.status === 'fail')).toEqual([]);
  });

  it('the same declaration with exact (the default) removes them', () => {
    const p = planHost(makeNode({}), facts);
    expect(p.steps.some((s) => s.kind === 'remove-file' || s.kind === 'write-file')).toBe(true);
    expect(p.kept).toBeUndefined();
  });

  it('is idempotent: resolving a resolved node keeps nothing more', () => {
    const once = keepCurrentHost(makeNode({ exact: false }), facts);
    expect(keepCurrentHost(once.node, facts).kept).toEqual([]);
  });
});
