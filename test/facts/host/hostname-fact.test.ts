/**
 * The host's name is one fact read one way: the facts batch and the naming of
 * a --host node (engine/node-name.ts) both run `hostname`, the kernel's name,
 * which PVE takes its node name from (PVE::INotify::nodename: uname's
 * nodename up to the first dot). /etc/hostname is only what the next boot
 * sets: hostname(5) allows comment lines in it ("Comments (lines starting
 * with a `#') are ignored"), and `hostname NAME` renames the running system
 * without touching it. Against the simulated host's real command dialect.
 */
import { describe, expect, it } from 'vitest';
import { gatherHostFacts } from '../../../src/facts/host/gather.js';
import { hostnameScript, parseHostname } from '../../../src/facts/host/hostname.js';
import { factsSections } from '../../../src/facts/host/script.js';
import { render } from '../../../src/transport/shell.js';
import type { RemoteHost } from '../../../src/transport/types.js';
import { newHost } from '../../mocks/hosts/helpers.js';

function remote(profile: string): { host: RemoteHost; sim: ReturnType<typeof newHost> } {
  const sim = newHost(profile);
  const host: RemoteHost = {
    node: 'n1',
    connectionsOpened: 1,
    exec: async (script) => {
      const r = sim.exec(script);
      return { code: r.code, stdout: r.stdout, stderr: r.stderr };
    },
    close: async () => undefined,
  };
  return { host, sim };
}

describe('the host name fact', () => {
  it('the facts batch runs the same `hostname` as node naming', () => {
    const batchCmd = factsSections().find((s) => s.key === 'hostname')!.cmd;
    expect(render(batchCmd)).toBe(hostnameScript());
  });

  it('is the running name, whatever /etc/hostname holds (comment lines, a name not yet booted into)', async () => {
    const { host, sim } = remote('pve9-intel-grub-lvm');
    const running = parseHostname((await host.exec(hostnameScript())).stdout);
    expect(running).toHaveProperty('nodeName');
    sim.drift.writeFile('/etc/hostname', '# set by the installer\nnext-name.example\n');
    const f = await gatherHostFacts(host, { nonce: '0123456789abcdef' });
    expect(f.parseErrors).toEqual([]);
    expect(f.hostname).toBe((running as { hostname: string }).hostname);
  });
});
