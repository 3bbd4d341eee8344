/**
 * Progress on stderr (never stdout, so reports stay machine-readable).
 *
 * Live mode (stderr is a TTY, not CI, not --verbose): finished nodes/VMs and
 * phase headings, warnings print as permanent lines above a live area that
 * holds only what is still running, each with its elapsed time. The area is
 * redrawn by log-update (the redraw engine under listr2's default renderer),
 * clipped to the terminal's height and width so it never scrolls (a block
 * taller than the screen is what duplicated lines), and paused around every
 * prompt (see live.ts).
 *
 * Plain mode (no TTY, CI set, or --verbose): one line per event, plus a
 * "still …" line at least every 15 s for anything running longer (reboots,
 * boot-loader refreshes), so a log never looks hung.
 *
 * Timers are unref'd: progress never keeps the process alive.
 */
import { createLogUpdate } from 'log-update';
import type { EngineEvent } from '../engine/types.js';
import { redact } from '../errors.js';
import { setLiveArea } from './live.js';
import type { Style } from './style.js';

export interface Progress {
  readonly onEvent: (e: EngineEvent) => void;
  /** Ends the live area (what is still running stays printed); call before printing a report or a plan. */
  done(): void;
}

export interface ProgressOptions {
  readonly stream: NodeJS.WritableStream & { isTTY?: boolean; columns?: number; rows?: number };
  readonly style: Style;
  readonly verbose: boolean;
  readonly quiet: boolean;
  readonly secrets: () => string[];
  readonly env?: NodeJS.ProcessEnv;
  /** Plain mode: the longest silence for something still running (default 15 s). */
  readonly heartbeatMs?: number;
  readonly now?: () => number;
}

interface Running {
  readonly label: string;
  text: string;
  since: number;
  lastPrinted: number;
}

const FINISHED = new Set(['done', 'failed', 'skipped']);

