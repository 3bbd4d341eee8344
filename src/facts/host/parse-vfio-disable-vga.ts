/**
 * `cat /sys/module/vfio_pci/parameters/disable_vga`: the value vfio-pci RUNS with.
 *
 * disable_vga is `module_param(disable_vga, bool, S_IRUGO)` in drivers/vfio/pci/vfio_pci.c:
 * read-only at run time, set once when the module loads (modprobe.d options, then the
 * command line's `vfio_pci.disable_vga=`, which kmod appends last). The kernel prints a bool
 * parameter as `Y` or `N` (kernel/params.c param_get_bool). The file is absent when vfio_pci
 * is not loaded, and also when it is loaded but built without CONFIG_VFIO_PCI_VGA: then the
 * parameter does not exist and vfio_pci_init passes `is_disable_vga = true`, so VGA access
 * is always off. Which of the two an absent file means is decided with /proc/modules
 * (operations/host/disable-vga.ts).
 *
 * value: true = `Y`, false = `N`, null = no such file; undefined when the output is neither
 * (an error: the value is unknown).
 */
import { excerpt, splitLines, type Parsed } from './text.js';

export const VFIO_DISABLE_VGA_PARAM = '/sys/module/vfio_pci/parameters/disable_vga';

/** What `cat` prints (stderr is part of the section) when the file does not exist. */
const ABSENT = `cat: ${VFIO_DISABLE_VGA_PARAM}: No such file or directory`;

export function parseVfioDisableVga(output: string, rc: number): Parsed<boolean | null | undefined> {
  const lines = splitLines(output);
  const only = lines.length === 1 ? lines[0] : undefined;
  if (rc === 0 && only === 'Y') return { value: true, errors: [] };
  if (rc === 0 && only === 'N') return { value: false, errors: [] };
  if (rc !== 0 && only === ABSENT) return { value: null, errors: [] };
  return { value: undefined, errors: [`${VFIO_DISABLE_VGA_PARAM}: unexpected ${excerpt(output)} (exit ${rc}); a bool module parameter reads Y or N`] };
}
