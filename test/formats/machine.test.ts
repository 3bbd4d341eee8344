import { describe, expect, it } from 'vitest';
import { i440fxToQ35, isQ35, machineEqual, machineKind, parseMachine, serialiseMachine, type Machine } from '../../src/formats/machine.js';
import { FormatError } from '../../src/formats/errors.js';
import { checkRequest, endpoints, schemaRegExp } from '../helpers/pve-schema.js';
import { hostile, lines, rng } from './fixtures.js';

const typeSchema = (() => {
  const ep = endpoints.find((e) => e.method === 'POST' && e.path === '/nodes/{node}/qemu/{vmid}/config');
  const fmt = ep?.parameters.machine?.format as Record<string, { pattern: string; maxLength: number }>;
  return fmt.type as { pattern: string; maxLength: number };
})();

describe('machine', () => {
  it('parses realistic and edge values and round-trips them', () => {
    for (const value of [...lines('machine', 'realistic.txt'), ...lines('machine', 'edge.txt')]) {
      const m = parseMachine(value);
      expect(parseMachine(serialiseMachine(m)), value).toEqual(m);
    }
    expect(parseMachine('q35,viommu=intel,aw-bits=48')).toEqual({ type: 'q35', viommu: 'intel', 'aw-bits': 48 });
    expect(parseMachine('viommu=virtio')).toEqual({ viommu: 'virtio' });
    expect(parseMachine('pc-q35-10.0+pve1,enable-s3=1,enable-s4=0')).toEqual({ type: 'pc-q35-10.0+pve1', 'enable-s3': true, 'enable-s4': false });
  });

  it('rejects hostile values and names the bad part', () => {
    for (const [value, fragment] of hostile('machine')) {
      expect(() => parseMachine(value), value).toThrow(FormatError);
      expect(() => parseMachine(value), value).toThrow(fragment);
    }
  });

  it('tells q35 from i440fx from virt (unset = pc)', () => {
    expect(isQ35('q35')).toBe(true);
    expect(isQ35('pc-q35-9.2+pve1')).toBe(true);
    expect(isQ35('pc-i440fx-8.1')).toBe(false);
    expect(isQ35(undefined)).toBe(false);
    expect(isQ35('viommu=virtio')).toBe(false);
    expect(machineKind('virt-9.2')).toBe('virt');
    expect(machineKind('pc')).toBe('i440fx');
  });

  it.each([
    ['pc', 'q35'],
    ['pc-i440fx-8.1', 'pc-q35-8.1'],
    ['pc-i440fx-9.2+pve1', 'pc-q35-9.2+pve1'],
    ['pc-5.1', 'pc-q35-5.1'],
    ['pc-i440fx-6.0.pxe', 'pc-q35-6.0.pxe'],
    ['q35', 'q35'],
    ['pc-q35-8.1', 'pc-q35-8.1'],
  ])('i440fxToQ35(%s) = %s, keeping the pin', (from, to) => {
    expect(i440fxToQ35(from)).toBe(to);
  });

  it('has no q35 for ARM or junk', () => {
    expect(() => i440fxToQ35('virt')).toThrow(/ARM/);
    expect(() => i440fxToQ35('pc;reboot')).toThrow(FormatError);
  });

  it('compares by value', () => {
    expect(machineEqual(undefined, 'pc')).toBe(true);
    expect(machineEqual('q35,enable-s3=on', 'type=q35,enable-s3=1')).toBe(true);
    expect(machineEqual('q35', 'q35,viommu=virtio')).toBe(false);
    expect(machineEqual('pc-q35-8.1', 'q35')).toBe(false);
  });

  it('property test: random machines serialise to schema-valid values and round-trip', () => {
    const r = rng(42);
    const typeRe = schemaRegExp(typeSchema.pattern);
    for (let i = 0; i < 1000; i++) {
      const ver = `${r.int(12)}.${r.int(3)}${r.bool() ? `.${r.int(3)}` : ''}`;
      const pve = r.bool() ? `+pve${r.int(3)}` : '';
      const pxe = r.int(4) === 0 ? '.pxe' : '';
      const type = r.pick(['pc', 'q35', `pc-i440fx-${ver}${pve}${pxe}`, `pc-${ver}${pve}${pxe}`, `pc-q35-${ver}${pve}${pxe}`, `virt-${ver}${pve}`]);
      const m: Record<string, unknown> = { type };
      if (r.bool()) m.viommu = r.pick(['intel', 'virtio']);
      if (m.viommu && r.bool()) m['aw-bits'] = 32 + r.int(33);
      if (r.bool()) m['enable-s3'] = r.bool();
      if (r.bool()) m['enable-s4'] = r.bool();
      const text = serialiseMachine(m as Machine);
      expect(typeRe.test(type) && type.length <= typeSchema.maxLength, type).toBe(true);
      expect(parseMachine(text)).toEqual(m);
      expect(checkRequest('POST', '/nodes/pve1/qemu/101/config', { machine: text })).toEqual([]);
      if (machineKind(type) === 'i440fx') {
        const q = i440fxToQ35(type);
        expect(typeRe.test(q), q).toBe(true);
        expect(isQ35(q)).toBe(true);
      }
    }
  });
});
