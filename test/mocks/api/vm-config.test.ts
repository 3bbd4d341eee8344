import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ROOT_TOKEN, startSim, startSimWithRoot, TOKEN, type CallOptions, type Sim } from './fixture.js';

let sim: Sim;
let root: CallOptions;
const tok: CallOptions = { token: TOKEN };

beforeAll(async () => {
  ({ sim, root } = await startSimWithRoot());
});
afterAll(async () => {
  await sim.close();
});
beforeEach(() => {
  sim.api.faults.clear();
});

async function config(vmid: number, node: string, current = false): Promise<Record<string, string>> {
  const r = await sim.client.call('GET', `/nodes/${node}/qemu/${vmid}/config`, { ...tok, ...(current ? { query: { current: '1' } } : {}) });
  expect(r.status).toBe(200);
  return r.body.data as Record<string, string>;
}

async function postConfig(vmid: number, node: string, auth: CallOptions, form: Record<string, string>): Promise<Record<string, unknown>> {
  const r = await sim.client.call('POST', `/nodes/${node}/qemu/${vmid}/config`, { ...auth, form });
  expect(r.status, r.statusText).toBe(200);
  const upid = r.body.data as string;
  expect(upid).toMatch(/^UPID:[a-z0-9-]+:[0-9A-F]{8}:[0-9A-F]{8,9}:[0-9A-F]{8}:qmconfig:\d+:[^:]+:$/);
  return sim.client.waitTask(upid, auth);
}

describe('the root@pam rule for raw hostpci', () => {
  it('accepts a token POST and fails inside the task', async () => {
    const status = await postConfig(101, 'pve1', tok, { hostpci0: '0000:01:00,pcie=1' });
    expect(status).toMatchObject({ status: 'stopped', exitstatus: "only root can set 'hostpci0' config for non-mapped devices", user: 'svc@pve', tokenid: 'deploy', type: 'qmconfig', id: '101' });
    expect((await config(101, 'pve1')).hostpci0).toBeUndefined();
  });

  it('also refuses a root@pam token', async () => {
    const status = await postConfig(101, 'pve1', { token: ROOT_TOKEN }, { hostpci0: '01:00.0' });
    expect(status.exitstatus).toBe("only root can set 'hostpci0' config for non-mapped devices");
  });

  it('answers a synchronous PUT with 500 and the message', async () => {
    const r = await sim.client.call('PUT', '/nodes/pve1/qemu/101/config', { ...tok, form: { hostpci1: '0000:02:00.0' } });
    expect(r.status).toBe(500);
    expect(r.statusText).toBe("only root can set 'hostpci1' config for non-mapped devices");
    expect(r.body).toEqual({ data: null, message: "only root can set 'hostpci1' config for non-mapped devices\n" });
  });

  it('lets a token use a mapping, and root@pam use a raw address; a token may not delete the raw one', async () => {
    expect((await postConfig(101, 'pve1', tok, { hostpci2: 'mapping=gpu-a,pcie=1' })).exitstatus).toBe('OK');
    expect((await postConfig(101, 'pve1', root, { hostpci3: '0000:02:00.0' })).exitstatus).toBe('OK');
    const cfg = await config(101, 'pve1');
    expect(cfg).toMatchObject({ hostpci2: 'mapping=gpu-a,pcie=1', hostpci3: '0000:02:00.0' });
    expect((await postConfig(101, 'pve1', tok, { delete: 'hostpci3' })).exitstatus).toBe("only root can set 'hostpci3' config for non-mapped devices");
    expect((await postConfig(101, 'pve1', root, { delete: 'hostpci2,hostpci3' })).exitstatus).toBe('OK');
  });
});

describe('digest', () => {
  it('is the SHA-1 of the file and changes on every write', async () => {
    const seen = new Set<string>();
    seen.add((await config(101, 'pve1')).digest as string);
    for (const cores of ['1', '2', '3']) {
      expect((await sim.client.call('PUT', '/nodes/pve1/qemu/101/config', { ...tok, form: { cores } })).status).toBe(200);
      const d = (await config(101, 'pve1')).digest as string;
      expect(d).toMatch(/^[0-9a-f]{40}$/);
      seen.add(d);
    }
    expect(seen.size).toBe(4);
  });

  it('refuses a stale digest before forking with 500 checksum mismatch', async () => {
    const stale = (await config(101, 'pve1')).digest as string;
    await sim.client.call('PUT', '/nodes/pve1/qemu/101/config', { ...tok, form: { cores: '5' } });
    const r = await sim.client.call('POST', '/nodes/pve1/qemu/101/config', { ...tok, form: { cores: '7', digest: stale } });
    expect(r.status).toBe(500);
    expect(r.statusText).toBe('checksum mismatch (file change by other user?)');
    expect(r.body.message).toBe('checksum mismatch (file change by other user?)\n');
  });

  it('fails with a concurrent writer right after the GET (digestConflictOnce), then succeeds on re-read', async () => {
    sim.api.faults.digestConflictOnce(101);
    const digest = (await config(101, 'pve1')).digest as string;
    const r = await sim.client.call('POST', '/nodes/pve1/qemu/101/config', { ...tok, form: { cores: '3', digest } });
    expect(r.status).toBe(500);
    const fresh = (await config(101, 'pve1')).digest as string;
    expect((await postConfig(101, 'pve1', tok, { cores: '3', digest: fresh })).exitstatus).toBe('OK');
  });

  it('is checked again inside the task (a write between POST and the worker)', async () => {
    // The write must land after the POST's answer and before its worker runs: a simulator whose
    // workers wait a whole second keeps that window open however loaded the machine is.
    const slow = await startSim(undefined, 1_000);
    try {
      const digest = ((await slow.client.call('GET', '/nodes/pve1/qemu/101/config', tok)).body.data as Record<string, string>).digest as string;
      const r = await slow.client.call('POST', '/nodes/pve1/qemu/101/config', { ...tok, form: { cores: '8', digest } });
      slow.api.setConfig(101, { tags: 'touched' });
      const status = await slow.client.waitTask(r.body.data as string, tok);
      expect(status.exitstatus).toBe('checksum mismatch (file change by other user?)');
    } finally {
      await slow.close();
    }
  });
});

