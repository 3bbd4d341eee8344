/**
 * Selecting by PVE tags: `--tag` picks the VMs whose /cluster/resources tags
 * include it and the nodes hosting them; the same selection drives plan,
 * verify and devices. Matching is pure (matchTags); the wiring runs over the
 * simulated fleet.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createContext, matchTags, parseTags, selectedNodes, selectedVms } from '../../src/engine/context.js';
import { devices, plan, verify } from '../../src/index.js';
import { InputError } from '../../src/errors.js';
import { testFleet, type TestFleet } from '../helpers/fleet.js';

describe('tags from /cluster/resources', () => {
  it('parses ;-separated tags (and the older , or space forms), case-insensitively', () => {
    expect(parseTags('gpu;Prod')).toEqual(['gpu', 'prod']);
    expect(parseTags('gpu,lab win')).toEqual(['gpu', 'lab', 'win']);
    expect(parseTags(undefined)).toEqual([]);
    expect(parseTags(42)).toEqual([]);
  });
  it('matches qemu guests only, any wanted tag', () => {
    const m = matchTags([
      { type: 'qemu', vmid: 101, node: 'pve1', tags: 'gpu;prod' },
      { type: 'qemu', vmid: 102, node: 'pve2', tags: 'lab' },
      { type: 'lxc', vmid: 200, node: 'pve2', tags: 'gpu' },
      { type: 'qemu', vmid: 103, node: 'pve3' },
      { type: 'qemu', vmid: 104, node: 'pve3', tags: 'GPU' },
    ], ['gpu']);
    expect([...m.vms]).toEqual([[101, 'pve1'], [104, 'pve3']]);
  });
});

const scenario = {
  name: 'tags',
  clusters: [{
    name: 'lab', policy: { reboot: 'needed' },
    nodes: [
      { name: 'pve1', profile: 'pve9-intel-grub-lvm', declare: { devices: [{ address: '0000:01:00.0' }] } },
      { name: 'pve2', profile: 'pve9-intel-grub-lvm', declare: { devices: [{ address: '0000:01:00.0' }] } },
      { name: 'pve3', profile: 'pve9-intel-grub-lvm', declare: { devices: [{ address: '0000:01:00.0' }] } },
    ],
    vms: [
      { vmid: 101, node: 'pve1', config: { name: 'a', tags: 'gpu;prod' }, declare: { hostpci: [{ host: '0000:01:00' }] } },
      { vmid: 102, node: 'pve2', config: { name: 'b', tags: 'lab' }, declare: { hostpci: [{ host: '0000:01:00' }] } },
      { vmid: 103, node: 'pve3', config: { name: 'c', tags: 'prod' }, declare: { hostpci: [{ host: '0000:01:00' }] } },
    ],
  }],
};

describe('--tag over the simulated fleet', () => {
  let tf: TestFleet;
  beforeAll(async () => {
    tf = await testFleet(scenario);
  });
  afterAll(async () => {
    await tf.close();
  });

  it('plan: tagged VMs and the nodes hosting them, nothing else', async () => {
    const p = await plan(tf.inventory, { selection: { tags: ['prod'] } });
    expect(p.clusters[0]!.nodes.map((n) => n.node)).toEqual(['pve1', 'pve3']);
    expect(p.clusters[0]!.vms.map((v) => v.vmid).sort()).toEqual([101, 103]);
  });

  it('tags narrow the other selectors (--node, --vm)', async () => {
    const p = await plan(tf.inventory, { selection: { tags: ['prod'], nodes: ['pve3'] } });
    expect(p.clusters[0]!.nodes.map((n) => n.node)).toEqual(['pve3']);
    expect(p.clusters[0]!.vms.map((v) => v.vmid)).toEqual([103]);
    const q = await plan(tf.inventory, { selection: { tags: ['prod'], vms: [101, 102] } });
    expect(q.clusters[0]!.nodes.map((n) => n.node)).toEqual(['pve1']);
    expect(q.clusters[0]!.vms.map((v) => v.vmid)).toEqual([101]);
  });

  it('verify and devices take the same selection; an unknown tag is an error naming the tags in use', async () => {
    const v = await verify(tf.inventory, { selection: { tags: ['lab'] } });
    expect(v.nodes.map((n) => n.node)).toEqual(['pve2']);
    expect(v.vms.map((x) => x.vmid)).toEqual([102]);
    expect((await devices(tf.inventory, { selection: { tags: ['lab'] } })).map((d) => d.node)).toEqual(['pve2']);
    const none = plan(tf.inventory, { selection: { tags: ['nope'] } });
    await expect(none).rejects.toBeInstanceOf(InputError);
    await expect(none).rejects.toMatchObject({ message: expect.stringMatching(/--tag nope matches no VM or node/), context: { fix: expect.stringMatching(/tags in use: .*lab/) } });
  });

  it('selecting before the tags were resolved fails closed', () => {
    const ctx = createContext(tf.inventory, { selection: { tags: ['prod'] } });
    expect(() => selectedNodes(ctx, tf.inventory.clusters[0]!)).toThrow(/not resolved/);
    expect(() => selectedVms(ctx, tf.inventory.clusters[0]!)).toThrow(/not resolved/);
  });

  it('a cluster without an API cannot be selected by tag: input error', async () => {
    const inv = { ...tf.inventory, clusters: tf.inventory.clusters.map((c) => ({ ...c, api: undefined, vms: [] })) };
    await expect(plan(inv, { selection: { tags: ['prod'] } })).rejects.toBeInstanceOf(InputError);
  });
});
