// The progress renderer: plain lines off a terminal or under CI, a heartbeat at least every 15 s, a live area that
// fits the terminal and steps aside for prompts. The real-terminal behaviour is in test/e2e/terminal.test.ts (tmux).
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createProgress, elapsed } from '../../src/cli/progress.js';
import { withTerminal } from '../../src/cli/live.js';
import { PLAIN } from '../../src/cli/style.js';

function fakeStream(o: { isTTY: boolean; rows?: number; columns?: number }) {
  const chunks: string[] = [];
  return { chunks, text: () => chunks.join(''), stream: { ...o, write: (s: string) => (chunks.push(s), true) } as unknown as NodeJS.WritableStream & { isTTY: boolean } };
}

let t = 0;
const now = () => t;
afterEach(() => vi.useRealTimers());

describe('progress', () => {
  it('plain mode: one line per event, and a "still …" line after 15 s of silence', () => {
    vi.useFakeTimers();
    t = 0;
    const f = fakeStream({ isTTY: false });
    const p = createProgress({ stream: f.stream, style: PLAIN, verbose: false, quiet: false, secrets: () => [], env: {}, now });
    p.onEvent({ type: 'node', cluster: 'lab', node: 'pve1', status: 'reboot', message: 'rebooting, waiting for a new boot_id' });
    expect(f.text()).toBe('… lab/pve1: rebooting, waiting for a new boot_id\n');
    t = 14_000;
    vi.advanceTimersByTime(14_000);
    expect(f.chunks).toHaveLength(1);
    t = 16_000;
    vi.advanceTimersByTime(2_000);
    expect(f.chunks.at(-1)).toBe('… lab/pve1: still rebooting, waiting for a new boot_id (16s)\n');
    t = 95_000;
    vi.advanceTimersByTime(79_000);
    expect(f.chunks.at(-1)).toMatch(/still rebooting.*\(1m 35s\)/);
    p.onEvent({ type: 'node', cluster: 'lab', node: 'pve1', status: 'done', message: 'verified' });
    expect(f.chunks.at(-1)).toBe('✔ lab/pve1: verified (1m 35s)\n');
    const count = f.chunks.length;
    t = 200_000;
    vi.advanceTimersByTime(100_000);
    expect(f.chunks).toHaveLength(count); // nothing running: no heartbeat
    p.done();
    expect(f.text()).not.toContain('\x1b[');
  });

  it('CI set: plain lines even on a terminal', () => {
    const f = fakeStream({ isTTY: true, rows: 24, columns: 80 });
    const p = createProgress({ stream: f.stream, style: PLAIN, verbose: false, quiet: false, secrets: () => [], env: { CI: 'true' }, now });
    p.onEvent({ type: 'phase', phase: 'facts', message: 'reading facts' });
    p.onEvent({ type: 'node', cluster: 'lab', node: 'pve1', status: 'start', message: 'connecting' });
    p.done();
    expect(f.text()).toBe('» reading facts\n… lab/pve1: connecting\n');
  });

  it('live mode: the area never has more lines than the terminal, nor lines wider than it', () => {
    t = 0;
    const f = fakeStream({ isTTY: true, rows: 6, columns: 40 });
    const p = createProgress({ stream: f.stream, style: PLAIN, verbose: false, quiet: false, secrets: () => [], env: {}, now });
    for (let i = 1; i <= 12; i++) p.onEvent({ type: 'node', cluster: 'lab', node: `pve${i}`, status: 'start', message: 'reading facts from a host with a long name' });
    // The last frame, after log-update's erase sequence: at most rows-1 lines plus the final newline.
    const frame = f.chunks.at(-1)!.replace(/^(?:\x1b\[[0-9;]*[A-Za-z])+/, '');
    const lines = frame.replace(/\n$/, '').split('\n');
    expect(lines.length).toBeLessThanOrEqual(5);
    expect(lines.at(-1)).toMatch(/… and 8 more/);
    for (const l of lines) expect([...l].length).toBeLessThanOrEqual(39);
    p.done();
  });

  it('live mode: warnings and finished items are printed above the area; a prompt pauses redraws', async () => {
    t = 0;
    const f = fakeStream({ isTTY: true, rows: 24, columns: 100 });
    const p = createProgress({ stream: f.stream, style: PLAIN, verbose: false, quiet: false, secrets: () => [], env: {}, now });
    p.onEvent({ type: 'node', cluster: 'lab', node: 'pve1', status: 'start', message: 'connecting' });
    p.onEvent({ type: 'warning', subject: 'node pve1', message: 'no agent socket' });
    expect(f.text()).toContain('warning: node pve1: no agent socket\n');
    await withTerminal(async () => {
      const before = f.chunks.length;
      p.onEvent({ type: 'node', cluster: 'lab', node: 'pve2', status: 'start', message: 'connecting' });
      p.onEvent({ type: 'node', cluster: 'lab', node: 'pve1', status: 'step', message: 'reading facts' });
      p.onEvent({ type: 'node', cluster: 'lab', node: 'pve3', status: 'done', message: 'facts read' });
      p.onEvent({ type: 'warning', subject: 'node pve3', message: 'second warning' });
      expect(f.chunks.length).toBe(before); // nothing written while the prompt owns the terminal
    });
    // Afterwards: the held lines in order, then the area again.
    expect(f.text().indexOf('✔ lab/pve3: facts read')).toBeLessThan(f.text().indexOf('warning: node pve3: second warning'));
    expect(f.chunks.at(-1)).toMatch(/lab\/pve2: connecting/);
    p.onEvent({ type: 'node', cluster: 'lab', node: 'pve1', status: 'done', message: 'facts read' });
    expect(f.text()).toContain('✔ lab/pve1: facts read');
    p.done();
  });

  it('quiet: only warnings', () => {
    const f = fakeStream({ isTTY: true });
    const p = createProgress({ stream: f.stream, style: PLAIN, verbose: false, quiet: true, secrets: () => ['s3cret'], env: {}, now });
    p.onEvent({ type: 'node', cluster: 'lab', node: 'pve1', status: 'start', message: 'connecting' });
    p.onEvent({ type: 'warning', subject: 'node pve1', message: 'token s3cret seen' });
    expect(f.text()).toBe('warning: node pve1: token *** seen\n');
  });

  it('elapsed time reads as seconds, then minutes', () => {
    expect([elapsed(0), elapsed(59_999), elapsed(60_000), elapsed(605_000)]).toEqual(['0s', '59s', '1m 00s', '10m 05s']);
  });
});
