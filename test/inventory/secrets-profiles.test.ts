import { chmodSync, mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/errors.js';
import { inventoryFromFlags } from '../../src/inventory/from-flags.js';
import { openProfileStore } from '../../src/inventory/profiles.js';
import { SecretStore } from '../../src/inventory/secrets.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'pvpt-'));

describe('SecretStore', () => {
  it('reads env, then a 0600 file, and remembers values for redaction', async () => {
    const dir = tmp();
    const f = join(dir, 's');
    writeFileSync(f, 'from-file\n', { mode: 0o600 });
    const store = new SecretStore({ A: 'from-env' });
    expect(await store.resolve({ env: 'A' }, 'x')).toBe('from-env');
    expect(await store.resolve({ file: f }, 'x')).toBe('from-file');
    expect(store.values().sort()).toEqual(['from-env', 'from-file']);
  });
  it('refuses a secret file readable by others, naming the fix', async () => {
    const f = join(tmp(), 's');
    writeFileSync(f, 'x');
    chmodSync(f, 0o644);
    await expect(new SecretStore({}).resolve({ file: f }, 'token')).rejects.toThrow(/readable by others/);
  });
  it('says which variable is missing', async () => {
    await expect(new SecretStore({}).resolve({ env: 'PVE_TOKEN_SECRET' }, 'token')).rejects.toThrow(/PVE_TOKEN_SECRET is not set/);
  });
  it('prompts only when allowed and a prompt exists', async () => {
    await expect(new SecretStore({}).resolve({ prompt: true }, 'pw')).rejects.toBeInstanceOf(InputError);
    expect(await new SecretStore({}, async () => 'typed').resolve({ prompt: true }, 'pw')).toBe('typed');
  });
});

describe('profiles', () => {
  it('stores profiles in a 0600 file and never a secret value', async () => {
    const store = await openProfileStore(tmp());
    store.set('lab', { sshUser: 'root', api: 'https://pve1:8006', tokenId: 'auto@pve!pp', tokenSecretEnv: 'LAB_SECRET' });
    expect(store.get('lab')?.tokenSecretEnv).toBe('LAB_SECRET');
    expect(statSync(store.path).mode & 0o777).toBe(0o600);
    expect(() => store.set('lab', { tokenSecret: 'x' } as never)).toThrow(/tokenSecret|Unrecognized|unknown/i);
    expect(store.remove('lab')).toBe(true);
    expect(store.remove('lab')).toBe(false);
  });
});

describe('inventory from flags', () => {
  it('builds a one-node inventory with a VM from --host/--api/--device/--vm', () => {
    const inv = inventoryFromFlags({ host: 'admin@pve1.example.com:2222', api: 'https://pve1.example.com:8006', devices: ['0000:01:00.0'], vms: [100] });
    const c = inv.clusters[0]!;
    expect(c.nodes[0]).toMatchObject({ name: 'pve1', ssh: { host: 'pve1.example.com', port: 2222, user: 'admin', sudo: true } });
    const bare = inventoryFromFlags({ host: 'pve1', devices: [], vms: [] }).clusters[0]!.nodes[0]!.ssh;
    expect([bare.host, bare.port, bare.user, bare.hostKey]).toEqual(['pve1', undefined, undefined, undefined]);
    // Flags mode only adds: pcie=1 is left to the VM's machine (operations/vm/keep-current.ts).
    expect(c.vms[0]).toMatchObject({ vmid: 100, node: 'pve1', hostpci: [{ host: '0000:01:00' }], exact: false });
  });
  it('rejects hostile values through the same schema', () => {
    expect(() => inventoryFromFlags({ host: 'root@pve1', devices: ["0000:01:00.0'; reboot"], vms: [] })).toThrow(/full PCI address/);
    expect(() => inventoryFromFlags({ host: 'root@$(id)', devices: [], vms: [] })).toThrow(InputError);
  });
  it('needs --api for --vm', () => {
    expect(() => inventoryFromFlags({ host: 'pve1', devices: [], vms: [100] })).toThrow(/--vm needs the cluster API/);
  });
});
