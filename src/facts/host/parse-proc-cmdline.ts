/**
 * Kernel command line tokens, split like the kernel's `next_arg()`: on
 * whitespace outside double quotes; the quotes themselves are removed from
 * the value (`foo="a b"` -> `foo=a b`). An unterminated quote runs to the end.
 */
import type { Parsed } from './text.js';

export interface CmdlineToken {
  /** As written, quotes included: `foo="a b"`. */
  readonly raw: string;
  readonly key: string;
  /** null for a bare flag such as `quiet`. */
  readonly value: string | null;
}

export function tokenizeCmdline(text: string): Parsed<CmdlineToken[]> {
  const tokens: CmdlineToken[] = [];
  const errors: string[] = [];
  let i = 0;
  const s = text.replace(/\0/g, ' ');
  while (i < s.length) {
    while (i < s.length && /\s/.test(s[i] ?? '')) i++;
    if (i >= s.length) break;
    const start = i;
    let inQuote = false;
    while (i < s.length && (inQuote || !/\s/.test(s[i] ?? ''))) {
      if (s[i] === '"') inQuote = !inQuote;
      i++;
    }
    if (inQuote) errors.push('kernel command line has an unterminated double quote');
    const raw = s.slice(start, i);
    const unquoted = raw.replace(/"/g, '');
    const eq = unquoted.indexOf('=');
    tokens.push(eq < 0 ? { raw, key: unquoted, value: null } : { raw, key: unquoted.slice(0, eq), value: unquoted.slice(eq + 1) });
  }
  return { value: tokens, errors };
}

/** The token strings (`key` or `key=value`, quotes removed). */
export function parseProcCmdline(text: string): string[] {
  return tokenizeCmdline(text).value.map((t) => (t.value === null ? t.key : `${t.key}=${t.value}`));
}

/** Does the command line hold `key` (any value), or exactly `key=value` when a value is given? */
export function cmdlineHas(tokens: readonly CmdlineToken[], key: string, value?: string): boolean {
  return tokens.some((t) => t.key === key && (value === undefined || t.value === value));
}
