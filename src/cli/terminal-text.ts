/**
 * The one escape for the terminal. Values from a host (file content, command
 * stderr), from the API (VM config, task logs) or from anywhere else outside
 * the tool pass through here before a renderer writes them to a terminal, so
 * a hostile value cannot move the cursor, erase the plan being confirmed,
 * retitle the window or reorder text with bidi overrides. JSON, JUnit and
 * Prometheus outputs do not use this: their encoders escape already.
 *
 * Escaped as visible `\xNN` / `\uNNNN`: C0 controls (ESC, CR, BS, NUL, … but
 * not TAB), DEL, C1 controls (U+0080–U+009F, where 0x9B is a one-byte CSI),
 * bidi embeddings/overrides/isolates (U+202A–U+202E, U+2066–U+2069, U+061C,
 * U+200E/U+200F), line/paragraph separators (U+2028/U+2029) and U+FEFF.
 */

const UNSAFE = /[\x00-\x08\x0a-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]/g;

function visible(ch: string): string {
  const c = ch.charCodeAt(0);
  if (ch === '\n') return '\\n';
  if (ch === '\r') return '\\r';
  return c <= 0xff ? `\\x${c.toString(16).padStart(2, '0')}` : `\\u${c.toString(16).padStart(4, '0')}`;
}

/** One value for one line of terminal output: every control character made visible (line breaks too). */
export function escapeControl(text: string): string {
  return text.replace(UNSAFE, visible);
}

/** Multi-line text (file content): each line escaped, the line breaks kept. */
export function escapeLines(text: string): string {
  return text.split('\n').map(escapeControl).join('\n');
}

/**
 * A deep copy of a plan, report or event with every string escaped for the
 * terminal. File content (`before`/`after` of write-file and remove-file
 * steps) keeps its line breaks so the renderer can diff it line by line.
 */
export function terminalSafe<T>(value: T): T {
  return walk(value, false) as T;
}

function walk(v: unknown, multiLine: boolean): unknown {
  if (typeof v === 'string') return multiLine ? escapeLines(v) : escapeControl(v);
  if (Array.isArray(v)) return v.map((x) => walk(x, false));
  if (v === null || typeof v !== 'object') return v;
  const o = v as Record<string, unknown>;
  const fileStep = o.kind === 'write-file' || o.kind === 'remove-file';
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(o)) out[escapeControl(k)] = walk(x, fileStep && (k === 'before' || k === 'after'));
  return out;
}
