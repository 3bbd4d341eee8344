/**
 * Hostile command output from a host (binary junk, huge lines, lines that
 * look like other sections, output cut short): facts either parse exactly as
 * the clean output would, or the node fails safe with one clear error, and no
 * write is ever planned from garbage.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PassthroughError } from '../../src/errors.js';
import { gatherHostFacts } from '../../src/facts/host/gather.js';
import { validateInventory } from '../../src/inventory/load.js';
import { planHost } from '../../src/operations/host/plan-host.js';
import type { Script } from '../../src/transport/shell.js';
import type { RemoteHost } from '../../src/transport/types.js';

const DIR = join(import.meta.dirname, '../fixtures/hostile/facts-output');
const CLEAN = readFileSync(join(import.meta.dirname, '../fixtures/facts/batch/pve9-intel-grub-lvm.txt'), 'utf8');
const FIXTURE_NONCE = '5ad0c3e1f2b49788';
const NONCE = 'c0ffee00c0ffee00';

const NODE = validateInventory({
  version: 1,
  clusters: [{ name: 'c', nodes: [{ name: 'pve-node1', ssh: { host: '192.168.10.21', hostKey: { fingerprint: `SHA256:${'A'.repeat(43)}` } }, devices: [{ address: '0000:01:00.0' }], iommuPassthrough: true }] }],
}, '/tmp/inventory.json').clusters[0]!.nodes[0]!;

function hostReplying(stdout: string): RemoteHost {
  return { node: 'pve-node1', connectionsOpened: 1, exec: async (_s: Script) => ({ code: 0, stdout: stdout.replaceAll(FIXTURE_NONCE, NONCE), stderr: '' }), close: async () => undefined };
}
const gather = (stdout: string) => gatherHostFacts(hostReplying(stdout), { nonce: NONCE, connectedAddress: '192.168.10.21' });

interface Expect { result: 'facts' | 'frozen' | 'error'; message?: string }
const cases = readdirSync(DIR).filter((f) => f.endsWith('.txt')).map((f) => ({
  name: f.replace(/\.txt$/, ''),
  input: readFileSync(join(DIR, f), 'utf8'),
  expected: JSON.parse(readFileSync(join(DIR, f.replace(/\.txt$/, '.json')), 'utf8')) as Expect,
}));

describe('hostile facts output', () => {
  it('has fixtures for each kind', () => {
    expect(cases.map((c) => c.expected.result).sort()).toEqual(expect.arrayContaining(['error', 'facts', 'frozen']));
  });

  it.each(cases)('$name', async ({ input, expected }) => {
    if (expected.result === 'error') {
      const err = await gather(input).then(() => null, (e: unknown) => e);
      expect(err).toBeInstanceOf(PassthroughError);
      expect((err as PassthroughError).message).toBe(expected.message);
      expect((err as PassthroughError).context.node).toBe('pve-node1');
      return;
    }
    const facts = await gather(input);
    const plan = planHost(NODE, facts);
    if (expected.result === 'facts') {
      const clean = await gather(CLEAN);
      expect(facts.pci).toEqual(clean.pci);
      expect(facts.parseErrors).toEqual(clean.parseErrors);
      expect(plan.steps).toEqual(planHost(NODE, clean).steps);
      expect(JSON.stringify(plan)).not.toMatch(/dead:beef|pwned|EVIL/);
    } else {
      expect(plan.steps).toEqual([]);
      expect(plan.refused.length).toBeGreaterThan(0);
      expect(plan.refused.map((r) => r.reason).join('\n')).toMatch(/nothing is written|not found|could not be read/);
    }
  });

  it('a 4 MB single line in a section parses without a crash and is refused or ignored, never written', async () => {
    const huge = `[    9.999999] ${'A'.repeat(4 * 1024 * 1024)}\u0000\ufffd`;
    const input = CLEAN.replace(`@@${FIXTURE_NONCE} dmesg\n`, `@@${FIXTURE_NONCE} dmesg\n${huge}\n`);
    const facts = await gather(input);
    const plan = planHost(NODE, facts);
    const clean = planHost(NODE, await gather(CLEAN));
    if (plan.steps.length === 0) {
      // Refused as a whole: the node is not trusted, and the reason says so.
      expect(plan.refused.map((r) => r.reason).join('\n')).toMatch(/facts could not be read cleanly/);
      expect(facts.parseErrors.join('\n').length).toBeLessThan(2000);
    } else expect(plan.steps).toEqual(clean.steps);
    for (const s of plan.steps) if (s.kind === 'write-file') expect(s.after).not.toContain('AAAAAAAA');
  });

  it('stdout that is junk from the first byte is one clear error', async () => {
    const err = await gather('\u0000\u0001\u0002 not a facts reply \ufffd\n'.repeat(1000)).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(PassthroughError);
    expect((err as Error).message).toMatch(/^the facts script produced no output \(exit 0\)/);
  });
});
