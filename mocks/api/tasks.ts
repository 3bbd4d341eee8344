/**
 * Worker tasks: a UPID per task, `running` until the work finishes after a
 * short delay, then `stopped` with `OK`, `WARNINGS: n` or the error message,
 * and a log that ends with `TASK OK` / `TASK WARNINGS: n` / `TASK ERROR: …`.
 */
import type { SimTimers } from './timers.js';

export interface SimTask {
  readonly upid: string;
  readonly node: string;
  readonly pid: number;
  readonly pstart: number;
  readonly starttime: number;
  readonly type: string;
  readonly id: string;
  /** The authenticated id: `root@pam` or `svc@pve!deploy`. */
  readonly authid: string;
  status: 'running' | 'stopped';
  exitstatus?: string;
  readonly log: string[];
  warnings: number;
  /** Resolves when the task has stopped (success or not). */
  readonly done: Promise<void>;
  /** Set when another call aborts the task; its pending sleep rejects with this. */
  aborted?: string;
}

export interface TaskContext {
  log(line: string): void;
  warn(line: string): void;
  /** Waits simulated time (timeouts); uses the sim's timers. */
  sleep(ms: number): Promise<void>;
}

export type TaskWork = (ctx: TaskContext) => void | Promise<void>;

const hex = (n: number, width: number): string => n.toString(16).toUpperCase().padStart(width, '0');

const UPID_RE = /^UPID:([a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?):([0-9A-Fa-f]{8}):([0-9A-Fa-f]{8,9}):([0-9A-Fa-f]{8}):([^:\s]+):([^:\s]*):([^:\s]+):$/;

export interface ParsedUpid {
  node: string;
  pid: number;
  pstart: number;
  starttime: number;
  type: string;
  id: string;
  authid: string;
}

export function parseUpid(upid: string): ParsedUpid | undefined {
  const m = UPID_RE.exec(upid);
  if (!m) return undefined;
  return {
    node: m[1] as string,
    pid: parseInt(m[2] as string, 16),
    pstart: parseInt(m[3] as string, 16),
    starttime: parseInt(m[4] as string, 16),
    type: m[5] as string,
    id: m[6] as string,
    authid: m[7] as string,
  };
}

/** Error text as PVE stores it in the task status: the first line of the die message. */
export function exitMessage(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return (msg.split('\n')[0] ?? '').trim() || 'unexpected status';
}

export interface TaskRunnerOptions {
  readonly taskMs: number;
  readonly now: () => number;
  /** A fault that makes this task fail instead of doing its work. */
  readonly injectedFailure: (type: string, id: string) => string | undefined;
}

export class TaskRunner {
  private readonly tasks = new Map<string, SimTask>();
  private readonly aborters = new Map<string, () => void>();
  private readonly followUps = new Set<Promise<void>>();
  private seq = 0;

  constructor(
    private readonly timers: SimTimers,
    private readonly opts: TaskRunnerOptions,
  ) {}

  start(node: string, type: string, id: string, authid: string, work: TaskWork, firstLines: readonly string[] = []): SimTask {
    this.seq += 1;
    const pid = 0x4a1b2 + this.seq * 17;
    const pstart = 0x1c3d4e5 + this.seq * 101;
    const starttime = Math.floor(this.opts.now() / 1000);
    const upid = `UPID:${node}:${hex(pid, 8)}:${hex(pstart, 8)}:${hex(starttime, 8)}:${type}:${id}:${authid}:`;
    const log: string[] = [...firstLines];
    let resolveDone: () => void = () => {};
    const done = new Promise<void>((r) => (resolveDone = r));
    let abortTask: () => void = () => {};
    const abortedPromise = new Promise<void>((r) => (abortTask = r));
    this.aborters.set(upid, () => abortTask());
    const task: SimTask = { upid, node, pid, pstart, starttime, type, id, authid, status: 'running', log, warnings: 0, done };
    this.tasks.set(upid, task);
    const ctx: TaskContext = {
      log: (line) => void log.push(line),
      warn: (line) => {
        task.warnings += 1;
        log.push(`WARN: ${line}`);
      },
      sleep: async (ms) => {
        await Promise.race([this.timers.sleep(ms), abortedPromise]);
        if (task.aborted !== undefined) throw new Error(task.aborted);
      },
    };
    const finish = (exitstatus: string, last: string): void => {
      task.exitstatus = exitstatus;
      task.status = 'stopped';
      log.push(last);
      this.aborters.delete(upid);
      resolveDone();
    };
    void this.timers
      .sleep(this.opts.taskMs)
      .then(async () => {
        const injected = this.opts.injectedFailure(type, id);
        if (injected !== undefined) throw new Error(injected);
        await work(ctx);
      })
      .then(
        () => (task.warnings > 0 ? finish(`WARNINGS: ${task.warnings}`, `TASK WARNINGS: ${task.warnings}`) : finish('OK', 'TASK OK')),
        (err: unknown) => {
          const msg = exitMessage(err);
          finish(msg, `TASK ERROR: ${msg}`);
        },
      );
    return task;
  }

  /** Interrupts a running task's wait (e.g. `overrule-shutdown`); it stops with `message`. */
  abort(upid: string, message: string): void {
    const task = this.tasks.get(upid);
    if (!task || task.status !== 'running') return;
    task.aborted = message;
    this.aborters.get(upid)?.();
  }

  get(upid: string): SimTask | undefined {
    return this.tasks.get(upid);
  }

  all(): SimTask[] {
    return [...this.tasks.values()];
  }

  /** Work that follows a task outside it (ha-manager acting later); idle() waits for it too. */
  background(work: Promise<unknown>): void {
    const p = work.then(() => undefined, () => undefined);
    this.followUps.add(p);
    void p.then(() => this.followUps.delete(p));
  }

  /** Resolves when no task is running and no follow-up work is pending. */
  async idle(): Promise<void> {
    for (;;) {
      const running = this.all().filter((t) => t.status === 'running');
      if (running.length === 0 && this.followUps.size === 0) return;
      await Promise.all([...running.map((t) => t.done), ...this.followUps]);
    }
  }
}