export function elapsed(ms: number): string {
  const s = Math.floor(ms / 1000);
  return s < 60 ? `${s}s` : `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
}

export function createProgress(o: ProgressOptions): Progress {
  const { stream, style: s } = o;
  const env = o.env ?? process.env;
  const now = o.now ?? Date.now;
  const clean = (text: string) => redact(text, o.secrets());
  const print = (line: string) => stream.write(`${clean(line)}\n`);
  const warning = (e: Extract<EngineEvent, { type: 'warning' }>) => s.yellow(`warning: ${e.subject}: ${e.message}`);

  if (o.quiet) return { onEvent: (e) => { if (e.type === 'warning') print(warning(e)); }, done: () => {} };

  const live = Boolean(stream.isTTY) && !o.verbose && !(env.CI !== undefined && env.CI !== '' && env.CI !== 'false');
  const running = new Map<string, Running>();
  const icon = (status: string) => (status === 'done' ? s.green('✔') : status === 'failed' ? s.red('✖') : status === 'skipped' ? s.yellow('↓') : s.cyan('…'));

  // ---- live area
  const area = live ? createLogUpdate(stream as NodeJS.WriteStream, { showCursor: true }) : null;
  let paused = false;
  let ticker: NodeJS.Timeout | null = null;
  const frame = (): string => {
    const width = Math.max(20, (stream.columns ?? 80) - 1);
    const height = Math.max(2, (stream.rows ?? 24) - 1);
    const t = now();
    let lines = [...running.values()].map((r) => `${icon('start')} ${r.label}: ${r.text} ${s.dim(elapsed(t - r.since))}`);
    if (lines.length > height) lines = [...lines.slice(0, height - 1), s.dim(`… and ${lines.length - height + 1} more`)];
    // Cut (never wrap) to the width: a wrapped line is a line log-update cannot count back.
    return lines.map((l) => (visibleLength(l) > width ? `${cut(l, width - 1)}…` : l)).join('\n');
  };
  const draw = () => {
    if (!area || paused) return;
    if (running.size === 0) area.clear();
    else area(clean(frame()));
  };
  const startTicker = () => {
    if (ticker || !area) return;
    ticker = setInterval(() => (running.size ? draw() : undefined), 1000);
    ticker.unref();
  };
  // Lines for above the area wait while a prompt owns the terminal, then print in order.
  let held: string[] = [];
  const above = (line: string) => {
    if (paused) return void held.push(line);
    area?.clear();
    print(line);
    draw();
  };
  if (area) {
    setLiveArea({
      pause() {
        if (paused) return () => {};
        area.clear();
        paused = true;
        return () => {
          paused = false;
          for (const line of held) print(line);
          held = [];
          draw();
        };
      },
    });
  }

  // ---- plain heartbeat
  const heartbeatMs = o.heartbeatMs ?? 15_000;
  let heartbeat: NodeJS.Timeout | null = null;
  const startHeartbeat = () => {
    if (live || heartbeat) return;
    heartbeat = setInterval(() => {
      const t = now();
      for (const r of running.values()) {
        if (t - r.lastPrinted >= heartbeatMs) {
          print(`${icon('start')} ${r.label}: still ${r.text} (${elapsed(t - r.since)})`);
          r.lastPrinted = t;
        }
      }
    }, Math.max(1000, Math.floor(heartbeatMs / 3)));
    heartbeat.unref();
  };

  const onItem = (key: string, status: string, message: string) => {
    const t = now();
    if (FINISHED.has(status)) {
      const r = running.get(key);
      running.delete(key);
      const took = r ? ` ${s.dim(`(${elapsed(t - r.since)})`)}` : '';
      if (live) above(`${icon(status)} ${key}: ${message}${took}`);
      else print(`${icon(status)} ${key}: ${message}${took}`);
      return;
    }
    const r = running.get(key);
    if (r) {
      if (r.text !== message) r.since = t;
      r.text = message;
      r.lastPrinted = t;
    } else running.set(key, { label: key, text: message, since: t, lastPrinted: t });
    if (live) {
      draw();
      startTicker();
    } else {
      print(`${icon(status)} ${key}: ${message}`);
      startHeartbeat();
    }
  };

  return {
    onEvent(e) {
      switch (e.type) {
        case 'phase':
          if (live) above(s.bold(`» ${e.message}`));
          else print(s.bold(`» ${e.message}`));
          return;
        case 'node':
          return onItem(`${e.cluster}/${e.node}`, e.status, e.message);
        case 'vm':
          return onItem(`${e.cluster}/VM ${e.vmid}`, e.status, e.message);
        case 'warning':
          if (live) above(warning(e));
          else print(warning(e));
          return;
        case 'command':
          if (o.verbose) print(s.dim(`$ [${e.node}] ${e.script.length > 2000 ? `${e.script.slice(0, 2000)} …(${e.script.length} chars)` : e.script}`));
          return;
      }
    },
    done() {
      if (ticker) clearInterval(ticker);
      if (heartbeat) clearInterval(heartbeat);
      ticker = heartbeat = null;
      if (area) {
        area.clear();
        area.done();
      }
      // What is still running stays on screen as plain lines, then the slate is clean for the report.
      for (const line of held) print(line);
      held = [];
      if (live) for (const r of running.values()) print(`${icon('start')} ${r.label}: ${r.text}`);
      running.clear();
    },
  };
}

// eslint-disable-next-line no-control-regex
const SGR = /\x1b\[[0-9;]*m/g;
function visibleLength(text: string): number {
  return [...text.replace(SGR, '')].length;
}
/** The first `width` visible characters, colour codes kept (and reset after the cut). */
function cut(text: string, width: number): string {
  let out = '';
  let seen = 0;
  for (let i = 0; i < text.length && seen < width; ) {
    SGR.lastIndex = i;
    const m = SGR.exec(text);
    if (m && m.index === i) {
      out += m[0];
      i += m[0].length;
      continue;
    }
    const ch = String.fromCodePoint(text.codePointAt(i)!);
    out += ch;
    i += ch.length;
    seen++;
  }
  return out.includes('\x1b[') ? `${out}\x1b[0m` : out;
}
