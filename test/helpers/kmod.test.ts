/**
 * The kmod rules the tool's modprobe.d design rests on, asked of the real kmod (see kmod.ts for
 * the sources: modprobe(8), modprobe.d(5), libkmod/libkmod-module.c). If a kmod release changes
 * one of them, this file says which.
 */
import { describe, expect, it } from 'vitest';
import { kmodMissing, kmodTitle, replayBoot, withKmod } from './kmod.js';

const MODULES = ['drivers/net/ethernet/intel/igc/igc', 'drivers/vfio/pci/vfio-pci', 'drivers/vfio/vfio'];

describe.skipIf(kmodMissing !== null)(kmodTitle('real kmod: the rules the binding relies on'), () => {
  it('ignores the install command of a module that has a softdep (libkmod ignorecmd)', () => {
    const conf = { 'x.conf': 'softdep igc pre: vfio-pci\ninstall igc echo hook; modprobe -i igc $CMDLINE_OPTS\n' };
    const actions = withKmod({ modules: MODULES, conf }, (t) => t.showDepends('igc'));
    expect(actions.map((a) => `${a.kind} ${a.module}`)).toEqual(['insmod vfio_pci', 'insmod igc']);
  });

  it('runs the install command of a softdep pre module, before the module that asked for it', () => {
    const conf = { 'x.conf': 'softdep igc pre: vfio-pci\ninstall vfio-pci echo hook; modprobe -i vfio-pci $CMDLINE_OPTS\n' };
    const actions = withKmod({ modules: MODULES, conf }, (t) => t.showDepends('igc'));
    expect(actions.map((a) => `${a.kind} ${a.module}`)).toEqual(['install vfio_pci', 'insmod igc']);
  });

  it('never probes a built-in module: neither its softdep nor any install command runs', () => {
    const conf = { 'x.conf': 'softdep igc pre: vfio-pci\ninstall vfio-pci echo hook; modprobe -i vfio-pci\n' };
    withKmod({ modules: MODULES.slice(1), builtin: [MODULES[0]!], conf }, (t) => {
      expect(t.dryRun('igc')).toEqual([]);
      expect(replayBoot(t, [{ by: 'udev', module: 'igc' }]).flatMap((b) => b.actions)).toEqual([{ kind: 'builtin', module: 'igc' }]);
    });
  });

  it('uses the first install command and softdep read (files in name order); options accumulate', () => {
    const conf = {
      'a.conf': 'install vfio_pci echo first\noptions vfio-pci ids=8086:1533\nsoftdep igc pre: vfio\n',
      'b.conf': 'install vfio-pci echo second\noptions vfio_pci ids=10de:1b80\nsoftdep igc pre: vfio-pci\n',
    };
    const config = withKmod({ modules: MODULES, conf }, (t) => t.config());
    expect(config.installs.get('vfio_pci')).toBe('echo first');
    expect(config.options.get('vfio_pci')).toEqual(['ids=8086:1533', 'ids=10de:1b80']);
    expect(config.softdeps.get('igc')).toEqual({ pre: ['vfio'], post: [] });
  });

  it('reports a line it rejects, naming file and line', () => {
    const config = withKmod({ modules: MODULES, conf: { 'bad.conf': '# ok\noptions vfio-pci\n' } }, (t) => t.config());
    expect(config.errors.join('\n')).toMatch(/bad\.conf line 2: ignoring bad line starting with 'options'/);
  });

  it('replays a boot: a blacklisted driver is refused, a loaded module is not loaded twice', () => {
    const conf = { 'x.conf': 'blacklist vfio\nsoftdep igc pre: vfio-pci\n' };
    const boot = withKmod({ modules: MODULES, conf }, (t) => replayBoot(t, [
      { by: 'modules-load', module: 'vfio_pci' }, { by: 'udev', module: 'igc' }, { by: 'modules-load', module: 'vfio' },
    ]));
    expect(boot.map((b) => [b.request, b.blacklisted, b.actions.map((a) => `${a.kind} ${a.module}`)])).toEqual([
      ['modules-load: vfio_pci', false, ['insmod vfio_pci']],
      ['udev: igc', false, ['insmod igc']],
      ['modules-load: vfio', true, []],
    ]);
  });
});
