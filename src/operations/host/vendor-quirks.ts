/**
 * Vendor realities, as warnings with the fix (never installed silently).
 * AMD GPUs of these families do not reset cleanly: after the VM stops or
 * reboots the card hangs until the host reboots. The out-of-tree module
 * vendor-reset (github.com/gnif/vendor-reset, its README's device list)
 * provides a working reset for them. Device-id ranges by family, vendor 1002.
 */
import type { PciDevice } from '../../facts/host/types.js';
import type { Warning } from '../types.js';

const RESET_BUG: readonly { family: string; from: number; to: number }[] = [
  { family: 'Polaris 10', from: 0x67c0, to: 0x67df },
  { family: 'Polaris 11', from: 0x67e0, to: 0x67ff },
  { family: 'Polaris 12', from: 0x6980, to: 0x699f },
  { family: 'Vega 10', from: 0x6860, to: 0x687f },
  { family: 'Vega 20', from: 0x66a0, to: 0x66af },
  { family: 'Navi 10', from: 0x7310, to: 0x731f },
  { family: 'Navi 12', from: 0x7360, to: 0x7362 },
  { family: 'Navi 14', from: 0x7340, to: 0x734f },
];

export function amdResetFamily(id: string): string | null {
  const [vendor, device] = id.split(':');
  if (vendor !== '1002' || device === undefined) return null;
  const n = Number.parseInt(device, 16);
  return RESET_BUG.find((r) => n >= r.from && n <= r.to)?.family ?? null;
}

export function vendorWarnings(fns: readonly PciDevice[]): Warning[] {
  return fns.flatMap((f) => {
    const family = amdResetFamily(f.id);
    return family ? [{
      subject: `device ${f.address}`,
      message: `AMD ${family} (${f.id}) has the known reset bug: after the VM stops or reboots the card may hang until the host reboots; install vendor-reset (https://github.com/gnif/vendor-reset, DKMS) and set the device's reset_method to device_specific — pve-passthrough does not install it`,
    }] : [];
  });
}
