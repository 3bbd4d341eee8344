/**
 * The subset of modprobe.d(5) and modules-load.d(5) the simulated kernel acts
 * on: `options vfio-pci ids=`, `softdep`, `blacklist`, `install` hooks that
 * write a device's driver_override, and module lists.
 */
import { moduleKey } from './kernel.js';

export interface ConfigFile {
  readonly path: string;
  readonly content: string;
}

export interface ModprobeRules {
  /** vendor:device ids vfio-pci claims when it loads. */
  readonly vfioIds: ReadonlySet<string>;
  /** Module (normalised) -> modules to load before it. */
  readonly softdepPre: ReadonlyMap<string, readonly string[]>;
  readonly blacklist: ReadonlySet<string>;
  /** Module (normalised) whose `install` hook pins these addresses to vfio-pci via driver_override. */
  readonly overrideHooks: ReadonlyMap<string, readonly string[]>;
}

const OVERRIDE_WRITE = /vfio-pci\s*>\s*\/sys\/bus\/pci\/devices\/([0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7])\/driver_override/g;

/** Logical lines: comments dropped, backslash continuations joined. */
function logicalLines(content: string): string[] {
  return content
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
}

export function parseModprobe(files: readonly ConfigFile[], cmdline = ''): ModprobeRules {
  const vfioIds = new Set<string>();
  const softdepPre = new Map<string, string[]>();
  const blacklist = new Set<string>();
  const overrideHooks = new Map<string, string[]>();
  const addIds = (list: string): void => {
    for (const id of list.split(',')) if (/^[0-9a-f]{4}:[0-9a-f]{4}$/i.test(id.trim())) vfioIds.add(id.trim().toLowerCase());
  };
  for (const f of files) {
    for (const line of logicalLines(f.content)) {
      const [kw, mod, ...rest] = line.split(/\s+/);
      if (!kw || !mod) continue;
      const key = moduleKey(mod);
      if (kw === 'options' && key === 'vfio_pci') {
        for (const opt of rest) if (opt.startsWith('ids=')) addIds(opt.slice(4));
      } else if (kw === 'softdep') {
        const pre: string[] = [];
        let inPre = false;
        for (const w of rest) {
          if (w === 'pre:') inPre = true;
          else if (w === 'post:') inPre = false;
          else if (inPre) pre.push(moduleKey(w));
        }
        softdepPre.set(key, [...(softdepPre.get(key) ?? []), ...pre]);
      } else if (kw === 'blacklist') {
        blacklist.add(key);
      } else if (kw === 'install') {
        const cmd = rest.join(' ');
        const addrs = [...cmd.matchAll(OVERRIDE_WRITE)].map((m) => m[1]!);
        if (addrs.length > 0) overrideHooks.set(key, [...(overrideHooks.get(key) ?? []), ...addrs]);
      }
    }
  }
  // vfio-pci.ids= on the kernel command line works like the modprobe option.
  for (const t of cmdline.split(/\s+/)) {
    const m = /^vfio[-_]pci\.ids=(.*)$/.exec(t);
    if (m) addIds(m[1]!);
  }
  return { vfioIds, softdepPre, blacklist, overrideHooks };
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
