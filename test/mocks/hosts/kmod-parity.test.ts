/**
 * The simulator's module loader (mocks/hosts/modprobe-config.ts: parseModprobe + replayLoads,
 * which the boot model uses to decide every driver) against the real kmod on the same files:
 * for each boot's load requests, the same modules load in the same order, the same install
 * commands run, the same requests are refused as blacklisted. kmod's rules are cited in
 * test/helpers/kmod.ts (modprobe.d(5), libkmod-module.c).
 */
import { describe, expect, it } from 'vitest';
import { kernelBool } from '../../../mocks/hosts/kernel.js';
import { parseModprobe, replayLoads } from '../../../mocks/hosts/modprobe-config.js';
import { cmdlineOracleMissing, kmodMissing, kmodTitle, norm, replayBoot, withKmod } from '../../helpers/kmod.js';

const FILES = {
  igc: 'drivers/net/ethernet/intel/igc/igc', i40e: 'drivers/net/ethernet/intel/i40e/i40e', nouveau: 'drivers/gpu/drm/nouveau/nouveau',
  vfio: 'drivers/vfio/vfio', vfio_iommu_type1: 'drivers/vfio/vfio_iommu_type1', vfio_pci: 'drivers/vfio/pci/vfio-pci', ptp: 'drivers/ptp/ptp',
  snd_hda_intel: 'sound/pci/hda/snd-hda-intel',
};
type Mod = keyof typeof FILES;
const ALL = Object.keys(FILES) as Mod[];
const BOOT = ['igc', 'i40e', 'nouveau', 'snd_hda_intel', 'vfio', 'vfio_iommu_type1', 'vfio_pci'];
const HOOK = 'echo vfio-pci > /sys/bus/pci/devices/0000:05:00.0/driver_override; modprobe -i vfio-pci $CMDLINE_OPTS';

const cases: { name: string; conf: Record<string, string>; modules?: Mod[]; builtin?: Mod[]; requests?: string[] }[] = [
  { name: 'the old per-driver hook beside a softdep (kmod ignores it)', conf: { 'pve-passthrough.conf': `softdep igc pre: vfio-pci\ninstall igc ${HOOK.replace(/vfio-pci \$/, 'igc $')}\n` } },
  { name: 'the hook on vfio-pci pulled in by the softdep', conf: { 'pve-passthrough.conf': `softdep igc pre: vfio-pci\ninstall vfio-pci ${HOOK}\n` } },
  { name: 'the hook on vfio-pci without vfio-pci.ko (an initramfs)', conf: { 'pve-passthrough.conf': `softdep igc pre: vfio-pci\ninstall vfio-pci ${HOOK}\n` }, modules: ['igc', 'i40e', 'nouveau', 'snd_hda_intel'] },
  { name: 'vfio-pci first (modules-load order)', conf: { 'pve-passthrough.conf': `softdep igc pre: vfio-pci\ninstall vfio-pci ${HOOK}\n` }, requests: ['vfio', 'vfio_pci', 'igc'] },
  { name: 'two install commands for one module: the file read first wins', conf: { 'zz.conf': 'install vfio_pci echo second; modprobe -i vfio-pci\n', 'aa.conf': 'install vfio-pci echo first; modprobe -i vfio-pci\nsoftdep igc pre: vfio_pci\n' } },
  { name: 'two softdeps for one module: the first wins', conf: { 'a.conf': 'softdep igc pre: ptp\n', 'b.conf': 'softdep igc pre: vfio-pci\ninstall vfio-pci echo x; modprobe -i vfio-pci\n' } },
  { name: 'a softdep with post modules also silences the install command', conf: { 'x.conf': 'softdep igc post: ptp\ninstall igc echo hook; modprobe -i igc\n' } },
  { name: 'a softdep naming no module does not silence the install command', conf: { 'x.conf': 'softdep igc pre: no-such-module\ninstall igc echo hook; modprobe -i igc\n' } },
  { name: 'a blacklisted request is refused; a blacklisted softdep still loads', conf: { 'b.conf': 'blacklist nouveau\nblacklist vfio_pci\nsoftdep igc pre: vfio-pci\n' } },
  { name: 'the PVE docs setup: ids, softdeps, /etc/modules', conf: { 'vfio.conf': 'options vfio-pci ids=10de:1b80,10de:10f0 disable_vga=1\nsoftdep nouveau pre: vfio-pci\nsoftdep snd_hda_intel pre: vfio-pci\n', 'pve-blacklist.conf': 'blacklist nvidiafb\n' } },
  { name: 'continuations, comments, CRLF and -/_ mixed', conf: { 'x.conf': '# softdep igc pre: ptp\r\nsoftdep i40e \\\npre: vfio_pci\r\ninstall vfio_pci echo y; \\\nmodprobe -i vfio-pci\r\n' } },
  { name: 'a built-in host driver: nothing runs for it', conf: { 'pve-passthrough.conf': `softdep igc pre: vfio-pci\ninstall vfio-pci ${HOOK}\n` }, builtin: ['igc'] },
  { name: 'a built-in vfio-pci: its hook never runs', conf: { 'pve-passthrough.conf': `softdep igc pre: vfio-pci\ninstall vfio-pci ${HOOK}\n` }, builtin: ['vfio_pci'] },
];

