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
 * Because grub-mkconfig SOURCES these files, anything else in them runs as
 * shell on every update-grub, and can change variables or files in ways this
 * evaluator cannot follow. So everything it does not fully understand is an
 * error naming the file, line and reason (which blocks the node's plan): any
 * command (`A=x; rm -rf /boot`, `A=x cmd`, `.`, `eval`, `true`), pipes, `&&`,
 * `||`, `&`, subshells, redirections, groups, functions, conditionals and
 * loops, `${VAR:-…}` forms, special parameters ($1, $?), tilde expansion,
 * `A+=x` (not an assignment in sh), unterminated quotes, and command
 * substitution except the distributions' stock GRUB_DISTRIBUTOR lines (a
 * substitution runs in a subshell, so it cannot change the command-line
 * variables; the stock texts are known to do nothing else). A substitution in
 * GRUB_CMDLINE_* itself makes the value unknown (evaluateGrub reports it).
 * Assignments inside if/for/case are still recorded as conditional (value
 * unknown), so plan can name them too.
 */
import { excerpt, type Parsed } from './text.js';
import type { GrubCmdlineAssignment, GrubFacts, RemoteFile } from './types.js';

export const GRUB_CMDLINE_VARS = ['GRUB_CMDLINE_LINUX_DEFAULT', 'GRUB_CMDLINE_LINUX'] as const;

export type GrubAssignment = GrubCmdlineAssignment;

/**
 * Command substitutions shipped in stock /etc/default/grub files (right-hand sides of
 * GRUB_DISTRIBUTOR): Debian 10-12's grub2 package, and Debian 13's (the base of PVE 9).
 */
export const STOCK_SUBSTITUTIONS: readonly string[] = [
  '`lsb_release -i -s 2> /dev/null || echo Debian`',
  '`( . /etc/os-release && echo ${NAME} )`',
];

interface Word {
  raw: string;
  value: string;
  dynamic: boolean;
  /** Holds a command substitution (`…`, $(…)). */
  substituted: boolean;
  refs: Set<string>;
  line: number;
}

const NAME_EQ = /^([A-Za-z_][A-Za-z0-9_]*)=/;
const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const OPENERS = new Set(['if', 'for', 'while', 'until', 'case', 'select', 'function']);
const CLOSERS = new Set(['fi', 'done', 'esac']);
/** Words that continue a construct already reported at its opener. */
const CONTINUATIONS = new Set(['then', 'do', 'else', 'elif']);
const OPERATORS: Readonly<Record<string, string>> = {
  '&': 'a background job or `&&` list',
  '|': 'a pipe or `||` list',
  '(': 'a subshell or function definition',
  ')': 'a subshell, function definition or case pattern',
  '<': 'a redirection',
  '>': 'a redirection',
};
const WHY = 'grub-mkconfig sources this file as shell on every update-grub, and pve-passthrough evaluates only plain assignments';

function leadingAssignments(ws: readonly Word[]): Word[] {
  const n = ws.findIndex((x) => !NAME_EQ.test(x.raw));
  return ws.slice(0, n < 0 ? ws.length : n);
}

/** Sources one file into `env` (mutated) and returns the assignments it made. */
export function sourceGrubFile(file: string, content: string, env: Map<string, string>): Parsed<GrubAssignment[]> {
  const sourcer = new GrubSourcer(file, content, env);
  sourcer.run();
  return { value: sourcer.assignments, errors: [...new Set(sourcer.errors)] };
}

/** A one-pass lexer and evaluator: each command is evaluated when it ends, so `A=1; B=$A` sees A. */
class GrubSourcer {
  readonly errors: string[] = [];
  readonly assignments: GrubAssignment[] = [];
  private readonly s: string;
  private i = 0;
  private line = 1;
  private depth = 0;
  /** Last line with an operator error. */
  private operatorLine = 0;
  private words: Word[] = [];
  private w: Word | null = null;

  constructor(
    private readonly file: string,
    content: string,
    private readonly env: Map<string, string>,
  ) {
    this.s = content.replace(/\r\n/g, '\n');
  }

  run(): void {
    while (this.i < this.s.length) this.step(this.s[this.i] as string);
    this.endCommand();
  }

  private fail(line: number, what: string): void {
    this.errors.push(`${this.file}:${line}: ${what}`);
  }

  private word(): Word {
    return (this.w ??= { raw: '', value: '', dynamic: false, substituted: false, refs: new Set(), line: this.line });
  }

