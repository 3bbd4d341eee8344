import { afterEach, describe, expect, it } from 'vitest';
import ssh2 from 'ssh2';
import { atomicWrite, batch, cmd, parseBatch, render } from '../../../src/transport/shell.js';
import { fingerprintOf, generateClientKey, generateHostKey, startSimHost } from '../../../mocks/hosts/server.js';
import type { RunningSimHost, StartSimHostOptions } from '../../../mocks/hosts/server.js';
import { NONCE, factsSections } from './helpers.js';

const { Client } = ssh2;
const key = generateClientKey();
const running: RunningSimHost[] = [];

afterEach(async () => {
  await Promise.all(running.splice(0).map((h) => h.close()));
});

async function start(opts: Partial<StartSimHostOptions> = {}): Promise<RunningSimHost> {
  const h = await startSimHost({ name: 'n1', profile: 'pve9-intel-grub-lvm', authorizedKey: key.publicKey, rebootDelayMs: 50, ...opts });
  running.push(h);
  return h;
}

interface Conn {
  client: InstanceType<typeof Client>;
  fingerprint: string;
  closed: Promise<void>;
}

function connect(port: number, opts: { privateKey?: string; username?: string } = {}): Promise<Conn> {
  return new Promise((resolve, reject) => {
    const client = new Client();
    let fingerprint = '';
    const closed = new Promise<void>((r) => client.once('close', () => r()));
    client.once('ready', () => resolve({ client, fingerprint, closed }));
    client.on('error', reject); // stays attached: a dropped connection errors after ready
    client.connect({
      host: '127.0.0.1',
      port,
      username: opts.username ?? 'root',
      privateKey: opts.privateKey ?? key.privateKey,
      readyTimeout: 5000,
      hostVerifier: (hash: string) => {
        // ssh2 gives the hex digest of the key blob; ssh-keygen prints it base64 without padding
        fingerprint = `SHA256:${Buffer.from(hash, 'hex').toString('base64').replace(/=+$/, '')}`;
        return true;
      },
      hostHash: 'sha256',
    } as ssh2.ConnectConfig);
  });
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function exec(c: Conn, script: string, stdin?: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    c.client.exec(script, (err, ch) => {
      if (err) return reject(err);
      let stdout = '';
      let stderr = '';
      let code: number | null = null;
      ch.on('data', (d: Buffer) => (stdout += d.toString()));
      ch.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      ch.on('exit', (c2: number | null) => (code = c2));
      ch.on('close', () => resolve({ code, stdout, stderr }));
      if (stdin !== undefined) ch.end(stdin);
    });
  });
}

