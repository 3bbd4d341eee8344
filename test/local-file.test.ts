/**
 * src/local-file.ts, the one writer of files on the machine the tool runs on
 * (issue 16: `verify -o` wrote in place with 0644, `plan --out` kept an old
 * file's mode). A reader sees the old content or the new, never half; the
 * mode is the one asked for, whatever the old file had.
 */
import { lstatSync, mkdtempSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InputError } from '../src/errors.js';
import { inTurn, parseFileMode, writeFileAtomic } from '../src/local-file.js';

const dir = () => mkdtempSync(join(tmpdir(), 'pvpt-lf-'));

describe('writeFileAtomic', () => {
  it('replaces an old 0644 file by a new inode with mode 0600 and leaves no temporary file', async () => {
    const d = dir();
    const f = join(d, 'report.prom');
    writeFileSync(f, 'old\n', { mode: 0o644 });
    const before = statSync(f).ino;
    await writeFileAtomic(f, 'new\n');
    expect(readFileSync(f, 'utf8')).toBe('new\n');
    expect(statSync(f).mode & 0o777).toBe(0o600);
    // A new inode: a reader holding the old file keeps reading whole old content.
    expect(statSync(f).ino).not.toBe(before);
    expect(readdirSync(d)).toEqual(['report.prom']);
  });
  it('gives the mode asked for, even bits the umask would take', async () => {
    const f = join(dir(), 'shared');
    const old = process.umask(0o077);
    try {
      await writeFileAtomic(f, 'x', { mode: 0o644 });
    } finally {
      process.umask(old);
    }
    expect(statSync(f).mode & 0o777).toBe(0o644);
  });
  it('fails without touching the target when the folder does not exist', async () => {
    await expect(writeFileAtomic(join(dir(), 'no', 'such'), 'x')).rejects.toMatchObject({ code: 'ENOENT' });
  });
  it('replaces a symlink at the target by a file rather than writing through it', async () => {
    const d = dir();
    writeFileSync(join(d, 'elsewhere'), 'keep');
    symlinkSync(join(d, 'elsewhere'), join(d, 'out'));
    await writeFileAtomic(join(d, 'out'), 'new');
    expect(lstatSync(join(d, 'out')).isSymbolicLink()).toBe(false);
    expect(readFileSync(join(d, 'elsewhere'), 'utf8')).toBe('keep');
  });
});

describe('inTurn', () => {
  it('runs read-modify-write jobs on one path one after another, so no line is lost', async () => {
    const f = join(dir(), 'known_hosts');
    writeFileSync(f, '');
    await Promise.all(Array.from({ length: 20 }, (_, i) => inTurn(f, async () => {
      const text = readFileSync(f, 'utf8');
      await new Promise((r) => setImmediate(r));
      await writeFileAtomic(f, `${text}line ${i}\n`);
    })));
    expect(readFileSync(f, 'utf8').trim().split('\n')).toHaveLength(20);
  });
  it('a failed job does not block the next', async () => {
    await expect(inTurn('p', async () => { throw new Error('boom'); })).rejects.toThrow('boom');
    expect(await inTurn('p', async () => 7)).toBe(7);
  });
});

describe('parseFileMode', () => {
  it('reads octal modes and refuses anything else, naming the flag', () => {
    expect(parseFileMode(undefined, '--output-mode')).toBeUndefined();
    expect(parseFileMode('0644', '--output-mode')).toBe(0o644);
    expect(parseFileMode('600', '--output-mode')).toBe(0o600);
    for (const bad of ['644x', '0888', 'rw-r--r--', '1777', '']) expect(() => parseFileMode(bad, '--output-mode')).toThrow(InputError);
  });
});
