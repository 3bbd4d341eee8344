/**
 * What every command shares: where the inventory comes from (-i FILE, or
 * flags + a profile), selection, progress, the run log, and writing the report
 * to stdout or --output.
 */
import { resolve as resolvePath } from 'node:path';
import { InputError, PassthroughError, redact } from '../errors.js';
import { parseFileMode, writeFileAtomic } from '../local-file.js';
import { loadInventory } from '../inventory/load.js';
import { inventoryFromFlags } from '../inventory/from-flags.js';
import { openProfileStore } from '../inventory/profiles.js';
import type { Inventory } from '../inventory/schema.js';
import { SecretStore } from '../inventory/secrets.js';
import { escapeControl, terminalSafe } from './terminal-text.js';
import type { EngineOptions } from '../engine/context.js';
import { newRunId } from '../engine/context.js';
import { RunLog } from '../engine/runlog.js';
import { nodeNameFromHost } from '../engine/node-name.js';
import { createProgress, type Progress } from './progress.js';
import { askSecret } from './prompt.js';
import { makeStyle, type Style } from './style.js';
import { EXIT } from './exit-codes.js';
import { ErrorCode } from '../error-codes.js';

export interface GlobalFlags {
  inventory?: string;
  host?: string;
  api?: string;
  device?: string[];
  vm?: string[];
  nodeName?: string;
  identity?: string;
  kernelParam?: string[];
  iommuPt?: boolean;
  xVga?: boolean;
  /** With --host: the flags are the whole declaration (else flags mode only adds). */
  exact?: boolean;
  profile?: string;
  cluster?: string[];
  node?: string[];
  tag?: string[];
  concurrency?: string;
  json?: boolean;
  format?: string;
  output?: string;
  /** Octal mode for -o/--output and --out files (default 0600). */
  outputMode?: string;
  verbose?: boolean;
  quiet?: boolean;
  acceptNewHostKeys?: boolean;
  sshConfig?: string;
  reboot?: 'never' | 'needed' | 'always';
  pollMs?: string;
}

export interface Session {
  readonly inventory: Inventory;
  readonly secrets: SecretStore;
  readonly progress: Progress;
  readonly runLog: RunLog | null;
  readonly engine: EngineOptions;
  readonly out: Style;
  readonly err: Style;
}

export { collect } from './collect.js';

/**
 * `naming`: for --host without --node-name, the name read from the host
 * (engine/node-name.ts), or `provisional` for the inventory used to read it.
 */
export async function resolveInventory(f: GlobalFlags, naming: { nodeName?: string; provisional?: boolean; hostnameProblem?: string } = {}): Promise<Inventory> {
  if (f.inventory && f.host) throw new InputError('use either -i/--inventory or --host, not both');
  if (f.inventory) return (await loadInventory(f.inventory)).inventory;
  if (f.host) {
    const profile = f.profile ? (await openProfileStore()).get(f.profile) : undefined;
    if (f.profile && !profile) throw new InputError(`no profile named "${f.profile}"`, [], { fix: 'see `pve-passthrough profile list`' });
    return inventoryFromFlags({
      host: f.host,
      api: f.api,
      devices: f.device ?? [],
      vms: (f.vm ?? []).map(parseVmid),
      nodeName: f.nodeName ?? naming.nodeName ?? (naming.provisional ? PROVISIONAL_NODE : undefined),
      ...(naming.hostnameProblem !== undefined ? { hostnameProblem: naming.hostnameProblem } : {}),
      ...(f.identity !== undefined ? { identityFile: resolvePath(f.identity) } : {}),
      ...(f.kernelParam ? { kernelParams: f.kernelParam } : {}),
      ...(f.iommuPt ? { iommuPassthrough: true } : {}),
      ...(f.xVga ? { xVga: true } : {}),
      ...(f.exact ? { exact: true } : {}),
      profile,
    });
  }
  throw new InputError('no inventory given', [], { fix: 'pass -i inventory.json (see inventory.example.json), or --host user@node for a single node; `pve-passthrough sim` writes one for the simulated cluster' });
}

function parseVmid(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 100) throw new InputError(`--vm "${v}" is not a VM id`, [], { fix: 'VM ids are integers from 100' });
  return n;
}

/** The name of a --host node while its real name is read from the host (never planned under it). */
const PROVISIONAL_NODE = 'unnamed';

