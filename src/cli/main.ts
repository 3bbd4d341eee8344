#!/usr/bin/env node
// Entry point. Kept tiny: commands load their heavy modules lazily.
import { run } from './program.js';

/**
 * Every command closes its connections, timers and sockets itself. Should one
 * be left open anyway (a bug), the process still ends: a command that has
 * finished never keeps a script or a timer unit waiting. The note names it as
 * a bug so the tests, which look for it, catch the leak.
 */
const LINGER_MS = 5_000;

function finish(code: number): void {
  process.exitCode = code;
  setTimeout(() => {
    process.stderr.write(`pve-passthrough: internal: the command finished but left a connection or timer open (${openResources()}); exiting anyway (please report this)\n`);
    process.exit(code);
  }, LINGER_MS).unref();
}

/** What keeps the process alive, for the report: resource kinds, and where each socket goes. */
function openResources(): string {
  const kinds = process.getActiveResourcesInfo().filter((k) => k !== 'TTYWrap');
  const sockets = (process as unknown as { _getActiveHandles?: () => unknown[] })._getActiveHandles?.() ?? [];
  const peers = sockets.flatMap((h) => {
    const s = h as { remoteAddress?: string; remotePort?: number; destroyed?: boolean; readyState?: string };
    return s.remoteAddress ? [`${s.remoteAddress}:${s.remotePort ?? '?'} ${s.readyState ?? ''}`.trim()] : [];
  });
  return [kinds.join(', '), ...peers].filter(Boolean).join('; ') || 'unknown';
}

run(process.argv).then(finish, (err: unknown) => {
  process.stderr.write(`pve-passthrough: ${err instanceof Error ? err.message : String(err)}\n`);
  finish(1);
});
