/**
 * Progress on stderr. In a TTY: one live line per node/VM, redrawn in place
 * (the listr2 look without its stdout default). Elsewhere: one plain line per
 * event. Never writes to stdout, so reports stay machine-readable.
 */
import type { EngineEvent } from '../engine/types.js';
import { redact } from '../errors.js';
import type { Style } from './style.js';

export interface Progress {
  readonly onEvent: (e: EngineEvent) => void;
  /** Final redraw; call before printing the report. */
  done(): void;
}

export function createProgress(o: { stream: NodeJS.WritableStream & { isTTY?: boolean; columns?: number }; style: Style; verbose: boolean; quiet: boolean; secrets: () => string[] }): Progress {
  const { stream, style: s } = o;
  const write = (line: string) => stream.write(`${redact(line, o.secrets())}\n`);
  if (o.quiet) return { onEvent: (e) => { if (e.type === 'warning') write(s.yellow(`warning: ${e.subject}: ${e.message}`)); }, done: () => {} };

  const live = Boolean(stream.isTTY) && !o.verbose;
  const lines = new Map<string, string>();
  let drawn = 0;
  let timer: NodeJS.Timeout | null = null;
  const icon = (status: string) => (status === 'done' ? s.green('✔') : status === 'failed' ? s.red('✖') : status === 'skipped' ? s.yellow('↓') : s.cyan('…'));
  const draw = () => {
    timer = null;
    const width = Math.max(40, (stream.columns ?? 100) - 1);
    let out = drawn > 0 ? `\x1b[${drawn}A` : '';
    for (const l of lines.values()) out += `\x1b[2K${l.length > width ? `${l.slice(0, width - 1)}…` : l}\n`;
    drawn = lines.size;
    stream.write(redact(out, o.secrets()));
  };
  const schedule = () => { if (!timer) timer = setTimeout(draw, 80); };

  return {
    onEvent(e) {
      switch (e.type) {
        case 'phase':
          if (live) { if (timer) { clearTimeout(timer); draw(); } lines.clear(); drawn = 0; }
          write(s.bold(`» ${e.message}`));
          return;
        case 'node':
        case 'vm': {
          const key = e.type === 'node' ? `${e.cluster}/${e.node}` : `${e.cluster}/VM ${e.vmid}`;
          const text = `${icon(e.status)} ${key}: ${e.message}`;
          if (live) { lines.set(key, text); schedule(); } else write(text);
          return;
        }
        case 'warning':
          write(s.yellow(`warning: ${e.subject}: ${e.message}`));
          return;
        case 'command':
          if (o.verbose) write(s.dim(`$ [${e.node}] ${e.script.length > 2000 ? `${e.script.slice(0, 2000)} …(${e.script.length} chars)` : e.script}`));
          return;
      }
    },
    done() {
      if (timer) { clearTimeout(timer); draw(); }
    },
  };
}
