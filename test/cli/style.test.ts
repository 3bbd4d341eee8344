// Colour conventions: NO_COLOR (non-empty) and FORCE_COLOR, https://no-color.org and https://force-color.org.
import { describe, expect, it } from 'vitest';
import { colourWanted, makeStyle } from '../../src/cli/style.js';

const tty = { isTTY: true };
const pipe = { isTTY: false };

describe('colour', () => {
  it.each([
    [tty, {}, true],
    [pipe, {}, false],
    [tty, { NO_COLOR: '1' }, false],
    [tty, { NO_COLOR: '' }, true], // an empty NO_COLOR does not count (no-color.org)
    [tty, { TERM: 'dumb' }, false],
    [pipe, { FORCE_COLOR: '1' }, true],
    [pipe, { FORCE_COLOR: '3', NO_COLOR: '1' }, true], // FORCE_COLOR decides first, as in Node's tty.getColorDepth
    [tty, { FORCE_COLOR: '0' }, false],
    [tty, { FORCE_COLOR: 'false' }, false],
    [pipe, { FORCE_COLOR: '' }, false],
  ] as const)('%o with %o: %s', (stream, env, on) => {
    expect(colourWanted(stream, env)).toBe(on);
    expect(makeStyle(stream, env).red('x') !== 'x').toBe(on);
  });
});
