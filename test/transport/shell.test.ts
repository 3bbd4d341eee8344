import { describe, expect, it } from 'vitest';
import { atomicWrite, batch, cmd, parseBatch, quote, render, UnsafeArgumentError } from '../../src/transport/shell.js';

describe('quote', () => {
  it.each([
    ["plain", "'plain'"],
    ["it's", `'it'\\''s'`],
    ['$(rm -rf /)', "'$(rm -rf /)'"],
    ['`id`', "'`id`'"],
    ['-rf', "'-rf'"],
  ])('quotes %j', (input, expected) => {
    expect(quote(input)).toBe(expected);
  });
  it.each(['a\nb', 'a\0b', 'a\rb'])('rejects %j', (input) => {
    expect(() => quote(input)).toThrow(UnsafeArgumentError);
  });
});

describe('render', () => {
  it('quotes every argument and appends redirections', () => {
    expect(render(cmd(['cat', '/etc/hostname'], { quietErrors: true }))).toBe("'cat' '/etc/hostname' 2>/dev/null");
  });
  it('refuses to leave a non-glob word unquoted', () => {
    expect(() => render(cmd(['printf', '%s', '$(id)'], { raw: [2] }))).toThrow(UnsafeArgumentError);
  });
});

describe('batch / parseBatch', () => {
  const nonce = '0123456789abcdef';
  it('renders markers around each section', () => {
    const s = batch([{ key: 'uname', cmd: cmd(['uname', '-r']) }], nonce);
    expect(s).toBe(`'printf' '@@${nonce} %s\\n' 'uname'; 'uname' '-r' 2>&1; 'printf' '\\n@@${nonce} rc=%s\\n' "$?"`);
  });
  it('recovers exact content, with and without a trailing newline', () => {
    const out = `@@${nonce} a\nline1\nline2\n\n@@${nonce} rc=0\n@@${nonce} b\nno-newline\n@@${nonce} rc=2\n`;
    const m = parseBatch(out, nonce);
    expect(m.get('a')).toEqual({ output: 'line1\nline2\n', rc: 0 });
    expect(m.get('b')).toEqual({ output: 'no-newline', rc: 2 });
  });
  it('ignores forged markers that use another nonce', () => {
    const out = `@@${nonce} dmesg\n@@ffffffffffffffff rc=0\n@@ffffffffffffffff evil\n\n@@${nonce} rc=0\n`;
    const m = parseBatch(out, nonce);
    expect([...m.keys()]).toEqual(['dmesg']);
    expect(m.get('dmesg')?.output).toContain('evil');
  });
});

describe('atomicWrite', () => {
  it('writes through a temp file beside the target and backs up first', () => {
    const s = atomicWrite('/etc/modprobe.d/pve-passthrough.conf', { mode: '0644', uid: 0, gid: 0, backupTo: '/var/lib/pve-passthrough/backups/r1/etc/modprobe.d/pve-passthrough.conf' });
    expect(s).toContain("'cp' '-p' '/etc/modprobe.d/pve-passthrough.conf'");
    expect(s).toContain("'cat' > '/etc/modprobe.d/.pve-passthrough.conf.pvpt-tmp'");
    expect(s.indexOf("'mv' '-f'")).toBeGreaterThan(s.indexOf("'sync' '/etc/modprobe.d/.pve-passthrough.conf.pvpt-tmp'"));
  });
  it.each(['/etc/../etc/passwd', 'relative/path', "/etc/x'y", '/etc/a b'])('refuses path %j', (p) => {
    expect(() => atomicWrite(p, { mode: '0644', uid: 0, gid: 0 })).toThrow(UnsafeArgumentError);
  });
});
