// `hostname` output -> the PVE node name (its first label), one fixture per case (test/fixtures/facts/hostname/).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseHostname } from '../../../src/facts/host/hostname.js';

const fixture = (name: string): string => readFileSync(join(import.meta.dirname, '../../fixtures/facts/hostname', name), 'utf8');

describe('parseHostname', () => {
  it('a short name is the node name; an FQDN gives its first label, as PVE::INotify::nodename does', () => {
    expect(parseHostname(fixture('short.txt'))).toEqual({ hostname: 'pve1', nodeName: 'pve1' });
    expect(parseHostname(fixture('fqdn.txt'))).toEqual({ hostname: 'pve1.lab.example.com', nodeName: 'pve1' });
  });

  it.each(['empty.txt', 'two-lines.txt', 'escape.txt', 'leading-dash.txt'])('%s gives no node name, and says why', (name) => {
    const r = parseHostname(fixture(name));
    expect(r).toHaveProperty('problem');
    expect(r).not.toHaveProperty('nodeName');
  });
});
