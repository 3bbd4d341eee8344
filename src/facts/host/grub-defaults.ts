/**
 * The one GRUB evaluator (facts, plan and verify all use it). GRUB's defaults
 * files are sh, sourced by grub-mkconfig (`. "${sysconfdir}/default/grub"`,
 * then `for x in ${sysconfdir}/default/grub.d/*.cfg; do . "$x"; done`, so
 * glob order: bytewise in the C locale). This is a small evaluator for the
 * part that matters: assignments (with `export`), '…' and "…" quoting (values
 * may span lines), backslash escapes, and $VAR / ${VAR} expansion, so
 * `GRUB_CMDLINE_LINUX_DEFAULT="$GRUB_CMDLINE_LINUX_DEFAULT x"` in a drop-in
 * extends the earlier value.
 *
 * sh rules kept: `A=x cmd` sets A only for cmd (not recorded); `A+=x` is not
 * an assignment in sh (a command that is not found: an error here).
 * What it cannot evaluate is reported when it touches the command line:
 * command substitution (`…`, $(…)) or an assignment inside if/for/case; a
 * file that sources others (`.`, `source`, `eval`, `unset`) is an error.
 * An unterminated quote anywhere is an error: the file would not source and
 * update-grub would fail.
 */
import { excerpt, type Parsed } from './text.js';
import type { GrubCmdlineAssignment, GrubFacts, RemoteFile } from './types.js';

export const GRUB_CMDLINE_VARS = ['GRUB_CMDLINE_LINUX_DEFAULT', 'GRUB_CMDLINE_LINUX'] as const;

export type GrubAssignment = GrubCmdlineAssignment;

interface Word {
  raw: string;
  value: string;
  dynamic: boolean;
  refs: Set<string>;
  line: number;
}

const NAME_EQ = /^([A-Za-z_][A-Za-z0-9_]*)=/;
const OPENERS = new Set(['if', 'for', 'while', 'until', 'case']);
const CLOSERS = new Set(['fi', 'done', 'esac']);
const PREFIX_KEYWORDS = new Set(['then', 'do', 'else', 'elif', '{', '}', '!']);

/** Sources one file into `env` (mutated) and returns the assignments it made. */
export function sourceGrubFile(file: string, content: string, env: Map<string, string>): Parsed<GrubAssignment[]> {
  const errors: string[] = [];
  const assignments: GrubAssignment[] = [];
  const s = content.replace(/\r\n/g, '\n');
  let i = 0;
  let line = 1;
  let depth = 0;
  let words: Word[] = [];
  let w: Word | null = null;

  const word = (): Word => (w ??= { raw: '', value: '', dynamic: false, refs: new Set(), line });
  const endWord = (): void => {
    if (w) words.push(w);
    w = null;
  };
  const expand = (target: Word): void => {
    // at s[i] === '$'
    const rest = s.slice(i + 1);
    const braced = /^\{([A-Za-z_][A-Za-z0-9_]*)\}/.exec(rest);
    const plain = /^([A-Za-z_][A-Za-z0-9_]*)/.exec(rest);
    if (braced?.[1] !== undefined) {
      target.raw += `$${braced[0]}`;
      target.value += env.get(braced[1]) ?? '';
      target.refs.add(braced[1]);
      i += 1 + braced[0].length;
    } else if (plain?.[1] !== undefined) {
      target.raw += `$${plain[0]}`;
      target.value += env.get(plain[1]) ?? '';
      target.refs.add(plain[1]);
      i += 1 + plain[0].length;
    } else if (rest.startsWith('(') || rest.startsWith('{')) {
      // $(…) or ${…:-…}: not evaluated; skip to the matching bracket
      const open = rest[0] as string;
      const close = open === '(' ? ')' : '}';
      let d = 0;
      let j = i + 1;
      for (; j < s.length; j++) {
        if (s[j] === open) d++;
        else if (s[j] === close && --d === 0) break;
        if (s[j] === '\n') line++;
      }
      target.raw += s.slice(i, j + 1);
      target.dynamic = true;
      i = j + 1;
    } else {
      target.raw += '$';
      target.value += '$';
      i++;
    }
  };
  const endCommand = (): void => {
    endWord();
    let ws = words;
    words = [];
    while (ws[0] && PREFIX_KEYWORDS.has(ws[0].raw)) ws = ws.slice(1);
    const first = ws[0];
    if (!first) return;
    if (OPENERS.has(first.raw)) {
      depth++;
      return;
    }
    if (CLOSERS.has(first.raw)) {
      depth = Math.max(0, depth - 1);
      return;
    }
    if (first.raw === 'export') ws = ws.slice(1);
    const assigns: Word[] = [];
    for (const x of ws) {
      if (!NAME_EQ.test(x.raw)) break;
      assigns.push(x);
    }
    const command = ws[assigns.length];
    if (command !== undefined) {
      // `A=x cmd`: A is only cmd's environment. A command that can change variables cannot be followed.
      if (/^[A-Za-z_][A-Za-z0-9_]*\+=/.test(command.raw)) errors.push(`${file}:${command.line}: ${excerpt(command.raw, 40)} is not an assignment in sh (no +=); update-grub would fail on it`);
      else if (['.', 'source', 'eval', 'unset', 'read'].includes(command.raw)) errors.push(`${file}:${command.line}: runs ${excerpt(command.raw, 20)}; pve-passthrough cannot follow what it changes`);
      return;
    }
    for (const x of assigns) {
      const m = NAME_EQ.exec(x.raw);
      if (!m?.[1]) break;
      const name = m[1];
      const dynamic = x.dynamic;
      const value = x.value.slice(name.length + 1);
      if (!dynamic && depth === 0) env.set(name, value);
      assignments.push({
        file,
        line: x.line,
        name,
        value: dynamic || depth > 0 ? null : value,
        raw: x.raw.slice(name.length + 1),
        selfReference: x.refs.has(name),
        conditional: depth > 0,
      });
    }
  };

  while (i < s.length) {
    const c = s[i] as string;
    if (c === '\n') {
      endCommand();
      line++;
      i++;
    } else if (c === ' ' || c === '\t') {
      endWord();
      i++;
    } else if (c === ';' || c === '&' || c === '|' || c === '(' || c === ')') {
      endCommand();
      i++;
    } else if (c === '#' && w === null) {
      while (i < s.length && s[i] !== '\n') i++;
    } else if (c === '\\') {
      const next = s[i + 1];
      if (next === '\n') {
        line++;
      } else if (next !== undefined) {
        word().raw += `\\${next}`;
        word().value += next;
      }
      i += 2;
    } else if (c === "'") {
      const end = s.indexOf("'", i + 1);
      const cur = word();
      if (end < 0) {
        errors.push(`${file}:${line}: unterminated single quote`);
        cur.dynamic = true;
        i = s.length;
        break;
      }
      const text = s.slice(i + 1, end);
      cur.raw += `'${text}'`;
      cur.value += text;
      line += text.split('\n').length - 1;
      i = end + 1;
    } else if (c === '"') {
      const cur = word();
      const startLine = line;
      cur.raw += '"';
      i++;
      let closed = false;
      while (i < s.length) {
        const d = s[i] as string;
        if (d === '"') {
          closed = true;
          cur.raw += '"';
          i++;
          break;
        }
        if (d === '\\' && i + 1 < s.length && '$`"\\\n'.includes(s[i + 1] as string)) {
          const e = s[i + 1] as string;
          if (e === '\n') line++;
          else cur.value += e;
          cur.raw += `\\${e}`;
          i += 2;
        } else if (d === '$') {
          expand(cur);
        } else if (d === '`') {
          const end = s.indexOf('`', i + 1);
          cur.dynamic = true;
          cur.raw += s.slice(i, end < 0 ? s.length : end + 1);
          i = end < 0 ? s.length : end + 1;
        } else {
          if (d === '\n') line++;
          cur.raw += d;
          cur.value += d;
          i++;
        }
      }
      if (!closed) {
        errors.push(`${file}:${startLine}: unterminated double quote`);
        cur.dynamic = true;
      }
    } else if (c === '$') {
      expand(word());
    } else if (c === '`') {
      const cur = word();
      const end = s.indexOf('`', i + 1);
      if (end < 0) errors.push(`${file}:${line}: unterminated backquote`);
      const text = s.slice(i, end < 0 ? s.length : end + 1);
      line += text.split('\n').length - 1;
      cur.raw += text;
      cur.dynamic = true;
      i = end < 0 ? s.length : end + 1;
    } else {
      word().raw += c;
      word().value += c;
      i++;
    }
  }
  endCommand();
  return { value: assignments, errors };
}

