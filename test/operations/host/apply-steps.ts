/**
 * Test helper: what a host looks like after the plan's steps ran and,
 * optionally, after the reboot. Written independently of the planner (its
 * own tiny GRUB / modprobe reading), so the idempotency tests can fail.
 * The cmdline and the binding only change when the matching refresh step ran.
 */
import type { HostFacts, RemoteFile } from '../../../src/facts/host/types.js';
import type { HostStep } from '../../../src/operations/types.js';

const DROPIN = '/etc/default/grub.d/pve-passthrough.cfg';
const MODPROBE = '/etc/modprobe.d/pve-passthrough.conf';

function grubValue(content: string | null | undefined, name: string): string {
  const m = new RegExp(`^${name}="([^"]*)"`, 'm').exec(content ?? '');
  return m?.[1] ?? '';
}

function bootCmdline(f: HostFacts): string {
  if (f.bootLoader.kind === 'systemd-boot') {
    const line = (f.files['/etc/kernel/cmdline']?.content ?? '').split('\n')[0] ?? '';
    return `initrd=\\EFI\\proxmox\\${f.kernel.next}\\initrd.img-${f.kernel.next} ${line}`;
  }
  let def = grubValue(f.files['/etc/default/grub']?.content, 'GRUB_CMDLINE_LINUX_DEFAULT');
  const linux = grubValue(f.files['/etc/default/grub']?.content, 'GRUB_CMDLINE_LINUX');
  const dropins = Object.keys(f.files).filter((p) => p.startsWith('/etc/default/grub.d/') && p.endsWith('.cfg')).sort();
  for (const p of dropins) {
    const v = grubValue(f.files[p]?.content, 'GRUB_CMDLINE_LINUX_DEFAULT');
    if (v.startsWith('$GRUB_CMDLINE_LINUX_DEFAULT')) def += v.slice('$GRUB_CMDLINE_LINUX_DEFAULT'.length);
    else if (v) def = v;
  }
  return `BOOT_IMAGE=/boot/vmlinuz-${f.kernel.next} root=/dev/mapper/pve-root ro ${linux} ${def}`.replace(/\s+/g, ' ').trim();
}

export function applyStepsToFacts(
  facts: HostFacts,
  steps: readonly HostStep[],
  opts: { reboot?: boolean; groupsWhenActive?: Record<string, number> } = {},
): HostFacts {
  const files: Record<string, RemoteFile> = { ...facts.files };
  for (const s of steps) {
    if (s.kind === 'write-file') files[s.path] = { path: s.path, content: s.after, mode: s.mode, uid: s.uid, gid: s.gid };
    if (s.kind === 'remove-file') files[s.path] = { path: s.path, content: null };
  }
  const after: HostFacts = { ...facts, files };
  if (!opts.reboot) return after;

  const ran = new Set(steps.flatMap((s) => (s.kind === 'refresh' ? [s.command] : [])));
  const touched = steps.flatMap((s) => ('path' in s ? [s.path] : []));
  const loaderChanged = touched.some((p) => p === '/etc/kernel/cmdline' || p.startsWith('/etc/default/grub'));
  const loaderRefreshed = facts.bootLoader.proxmoxBootTool ? ran.has('proxmox-boot-tool-refresh') : ran.has('update-grub');
  const procCmdline = !loaderChanged || loaderRefreshed ? `${bootCmdline(after)}\n` : facts.procCmdline;

  // initramfs snapshot of the binding config
  const initramfsChanged = touched.some((p) => p.startsWith('/etc/modprobe.d/') || p.startsWith('/etc/modules'));
  const snap = initramfsChanged && !ran.has('update-initramfs') ? facts.files : files;
  const mp = snap[MODPROBE]?.content ?? '';
  const ids = new Set((/^options vfio-pci ids=(\S+)/m.exec(mp)?.[1] ?? '').split(',').filter(Boolean));
  const softdeps = new Set([...mp.matchAll(/^softdep (\S+) pre: vfio-pci$/gm)].map((m) => m[1]));
  const hooked = new Set([...mp.matchAll(/\/sys\/bus\/pci\/devices\/([0-9a-f:.]+)\/driver_override/g)].map((m) => m[1]));
  const blacklisted = new Set(Object.values(snap).flatMap((f) => [...(f.content ?? '').matchAll(/^blacklist (\S+)$/gm)].map((m) => m[1])));

  const tokens = procCmdline.split(/\s+/);
  const iommuOn = facts.iommu.active || tokens.includes('intel_iommu=on');
  const pci = facts.pci.map((p) => {
    const candidates = p.modules.filter((m) => !blacklisted.has(m));
    const hostDriver = p.driver && p.driver !== 'vfio-pci' ? p.driver : candidates.find((m) => m !== 'vfio-pci') ?? null;
    const vfio = hooked.has(p.address) || (ids.has(p.id) && (hostDriver === null || softdeps.has(hostDriver) || blacklisted.has(hostDriver)));
    const group = p.iommuGroup ?? (iommuOn ? opts.groupsWhenActive?.[p.address] ?? null : null);
    return { ...p, driver: vfio ? 'vfio-pci' : hostDriver, iommuGroup: group };
  });

  const toLoad = Object.keys(files)
    .filter((p) => p === '/etc/modules' || (p.startsWith('/etc/modules-load.d/') && p.endsWith('.conf')))
    .flatMap((p) => (files[p]?.content ?? '').split('\n').map((l) => l.trim().split(/\s+/)[0] ?? '').filter((m) => m && !m.startsWith('#')));
  const folded = !/^(5\.|6\.[01]\.)/.test(facts.kernel.next);
  const loadable = toLoad.filter((m) => !(folded && m === 'vfio_virqfd'));
  const modulesLoaded = [...new Set([...facts.modulesLoaded.filter((m) => !m.startsWith('vfio')), ...loadable])];
  const failedUnits = folded && toLoad.includes('vfio_virqfd') ? ['systemd-modules-load.service'] : [];

  return {
    ...after,
    kernel: { ...facts.kernel, running: facts.kernel.next },
    procCmdline,
    bootId: `${facts.bootId.slice(0, -4)}beef`,
    pci,
    modulesLoaded,
    failedUnits,
    iommu: iommuOn && !facts.iommu.active ? { ...facts.iommu, active: true, units: ['dmar0'] } : facts.iommu,
  };
}
