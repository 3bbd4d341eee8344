/**
 * modprobe.d(5), read the way kmod reads it (libkmod/libkmod-config.c,
 * kmod 30; checked against `modprobe -c -C DIR…` in test/facts/host/modprobe-d-kmod.test.ts):
 *
 * - Directories, in this order: /etc/modprobe.d, /run/modprobe.d,
 *   /usr/local/lib/modprobe.d, /usr/lib/modprobe.d (kmod ≥ 31), /lib/modprobe.d.
 *   Only `*.conf` directly inside. A file name seen in an earlier directory
 *   hides the same name in later ones; the files are then read in name order
 *   (conf_files_list), whatever directory they came from.
 * - Lines: a backslash before the newline joins the next line directly (no
 *   space), also inside comments; a line starting with `#` is a comment.
 *   Words are split at spaces and tabs only (strtok_r "\t "): a CR stays in
 *   the value. `options`/`install`/`remove` keep the rest of the line after
 *   the one separator that follows the module name, exactly.
 * - Module names compare with `-` equal to `_` (kmod stores them with `_`).
 * - What counts at load time (libkmod-module.c): every `options` line of a
 *   module, concatenated in file order (the kernel keeps the last value of a
 *   parameter given twice, so the last `ids=` of vfio_pci wins); only the
 *   FIRST `softdep` and the FIRST `install` of a module; a module with a
 *   softdep has its install command ignored (modprobe(8) "softdep takes
 *   precedence").
 * - Bad lines (unknown directive, a directive missing its module or value)
 *   are skipped by kmod with "ignoring bad line"; here they are errors naming
 *   file, line and reason, so the node is not planned from a file its owner
 *   got wrong. A comment indented by blanks (kmod also calls it a bad line)
 *   is read as the comment it is meant to be.
 */
import { PCI_ID } from '../../patterns.js';
import { excerpt, splitLines, type Parsed } from './text.js';
import type { ModprobeConfig, ModprobeEntry, ModprobeOptions, ModprobeSoftdep, RemoteFile } from './types.js';

/** kmod's configuration directories, in precedence order. */
export const MODPROBE_DIRS = ['/etc/modprobe.d', '/run/modprobe.d', '/usr/local/lib/modprobe.d', '/usr/lib/modprobe.d', '/lib/modprobe.d'] as const;

/** kmod and systemd-modules-load treat - and _ alike in module names (the one place that says so). */
export function normalizeModule(name: string): string {
  return name.replace(/-/g, '_');
}
export function sameModule(a: string, b: string): boolean {
  return normalizeModule(a) === normalizeModule(b);
}

const byteOrder = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
const baseName = (p: string): string => p.slice(p.lastIndexOf('/') + 1);

/** The files kmod reads, in its reading order, from the paths found in the directories. */
export function modprobeFileOrder(paths: Iterable<string>, dirs: readonly string[] = MODPROBE_DIRS): string[] {
  const chosen = new Map<string, string>();
  const all = [...paths];
  for (const dir of dirs) {
    for (const p of all.filter((x) => x.startsWith(`${dir}/`)).sort(byteOrder)) {
      const name = p.slice(dir.length + 1);
      if (name.includes('/') || !name.endsWith('.conf') || chosen.has(name)) continue;
      chosen.set(name, p);
    }
  }
  return [...chosen.keys()].sort(byteOrder).map((n) => chosen.get(n) as string);
}

export interface LogicalLine {
  readonly text: string;
  /** First and last physical line (1-based). */
  readonly line: number;
  readonly endLine: number;
}

