/**
 * The subset of modprobe.d(5) and modules-load.d(5) the simulated kernel acts
 * on: `options vfio-pci ids=`, `softdep`, `blacklist`, `install` hooks that
 * write a device's driver_override, and module lists, read with kmod's rules
 * (files by name, first softdep and first install of a module win; a module
 * with a softdep has its install command ignored). test/mocks/hosts/
 * kmod-parity.test.ts runs the same files through this model and the real kmod.
 */
import { kernelBool, moduleKey } from './kernel.js';

export interface ConfigFile {
  readonly path: string;
  readonly content: string;
}

export interface ModprobeRules {
  /** vendor:device ids vfio-pci claims when it loads: the LAST ids= it is handed (files in kmod order, then the command line). */
  readonly vfioIds: ReadonlySet<string>;
  /**
   * disable_vga as vfio-pci gets it when kmod loads it with these rules: every `options vfio_pci`
   * word in reading order (options accumulate), then the command line's `vfio_pci.disable_vga`
   * (libkmod-config.c kmod_config_new parses /proc/cmdline after the files, so kmod appends it),
   * applied in order by the kernel (the last one wins). Default off.
   */
  readonly vfioDisableVga: boolean;
  /** Module (normalised) -> modules to load before it (the FIRST softdep read for it, as kmod uses). */
  readonly softdepPre: ReadonlyMap<string, readonly string[]>;
  /** Module (normalised) -> modules to load after it (same softdep line). */
  readonly softdepPost: ReadonlyMap<string, readonly string[]>;
  readonly blacklist: ReadonlySet<string>;
  /** Module (normalised) -> its install command (the FIRST one read, as kmod uses). */
  readonly installs: ReadonlyMap<string, string>;
  /** Module (normalised) whose install command pins these addresses to vfio-pci via driver_override. */
  readonly overrideHooks: ReadonlyMap<string, readonly string[]>;
}

const OVERRIDE_WRITE = /vfio-pci\s*>\s*\/sys\/bus\/pci\/devices\/([0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7])\/driver_override/g;

/** Logical lines: backslash continuations joined (kmod joins directly), CR dropped, comments dropped. */
function logicalLines(content: string): string[] {
  return content
    .replace(/\r/g, '')
    .replace(/\\\n/g, '')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
}

/** modprobe.d files in the order kmod reads them: by file name, whatever the directory. */
function kmodOrder(files: readonly ConfigFile[]): ConfigFile[] {
  const name = (p: string): string => p.slice(p.lastIndexOf('/') + 1);
  const seen = new Set<string>();
  return files
    .filter((f) => /\/modprobe\.d\/[^/]+\.conf$/.test(f.path))
    .filter((f) => !seen.has(name(f.path)) && (seen.add(name(f.path)), true))
    .sort((a, b) => (name(a.path) < name(b.path) ? -1 : name(a.path) > name(b.path) ? 1 : 0));
}

export function parseModprobe(files: readonly ConfigFile[], cmdline = ''): ModprobeRules {
  const vfioIds = new Set<string>();
  const softdepPre = new Map<string, string[]>();
  const softdepPost = new Map<string, string[]>();
  const blacklist = new Set<string>();
  const installs = new Map<string, string>();
  let vfioDisableVga = false;
  const setDisableVga = (word: string): void => {
    const eq = word.indexOf('=');
    if ((eq < 0 ? word : word.slice(0, eq)) !== 'disable_vga') return;
    vfioDisableVga = kernelBool(eq < 0 ? null : word.slice(eq + 1).replace(/^"|"$/g, '')) ?? vfioDisableVga;
  };
  // kmod hands vfio-pci every options word in reading order (files, then /proc/cmdline) and the kernel's
  // parse_args sets the string parameter once per word: the last ids= is the one vfio-pci uses.
  const setIds = (list: string): void => {
    vfioIds.clear();
    for (const id of list.split(',')) if (/^[0-9a-f]{4}:[0-9a-f]{4}$/i.test(id.trim())) vfioIds.add(id.trim().toLowerCase());
  };
  for (const f of kmodOrder(files)) {
    for (const line of logicalLines(f.content)) {
      const m = /^(\S+)\s+(\S+)\s*(.*)$/.exec(line);
      if (!m) continue;
      const [, kw, mod, restText] = m as unknown as [string, string, string, string];
      const key = moduleKey(mod);
      const rest = restText.split(/\s+/).filter(Boolean);
      if (kw === 'options' && key === 'vfio_pci') {
        for (const opt of rest) {
          if (opt.startsWith('ids=')) setIds(opt.slice(4));
          setDisableVga(opt);
        }
      } else if (kw === 'softdep' && rest.length > 0 && !softdepPre.has(key)) {
        const pre: string[] = [];
        const post: string[] = [];
        let into: string[] | null = null;
        for (const w of rest) {
          if (w === 'pre:') into = pre;
          else if (w === 'post:') into = post;
          else into?.push(moduleKey(w));
        }
        softdepPre.set(key, pre);
        softdepPost.set(key, post);
      } else if (kw === 'blacklist') {
        blacklist.add(key);
      } else if (kw === 'install' && restText !== '' && !installs.has(key)) {
        installs.set(key, restText);
      }
    }
  }
  const overrideHooks = new Map<string, string[]>();
  for (const [mod, cmd] of installs) {
    const addrs = [...cmd.matchAll(OVERRIDE_WRITE)].map((m) => m[1]!);
    if (addrs.length > 0) overrideHooks.set(mod, addrs);
  }
  // vfio-pci.ids= on the kernel command line works like the modprobe option, read after the files.
  for (const t of cmdline.split(/\s+/)) {
    const m = /^vfio[-_]pci\.ids=(.*)$/.exec(t);
    if (m) setIds(m[1]!);
    const vga = /^vfio[-_]pci\.(disable_vga(?:=.*)?)$/.exec(t);
    if (vga) setDisableVga(vga[1]!);
  }
  return { vfioIds, vfioDisableVga, softdepPre, softdepPost, blacklist, installs, overrideHooks };
}

