/**
 * `hostname`: the kernel's host name. PVE's node name is its first label
 * (PVE::INotify::nodename takes uname's nodename up to the first dot), so
 * that is the name a --host node gets when --node-name is not given.
 */
import { NODE_NAME } from '../../patterns.js';
import { seq, cmd, type Script } from '../../transport/shell.js';

export function hostnameScript(): Script {
  return seq(cmd(['hostname']));
}

/** The node name from `hostname`'s output, or why there is none. */
export function parseHostname(stdout: string): { readonly nodeName: string } | { readonly problem: string } {
  const lines = stdout.split('\n').filter((l) => l.trim() !== '');
  const name = lines[0]?.trim() ?? '';
  if (lines.length !== 1 || !/^[A-Za-z0-9][A-Za-z0-9.-]{0,252}$/.test(name)) {
    return { problem: `hostname printed ${JSON.stringify(stdout.slice(0, 60))}, not one host name` };
  }
  const label = name.split('.')[0]!;
  return NODE_NAME.test(label) ? { nodeName: label } : { problem: `hostname ${JSON.stringify(name.slice(0, 60))} does not start with a valid PVE node name` };
}
