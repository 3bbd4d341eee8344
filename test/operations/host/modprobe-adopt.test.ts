/**
 * One owner per modprobe setting (src/operations/host/modprobe-adopt.ts),
 * through planHost on the pve9 Intel facts (RTX 3070 + audio, nouveau /
 * snd_hda_intel): what the operator's own lines already do is not written
 * again; a setting they configure differently is taken over (their line
 * commented out with the run id, the merged line in the tool's file); what
 * cannot be combined blocks the node with file and line; and dropping the
 * declaration puts their lines back byte for byte.
 */
import { describe, expect, it } from 'vitest';
import { modprobeConfigFrom, softdepOf, vfioPciIds } from '../../../src/facts/host/modprobe-d.js';
import type { HostFacts } from '../../../src/facts/host/types.js';
import { normalizeTakeoverMarkers } from '../../../src/operations/host/modprobe-adopt.js';
import { planHost } from '../../../src/operations/host/plan-host.js';
import type { HostStep } from '../../../src/operations/types.js';
import { applyStepsToFacts } from './apply-steps.js';
import { makeNode, pve9IntelGrub, withFiles } from './facts-factory.js';
import { kmodMissing, kmodTree } from '../../helpers/kmod.js';

const OWNED = '/etc/modprobe.d/pve-passthrough.conf';
const node = makeNode({ devices: [{ address: '0000:01:00.0' }] });
const ALL_LOADED = { '/etc/modules': 'vfio\nvfio_iommu_type1\nvfio_pci\n' };
const writes = (steps: readonly HostStep[]): Record<string, string | null> =>
  Object.fromEntries(steps.flatMap((s): [string, string | null][] => (s.kind === 'write-file' ? [[s.path, s.after]] : s.kind === 'remove-file' ? [[s.path, null]] : [])));
const plan = (f: HostFacts) => planHost(node, f, { runId: 'RUN1' });

describe('what the operator already configures is not written again', () => {
  it('ids, softdeps (or a blacklist) and modules all in place by hand: no modprobe or modules-load step', () => {
    const f = withFiles(pve9IntelGrub(), { ...ALL_LOADED, '/etc/modprobe.d/vfio.conf': 'options vfio-pci ids=10de:228b,10de:2484\nsoftdep nouveau pre: vfio-pci\nsoftdep snd-hda-intel pre: vfio_pci drm\n' });
    const p = plan(f);
    expect(p.refused).toEqual([]);
    // nvidiafb (a lspci candidate of the GPU) is blacklisted by PVE's own file: no softdep needed.
    expect(p.steps.filter((s) => 'path' in s)).toEqual([]);
  });
  it('an ids= that a later options line overrides does not count (kmod concatenates, the kernel keeps the last): both lines are taken over', () => {
    const f = withFiles(pve9IntelGrub(), { ...ALL_LOADED, '/etc/modprobe.d/a.conf': 'options vfio-pci ids=10de:2484,10de:228b\n', '/etc/modprobe.d/z.conf': 'options vfio-pci ids=10de:2484\nsoftdep nouveau pre: vfio-pci\nsoftdep snd_hda_intel pre: vfio-pci\n' });
    const w = writes(plan(f).steps);
    expect(Object.keys(w).sort()).toEqual(['/etc/modprobe.d/a.conf', OWNED, '/etc/modprobe.d/z.conf']);
    expect(w[OWNED]).toMatch(/^options vfio-pci ids=10de:2484,10de:228b$/m);
  });
});

