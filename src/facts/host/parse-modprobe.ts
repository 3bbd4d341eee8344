/**
 * modprobe.d(5) files: `options`, `softdep`, `blacklist`, `install` (plus
 * `alias`/`remove`, which are accepted and ignored). `#` starts a comment
 * line; a trailing backslash continues a line. modprobe reads only `*.conf`
 * files, so callers pass only those. Module names are kept as written;
 * `sameModule` compares them the way modprobe does (`-` equals `_`).
 */
import { MODULE_NAME, PCI_ID } from '../../patterns.js';
import { excerpt, splitLines, type Parsed } from './text.js';
import type { ModprobeConfig } from './types.js';

export function normalizeModule(name: string): string {
  return name.replace(/-/g, '_');
}
export function sameModule(a: string, b: string): boolean {
  return normalizeModule(a) === normalizeModule(b);
}

/**
 * Logical lines as kmod reads them: a backslash-newline joins the next line
 * directly (no space added, also inside comments), then lines starting with
 * `#` are dropped. Each keeps the number of its first physical line.
 */
export function logicalLines(content: string): { text: string; line: number }[] {
  const out: { text: string; line: number }[] = [];
  let text: string | null = null;
  let first = 0;
  const flush = (): void => {
    if (text !== null && text.trim() !== '' && !text.trimStart().startsWith('#')) out.push({ text: text.trim(), line: first });
    text = null;
  };
  splitLines(content).forEach((raw, i) => {
    const line = raw.replace(/\r$/, '');
    const continued = line.endsWith('\\');
    const body = continued ? line.slice(0, -1) : line;
    if (text === null) {
      text = body;
      first = i + 1;
    } else {
      text += body;
    }
    if (!continued) flush();
  });
  flush();
  return out;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] extends readonly (infer U)[] ? U[] : T[K] };

export function emptyModprobe(): ModprobeConfig {
  return { vfioIds: [], softdeps: [], blacklist: [], installs: [], options: [] };
}

/** `ids=10de:2484,10de:228b` -> vendor:device pairs (extra subvendor/class fields are allowed and dropped). */
function vfioIds(opts: string, where: string, errors: string[]): string[] {
  const ids: string[] = [];
  for (const opt of opts.split(/\s+/)) {
    if (!opt.startsWith('ids=')) continue;
    for (const entry of opt.slice(4).replace(/^"|"$/g, '').split(',')) {
      if (entry === '') continue;
      const pair = entry.split(':').slice(0, 2).join(':').toLowerCase();
      if (PCI_ID.test(pair)) ids.push(pair);
      else errors.push(`${where}: vfio-pci ids entry ${excerpt(entry)} is not vendor:device`);
    }
  }
  return ids;
}

export function parseModprobeFiles(files: readonly { path: string; content: string }[]): Parsed<ModprobeConfig> {
  const cfg = emptyModprobe() as Mutable<ModprobeConfig>;
  const errors: string[] = [];
  for (const { path: file, content } of files) {
    for (const { text, line } of logicalLines(content)) {
      const where = `${file}:${line}`;
      const words = text.split(/\s+/);
      const [directive, module] = words;
      const rest = /^\S+\s+\S+\s*(.*)$/.exec(text)?.[1] ?? '';
      if (directive === undefined || directive === 'alias') continue; // alias patterns are not module names
      if (!['options', 'softdep', 'blacklist', 'install', 'alias', 'remove'].includes(directive)) {
        errors.push(`${where}: unknown modprobe directive ${excerpt(directive)}`);
        continue;
      }
      if (module === undefined || !MODULE_NAME.test(module)) {
        errors.push(`${where}: ${directive} with an invalid module name ${excerpt(module ?? '')}`);
        continue;
      }
      switch (directive) {
        case 'options':
          cfg.options.push({ module, options: rest, file });
          if (sameModule(module, 'vfio_pci')) for (const id of vfioIds(rest, where, errors)) cfg.vfioIds.push({ id, file });
          break;
        case 'softdep': {
          const pre: string[] = [];
          let mode: 'pre' | 'post' | null = null;
          for (const w of words.slice(2)) {
            if (w === 'pre:') mode = 'pre';
            else if (w === 'post:') mode = 'post';
            else if (mode === 'pre') pre.push(w);
            else if (mode === null) errors.push(`${where}: softdep word ${excerpt(w)} before pre:/post:`);
          }
          cfg.softdeps.push({ module, pre, file });
          break;
        }
        case 'blacklist':
          cfg.blacklist.push({ module, file });
          break;
        case 'install':
          cfg.installs.push({ module, command: rest, file });
          break;
        default:
          break; // remove: not used by passthrough decisions
      }
    }
  }
  return { value: cfg, errors };
}