export type GrubConfig = GrubFacts;

/** The two variables grub-mkconfig puts on every `linux` line, in that order (GRUB_CMDLINE_LINUX first). */
export function grubCmdlineText(cfg: GrubConfig): string | null {
  if (cfg.cmdlineLinux === null || cfg.cmdlineLinuxDefault === null) return null;
  return `${cfg.cmdlineLinux} ${cfg.cmdlineLinuxDefault}`;
}

/** GRUB inputs among read files (existing ones only), optionally leaving some out (e.g. the tool's drop-in). */
export function grubInputs(files: Readonly<Record<string, RemoteFile>>, exclude: readonly string[] = []): Map<string, string> {
  const out = new Map<string, string>();
  for (const path of grubSourceOrder(Object.keys(files))) {
    const content = files[path]?.content;
    if (content != null && !exclude.includes(path)) out.set(path, content);
  }
  return out;
}

/** grub-mkconfig's order: /etc/default/grub, then grub.d/*.cfg (directly inside, byte order). */
export function grubSourceOrder(paths: Iterable<string>): string[] {
  const all = [...paths];
  const dropIns = all
    .filter((p) => /^\/etc\/default\/grub\.d\/[^/]+\.cfg$/.test(p))
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return [...(all.includes('/etc/default/grub') ? ['/etc/default/grub'] : []), ...dropIns];
}

/** Source the given files in grub-mkconfig order and report the kernel command line they configure. */
export function evaluateGrub(files: ReadonlyMap<string, string>): Parsed<GrubConfig> {
  const env = new Map<string, string>();
  const errors: string[] = [];
  const assignments: GrubAssignment[] = [];
  const order = grubSourceOrder(files.keys());
  const unknown = new Set<string>();
  for (const path of order) {
    const r = sourceGrubFile(path, files.get(path) ?? '', env);
    errors.push(...r.errors);
    for (const a of r.value) {
      if (!(GRUB_CMDLINE_VARS as readonly string[]).includes(a.name)) continue;
      assignments.push(a);
      if (a.value === null) {
        unknown.add(a.name);
        errors.push(`${a.file}:${a.line}: cannot evaluate ${a.name}=${excerpt(a.raw, 60)} (${a.conditional ? 'conditional' : 'command substitution'})`);
      } else if (!a.selfReference) {
        unknown.delete(a.name); // a plain assignment replaces whatever came before
      }
    }
  }
  const val = (name: string): string | null => (unknown.has(name) ? null : (env.get(name) ?? ''));
  return {
    value: { cmdlineLinuxDefault: val('GRUB_CMDLINE_LINUX_DEFAULT'), cmdlineLinux: val('GRUB_CMDLINE_LINUX'), assignments, order },
    errors,
  };
}
