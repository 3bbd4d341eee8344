/**
 * Small text helpers shared by the fact parsers. Remote output is untrusted:
 * lines are capped, evidence is stripped of control characters, and parsers
 * report problems as strings instead of throwing.
 */

/** Longer lines are cut here (a parse error is recorded by `capLongLines`). */
export const MAX_LINE = 64 * 1024;
/** Evidence strings (dmesg, boot loader) are cut to this length for reports. */
export const MAX_EVIDENCE_LINE = 300;

/** What every parser returns: a value that is always usable, plus the problems met. */
export interface Parsed<T> {
  readonly value: T;
  readonly errors: readonly string[];
}

/** Lines of a command's output; a trailing newline does not make an empty last line. */
export function splitLines(text: string): string[] {
  if (text === '') return [];
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

/** Cuts lines longer than MAX_LINE; returns the new text and one error per cut line (at most 5 listed). */
export function capLongLines(text: string, label: string): { text: string; errors: string[] } {
  if (text.length <= MAX_LINE) return { text, errors: [] };
  const errors: string[] = [];
  let cut = 0;
  const lines = text.split('\n').map((line, i) => {
    if (line.length <= MAX_LINE) return line;
    cut++;
    if (errors.length < 5) errors.push(`${label}: line ${i + 1} is longer than 64 KiB (${line.length} characters); truncated`);
    return line.slice(0, MAX_LINE);
  });
  if (cut > errors.length) errors.push(`${label}: ${cut - errors.length} more over-long lines truncated`);
  return { text: lines.join('\n'), errors };
}

/** Make a line safe to show on a terminal or in a report: no control characters, bounded length. */
export function cleanEvidence(line: string): string {
  // eslint-disable-next-line no-control-regex
  const clean = line.replace(/[\u0000-\u0008\u000b-\u001f\u007f\u009b]/g, '?').replace(/\t/g, ' ').trim();
  return clean.length > MAX_EVIDENCE_LINE ? `${clean.slice(0, MAX_EVIDENCE_LINE)}…` : clean;
}

/** A short, quoted, cleaned excerpt of hostile text for an error message. */
export function excerpt(text: string, max = 80): string {
  return JSON.stringify(cleanEvidence(text).slice(0, max));
}

/** True when the text looks binary (NUL bytes). */
export function looksBinary(text: string): boolean {
  return text.includes('\0');
}