describe('running VMs', () => {
  it('keeps hostpci and machine pending; current=1 and /pending tell them apart', async () => {
    const before = await config(103, 'pve2');
    const status = await postConfig(103, 'pve2', tok, { machine: 'pc-q35-8.1', hostpci0: 'mapping=gpu-a,pcie=1', name: 'busy-renamed' });
    expect(status.exitstatus).toBe('OK');
    const merged = await config(103, 'pve2');
    const current = await config(103, 'pve2', true);
    expect(merged).toMatchObject({ machine: 'pc-q35-8.1', hostpci0: 'mapping=gpu-a,pcie=1', name: 'busy-renamed' });
    expect(current.machine).toBe('pc-i440fx-8.1');
    expect(current.hostpci0).toBeUndefined();
    expect(current.name).toBe('busy-renamed'); // fast-plug option applied at once
    expect(merged.digest).not.toBe(before.digest);
    const pending = await sim.client.call('GET', '/nodes/pve2/qemu/103/pending', tok);
    expect(pending.body.data).toEqual(expect.arrayContaining([
      { key: 'machine', value: 'pc-i440fx-8.1', pending: 'pc-q35-8.1' },
      { key: 'hostpci0', pending: 'mapping=gpu-a,pcie=1' },
      { key: 'name', value: 'busy-renamed' },
    ]));
  });

  it('turns a delete into a pending delete, and a revert drops it', async () => {
    expect((await postConfig(103, 'pve2', tok, { delete: 'ostype' })).exitstatus).toBe('OK');
    expect((await config(103, 'pve2')).ostype).toBeUndefined();
    expect((await config(103, 'pve2', true)).ostype).toBe('win11');
    const pending = (await sim.client.call('GET', '/nodes/pve2/qemu/103/pending', tok)).body.data as object[];
    expect(pending).toContainEqual({ key: 'ostype', value: 'win11', delete: 1 });
    expect((await postConfig(103, 'pve2', tok, { revert: 'ostype' })).exitstatus).toBe('OK');
    expect((await config(103, 'pve2')).ostype).toBe('win11');
  });

  it('reports running-machine from status/current', async () => {
    const r = await sim.client.call('GET', '/nodes/pve2/qemu/103/status/current', tok);
    expect(r.body.data).toMatchObject({ status: 'running', 'running-machine': 'pc-i440fx-8.1', ha: { managed: 0 } });
  });
});

describe('write rules', () => {
  it('warns (WARNINGS: 1) when deleting a key that is not set', async () => {
    expect((await postConfig(101, 'pve1', tok, { delete: 'hostpci9' })).exitstatus).toBe('WARNINGS: 1');
  });

  it('refuses setting and deleting the same key, and an empty write', async () => {
    const both = await sim.client.call('PUT', '/nodes/pve1/qemu/101/config', { ...tok, form: { cores: '2', delete: 'cores' } });
    expect(both.status).toBe(400);
    expect(both.body.errors).toEqual({ delete: "you can't use '-cores' and -delete cores' at the same time" });
    const empty = await sim.client.call('POST', '/nodes/pve1/qemu/101/config', tok);
    expect(empty.status).toBe(500);
    expect(empty.statusText).toBe('no options specified');
  });

  it('checks Intel vIOMMU against the machine type inside the task', async () => {
    expect((await postConfig(101, 'pve1', tok, { machine: 'pc,viommu=intel' })).exitstatus).toBe('to use Intel vIOMMU please set the machine type to q35');
  });

  it('answers a VM on another node as a missing config file', async () => {
    const r = await sim.client.call('GET', '/nodes/pve2/qemu/101/config', tok);
    expect(r.status).toBe(500);
    expect(r.statusText).toBe("Configuration file 'nodes/pve2/qemu-server/101.conf' does not exist");
  });

  it('honours background_delay: null when the task finished in time, the error when it failed', async () => {
    const ok = await sim.client.call('POST', '/nodes/pve1/qemu/101/config', { ...tok, form: { cores: '2', background_delay: '30' } });
    expect(ok.status).toBe(200);
    expect(ok.body.data).toBeNull();
    const bad = await sim.client.call('POST', '/nodes/pve1/qemu/101/config', { ...tok, form: { hostpci4: '01:00.0', background_delay: '30' } });
    expect(bad.status).toBe(500);
    expect(bad.statusText).toBe("only root can set 'hostpci4' config for non-mapped devices");
  });
});

