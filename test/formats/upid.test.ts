import { describe, expect, it } from 'vitest';
import { isUpid, parseUpid } from '../../src/formats/upid.js';
import { FormatError } from '../../src/formats/errors.js';
import { lines } from './fixtures.js';

describe('UPID', () => {
  it('reads the node from field 2 and the other fields', () => {
    expect(parseUpid('UPID:pve1:0004A1B2:01C3D4E5:66F0A1B2:qmconfig:101:svc@pve!deploy:')).toEqual({
      node: 'pve1', pid: 0x4a1b2, pstart: 0x1c3d4e5, starttime: 0x66f0a1b2, type: 'qmconfig', id: '101', user: 'svc@pve!deploy',
      text: 'UPID:pve1:0004A1B2:01C3D4E5:66F0A1B2:qmconfig:101:svc@pve!deploy:',
    });
    expect(parseUpid('UPID:pve1:0004A1B2:01C3D4E5:66F0A1B2:vzdump::root@pam:').id).toBe('');
  });
  it('parses every realistic UPID', () => {
    for (const u of lines('upid', 'realistic.txt')) expect(isUpid(u), u).toBe(true);
  });
  it('rejects hostile or truncated UPIDs', () => {
    for (const u of lines('upid', 'hostile.txt')) {
      expect(isUpid(u), u).toBe(false);
      expect(() => parseUpid(u), u).toThrow(FormatError);
    }
    expect(isUpid(null)).toBe(false);
  });
});
