/**
 * The boot GPU by choice and the firmware framebuffer (issue 15 items 1, 2):
 * console keep/headless, the token decided from the next kernel and
 * /proc/iomem, a BAR held by BOOTFB as a plan step and a failing verify check,
 * ineffective tokens warned. Token facts: pve-kernel builds
 * CONFIG_SYSFB_SIMPLEFB/CONFIG_DRM_SIMPLEDRM since 5.15, so the framebuffer is
 * BOOTFB (sysfb) and only initcall_blacklist=sysfb_init frees it.
 */
import { describe, expect, it } from 'vitest';
import type { HostFacts } from '../../../src/facts/host/types.js';
import { framebufferToken, SYSFB_TOKEN } from '../../../src/operations/host/framebuffer.js';
import { planHost } from '../../../src/operations/host/plan-host.js';
import { verifyHost } from '../../../src/operations/host/verify-host.js';
import { GPU, IGPU, makeNode, pve7Intel, pve9IntelGrub } from './facts-factory.js';

const gpu = { address: '0000:01:00.0' };
/** The discrete GPU is the boot GPU (firmware set to PEG first); the iGPU stays. */
const primaryDgpu = (o: Partial<HostFacts> = {}) => pve9IntelGrub({
  pci: pve9IntelGrub().pci.map((p) => (p.address === GPU.address ? { ...p, bootVga: true } : p.address === IGPU.address ? { ...p, bootVga: false } : p)),
  hostNeeds: { ...pve9IntelGrub().hostNeeds, '0000:00:02.0': [], '0000:01:00.0': [{ kind: 'boot-console', detail: 'boot_vga = 1' }] },
  ...o,
});
/** A single-GPU host: the discrete GPU is the only display device. */
const singleGpu = () => primaryDgpu({ pci: primaryDgpu().pci.filter((p) => p.address !== IGPU.address) });
const BOOTFB = { name: 'BOOTFB', start: '4000000000', end: '40007e8fff', address: '0000:01:00.0', bar: 1 };

const grubDropin = (r: ReturnType<typeof planHost>) => r.steps.find((s) => s.kind === 'write-file' && s.path.endsWith('pve-passthrough.cfg'));

describe('console: keep (default)', () => {
  it('single GPU: refused, the fix names the setting, no token, nothing blacklisted', () => {
    const r = planHost(makeNode({ devices: [gpu] }), singleGpu());
    expect(r.refused).toEqual([expect.objectContaining({
      subject: 'device 0000:01:00.0',
      reason: expect.stringMatching(/boot GPU .* no other display device/),
      fix: expect.stringMatching(/"console": "headless" on node pve1/),
    })]);
    expect(r.steps).toEqual([]);
  });

  it('primary discrete GPU with an iGPU: planned with a warning and the token', () => {
    const r = planHost(makeNode({ devices: [gpu] }), primaryDgpu());
    expect(r.refused).toEqual([]);
    expect(r.warnings.map((w) => w.message).join('\n')).toMatch(/host console moves to 0000:00:02\.0 \(i915\).*initcall_blacklist=sysfb_init/);
    const step = grubDropin(r);
    expect(step && step.kind === 'write-file' && step.after).toMatch(/GRUB_CMDLINE_LINUX_DEFAULT="\$GRUB_CMDLINE_LINUX_DEFAULT initcall_blacklist=sysfb_init"/);
    expect(r.rebootReasons).toContain(`cmdline token ${SYSFB_TOKEN} missing from /proc/cmdline`);
    const modprobe = r.steps.find((s) => s.kind === 'write-file' && s.path === '/etc/modprobe.d/pve-passthrough.conf');
    expect(modprobe && modprobe.kind === 'write-file' && modprobe.after).not.toMatch(/^blacklist/m);
  });

  it('a non-boot GPU with nothing over its BARs gets no token', () => {
    const r = planHost(makeNode({ devices: [gpu] }), pve9IntelGrub());
    expect(r.steps.some((s) => s.kind === 'write-file' && s.after.includes('sysfb'))).toBe(false);
  });
});

