import { describe, expect, it } from 'vitest';
import { PROFILES, PROFILE_NAMES, resolveProfile } from '../../../mocks/hosts/profiles.js';
import { SimHost } from '../../../mocks/hosts/host.js';
import { cat, newHost, q, readFacts, sh } from './helpers.js';

describe('profiles', () => {
  it('include the named set the scenarios use', () => {
    expect(PROFILE_NAMES).toEqual(expect.arrayContaining(['pve9-intel-grub-lvm', 'pve9-amd-sdboot-zfs', 'pve81-intel-6.5', 'pve7-5.15', 'consumer-bad-group', 'twin-nics', 'mgmt-in-target-group', 'debian-plain-grub', 'firmware-iommu-off']));
  });

  it.each(PROFILE_NAMES)('%s is plain JSON data and answers the whole facts batch without a violation', (name) => {
    const p = PROFILES[name]!;
    expect(JSON.parse(JSON.stringify(p))).toEqual(p);
    const h = newHost(name);
    const facts = readFacts(h);
    expect(h.violations).toEqual([]);
    expect(facts.get('hostname')?.output).toBe(`${p.hostname}\n`);
    expect(facts.get('uname')?.output).toBe(`${p.kernel.running}\n`);
    expect(facts.get('lspci')?.output.match(/^\S+ /gm)).toHaveLength(p.pci.length);
    // every management path resolves to a PCI device that is present
    expect(h.hostNeeds.size).toBeGreaterThan(0);
    for (const addr of h.hostNeeds.keys()) expect(p.pci.map((d) => d.address)).toContain(addr);
  });

  it('merge overrides: objects merge, arrays replace, the catalogue stays untouched', () => {
    const p = resolveProfile('pve9-intel-grub-lvm', { hostname: 'other', kernel: { running: '6.14.11-4-pve' }, firmware: { iommu: false } });
    expect(p.hostname).toBe('other');
    expect(p.kernel).toEqual({ running: '6.14.11-4-pve', installed: ['6.14.11-4-pve', '6.17.2-1-pve'] });
    expect(p.firmware).toEqual({ efi: true, iommu: false, interruptRemapping: true });
    expect(PROFILES['pve9-intel-grub-lvm']!.hostname).toBe('pve1');
    expect(() => resolveProfile('nope')).toThrow(/unknown host profile "nope"; known: pve9-intel-grub-lvm/);
  });

  it('a profile can be passed as data, e.g. from a scenario file', () => {
    const data = JSON.parse(JSON.stringify({ ...PROFILES['pve9-intel-grub-lvm']!, hostname: 'from-json' }));
    expect(cat(new SimHost(data), '/etc/hostname')).toBe('from-json\n');
  });

  it('the bad-group host shows the GPU sharing its group with a NIC and the SATA controller', () => {
    const out = sh(newHost('consumer-bad-group'), `printf '%s\\n' /sys/kernel/iommu_groups/2/devices/*`).stdout;
    expect(out.trim().split('\n').map((l) => l.split('/').pop())).toEqual(['0000:00:01.2', '0000:01:00.1', '0000:02:00.0', '0000:07:00.0', '0000:07:00.1', '0000:08:00.0']);
  });

  it('the management NIC sits in the GPU group on mgmt-in-target-group', () => {
    const h = newHost('mgmt-in-target-group');
    expect(sh(h, q(['readlink', '-f', '/sys/bus/pci/devices/0000:02:00.0/iommu_group'])).stdout).toBe('/sys/kernel/iommu_groups/14\n');
    expect(h.hostNeeds.get('0000:02:00.0')).toContain('management network');
  });

  it('twin-nics: corosync runs over a VLAN on the second I350 pair port', () => {
    const h = newHost('twin-nics');
    expect(h.hostNeeds.get('0000:06:00.0')).toBe('cluster network (corosync 10.50.0.21 on enp6s0f0.50) via enp6s0f0');
    expect(h.hostNeeds.has('0000:06:00.1')).toBe(false);
  });

  it('many hosts fit in one process: sysfs is only built on first use', () => {
    const hosts = Array.from({ length: 1000 }, (_, i) => new SimHost(PROFILE_NAMES[i % PROFILE_NAMES.length]!));
    expect(hosts.every((h) => !h.vfs.exists('/sys/bus'))).toBe(true);
    for (const h of hosts.slice(0, 50)) readFacts(h);
    expect(hosts.slice(0, 50).every((h) => h.violations.length === 0 && h.vfs.exists('/sys/bus'))).toBe(true);
  });
});
