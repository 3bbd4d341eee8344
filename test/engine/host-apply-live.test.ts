/**
 * The live-bind executor against a simulated host (no sockets): the exact
 * dialect forms, the kernel's refusal of a device the host needs, and giving
 * a device back to its driver when the bind fails.
 */
import { describe, expect, it } from 'vitest';
import { SimHost } from '../../mocks/hosts/host.js';
import { RemoteCommandError } from '../../src/errors.js';
import { applyHostSteps, giveBackScript, liveBindScript } from '../../src/engine/host-apply.js';
import type { HostStep } from '../../src/operations/types.js';
import type { Script } from '../../src/transport/shell.js';
import { UnsafeArgumentError } from '../../src/transport/shell.js';
import type { RemoteHost } from '../../src/transport/types.js';

const GPU = '0000:01:00.0';
const AUDIO = '0000:01:00.1';
const MGMT_NIC = '0000:03:00.0';

function remote(h: SimHost): RemoteHost {
  return {
    node: 'pve1',
    connectionsOpened: 1,
    exec: async (script: Script, o = {}) => h.exec(script, { stdin: o.stdin === undefined ? undefined : String(o.stdin) }),
    close: async () => undefined,
  };
}
const opts = { runId: '20260101T000000Z-abcdef', now: () => new Date('2026-01-01T00:00:00Z'), refreshTimeoutMs: 600_000 };
const live = (address: string, from: string | null): HostStep => ({ kind: 'live-bind', address, from, reason: 'test' });

describe('live-bind scripts', () => {
  it('use exactly the sysfs write forms of the dialect', () => {
    expect(liveBindScript(GPU, 'nouveau')).toBe(
      `'printf' '%s' 'vfio-pci' > '/sys/bus/pci/devices/${GPU}/driver_override' && 'printf' '%s' '${GPU}' > '/sys/bus/pci/devices/${GPU}/driver/unbind' && 'printf' '%s' '${GPU}' > '/sys/bus/pci/drivers/vfio-pci/bind'`,
    );
    expect(liveBindScript(GPU, null)).toBe(`'printf' '%s' 'vfio-pci' > '/sys/bus/pci/devices/${GPU}/driver_override' && 'printf' '%s' '${GPU}' > '/sys/bus/pci/drivers_probe'`);
    expect(giveBackScript(GPU, 'nouveau')).toBe(`'printf' '%s' 'nouveau' > '/sys/bus/pci/devices/${GPU}/driver_override' && 'printf' '%s' '${GPU}' > '/sys/bus/pci/drivers_probe'`);
  });
  it('refuse anything that is not a PCI address or a driver name', () => {
    expect(() => liveBindScript('0000:01:00.0/../../x', 'nouveau')).toThrow(UnsafeArgumentError);
    expect(() => liveBindScript("0000:01:00.0'; reboot", null)).toThrow(UnsafeArgumentError);
    expect(() => giveBackScript(GPU, 'nouveau; reboot')).toThrow(UnsafeArgumentError);
  });
});

describe('applyHostSteps: live-bind', () => {
  it('loads vfio-pci once and moves each function, counting the steps', async () => {
    const h = new SimHost('pve9-intel-grub-lvm');
    const seen: string[] = [];
    const r = await applyHostSteps(remote(h), [live(GPU, 'nouveau'), live(AUDIO, 'snd_hda_intel')], { ...opts, onStep: (m) => seen.push(m) });
    expect(r.stepsDone).toBe(2);
    expect(seen).toEqual(['modprobe vfio-pci', `bind ${GPU} to vfio-pci (from nouveau)`, `bind ${AUDIO} to vfio-pci (from snd_hda_intel)`]);
    expect([h.driverOf(GPU), h.driverOf(AUDIO)]).toEqual(['vfio-pci', 'vfio-pci']);
    expect(h.violations).toEqual([]);
  });

  it('a function without a driver is probed, also when vfio-pci already claimed it on load', async () => {
    const h = new SimHost('pve9-intel-grub-lvm');
    h.drift.rebindDriver(AUDIO, null);
    await applyHostSteps(remote(h), [live(AUDIO, null)], opts);
    expect(h.driverOf(AUDIO)).toBe('vfio-pci');
    expect(h.violations).toEqual([]);
  });

  it('the kernel refusing an unbind fails the node with a fix, and the device keeps its driver', async () => {
    const h = new SimHost('pve9-intel-grub-lvm');
    const err = await applyHostSteps(remote(h), [live(MGMT_NIC, 'igb')], opts).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RemoteCommandError);
    const e = err as RemoteCommandError;
    expect(e.message).toMatch(/Device or resource busy/);
    expect(e.message).toMatch(/vfio-pci takes the device at the next boot/);
    expect(e.context.fix).toMatch(/reboot/);
    expect(h.driverOf(MGMT_NIC)).toBe('igb');
    expect(h.incidents.some((i) => i.includes(`refused unbind of ${MGMT_NIC}`))).toBe(true);
    // given back: the override names the host driver, not vfio-pci
    expect(h.exec(`cat '/sys/bus/pci/devices/${MGMT_NIC}/driver_override'`).stdout).toBe('igb\n');
  });
});
