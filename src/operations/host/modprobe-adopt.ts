/**
 * One owner per modprobe setting: the tool's file carries only what the
 * operator's own modprobe.d lines do not already configure, and never a
 * second line for a setting they configure differently.
 *
 * Input: the owned file as driver-binding.ts renders it for the declaration
 * (`desired`), and the operator's files (every other file kmod reads, read
 * through the effective model of src/facts/host/modprobe-d.ts). Per directive
 * of `desired`:
 * - satisfied by the operator's effective config (vfio-pci's effective `ids=`
 *   holds every declared id and its other options on that line, such as
 *   disable_vga=1, have the same effective value; the module's first softdep has vfio-pci in pre:;
 *   the module is blacklisted (then it needs no softdep either); the same
 *   option value; the same install command): left out of the tool's file;
 * - the operator configures it differently (`ids=` without some declared id,
 *   or without disable_vga=1 when a device asks for it;
 *   a softdep without vfio-pci): TAKEN OVER. The merged line (operator's ids
 *   and options first, then what is missing) goes into the tool's file and
 *   every operator line for that setting is neutralised in place:
 *     # pve-passthrough <run-id> took over: <the line as it was>
 *   Only files under /etc/modprobe.d are edited; a setting in a package or
 *   runtime file blocks the node (copy the file to /etc/modprobe.d first);
 * - cannot be combined (an operator install command for a module that would
 *   get a softdep, which makes kmod ignore the install): blocks the node,
 *   naming file and line. vfio-pci's own install hook (binding by address) is
 *   judged before, by addressBindingProblem (driver-binding.ts): an operator
 *   `install vfio-pci` or `softdep vfio-pci` refuses the device there.
 * - `vfio-pci.ids=` on the kernel command line (next boot): kmod appends
 *   command-line options after those of the files, so it wins. It satisfies
 *   the declaration when it names every declared id; otherwise the node is
 *   blocked (a token cannot be commented out; it is the operator's to change).
 *   The same for `vfio_pci.disable_vga=`; vfio-pci's disable_vga is judged by
 *   its effect everywhere (disable-vga.ts: `=Y`, `=on` and a bare word are `=1`).
 * Stateless: the operator's view is computed with every neutralised line put
 * back, so when the tool no longer needs a setting (declaration removed, or
 * the operator's own line now suffices) its lines come back byte for byte.
 */
import {
  installOf, isBlacklisted, logicalLines, modprobeFileOrder, moduleParam, normalizeModule, parseModprobeConfig, softdepOf, vfioPciIds,
} from '../../facts/host/modprobe-d.js';
import type { HostFacts, ModprobeConfig, ModprobeEntry } from '../../facts/host/types.js';
import type { Refusal, Warning } from '../types.js';
import type { FileChange } from './file-change.js';
import { disableVgaFrom, isDisableVgaWord, setsDisableVga } from './disable-vga.js';
import { MANAGED_HEADER, MODPROBE_D, MODPROBE_FILE } from './paths.js';

const MARK = /^# pve-passthrough (\S+) took over: /;

export function takeoverMarker(runId: string): string {
  return `# pve-passthrough ${runId} took over: `;
}

/** A neutralised line back as the operator wrote it (other lines unchanged). */
export function restoreLine(line: string): string {
  return line.replace(MARK, '');
}