/** One step kmod takes to load a module (what `modprobe --show-depends` prints). */
export type LoadAction =
  | { readonly kind: 'insmod'; readonly module: string }
  | { readonly kind: 'install'; readonly module: string; readonly command: string }
  | { readonly kind: 'builtin'; readonly module: string };

export interface ModuleWorld {
  /** Modules with a .ko file (normalised). */
  readonly available: ReadonlySet<string>;
  /** Modules built into the kernel (normalised). */
  readonly builtin: ReadonlySet<string>;
}

/**
 * kmod_module_probe_insert_module, as libkmod-module.c does it (hard dependencies aside, the
 * simulated modules have none): the softdep pre modules first (each probed with its own install
 * command honoured), the module itself, then the post modules. A module WITH a softdep has its
 * install command ignored (`ignorecmd`; modprobe.d(5): softdep takes precedence). A softdep name
 * counts only if kmod can resolve it (a .ko, a built-in, or an install command). Modules in
 * `loaded` are skipped; a loaded or built-in top module ends the request at once; null = not found.
 */
export function probe(rules: ModprobeRules, world: ModuleWorld, name: string, loaded: ReadonlySet<string> = new Set()): LoadAction[] | null {
  const top = moduleKey(name);
  const resolvable = (m: string): boolean => world.available.has(m) || world.builtin.has(m) || rules.installs.has(m);
  if (!resolvable(top)) return null;
  if (world.builtin.has(top) || loaded.has(top)) return world.builtin.has(top) ? [{ kind: 'builtin', module: top }] : [];
  const visited = new Set<string>();
  const list: { module: string; ignorecmd: boolean }[] = [];
  const fill = (m: string): void => {
    const pre = (rules.softdepPre.get(m) ?? []).filter(resolvable);
    const post = (rules.softdepPost.get(m) ?? []).filter(resolvable);
    for (const p of pre) visit(p);
    list.push({ module: m, ignorecmd: pre.length > 0 || post.length > 0 });
    for (const p of post) visit(p);
  };
  const visit = (m: string): void => {
    if (visited.has(m)) return;
    visited.add(m);
    fill(m);
  };
  visit(top);
  const out: LoadAction[] = [];
  for (const { module, ignorecmd } of list) {
    if (loaded.has(module) || world.builtin.has(module)) continue;
    const cmd = rules.installs.get(module);
    out.push(cmd !== undefined && !ignorecmd ? { kind: 'install', module, command: cmd } : { kind: 'insmod', module });
  }
  return out;
}

/**
 * A boot's load requests, in order (udev coldplug and systemd-modules-load both call
 * kmod_module_probe_insert_module with KMOD_PROBE_APPLY_BLACKLIST: a blacklisted module is
 * refused as a whole). An install command counts as loading its module.
 */
export function replayLoads(rules: ModprobeRules, world: ModuleWorld, requests: readonly string[]): { module: string; blacklisted: boolean; actions: LoadAction[] }[] {
  const loaded = new Set<string>();
  return requests.map((r) => {
    const key = moduleKey(r);
    if (!world.builtin.has(key) && !loaded.has(key) && rules.blacklist.has(key)) return { module: key, blacklisted: true, actions: [] };
    const actions = probe(rules, world, key, loaded) ?? [];
    for (const a of actions) loaded.add(a.module);
    return { module: key, blacklisted: false, actions };
  });
}

/** Module names from /etc/modules and modules-load.d files (comments: `#` and `;`). */
export function parseModulesLoad(files: readonly ConfigFile[]): string[] {
  const out: string[] = [];
  for (const f of files) {
    for (const raw of f.content.split('\n')) {
      const line = raw.trim();
      if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
      const name = line.split(/\s+/)[0]!;
      if (!out.includes(name)) out.push(name);
    }
  }
  return out;
}
