/**
 * The diff a "changed since the plan" refusal shows (compare-and-swap), and
 * the honest refusal for a file whose bytes are not the UTF-8 text the plan
 * was made from (the tool never rewrites what it could not read exactly).
 */
import { describe, expect, it } from 'vitest';
import { describeChange } from '../../src/engine/host-apply.js';

describe('describeChange', () => {
  it('shows the lines someone else added or removed', () => {
    expect(describeChange('a\nb\n', 'a\nb\nc=1\n')).toBe('diff: "+c=1"');
    expect(describeChange('a\nb\n', 'a\n')).toBe('diff: "-b"');
  });
  it('a file that appeared or disappeared', () => {
    expect(describeChange(null, 'GRUB_CMDLINE_LINUX_DEFAULT="$GRUB_CMDLINE_LINUX_DEFAULT pcie_aspm=off"\n')).toMatch(/^the plan expected no file, now there is one: diff: "\+GRUB_CMDLINE_LINUX_DEFAULT=.*pcie_aspm=off/);
    expect(describeChange('x\n', null)).toBe('the plan expected the file, now it is gone');
  });
  it('same text but different bytes: not UTF-8, refused rather than rewritten', () => {
    expect(describeChange('caf\ufffd\n', 'caf\ufffd\n')).toMatch(/not the UTF-8 text the plan was made from.*will not rewrite it/);
  });
  it('only the final newline, or only the order', () => {
    expect(describeChange('a\nb\n', 'a\nb')).toBe('diff: only the final newline differs');
    expect(describeChange('a\nb\n', 'b\na\n')).toBe('diff: the same lines in another order');
  });
  it('long diffs are cut at 8 lines', () => {
    const now = Array.from({ length: 20 }, (_, i) => `line${i}`).join('\n');
    expect(describeChange('', now)).toMatch(/… \(12 more\)$/);
  });
});
