/**
 * `grep -H . /lib/modules/*\/modules.builtin`: per installed kernel, the modules built into it.
 * Lines look like `/lib/modules/6.8.12-4-pve/modules.builtin:kernel/drivers/net/foo.ko`; the
 * module name is the file name without `.ko`, `-` normalised to `_` as kmod compares names.
 * A built-in driver binds its devices while the kernel starts, before modprobe.d or any
 * initramfs script (see operations/host/driver-binding.ts). No match (the glob stays literal,
 * grep exits 2) is an empty map: nothing known, nothing refused.
 */
import { kernelNumbers } from './parse-kernel.js';
import { excerpt, splitLines, type Parsed } from './text.js';

/** What grep says when the glob matched nothing (stderr is part of the section). */
const NO_MATCH = 'grep: /lib/modules/*/modules.builtin: No such file or directory';
const LINE = /^\/lib\/modules\/([^/]+)\/modules\.builtin:([A-Za-z0-9_./+-]+\.ko)$/;

export function parseModulesBuiltin(output: string): Parsed<Record<string, string[]>> {
  const byKernel: Record<string, string[]> = {};
  const errors: string[] = [];
  for (const line of splitLines(output)) {
    if (line === '' || line === NO_MATCH) continue;
    const m = LINE.exec(line);
    if (!m || kernelNumbers(m[1]!) === null || m[2]!.split('/').includes('..')) {
      errors.push(`modules.builtin: unexpected line ${excerpt(line)}`);
      continue;
    }
    const file = m[2]!.slice(m[2]!.lastIndexOf('/') + 1);
    const name = file.slice(0, -'.ko'.length).replace(/-/g, '_');
    (byKernel[m[1]!] ??= []).push(name);
  }
  for (const k of Object.keys(byKernel)) byKernel[k] = [...new Set(byKernel[k])].sort();
  return { value: byKernel, errors };
}