  private endWord(): void {
    if (this.w) this.words.push(this.w);
    this.w = null;
  }

  /** One character (or construct) outside quotes. */
  private step(c: string): void {
    const s = this.s;
    if (c === '\n') {
      this.endCommand();
      this.line++;
      this.i++;
    } else if (c === ' ' || c === '\t') {
      this.endWord();
      this.i++;
    } else if (c === ';') {
      this.endCommand();
      this.i++;
    } else if (OPERATORS[c] !== undefined) {
      this.fail(this.line, `${JSON.stringify(c)} (${OPERATORS[c]}): ${WHY}; remove it or move it out of the file`);
      // The whole line is then not followed: `A=x | …` and `A=x &` run in a subshell, `A=x && …`, `> f` not.
      this.operatorLine = this.line;
      this.endCommand();
      this.i++;
    } else if (c === '#' && this.w === null) {
      while (this.i < s.length && s[this.i] !== '\n') this.i++;
    } else if (c === '\\') {
      const next = s[this.i + 1];
      if (next === '\n') this.line++;
      else if (next !== undefined) {
        this.word().raw += `\\${next}`;
        this.word().value += next;
      }
      this.i += 2;
    } else if (c === "'") {
      this.singleQuote();
    } else if (c === '"') {
      this.doubleQuote();
    } else if (c === '$') {
      this.dollar(this.word());
    } else if (c === '`') {
      this.backquote(this.word());
    } else {
      const cur = this.word();
      if (c === '~' && (cur.raw === '' || /[=:]$/.test(cur.raw))) this.fail(this.line, `unquoted ~ (tilde expansion to a home directory): ${WHY}; quote it`);
      cur.raw += c;
      cur.value += c;
      this.i++;
    }
  }

  private singleQuote(): void {
    const end = this.s.indexOf("'", this.i + 1);
    const cur = this.word();
    if (end < 0) {
      this.fail(this.line, 'unterminated single quote');
      cur.dynamic = true;
      this.i = this.s.length;
      return;
    }
    const text = this.s.slice(this.i + 1, end);
    cur.raw += `'${text}'`;
    cur.value += text;
    this.line += text.split('\n').length - 1;
    this.i = end + 1;
  }

  private doubleQuote(): void {
    const s = this.s;
    const cur = this.word();
    const startLine = this.line;
    cur.raw += '"';
    this.i++;
    while (this.i < s.length) {
      const d = s[this.i] as string;
      if (d === '"') {
        cur.raw += '"';
        this.i++;
        return;
      }
      if (d === '\\' && this.i + 1 < s.length && '$`"\\\n'.includes(s[this.i + 1] as string)) {
        const e = s[this.i + 1] as string;
        if (e === '\n') this.line++;
        else cur.value += e;
        cur.raw += `\\${e}`;
        this.i += 2;
      } else if (d === '$') {
        this.dollar(cur);
      } else if (d === '`') {
        this.backquote(cur);
      } else {
        if (d === '\n') this.line++;
        cur.raw += d;
        cur.value += d;
        this.i++;
      }
    }
    this.fail(startLine, 'unterminated double quote');
    cur.dynamic = true;
  }

  /** `…`: a command substitution, never evaluated (the value becomes unknown). */
  private backquote(target: Word): void {
    const end = this.s.indexOf('`', this.i + 1);
    if (end < 0) this.fail(this.line, 'unterminated backquote');
    const text = this.s.slice(this.i, end < 0 ? this.s.length : end + 1);
    this.line += text.split('\n').length - 1;
    target.raw += text;
    target.dynamic = true;
    target.substituted = true;
    this.i = end < 0 ? this.s.length : end + 1;
  }

