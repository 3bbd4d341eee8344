import { describe, expect, it } from 'vitest';
import { DialectError, parseScript, readsStdin, tokenize } from '../../../mocks/hosts/dialect.js';
import { batch, cmd, quote, withSudo } from '../../../src/transport/shell.js';
import type { Script } from '../../../src/transport/shell.js';
import { NONCE, factsSections, newHost, q, readFacts, sh } from './helpers.js';

describe('tokenizer', () => {
  it("joins single-quoted parts and '\\'' escapes into one word", () => {
    const words = parseScript(`printf %s ${quote("it's a 'test'")}`).commands[0]!.cmd.words.map((w) => w.text);
    expect(words).toEqual(['printf', '%s', "it's a 'test'"]);
  });

  it('keeps metacharacters inside single quotes literal', () => {
    const w = parseScript(`printf %s '$(reboot) | ; && \`x\` "y" > z'`).commands[0]!.cmd.words[2]!;
    expect(w).toEqual({ text: '$(reboot) | ; && `x` "y" > z', glob: false, status: false });
  });

  it('marks bare words with * as globs and quoted * as literal', () => {
    const [a, b] = parseScript(`printf /sys/class/net/* '/sys/class/net/*'`).commands[0]!.cmd.words.slice(1);
    expect(a!.glob).toBe(true);
    expect(b!.glob).toBe(false);
  });

  it('parses connectors and redirections', () => {
    const p = parseScript(`cat 'a' > '/tmp/x' 2>&1; test -d /x && printf ok || printf no 2>/dev/null`);
    expect(p.commands.map((c) => c.op)).toEqual([null, ';', '&&', '||']);
    expect(p.commands[0]!.cmd.redirects).toEqual([{ kind: 'stdout-file', path: '/tmp/x' }, { kind: 'stderr-to-stdout' }]);
    expect(p.commands[3]!.cmd.redirects).toEqual([{ kind: 'stderr-null' }]);
  });

  it('accepts "$?" as a word', () => {
    expect(tokenize(`printf '%s' "$?"`)).toContainEqual({ t: 'word', word: { text: '$?', glob: false, status: true } });
  });

  it.each([
    ['pipe', 'cat /etc/hostname | grep x', "pipe '|'"],
    ['command substitution', 'printf %s $(id)', "expansion '$'"],
    ['variable', 'printf %s $HOME', "expansion '$'"],
    ['backticks', 'printf %s `id`', 'backticks'],
    ['background', 'reboot &', "background operator '&'"],
    ['append', "printf x >> '/tmp/a'", "'>>'"],
    ['input redirection', "cat < '/etc/hostname'", "'<'"],
    ['double quotes', 'printf "%s" x', 'double-quoted'],
    ['subshell', '(cat /etc/hostname)', 'subshell'],
    ['other glob characters', 'printf %s /sys/class/net/e?o1', "glob character '?'"],
    ['unterminated quote', "printf 'abc", 'unterminated single quote'],
    ['line break', 'uname -r\nreboot', 'line break'],
    ['backslash escapes', 'printf a\\ b', 'backslash escape'],
    ['fd duplication other than 2>&1', "printf x 1>&2", "redirection"],
    ['empty command', 'uname -r; ; uname -r', 'empty command'],
  ])('rejects %s', (_name, script, what) => {
    expect(() => parseScript(script)).toThrow(DialectError);
    expect(() => parseScript(script)).toThrow(what);
  });

  it('knows which scripts read stdin', () => {
    expect(readsStdin("mkdir -p '/etc/x' && cat > '/etc/x/.y.pvpt-tmp'")).toBe(true);
    expect(readsStdin("sudo -n sh -c 'cat > '\\''/tmp/a'\\'''")).toBe(true);
    expect(readsStdin("cat '/etc/hostname'")).toBe(false);
  });
});

