/**
 * The simulator's only clock-driven part: task delays. Every timer is
 * tracked so `close()` leaves nothing behind in a test process.
 */
export class SimTimers {
  private readonly handles = new Set<NodeJS.Timeout>();
  private closed = false;

  /** Resolves after `ms`; never resolves once closed. */
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      if (this.closed) return;
      const handle = setTimeout(() => {
        this.handles.delete(handle);
        resolve();
      }, Math.max(0, ms));
      this.handles.add(handle);
    });
  }

  close(): void {
    this.closed = true;
    for (const h of this.handles) clearTimeout(h);
    this.handles.clear();
  }

  get isClosed(): boolean {
    return this.closed;
  }
}
