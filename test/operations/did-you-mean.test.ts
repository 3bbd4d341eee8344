import { describe, expect, it } from 'vitest';
import { didYouMean, editDistance, nearest } from '../../src/operations/did-you-mean.js';

describe('did you mean', () => {
  it('measures edits', () => {
    expect(editDistance('0000:02:00.0', '0000:01:00.0')).toBe(1);
    expect(editDistance('', 'abc')).toBe(3);
    expect(editDistance('gpu-a', 'gpu-a')).toBe(0);
  });

  it('offers every nearest name, in bus order whatever order they were listed in', () => {
    const listed = ['0000:04:00.0', '0000:00:02.0', '0000:03:00.0', '0000:01:00.0', '0000:02:00.1'];
    const expected = ['0000:01:00.0', '0000:02:00.1', '0000:03:00.0', '0000:04:00.0'];
    expect(nearest('0000:02:00.0', listed)).toEqual(expected);
    expect(nearest('0000:02:00.0', [...listed].reverse())).toEqual(expected);
    // 0000:00:02.0 is two edits away: not offered beside the one-edit ties.
    expect(nearest('0000:02:00.0', listed)).not.toContain('0000:00:02.0');
  });

  it('orders VM ids by value and names a tie once even when listed twice', () => {
    expect(nearest('102', ['1020', '202', '101', '103', '101'])).toEqual(['101', '103', '202', '1020']);
    expect(didYouMean('102', ['103', '101', '999'])).toBe(' (did you mean 101 or 103?)');
  });

  it('says one name plainly, lists up to three, and counts the rest', () => {
    expect(didYouMean('102', ['101'])).toBe(' (did you mean 101?)');
    expect(didYouMean('gpu-c', ['gpu-b', 'gpu-a'])).toBe(' (did you mean gpu-a or gpu-b?)');
    expect(didYouMean('0000:02:00.0', ['0000:05:00.0', '0000:03:00.0', '0000:01:00.0', '0000:04:00.0', '0000:06:00.0'])).toBe(
      ' (did you mean 0000:01:00.0, 0000:03:00.0, 0000:04:00.0 or 2 more as close?)',
    );
    expect(didYouMean('x', [])).toBe('');
  });
});