/** Content with every marker's run id replaced, so two plans of the same change compare equal. */
export function normalizeTakeoverMarkers(text: string): string {
  return text.replace(/^# pve-passthrough \S+ took over: /gm, '# pve-passthrough <run> took over: ');
}

interface OperatorFile {
  readonly path: string;
  readonly actual: readonly string[];
  readonly restored: readonly string[];
}

export interface ModprobeAdoption {
  /** The tool's file content (unsealed) after adoption; null = not needed. */
  readonly owned: string | null;
  /** Edits of operator files: lines neutralised or put back. */
  readonly changes: readonly FileChange[];
  readonly blocking: readonly Refusal[];
  readonly warnings: readonly Warning[];
}

const norm = (names: readonly string[]): Set<string> => new Set(names.map(normalizeModule));

function operatorFiles(facts: HostFacts): OperatorFile[] {
  const paths = modprobeFileOrder(Object.keys(facts.files).filter((p) => p !== MODPROBE_FILE && facts.files[p]?.content != null));
  return paths.map((path) => {
    const actual = (facts.files[path]?.content as string).split('\n');
    return { path, actual, restored: actual.map(restoreLine) };
  });
}

/** The ids of the last `vfio-pci.ids=` / `vfio_pci.ids=` token, or null when there is none. */
function cmdlineVfioIds(tokens: readonly string[]): { token: string; ids: string[] } | null {
  let hit: { token: string; ids: string[] } | null = null;
  for (const t of tokens) {
    const m = /^vfio[-_]pci\.ids=(.*)$/.exec(t);
    if (m) hit = { token: t, ids: (m[1] ?? '').split(',').filter(Boolean).map((x) => x.split(':').slice(0, 2).join(':').toLowerCase()) };
  }
  return hit;
}

/** What one adoption pass collects while it walks the desired file's lines. */
interface Adoption {
  readonly op: ModprobeConfig;
  readonly want: ModprobeConfig;
  readonly cmdline: readonly string[];
  readonly kept: string[];
  readonly blocking: Refusal[];
  readonly warnings: Warning[];
  /** path -> 0-based physical lines to neutralise. */
  readonly neutralise: Map<string, Set<number>>;
}

export function adoptModprobe(facts: HostFacts, desired: string | null, runId: string, cmdline: readonly string[] = []): ModprobeAdoption {
  const files = operatorFiles(facts);
  const a: Adoption = {
    op: parseModprobeConfig(files.map((f) => ({ path: f.path, content: f.restored.join('\n') }))).value,
    want: parseModprobeConfig([{ path: MODPROBE_FILE, content: desired ?? '' }]).value,
    cmdline,
    kept: [],
    blocking: [],
    warnings: [],
    neutralise: new Map(),
  };
  const lines = desired === null ? [] : desired.replace(/\n$/, '').split('\n');
  const logical = new Set(logicalLines(desired ?? '').map((l) => l.line));
  lines.forEach((text, i) => {
    if (!logical.has(i + 1)) {
      if (text !== MANAGED_HEADER || a.kept.length > 0) a.kept.push(text); // comments (the ledger) stay
      return;
    }
    const at = <T extends ModprobeEntry>(list: readonly T[]): T | undefined => list.find((e) => e.line === i + 1);
    const options = at(a.want.options);
    const softdep = at(a.want.softdeps);
    const black = at(a.want.blacklist);
    if (options) adoptOptions(a, options, text);
    else if (softdep) adoptSoftdep(a, softdep, text);
    else if (black) {
      if (!isBlacklisted(a.op, black.module)) a.kept.push(text);
    } else {
      // vfio-pci's install hook: whether an operator install or softdep would stop it is decided before
      // (addressBindingProblem in driver-binding.ts refuses the device); one rule, in one place.
      a.kept.push(text);
    }
  });
  if (a.blocking.length) return { owned: desired, changes: [], blocking: a.blocking, warnings: [] };
  const owned = a.kept.some((l) => l.trim() !== '') ? `${MANAGED_HEADER}\n${a.kept.join('\n')}\n` : null;
  return { owned, changes: operatorEdits(files, a.neutralise, runId), blocking: [], warnings: a.warnings };
}

/** Neutralise the operator's lines for a setting the tool takes over (only files under /etc/modprobe.d). */
function takeOver(a: Adoption, entries: readonly ModprobeEntry[], what: string): void {
  for (const e of entries) {
    if (!e.file.startsWith(MODPROBE_D)) {
      a.blocking.push({
        subject: `file ${e.file}`,
        reason: `line ${e.line} configures ${what} differently from the declaration, and pve-passthrough edits only files in ${MODPROBE_D}`,
        fix: `copy it to ${MODPROBE_D}${e.file.slice(e.file.lastIndexOf('/') + 1)} (a file there overrides it), then plan again`,
      });
      continue;
    }
    const set = a.neutralise.get(e.file) ?? new Set<number>();
    for (let l = e.line; l <= e.endLine; l++) set.add(l - 1);
    a.neutralise.set(e.file, set);
    a.warnings.push({ subject: `file ${e.file}`, message: `line ${e.line} (${e.text.slice(0, 80)}) is taken over into ${MODPROBE_FILE} and commented out there; rollback, or removing the declaration, puts it back` });
  }
}

const paramOf = (w: string): string => w.split('=')[0] ?? w;
const valueOf = (w: string): string => (w.includes('=') ? w.slice(w.indexOf('=') + 1) : '');

/**
 * The operator's effective configuration already gives this option word. vfio-pci's disable_vga
 * is judged by its effect (disable-vga.ts: `disable_vga=Y` is `=1`, and a command-line
 * `vfio_pci.disable_vga=` wins over modprobe.d); other words by their value as written.
 */
function wordMet(a: Adoption, module: string, w: string): boolean {
  if (module === 'vfio_pci' && isDisableVgaWord(w)) {
    const now = disableVgaFrom(a.op, a.cmdline);
    if (now.on === setsDisableVga(w)) return true;
    // kmod appends the command line after every modprobe.d option: a line written there could never win.
    const token = now.cmdlineToken;
    if (token !== undefined && !a.blocking.some((r) => r.reason.startsWith(token))) {
      a.blocking.push({
        subject: 'kernel command line',
        reason: `${token} is configured for the next boot; kmod passes it after every modprobe.d option, so it wins over the declared ${w}`,
        fix: `remove ${token} from the kernel command line (or make it agree with disableVga), then plan again`,
      });
    }
    return false;
  }
  return moduleParam(a.op, module, paramOf(w))?.value === valueOf(w);
}

function adoptOptions(a: Adoption, options: ModprobeEntry & { options: string; module: string }, text: string): void {
  const words = options.options.split(/[ \t]+/).filter(Boolean);
  if (options.module === 'vfio_pci' && words.some((w) => w.startsWith('ids='))) {
    adoptVfioIds(a, words);
    return;
  }
  const unmet = words.filter((w) => !wordMet(a, options.module, w));
  if (unmet.length === 0) return;
  for (const w of unmet) {
    const other = moduleParam(a.op, options.module, paramOf(w));
    if (other) a.warnings.push({ subject: `file ${other.from.file}`, message: `line ${other.from.line} also sets ${options.module} ${paramOf(w)}=${other.value}; the value read last wins` });
  }
  a.kept.push(text);
}

/** vfio-pci's one `options … ids=` line: satisfied, written, or taken over (never a second one). */
function adoptVfioIds(a: Adoption, words: readonly string[]): void {
  const wantIds = vfioPciIds(a.want).value.ids;
  // The line's other options (disable_vga=1) the operator's effective config does not already give.
  const unmet = words.filter((w) => !w.startsWith('ids=') && !wordMet(a, 'vfio_pci', w));
  const onCmdline = cmdlineVfioIds(a.cmdline);
  if (onCmdline) {
    if (unmet.length) a.kept.push(`options vfio-pci ${unmet.join(' ')}`);
    if (!wantIds.every((id) => onCmdline.ids.includes(id))) {
      a.blocking.push({
        subject: 'kernel command line',
        reason: `${onCmdline.token} is configured for the next boot; kmod passes it after every modprobe.d option, so it wins over any ids= there, and it does not name ${wantIds.filter((id) => !onCmdline.ids.includes(id)).join(', ')}`,
        fix: 'add the declared ids to that token, or remove it (pve-passthrough then writes options vfio-pci ids=), then plan again',
      });
    }
    return;
  }
  const have = vfioPciIds(a.op).value;
  if (have.lines.length === 0) {
    a.kept.push(['options vfio-pci', ...words.filter((w) => w.startsWith('ids=')), ...unmet].join(' '));
    return;
  }
  const idsMet = wantIds.every((id) => have.ids.includes(id));
  if (idsMet && unmet.length === 0) return;
  // Taken over, never duplicated: the operator's ids and options first, then what the declaration adds.
  const merged = [...have.ids, ...wantIds.filter((id) => !have.ids.includes(id))];
  const extra = new Map<string, string>();
  for (const l of have.lines) {
    for (const w of l.options.split(/[ \t]+/).filter((x) => x !== '' && !x.startsWith('ids='))) extra.set(paramOf(w), w);
  }
  for (const w of unmet) extra.set(paramOf(w), w);
  a.kept.push(['options vfio-pci', `ids=${merged.join(',')}`, ...extra.values()].join(' '));
  takeOver(a, have.lines, `options vfio-pci ${idsMet ? unmet.map(paramOf).join(' ') + '=' : 'ids='}`);
}

/**
 * `softdep <drv> pre: vfio-pci`: satisfied by the operator's first softdep for drv when it loads
 * vfio-pci first; an operator softdep without it is taken over (merged), since kmod uses only the
 * first softdep of a module and vfio-pci (with its install hook, for binding by address) must load
 * before the driver probes. An operator install command for drv cannot be combined: the softdep
 * would make kmod ignore it.
 */
function adoptSoftdep(a: Adoption, softdep: ModprobeEntry & { module: string; pre: readonly string[]; post: readonly string[] }, text: string): void {
  // A module the operator blacklists is never loaded by alias at boot (PVE ships `blacklist nvidiafb`): no order to set.
  if (isBlacklisted(a.op, softdep.module)) return;
  const theirs = softdepOf(a.op, softdep.module);
  if (theirs) {
    const theirPre = norm(theirs.pre);
    const theirPost = norm(theirs.post);
    if (softdep.pre.every((m) => theirPre.has(normalizeModule(m))) && softdep.post.every((m) => theirPost.has(normalizeModule(m)))) return;
    const pre = [...theirs.pre, ...softdep.pre.filter((m) => !theirPre.has(normalizeModule(m)))];
    const post = [...theirs.post, ...softdep.post.filter((m) => !theirPost.has(normalizeModule(m)))];
    a.kept.push(`softdep ${softdep.text.split(/[ \t]+/)[1]} pre: ${pre.join(' ')}${post.length ? ` post: ${post.join(' ')}` : ''}`);
    takeOver(a, a.op.softdeps.filter((s) => s.module === softdep.module), `softdep ${softdep.module}`);
    return;
  }
  const install = installOf(a.op, softdep.module);
  if (install) {
    a.blocking.push({
      subject: `file ${install.file}`,
      reason: `line ${install.line}: install ${install.module} is the operator's; a softdep for ${install.module} (which vfio-pci needs to load first) would make kmod ignore that install command (modprobe.d(5): softdep takes precedence)`,
      fix: 'turn the install command into a softdep, or remove it, then plan again',
    });
    return;
  }
  a.kept.push(text);
}

/** The operator files' new content: taken-over lines commented out, lines no longer needed put back. */
function operatorEdits(files: readonly OperatorFile[], neutralise: ReadonlyMap<string, ReadonlySet<number>>, runId: string): FileChange[] {
  const changes: FileChange[] = [];
  for (const f of files) {
    const set = neutralise.get(f.path) ?? new Set<number>();
    const target = f.restored.map((l, i) => (set.has(i) ? (MARK.test(f.actual[i] as string) ? (f.actual[i] as string) : `${takeoverMarker(runId)}${l}`) : l));
    const before = f.actual.join('\n');
    const after = target.join('\n');
    if (after === before) continue;
    const taken = [...set].filter((i) => !MARK.test(f.actual[i] as string)).map((i) => i + 1);
    const back = f.actual.flatMap((l, i) => (MARK.test(l) && !set.has(i) ? [i + 1] : []));
    changes.push({
      path: f.path,
      after,
      reason: [taken.length ? `take over line ${taken.join(', ')} into ${MODPROBE_FILE} (commented out here)` : '', back.length ? `put back line ${back.join(', ')} as the operator wrote it` : ''].filter(Boolean).join('; '),
    });
  }
  return changes;
}
