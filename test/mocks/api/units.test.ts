import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  applyPending, cleanupPending, configDigest, emptyConfigFile, mergedView, pendingItems, renderConfigFile, type VmConfigFile,
} from '../../../mocks/api/config-file.js';
import { parseJsonBody, parseUrlEncoded } from '../../../mocks/api/params.js';
import { parsePropertyString } from '../../../mocks/api/propstring.js';
import { redactParams } from '../../../mocks/api/redact.js';
import { HOSTPCI_FORMAT, HOSTPCI_HOST, isQ35 } from '../../../mocks/api/rules.js';
import { parseUpid } from '../../../mocks/api/tasks.js';
import { totpCode, verifyTotp } from '../../../mocks/api/totp.js';

const fixture = (name: string): string => readFileSync(fileURLToPath(new URL(`./fixtures/qemu-config/${name}`, import.meta.url)), 'utf8');

function file(current: Record<string, string>, pending: Record<string, string> = {}, del: Record<string, boolean> = {}): VmConfigFile {
  const f = emptyConfigFile();
  for (const [k, v] of Object.entries(current)) f.current.set(k, v);
  for (const [k, v] of Object.entries(pending)) f.pending.set(k, v);
  for (const [k, v] of Object.entries(del)) f.pendingDelete.set(k, v);
  return f;
}

describe('config file rendering', () => {
  it('writes keys sorted like qemu-server, whatever the insertion order', () => {
    const f = file({
      vga: 'none', name: 'gpu-vm', scsihw: 'virtio-scsi-single', memory: '8192', machine: 'q35', cores: '4', ostype: 'l26',
      boot: 'order=scsi0;net0', hostpci0: '0000:01:00,pcie=1,x-vga=1', net0: 'virtio=BC:24:11:5A:3E:01,bridge=vmbr0',
      scsi0: 'local-lvm:vm-101-disk-0,iothread=1,size=64G',
    });
    expect(renderConfigFile(f)).toBe(fixture('plain.conf'));
  });

  it('puts the description on top as comments and pending changes in [PENDING] with a delete line', () => {
    const f = file(
      { ostype: 'win11', name: 'busy', machine: 'pc-i440fx-8.1', description: 'GPU workstation\nowner: lab team', cores: '4', hostpci1: '0000:02:00.0', vga: 'std' },
      { machine: 'pc-q35-8.1', hostpci0: 'mapping=gpu-a,pcie=1' },
      { vga: false, hostpci1: true },
    );
    expect(renderConfigFile(f)).toBe(fixture('pending.conf'));
  });

  it('has a digest that covers the pending section', () => {
    const a = file({ cores: '4' });
    const b = file({ cores: '4' }, { machine: 'q35' });
    expect(configDigest(a)).toMatch(/^[0-9a-f]{40}$/);
    expect(configDigest(a)).not.toBe(configDigest(b));
    expect(configDigest(a)).toBe(configDigest(file({ cores: '4' })));
  });

  it('merges pending for reads, lists pending items, cleans up no-op pending and applies it', () => {
    const f = file({ machine: 'pc', vga: 'std', cores: '2' }, { machine: 'q35', cores: '2' }, { vga: false, ghost: false });
    cleanupPending(f);
    expect([...f.pending.keys()]).toEqual(['machine']);
    expect([...f.pendingDelete.keys()]).toEqual(['vga']);
    expect(mergedView(f)).toEqual({ cores: '2', machine: 'q35' });
    expect(pendingItems(f)).toEqual([
      { key: 'cores', value: '2' },
      { key: 'machine', value: 'pc', pending: 'q35' },
      { key: 'vga', value: 'std', delete: 1 },
    ]);
    applyPending(f);
    expect(renderConfigFile(f)).toBe('cores: 2\nmachine: q35\n');
  });
});

describe('hostpci host pattern (qemu-server $PCIRE)', () => {
  it.each(['01:00.0', '01:00', '0000:01:00.0', '0000:01:00', '0001:c1:00.7', '00000:01:00.1', '0000:01:00.0;0000:01:00.1', '02:00.f'])(
    'accepts %s', (v) => expect(HOSTPCI_HOST.test(v)).toBe(true));
  it.each(['0000:0A:00.0', '1:00.0', '01:00.0;', '01:00.10', 'gpu-a', '0000:01:00.0,0000:01:00.1', ''])(
    'rejects %s', (v) => expect(HOSTPCI_HOST.test(v)).toBe(false));
});

