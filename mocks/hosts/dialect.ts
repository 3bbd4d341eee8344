/**
 * The remote command dialect of docs/architecture.md, tokenised, parsed and
 * interpreted over a simulated host. Deliberately tiny: anything outside the
 * dialect is refused loudly (`dialect: unsupported …`) and recorded as a
 * violation, so a test notices the moment the tool emits something a real
 * shell would accept but the contract does not. No real shell is ever run.
 */

export interface Word {
  /** The word's value after quote removal. */
  readonly text: string;
  /** Contains an unquoted `*`: expand against the file system. */
  readonly glob: boolean;
  /** The literal `"$?"`. */
  readonly status: boolean;
}

export type Redirect =
  | { readonly kind: 'stdout-file'; readonly path: string }
  | { readonly kind: 'stdout-null' }
  | { readonly kind: 'stderr-null' }
  | { readonly kind: 'stderr-to-stdout' };

export interface SimpleCommand {
  readonly words: readonly Word[];
  readonly redirects: readonly Redirect[];
}

export type Connector = ';' | '&&' | '||';

export interface ParsedScript {
  /** `op` joins a command to the one before it (null for the first). */
  readonly commands: readonly { readonly op: Connector | null; readonly cmd: SimpleCommand }[];
}

/** The script (or one command form) is outside the dialect. */
export class DialectError extends Error {
  constructor(readonly what: string) {
    super(`dialect: unsupported ${what}`);
  }
}

const BARE = /[A-Za-z0-9_./:@%+=,\-*]/;

type Token =
  | { readonly t: 'word'; readonly word: Word }
  | { readonly t: 'op'; readonly op: Connector }
  | { readonly t: 'redir'; readonly redir: Redirect | { kind: 'stdout-to' } };

export function tokenize(src: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  const n = src.length;
  const atWordEnd = (j: number): boolean => j >= n || src[j] === ' ' || src[j] === '\t' || src[j] === ';';
  while (i < n) {
    const c = src[i]!;
    if (c === ' ' || c === '\t') {
      i++;
      continue;
    }
    if (c === '\n' || c === '\r') throw new DialectError('line break outside quotes');
    if (c === ';') {
      if (src[i + 1] === ';') throw new DialectError("operator ';;'");
      tokens.push({ t: 'op', op: ';' });
      i++;
      continue;
    }
    if (c === '&') {
      if (src[i + 1] === '&') {
        tokens.push({ t: 'op', op: '&&' });
        i += 2;
        continue;
      }
      throw new DialectError("background operator '&'");
    }
    if (c === '|') {
      if (src[i + 1] === '|') {
        tokens.push({ t: 'op', op: '||' });
        i += 2;
        continue;
      }
      throw new DialectError("pipe '|'");
    }
    // Redirections: exactly `> path`, `>/dev/null`, `2>&1`, `2>/dev/null`.
    if (c === '2' && src[i + 1] === '>' && (tokens.length === 0 || lastIsComplete(src, i))) {
      if (src.startsWith('2>&1', i) && atWordEnd(i + 4)) {
        tokens.push({ t: 'redir', redir: { kind: 'stderr-to-stdout' } });
        i += 4;
        continue;
      }
      if (src.startsWith('2>/dev/null', i) && atWordEnd(i + 11)) {
        tokens.push({ t: 'redir', redir: { kind: 'stderr-null' } });
        i += 11;
        continue;
      }
      throw new DialectError(`redirection '${src.slice(i, i + 12)}'`);
    }
    if (c === '>') {
      if (src[i + 1] === '>') throw new DialectError("append redirection '>>'");
      if (src[i + 1] === '&' || src[i + 1] === '|') throw new DialectError(`redirection '${src.slice(i, i + 2)}'`);
      if (src.startsWith('>/dev/null', i) && atWordEnd(i + 10)) {
        tokens.push({ t: 'redir', redir: { kind: 'stdout-null' } });
        i += 10;
        continue;
      }
      tokens.push({ t: 'redir', redir: { kind: 'stdout-to' } });
      i++;
      continue;
    }
    if (c === '<') throw new DialectError("input redirection '<'");
    if (c === '"') {
      if (src.startsWith('"$?"', i)) {
        tokens.push({ t: 'word', word: { text: '$?', glob: false, status: true } });
        i += 4;
        if (!atWordEnd(i) && src[i] !== '&' && src[i] !== '|' && src[i] !== '>') throw new DialectError('word glued to "$?"');
        continue;
      }
      throw new DialectError('double-quoted string (only "$?" is allowed)');
    }
    // A word: concatenation of single-quoted parts, `\'` and bare characters.
    let text = '';
    let glob = false;
    let any = false;
    while (i < n) {
      const d = src[i]!;
      if (d === "'") {
        const end = src.indexOf("'", i + 1);
        if (end < 0) throw new DialectError('unterminated single quote');
        text += src.slice(i + 1, end);
        i = end + 1;
        any = true;
        continue;
      }
      if (d === '\\') {
        if (src[i + 1] === "'") {
          text += "'";
          i += 2;
          any = true;
          continue;
        }
        throw new DialectError(`backslash escape '\\${src[i + 1] ?? ''}' outside quotes`);
      }
      if (BARE.test(d)) {
        if (d === '*') glob = true;
        text += d;
        i++;
        any = true;
        continue;
      }
      break;
    }
    if (!any) throw new DialectError(describeChar(src[i]!));
    if (i < n && !' \t;&|>'.includes(src[i]!)) throw new DialectError(describeChar(src[i]!));
    tokens.push({ t: 'word', word: { text, glob, status: false } });
  }
  return tokens;
}

