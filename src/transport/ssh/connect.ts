/** Entry point: one SshHost per node, connected and host-key-checked (every jump host too) before it is returned. */
import { SshHost } from './ssh-host.js';
import type { SshConnectOptions } from './open-client.js';

export type { SshConnectOptions } from './open-client.js';

export async function connectSsh(opts: SshConnectOptions): Promise<SshHost> {
  const host = new SshHost(opts);
  try {
    await host.reconnect();
  } catch (err) {
    // Let go of any jump hosts this node opened.
    await host.close();
    throw err;
  }
  return host;
}