describe('property strings', () => {
  it('reads the default key, normalises booleans and keeps values verbatim otherwise', () => {
    expect(parsePropertyString(HOSTPCI_FORMAT, '0000:01:00,pcie=on,x-vga=yes,rombar=0,romfile=vbios.rom')).toEqual({
      value: { host: '0000:01:00', pcie: '1', 'x-vga': '1', rombar: '0', romfile: 'vbios.rom' },
    });
  });

  it.each([
    ['0000:01:00.0,0000:02:00.0', 'duplicate key in comma-separated list property: host\n'],
    ['pcie=1,pcie=0', 'duplicate key in comma-separated list property: pcie\n'],
    ['0000:01:00.0,foo=bar', 'invalid key in comma-separated list property: foo\n'],
    ['=1', 'missing key in comma-separated list property\n'],
    ['mapping=gpu-a,vendor-id=10de', 'format error\nvendor-id: value does not match the regex pattern\n'],
    ['mapping=gpu-a,driver=nvidia', "format error\ndriver: value 'nvidia' does not have a value in the enumeration 'vfio, keep'\n"],
  ])('%s → error', (input, message) => {
    expect(parsePropertyString(HOSTPCI_FORMAT, input).error).toBe(message);
  });
});

describe('request parameters', () => {
  it('splits on & and ;, decodes +, %XX and keeps repeated fields as arrays', () => {
    expect(parseUrlEncoded('a=1;b=x+y&map=n%3D1&map=n%3D2&c=%3B&flag')).toEqual({ a: '1', b: 'x y', map: ['n=1', 'n=2'], c: ';', flag: '' });
  });

  it('turns JSON booleans into 1/0 and numbers into strings', () => {
    expect(parseJsonBody('{"onboot":true,"acpi":false,"cores":4,"map":["a","b"],"x":null}')).toEqual({ onboot: '1', acpi: '0', cores: '4', map: ['a', 'b'] });
    expect(() => parseJsonBody('[1]')).toThrow();
  });

  it('redacts secrets for the request log', () => {
    expect(redactParams({ username: 'root@pam', password: 'x', 'tfa-challenge': 't', cipassword: 'p', cores: '2' })).toEqual({
      username: 'root@pam', password: '<redacted>', 'tfa-challenge': '<redacted>', cipassword: '<redacted>', cores: '2',
    });
  });
});

describe('UPID', () => {
  it('parses node, type, id and a token user', () => {
    expect(parseUpid('UPID:pve1:0004A1B2:01C3D4E5:66F0A1B2:qmconfig:101:svc@pve!deploy:')).toEqual({
      node: 'pve1', pid: 0x4a1b2, pstart: 0x1c3d4e5, starttime: 0x66f0a1b2, type: 'qmconfig', id: '101', authid: 'svc@pve!deploy',
    });
    expect(parseUpid('UPID:pve1:0004A1B2:01C3D4E5:66F0A1B2:vzdump::root@pam:')?.id).toBe('');
    expect(parseUpid('UPID:pve1:0004A1B2:01C3D4E5:66F0A1B2:qmconfig:101:root@pam')).toBeUndefined();
  });
});

describe('TOTP', () => {
  it('matches the RFC 6238 SHA-1 test vector (59 s → 94287082)', () => {
    expect(totpCode('GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ', 59_000)).toBe('287082');
    expect(verifyTotp('GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ', '287082', 59_000 + 30_000)).toBe(true);
    expect(verifyTotp('GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ', '287082', 59_000 + 90_000)).toBe(false);
  });
});

describe('machine types', () => {
  it('treats a type containing q35 as q35 and unset as i440fx', () => {
    expect(isQ35('pc-q35-9.2+pve1,viommu=virtio')).toBe(true);
    expect(isQ35('type=q35')).toBe(true);
    expect(isQ35(undefined)).toBe(false);
    expect(isQ35('pc-i440fx-8.1')).toBe(false);
  });
});
