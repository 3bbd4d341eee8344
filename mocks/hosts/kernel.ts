/**
 * Kernel facts the simulated host enforces (proxmox/pve-kernel debian/rules and
 * config-common.opts; the kernel's Documentation/admin-guide/kernel-parameters.txt):
 * version order, which IOMMU is on by default, which vfio modules exist.
 */

/** Numeric parts of a kernel release: 6.17.2-1-pve -> [6, 17, 2, 1]. */
export function kernelParts(release: string): number[] {
  return (release.match(/\d+/g) ?? []).slice(0, 4).map(Number);
}

export function compareKernels(a: string, b: string): number {
  const pa = kernelParts(a);
  const pb = kernelParts(b);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return a < b ? -1 : a > b ? 1 : 0;
}

export function kernelAtLeast(release: string, major: number, minor: number): boolean {
  const [ma = 0, mi = 0] = kernelParts(release);
  return ma > major || (ma === major && mi >= minor);
}

/** Proxmox kernels turn the Intel IOMMU on by default from 6.8; Debian's own kernels already did (INTEL_IOMMU_DEFAULT_ON_INTGPU_OFF). */
export function intelIommuDefaultOn(release: string): boolean {
  return release.endsWith('-pve') ? kernelAtLeast(release, 6, 8) : true;
}

/** vfio_virqfd was folded into vfio.ko in 6.2: the module no longer exists there. */
export function hasVirqfdModule(release: string): boolean {
  return !kernelAtLeast(release, 6, 2);
}

/** Command-line tokens as the kernel splits them (no quoting in our profiles). */
export function cmdlineTokens(cmdline: string): string[] {
  return cmdline.split(/\s+/).filter(Boolean);
}

/** Value of the last `key=` token, or undefined. */
export function cmdlineValue(cmdline: string, key: string): string | undefined {
  let v: string | undefined;
  for (const t of cmdlineTokens(cmdline)) if (t.startsWith(`${key}=`)) v = t.slice(key.length + 1);
  return v;
}

/** modprobe treats `-` and `_` alike in module names. */
export function moduleKey(name: string): string {
  return name.replace(/-/g, '_');
}

/**
 * A bool module parameter as the kernel sets it (kernel/params.c param_set_bool ->
 * lib/kstrtox.c kstrtobool): no `=` means set; then only the first characters count
 * (1/y/t or "on" = true, 0/n/f or "of…" = false). Anything else is -EINVAL, and the
 * module fails to load; the simulator does not model that failure (README "Not modelled")
 * and keeps the previous value.
 */
export function kernelBool(value: string | null): boolean | undefined {
  if (value === null) return true;
  const c = value[0] ?? '';
  if ('1yYtT'.includes(c) && c !== '') return true;
  if ('0nNfF'.includes(c) && c !== '') return false;
  if (c === 'o' || c === 'O') {
    const d = value[1] ?? '';
    if (d === 'n' || d === 'N') return true;
    if (d === 'f' || d === 'F') return false;
  }
  return undefined;
}
