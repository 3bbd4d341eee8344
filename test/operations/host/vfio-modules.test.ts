import { describe, expect, it } from 'vitest';
import { UnsafeContentError } from '../../../src/operations/host/paths.js';
import { desiredVfioModules, planVfioModules, renderModulesLoad } from '../../../src/operations/host/vfio-modules.js';
import { fixture, pve7Intel, pve9IntelGrub, withFiles } from './facts-factory.js';

const OWNED = '/etc/modules-load.d/pve-passthrough.conf';
const HEADER = '# Managed by pve-passthrough. Changes here are overwritten.';

describe('desiredVfioModules', () => {
  it.each([
    ['5.15.158-2-pve', ['vfio', 'vfio_iommu_type1', 'vfio_pci', 'vfio_virqfd']],
    ['6.1.10-1-pve', ['vfio', 'vfio_iommu_type1', 'vfio_pci', 'vfio_virqfd']],
    ['6.2.16-20-pve', ['vfio', 'vfio_iommu_type1', 'vfio_pci']],
    ['6.17.2-1-pve', ['vfio', 'vfio_iommu_type1', 'vfio_pci']],
  ])('next kernel %s', (next, expected) => {
    expect(desiredVfioModules(pve9IntelGrub({ kernel: { next } }))).toEqual(expected);
  });
  it('decides on the NEXT kernel, not the running one', () => {
    expect(desiredVfioModules(pve9IntelGrub({ kernel: { running: '5.15.158-2-pve', next: '6.8.12-9-pve' } }))).not.toContain('vfio_virqfd');
  });
});

describe('planVfioModules', () => {
  it('writes the owned file when devices are planned', () => {
    const r = planVfioModules(pve7Intel(), true);
    expect(r.changes).toEqual([{ path: OWNED, after: `${HEADER}\nvfio\nvfio_iommu_type1\nvfio_pci\nvfio_virqfd\n`, reason: expect.any(String) }]);
  });
  it('no devices: no file, and an existing owned file is removed', () => {
    expect(planVfioModules(pve9IntelGrub(), false).changes).toEqual([]);
    const had = withFiles(pve9IntelGrub(), { [OWNED]: renderModulesLoad(['vfio']) });
    expect(planVfioModules(had, false).changes).toEqual([{ path: OWNED, after: null, reason: expect.any(String) }]);
  });
  it('on >= 6.2 drops exactly the vfio_virqfd line of /etc/modules, keeping the rest', () => {
    const f = withFiles(pve9IntelGrub(), { '/etc/modules': fixture('etc-modules/howto-pve7.txt') });
    const r = planVfioModules(f, true);
    const edit = r.changes.find((c) => c.path === '/etc/modules');
    expect(edit?.after).toBe(fixture('etc-modules/howto-pve7.txt').replace('vfio_virqfd\n', ''));
    expect(r.warnings).toHaveLength(1);
  });
  it('matches vfio-virqfd spelled with a dash and indented, not in comments; keeps a missing final newline', () => {
    const f = withFiles(pve9IntelGrub(), { '/etc/modules-load.d/gpu.conf': fixture('etc-modules/no-trailing-newline.txt') });
    const edit = planVfioModules(f, true).changes.find((c) => c.path === '/etc/modules-load.d/gpu.conf');
    expect(edit?.after).toBe('# vfio for the GPU\nvfio\n# vfio_virqfd kept as a comment\nnct6775');
  });
  it('keeps vfio_virqfd on kernels < 6.2 and leaves stock files alone', () => {
    const f = withFiles(pve7Intel(), { '/etc/modules': fixture('etc-modules/howto-pve7.txt') });
    expect(planVfioModules(f, true).changes.map((c) => c.path)).toEqual([]);
    expect(planVfioModules(pve9IntelGrub(), true).changes.map((c) => c.path)).toEqual([OWNED]);
  });
  it('lists only the modules the operator\'s own files do not load (any modules-load.d directory, /etc/modules through modules.conf)', () => {
    const partial = withFiles(pve9IntelGrub(), { '/etc/modules': 'vfio\n', '/usr/lib/modules-load.d/vfio.conf': 'vfio-pci\n' });
    expect(planVfioModules(partial, true).changes).toEqual([expect.objectContaining({ path: OWNED, after: expect.stringMatching(/\nvfio_iommu_type1\n$/) })]);
    // Without Debian's modules.conf link systemd never reads /etc/modules.
    expect(planVfioModules({ ...partial, readsEtcModules: false }, true).changes[0]?.after).toMatch(/\nvfio\nvfio_iommu_type1\n$/);
    // The tool's file from an earlier run goes once the operator's lines cover it.
    const covered = withFiles(pve9IntelGrub(), { '/etc/modules': 'vfio\nvfio_iommu_type1\nvfio_pci\n', [OWNED]: renderModulesLoad(['vfio', 'vfio_iommu_type1', 'vfio_pci']) });
    expect(planVfioModules(covered, true).changes).toEqual([expect.objectContaining({ path: OWNED, after: null })]);
  });
  it('refuses to render a non-module name', () => {
    expect(() => renderModulesLoad(['vfio', 'x; reboot'])).toThrow(UnsafeContentError);
    expect(() => renderModulesLoad(['vfio\nevil'])).toThrow(UnsafeContentError);
  });
});