/** Poll until the host accepts SSH again (what the tool's reboot wait does). */
async function reconnect(port: number): Promise<Conn> {
  for (let i = 0; i < 200; i++) {
    try {
      return await connect(port);
    } catch {
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  throw new Error('host did not come back');
}

const bootId = async (c: Conn): Promise<string> => (await exec(c, render(cmd(['cat', '/proc/sys/kernel/random/boot_id'])))).stdout.trim();

describe('SSH server', () => {
  it('accepts the authorized key only, with an ssh-keygen style host key fingerprint', async () => {
    const hostKey = generateHostKey();
    const h = await start({ hostKey });
    expect(h.hostKeyFingerprint).toBe(fingerprintOf(hostKey));
    expect(h.hostKeyFingerprint).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
    const c = await connect(h.port);
    expect(c.fingerprint).toBe(h.hostKeyFingerprint);
    c.client.end();
    await expect(connect(h.port, { privateKey: generateClientKey().privateKey })).rejects.toThrow(/authentication/i);
    await expect(connect(h.port, { username: 'admin' })).rejects.toThrow(/authentication/i);
  });

  it('runs the facts batch over exec with exit statuses, no violations, a few ms per host', async () => {
    const h = await start();
    const c = await connect(h.port);
    const r = await exec(c, batch(factsSections(), NONCE));
    expect(r.code).toBe(0);
    const sections = parseBatch(r.stdout, NONCE);
    expect(sections.get('uname')).toEqual({ output: '6.17.2-1-pve\n', rc: 0 });
    expect(sections.get('pbt-status')?.rc).toBe(2);
    expect((await exec(c, render(cmd(['cat', '/nope'])))).code).toBe(1);
    expect(h.violations).toEqual([]);
    expect(h.commandLog).toHaveLength(2);
    c.client.end();
  });

  it('takes stdin for the write form', async () => {
    const h = await start();
    const c = await connect(h.port);
    const r = await exec(c, atomicWrite('/etc/modprobe.d/pve-passthrough.conf', { mode: '0644', uid: 0, gid: 0 }), 'options vfio-pci ids=10de:2484\n');
    expect(r.code).toBe(0);
    expect(h.state.vfs.read('/etc/modprobe.d/pve-passthrough.conf')).toBe('options vfio-pci ids=10de:2484\n');
    c.client.end();
  });

  it('reports dialect violations over SSH', async () => {
    const h = await start();
    const c = await connect(h.port);
    const r = await exec(c, 'cat /etc/hostname | tee /tmp/x');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('dialect: unsupported pipe');
    expect(h.violations).toHaveLength(1);
    c.client.end();
  });

  it('reboot drops the connection, refuses connections while down, then comes back with a new boot_id', async () => {
    const h = await start({ rebootDelayMs: 150 });
    const c = await connect(h.port);
    const before = await bootId(c);
    const r = await exec(c, render(cmd(['systemctl', 'reboot'])));
    expect(r.code).toBeNull();
    await c.closed;
    expect(h.down).toBe(true);
    await expect(connect(h.port)).rejects.toThrow();
    const c2 = await reconnect(h.port);
    expect(await bootId(c2)).not.toBe(before);
    expect(h.reboots).toBe(1);
    expect(h.connectionsAccepted).toBe(2);
    c2.client.end();
  });
});

describe('faults', () => {
  it('neverReturns: the host stays down', async () => {
    const h = await start({ faults: { neverReturns: true } });
    const c = await connect(h.port);
    await exec(c, render(cmd(['systemctl', 'reboot'])));
    await c.closed;
    await new Promise((r) => setTimeout(r, 120));
    await expect(connect(h.port)).rejects.toThrow();
    expect(h.reboots).toBe(0);
  });

  it('rebootDelayMs set at run time is honoured', async () => {
    const h = await start();
    h.state.setFaults({ rebootDelayMs: 10 });
    const c = await connect(h.port);
    await exec(c, render(cmd(['systemctl', 'reboot'])));
    await c.closed;
    const c2 = await reconnect(h.port);
    expect(h.reboots).toBe(1);
    c2.client.end();
  });

  it('dropDuringWrite: the temp file is partial, mv never ran, the target is untouched', async () => {
    const h = await start({ faults: { dropDuringWrite: true } });
    const original = h.state.vfs.read('/etc/default/grub');
    const c = await connect(h.port);
    const content = 'GRUB_CMDLINE_LINUX_DEFAULT="quiet iommu=pt"\n';
    const r = await exec(c, atomicWrite('/etc/default/grub', { mode: '0644', uid: 0, gid: 0 }), content);
    expect(r.code).toBeNull();
    await c.closed;
    expect(h.state.vfs.read('/etc/default/grub')).toBe(original);
    expect(h.state.vfs.read('/etc/default/.grub.pvpt-tmp')).toBe(content.slice(0, content.length / 2));
    // the fault fires once: the retry goes through
    const c2 = await connect(h.port);
    expect((await exec(c2, atomicWrite('/etc/default/grub', { mode: '0644', uid: 0, gid: 0 }), 'X=1\n')).code).toBe(0);
    expect(h.state.vfs.read('/etc/default/grub')).toBe('X=1\n');
    c2.client.end();
  });

  it('failCommand: the refresh fails with the given stderr, the given number of times', async () => {
    const h = await start({ faults: { failCommand: { 'update-grub': { stderr: '/usr/sbin/grub-mkconfig: error: out of disk space', times: 1 }, 'update-initramfs': 'E: mkinitramfs failure zstd -q -9 -T0 1' } } });
    const c = await connect(h.port);
    expect(await exec(c, render(cmd(['update-grub'])))).toEqual({ code: 1, stdout: '', stderr: '/usr/sbin/grub-mkconfig: error: out of disk space\n' });
    expect((await exec(c, render(cmd(['update-grub'])))).code).toBe(0);
    for (let i = 0; i < 2; i++) expect((await exec(c, render(cmd(['update-initramfs', '-u', '-k', 'all'])))).stderr).toBe('E: mkinitramfs failure zstd -q -9 -T0 1\n');
    c.client.end();
  });

  it('hostKeyChanged: the host presents a new key after the reboot', async () => {
    const h = await start({ faults: { hostKeyChanged: true } });
    const c = await connect(h.port);
    const first = c.fingerprint;
    await exec(c, render(cmd(['systemctl', 'reboot'])));
    await c.closed;
    const c2 = await reconnect(h.port);
    expect(c2.fingerprint).not.toBe(first);
    expect(c2.fingerprint).toBe(h.hostKeyFingerprint);
    c2.client.end();
  });

  it('a boot that takes the management NIC never comes back', async () => {
    const h = await start({ profile: 'twin-nics' });
    const c = await connect(h.port);
    const conf = 'options vfio-pci ids=8086:1572\nsoftdep i40e pre: vfio-pci\n';
    expect((await exec(c, atomicWrite('/etc/modprobe.d/pve-passthrough.conf', { mode: '0644', uid: 0, gid: 0 }), conf)).code).toBe(0);
    expect((await exec(c, render(cmd(['update-initramfs', '-u', '-k', 'all'])))).code).toBe(0);
    await exec(c, render(cmd(['systemctl', 'reboot'])));
    await c.closed;
    await new Promise((r) => setTimeout(r, 150));
    expect(h.state.phase).toBe('cut-off');
    await expect(connect(h.port)).rejects.toThrow();
  });

  it('a sudo user runs the wrapped script', async () => {
    const h = await start({ user: 'deploy', sudo: true });
    const c = await connect(h.port, { username: 'deploy' });
    const r = await exec(c, `sudo -n sh -c ${"'uname -r; dmesg'"}`);
    expect(r.stdout).toMatch(/^6\.17\.2-1-pve\n\[/);
    c.client.end();
  });
});
