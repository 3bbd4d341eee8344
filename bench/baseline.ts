/**
 * The OpenSSH baseline: the same batched read script the tool runs, sent
 * with the system `ssh` client, one connection per host, in parallel with
 * `xargs -P`. Host keys are checked against a known_hosts file; no user
 * ssh_config, agent or connection sharing takes part.
 */
import { writeFile } from 'node:fs/promises';
import { batch } from '../src/transport/shell.js';
import { factsSections } from '../src/facts/host/script.js';
import type { SimHostInfo } from './protocol.js';

/** The facts script exactly as the tool renders it, with a fixed nonce. */
export function factsScript(nonce: string): string {
  return batch(factsSections(), nonce);
}

export function factsSectionCount(): number {
  return factsSections().length;
}

export interface BaselineFiles {
  readonly portsFile: string;
  readonly keyPath: string;
  readonly knownHosts: string;
}

export async function writePorts(hosts: readonly SimHostInfo[], file: string): Promise<void> {
  await writeFile(file, `${hosts.map((h) => h.port).join('\n')}\n`);
}

/** argv for: xargs -P <parallel> -I{} ssh … -p {} root@127.0.0.1 <script> (no shell involved). */
export function baselineCommand(f: BaselineFiles, script: string, parallel: number): [string, string[]] {
  return ['xargs', [
    '-a', f.portsFile, '-P', String(parallel), '-I{}',
    'ssh', '-F', '/dev/null', '-T',
    '-i', f.keyPath,
    '-o', 'IdentitiesOnly=yes', '-o', 'IdentityAgent=none', '-o', 'BatchMode=yes',
    '-o', `UserKnownHostsFile=${f.knownHosts}`, '-o', 'GlobalKnownHostsFile=/dev/null', '-o', 'StrictHostKeyChecking=yes',
    '-o', 'ControlMaster=no', '-o', 'ControlPath=none', '-o', 'LogLevel=ERROR',
    '-p', '{}', 'root@127.0.0.1', script,
  ]];
}

/** Count the closing markers `@@<nonce> rc=` in the baseline's combined output. */
export function countSections(output: string, nonce: string): number {
  const marker = `@@${nonce} rc=`;
  let n = 0;
  for (let i = output.indexOf(marker); i !== -1; i = output.indexOf(marker, i + marker.length)) n++;
  return n;
}
