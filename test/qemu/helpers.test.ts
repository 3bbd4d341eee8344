/** Fast checks of the e2e's own pieces, so a schema change fails here and not after a 15-minute boot. */
import { describe, expect, it } from 'vitest';
import { Inventory } from '../../src/inventory/schema.js';
import { formatMs, stepDurations } from './guest.js';
import { E1000E_ADDRESS, guestInventory } from './inventory.js';

describe('qemu e2e helpers', () => {
  it('builds an inventory the real schema accepts, host key pinned and the e1000e bound by id', () => {
    const inv = Inventory.parse(guestInventory({ port: 40222, identityFile: '/tmp/k', hostKeyFingerprint: 'SHA256:CoqhlCuapPYgGSWBfS5NvI5spfdezJZv+R1UFG3WJy4' }));
    const node = inv.clusters[0]?.nodes[0];
    expect(inv.clusters[0]?.api).toBeUndefined();
    expect(node?.ssh).toMatchObject({ host: '127.0.0.1', port: 40222, user: 'root', hostKey: { fingerprint: 'SHA256:CoqhlCuapPYgGSWBfS5NvI5spfdezJZv+R1UFG3WJy4' } });
    expect(node?.devices).toMatchObject([{ address: E1000E_ADDRESS, bind: 'ids', softdep: ['e1000e'] }]);
    expect(node?.iommuPassthrough).toBe(true);
    expect(inv.clusters[0]?.policy.reboot).toBe('needed');
  });

  it('rejects a fingerprint that is not in ssh-keygen -lf form', () => {
    expect(() => Inventory.parse(guestInventory({ port: 1, identityFile: '/tmp/k', hostKeyFingerprint: 'MD5:aa:bb' }))).toThrow();
  });

  it('times the steps of a command from its progress lines on stderr (heartbeat "still …" lines continue a step)', () => {
    const lines = [
      { at: 0, text: '» applying run r1' },
      { at: 100, text: '… lab/pve1: write /etc/modprobe.d/pve-passthrough.conf' },
      { at: 300, text: '… lab/pve1: update-initramfs -u -k all' },
      { at: 15_300, text: '… lab/pve1: still update-initramfs -u -k all (15s)' },
      { at: 90_300, text: 'warning: node pve1: no API in the inventory' },
      { at: 95_000, text: '… lab/pve1: rebooting' },
      { at: 155_000, text: '… lab/pve1: back with a new boot_id; waiting for the cluster' },
    ];
    expect(stepDurations(lines, 160_000)).toEqual([
      { step: 'write /etc/modprobe.d/pve-passthrough.conf', ms: 200 },
      { step: 'update-initramfs -u -k all', ms: 94_700 },
      { step: 'rebooting', ms: 60_000 },
      { step: 'back with a new boot_id; waiting for the cluster', ms: 5_000 },
    ]);
  });

  it('formats durations for the timings table', () => {
    expect(formatMs(4_200)).toBe('4.2 s');
    expect(formatMs(154_000)).toBe('2 min 34 s');
  });
});