/** Engine options, progress on stderr and the run log for one command. */
export async function openSession(f: GlobalFlags, command: string, machineOutput: boolean): Promise<Session> {
  const naming = Boolean(f.host && !f.inventory && f.nodeName === undefined);
  let inventory = await resolveInventory(f, { provisional: naming });
  const secrets = new SecretStore(process.env, askSecret);
  const err = makeStyle(process.stderr);
  const out = makeStyle(process.stdout);
  const progress = createProgress({ stream: process.stderr, style: err, verbose: Boolean(f.verbose), quiet: Boolean(f.quiet) || (machineOutput && !f.verbose && !process.stderr.isTTY), secrets: () => secrets.values() });
  const runId = newRunId(new Date());
  let runLog: RunLog | null = null;
  try {
    runLog = new RunLog(runId, command, () => secrets.values());
  } catch {
    runLog = null; // a read-only home must not stop a verify from a timer
  }
  const concurrency = f.concurrency ? Number(f.concurrency) : undefined;
  if (concurrency !== undefined && (!Number.isInteger(concurrency) || concurrency < 1)) throw new InputError('--concurrency must be a whole number ≥ 1');
  const vms = (f.vm ?? []).map(parseVmid);
  const engine: EngineOptions = {
    runId,
    secrets,
    concurrency,
    acceptNewHostKeys: Boolean(f.acceptNewHostKeys),
    ...(f.sshConfig !== undefined ? { sshConfig: f.sshConfig } : {}),
    reboot: f.reboot,
    pollMs: f.pollMs ? Number(f.pollMs) : undefined,
    selection: f.host ? {} : { clusters: f.cluster, nodes: f.node, vms: vms.length ? vms : undefined, tags: f.tag },
    onEvent: (e) => {
      // Progress is a terminal renderer: values in events come from hosts and the API (the run log keeps them as they are).
      progress.onEvent(terminalSafe(e));
      runLog?.write({ time: new Date().toISOString(), ...e });
    },
  };
  if (naming) {
    // --host without --node-name: the node is named by its own hostname (checked against the API's node list).
    try {
      const read = await nodeNameFromHost(inventory, engine);
      inventory = await resolveInventory(f, 'nodeName' in read ? { nodeName: read.nodeName } : { hostnameProblem: read.unreadable });
    } catch (err) {
      progress.done(); // the caller has no session to stop
      throw err;
    }
  }
  return { inventory, secrets, progress, runLog, engine, out, err };
}

/** The report goes to stdout, or to --output FILE (written atomically, mode 0600 or --output-mode). */
export async function emitReport(text: string, f: GlobalFlags, secrets?: SecretStore): Promise<void> {
  const safe = secrets ? redact(text, secrets.values()) : text;
  if (f.output) await writeLocalFile(f.output, safe, f);
  else process.stdout.write(safe);
}

/** A file the user asked for (-o, --out): whole or not at all, mode 0600 unless --output-mode says otherwise. */
export async function writeLocalFile(path: string, text: string, f: GlobalFlags): Promise<void> {
  const mode = parseFileMode(f.outputMode, '--output-mode');
  await writeFileAtomic(path, text, mode !== undefined ? { mode } : {});
}

/** --json, or --format json: the same thing on every command that has either. */
export function wantsJson(f: GlobalFlags): boolean {
  return Boolean(f.json) || f.format === 'json';
}

/** One clear line on stderr (and a JSON error object on stdout with --json); returns exit 1. */
export function reportError(err: unknown, f: GlobalFlags, secrets?: SecretStore): number {
  const values = secrets?.values() ?? [];
  const s = makeStyle(process.stderr);
  if (err instanceof PassthroughError) {
    process.stderr.write(`${s.red('error:')} ${escapeControl(redact(err.oneLine(), values))}\n`);
    if (wantsJson(f)) process.stdout.write(`${redact(JSON.stringify({ error: err.toJSON() }, null, 2), values)}\n`);
  } else {
    const msg = err instanceof Error ? err.message : String(err);
    process.stderr.write(`${s.red('error:')} ${escapeControl(redact(msg, values))}\n`);
    if (wantsJson(f)) process.stdout.write(`${JSON.stringify({ error: { code: ErrorCode.INTERNAL, message: redact(msg, values) } }, null, 2)}\n`);
  }
  return EXIT.error;
}