describe.skipIf(kmodMissing !== null)(kmodTitle('simulator module loading = real kmod'), () => {
  it.each(cases)('$name', (c) => {
    const builtin = c.builtin ?? [];
    const modules = (c.modules ?? ALL).filter((m) => !builtin.includes(m));
    const requests = c.requests ?? BOOT;
    const kmod = withKmod({ modules: modules.map((m) => FILES[m]), builtin: builtin.map((m) => FILES[m]), conf: c.conf }, (t) => replayBoot(t, requests.map((module) => ({ by: 'udev' as const, module }))));
    const files = Object.entries(c.conf).map(([name, content]) => ({ path: `/etc/modprobe.d/${name}`, content }));
    const sim = replayLoads(parseModprobe(files), { available: new Set(modules.map(norm)), builtin: new Set(builtin.map(norm)) }, requests);
    const view = (loads: readonly { blacklisted: boolean; actions: readonly { kind: string; module: string }[] }[]) => loads.map((l) => (l.blacklisted ? 'blacklisted' : l.actions.map((a) => `${a.kind} ${a.module}`).join(', ')));
    expect(view(sim)).toEqual(view(kmod));
    // The install commands are the configured ones (kmod appends the module's options).
    const simCmds = sim.flatMap((l) => l.actions.flatMap((a) => (a.kind === 'install' ? [a.command] : [])));
    const kmodCmds = kmod.flatMap((l) => l.actions.flatMap((a) => (a.kind === 'install' ? [a.command] : [])));
    expect(kmodCmds.length).toBe(simCmds.length);
    kmodCmds.forEach((k, i) => expect(k.startsWith(simCmds[i]!.trim()), `${k} / ${simCmds[i]}`).toBe(true));
  });
});

/**
 * disable_vga, the value behind /sys/module/vfio_pci/parameters/disable_vga in the simulator:
 * which `disable_vga` word comes last in the option string kmod hands to the kernel for vfio-pci
 * (`insmod vfio-pci.ko <options>` from --show-depends: modprobe.d options in reading order, then
 * the command line's, which libkmod-config.c parses after the files). The kernel applies them in
 * order (kernel/params.c parse_args), so the last one sets it, with kstrtobool's reading
 * (kernelBool, cited in mocks/hosts/kernel.ts). Cases with a command line show kmod a
 * bind-mounted /proc/cmdline (test/helpers/kmod.ts) and skip, saying so, where that is not possible.
 */
interface OptionCase { name: string; conf: Record<string, string>; cmdline?: string }

/**
 * The option words real kmod hands vfio-pci for a case (`insmod vfio-pci.ko <options>` from
 * --show-depends), and the simulator's rules for the same files; null when the case needs a chosen
 * command line this machine cannot show kmod (skipped, saying so).
 */
function vfioPciOptions(c: OptionCase): { words: string[]; simulated: ReturnType<typeof parseModprobe> } | null {
  if (c.cmdline !== undefined && cmdlineOracleMissing() !== null) {
    console.warn(`kmod-parity: "${c.name}" skipped: ${cmdlineOracleMissing()}`);
    return null;
  }
  const spec = { modules: [FILES.vfio_pci], conf: c.conf, ...(c.cmdline !== undefined ? { cmdline: c.cmdline } : {}) };
  const options = withKmod(spec, (t) => t.showDepends('vfio_pci')).find((a) => a.kind === 'insmod' && a.module === 'vfio_pci');
  expect(options?.kind).toBe('insmod');
  const files = Object.entries(c.conf).map(([name, content]) => ({ path: `/etc/modprobe.d/${name}`, content }));
  return { words: (options?.kind === 'insmod' ? options.options : '').split(/\s+/), simulated: parseModprobe(files, c.cmdline ?? '') };
}