/** `2>` starts a redirection only at the start of a word. */
function lastIsComplete(src: string, i: number): boolean {
  const prev = src[i - 1];
  return prev === undefined || prev === ' ' || prev === '\t' || prev === ';';
}

function describeChar(c: string): string {
  switch (c) {
    case '$': return "expansion '$' (variables, $(...) and arithmetic are not in the dialect)";
    case '`': return 'command substitution with backticks';
    case '(':
    case ')': return `subshell or grouping '${c}'`;
    case '{':
    case '}': return `grouping '${c}'`;
    case '?':
    case '[':
    case ']': return `glob character '${c}' (only '*' is allowed)`;
    case '~': return "tilde expansion '~'";
    case '#': return "comment '#'";
    case '\n':
    case '\r': return 'line break outside quotes';
    default: return `unquoted character ${JSON.stringify(c)}`;
  }
}

export function parseScript(src: string): ParsedScript {
  const tokens = tokenize(src);
  const commands: { op: Connector | null; cmd: SimpleCommand }[] = [];
  let words: Word[] = [];
  let redirects: Redirect[] = [];
  let pendingOp: Connector | null = null;
  const finish = (next: Connector | null): void => {
    if (words.length === 0) throw new DialectError(next ? `empty command before '${next}'` : 'empty script');
    commands.push({ op: pendingOp, cmd: { words, redirects } });
    words = [];
    redirects = [];
    pendingOp = next;
  };
  for (let k = 0; k < tokens.length; k++) {
    const tok = tokens[k]!;
    if (tok.t === 'op') {
      finish(tok.op);
      continue;
    }
    if (tok.t === 'redir') {
      if (words.length === 0) throw new DialectError('redirection before the command name');
      if (tok.redir.kind === 'stdout-to') {
        const target = tokens[k + 1];
        if (target?.t !== 'word' || target.word.status) throw new DialectError("'>' without a file name");
        if (target.word.glob) throw new DialectError('glob as a redirection target');
        redirects.push({ kind: 'stdout-file', path: target.word.text });
        k++;
      } else {
        redirects.push(tok.redir);
      }
      continue;
    }
    if (redirects.length > 0) throw new DialectError('words after a redirection');
    words.push(tok.word);
  }
  if (words.length > 0 || pendingOp !== null) finish(null);
  if (commands.length === 0) throw new DialectError('empty script');
  return { commands };
}

/**
 * `sudo -n sh -c '<script>'` as the whole script: returns the inner script,
 * or null when the script is not wrapped. A half-wrapped script is refused.
 */
export function unwrapSudo(parsed: ParsedScript): string | null {
  const first = parsed.commands[0]?.cmd;
  if (!first || first.words[0]?.text !== 'sudo' || first.words[0].glob) return null;
  const w = first.words.map((x) => x.text);
  if (parsed.commands.length !== 1 || first.redirects.length > 0 || w.length !== 5 || w[1] !== '-n' || w[2] !== 'sh' || w[3] !== '-c') {
    throw new DialectError(`sudo form (only "sudo -n sh -c '<script>'" as the whole script): ${w.join(' ').slice(0, 80)}`);
  }
  return w[4]!;
}

/** Whether running the script will read the exec's stdin (`cat` with no file operands, e.g. `cat > tmp`). */
export function readsStdin(src: string): boolean {
  try {
    const parsed = parseScript(src);
    const inner = unwrapSudo(parsed);
    if (inner !== null) return readsStdin(inner);
    return parsed.commands.some(({ cmd }) => cmd.words[0]?.text === 'cat' && cmd.words.length === 1);
  } catch {
    return false;
  }
}
