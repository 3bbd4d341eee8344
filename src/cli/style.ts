/**
 * Colour by the usual conventions: FORCE_COLOR (non-empty; "0" or "false"
 * turns it off) decides first, as in Node's own tty.getColorDepth; else
 * NO_COLOR (non-empty, https://no-color.org) turns it off; else only for a
 * TTY whose TERM is not "dumb".
 */
export interface Style {
  readonly green: (s: string) => string;
  readonly red: (s: string) => string;
  readonly yellow: (s: string) => string;
  readonly cyan: (s: string) => string;
  readonly dim: (s: string) => string;
  readonly bold: (s: string) => string;
}

const wrap = (open: number, close: number) => (s: string) => `\x1b[${open}m${s}\x1b[${close}m`;
const plain = (s: string) => s;

export function makeStyle(stream: NodeJS.WriteStream | { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): Style {
  const on = colourWanted(stream, env);
  return on
    ? { green: wrap(32, 39), red: wrap(31, 39), yellow: wrap(33, 39), cyan: wrap(36, 39), dim: wrap(2, 22), bold: wrap(1, 22) }
    : { green: plain, red: plain, yellow: plain, cyan: plain, dim: plain, bold: plain };
}

export function colourWanted(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): boolean {
  const force = env.FORCE_COLOR;
  if (force !== undefined && force !== '') return force !== '0' && force.toLowerCase() !== 'false';
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  return Boolean(stream.isTTY) && env.TERM !== 'dumb';
}

export const PLAIN: Style = makeStyle({ isTTY: false });
