/**
 * grep output in `path:line` form. Paths may themselves contain ':', so a line
 * is split at a path we can recognise (a known file name from `stat`, or a
 * caller-given path pattern), never blindly at the first colon.
 *
 *   grep -r -H '' DIR   every line of every file below DIR (files rebuilt from their lines)
 *   grep -H . FILE…     every non-empty line of each file
 *
 * grep's own messages (`grep: X: No such file or directory`, `grep: X: binary
 * file matches`, older `Binary file X matches`) are recognised, not read as content.
 */
import { excerpt, splitLines, type Parsed } from './text.js';

export interface GrepTree {
  /** path -> content rebuilt from its lines (every line ends with "\n"; a missing final newline is not visible to grep). */
  readonly files: ReadonlyMap<string, string>;
  /** Files grep reported as binary (content not shown). */
  readonly binary: readonly string[];
  /** Files grep could not read (permission denied, …). */
  readonly unreadable: readonly string[];
  /** DIR itself does not exist. */
  readonly missing: boolean;
}

function grepMessage(line: string): { kind: 'binary' | 'missing' | 'unreadable'; path: string } | null {
  const old = /^Binary file (.+) matches$/.exec(line);
  if (old?.[1] !== undefined) return { kind: 'binary', path: old[1] };
  const m = /^grep: (.+): (binary file matches|No such file or directory|.+)$/.exec(line);
  if (m?.[1] === undefined) return null;
  if (m[2] === 'binary file matches') return { kind: 'binary', path: m[1] };
  if (m[2] === 'No such file or directory') return { kind: 'missing', path: m[1] };
  return { kind: 'unreadable', path: m[1] };
}

/**
 * `knownPaths` (from `stat` of DIR/*) resolve names that contain ':'. A line
 * that two known paths could both explain is reported as ambiguous.
 */
export function parseGrepTree(output: string, dir: string, knownPaths: Iterable<string> = []): Parsed<GrepTree> {
  const prefix = `${dir}/`;
  const known = [...knownPaths].filter((p) => p.startsWith(prefix)).sort((a, b) => b.length - a.length);
  const lines = new Map<string, string[]>();
  const binary: string[] = [];
  const unreadable: string[] = [];
  const errors: string[] = [];
  let missing = false;
  let ambiguous = 0;
  for (const line of splitLines(output)) {
    if (!line.startsWith(prefix)) {
      const msg = grepMessage(line);
      if (msg?.kind === 'missing' && msg.path === dir) missing = true;
      else if (msg?.kind === 'binary') binary.push(msg.path);
      else if (msg) unreadable.push(msg.path);
      else errors.push(`${dir}: unexpected grep line ${excerpt(line)}`);
      continue;
    }
    const candidates = known.filter((p) => line.startsWith(`${p}:`));
    let path: string;
    if (candidates.length > 0) {
      path = candidates[0] as string;
      if (candidates.length > 1 && ambiguous++ === 0) errors.push(`${dir}: line ${excerpt(line)} fits two file names (${candidates.join(', ')})`);
    } else {
      const colon = line.indexOf(':', prefix.length);
      if (colon < 0) {
        const msg = grepMessage(line);
        if (msg?.kind === 'binary') binary.push(msg.path);
        else errors.push(`${dir}: grep line without a separator ${excerpt(line)}`);
        continue;
      }
      path = line.slice(0, colon);
    }
    const content = line.slice(path.length + 1);
    const list = lines.get(path);
    if (list) list.push(content);
    else lines.set(path, [content]);
  }
  const files = new Map<string, string>();
  for (const [path, ls] of lines) files.set(path, ls.map((l) => `${l}\n`).join(''));
  return { value: { files, binary, unreadable, missing }, errors };
}

export interface GrepValue {
  readonly path: string;
  readonly value: string;
}

/**
 * `grep -H . FILE…` where every path matches `pathPattern` (anchored at the
 * start; it must end where the ':' separator begins). Unmatched files of a
 * glob that matched nothing show up as `grep: …: No such file or directory`
 * and are skipped.
 */
export function parseGrepValues(output: string, pathPattern: RegExp): Parsed<GrepValue[]> {
  const values: GrepValue[] = [];
  const errors: string[] = [];
  const re = new RegExp(`^(?:${pathPattern.source}):`, pathPattern.flags.replace('g', ''));
  for (const line of splitLines(output)) {
    if (line === '') continue;
    const m = re.exec(line);
    if (m) {
      const path = m[0].slice(0, -1);
      values.push({ path, value: line.slice(m[0].length) });
      continue;
    }
    if (grepMessage(line)) continue;
    errors.push(`unexpected grep line ${excerpt(line)}`);
  }
  return { value: values, errors };
}
