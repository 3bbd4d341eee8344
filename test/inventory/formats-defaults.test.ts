// JSON with comments, YAML, and cluster-level defaults with node values winning.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/errors.js';
import { parseInventoryText } from '../../src/inventory/load.js';
import { loadFixture, problemsOf } from './fixture.js';

const load = loadFixture;

describe('inventory syntaxes', () => {
  it('JSON with // and block comments loads like the plain file', () => {
    expect(load('good-comments.json')).toEqual(load('good-host-only.json'));
  });

  it('YAML loads to the same inventory, PCI addresses staying strings', () => {
    const inv = load('good-host-only.yaml');
    expect(inv).toEqual(load('good-host-only.json'));
  });

  it('a YAML syntax error names line and column, without quoting the file', () => {
    const e = problemsOf('bad-yaml-syntax.yaml');
    // The flow map opened on line 4 is unterminated; the parser reports it where line 5 starts.
    expect(e.message).toMatch(/bad-yaml-syntax\.yaml:5:5: not valid YAML \(Flow map .* end with a }\)/);
    expect(e.message).not.toContain('hunter2');
  });

  it('a duplicate YAML key is an error, not a silent override', () => {
    expect(problemsOf('bad-yaml-duplicate-key.yaml').message).toMatch(/:\d+:\d+: not valid YAML .*unique/i);
  });

  it('a trailing comma in JSON is still a syntax error with its line', () => {
    expect(problemsOf('bad-json-syntax.json').message).toMatch(/bad-json-syntax\.json:3:\d+: not valid JSON/);
  });

  it('YAML validation problems carry the same paths as JSON', () => {
    expect(problemsOf('bad-pci-address.yaml').problems.join('\n')).toMatch(/clusters\[0\]\.nodes\[0\]\.devices\[0\]\.address: expected a full PCI address/);
  });
});

describe('cluster defaults', () => {
  it('fill what a node leaves out; a node value wins', () => {
    const [a, b] = load('good-defaults.json').clusters[0]!.nodes;
    expect(a!.ssh).toMatchObject({ host: '10.0.0.11', user: 'admin', sudo: true, connectTimeoutSeconds: 5 });
    expect(a!.ssh.identityFile).toMatch(/\/\.ssh\/id_fleet$/);
    expect(a!.ssh.hostKey).toEqual({ knownHosts: expect.stringMatching(/\/fleet_known_hosts$/) });
    expect(a!.kernelParams).toEqual(['initcall_blacklist=sysfb_init']);
    expect(a!.iommuPassthrough).toBe(true);
    expect(a!.devices[0]!.softdep).toEqual(['nouveau', 'snd_hda_intel']);

    expect(b!.ssh).toMatchObject({ host: '10.0.0.12', user: 'root', sudo: false, hostKey: { fingerprint: 'SHA256:q4x7nZ0cJtV4m7k3mJ2a9cR6n0yQm0oTg3rF0lq1qCE' } });
    expect(b!.kernelParams).toEqual([]);
    expect(b!.iommuPassthrough).toBe(false);
    expect(b!.devices[0]!.softdep).toEqual(['amdgpu']);
  });

  it('a bad default is reported once, at its own path', () => {
    const e = problemsOf('bad-defaults.json');
    expect(e.problems.some((p) => p.startsWith('clusters[0].defaults.ssh.user:'))).toBe(true);
    expect(e.problems.some((p) => p.includes('nodes['))).toBe(false);
  });

  it('"host" cannot be a default (it names the node)', () => {
    expect(problemsOf('bad-defaults-host.json').problems.join('\n')).toMatch(/clusters\[0\]\.defaults\.ssh: unknown key "host"/);
  });
});

describe('JSON syntax errors', () => {
  it.each([
    ['{ "version": 1, }', 1, 'trailing comma'],
    ['{\n  "version": 1\n  "clusters": []\n}', 3, 'comma expected'],
    ['{ "version": 1, /* unterminated', 1, 'unexpected end of comment'],
  ])('%j: line %i, %s', (text, line, words) => {
    expect(() => parseInventoryText(text, '/tmp/x.json')).toThrow(new RegExp(`x\\.json:${line}:\\d+: not valid JSON \\(${words}\\)`));
  });
});
