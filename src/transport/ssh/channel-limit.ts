/**
 * Caps concurrent channels on one connection: sshd refuses sessions beyond
 * MaxSessions (10 by default), so extra execs wait their turn instead.
 */
export class ChannelLimit {
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly max: number) {
    if (!Number.isInteger(max) || max < 1) throw new Error('channel limit must be a positive integer');
  }

  async acquire(): Promise<() => void> {
    if (this.active >= this.max) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.active++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiting.shift();
      // Hand the slot straight to the next waiter; `active` stays the same.
      if (next) next();
      else this.active--;
    };
  }
}