/** Logical lines as kmod reads them (continuations joined); comments and blank lines dropped. */
export function logicalLines(content: string): LogicalLine[] {
  const out: LogicalLine[] = [];
  let text: string | null = null;
  let first = 0;
  splitLines(content).forEach((raw, i) => {
    const continued = raw.endsWith('\\');
    const body = continued ? raw.slice(0, -1) : raw;
    if (text === null) {
      text = body;
      first = i + 1;
    } else {
      text += body;
    }
    if (continued) return;
    const t = text;
    text = null;
    if (t === '' || t.startsWith('#') || /^[ \t]*(?:#|$)/.test(t)) return;
    out.push({ text: t, line: first, endLine: i + 1 });
  });
  if (text !== null && !/^[ \t]*(?:#|$)/.test(text)) out.push({ text, line: first, endLine: splitLines(content).length });
  return out;
}

/** strtok_r(…, "\t ") one word at a time; `rest` is what follows the single separator after the word. */
function nextWord(s: string): { word: string; rest: string } | null {
  const start = s.search(/[^ \t]/);
  if (start < 0) return null;
  const tail = s.slice(start);
  const end = tail.search(/[ \t]/);
  return end < 0 ? { word: tail, rest: '' } : { word: tail.slice(0, end), rest: tail.slice(end + 1) };
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] extends readonly (infer U)[] ? U[] : T[K] };

export function emptyModprobe(): ModprobeConfig {
  return { files: [], options: [], softdeps: [], installs: [], removes: [], blacklist: [] };
}

/**
 * Parses the given files in the order given (use modprobeFileOrder first).
 * Errors are `file:line: reason`.
 */
export function parseModprobeConfig(files: readonly { path: string; content: string }[]): Parsed<ModprobeConfig> {
  const cfg = emptyModprobe() as Mutable<ModprobeConfig>;
  const errors: string[] = [];
  for (const { path: file, content } of files) {
    cfg.files.push(file);
    for (const { text, line, endLine } of logicalLines(content)) {
      const where = `${file}:${line}`;
      const bad = (why: string): void => {
        errors.push(`${where}: kmod ignores this line (${why}): ${excerpt(text, 60)}`);
      };
      if (text.includes('\r')) errors.push(`${where}: carriage return in the line (DOS line ending); kmod keeps it as part of the value`);
      const cmd = nextWord(text);
      if (!cmd) continue;
      const mod = nextWord(cmd.rest);
      const entry = (module: string): ModprobeEntry => ({ module: normalizeModule(module), file, line, endLine, text });
      switch (cmd.word) {
        case 'options':
        case 'install':
        case 'remove': {
          if (!mod) { bad(`${cmd.word} without a module`); break; }
          if (mod.rest === '') { bad(`${cmd.word} ${mod.word} without ${cmd.word === 'options' ? 'options' : 'a command'}`); break; }
          if (cmd.word === 'options') cfg.options.push({ ...entry(mod.word), options: mod.rest });
          else (cmd.word === 'install' ? cfg.installs : cfg.removes).push({ ...entry(mod.word), command: mod.rest });
          break;
        }
        case 'softdep': {
          if (!mod || mod.rest.trim() === '') { bad('softdep without a module and its dependencies'); break; }
          const pre: string[] = [];
          const post: string[] = [];
          let mode: 'pre' | 'post' | null = null;
          for (const w of mod.rest.split(/[ \t]+/).filter(Boolean)) {
            if (w === 'pre:') mode = 'pre';
            else if (w === 'post:') mode = 'post';
            else if (mode === 'pre') pre.push(w);
            else if (mode === 'post') post.push(w);
            // a word before pre:/post: is dropped by kmod
          }
          cfg.softdeps.push({ ...entry(mod.word), pre, post });
          break;
        }
        case 'blacklist':
          if (!mod) bad('blacklist without a module');
          else cfg.blacklist.push(entry(mod.word));
          break;
        case 'alias':
          if (!mod || nextWord(mod.rest) === null) bad('alias without a module');
          break;
        case 'weakdep': // kmod ≥ 33; harmless for passthrough
          break;
        case 'include':
        case 'config':
          bad(`${cmd.word} is deprecated and not read by kmod`);
          break;
        default:
          bad(`unknown directive ${excerpt(cmd.word, 30)}`);
      }
    }
  }
  return { value: cfg, errors };
}

/** The configuration kmod reads from these read files (`exclude`: files left out, e.g. the tool's own). */
export function modprobeConfigFrom(files: Readonly<Record<string, RemoteFile>>, exclude: readonly string[] = []): Parsed<ModprobeConfig> {
  const order = modprobeFileOrder(Object.keys(files).filter((p) => files[p]?.content != null && !exclude.includes(p)));
  return parseModprobeConfig(order.map((path) => ({ path, content: files[path]?.content as string })));
}

/** Every `options` line of a module, in kmod's order. */
export function optionsOf(cfg: ModprobeConfig, module: string): ModprobeOptions[] {
  const m = normalizeModule(module);
  return cfg.options.filter((o) => o.module === m);
}

/** The softdep kmod uses for a module: the first one read. */
export function softdepOf(cfg: ModprobeConfig, module: string): ModprobeSoftdep | undefined {
  const m = normalizeModule(module);
  return cfg.softdeps.find((s) => s.module === m);
}

/** The install command kmod runs for a module: the first one read, and none when the module has a softdep. */
export function installOf(cfg: ModprobeConfig, module: string): (ModprobeEntry & { readonly command: string }) | undefined {
  const m = normalizeModule(module);
  if (softdepOf(cfg, m)) return undefined;
  return cfg.installs.find((s) => s.module === m);
}

export function isBlacklisted(cfg: ModprobeConfig, module: string): boolean {
  const m = normalizeModule(module);
  return cfg.blacklist.some((b) => b.module === m);
}

/** The value of one module parameter as the kernel sees it: the last `name=` over all options lines. */
export function moduleParam(cfg: ModprobeConfig, module: string, name: string): { value: string; from: ModprobeOptions } | null {
  let hit: { value: string; from: ModprobeOptions } | null = null;
  for (const o of optionsOf(cfg, module)) {
    for (const w of o.options.split(/[ \t]+/)) {
      const eq = w.indexOf('=');
      const key = eq < 0 ? w : w.slice(0, eq);
      if (normalizeModule(key) === normalizeModule(name)) hit = { value: eq < 0 ? '' : w.slice(eq + 1), from: o };
    }
  }
  return hit;
}

/**
 * The vendor:device ids vfio-pci claims at load (`ids=` of its last options
 * line that has one; extra subvendor/class fields dropped), with the lines
 * that carry an `ids=`. Entries that are not vendor:device are errors.
 */
export function vfioPciIds(cfg: ModprobeConfig): Parsed<{ ids: string[]; lines: ModprobeOptions[] }> {
  const lines = optionsOf(cfg, 'vfio_pci').filter((o) => o.options.split(/[ \t]+/).some((w) => w.startsWith('ids=')));
  const p = moduleParam(cfg, 'vfio_pci', 'ids');
  const ids: string[] = [];
  const errors: string[] = [];
  for (const entry of (p?.value ?? '').replace(/^"|"$/g, '').split(',')) {
    if (entry === '') continue;
    const pair = entry.split(':').slice(0, 2).join(':').toLowerCase();
    if (PCI_ID.test(pair)) ids.push(pair);
    else errors.push(`${p?.from.file}:${p?.from.line}: vfio-pci ids entry ${excerpt(entry)} is not vendor:device`);
  }
  return { value: { ids: [...new Set(ids)], lines }, errors };
}

/**
 * The configuration part of `modprobe -c` for these directives, one line
 * each in kmod's print order (blacklist, install, remove, options, softdep).
 * softdep lines with both pre: and post: are printed wrongly by kmod 30, so
 * only one of the two is rendered per line here when the other is empty.
 */
export function renderModprobeC(cfg: ModprobeConfig): string[] {
  const softdep = (s: ModprobeSoftdep): string =>
    `softdep ${s.module}${s.pre.length ? ` pre: ${s.pre.join(' ')}` : ''}${s.post.length ? ` post: ${s.post.join(' ')}` : ''}`;
  return [
    ...cfg.blacklist.map((b) => `blacklist ${b.module}`),
    ...cfg.installs.map((i) => `install ${i.module} ${i.command}`),
    ...cfg.removes.map((r) => `remove ${r.module} ${r.command}`),
    ...cfg.options.map((o) => `options ${o.module} ${o.options}`),
    ...cfg.softdeps.map(softdep),
  ];
}
