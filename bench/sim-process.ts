/** The runner's side of the simulator process (see sim-server.ts). */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { ReadyMessage, SimCommand, SimMessage, StatsMessage } from './protocol.js';
import type { BenchFleetSpec } from './scenario.js';
import { withFdLimit } from './limits.js';

const SERVER = fileURLToPath(new URL('./sim-server.js', import.meta.url));

export class SimProcess {
  private readonly waiting: ((m: SimMessage) => void)[] = [];
  private readonly queued: SimMessage[] = [];
  private exited: string | null = null;

  private constructor(private readonly child: ChildProcess) {
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      let m: SimMessage;
      try {
        m = JSON.parse(line) as SimMessage;
      } catch {
        return; // not ours (a stray log line)
      }
      const w = this.waiting.shift();
      if (w) w(m);
      else this.queued.push(m);
    });
    child.on('exit', (code, signal) => {
      this.exited = `simulator exited (${signal ?? code})`;
      for (const w of this.waiting.splice(0)) w({ type: 'error', message: this.exited });
    });
  }

  static async start(spec: BenchFleetSpec, fdLimit: number): Promise<{ sim: SimProcess; ready: ReadyMessage }> {
    const [cmd, args] = withFdLimit(process.execPath, [SERVER, JSON.stringify(spec)], fdLimit);
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'inherit'] });
    const sim = new SimProcess(child);
    const m = await sim.next();
    if (m.type !== 'ready') {
      child.kill();
      throw new Error(`simulator did not start: ${m.type === 'error' ? m.message : m.type}`);
    }
    return { sim, ready: m };
  }

  async stats(): Promise<StatsMessage> {
    this.send({ cmd: 'stats' });
    const m = await this.next();
    if (m.type !== 'stats') throw new Error(`simulator: ${m.type === 'error' ? m.message : `unexpected ${m.type}`}`);
    return m;
  }

  async quit(): Promise<void> {
    if (this.exited) return;
    const done = new Promise<void>((r) => this.child.once('exit', () => r()));
    this.send({ cmd: 'quit' });
    this.child.stdin?.end();
    await done;
  }

  private send(c: SimCommand): void {
    if (this.exited) throw new Error(this.exited);
    this.child.stdin!.write(`${JSON.stringify(c)}\n`);
  }

  private next(): Promise<SimMessage> {
    const q = this.queued.shift();
    if (q) return Promise.resolve(q);
    if (this.exited) return Promise.resolve({ type: 'error', message: this.exited });
    return new Promise((r) => this.waiting.push(r));
  }
}

/** Connections per node opened between two stats snapshots. */
export function connectionDeltas(before: StatsMessage, after: StatsMessage): number[] {
  return Object.keys(after.connections).map((n) => (after.connections[n] ?? 0) - (before.connections[n] ?? 0));
}