describe('interpreter', () => {
  it('rejects unsupported constructs with exit 2, a loud stderr and a recorded violation, running nothing', () => {
    const h = newHost('pve9-intel-grub-lvm');
    const r = h.exec(`mkdir '/tmp/made'; cat /etc/hostname | sh`);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^dialect: unsupported pipe/);
    expect(h.violations).toHaveLength(1);
    expect(h.vfs.exists('/tmp/made')).toBe(false);
  });

  it('answers unknown commands with 127 and unknown flags of known commands with 2, both as violations', () => {
    const h = newHost('pve9-intel-grub-lvm');
    const r1 = h.exec(`ls /etc; printf '%s' "$?"`);
    expect(r1.stderr).toContain("dialect: unsupported command 'ls'");
    expect(r1.stdout).toBe('127');
    const r2 = h.exec(`grep -c x /etc/hostname`);
    expect(r2.code).toBe(2);
    expect(r2.stderr).toContain('dialect: unsupported form: grep -c x /etc/hostname');
    for (const bad of ['lspci -nn', 'stat /etc/hostname', 'cp /a /b', 'mv /a /b', 'rm /a', 'chmod u+x /a', 'systemctl restart sshd', 'update-initramfs -u', 'modprobe nouveau', 'uname -a', "printf '%d' 1", 'proxmox-boot-tool init /dev/sda2']) {
      expect(h.exec(bad).code, bad).toBe(2);
    }
    expect(h.violations).toHaveLength(14);
  });

  it('refuses "$?" outside printf', () => {
    const h = newHost('pve9-intel-grub-lvm');
    expect(h.exec(`cat "$?"`).stderr).toContain('"$?" outside printf');
  });

  it('follows sh semantics for ; && || and "$?" (a skipped command keeps the status)', () => {
    const h = newHost('pve9-intel-grub-lvm');
    expect(sh(h, `test -e /nope && printf a || printf b; printf '%s' "$?"`).stdout).toBe('b0');
    expect(sh(h, `test -e /nope && printf a; printf '%s' "$?"`).stdout).toBe('1');
    expect(sh(h, `test -e /etc || printf a; printf '%s' "$?"`).stdout).toBe('0');
    expect(sh(h, `test -e /nope`).code).toBe(1);
  });

  it('applies redirections left to right', () => {
    const h = newHost('pve9-intel-grub-lvm');
    sh(h, `cat /nope > '/tmp/both' 2>&1`);
    expect(h.vfs.read('/tmp/both')).toBe('cat: /nope: No such file or directory\n');
    const r = sh(h, `cat /nope 2>/dev/null; cat /etc/hostname >/dev/null`);
    expect(r.stdout + r.stderr).toBe('');
    const merged = sh(h, `cat /etc/hostname /nope 2>&1`);
    expect(merged.stdout).toBe('pve1\ncat: /nope: No such file or directory\n');
    expect(sh(h, `printf x > '/nodir/file'`).stderr).toBe('sh: 1: cannot create /nodir/file: Directory nonexistent\n');
  });

  it('expands globs sorted, and leaves an unmatched glob literal like sh', () => {
    const h = newHost('pve9-amd-sdboot-zfs');
    expect(sh(h, `printf '%s\\n' /boot/vmlinuz-*`).stdout).toBe('/boot/vmlinuz-6.14.11-4-pve\n/boot/vmlinuz-6.8.12-15-pve\n');
    expect(sh(h, `printf '%s\\n' /etc/nothing-*`).stdout).toBe('/etc/nothing-*\n');
  });

  it('runs the facts batch of the architecture without a single violation, every section present', () => {
    const h = newHost('pve9-intel-grub-lvm');
    const facts = readFacts(h);
    expect(h.violations).toEqual([]);
    expect([...facts.keys()]).toEqual(factsSections().map((s) => s.key));
    expect(facts.get('hostname')).toEqual({ output: 'pve1\n', rc: 0 });
    expect(facts.get('uname')).toEqual({ output: '6.17.2-1-pve\n', rc: 0 });
    expect(facts.get('efi')?.rc).toBe(0);
    expect(facts.get('pbt-status')).toEqual({ output: 'E: /etc/kernel/proxmox-boot-uuids does not exist.\n', rc: 2 });
    expect(facts.get('file:/etc/kernel/cmdline')?.rc).toBe(1);
  });

  describe('sudo wrapper', () => {
    const inner = batch([{ key: 'uname', cmd: cmd(['uname', '-r']) }, { key: 'dmesg', cmd: cmd(['dmesg']) }], NONCE);

    it('is accepted for a non-root user with sudo, and runs as root', () => {
      const h = newHost('pve9-intel-grub-lvm', { user: 'deploy', sudo: true });
      const r = sh(h, withSudo(inner, true));
      expect(r.stdout).toContain('6.17.2-1-pve');
      expect(r.stdout).toContain('Command line:');
    });

    it('fails like sudo -n does when sudo needs a password (not a violation)', () => {
      const h = newHost('pve9-intel-grub-lvm', { user: 'deploy', sudo: false });
      expect(sh(h, withSudo(inner, true))).toMatchObject({ code: 1, stderr: 'sudo: a password is required\n' });
    });

    it('without sudo a non-root user is refused by the commands themselves', () => {
      const h = newHost('pve9-intel-grub-lvm', { user: 'deploy', sudo: true });
      expect(sh(h, q(['dmesg'])).stderr).toBe('dmesg: read kernel buffer failed: Operation not permitted\n');
      expect(sh(h, `printf x > '/etc/x'`).stderr).toBe('sh: 1: cannot create /etc/x: Permission denied\n');
    });

    it('is a violation for root, and so is any other sudo form', () => {
      const root = newHost('pve9-intel-grub-lvm');
      expect(root.exec(withSudo(inner, true)).code).toBe(2);
      const user = newHost('pve9-intel-grub-lvm', { user: 'deploy', sudo: true });
      expect(user.exec(`sudo sh -c 'uname -r'`).code).toBe(2);
      expect(user.exec(`sudo -n sh -c 'uname -r'; uname -r`).code).toBe(2);
      expect(user.exec(withSudo(`sudo -n sh -c 'uname -r'` as Script, true)).stderr).toContain('nested sudo');
      expect(root.violations).toHaveLength(1);
      expect(user.violations).toHaveLength(3);
    });
  });
});
