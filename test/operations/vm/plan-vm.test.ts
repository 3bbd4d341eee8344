import { describe, expect, it } from 'vitest';
import { planVm } from '../../../src/operations/vm/plan-vm.js';
import { ROOT_RULE_MESSAGE } from '../../../src/operations/vm/root-rule.js';
import type { VmCurrent, VmPlanContext } from '../../../src/operations/vm/types.js';
import { applied, ctx, current, vm } from './helpers.js';

interface Case {
  name: string;
  desired: Record<string, unknown>;
  config: Record<string, string>;
  cur?: Partial<VmCurrent>;
  ctx?: Partial<VmPlanContext>;
  set?: Record<string, string>;
  delete?: string[];
  power?: 'none' | 'pending' | 'restart';
  refused?: RegExp;
  warning?: RegExp;
}

const cases: Case[] = [
  {
    name: 'adds a mapped GPU to an empty VM and moves it to q35',
    desired: { hostpci: [{ mapping: 'gpu-a', pcie: true, 'x-vga': true }] },
    config: {},
    set: { hostpci0: 'mapping=gpu-a,pcie=1,x-vga=1', machine: 'q35' },
    warning: /chipset change/,
  },
  {
    name: 'keeps the Windows version pin when moving i440fx to q35',
    desired: { hostpci: [{ mapping: 'gpu-a', pcie: true }] },
    config: { machine: 'pc-i440fx-8.1', ostype: 'win11' },
    set: { hostpci0: 'mapping=gpu-a,pcie=1', machine: 'pc-q35-8.1' },
  },
  {
    name: 'leaves the machine alone without pcie and without a declared machine',
    desired: { hostpci: [{ host: '0000:02:00.0' }] },
    config: { machine: 'pc-i440fx-9.2+pve1' },
    set: { hostpci0: '0000:02:00.0' },
  },
  {
    name: 'sets a declared machine, keeping options it does not manage',
    desired: { machine: 'q35' },
    config: { machine: 'pc,enable-s3=1' },
    set: { machine: 'q35,enable-s3=1' },
  },
  {
    name: 'an equal entry written differently is no change',
    desired: { hostpci: [{ host: '0000:01:00', pcie: true, rombar: true }] },
    config: { hostpci3: '01:00,pcie=on', machine: 'q35' },
  },
  {
    name: 'the same device with new options is updated in place',
    desired: { hostpci: [{ mapping: 'gpu-a', pcie: true, 'x-vga': true }] },
    config: { hostpci2: 'mapping=gpu-a,pcie=1', machine: 'q35' },
    set: { hostpci2: 'mapping=gpu-a,pcie=1,x-vga=1' },
  },
  {
    name: 'new entries take free indexes; undeclared ones stay without manageAllHostpci',
    desired: { hostpci: [{ host: '0000:05:00.0' }, { host: '0000:06:00.0' }] },
    config: { hostpci0: '0000:07:00.0', hostpci2: '0000:08:00.0' },
    set: { hostpci1: '0000:05:00.0', hostpci3: '0000:06:00.0' },
  },
  {
    name: 'manageAllHostpci removes undeclared entries, reusing a freed index instead of delete+set',
    desired: { manageAllHostpci: true, hostpci: [{ host: '0000:05:00.0' }] },
    config: { hostpci0: '0000:07:00.0', hostpci1: '0000:08:00.0' },
    set: { hostpci0: '0000:05:00.0' },
    delete: ['hostpci1'],
  },
  {
    name: 'refuses a device another VM on the node already has',
    desired: { hostpci: [{ host: '0000:01:00' }] },
    config: {},
    ctx: { otherAssignments: [{ vmid: 205, node: 'pve1', key: 'hostpci0', value: 'mapping=gpu-a' }] },
    refused: /already assigned to VM 205/,
  },
  {
    name: 'the same address on another node is not a conflict',
    desired: { hostpci: [{ host: '0000:01:00.0' }] },
    config: {},
    ctx: { otherAssignments: [{ vmid: 205, node: 'pve2', key: 'hostpci0', value: '0000:01:00.0' }] },
    set: { hostpci0: '0000:01:00.0' },
  },
  {
    name: 'refuses raw host= with only a token',
    desired: { hostpci: [{ host: '0000:01:00.0' }] },
    config: {},
    ctx: { authKind: 'token' },
    refused: /only be written by root@pam/,
  },
  {
    name: 'refuses replacing a raw entry with a token too (PVE checks the old value)',
    desired: { manageAllHostpci: true, hostpci: [{ mapping: 'gpu-a' }] },
    config: { hostpci0: '0000:09:00.0' },
    ctx: { authKind: 'token' },
    refused: /root@pam/,
  },
  {
    name: 'a token with a rootTicket may write raw entries',
    desired: { hostpci: [{ host: '0000:01:00.0' }] },
    config: {},
    ctx: { authKind: 'token', hasRootTicket: true },
    set: { hostpci0: '0000:01:00.0' },
  },
  {
    name: 'a token may write mapped entries',
    desired: { hostpci: [{ mapping: 'gpu-a' }] },
    config: {},
    ctx: { authKind: 'token' },
    set: { hostpci0: 'mapping=gpu-a' },
  },
  {
    name: 'refuses when no index is free',
    desired: { hostpci: [{ host: '0000:f0:00.0' }] },
    config: Object.fromEntries(Array.from({ length: 16 }, (_, i) => [`hostpci${i}`, `0000:${(16 + i).toString(16)}:00.0`])),
    refused: /at most 16/,
  },
  {
    name: 'refuses pcie with a declared i440fx machine',
    desired: { machine: 'pc-i440fx-8.1', hostpci: [{ mapping: 'gpu-a', pcie: true }] },
    config: {},
    refused: /needs a q35 machine/,
  },
  {
    name: 'refuses an unknown mapping',
    desired: { hostpci: [{ mapping: 'nope' }] },
    config: {},
    refused: /mapping "nope" is neither declared/,
  },
  {
    name: 'refuses a second entry for a declared device',
    desired: { hostpci: [{ host: '0000:01:00' }] },
    config: { hostpci0: '0000:01:00', hostpci1: '0000:01:00.1' },
    refused: /assigned more than once/,
  },
  {
    name: 'warns about x-vga without OVMF, never changing the bios',
    desired: { hostpci: [{ host: '0000:01:00.0', 'x-vga': true }] },
    config: { bios: 'seabios' },
    set: { hostpci0: '0000:01:00.0,x-vga=1' },
    warning: /OVMF/,
  },
  {
    name: 'warns that ballooning stops when balloon is not 0',
    desired: { hostpci: [{ host: '0000:01:00.0' }] },
    config: { balloon: '2048' },
    set: { hostpci0: '0000:01:00.0' },
    warning: /ballooning/,
  },
  {
    name: 'a running VM with whenRunning pending: the change is reported as pending',
    desired: { hostpci: [{ mapping: 'gpu-a' }] },
    config: {},
    cur: { status: 'running' },
    set: { hostpci0: 'mapping=gpu-a' },
    power: 'pending',
    warning: /stay pending/,
  },
  {
    name: 'a running VM with whenRunning restart: shutdown, apply, start',
    desired: { hostpci: [{ mapping: 'gpu-a' }], whenRunning: 'restart' },
    config: {},
    cur: { status: 'running' },
    set: { hostpci0: 'mapping=gpu-a' },
    power: 'restart',
  },
  {
    name: 'a running VM whose change is already written but pending still needs the restart',
    desired: { hostpci: [{ mapping: 'gpu-a' }], whenRunning: 'restart' },
    config: { hostpci0: 'mapping=gpu-a' },
    cur: { status: 'running', pending: [{ key: 'hostpci0', pending: 'mapping=gpu-a' }] },
    power: 'restart',
  },
];

