/**
 * The real kmod as a test oracle: what would modprobe do with these modprobe.d files?
 *
 * A throw-away module tree is built per question: ROOT/lib/modules/KVER/kernel/<name>.ko as
 * EMPTY files (depmod only needs the paths; it warns that it cannot read their symbols, which
 * is fine because no test here relies on symbol dependencies), ROOT/lib/modules/KVER/
 * modules.builtin for drivers built into the kernel, then `depmod -b ROOT KVER`. The
 * configuration under test goes into its own directory, passed with `-C CONFDIR`, so the host's
 * /etc/modprobe.d plays no part. Two questions are asked:
 *
 *  - `modprobe --show-depends -d ROOT -S KVER -C CONFDIR [-b] MODULE` (modprobe(8):
 *    "Install commands which apply are shown prefixed by install"; the same code path as
 *    `modprobe -n -v`, kmod_module_probe_insert_module with KMOD_PROBE_DRY_RUN, but with
 *    KMOD_PROBE_IGNORE_LOADED, so the answer does not depend on which modules happen to be
 *    loaded on the machine running the tests): the ordered `insmod` / `install` / `builtin` lines.
 *    `-b` (APPLY_BLACKLIST_ALL) also drops blacklisted softdeps; see replayBoot for udev's rule.
 *  - `modprobe -c -d ROOT -S KVER -C CONFDIR` (modprobe(8) --showconfig): the effective
 *    configuration, cut at "# End of configuration files".
 *
 * Rules these answers embody (and the simulator's boot model must follow):
 *  - modprobe.d(5) "softdep": "...softdep takes precedence" over install commands of the same
 *    module. In libkmod/libkmod-module.c (kmod-project/kmod) __kmod_module_fill_softdep sets
 *    `mod->ignorecmd = (pre != NULL || post != NULL)`, and kmod_module_probe_insert_module runs
 *    an install command only `if (cmd != NULL && !m->ignorecmd)`. The pre/post modules
 *    themselves are probed with ignorecmd=false, so THEIR install commands do run.
 *  - kmod_module_get_install_commands and kmod_module_get_softdeps take the FIRST matching line
 *    (fnmatch on the underscore-normalised name, files in name order); options accumulate.
 *  - A module in modules.builtin is never probed: module_is_inkernel() is true for it, so
 *    kmod_module_probe_insert_module returns before softdeps or install commands. (Only
 *    --show-depends, which ignores the loaded state, still lists its softdeps: replayBoot
 *    therefore starts with the built-in modules loaded, as the kernel does.)
 *  - libkmod-config.c also reads /proc/cmdline (`mod.param=value` adds options): tests should
 *    only assert on modules that the running kernel's command line does not name.
 *
 * Where modprobe or depmod are missing the tests skip and say why (kmodMissing); CI installs the
 * Debian package `kmod` through scripts/install-test-deps.sh.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

const SBIN = ['/usr/sbin', '/sbin', '/usr/bin', '/bin'];

function findTool(name: string): string | null {
  const dirs = [...(process.env.PATH ?? '').split(':').filter(Boolean), ...SBIN];
  for (const d of dirs) if (existsSync(join(d, name))) return join(d, name);
  return null;
}

const MODPROBE = findTool('modprobe');
const DEPMOD = findTool('depmod');

/** Null when kmod is usable, else the reason the kmod oracle tests are skipped. */
export const kmodMissing: string | null = !MODPROBE || !DEPMOD
  ? `kmod not installed (modprobe: ${MODPROBE ?? 'missing'}, depmod: ${DEPMOD ?? 'missing'}); install it: apt-get install kmod (scripts/install-test-deps.sh)`
  : null;

/** `describe` title suffix that says why a kmod suite is skipped. */
export function kmodTitle(title: string): string {
  return kmodMissing ? `${title} [SKIPPED: ${kmodMissing}]` : title;
}

export const KVER = '6.8.12-4-pve';

/** Module names are stored normalised, as libkmod compares them ("-" and "_" are the same). */
export const norm = (m: string): string => m.replace(/-/g, '_');

