import { describe, expect, it } from 'vitest';
import { evaluateGrub, grubSourceOrder, parseGrubAssignments, refersToSelf } from '../../../src/operations/host/grub-config.js';
import { fixture, pve9IntelGrub, withFiles } from './facts-factory.js';

const parse = (name: string) => parseGrubAssignments(`/x/${name}`, fixture(`grub-default/${name}`));

describe('parseGrubAssignments over fixtures', () => {
  it('debian-stock: reads the live assignments, not the commented one', () => {
    const a = parse('debian-stock.txt');
    expect(a.map((x) => [x.variable, x.line, x.parts])).toEqual([
      ['GRUB_CMDLINE_LINUX_DEFAULT', 9, [{ lit: 'quiet' }]],
      ['GRUB_CMDLINE_LINUX', 10, []],
    ]);
  });
  it('howto-edited: trailing comment and unrelated backticks are fine', () => {
    const a = parse('howto-edited.txt');
    expect(a.map((x) => x.parts)).toEqual([[{ lit: 'quiet intel_iommu=on iommu=pt' }], [{ lit: 'root=ZFS=rpool/ROOT/pve-1 boot=zfs' }]]);
  });
  it('mixed-quoting: export, single quotes, ${VAR}, escapes, bare words', () => {
    const a = parse('mixed-quoting.txt');
    expect(a[0]?.parts).toEqual([{ lit: 'quiet splash' }]);
    expect(a[1]?.parts).toEqual([{ ref: 'GRUB_CMDLINE_LINUX_DEFAULT' }, { lit: ' nomodeset "x"' }]);
    expect(refersToSelf(a[1]!)).toBe(true);
    expect(a[2]?.parts).toEqual([{ lit: 'console=ttyS0,115200' }]);
  });
  it.each([
    ['command-substitution.txt', /command substitution/],
    ['multi-line.txt', /unclosed double quote/],
    ['hostile-trailing-command.txt', /more after the value/],
  ])('%s is unreadable, not guessed', (name, why) => {
    const [a] = parse(name);
    expect(a?.parts).toBeNull();
    expect(a?.unreadable).toMatch(why);
  });
  it('override vs appending', () => {
    expect(refersToSelf(parse('override-later.txt')[0]!)).toBe(false);
    expect(refersToSelf(parse('appending-later.txt')[0]!)).toBe(true);
  });
});

describe('evaluateGrub', () => {
  it('sources the main file then grub.d/*.cfg in byte order, expanding the self reference', () => {
    const f = withFiles(pve9IntelGrub(), {
      '/etc/default/grub.d/zz-extra.cfg': fixture('grub-default/appending-later.txt'),
      '/etc/default/grub.d/50-vendor.cfg': fixture('grub-default/override-later.txt'),
      '/etc/default/grub.d/notes.txt': 'GRUB_CMDLINE_LINUX_DEFAULT="ignored"\n',
    });
    const order = grubSourceOrder(f.files);
    expect(order).toEqual(['/etc/default/grub', '/etc/default/grub.d/50-vendor.cfg', '/etc/default/grub.d/zz-extra.cfg']);
    const ev = evaluateGrub(f.files, order);
    expect(ev.linuxDefault).toBe('quiet splash initcall_blacklist=sysfb_init');
    expect(ev.linux).toBe('');
    expect(ev.unreadable).toEqual([]);
  });
  it('reports unreadable assignments', () => {
    const f = withFiles(pve9IntelGrub(), { '/etc/default/grub': fixture('grub-default/command-substitution.txt') });
    expect(evaluateGrub(f.files, grubSourceOrder(f.files)).unreadable).toHaveLength(1);
  });
});
