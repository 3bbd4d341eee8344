/**
 * modules-load.d(5), read the way systemd-modules-load reads it:
 *
 * - Directories, in this order: /etc/modules-load.d, /run/modules-load.d,
 *   /usr/local/lib/modules-load.d, /usr/lib/modules-load.d, /lib/modules-load.d
 *   (split-usr systems). Only `*.conf` directly inside; a name in an earlier
 *   directory hides the same name later; files are read in name order.
 * - One module name per line, surrounding blanks stripped; lines starting
 *   with `#` or `;` are comments. The whole line is the name: a line with
 *   parameters ("loop max_loop=64") is a module systemd cannot find, so the
 *   unit fails; that is an error here.
 * - Debian and PVE ship /etc/modules-load.d/modules.conf as a symlink to
 *   ../modules, which is how /etc/modules is read at all; without that link
 *   systemd does not read /etc/modules.
 * The files are passed in already (the symlink resolved by the caller).
 */
import { MODULE_NAME } from '../../patterns.js';
import { modprobeFileOrder } from './modprobe-d.js';
import { excerpt, splitLines, type Parsed } from './text.js';
import type { ModuleToLoad, RemoteFile } from './types.js';

/** Debian's link that makes systemd read /etc/modules. */
export const MODULES_CONF_LINK = '/etc/modules-load.d/modules.conf';

export const MODULES_LOAD_DIRS = ['/etc/modules-load.d', '/run/modules-load.d', '/usr/local/lib/modules-load.d', '/usr/lib/modules-load.d', '/lib/modules-load.d'] as const;

/** systemd's reading order of modules-load.d files (same rules as kmod's for modprobe.d). */
export function modulesLoadFileOrder(paths: Iterable<string>): string[] {
  return modprobeFileOrder(paths, MODULES_LOAD_DIRS);
}

/** One file's modules. `file` is the name systemd reads; `source` the file whose text it is (the link target). */
export function parseModulesLoad(file: string, content: string, source: string = file): Parsed<ModuleToLoad[]> {
  const modules: ModuleToLoad[] = [];
  const errors: string[] = [];
  const shown = source === file ? file : `${source} (read as ${file})`;
  splitLines(content).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) return;
    if (!MODULE_NAME.test(line)) {
      const why = /\s/.test(line) ? 'systemd-modules-load reads the whole line as one module name, so it fails on it' : 'not a module name';
      errors.push(`${shown}:${i + 1}: ${why}: ${excerpt(line)}`);
      return;
    }
    modules.push({ module: line, file: source, line: i + 1 });
  });
  return { value: modules, errors };
}

/** `/proc/modules`: the first field of each line. */
export function parseProcModules(output: string): Parsed<string[]> {
  const names: string[] = [];
  const errors: string[] = [];
  for (const line of splitLines(output)) {
    const name = line.split(' ')[0] ?? '';
    if (name === '') continue;
    if (MODULE_NAME.test(name)) names.push(name);
    else errors.push(`/proc/modules: unexpected line ${excerpt(line)}`);
  }
  return { value: names, errors };
}

/**
 * The modules systemd-modules-load loads, over read files. `readsEtcModules`:
 * modules.conf is the link to /etc/modules (then /etc/modules is read in its
 * place, in its name's order). `exclude` leaves files out (the tool's own).
 */
export function modulesToLoadFrom(files: Readonly<Record<string, RemoteFile>>, readsEtcModules: boolean, exclude: readonly string[] = []): Parsed<ModuleToLoad[]> {
  const linked = readsEtcModules && files[MODULES_CONF_LINK]?.content == null;
  const order = modulesLoadFileOrder([...Object.keys(files).filter((p) => files[p]?.content != null), ...(linked ? [MODULES_CONF_LINK] : [])]);
  const modules: ModuleToLoad[] = [];
  const errors: string[] = [];
  for (const path of order) {
    const source = linked && path === MODULES_CONF_LINK ? '/etc/modules' : path;
    const text = files[source]?.content;
    if (text == null || exclude.includes(source)) continue;
    const r = parseModulesLoad(path, text, source);
    modules.push(...r.value);
    errors.push(...r.errors);
  }
  return { value: modules, errors };
}
