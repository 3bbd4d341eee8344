/**
 * Fault knobs, settable while the sim runs: failing or hanging calls, failing
 * tasks, a concurrent writer, lost quorum. One-shot faults are used up by the
 * first request (or task) they match.
 */

export interface RequestFault {
  /** Default: any method. */
  readonly method?: string;
  /** Tested against the path below /api2/json, e.g. `/nodes/pve1/qemu/101/config`. */
  readonly path: RegExp;
  /** Default 500. */
  readonly status?: number;
  readonly message: string;
  /** Default true: only the next matching call fails. */
  readonly once?: boolean;
}

export interface DelayFault {
  readonly method?: string;
  readonly path: RegExp;
  /** Answer after this many ms; undefined = never answer (until the client gives up). */
  readonly ms?: number;
  readonly once?: boolean;
}

export interface TaskFault {
  /** Task type: `qmconfig`, `qmstart`, `qmstop`, `qmshutdown`, … */
  readonly type: string;
  readonly message: string;
  readonly vmid?: number;
  readonly once?: boolean;
}

/** The same faults as plain JSON (regexes as strings), for a control interface. */
export interface SimFaultSpec {
  readonly requests?: ReadonlyArray<Omit<RequestFault, 'path'> & { path: string }>;
  readonly delays?: ReadonlyArray<Omit<DelayFault, 'path'> & { path: string }>;
  readonly tasks?: readonly TaskFault[];
  readonly digestConflictOnce?: readonly number[];
  readonly quorumLost?: boolean;
}

function matches(f: { method?: string; path: RegExp }, method: string, path: string): boolean {
  if (f.method !== undefined && f.method.toUpperCase() !== method.toUpperCase()) return false;
  f.path.lastIndex = 0;
  return f.path.test(path);
}

export class SimFaults {
  private requests: RequestFault[] = [];
  private delays: DelayFault[] = [];
  private tasks: TaskFault[] = [];
  private readonly digestConflicts = new Set<number>();
  /** All nodes but the first drop out and the cluster is not quorate. */
  quorumLost = false;

  failRequest(fault: RequestFault): void {
    this.requests.push(fault);
  }

  delayRequest(fault: DelayFault): void {
    this.delays.push(fault);
  }

  failTask(fault: TaskFault): void {
    this.tasks.push(fault);
  }

  /** A concurrent writer changes this VM's config right after the next GET of it. */
  digestConflictOnce(vmid: number): void {
    this.digestConflicts.add(vmid);
  }

  setQuorumLost(lost: boolean): void {
    this.quorumLost = lost;
  }

  clear(): void {
    this.requests = [];
    this.delays = [];
    this.tasks = [];
    this.digestConflicts.clear();
    this.quorumLost = false;
  }

  /** Adds the faults described in JSON (a control interface's input). */
  apply(spec: SimFaultSpec): void {
    for (const r of spec.requests ?? []) this.failRequest({ ...r, path: new RegExp(r.path) });
    for (const d of spec.delays ?? []) this.delayRequest({ ...d, path: new RegExp(d.path) });
    for (const t of spec.tasks ?? []) this.failTask(t);
    for (const v of spec.digestConflictOnce ?? []) this.digestConflictOnce(v);
    if (spec.quorumLost !== undefined) this.quorumLost = spec.quorumLost;
  }

  /** What is armed, as JSON. */
  describe(): SimFaultSpec {
    const src = (r: RegExp): string => r.source;
    return {
      requests: this.requests.map((r) => ({ ...r, path: src(r.path) })),
      delays: this.delays.map((d) => ({ ...d, path: src(d.path) })),
      tasks: [...this.tasks],
      digestConflictOnce: [...this.digestConflicts],
      quorumLost: this.quorumLost,
    };
  }

  takeRequestFault(method: string, path: string): RequestFault | undefined {
    const i = this.requests.findIndex((f) => matches(f, method, path));
    return this.take(this.requests, i);
  }

  takeDelay(method: string, path: string): DelayFault | undefined {
    const i = this.delays.findIndex((f) => matches(f, method, path));
    return this.take(this.delays, i);
  }

  takeTaskFault(type: string, id: string): TaskFault | undefined {
    const i = this.tasks.findIndex((f) => f.type === type && (f.vmid === undefined || String(f.vmid) === id));
    return this.take(this.tasks, i);
  }

  takeDigestConflict(vmid: number): boolean {
    return this.digestConflicts.delete(vmid);
  }

  private take<T extends { once?: boolean }>(list: T[], i: number): T | undefined {
    if (i < 0) return undefined;
    const f = list[i] as T;
    if (f.once !== false) list.splice(i, 1);
    return f;
  }
}