  /** At `$`: $NAME and ${NAME} expand; $(…), $((…)) are substitutions; ${NAME…} with an operator and $1, $? … are errors. */
  private dollar(target: Word): void {
    const s = this.s;
    const rest = s.slice(this.i + 1);
    const ref = /^\{([A-Za-z_][A-Za-z0-9_]*)\}/.exec(rest) ?? /^([A-Za-z_][A-Za-z0-9_]*)/.exec(rest);
    if (ref?.[1] !== undefined) {
      target.raw += `$${ref[0]}`;
      target.value += this.env.get(ref[1]) ?? '';
      target.refs.add(ref[1]);
      this.i += 1 + ref[0].length;
    } else if (rest.startsWith('(') || rest.startsWith('{')) {
      const open = rest[0] as string;
      const close = open === '(' ? ')' : '}';
      const startLine = this.line;
      let d = 0;
      let j = this.i + 1;
      for (; j < s.length; j++) {
        if (s[j] === open) d++;
        else if (s[j] === close && --d === 0) break;
        if (s[j] === '\n') this.line++;
      }
      const text = s.slice(this.i, j + 1);
      if (open === '{') this.fail(startLine, `${excerpt(text, 40)} (parameter expansion with an operator, which may also assign): ${WHY}; write the value out`);
      target.raw += text;
      target.dynamic = true;
      target.substituted ||= open === '(';
      this.i = j + 1;
    } else if (/^[0-9@*#?$!-]/.test(rest)) {
      this.fail(this.line, `$${rest[0] as string} (a special parameter, set by grub-mkconfig itself): ${WHY}; write the value out`);
      target.raw += `$${rest[0] as string}`;
      target.dynamic = true;
      this.i += 2;
    } else {
      target.raw += '$';
      target.value += '$';
      this.i++;
    }
  }

  /** The words of one simple command are complete: evaluate it. */
  private endCommand(): void {
    this.endWord();
    let ws = this.words;
    this.words = [];
    while (ws[0] && CONTINUATIONS.has(ws[0].raw)) ws = ws.slice(1);
    const first = ws[0];
    if (!first) return;
    if (OPENERS.has(first.raw) || first.raw === '{' || first.raw === '!') {
      if (OPENERS.has(first.raw)) this.depth++;
      this.fail(first.line, `${JSON.stringify(first.raw)} (a shell condition, loop, group or function): ${WHY}; keep assignments unconditional`);
      return;
    }
    if (CLOSERS.has(first.raw) || first.raw === '}') {
      if (first.raw !== '}') this.depth = Math.max(0, this.depth - 1);
      return;
    }
    const exported = first.raw === 'export';
    if (exported) ws = ws.slice(1);
    // `export A=x B`: names and assignments; otherwise leading assignments, then maybe a command (`A=x cmd`).
    const assigns = exported ? ws.filter((x) => NAME_EQ.test(x.raw)) : leadingAssignments(ws);
    const command = exported ? ws.find((x) => !NAME_EQ.test(x.raw) && !NAME.test(x.raw)) : ws[assigns.length];
    if (command !== undefined) {
      if (/^[A-Za-z_][A-Za-z0-9_]*\+=/.test(command.raw)) this.fail(command.line, `${excerpt(command.raw, 40)} is not an assignment in sh (no +=); update-grub would fail on it`);
      else if (command.line !== this.operatorLine) this.fail(command.line, `runs the command ${excerpt(command.raw, 40)}: ${WHY}; remove it or move it out of the file`);
      return; // `A=x cmd`: A is only cmd's environment, not a variable of the file
    }
    for (const x of assigns) this.assign(x);
  }

  private assign(x: Word): void {
    const name = (NAME_EQ.exec(x.raw) as RegExpExecArray)[1] as string;
    const raw = x.raw.slice(name.length + 1);
    const cmdlineVar = (GRUB_CMDLINE_VARS as readonly string[]).includes(name);
    // A substitution in GRUB_CMDLINE_* makes the value unknown (evaluateGrub reports it); elsewhere only stock texts are known.
    if (x.substituted && !cmdlineVar && !STOCK_SUBSTITUTIONS.includes(raw)) {
      this.fail(x.line, `${name}=${excerpt(raw, 60)} runs a command substitution: ${WHY}; write the value out`);
    }
    // After an operator on the same line (`A=x && B=y`, `( B=y )`) whether and where it is set is not followed.
    const unknown = x.dynamic || this.depth > 0 || x.line === this.operatorLine;
    if (!unknown) this.env.set(name, x.value.slice(name.length + 1));
    this.assignments.push({
      file: this.file,
      line: x.line,
      name,
      value: unknown ? null : x.value.slice(name.length + 1),
      raw,
      selfReference: x.refs.has(name),
      conditional: this.depth > 0,
    });
  }
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
        const why = a.conditional ? 'conditional' : /`|\$\(/.test(a.raw) ? 'command substitution' : 'not a plain assignment';
        errors.push(`${a.file}:${a.line}: cannot evaluate ${a.name}=${excerpt(a.raw, 60)} (${why})`);
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
