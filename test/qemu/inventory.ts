/**
 * The host-only inventory for the guest: one cluster without an API, one node reached through
 * QEMU's hostfwd on 127.0.0.1, the host key pinned by the fingerprint recorded at image build.
 */
import type { z } from 'zod';
import type { Inventory } from '../../src/inventory/schema.js';

/** The file's form (defaults may be left out), so schema additions with defaults do not break this. */
export type InventoryFile = z.input<typeof Inventory>;

export interface GuestAccess {
  readonly port: number;
  readonly identityFile: string;
  readonly hostKeyFingerprint: string;
  /** The declared device; default: the e1000e bound by ids with its softdep. */
  readonly devices?: NonNullable<InventoryFile['clusters'][number]['nodes']>[number]['devices'];
}

/** Fixed by scripts/qemu/guest.sh (`-device e1000e,addr=0x3`). */
export const E1000E_ADDRESS = '0000:00:03.0';
/** The identical twin (`guest.sh start … twin`), never declared. */
export const TWIN_ADDRESS = '0000:00:05.0';
export const E1000E_ID = '8086:10d3';
export const NODE = 'pvpt-e2e';

export function guestInventory(a: GuestAccess): InventoryFile {
  return {
    version: 1,
    clusters: [
      {
        name: 'qemu-e2e',
        policy: {
          reboot: 'needed',
          // TCG on 2 shared cores: a reboot plus boot can take minutes.
          rebootTimeoutSeconds: 1800,
          // update-initramfs under TCG took 14 min on a loaded machine (docs/qemu-e2e.md, adoption): a slow host.
          refreshTimeoutSeconds: 3600,
        },
        nodes: [
          {
            name: NODE,
            ssh: {
              host: '127.0.0.1',
              port: a.port,
              user: 'root',
              identityFile: a.identityFile,
              hostKey: { fingerprint: a.hostKeyFingerprint },
              connectTimeoutSeconds: 60,
            },
            devices: a.devices ?? [
              { address: E1000E_ADDRESS, id: E1000E_ID, bind: 'ids', softdep: ['e1000e'] },
            ],
            iommuPassthrough: true,
          },
        ],
      },
    ],
  };
}
