import { describe, expect, it } from 'vitest';
import type { Plan, VerifyReport } from '../../src/engine/types.js';
import { compactDiff, lineDiff } from '../../src/cli/render/line-diff.js';
import { renderPlan } from '../../src/cli/render/plan.js';
import { renderVerify } from '../../src/cli/render/verify.js';

const plan: Plan = {
  version: 1, runId: 'r1', createdAt: '2026-12-01T00:00:00.000Z', inventoryDigest: 'x',
  clusters: [{
    name: 'lab', warnings: [], mappings: [],
    nodes: [{
      cluster: 'lab', node: 'pve1', factsFingerprint: 'f', bootId: 'b', bootLoader: 'grub', kernel: '6.8.12-9-pve',
      steps: [
        { kind: 'write-file', path: '/etc/modules', before: 'a\nvfio_virqfd\nb\n', after: 'a\nb\n', mode: '0644', uid: 0, gid: 0, reason: 'leftover' },
        { kind: 'refresh', command: 'update-initramfs', reason: 'modules changed' },
        { kind: 'reboot', reasons: ['intel_iommu=on missing from /proc/cmdline'] },
      ],
      refused: [{ subject: 'device 0000:03:00.0', reason: 'carries the management network (vmbr0 via eno1)', fix: 'pick another device' }],
      warnings: [], rebootReasons: ['intel_iommu=on missing from /proc/cmdline'],
    }],
    vms: [{ cluster: 'lab', node: 'pve1', vmid: 101, digest: 'd', set: { hostpci0: '0000:01:00,pcie=1', machine: 'pc-q35-8.1' }, delete: [], shutdown: { timeoutSeconds: 180, allowStop: false }, before: { machine: 'pc-i440fx-8.1' }, changes: [{ key: 'hostpci0', after: '0000:01:00,pcie=1' }, { key: 'machine', before: 'pc-i440fx-8.1', after: 'pc-q35-8.1' }], power: 'pending', status: 'running', refused: [], warnings: [] }],
  }],
};

describe('plan rendering', () => {
  it('shows file diffs, commands, the reboot, refusals, VM changes and a summary', () => {
    const text = renderPlan(plan);
    expect(text).toContain('- vfio_virqfd');
    expect(text).toContain('> update-initramfs -u -k all');
    expect(text).toContain('! reboot: intel_iommu=on missing');
    expect(text).toContain('refused: device 0000:03:00.0: carries the management network');
    expect(text).toContain('+ hostpci0: 0000:01:00,pcie=1');
    expect(text).toContain('~ machine: pc-i440fx-8.1 → pc-q35-8.1');
    expect(text).toMatch(/Plan: 1 node\(s\) to change \(3 step\(s\), 1 reboot\(s\)\), 1 VM\(s\) to change, 0 mapping\(s\) to change, 1 refused\./);
    expect(text).not.toMatch(/\x1b\[/);
  });
});

describe('line diff', () => {
  it('keeps unchanged lines and marks changes', () => {
    expect(lineDiff('a\nb\nc\n', 'a\nc\nd\n')).toEqual([{ op: ' ', text: 'a' }, { op: '-', text: 'b' }, { op: ' ', text: 'c' }, { op: '+', text: 'd' }]);
    expect(compactDiff(lineDiff('1\n2\n3\n4\n5\n', '1\n2\n3\n4\nX\n'), 1).filter((x) => x === '…')).toHaveLength(1);
  });
});

const report: VerifyReport = {
  version: 1, runId: 'r2', checkedAt: '2026-12-01T00:00:00.000Z', verdict: 'drift',
  nodes: [{ cluster: 'lab', node: 'pve1', checks: [
    { id: 'iommu-active', status: 'pass', message: 'IOMMU active (dmar0)' },
    { id: 'device-bound:0000:01:00.0', status: 'fail', message: 'bound to nouveau', evidence: 'Kernel driver in use: nouveau' },
    { id: 'interrupt-remapping', status: 'na', message: 'no evidence' },
  ] }],
  vms: [{ cluster: 'lab', node: 'pve1', vmid: 101, checks: [{ id: 'vm-pending', status: 'fail', message: 'hostpci0 pending "<&>"' }] }],
  clusters: [],
};

describe('verify rendering', () => {
  it('json is the report itself', () => {
    expect(JSON.parse(renderVerify(report, 'json'))).toEqual(report);
  });
  it('prometheus: one gauge per check with labels, n/a omitted, escaped', () => {
    const text = renderVerify(report, 'prometheus');
    expect(text).toContain('pve_passthrough_check{cluster="lab",node="pve1",vm="",check="iommu-active"} 1');
    expect(text).toContain('pve_passthrough_check{cluster="lab",node="pve1",vm="",check="device-bound:0000:01:00.0"} 0');
    expect(text).not.toContain('interrupt-remapping');
    expect(text).toContain('pve_passthrough_compliant 0');
  });
  it('junit: failures and skips counted, XML escaped', () => {
    const text = renderVerify(report, 'junit');
    expect(text).toMatch(/<testsuites [^>]*tests="4" failures="2"/);
    expect(text).toContain('&lt;&amp;&gt;');
    expect(text).toContain('<skipped message="no evidence"/>');
  });
  it('table names the failing check and the verdict', () => {
    const text = renderVerify(report, 'table');
    expect(text).toMatch(/device-bound:0000:01:00\.0\s+FAIL\s+bound to nouveau \[Kernel driver in use: nouveau\]/);
    expect(text).toContain('Drift: 2 check(s) failed.');
  });
});
