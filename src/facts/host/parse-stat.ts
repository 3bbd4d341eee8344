/**
 * `stat -c '%n %a %u %g' FILE…`. The name may contain spaces, so the three
 * numbers are taken from the right. Error lines for missing files
 * (`stat: cannot statx '…': No such file or directory`) are skipped.
 */
import { excerpt, splitLines, type Parsed } from './text.js';

export interface StatEntry {
  readonly path: string;
  /** Four octal digits, e.g. "0644". */
  readonly mode: string;
  readonly uid: number;
  readonly gid: number;
}

const LINE = /^(\/.*) ([0-7]{1,4}) (\d{1,10}) (\d{1,10})$/;

export function parseStat(output: string): Parsed<Map<string, StatEntry>> {
  const out = new Map<string, StatEntry>();
  const errors: string[] = [];
  for (const line of splitLines(output)) {
    if (line === '' || line.startsWith('stat: ')) continue;
    const m = LINE.exec(line);
    if (!m || m[1] === undefined || m[2] === undefined) {
      errors.push(`stat: unexpected line ${excerpt(line)}`);
      continue;
    }
    out.set(m[1], { path: m[1], mode: m[2].padStart(4, '0'), uid: Number(m[3]), gid: Number(m[4]) });
  }
  return { value: out, errors };
}
