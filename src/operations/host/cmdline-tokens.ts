/**
 * Kernel command-line tokens. The kernel splits on whitespace except inside
 * double quotes (`foo="a b"` is one token); quotes stay part of the token text
 * here, because the tool only compares tokens it writes itself (never quoted).
 */

export function splitCmdline(text: string): string[] {
  const tokens: string[] = [];
  let cur = '';
  let quoted = false;
  for (const ch of text) {
    if (ch === '"') quoted = !quoted;
    if (!quoted && /\s/.test(ch)) {
      if (cur) tokens.push(cur);
      cur = '';
      continue;
    }
    cur += ch;
  }
  if (cur) tokens.push(cur);
  return tokens;
}

/** The key of `key=value` (or the whole flag). */
export function tokenKey(token: string): string {
  const i = token.indexOf('=');
  return i < 0 ? token : token.slice(0, i);
}

/** First line of a file (systemd-boot reads only that line of /etc/kernel/cmdline). */
export function firstLine(content: string): string {
  const i = content.indexOf('\n');
  return i < 0 ? content : content.slice(0, i);
}