const VGA_CASES: OptionCase[] = [
  { name: 'the PVE docs line', conf: { 'vfio.conf': 'options vfio-pci ids=10de:2484,10de:228b disable_vga=1\n' } },
  { name: 'no disable_vga: off', conf: { 'vfio.conf': 'options vfio-pci ids=10de:2484\n' } },
  { name: 'two files: the one read last wins', conf: { 'b.conf': 'options vfio-pci disable_vga=0\n', 'a.conf': 'options vfio_pci disable_vga=1\n' } },
  { name: 'two words on one line: the second wins', conf: { 'a.conf': 'options vfio-pci disable_vga=0 disable_vga=on\n' } },
  { name: 'a bare disable_vga sets it', conf: { 'a.conf': 'options vfio-pci disable_vga=0\noptions vfio-pci disable_vga\n' } },
  { name: 'the command line after modprobe.d: on', conf: { 'a.conf': 'options vfio-pci disable_vga=0\n' }, cmdline: 'BOOT_IMAGE=/boot/vmlinuz ro vfio_pci.disable_vga=1 quiet' },
  { name: 'the command line after modprobe.d: off', conf: { 'a.conf': 'options vfio-pci disable_vga=1\n' }, cmdline: 'BOOT_IMAGE=/boot/vmlinuz ro vfio-pci.disable_vga=N' },
  { name: 'another module\'s disable_vga is not vfio-pci\'s', conf: { 'a.conf': 'options vfio-pci disable_vga=1\noptions vfio_pci_core disable_vga=0\n' }, cmdline: 'ro vfio_pci_core.disable_vga=0' },
];

describe.skipIf(kmodMissing !== null)(kmodTitle('simulator disable_vga = the last disable_vga real kmod passes to vfio-pci'), () => {
  it.each(VGA_CASES)('$name', (c) => {
    const o = vfioPciOptions(c);
    if (!o) return;
    const last = o.words.filter((w) => w === 'disable_vga' || w.startsWith('disable_vga=')).at(-1);
    const kmodValue = last === undefined ? false : kernelBool(last.includes('=') ? last.slice(last.indexOf('=') + 1) : null);
    expect(o.simulated.vfioDisableVga).toBe(kmodValue);
  });
});

/**
 * ids=, the devices the simulated vfio-pci claims: the same path as disable_vga above. kmod
 * concatenates every `options vfio_pci` line (files in reading order, then the command line) and
 * the kernel sets the string parameter once per word (kernel/params.c parse_args,
 * param_set_copystring), so vfio-pci uses the LAST ids=, never the union. A host with two ids=
 * lines, the case issue 13 found by hand-configured hosts, binds only the last list.
 */
const IDS_CASES: OptionCase[] = [
  { name: 'the PVE docs line', conf: { 'vfio.conf': 'options vfio-pci ids=10de:2484,10de:228b disable_vga=1\n' } },
  { name: 'two files: the one read last wins, not the union', conf: { 'vfio.conf': 'options vfio-pci ids=10de:2484,10de:228b\n', 'pve-passthrough.conf': 'options vfio_pci ids=8086:10d3\n' } },
  { name: 'two lines in one file', conf: { 'vfio.conf': 'options vfio-pci ids=10de:2484\noptions vfio-pci disable_vga=1 ids=1002:67df\n' } },
  { name: 'the command line after modprobe.d', conf: { 'vfio.conf': 'options vfio-pci ids=10de:2484\n' }, cmdline: 'BOOT_IMAGE=/boot/vmlinuz ro vfio-pci.ids=8086:10d3 quiet' },
];

describe.skipIf(kmodMissing !== null)(kmodTitle('simulator vfio-pci ids = the last ids= real kmod passes to vfio-pci'), () => {
  it.each(IDS_CASES)('$name', (c) => {
    const o = vfioPciOptions(c);
    if (!o) return;
    const last = o.words.filter((w) => w.startsWith('ids=')).at(-1);
    const kmodIds = last === undefined ? [] : last.slice(4).split(',').sort();
    expect([...o.simulated.vfioIds].sort()).toEqual(kmodIds);
  });
});
