/**
 * One escape for the terminal (issue 14, item 6): values from hosts, the API
 * and remote stderr reach the plan, the confirmation, the apply/verify
 * reports, progress and error lines with their control characters shown,
 * never obeyed. Fixtures: test/fixtures/hostile/terminal/values.json.
 * JSON/JUnit/Prometheus outputs are not touched (their encoders escape).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ApplyReport, EngineEvent, Plan, VerifyReport } from '../../src/engine/types.js';
import { escapeControl, escapeLines, terminalSafe } from '../../src/cli/terminal-text.js';
import { renderPlan } from '../../src/cli/render/plan.js';
import { renderApply } from '../../src/cli/render/apply.js';
import { renderVerify } from '../../src/cli/render/verify.js';
import { createProgress } from '../../src/cli/progress.js';
import { PLAIN } from '../../src/cli/style.js';

const V = JSON.parse(readFileSync(join(import.meta.dirname, '../fixtures/hostile/terminal/values.json'), 'utf8')) as Record<string, string>;
const hostile = Object.entries(V).filter(([k]) => !k.startsWith('_')).map(([, v]) => v);

/** Anything a terminal would obey: C0 except TAB/LF, DEL, C1, bidi controls, separators. */
const OBEYED = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]/;

describe('escapeControl', () => {
  it('makes every control character of the hostile fixtures visible', () => {
    for (const v of hostile) {
      const e = escapeControl(v);
      expect(e).not.toMatch(OBEYED);
      expect(e).not.toContain('\n');
    }
    expect(escapeControl(V['erase-lines']!)).toBe('\\x1b[1A\\x1b[2K');
    expect(escapeControl(V['c1-csi']!)).toBe('value\\x9b2Jcleared');
    expect(escapeControl(V['bidi-override']!)).toBe('safe\\u202etxt.exe\\u2066x\\u2069');
    expect(escapeControl(V['carriage-return']!)).toBe('everything fine\\rFAILED');
  });

  it('leaves ordinary text alone, tabs and non-ASCII letters included', () => {
    for (const s of ['GRUB_CMDLINE_LINUX_DEFAULT="quiet"', 'a\tb', 'Grüße, 日本語', 'C:\\path']) expect(escapeControl(s)).toBe(s);
  });

  it('escapeLines keeps line breaks of file content and escapes inside each line', () => {
    const e = escapeLines(V['host-file']!);
    expect(e.split('\n')).toHaveLength(V['host-file']!.split('\n').length);
    expect(e).not.toMatch(OBEYED);
  });

  it('terminalSafe copies deeply and does not change its input', () => {
    const input = { a: [V['erase-lines']], b: { c: V['vm-description'] }, n: 1, z: null };
    const copy = JSON.parse(JSON.stringify(input));
    const out = terminalSafe(input);
    expect(input).toEqual(copy);
    expect(JSON.stringify(out)).not.toMatch(/\\u001b|\\u0007/);
    expect(out.n).toBe(1);
  });
});

const plan: Plan = {
  version: 1, runId: 'r1', createdAt: '2026-12-01T00:00:00.000Z', inventoryDigest: 'x',
  clusters: [{
    name: 'lab', warnings: [{ subject: 'VM 101', message: V['vm-description']! }], mappings: [],
    nodes: [{
      cluster: 'lab', node: 'pve1', factsFingerprint: 'f', bootId: 'b', bootLoader: 'grub', kernel: V['erase-lines']!,
      steps: [
        { kind: 'write-file', path: '/etc/modprobe.d/pve-passthrough.conf', before: V['host-file']!, after: 'options vfio-pci ids=10de:2204\n', mode: '0644', uid: 0, gid: 0, reason: 'owned' },
        { kind: 'reboot', reasons: [V['carriage-return']!] },
      ],
      refused: [{ subject: 'device 0000:03:00.0', reason: V['bidi-override']! }],
      warnings: [{ subject: 'node pve1', message: V['newline-forgery']! }], rebootReasons: [],
    }],
    vms: [{
      cluster: 'lab', node: 'pve1', vmid: 101, digest: 'd', status: 'stopped', power: 'none', refused: [], warnings: [],
      set: { hostpci0: '0000:01:00,pcie=1', description: 'new' }, delete: ['args'],
      before: { description: V['vm-description']!, args: V['osc-8-link']! },
      changes: [], shutdown: { timeoutSeconds: 180, allowStop: false },
    }],
  }],
};

describe('terminal renderers show hostile values, never obey them', () => {
  it('plan (also the confirmation screen): file diff lines, VM values, reasons, warnings', () => {
    const text = renderPlan(plan, PLAIN);
    expect(text).not.toMatch(OBEYED);
    expect(text).toContain('- \\x1b[1A\\x1b[2K\\x1b[1A\\x1b[2Koptions vfio-pci ids=10de:2204');
    expect(text).toContain('~ description: prod db\\x1b]0;owned\\x07\\x1b[31m red \\x1b[0m → new');
    expect(text).toContain('- args: \\x1b]8;;http://evil.example/\\x07click');
    // A value with a line break cannot forge a plan line of its own.
    expect(text.split('\n').some((l) => l.trim().startsWith('+ hostpci9'))).toBe(false);
  });

  it('the confirmation shows exactly what is sent: every set key and every delete', () => {
    const text = renderPlan(plan, PLAIN);
    expect(text).toContain('~ update /etc/modprobe.d/pve-passthrough.conf mode 0644, owner 0:0 (owned)');
    expect(text).toContain('+ hostpci0: 0000:01:00,pcie=1');
    expect(text).toMatch(/- args/);
  });

  it('apply report: remote stderr in messages and next steps', () => {
    const r: ApplyReport = {
      version: 1, runId: 'r', startedAt: '', finishedAt: '', ok: false, mappings: [],
      nodes: [{ cluster: 'lab', node: 'pve1', outcome: 'failed', stepsDone: 0, rebooted: false, message: V['remote-stderr']!, checks: [] }],
      vms: [{ cluster: 'lab', node: 'pve1', vmid: 101, outcome: 'failed', message: V['c1-csi']! }],
      next: [V['erase-lines']!],
    };
    expect(renderApply(r, PLAIN)).not.toMatch(OBEYED);
  });

  it('verify table escapes, JSON stays the report itself', () => {
    const r: VerifyReport = {
      version: 1, runId: 'r', checkedAt: '', verdict: 'drift', clusters: [], vms: [],
      nodes: [{ cluster: 'lab', node: 'pve1', checks: [{ id: 'x', status: 'fail', message: V['erase-lines']!, evidence: V['remote-stderr']! }] }],
    };
    expect(renderVerify(r, 'table', PLAIN)).not.toMatch(OBEYED);
    expect(JSON.parse(renderVerify(r, 'json'))).toEqual(r);
  });

  it('progress lines (the CLI passes every event through terminalSafe)', () => {
    let out = '';
    const stream = { isTTY: false, write: (s: string) => { out += s; return true; } } as unknown as NodeJS.WritableStream;
    const p = createProgress({ stream, style: PLAIN, verbose: false, quiet: false, secrets: () => [] });
    const events: EngineEvent[] = [
      { type: 'node', cluster: 'lab', node: 'pve1', status: 'failed', message: V['remote-stderr']! },
      { type: 'vm', cluster: 'lab', vmid: 101, status: 'done', message: V['vm-description']! },
      { type: 'warning', subject: 'x', message: V['bidi-override']! },
    ];
    for (const e of events) p.onEvent(terminalSafe(e));
    p.done();
    expect(out).not.toMatch(OBEYED);
  });
});
