/**
 * Removal and hand edits of the files the tool owns: every owned file carries
 * a seal line; a plan that would overwrite or remove a file whose seal no
 * longer matches says it was edited by hand.
 */
import { describe, expect, it } from 'vitest';
import type { HostFacts } from '../../../src/facts/host/types.js';
import { SEAL_PREFIX, sealContent, unseal } from '../../../src/operations/host/owned-seal.js';
import { planHost } from '../../../src/operations/host/plan-host.js';
import { verifyHost } from '../../../src/operations/host/verify-host.js';
import { applyStepsToFacts } from './apply-steps.js';
import { makeNode, pve9AmdSdboot, pve9IntelGrub, withFiles } from './facts-factory.js';

const MODPROBE = '/etc/modprobe.d/pve-passthrough.conf';
const DROPIN = '/etc/default/grub.d/pve-passthrough.cfg';
const gpu = { address: '0000:01:00.0' };
const node = makeNode({ devices: [gpu], kernelParams: ['initcall_blacklist=sysfb_init'] });

function configured(base: HostFacts = pve9IntelGrub()): HostFacts {
  return applyStepsToFacts(base, planHost(node, base).steps, { reboot: true });
}

describe('seal lines', () => {
  it('round trip: a sealed text unseals to itself, intact', () => {
    const body = '# Managed by pve-passthrough. Changes here are overwritten.\nsoftdep nouveau pre: vfio-pci\n';
    const sealed = sealContent(body);
    expect(sealed.startsWith(body)).toBe(true);
    expect(sealed.slice(body.length)).toMatch(new RegExp(`^${SEAL_PREFIX}[0-9a-f]{64}\\n$`));
    expect(unseal(sealed)).toEqual({ body, state: 'intact' });
  });
  it('changed line, appended line, second seal, no seal', () => {
    const sealed = sealContent('a\nb\n');
    expect(unseal(sealed.replace('b', 'c')).state).toBe('edited');
    expect(unseal(`${sealed}extra\n`)).toEqual({ body: 'a\nb\nextra\n', state: 'edited' });
    expect(unseal(`${sealed}${sealed.split('\n')[2]}\n`).state).toBe('edited');
    expect(unseal('a\nb\n')).toEqual({ body: 'a\nb\n', state: 'unsealed' });
  });
});

describe('planHost and the seal', () => {
  it('every owned file it writes is sealed; nothing else is', () => {
    const steps = planHost(node, pve9IntelGrub()).steps;
    // The loop below proves nothing over no writes: the plan writes both owned files.
    const written = steps.flatMap((s) => (s.kind === 'write-file' ? [s.path] : []));
    expect(written).toEqual(expect.arrayContaining([MODPROBE, DROPIN]));
    for (const s of steps) {
      if (s.kind !== 'write-file') continue;
      const owned = s.path.includes('pve-passthrough');
      expect(s.after.includes(SEAL_PREFIX), s.path).toBe(owned);
      if (owned) expect(unseal(s.after).state).toBe('intact');
    }
  });

  it('a sealed, untouched configuration plans nothing and warns of nothing', () => {
    const r = planHost(node, configured());
    expect(r.steps).toEqual([]);
    expect(r.warnings.filter((w) => w.subject.startsWith('file '))).toEqual([]);
  });

  it('a hand edit is overwritten with a warning, and verify names the file', () => {
    const c = configured();
    const edited = withFiles(c, { [MODPROBE]: c.files[MODPROBE]!.content!.replace('softdep nouveau', 'softdep nvidia') });
    const r = planHost(node, edited);
    const step = r.steps.find((s) => s.kind === 'write-file' && s.path === MODPROBE);
    expect(step?.kind === 'write-file' && step.before).toContain('softdep nvidia');
    expect(step?.kind === 'write-file' && unseal(step.after).state).toBe('intact');
    expect(r.warnings).toContainEqual({ subject: `file ${MODPROBE}`, message: expect.stringMatching(/^edited by hand since pve-passthrough wrote it; this run replaces it/) });
    const check = verifyHost(node, edited).find((x) => x.id === 'config-applied');
    expect(check).toMatchObject({ status: 'fail', message: expect.stringContaining(`edited by hand since pve-passthrough wrote it: ${MODPROBE}`) });
  });

  it('a comment added by hand is an edit too (the seal covers every byte)', () => {
    const c = configured();
    const edited = withFiles(c, { [DROPIN]: `${c.files[DROPIN]!.content!}# my note\n` });
    const r = planHost(node, edited);
    expect(r.warnings.map((w) => w.subject)).toContain(`file ${DROPIN}`);
    expect(r.steps.some((s) => s.kind === 'write-file' && s.path === DROPIN)).toBe(true);
  });

  it('removal: an edited owned file is removed with the warning; /etc/kernel/cmdline loses exactly the tokens the tool added', () => {
    const base = pve9AmdSdboot();
    const sdNode = makeNode({ name: 'pve2', devices: [gpu], kernelParams: ['initcall_blacklist=sysfb_init'] });
    const c = applyStepsToFacts(base, planHost(sdNode, base).steps, { reboot: true });
    const edited = withFiles(c, { [MODPROBE]: `${c.files[MODPROBE]!.content!}options snd_hda_intel power_save=0\n` });
    const r = planHost(makeNode({ name: 'pve2' }), edited);
    expect(r.steps.find((s) => s.kind === 'remove-file' && s.path === MODPROBE)).toMatchObject({ before: edited.files[MODPROBE]!.content });
    expect(r.warnings).toContainEqual({ subject: `file ${MODPROBE}`, message: expect.stringMatching(/^edited by hand since pve-passthrough wrote it; this run removes it/) });
    const cmdline = r.steps.find((s) => s.kind === 'write-file' && s.path === '/etc/kernel/cmdline');
    expect(cmdline?.kind === 'write-file' && cmdline.after).toBe(base.files['/etc/kernel/cmdline']!.content);
  });

  it('an owned file without a seal whose text is what the tool renders is left alone', () => {
    const c = configured();
    const unsealedFiles = Object.fromEntries(Object.entries(c.files).filter(([p, f]) => p.includes('pve-passthrough') && f.content !== null).map(([p, f]) => [p, unseal(f.content!).body]));
    expect(Object.keys(unsealedFiles).length).toBeGreaterThan(0);
    const r = planHost(node, withFiles(c, unsealedFiles));
    expect(r.steps).toEqual([]);
  });
});
