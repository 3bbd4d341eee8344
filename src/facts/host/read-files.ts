/**
 * The `files` of HostFacts, from the `file:<path>`, `dir:<dir>` and `stat`
 * sections. `cat` content is exact; files found under a directory are rebuilt
 * from grep's lines. Relevant files (the ones modprobe, systemd-modules-load
 * or grub-mkconfig read) that could not be read are errors: the operations
 * must not decide from half a picture.
 */
import type { SectionResult } from '../../transport/shell.js';
import { parseGrepTree } from './parse-grep-tree.js';
import { parseStat, type StatEntry } from './parse-stat.js';
import { MODPROBE_DIRS } from './modprobe-d.js';
import { MODULES_LOAD_DIRS } from './modules-load-d.js';
import { READ_DIRS, READ_FILES } from './script.js';
import { excerpt, looksBinary, type Parsed } from './text.js';
import type { RemoteFile } from './types.js';

/** Files in READ_DIRS that the system actually reads (directly inside, by extension). */
export function isRelevantDirFile(path: string): boolean {
  const dir = path.slice(0, path.lastIndexOf('/'));
  const name = path.slice(dir.length + 1);
  if (dir === '/etc/default/grub.d') return name.endsWith('.cfg');
  return ([...MODPROBE_DIRS, ...MODULES_LOAD_DIRS] as readonly string[]).includes(dir) && name.endsWith('.conf');
}

const isModulesLoadDir = (dir: string): boolean => (MODULES_LOAD_DIRS as readonly string[]).includes(dir);

function withStat(path: string, content: string | null, st: StatEntry | undefined): RemoteFile {
  if (content === null || st === undefined) return { path, content };
  return { path, content, mode: st.mode, uid: st.uid, gid: st.gid };
}

export function readFiles(sections: ReadonlyMap<string, SectionResult>): Parsed<Record<string, RemoteFile>> {
  const errors: string[] = [];
  const stat = parseStat(sections.get('stat')?.output ?? '');
  errors.push(...stat.errors);
  const files = new Map<string, RemoteFile>();

  for (const dir of READ_DIRS) {
    const section = sections.get(`dir:${dir}`);
    if (!section) continue; // reported as a missing section by the caller
    const known = [...stat.value.keys()].filter((p) => p.startsWith(`${dir}/`));
    const tree = parseGrepTree(section.output, dir, known);
    errors.push(...tree.errors);
    for (const [path, content] of tree.value.files) files.set(path, withStat(path, content, stat.value.get(path)));
    for (const path of tree.value.binary) {
      if (isRelevantDirFile(path)) errors.push(`${path} looks binary; not read`);
    }
    for (const path of tree.value.unreadable) {
      if (isRelevantDirFile(path) || path === dir) errors.push(`${excerpt(path)} could not be read`);
    }
    // Empty files produce no grep lines; stat still lists them. A symlink (mode 0777) is skipped by grep -r.
    for (const path of known) {
      if (files.has(path) || !isRelevantDirFile(path)) continue;
      if (tree.value.binary.includes(path) || tree.value.unreadable.includes(path)) continue;
      const st = stat.value.get(path);
      // Debian and PVE ship /etc/modules-load.d/modules.conf -> ../modules, which is read on its
      // own; a link there is skipped (and never written through). In modprobe.d and grub.d an
      // unread target could bind or override anything, so the node is refused.
      if (st?.mode === '0777' && isModulesLoadDir(dir)) continue;
      if (st?.mode === '0777') errors.push(`${path} is a symlink; its target was not read`);
      else files.set(path, withStat(path, '', st));
    }
    if (section.rc > 1 && !tree.value.missing && tree.value.unreadable.length === 0 && tree.value.binary.length === 0) {
      errors.push(`grep -r ${dir} exited with ${section.rc}`);
    }
  }

  for (const path of READ_FILES) {
    const section = sections.get(`file:${path}`);
    if (!section) continue;
    if (section.rc === 0) {
      if (looksBinary(section.output)) errors.push(`${path} looks binary`);
      files.set(path, withStat(path, section.output, stat.value.get(path)));
    } else if (/No such file or directory/.test(section.output)) {
      files.set(path, { path, content: null });
    } else {
      files.set(path, { path, content: null });
      errors.push(`${path} could not be read (exit ${section.rc}): ${excerpt(section.output)}`);
    }
  }

  const out: Record<string, RemoteFile> = {};
  for (const path of [...files.keys()].sort()) out[path] = files.get(path) as RemoteFile;
  return { value: out, errors };
}
