/**
 * Backups are the file's actual bytes, copied on the host, and restore puts
 * those bytes back (issue 14, item 3).
 *
 * 1. The forms themselves, run by the real /bin/sh and coreutils (cp -p,
 *    sha256sum, mv) on files with no final newline, non-UTF-8 bytes, CRLF and
 *    no content, with their mode and owner: the simulator keeps text, so the
 *    bytes a text model cannot hold are checked against the real tools.
 * 2. The engine over the simulator: a systemd-boot host whose
 *    /etc/kernel/cmdline has no final newline (as `echo -n` leaves it) is
 *    applied and rolled back; every file comes back byte for byte.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apply, rollback } from '../../src/index.js';
import { atomicWrite, restoreFromBackup, snapshotFile } from '../../src/transport/shell.js';
import { snapshot, startSim, VFIO_NODE, type Sim } from './harness.js';

const sh = (script: string, stdin?: Buffer) => spawnSync('/bin/sh', ['-c', script], { input: stdin ?? Buffer.alloc(0) });
const isRoot = process.getuid?.() === 0;

describe('the backup and restore forms, run by the real sh and coreutils', () => {
  let dir: string;
  beforeAll(() => { dir = mkdtempSync(join(tmpdir(), 'pvpt-bytes-')); });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const cases: [string, Buffer][] = [
    ['no final newline', Buffer.from('GRUB_CMDLINE_LINUX_DEFAULT="quiet"')],
    ['non-UTF-8 bytes', Buffer.from([0x23, 0x20, 0x63, 0x61, 0x66, 0xe9, 0x0a, 0xff, 0xfe, 0x80, 0x0a, 0x6f, 0x70, 0x74])],
    ['CRLF line ends', Buffer.from('options kvm ignore_msrs=1\r\nblacklist nouveau\r\n')],
    ['empty', Buffer.alloc(0)],
  ];

  it.each(cases)('%s: the backup hash is the bytes\' hash and restore gives the same bytes, mode and owner', (name, bytes) => {
    const safe = name.replace(/[^a-z]+/g, '-');
    const target = join(dir, 'etc', `${safe}.conf`);
    const backup = join(dir, 'backups', 'run1', 'etc', `${safe}.conf`);
    mkdirSync(join(dir, 'etc'), { recursive: true });
    writeFileSync(target, bytes);
    chmodSync(target, 0o640);
    // Owner is kept by cp -p only when run as root (as on a node); as another user the owner part is not checked.
    if (isRoot) chownSync(target, 1234, 4321);
    const before = statSync(target);

    const snap = sh(snapshotFile(target, backup));
    expect(snap.status, snap.stderr.toString()).toBe(0);
    expect(snap.stdout.toString()).toBe(`${createHash('sha256').update(bytes).digest('hex')}  ${backup}\n`);

    const w = sh(atomicWrite(target, { mode: '0644', uid: 0, gid: 0 }), Buffer.from('replaced by the tool\n'));
    expect(w.status, w.stderr.toString()).toBe(0);
    expect(readFileSync(target, 'utf8')).toBe('replaced by the tool\n');

    const r = sh(restoreFromBackup(target, backup));
    expect(r.status, r.stderr.toString()).toBe(0);
    expect(readFileSync(target).equals(bytes)).toBe(true);
    const after = statSync(target);
    expect((after.mode & 0o7777).toString(8)).toBe((before.mode & 0o7777).toString(8));
    if (isRoot) expect([after.uid, after.gid]).toEqual([1234, 4321]);
  });

  it('snapshotFile of a missing target exits 1 with no output (the "did not exist" case)', () => {
    const r = sh(snapshotFile(join(dir, 'etc', 'missing.conf'), join(dir, 'backups', 'run1', 'etc', 'missing.conf')));
    expect([r.status, r.stdout.toString(), r.stderr.toString()]).toEqual([1, '', '']);
  });

  it('the real sha256sum agrees with node:crypto (the CAS compares the two)', () => {
    const f = join(dir, 'agree');
    writeFileSync(f, 'x\n');
    expect(execFileSync('sha256sum', [f]).toString().split(' ')[0]).toBe(createHash('sha256').update('x\n').digest('hex'));
  });
});

describe('apply then rollback over the simulator: a file without a final newline comes back as it was', () => {
  let sim: Sim;
  beforeAll(async () => {
    sim = await startSim({ clusters: [{ name: 's', standalone: true, nodes: [VFIO_NODE('sd', 'pve9-amd-sdboot-zfs')] }] });
  });
  afterAll(() => sim?.close());

  it('restores /etc/kernel/cmdline without its final newline, and every other file byte for byte', async () => {
    const host = sim.fleet.host('sd');
    const cmdline = host.state.vfs.read('/etc/kernel/cmdline').replace(/\n$/, '');
    host.state.drift.writeFile('/etc/kernel/cmdline', cmdline);
    const before = snapshot(sim.fleet, '/etc').get('sd')!;
    const applied = await apply(sim.inventory, sim.opts());
    expect(applied.ok, JSON.stringify(applied.nodes)).toBe(true);
    expect(host.state.vfs.read('/etc/kernel/cmdline')).not.toBe(cmdline); // the run edited it
    const r = await rollback(sim.inventory, { ...sim.opts(), node: 'sd', run: applied.runId });
    expect(r.result.outcome, r.result.message).toBe('applied');
    expect(host.state.vfs.read('/etc/kernel/cmdline')).toBe(cmdline);
    const now = snapshot(sim.fleet, '/etc').get('sd')!;
    expect([...now.keys()].sort()).toEqual([...before.keys()].sort());
    for (const [p, f] of before) expect(now.get(p), p).toEqual(f);
  });
});
