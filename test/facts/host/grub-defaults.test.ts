/**
 * The one GRUB evaluator over single files as operators write them
 * (test/fixtures/operations/grub-default) and over drop-in sets, the way
 * grub-mkconfig sources them: /etc/default/grub, then grub.d/*.cfg in glob
 * (byte) order, every file with sh's rules.
 */
import { describe, expect, it } from 'vitest';
import { evaluateGrub, grubCmdlineText, grubInputs } from '../../../src/facts/host/grub-defaults.js';
import { fixture, pve9IntelGrub, withFiles } from '../../operations/host/facts-factory.js';

const one = (name: string) => evaluateGrub(new Map([['/etc/default/grub', fixture(`grub-default/${name}`)]]));

describe('GRUB defaults files as operators write them', () => {
  it('debian-stock: the live assignments, not the commented one', () => {
    const r = one('debian-stock.txt');
    expect(r.errors).toEqual([]);
    expect(r.value.assignments.map((a) => [a.name, a.line, a.value])).toEqual([
      ['GRUB_CMDLINE_LINUX_DEFAULT', 9, 'quiet'],
      ['GRUB_CMDLINE_LINUX', 10, ''],
    ]);
  });
  it('howto-edited: a trailing comment and unrelated backticks are fine', () => {
    const r = one('howto-edited.txt');
    expect(r.errors).toEqual([]);
    expect(grubCmdlineText(r.value)).toBe('root=ZFS=rpool/ROOT/pve-1 boot=zfs quiet intel_iommu=on iommu=pt');
  });
  it('mixed-quoting: export, single quotes, ${VAR}, escapes, bare words', () => {
    const r = one('mixed-quoting.txt');
    expect(r.value.cmdlineLinuxDefault).toBe('quiet splash nomodeset "x"');
    expect(r.value.assignments[1]?.selfReference).toBe(true);
    expect(r.value.cmdlineLinux).toBe('console=ttyS0,115200');
  });
  it('multi-line values are read as sh reads them', () => {
    expect(one('multi-line.txt').value.cmdlineLinuxDefault).toBe('quiet\n  intel_iommu=on');
  });
  it('command substitution is unknown, not guessed', () => {
    const r = one('command-substitution.txt');
    expect(r.value.cmdlineLinuxDefault).toBeNull();
    expect(r.errors.join('\n')).toMatch(/\/etc\/default\/grub:1: cannot evaluate GRUB_CMDLINE_LINUX_DEFAULT/);
  });
  it('a command after the assignment (`; rm -rf /boot`) is an error naming file, line and command: grub-mkconfig would run it', () => {
    const r = one('hostile-trailing-command.txt');
    expect(r.value.cmdlineLinuxDefault).toBe('quiet');
    expect(r.errors).toEqual([expect.stringMatching(/^\/etc\/default\/grub:1: runs the command "rm": grub-mkconfig sources this file as shell/)]);
  });
  it.each([
    ['GRUB_CMDLINE_LINUX_DEFAULT="quiet iommu=pt" true\n', 'quiet', [/:2: runs the command "true"/]],
    ['GRUB_CMDLINE_LINUX_DEFAULT+=" iommu=pt"\n', 'quiet', [/:2: .*not an assignment in sh/]],
    ['. /etc/default/grub-extra\n', 'quiet', [/:2: runs the command "\."/]],
    ['export GRUB_CMDLINE_LINUX_DEFAULT GRUB_TIMEOUT=3\n', 'quiet', []],
    ['GRUB_DISTRIBUTOR=`lsb_release -i -s 2> /dev/null || echo Debian`\n', 'quiet', []],
    ['GRUB_DISTRIBUTOR=`lsb_release -i -s`\n', 'quiet', [/:2: GRUB_DISTRIBUTOR=.* runs a command substitution/]],
    ['GRUB_CMDLINE_LINUX_DEFAULT="quiet iommu=pt" >> /tmp/log\n', null, [/:2: ">" \(a redirection\)/, /:2: cannot evaluate GRUB_CMDLINE_LINUX_DEFAULT=.*\(not a plain assignment\)/]],
    ['GRUB_CMDLINE_LINUX_DEFAULT="quiet iommu=pt" | cat\n', null, [/:2: "\|" \(a pipe/, /:2: cannot evaluate/]],
  ])('sh rules: %j', (line, value, errors) => {
    const r = evaluateGrub(new Map([['/etc/default/grub', `GRUB_CMDLINE_LINUX_DEFAULT="quiet"\n${line}`]]));
    expect(r.value.cmdlineLinuxDefault).toBe(value);
    expect(r.errors).toHaveLength(errors.length);
    errors.forEach((re, i) => expect(r.errors[i]).toMatch(re));
  });
});

describe('GRUB inputs of a host', () => {
  it('the main file then grub.d/*.cfg in byte order, expanding the self reference; other names ignored', () => {
    const f = withFiles(pve9IntelGrub(), {
      '/etc/default/grub.d/zz-extra.cfg': fixture('grub-default/appending-later.txt'),
      '/etc/default/grub.d/50-vendor.cfg': fixture('grub-default/override-later.txt'),
      '/etc/default/grub.d/notes.txt': 'GRUB_CMDLINE_LINUX_DEFAULT="ignored"\n',
      '/etc/default/grub.d/Z-upper.cfg': 'GRUB_CMDLINE_LINUX_DEFAULT="$GRUB_CMDLINE_LINUX_DEFAULT upper"\n',
    });
    const inputs = grubInputs(f.files);
    expect([...inputs.keys()]).toEqual(['/etc/default/grub', '/etc/default/grub.d/50-vendor.cfg', '/etc/default/grub.d/Z-upper.cfg', '/etc/default/grub.d/zz-extra.cfg']);
    expect(evaluateGrub(inputs).value.cmdlineLinuxDefault).toBe('quiet splash upper initcall_blacklist=sysfb_init');
    expect([...grubInputs(f.files, ['/etc/default/grub.d/50-vendor.cfg']).keys()]).not.toContain('/etc/default/grub.d/50-vendor.cfg');
  });
});