describe('request bodies', () => {
  it('splits form fields on ; as well as &, so a literal ; must be %3B', async () => {
    const raw = `hostpci5=0000:01:00.0%3B0000:01:00.1&description=a;cores=3`;
    const r = await sim.client.call('POST', '/nodes/pve1/qemu/101/config', { ...root, rawBody: raw });
    expect(r.status, r.statusText).toBe(200);
    await sim.client.waitTask(r.body.data as string, root);
    const cfg = await config(101, 'pve1');
    expect(cfg).toMatchObject({ hostpci5: '0000:01:00.0;0000:01:00.1', description: 'a', cores: '3' });
    const broken = await sim.client.call('PUT', '/nodes/pve1/qemu/101/config', { ...root, rawBody: 'hostpci6=0000:01:00.0;0000:01:00.1' });
    expect(broken.status).toBe(400);
    expect(broken.body.errors?.['0000:01:00.1']).toBe('property is not defined in schema and the schema does not allow additional properties');
  });

  it('accepts JSON bodies (booleans and numbers included)', async () => {
    const r = await sim.client.call('PUT', '/nodes/pve1/qemu/101/config', { ...tok, json: { onboot: true, cores: 2, description: 'json' } });
    expect(r.status, r.statusText).toBe(200);
    expect(await config(101, 'pve1')).toMatchObject({ onboot: '1', cores: '2', description: 'json' });
  });

  it('lets the query string override the body and refuses a conflicting URI parameter', async () => {
    const r = await sim.client.call('PUT', '/nodes/pve1/qemu/101/config', { ...tok, form: { vmid: '999', cores: '1' } });
    expect(r.status).toBe(400);
    expect(r.body.errors).toEqual({ vmid: 'duplicate parameter (already defined in URI) with conflicting values!' });
  });
});

describe('400 Parameter verification failed', () => {
  it.each([
    ['hostpci0', '0000:01:00.0,foo=1', 'invalid format - invalid key in comma-separated list property: foo\n'],
    ['hostpci0', '0000:0A:00.0', 'invalid format - format error\nhostpci0.host: value does not match the regex pattern\n'],
    ['hostpci0', 'mapping=1gpu', "invalid format - format error\nhostpci0.mapping: invalid format - invalid configuration ID '1gpu'\n\n"],
    ['hostpci0', '01:00.0,pcie=maybe', "invalid format - format error\nhostpci0.pcie: type check ('boolean') failed - got 'maybe'\n"],
    ['hostpci16', '01:00.0', 'property is not defined in schema and the schema does not allow additional properties'],
    ['machine', 'q36', 'invalid format - format error\nmachine.type: value does not match the regex pattern\n'],
    ['machine', 'q35,viommu=amd', "invalid format - format error\nmachine.viommu: value 'amd' does not have a value in the enumeration 'intel, virtio'\n"],
    ['digest', 'a'.repeat(41), 'value may only be 40 characters long'],
    ['delete', 'hostpci0,1bad', "invalid format - invalid configuration ID '1bad'\n"],
    ['onboot', 'yes', "type check ('boolean') failed - got 'yes'"],
    ['cores', '0', 'value must have a minimum value of 1'],
    ['bios', 'uefi', "value 'uefi' does not have a value in the enumeration 'seabios, ovmf'"],
    ['frobnicate', '1', 'property is not defined in schema and the schema does not allow additional properties'],
  ])('%s=%s', async (param, value, message) => {
    const r = await sim.client.call('POST', '/nodes/pve1/qemu/101/config', { ...tok, form: { [param]: value } });
    expect(r.status).toBe(400);
    expect(r.statusText).toBe('Parameter verification failed.');
    expect(r.body).toEqual({ data: null, message: 'Parameter verification failed.\n', errors: { [param]: message } });
  });

  it('reports every bad parameter at once', async () => {
    const r = await sim.client.call('PUT', '/nodes/pve1/qemu/101/config', { ...tok, form: { bios: 'x', cores: 'many' } });
    expect(Object.keys(r.body.errors ?? {}).sort()).toEqual(['bios', 'cores']);
  });

  it('validates path parameters too', async () => {
    const r = await sim.client.call('GET', '/nodes/pve1/qemu/abc/config', tok);
    expect(r.status).toBe(400);
    expect(r.body.errors).toEqual({ vmid: "type check ('integer') failed - got 'abc'" });
  });
});
