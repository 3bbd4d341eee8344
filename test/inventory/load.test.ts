import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/errors.js';
import { parseInventoryText } from '../../src/inventory/load.js';
import { loadFixture, problemsOf } from './fixture.js';

const load = loadFixture;

describe('inventory loading', () => {
  it('loads a host-only inventory and applies defaults', () => {
    const inv = load('good-host-only.json');
    const node = inv.clusters[0]!.nodes[0]!;
    // port and user stay unset so ssh_config can fill them; 22 and root apply at connect time
    expect(node.ssh.port).toBeUndefined();
    expect(node.ssh.user).toBeUndefined();
    expect(node.ssh.useSshConfig).toBe(true);
    expect(node.devices[0]).toMatchObject({ address: '0000:01:00.0', bind: 'auto', allFunctions: true });
    expect(inv.clusters[0]!.policy).toMatchObject({ maxUnavailable: 1, reboot: 'needed' });
  });

  it('loads the shipped example', () => {
    const text = readFileSync(join(import.meta.dirname, '../../inventory.example.json'), 'utf8');
    const inv = parseInventoryText(text, '/tmp/inventory.example.json');
    expect(inv.clusters[0]!.nodes.map((n) => n.name)).toEqual(['pve1', 'pve2']);
    // ~ and relative paths are resolved, so the result does not depend on the working directory
    expect(inv.clusters[0]!.nodes[0]!.ssh.identityFile).toMatch(/^\/.*\.ssh\/id_ed25519$/);
  });

  it.each([
    ['bad-pci-address.json', 'clusters[0].nodes[0].devices[0].address', /full PCI address/],
    ['bad-unknown-key.json', 'clusters[0].nodes[0].ssh', /unknown key "hots"/],
    ['bad-duplicate-node.json', 'clusters[0].nodes[1].name', /duplicate node "pve1"/],
    ['bad-duplicate-vm.json', 'clusters[0].vms[1].vmid', /duplicate VM id 100/],
    ['bad-shell-in-param.json', 'clusters[0].nodes[0].kernelParams[0]', /one kernel parameter/],
    ['bad-hex-id.json', 'clusters[0].nodes[0].devices[0].id', /4\+4 lowercase hex/],
    ['bad-inline-secret.json', 'clusters[0].api.auth', /inline secrets are refused/],
    ['bad-17-hostpci.json', 'clusters[0].vms[0].hostpci', /at most 16 hostpci/],
  ])('%s: names %s and the fix', (file, path, message) => {
    const e = problemsOf(file);
    const line = e.problems.find((p) => p.startsWith(path));
    expect(line, e.problems.join('\n')).toBeDefined();
    expect(line).toMatch(message);
    expect(e.context.fix).toBeTruthy();
  });

  it('does not echo a rejected inline secret', () => {
    expect(problemsOf('bad-inline-secret.json').message).not.toContain('s3cr3t-value');
  });

  it('reports malformed JSON with line and column', () => {
    const e = problemsOf('bad-json-syntax.json');
    expect(e.message).toMatch(/bad-json-syntax\.json:3:\d+: not valid JSON/);
  });
});
