import { describe, expect, it } from 'vitest';
import { didYouMean, editDistance, nearest } from '../../src/operations/did-you-mean.js';

describe('did you mean', () => {
  it('measures edits', () => {
    expect(editDistance('0000:02:00.0', '0000:01:00.0')).toBe(1);
    expect(editDistance('', 'abc')).toBe(3);
    expect(editDistance('gpu-a', 'gpu-a')).toBe(0);
  });
  it('offers the nearest existing names, at most two, in their order', () => {
    expect(nearest('0000:02:00.0', ['0000:00:02.0', '0000:01:00.0', '0000:03:00.0', '0000:04:00.0'])).toEqual(['0000:01:00.0', '0000:03:00.0']);
    expect(didYouMean('102', ['101', '201', '999'])).toBe(' (did you mean 101?)');
    expect(didYouMean('x', [])).toBe('');
  });
});