describe('taking a line over', () => {
  const partial = () => withFiles(pve9IntelGrub(), { ...ALL_LOADED, '/etc/modprobe.d/vfio.conf': '# mine\r\noptions vfio-pci ids=10de:2484 disable_vga=1\nsoftdep nouveau pre: drm\nsoftdep nouveau pre: other\n' });

  it('moves the merged settings into the tool\'s file and comments every operator line for them out, naming the run', () => {
    const p = plan(partial());
    const w = writes(p.steps);
    expect(w['/etc/modprobe.d/vfio.conf']).toBe('# mine\r\n# pve-passthrough RUN1 took over: options vfio-pci ids=10de:2484 disable_vga=1\n'
      + '# pve-passthrough RUN1 took over: softdep nouveau pre: drm\n# pve-passthrough RUN1 took over: softdep nouveau pre: other\n');
    expect(w[OWNED]).toContain('options vfio-pci ids=10de:2484,10de:228b disable_vga=1\nsoftdep nouveau pre: drm vfio-pci\n');
    expect(p.warnings.map((x) => x.message).join('\n')).toMatch(/line 2 \(options vfio-pci ids=10de:2484 disable_vga=1\) is taken over/);
    // The effective configuration afterwards: one ids= line, and nouveau's first softdep loads vfio-pci.
    const after = modprobeConfigFrom(applyStepsToFacts(partial(), p.steps).files).value;
    expect(vfioPciIds(after).value).toMatchObject({ ids: ['10de:2484', '10de:228b'] });
    expect(vfioPciIds(after).value.lines).toHaveLength(1);
    expect(softdepOf(after, 'nouveau')?.pre).toEqual(['drm', 'vfio-pci']);
    // The same files asked of real kmod (modprobe -c): one ids= for vfio_pci, nouveau's softdep loads vfio-pci.
    if (kmodMissing) return void console.warn(`modprobe-adopt.test.ts: real-kmod check skipped: ${kmodMissing}`);
    const files = applyStepsToFacts(partial(), p.steps).files;
    const conf = Object.fromEntries(Object.values(files).filter((x) => x.path.startsWith('/etc/modprobe.d/') && x.content !== null).map((x) => [x.path.slice(16), x.content as string]));
    const tree = kmodTree({ modules: ['vfio-pci', 'nouveau', 'drm', 'snd-hda-intel'], conf });
    try {
      const cfg = tree.config();
      expect((cfg.options.get('vfio_pci') ?? []).filter((o) => /\bids=/.test(o))).toEqual(['ids=10de:2484,10de:228b disable_vga=1']);
      expect(cfg.softdeps.get('nouveau')?.pre).toEqual(['drm', 'vfio_pci']);
    } finally {
      tree.close();
    }
  });

  it('a second run keeps the first run\'s markers (no step), and saved plans compare equal whatever the run id', () => {
    const first = plan(partial());
    const applied = applyStepsToFacts(partial(), first.steps);
    expect(planHost(node, applied, { runId: 'RUN2' }).steps.filter((s) => 'path' in s)).toEqual([]);
    const other = planHost(node, partial(), { runId: 'RUN9' });
    const afters = (steps: readonly HostStep[]) => steps.map((s) => (s.kind === 'write-file' ? normalizeTakeoverMarkers(s.after) : s.kind));
    expect(afters(other.steps)).toEqual(afters(first.steps));
    expect(JSON.stringify(other.steps)).not.toBe(JSON.stringify(first.steps));
  });

  it('without the declaration the operator\'s lines come back byte for byte and the tool\'s file goes', () => {
    const before = partial();
    const applied = applyStepsToFacts(before, plan(before).steps);
    const removal = planHost(makeNode({ devices: [] }), applied, { runId: 'RUN3' });
    const w = writes(removal.steps);
    expect(w['/etc/modprobe.d/vfio.conf']).toBe(before.files['/etc/modprobe.d/vfio.conf']!.content);
    expect(w[OWNED]).toBeNull();
  });
});

describe('vfio-pci.ids= on the kernel command line (kmod passes it after the files: it wins)', () => {
  const grub = (tokens: string) => ({ ...ALL_LOADED, '/etc/default/grub': `GRUB_CMDLINE_LINUX_DEFAULT="quiet ${tokens}"\n`, '/etc/modprobe.d/vfio.conf': 'softdep nouveau pre: vfio-pci\nsoftdep snd_hda_intel pre: vfio-pci\n' });
  it('naming every declared id: no ids= line of the tool\'s', () => {
    const p = plan(withFiles(pve9IntelGrub(), grub('vfio-pci.ids=10de:2484,10de:228b')));
    expect(p.refused).toEqual([]);
    expect(p.steps.filter((s) => 'path' in s)).toEqual([]);
  });
  it('missing one: the node is blocked, nothing written', () => {
    const p = plan(withFiles(pve9IntelGrub(), grub('vfio_pci.ids=10de:2484')));
    expect(p.steps).toEqual([]);
    expect(p.refused.map((r) => r.reason).join('\n')).toMatch(/vfio_pci\.ids=10de:2484 is configured for the next boot; .* does not name 10de:228b/);
  });
});

describe('what cannot be combined blocks the node, naming file and line; nothing is written', () => {
  it.each([
    ['an operator install command for a driver that needs a softdep', { '/etc/modprobe.d/nv.conf': 'blacklist x\ninstall nouveau /sbin/modprobe --ignore-install nouveau modeset=0\n' }, /file \/etc\/modprobe\.d\/nv\.conf: line 2: install nouveau is the operator's; a softdep .* would make kmod ignore/],
    ['a different ids= in a package file', { '/lib/modprobe.d/vendor.conf': 'options vfio-pci ids=10de:2484\n' }, /file \/lib\/modprobe\.d\/vendor\.conf: line 1 configures options vfio-pci ids= differently .*only files in \/etc\/modprobe\.d\//],
  ])('%s', (_name, files, message) => {
    const p = plan(withFiles(pve9IntelGrub(), { ...ALL_LOADED, ...files }));
    expect(p.steps).toEqual([]);
    expect(p.refused.map((r) => `${r.subject}: ${r.reason}`).join('\n')).toMatch(message);
  });
});