describe('planVm', () => {
  it.each(cases)('$name', (c) => {
    const desired = vm(c.desired);
    const cur = current(c.config, c.cur);
    const plan = planVm(desired, cur, ctx(c.ctx));
    if (c.refused) {
      expect(plan.refused.map((r) => r.reason).join('\n')).toMatch(c.refused);
      expect(plan.set).toEqual({});
      expect(plan.delete).toEqual([]);
      return;
    }
    expect(plan.refused).toEqual([]);
    expect(plan.set).toEqual(c.set ?? {});
    expect(plan.delete).toEqual(c.delete ?? []);
    expect(plan.power).toBe(c.power ?? 'none');
    expect(plan.digest).toBe('d0');
    if (c.warning) expect(plan.warnings.map((w) => w.message).join('\n')).toMatch(c.warning);
    expect(plan.changes.map((ch) => ch.key).sort()).toEqual([...Object.keys(plan.set), ...plan.delete].sort());
    // Idempotent: planning again on the config after this write changes nothing.
    const again = planVm(desired, { ...cur, config: applied(cur.config, plan) }, ctx(c.ctx));
    expect(again.changes).toEqual([]);
    expect(again.set).toEqual({});
    expect(again.delete).toEqual([]);
  });

  it('records before and after for each change', () => {
    const plan = planVm(vm({ manageAllHostpci: true, hostpci: [{ mapping: 'gpu-a', pcie: true }] }), current({ hostpci0: 'mapping=gpu-a', hostpci4: '0000:09:00.0' }), ctx());
    expect(plan.changes).toEqual([
      { key: 'hostpci0', before: 'mapping=gpu-a', after: 'mapping=gpu-a,pcie=1' },
      { key: 'hostpci4', before: '0000:09:00.0' },
      { key: 'machine', after: 'q35' },
    ]);
  });

  it('refuses with the root rule the API client enforces (one rule, src/operations/vm/root-rule.ts)', () => {
    const p = planVm(vm({ hostpci: [{ host: '0000:01:00.0' }] }), current({}), ctx({ authKind: 'token' }));
    expect(p.refused.map((r) => r.reason)).toEqual([ROOT_RULE_MESSAGE]);
  });

  it('leaves an unreadable entry alone (with a warning) unless manageAllHostpci', () => {
    const cfg = { hostpci0: '0000:01:00.0,frobnicate=1' };
    const keep = planVm(vm({ hostpci: [{ host: '0000:02:00.0' }] }), current(cfg), ctx());
    expect(keep.set).toEqual({ hostpci1: '0000:02:00.0' });
    expect(keep.warnings.map((w) => w.message).join()).toMatch(/cannot read/);
    const drop = planVm(vm({ manageAllHostpci: true, hostpci: [] }), current(cfg), ctx());
    expect(drop.delete).toEqual(['hostpci0']);
  });
});
