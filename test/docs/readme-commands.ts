/**
 * The command lines README.md shows in its fenced `sh` blocks, so tests run
 * them as written. A block is found by the prose line just before it.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export const ROOT = join(import.meta.dirname, '../..');

export interface ReadmeCommand {
  /** The command as written, without its comment. */
  readonly text: string;
  /** Words after `npx pve-passthrough` (simple words only: no quotes, variables or redirections). */
  readonly args: readonly string[];
  /** The `# exit N` the comment documents, else undefined. */
  readonly exit: number | undefined;
}

/** The `sh` block that follows the first line of README containing `after`; each line split on `&&`. */
export function readmeBlock(after: string): string[][] {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const at = readme.indexOf(after);
  if (at < 0) throw new Error(`README.md no longer has "${after}": update this test with the README`);
  const m = /^```sh\n([\s\S]*?)^```$/m.exec(readme.slice(at));
  if (!m) throw new Error(`no sh block after "${after}" in README.md`);
  return m[1]!.split('\n').filter((l) => l.trim()).map((l) => l.split('&&').map((c) => c.trim()));
}

/** One `npx pve-passthrough …` command (with its line's comment), or an error saying why this test cannot run it. */
export function parseCommand(command: string): ReadmeCommand {
  const hash = command.indexOf('#');
  const text = (hash < 0 ? command : command.slice(0, hash)).trim();
  const comment = hash < 0 ? '' : command.slice(hash + 1);
  if (/['"$`|;<>\\]/.test(text)) throw new Error(`README command needs a shell this test does not emulate: ${text}`);
  const words = text.split(/\s+/);
  if (words[0] !== 'npx' || words[1] !== 'pve-passthrough') throw new Error(`not a pve-passthrough command: ${text}`);
  const exit = /\bexit (\d+)\b/.exec(comment);
  return { text, args: words.slice(2), exit: exit ? Number(exit[1]) : undefined };
}

/** What `npx pve-passthrough` runs in a clone: the package's own bin. */
export function binPath(): string {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { bin: Record<string, string> };
  return join(ROOT, pkg.bin['pve-passthrough']!);
}
