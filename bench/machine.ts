/** What the figures were measured on (recorded with the results). */
import { execFile } from 'node:child_process';
import { cpus, release, totalmem } from 'node:os';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface MachineInfo {
  readonly cpu: string;
  readonly cores: number;
  readonly memoryGb: number;
  readonly os: string;
  readonly kernel: string;
  readonly node: string;
  readonly openssh: string;
}

export async function machineInfo(): Promise<MachineInfo> {
  const osRelease = await readFile('/etc/os-release', 'utf8').catch(() => '');
  const pretty = /^PRETTY_NAME="?([^"\n]*)"?/m.exec(osRelease)?.[1] ?? 'unknown';
  // `ssh -V` prints to stderr.
  const ssh = await run('ssh', ['-V']).then((r) => (r.stderr || r.stdout).trim(), () => 'not installed');
  return {
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memoryGb: Math.round(totalmem() / 2 ** 30),
    os: pretty,
    kernel: release(),
    node: process.version,
    openssh: ssh,
  };
}