export interface KmodTreeSpec {
  /** Loadable modules (file names as on disk, e.g. "vfio-pci", "igc"). */
  readonly modules: readonly string[];
  /** Modules built into the kernel (listed in modules.builtin). */
  readonly builtin?: readonly string[];
  /** modprobe.d files for -C: file name -> content. */
  readonly conf: Readonly<Record<string, string>>;
  /**
   * A kernel command line for kmod to read instead of the machine's /proc/cmdline (bind-mounted
   * over it in a private mount namespace: `unshare -m`, root only; see cmdlineOracleMissing).
   */
  readonly cmdline?: string;
}

export type KmodAction =
  | { readonly kind: 'insmod'; readonly module: string; readonly options: string }
  /** `command` is the install command as modprobe would run it, options appended ($CMDLINE_OPTS left as is). */
  | { readonly kind: 'install'; readonly module: string; readonly command: string }
  | { readonly kind: 'builtin'; readonly module: string };

export interface KmodConfig {
  /** Per module, every options string in the order kmod reads them. */
  readonly options: ReadonlyMap<string, readonly string[]>;
  /** Per module, the softdep kmod uses (the first one read), names normalised. */
  readonly softdeps: ReadonlyMap<string, { readonly pre: readonly string[]; readonly post: readonly string[] }>;
  /** Per module, the install command kmod uses (the first one read). */
  readonly installs: ReadonlyMap<string, string>;
  readonly blacklist: ReadonlySet<string>;
  /** kmod's complaints while reading the files (stderr), e.g. "ignoring bad line". */
  readonly errors: readonly string[];
}

export interface KmodTree {
  readonly root: string;
  /** Normalised names of the built-in modules. */
  readonly builtin: ReadonlySet<string>;
  readonly confDir: string;
  /** What `modprobe` (or udev with `blacklist`) would do to load `module`, in order. */
  showDepends(module: string, o?: { blacklist?: boolean; missingOk?: boolean }): KmodAction[];
  /**
   * `modprobe -n -v MODULE`: like showDepends but honouring /sys/module of the machine running
   * the tests; faithful only for modules that machine cannot have loaded under that name
   * (built-in modules of the tree are judged from the tree's modules.builtin).
   */
  dryRun(module: string): KmodAction[];
  /** The effective configuration, as `modprobe -c` prints it. */
  config(): KmodConfig;
  close(): void;
}

/** Runs argv with `file` bind-mounted over /proc/cmdline, in a mount namespace of its own. */
function withCmdlineArgv(file: string, argv: readonly string[]): [string, string[]] {
  return ['unshare', ['-m', 'sh', '-c', 'mount --bind "$0" /proc/cmdline && exec "$@"', file, ...argv]];
}

let cmdlineProbe: string | null | undefined;
/**
 * Null when kmod can be given a command line of the test's choosing (libkmod-config.c
 * kmod_config_parse_kcmdline reads /proc/cmdline itself: `unshare -m` plus a bind mount, which
 * needs root), else why the tests that need it are skipped.
 */
