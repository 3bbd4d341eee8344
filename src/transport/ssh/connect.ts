/** Entry point: one SshHost per node, connected and host-key-checked before it is returned. */
import { SshHost } from './ssh-host.js';
import type { SshConnectOptions } from './open-client.js';

export type { SshConnectOptions } from './open-client.js';

export async function connectSsh(opts: SshConnectOptions): Promise<SshHost> {
  const host = new SshHost(opts);
  await host.reconnect();
  return host;
}
