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

/** What the live and the plain renderers share: the running items and how a line is printed. */
interface Shared {
  readonly running: Map<string, Running>;
  readonly s: Style;
  readonly now: () => number;
  readonly clean: (text: string) => string;
  readonly print: (line: string) => void;
  readonly icon: (status: string) => string;
}

/** Where progress goes: permanent lines, a change of what is running, and the end. */
interface Renderer {
  /** A permanent line (a finished item, a phase, a warning). */
  line(text: string): void;
  /** An item started or moved on (`status` is not a finished one). */
  running(status: string, key: string, message: string): void;
  /** Stops the timers; what is still running stays printed. */
  end(): void;
}

/**
 * The live area: what is still running, redrawn every second, clipped to the
 * terminal; permanent lines print above it, and wait while a prompt owns the
 * terminal (live.ts pauses the area).
 */
function liveRenderer(x: Shared, stream: ProgressOptions['stream']): Renderer {
  const { running, s } = x;
  const area = createLogUpdate(stream as NodeJS.WriteStream, { showCursor: true });
  let paused = false;
  let ticker: NodeJS.Timeout | null = null;
  let held: string[] = [];
  const frame = (): string => {
    const width = Math.max(20, (stream.columns ?? 80) - 1);
    const height = Math.max(2, (stream.rows ?? 24) - 1);
    const t = x.now();
    let lines = [...running.values()].map((r) => `${x.icon('start')} ${r.label}: ${r.text} ${s.dim(elapsed(t - r.since))}`);
    if (lines.length > height) lines = [...lines.slice(0, height - 1), s.dim(`… and ${lines.length - height + 1} more`)];
    // Cut (never wrap) to the width: a wrapped line is a line log-update cannot count back.
    return lines.map((l) => (visibleLength(l) > width ? `${cut(l, width - 1)}…` : l)).join('\n');
  };
  const draw = () => {
    if (paused) return;
    if (running.size === 0) area.clear();
    else area(x.clean(frame()));
  };
  setLiveArea({
    pause() {
      if (paused) return () => {};
      area.clear();
      paused = true;
      return () => {
        paused = false;
        for (const line of held) x.print(line);
        held = [];
        draw();
      };
    },
  });
  return {
    line(text) {
      if (paused) return void held.push(text);
      area.clear();
      x.print(text);
      draw();
    },
    running() {
      draw();
      if (ticker) return;
      ticker = setInterval(() => (running.size ? draw() : undefined), 1000);
      ticker.unref();
    },
    end() {
      if (ticker) clearInterval(ticker);
      ticker = null;
      area.clear();
      area.done();
      for (const line of held) x.print(line);
      held = [];
      for (const r of running.values()) x.print(`${x.icon('start')} ${r.label}: ${r.text}`);
    },
  };
}

/** One line per event, and a "still …" line at least every `heartbeatMs` for anything running longer. */
function plainRenderer(x: Shared, heartbeatMs: number): Renderer {
  let heartbeat: NodeJS.Timeout | null = null;
  return {
    line: x.print,
    running(status, key, message) {
      x.print(`${x.icon(status)} ${key}: ${message}`);
      if (heartbeat) return;
      heartbeat = setInterval(() => {
        const t = x.now();
        for (const r of x.running.values()) {
          if (t - r.lastPrinted >= heartbeatMs) {
            x.print(`${x.icon('start')} ${r.label}: still ${r.text} (${elapsed(t - r.since)})`);
            r.lastPrinted = t;
          }
        }
      }, Math.max(1000, Math.floor(heartbeatMs / 3)));
      heartbeat.unref();
    },
    end() {
      if (heartbeat) clearInterval(heartbeat);
      heartbeat = null;
    },
  };
}

/** A node or VM event: finished items become permanent lines (with the time they took), others update the running set. */
function onItem(x: Shared, out: Renderer, key: string, status: string, message: string): void {
  const t = x.now();
  if (FINISHED.has(status)) {
    const r = x.running.get(key);
    x.running.delete(key);
    const took = r ? ` ${x.s.dim(`(${elapsed(t - r.since)})`)}` : '';
    out.line(`${x.icon(status)} ${key}: ${message}${took}`);
    return;
  }
  const r = x.running.get(key);
  if (r) {
    if (r.text !== message) r.since = t;
    r.text = message;
    r.lastPrinted = t;
  } else x.running.set(key, { label: key, text: message, since: t, lastPrinted: t });
  out.running(status, key, message);
}

export function createProgress(o: ProgressOptions): Progress {
  const { stream, style: s } = o;
  const env = o.env ?? process.env;
  const clean = (text: string) => redact(text, o.secrets());
  const print = (line: string) => void stream.write(`${clean(line)}\n`);
  const warning = (e: Extract<EngineEvent, { type: 'warning' }>) => s.yellow(`warning: ${e.subject}: ${e.message}`);

  if (o.quiet) return { onEvent: (e) => { if (e.type === 'warning') print(warning(e)); }, done: () => {} };

  const live = Boolean(stream.isTTY) && !o.verbose && !(env.CI !== undefined && env.CI !== '' && env.CI !== 'false');
  const icon = (status: string) => (status === 'done' ? s.green('✔') : status === 'failed' ? s.red('✖') : status === 'skipped' ? s.yellow('↓') : s.cyan('…'));
  const x: Shared = { running: new Map(), s, now: o.now ?? Date.now, clean, print, icon };
  const out = live ? liveRenderer(x, stream) : plainRenderer(x, o.heartbeatMs ?? 15_000);

  return {
    onEvent(e) {
      switch (e.type) {
        case 'phase':
          return out.line(s.bold(`» ${e.message}`));
        case 'node':
          return onItem(x, out, `${e.cluster}/${e.node}`, e.status, e.message);
        case 'vm':
          return onItem(x, out, `${e.cluster}/VM ${e.vmid}`, e.status, e.message);
        case 'warning':
          return out.line(warning(e));
        case 'command':
          if (o.verbose) print(s.dim(`$ [${e.node}] ${e.script.length > 2000 ? `${e.script.slice(0, 2000)} …(${e.script.length} chars)` : e.script}`));
          return;
      }
    },
    done() {
      out.end();
      x.running.clear();
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