describe('console: headless', () => {
  it('single GPU: planned, the plan says the console goes dark, the token is added', () => {
    const r = planHost(makeNode({ devices: [gpu], console: 'headless' }), singleGpu());
    expect(r.refused).toEqual([]);
    expect(r.warnings.map((w) => w.message).join('\n')).toMatch(/host console goes dark after early boot/);
    expect(grubDropin(r)).toBeDefined();
  });

  it('still refuses the boot GPU when its IOMMU group holds the management NIC', () => {
    const f = singleGpu();
    const r = planHost(makeNode({ devices: [gpu], console: 'headless' }), { ...f, pci: f.pci.map((p) => (p.address === '0000:03:00.0' ? { ...p, iommuGroup: 14 } : p)) });
    expect(r.refused.map((x) => x.reason).join('\n')).toMatch(/carries the management network/);
    expect(r.steps).toEqual([]);
  });

  it('blacklisting the boot GPU\'s own driver is allowed when the inventory asks', () => {
    const r = planHost(makeNode({ devices: [{ ...gpu, blacklist: ['nouveau'] }], console: 'headless' }), singleGpu());
    expect(r.refused).toEqual([]);
  });
});

describe('framebuffer over a BAR', () => {
  it('BOOTFB on a BAR of a non-boot target: the plan adds the token, verify fails naming the BAR and BOOTFB', () => {
    const facts = pve9IntelGrub({ framebuffer: { claims: [BOOTFB], hidden: false } });
    const node = makeNode({ devices: [gpu] });
    expect(grubDropin(planHost(node, facts))).toBeDefined();
    const check = verifyHost(node, facts).find((c) => c.id === 'framebuffer-free:0000:01:00.0');
    expect(check).toMatchObject({ status: 'fail', message: expect.stringMatching(/^BAR 1 of 0000:01:00\.0 is held by BOOTFB: the VM will fail to start/), evidence: '/proc/iomem: 4000000000-40007e8fff : BOOTFB' });
  });

  it('after the reboot the claim is gone: the token the tool added stays (no flapping)', () => {
    const first = planHost(makeNode({ devices: [gpu] }), pve9IntelGrub({ framebuffer: { claims: [BOOTFB], hidden: false } }));
    const dropin = grubDropin(first)!;
    const after = pve9IntelGrub({
      procCmdline: 'BOOT_IMAGE=/boot/vmlinuz-6.17.2-1-pve root=/dev/mapper/pve-root ro quiet initcall_blacklist=sysfb_init\n',
      files: { ...pve9IntelGrub().files, [dropin.kind === 'write-file' ? dropin.path : '']: { path: '/etc/default/grub.d/pve-passthrough.cfg', content: dropin.kind === 'write-file' ? dropin.after : '', mode: '0644', uid: 0, gid: 0 } },
    });
    expect(grubDropin(planHost(makeNode({ devices: [gpu] }), after))).toBeUndefined();
  });

  it('hidden iomem addresses: the check says it cannot tell', () => {
    const c = verifyHost(makeNode({ devices: [gpu] }), pve9IntelGrub({ framebuffer: { claims: [], hidden: true } })).find((x) => x.id === 'framebuffer-free:0000:01:00.0');
    expect(c?.status).toBe('na');
  });
});

describe('which token', () => {
  it.each([
    ['next kernel 6.17', pve9IntelGrub(), SYSFB_TOKEN],
    ['next kernel 5.15 (PVE 7.2+)', pve7Intel(), SYSFB_TOKEN],
    ['next kernel 5.13 on UEFI', pve7Intel({ kernel: { running: '5.13.19-6-pve', next: '5.13.19-6-pve' } }), 'video=efifb:off'],
    ['next kernel 5.4 on BIOS', pve7Intel({ kernel: { running: '5.4.203-1-pve', next: '5.4.203-1-pve' }, bootLoader: { efi: false } as never }), 'video=vesafb:off'],
    ['iomem says efifb on the running (= next) kernel', pve9IntelGrub({ framebuffer: { claims: [{ ...BOOTFB, name: 'efifb' }], hidden: false } }), 'video=efifb:off'],
    ['iomem from an older running kernel does not decide for a newer next one', pve9IntelGrub({ kernel: { running: '5.13.19-6-pve', next: '6.17.2-1-pve' }, framebuffer: { claims: [{ ...BOOTFB, name: 'efifb' }], hidden: false } }), SYSFB_TOKEN],
  ])('%s', (_n, facts, token) => {
    expect(framebufferToken(facts)).toBe(token);
  });

  it('video=efifb:off on a sysfb kernel is warned as ineffective, naming the token that works', () => {
    const r = planHost(makeNode({ devices: [gpu], kernelParams: ['video=efifb:off'] }), primaryDgpu());
    expect(r.warnings).toContainEqual({ subject: 'kernel parameter video=efifb:off', message: expect.stringMatching(/does nothing on kernel 6\.17\.2-1-pve.*initcall_blacklist=sysfb_init is what frees it/) });
  });
});