export function cmdlineOracleMissing(): string | null {
  if (cmdlineProbe !== undefined) return cmdlineProbe;
  if (kmodMissing) return (cmdlineProbe = kmodMissing);
  const dir = mkdtempSync(join(tmpdir(), 'pvpt-cmdline-'));
  try {
    const file = join(dir, 'cmdline');
    writeFileSync(file, 'pvpt.probe=1\n');
    const [cmd, args] = withCmdlineArgv(file, ['cat', '/proc/cmdline']);
    const r = spawnSync(cmd, args, { encoding: 'utf8' });
    cmdlineProbe = r.status === 0 && r.stdout === 'pvpt.probe=1\n' ? null : `cannot show kmod another /proc/cmdline here (unshare -m + mount --bind: ${(r.error?.message ?? r.stderr.trim()) || `exit ${r.status}`}); needs root and util-linux`;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return cmdlineProbe;
}

function modprobe(tree: { root: string; confDir: string; cmdlineFile?: string }, args: string[]): { stdout: string; stderr: string; status: number } {
  const argv = [MODPROBE!, '-d', tree.root, '-S', KVER, '-C', tree.confDir, ...args];
  const [cmd, cmdArgs] = tree.cmdlineFile !== undefined ? withCmdlineArgv(tree.cmdlineFile, argv) : [argv[0]!, argv.slice(1)];
  const r = spawnSync(cmd, cmdArgs, { encoding: 'utf8' });
  if (r.error) throw r.error;
  return { stdout: r.stdout, stderr: r.stderr, status: r.status ?? -1 };
}

/** Build a module tree and a config directory; call close() when done. Throws if kmod is missing. */
export function kmodTree(spec: KmodTreeSpec): KmodTree {
  if (kmodMissing) throw new Error(kmodMissing);
  const base = mkdtempSync(join(tmpdir(), 'pvpt-kmod-'));
  const root = join(base, 'root');
  const confDir = join(base, 'modprobe.d');
  const modDir = join(root, 'lib/modules', KVER);
  mkdirSync(join(modDir, 'kernel'), { recursive: true });
  mkdirSync(confDir);
  for (const m of spec.modules) {
    const f = join(modDir, 'kernel', `${m}.ko`);
    mkdirSync(dirname(f), { recursive: true });
    writeFileSync(f, '');
  }
  writeFileSync(join(modDir, 'modules.builtin'), (spec.builtin ?? []).map((m) => `kernel/${m}.ko\n`).join(''));
  for (const [name, content] of Object.entries(spec.conf)) writeFileSync(join(confDir, name), content);
  execFileSync(DEPMOD!, ['-b', root, KVER], { stdio: ['ignore', 'ignore', 'ignore'] });
  let cmdlineFile: string | undefined;
  if (spec.cmdline !== undefined) {
    const missing = cmdlineOracleMissing();
    if (missing) throw new Error(missing);
    cmdlineFile = join(base, 'cmdline');
    writeFileSync(cmdlineFile, `${spec.cmdline}\n`);
  }
  const tree = { root, confDir, ...(cmdlineFile !== undefined ? { cmdlineFile } : {}) };

  const config = (): KmodConfig => parseConfig(modprobe(tree, ['-c']));
  const builtin = new Set((spec.builtin ?? []).map((m) => norm(m.slice(m.lastIndexOf('/') + 1))));
  return {
    root,
    builtin,
    confDir,
    config,
    showDepends(module, o = {}) {
      const r = modprobe(tree, ['--show-depends', ...(o.blacklist ? ['-b'] : []), module]);
      if (r.status !== 0 && o.missingOk && /FATAL: Module \S+ not found/.test(r.stderr)) return [];
      if (r.status !== 0) throw new Error(`modprobe --show-depends ${module} failed (${r.status}): ${r.stderr.trim()}`);
      return parseShowDepends(r.stdout, modDir, config().installs);
    },
    dryRun(module) {
      const r = modprobe(tree, ['-n', '-v', module]);
      if (r.status !== 0) throw new Error(`modprobe -n -v ${module} failed (${r.status}): ${r.stderr.trim()}`);
      return parseShowDepends(r.stdout, modDir, config().installs);
    },
    close() { rmSync(base, { recursive: true, force: true }); },
  };
}

/** One-shot: build the tree, ask, clean up. */
export function withKmod<T>(spec: KmodTreeSpec, fn: (tree: KmodTree) => T): T {
  const tree = kmodTree(spec);
  try { return fn(tree); } finally { tree.close(); }
}

/**
 * `insmod /ROOT/lib/modules/KVER/kernel/x/vfio-pci.ko opts`, `install CMD opts`, `builtin name`.
 * modprobe does not print which module an install line is for: it is the module whose
 * configured command (from `modprobe -c`) the line starts with.
 */
export function parseShowDepends(stdout: string, modDir: string, installs: ReadonlyMap<string, string>): KmodAction[] {
  const out: KmodAction[] = [];
  for (const raw of stdout.split('\n')) {
    const line = raw.replace(/\s+$/, '');
    if (line === '') continue;
    if (line.startsWith('insmod ')) {
      const rest = line.slice('insmod '.length);
      const sp = rest.indexOf(' ');
      const path = sp < 0 ? rest : rest.slice(0, sp);
      const file = path.startsWith(modDir) ? path.slice(path.lastIndexOf('/') + 1) : path;
      out.push({ kind: 'insmod', module: norm(file.replace(/\.ko(\.\w+)?$/, '')), options: sp < 0 ? '' : rest.slice(sp + 1).trim() });
    } else if (line.startsWith('install ')) {
      const command = line.slice('install '.length);
      const owner = [...installs].filter(([, cmd]) => command.startsWith(cmd.trim())).sort((a, b) => b[1].length - a[1].length)[0];
      if (!owner) throw new Error(`install line matches no configured install command: ${line}`);
      out.push({ kind: 'install', module: owner[0], command });
    } else if (line.startsWith('builtin ')) {
      out.push({ kind: 'builtin', module: norm(line.slice('builtin '.length).trim()) });
    } else {
      throw new Error(`unexpected modprobe --show-depends line: ${line}`);
    }
  }
  return out;
}

/** The configuration part of `modprobe -c` (before "# End of configuration files"). */
export function parseConfig(r: { stdout: string; stderr: string }): KmodConfig {
  const options = new Map<string, string[]>();
  const softdeps = new Map<string, { pre: string[]; post: string[] }>();
  const installs = new Map<string, string>();
  const blacklist = new Set<string>();
  for (const line of r.stdout.split('\n')) {
    if (line.startsWith('# End of configuration files')) break;
    const m = /^(\S+) (\S+) ?([^\n]*)$/.exec(line); // [^\n]: a CR kmod kept is part of the value
    if (!m) continue;
    const [, verb, mod, rest] = m as unknown as [string, string, string, string];
    if (verb === 'options') options.set(mod, [...(options.get(mod) ?? []), rest]);
    else if (verb === 'blacklist') blacklist.add(mod);
    else if (verb === 'install' && !installs.has(mod)) installs.set(mod, rest);
    else if (verb === 'softdep' && !softdeps.has(mod)) {
      const dep = { pre: [] as string[], post: [] as string[] };
      let into: string[] | null = null;
      for (const w of rest.split(/\s+/).filter(Boolean)) {
        if (w === 'pre:') into = dep.pre;
        else if (w === 'post:') into = dep.post;
        else into?.push(norm(w));
      }
      softdeps.set(mod, dep);
    }
  }
  const errors = r.stderr.split('\n').map((l) => l.trim()).filter((l) => l !== '');
  return { options, softdeps, installs, blacklist, errors };
}

/** One load request at boot and what kmod did for it. */
export interface BootLoad {
  /** What asked: "modules-load: vfio_pci", "udev: igc". */
  readonly request: string;
  /** The module itself is blacklisted: kmod refuses the request (KMOD_PROBE_APPLY_BLACKLIST). */
  readonly blacklisted: boolean;
  readonly actions: readonly KmodAction[];
}

/**
 * Replays a boot as the sequence of load requests kmod gets: systemd-modules-load in list order,
 * then udev coldplug per device driver. Both call
 * `kmod_module_probe_insert_module(mod, KMOD_PROBE_APPLY_BLACKLIST, NULL, ...)` (systemd
 * src/shared/module-util.c, udev's builtin kmod): a blacklisted module is refused as a whole,
 * its softdeps are not filtered (unlike `modprobe -b`, which is APPLY_BLACKLIST_ALL). Modules
 * already loaded are skipped, as kmod does (it checks /sys/module before each insert; a loaded
 * top module ends the request at once). An install command counts as loading its module: the
 * hooks the tool writes end in `modprobe -i <module>`; tests assert that separately.
 */
export function replayBoot(tree: KmodTree, requests: readonly { readonly by: 'modules-load' | 'udev'; readonly module: string }[]): BootLoad[] {
  const { blacklist } = tree.config();
  const loaded = new Set<string>(tree.builtin);
  const out: BootLoad[] = [];
  for (const r of requests) {
    const request = `${r.by}: ${r.module}`;
    if (tree.builtin.has(norm(r.module))) { out.push({ request, blacklisted: false, actions: [{ kind: 'builtin', module: norm(r.module) }] }); continue; }
    if (loaded.has(norm(r.module))) { out.push({ request, blacklisted: false, actions: [] }); continue; }
    if (blacklist.has(norm(r.module))) { out.push({ request, blacklisted: true, actions: [] }); continue; }
    // A module kmod cannot find: udev and systemd-modules-load log it and go on.
    const actions = tree.showDepends(r.module, { missingOk: true }).filter((a) => !loaded.has(a.module));
    for (const a of actions) loaded.add(a.module);
    out.push({ request, blacklisted: false, actions });
  }
  return out;
}
