/**
 * Output of `printf '%s\n' <glob>`: one matching path per line, or the literal
 * pattern when nothing matched (as sh does). Lines outside `prefix` are
 * reported, never trusted.
 */
import { excerpt, splitLines, type Parsed } from './text.js';

export function parseGlobList(output: string, prefix: string): Parsed<string[]> {
  const paths: string[] = [];
  const errors: string[] = [];
  for (const line of splitLines(output)) {
    if (line === '') continue;
    if (line.includes('*')) continue; // the unexpanded pattern: no match
    if (!line.startsWith(prefix)) {
      errors.push(`unexpected line in a listing of ${prefix}*: ${excerpt(line)}`);
      continue;
    }
    paths.push(line);
  }
  return { value: paths, errors };
}
