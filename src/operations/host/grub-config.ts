/**
 * Just enough of sh to read GRUB's kernel command line out of
 * /etc/default/grub and /etc/default/grub.d/*.cfg (grub-mkconfig sources the
 * main file, then every `*.cfg` of grub.d in glob order; we use byte order,
 * the C locale's).
 *
 * Only assignments to GRUB_CMDLINE_LINUX and GRUB_CMDLINE_LINUX_DEFAULT are
 * read. Values may mix "double" (with $VAR / ${VAR}), 'single' and bare
 * parts. Anything we cannot evaluate for sure (command substitution,
 * backticks, an unclosed quote, trailing commands) is reported as
 * `unreadable` so callers can fail closed.
 */
import { ETC_DEFAULT_GRUB, GRUB_D } from './paths.js';
import type { RemoteFile } from '../../facts/host/types.js';

export type GrubVar = 'GRUB_CMDLINE_LINUX' | 'GRUB_CMDLINE_LINUX_DEFAULT';
export type ValuePart = { readonly lit: string } | { readonly ref: string };

export interface GrubAssignment {
  readonly file: string;
  readonly line: number; // 1-based
  readonly variable: GrubVar;
  /** null when the value could not be evaluated. */
  readonly parts: readonly ValuePart[] | null;
  readonly unreadable?: string;
}

const ASSIGN = /^\s*(?:export\s+)?(GRUB_CMDLINE_LINUX(?:_DEFAULT)?)(\+?=)(.*)$/;

export function parseGrubAssignments(file: string, content: string): GrubAssignment[] {
  const out: GrubAssignment[] = [];
  content.split('\n').forEach((text, i) => {
    const m = ASSIGN.exec(text);
    if (!m) return;
    const variable = m[1] as GrubVar;
    if (m[2] === '+=') {
      out.push({ file, line: i + 1, variable, parts: null, unreadable: '`+=` is not sh' });
      return;
    }
    const parsed = parseShellWord(m[3] ?? '');
    out.push(typeof parsed === 'string'
      ? { file, line: i + 1, variable, parts: null, unreadable: parsed }
      : { file, line: i + 1, variable, parts: parsed });
  });
  return out;
}

/** One sh word (then only whitespace or a comment). Returns the parts, or why it cannot be read. */
function parseShellWord(s: string): ValuePart[] | string {
  const parts: ValuePart[] = [];
  let i = 0;
  let lit = '';
  const flush = () => {
    if (lit) parts.push({ lit });
    lit = '';
  };
  const readRef = (): string | null => {
    // at s[i] === '$'
    const braced = /^\$\{([A-Za-z_][A-Za-z0-9_]*)\}/.exec(s.slice(i));
    const plain = /^\$([A-Za-z_][A-Za-z0-9_]*)/.exec(s.slice(i));
    const m = braced ?? plain;
    if (!m) return null;
    i += m[0].length;
    return m[1] ?? null;
  };
  while (i < s.length) {
    const ch = s[i]!;
    if (/\s/.test(ch) || ch === ';') break;
    if (ch === '`' || s.startsWith('$(', i)) return 'command substitution';
    if (ch === "'") {
      const end = s.indexOf("'", i + 1);
      if (end < 0) return 'unclosed single quote (multi-line values are not read)';
      lit += s.slice(i + 1, end);
      i = end + 1;
    } else if (ch === '"') {
      i++;
      let closed = false;
      while (i < s.length) {
        const c = s[i]!;
        if (c === '"') { closed = true; i++; break; }
        if (c === '`' || s.startsWith('$(', i)) return 'command substitution';
        if (c === '\\' && i + 1 < s.length) { lit += s[i + 1]; i += 2; continue; }
        if (c === '$') {
          const ref = readRef();
          if (ref === null) return 'unsupported $ expansion';
          flush();
          parts.push({ ref });
          continue;
        }
        lit += c;
        i++;
      }
      if (!closed) return 'unclosed double quote (multi-line values are not read)';
    } else if (ch === '$') {
      const ref = readRef();
      if (ref === null) return 'unsupported $ expansion';
      flush();
      parts.push({ ref });
    } else if (ch === '\\' && i + 1 < s.length) {
      lit += s[i + 1];
      i += 2;
    } else {
      lit += ch;
      i++;
    }
  }
  flush();
  const rest = s.slice(i).trim();
  if (rest !== '' && !rest.startsWith('#')) return `more after the value: ${JSON.stringify(rest.slice(0, 40))}`;
  return parts;
}

export function refersToSelf(a: GrubAssignment): boolean {
  return a.parts !== null && a.parts.some((p) => 'ref' in p && p.ref === a.variable);
}

/** The files grub-mkconfig sources, in order: the main file, then grub.d/*.cfg sorted bytewise. */
export function grubSourceOrder(files: Readonly<Record<string, RemoteFile>>): string[] {
  const dropins = Object.keys(files)
    .filter((p) => p.startsWith(GRUB_D) && p.endsWith('.cfg') && !p.slice(GRUB_D.length).includes('/') && files[p]?.content != null)
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return files[ETC_DEFAULT_GRUB]?.content != null ? [ETC_DEFAULT_GRUB, ...dropins] : dropins;
}

export interface GrubEvaluation {
  readonly linux: string;
  readonly linuxDefault: string;
  readonly unreadable: readonly GrubAssignment[];
}

/** Evaluates the two variables over the given files in order; unknown variables expand to ''. */
export function evaluateGrub(files: Readonly<Record<string, RemoteFile>>, order: readonly string[]): GrubEvaluation {
  const env: Record<GrubVar, string> = { GRUB_CMDLINE_LINUX: '', GRUB_CMDLINE_LINUX_DEFAULT: '' };
  const unreadable: GrubAssignment[] = [];
  for (const path of order) {
    const content = files[path]?.content;
    if (content == null) continue;
    for (const a of parseGrubAssignments(path, content)) {
      if (a.parts === null) {
        unreadable.push(a);
        continue;
      }
      env[a.variable] = a.parts.map((p) => ('lit' in p ? p.lit : p.ref in env ? env[p.ref as GrubVar] : '')).join('');
    }
  }
  return { linux: env.GRUB_CMDLINE_LINUX, linuxDefault: env.GRUB_CMDLINE_LINUX_DEFAULT, unreadable };
}
