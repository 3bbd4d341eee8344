/**
 * What grub-mkconfig sees: /etc/default/grub then /etc/default/grub.d/*.cfg
 * sourced in order by sh. We evaluate the assignment subset those files use
 * (NAME=value with '…', "…" and $VAR/${VAR} expansion, comments, export) and
 * fail like sh does on broken quoting, so a bad drop-in breaks update-grub.
 */

export type GrubEval =
  | { readonly ok: true; readonly vars: Readonly<Record<string, string>> }
  | { readonly ok: false; readonly error: string };

export function evalGrubFiles(files: readonly { readonly path: string; readonly content: string }[]): GrubEval {
  const vars: Record<string, string> = {};
  for (const f of files) {
    const r = evalShellAssignments(f.content, vars);
    if (r !== null) return { ok: false, error: `/usr/sbin/grub-mkconfig: ${r.line}: ${f.path}: ${r.message}` };
  }
  return { ok: true, vars };
}

/** Returns null on success, else where and why sh would have stopped. */
function evalShellAssignments(content: string, vars: Record<string, string>): { line: number; message: string } | null {
  const lines = content.split('\n');
  for (let n = 0; n < lines.length; n++) {
    let line = lines[n]!.trim();
    if (line === '' || line.startsWith('#')) continue;
    if (line.startsWith('export ')) line = line.slice(7).trim();
    const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (!m) return { line: n + 1, message: `${line.split(/\s+/)[0]}: not found` };
    const value = parseValue(m[2]!, vars);
    if (value === null) return { line: n + 1, message: 'Syntax error: Unterminated quoted string' };
    vars[m[1]!] = value;
  }
  return null;
}

function parseValue(src: string, vars: Record<string, string>): string | null {
  let out = '';
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (c === '#' && (i === 0 || /\s/.test(src[i - 1]!))) break;
    if (/\s/.test(c)) break; // an unquoted blank ends the assignment (the rest would be a command: ignore)
    if (c === "'") {
      const end = src.indexOf("'", i + 1);
      if (end < 0) return null;
      out += src.slice(i + 1, end);
      i = end + 1;
    } else if (c === '"') {
      let j = i + 1;
      let seg = '';
      for (; j < src.length && src[j] !== '"'; j++) {
        if (src[j] === '\\' && j + 1 < src.length) seg += src[++j];
        else seg += src[j];
      }
      if (j >= src.length) return null;
      out += expand(seg, vars);
      i = j + 1;
    } else {
      let j = i;
      while (j < src.length && !/[\s'"]/.test(src[j]!)) j++;
      out += expand(src.slice(i, j), vars);
      i = j;
    }
  }
  return out;
}

function expand(s: string, vars: Record<string, string>): string {
  return s.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (_, a?: string, b?: string) => vars[(a ?? b)!] ?? '');
}

/** The arguments grub-mkconfig writes on each `linux` line after `root=… ro`. */
export function grubKernelArgs(vars: Readonly<Record<string, string>>): string {
  return [vars.GRUB_CMDLINE_LINUX ?? '', vars.GRUB_CMDLINE_LINUX_DEFAULT ?? ''].join(' ').split(/\s+/).filter(Boolean).join(' ');
}
