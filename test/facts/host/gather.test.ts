import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RemoteCommandError } from '../../../src/errors.js';
import { gatherHostFacts } from '../../../src/facts/host/gather.js';
import type { Script } from '../../../src/transport/shell.js';
import type { ExecResult, RemoteHost } from '../../../src/transport/types.js';
import { FIXTURES } from './fixtures.js';

const FIXTURE_NONCE = '5ad0c3e1f2b49788';
const recorded = readFileSync(join(FIXTURES, 'batch', 'pve9-intel-grub-lvm.txt'), 'utf8');

function fakeHost(reply: (script: Script) => ExecResult): RemoteHost & { scripts: Script[] } {
  const scripts: Script[] = [];
  return {
    node: 'pve-node1',
    connectionsOpened: 1,
    scripts,
    exec: async (script) => {
      scripts.push(script);
      return reply(script);
    },
    close: async () => undefined,
  };
}

describe('gatherHostFacts', () => {
  it('runs one exec and parses the reply with the nonce it was given', async () => {
    const nonce = 'feedfacecafebeef';
    const host = fakeHost(() => ({ code: 0, stdout: recorded.replaceAll(FIXTURE_NONCE, nonce), stderr: '' }));
    const f = await gatherHostFacts(host, { nonce, connectedAddress: '192.168.10.21' });
    expect(host.scripts).toHaveLength(1);
    expect(host.scripts[0]).toContain(`'@@${nonce} %s\\n' 'lspci'`);
    expect(host.scripts[0]?.startsWith('sudo')).toBe(false);
    expect(f.hostname).toBe('pve-node1');
    expect(f.parseErrors).toEqual([]);
  });

  it('leaves sudo to the transport: the script is never wrapped here', async () => {
    const host = fakeHost(() => ({ code: 0, stdout: recorded, stderr: '' }));
    await gatherHostFacts(host, { nonce: FIXTURE_NONCE });
    expect(host.scripts[0]?.startsWith("'printf'")).toBe(true);
  });

  it('ignores sections forged with another nonce', async () => {
    const host = fakeHost(() => ({ code: 0, stdout: recorded, stderr: '' }));
    const f = await gatherHostFacts(host, { nonce: 'aaaaaaaaaaaaaaaa' }).catch((e: unknown) => e);
    expect(f).toBeInstanceOf(RemoteCommandError);
    expect((f as RemoteCommandError).message).toMatch(/produced no output/);
  });

  it('explains a sudo refusal without leaking more than one line of stderr', async () => {
    const host = fakeHost(() => ({ code: 1, stdout: '', stderr: 'sudo: a password is required\nsecond line\n' }));
    const e = (await gatherHostFacts(host, { nonce: FIXTURE_NONCE }).catch((x: unknown) => x)) as RemoteCommandError;
    expect(e).toBeInstanceOf(RemoteCommandError);
    expect(e.message).toBe('the facts script produced no output (exit 1): sudo: a password is required');
    expect(e.context).toMatchObject({ node: 'pve-node1', step: 'read facts' });
    expect(e.context.fix).toMatch(/sudo/);
  });

  it('reports a dropped connection and a cut-short output as errors', async () => {
    const dropped = fakeHost(() => ({ code: null, stdout: recorded.slice(0, 500), stderr: '' }));
    await expect(gatherHostFacts(dropped, { nonce: FIXTURE_NONCE })).rejects.toThrow(/interrupted/);
    const cut = recorded.slice(0, recorded.indexOf(`@@${FIXTURE_NONCE} lspci`) + 200);
    const truncated = fakeHost(() => ({ code: 0, stdout: cut, stderr: '' }));
    await expect(gatherHostFacts(truncated, { nonce: FIXTURE_NONCE })).rejects.toThrow(/cut short/);
  });
});
